-- Deleting your own post can be undone for a short while (issue #23): the post reads as
-- deleted at once (its text leaves posts), and its text waits here until `undo_until`.
-- Undoing puts it back; after the window the row is purged and the deletion is final.
CREATE TABLE post_deletions (
    post_id     bigint PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    body_md     text NOT NULL,
    body_html   text NOT NULL,
    was_status  text NOT NULL CHECK (was_status IN ('visible', 'pending')),
    edited_at   timestamptz,
    deleted_at  timestamptz NOT NULL DEFAULT now(),
    undo_until  timestamptz NOT NULL
);
CREATE INDEX post_deletions_undo_until ON post_deletions (undo_until);
