-- A thread started by a member whose posts await approval waits with its opening post: until
-- a facilitator approves that post, only its author and the session's moderators see the
-- thread (docs/architecture.md, "Posts"). Set when the thread is made; cleared by the
-- opening post's write when it is visible, or by its approval.
ALTER TABLE threads ADD COLUMN awaiting_approval boolean NOT NULL DEFAULT false;
