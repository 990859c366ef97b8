-- Facilitation and moderation: pins, locks, early closing, pre-moderation, flags, slow mode,
-- summaries, moved posts, and the append-only moderation log.

ALTER TABLE conferences
    ADD COLUMN flag_threshold integer NOT NULL DEFAULT 3 CHECK (flag_threshold BETWEEN 1 AND 100),
    ADD COLUMN premoderate_first_posts integer NOT NULL DEFAULT 0 CHECK (premoderate_first_posts >= 0);

ALTER TABLE threads
    ADD COLUMN pinned_at timestamptz,
    ADD COLUMN locked_at timestamptz,
    ADD COLUMN lock_reason text,
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN premoderated boolean NOT NULL DEFAULT false,
    ADD COLUMN slow_mode_seconds integer NOT NULL DEFAULT 0 CHECK (slow_mode_seconds >= 0),
    ADD COLUMN slow_mode_until timestamptz,
    ADD COLUMN summary_md text NOT NULL DEFAULT '',
    ADD COLUMN summary_html text NOT NULL DEFAULT '',
    ADD COLUMN summary_updated_at timestamptz;

ALTER TABLE posts
    ADD COLUMN pinned_at timestamptz,
    ADD COLUMN moved_from_thread_id bigint REFERENCES threads (id) ON DELETE SET NULL;
CREATE INDEX posts_pending_idx ON posts (conference_id) WHERE status = 'pending';
CREATE INDEX posts_author_thread_idx ON posts (thread_id, author_id, created_at DESC);

-- Every version of a thread's facilitator summary.
CREATE TABLE thread_summaries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_id       bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    body_md         text NOT NULL,
    body_html       text NOT NULL,
    author_id       bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX thread_summaries_thread_idx ON thread_summaries (thread_id, created_at DESC);

CREATE TABLE flags (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id         bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    flagger_id      bigint REFERENCES users (id) ON DELETE SET NULL,
    reason          text NOT NULL CHECK (reason IN ('off_topic', 'disrespectful', 'personal_information', 'spam', 'other')),
    note            text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    resolution      text CHECK (resolution IN ('kept', 'hidden')),
    UNIQUE (post_id, flagger_id)
);
CREATE INDEX flags_open_idx ON flags (conference_id, created_at DESC) WHERE resolved_at IS NULL;

-- Append-only: written in the same transaction as the action it records.
CREATE TABLE moderation_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    session_id      bigint REFERENCES sessions (id) ON DELETE SET NULL,
    -- No ON DELETE action: the log is append-only, so accounts are anonymised, never deleted.
    actor_id        bigint REFERENCES users (id),
    action          text NOT NULL,
    target_type     text NOT NULL CHECK (target_type IN ('post', 'thread', 'member', 'flag')),
    target_id       bigint NOT NULL,
    reason          text NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    details         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_log_conference_idx ON moderation_log (conference_id, created_at DESC);

CREATE FUNCTION moderation_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'moderation_log is append-only';
END;
$$;

CREATE TRIGGER moderation_log_append_only
BEFORE UPDATE OR DELETE ON moderation_log
FOR EACH ROW EXECUTE FUNCTION moderation_log_is_append_only();
