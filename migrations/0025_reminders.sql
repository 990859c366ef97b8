-- Reminders of starred sessions (issue #24): each member's default, a per-star choice, the
-- ledger that makes each reminder happen exactly once, reminder notifications, and email
-- attachments (a conference's .ics on invitations and registration confirmations).

-- Minutes before a starred session starts: 0 (no reminders), 15 or 60. A star's own choice
-- (null: the member's default) wins over the member's.
ALTER TABLE users
    ADD COLUMN reminder_minutes integer NOT NULL DEFAULT 15
        CHECK (reminder_minutes IN (0, 15, 60));
ALTER TABLE session_stars
    ADD COLUMN reminder_minutes integer CHECK (reminder_minutes IN (0, 15, 60));

-- One row per reminder made: written in the same transaction as its notification and its
-- email, so its key, not any process's memory, makes a reminder happen once whatever runs
-- the loop (two processes, a restart). Keyed by the start time reminded of: a session moved
-- later is reminded of again, for its new time.
CREATE TABLE session_reminders (
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id      bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    starts_at       timestamptz NOT NULL,
    minutes         integer NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, session_id, starts_at)
);

-- A reminder is a notification of a session, not of a post.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications
    ADD CONSTRAINT notifications_kind_check
        CHECK (kind IN ('mention', 'reply', 'followed_post', 'reminder')),
    ALTER COLUMN post_id DROP NOT NULL,
    ALTER COLUMN thread_id DROP NOT NULL,
    ADD COLUMN session_id bigint REFERENCES sessions (id) ON DELETE CASCADE,
    ADD CONSTRAINT notifications_subject_check
        CHECK (CASE WHEN kind = 'reminder' THEN session_id IS NOT NULL AND post_id IS NULL
                    ELSE post_id IS NOT NULL AND thread_id IS NOT NULL END);
CREATE INDEX notifications_session_idx ON notifications (session_id) WHERE session_id IS NOT NULL;

-- Files sent with an email: a list of {"filename", "content_type", "text"} (text content,
-- such as an iCalendar file) or {"filename", "content_type", "base64"}.
ALTER TABLE outbox
    ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attachments) = 'array');

-- The reminder loop looks at the sessions starting in the next hour, across conferences.
CREATE INDEX sessions_starts_at_idx ON sessions (starts_at);
