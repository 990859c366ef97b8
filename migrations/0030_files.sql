-- Files on sessions ("Papers and slides") and on posts (issue #25), stored in PostgreSQL in
-- chunks so that every process sees them, one backup covers them, and no file is ever held
-- whole in a server's memory (confer.files.storage).
CREATE TABLE files (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    -- Erasure deletes a member's files (confer.accounts.rights); anonymising keeps them.
    uploader_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    -- A file belongs to a session or to a post, never both.
    session_id      bigint REFERENCES sessions (id) ON DELETE CASCADE,
    post_id         bigint REFERENCES posts (id) ON DELETE CASCADE,
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    -- The text alternative: required for images (checked by confer.files.service).
    alt             text NOT NULL DEFAULT '' CHECK (length(alt) <= 1000),
    filename        text NOT NULL CHECK (length(filename) BETWEEN 1 AND 200),
    -- Decided from the content (confer.files.kinds), never from the name or the client.
    content_type    text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('image', 'pdf', 'office', 'text')),
    size            bigint NOT NULL CHECK (size >= 0),
    chunks          integer NOT NULL CHECK (chunks >= 0),
    sha256          text NOT NULL,
    -- pending: stored, being checked (never served); clean: scanned, served; infected: refused,
    -- its chunks deleted; unscanned: no scanner is configured (the demo), served with a note.
    scan_state      text NOT NULL CHECK (scan_state IN ('pending', 'clean', 'infected', 'unscanned')),
    scan_result     text NOT NULL DEFAULT '',
    scanned_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((session_id IS NULL) <> (post_id IS NULL))
);
CREATE INDEX files_session_idx ON files (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX files_post_idx ON files (post_id) WHERE post_id IS NOT NULL;
CREATE INDEX files_uploader_idx ON files (uploader_id);
CREATE INDEX files_conference_idx ON files (conference_id);
CREATE INDEX files_pending_idx ON files (id) WHERE scan_state = 'pending';

CREATE TABLE file_chunks (
    file_id  bigint NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    seq      integer NOT NULL CHECK (seq >= 0),
    data     bytea NOT NULL,
    PRIMARY KEY (file_id, seq)
);
-- Stored out of line without compression: most uploads (PDF, Office, JPEG) are compressed
-- already, and trying pglz on every 256 KiB chunk only costs CPU.
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Files in posts, where the organisers allow them: on/off, a size limit, a count limit per post
-- and the kinds allowed.
ALTER TABLE conferences
    ADD COLUMN post_files_enabled boolean NOT NULL DEFAULT false,
    ADD COLUMN post_file_max_mb integer NOT NULL DEFAULT 10 CHECK (post_file_max_mb BETWEEN 1 AND 1000),
    ADD COLUMN post_files_max integer NOT NULL DEFAULT 3 CHECK (post_files_max BETWEEN 1 AND 20),
    ADD COLUMN post_file_kinds text[] NOT NULL DEFAULT '{image,pdf}'
        CHECK (post_file_kinds <@ ARRAY['image', 'pdf', 'office', 'text']);

-- An infected upload is recorded for the conference's moderators.
ALTER TABLE moderation_log DROP CONSTRAINT moderation_log_target_type_check;
ALTER TABLE moderation_log ADD CONSTRAINT moderation_log_target_type_check
    CHECK (target_type IN ('post', 'thread', 'member', 'flag', 'question', 'session', 'file'));
