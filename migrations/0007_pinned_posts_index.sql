-- The thread page asks for a thread's pinned posts on every view: without this index that
-- scans all of the thread's posts.
CREATE INDEX posts_pinned_idx ON posts (thread_id, pinned_at DESC) WHERE pinned_at IS NOT NULL;
