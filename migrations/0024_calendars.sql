-- In people's calendars (issue #24): the programme as iCalendar, members' starred sessions,
-- their private feed addresses, and joining links for members only.

-- iCalendar's SEQUENCE for each session: raised on every change, so that a calendar that
-- imported the session updates the same event (its UID is derived from the session's id).
ALTER TABLE sessions
    ADD COLUMN sequence integer NOT NULL DEFAULT 0,
    -- A video meeting or live stream, shown to active members only, from the conference's
    -- joining_reveal_minutes before the session starts. Never in public pages or feeds.
    ADD COLUMN joining_url text CHECK (joining_url IS NULL OR length(joining_url) <= 2000);

ALTER TABLE conferences
    ADD COLUMN joining_reveal_minutes integer NOT NULL DEFAULT 15
        CHECK (joining_reveal_minutes BETWEEN 0 AND 1440);

-- A deleted session stays in calendars as STATUS:CANCELLED (same UID, SEQUENCE raised).
CREATE TABLE cancelled_sessions (
    session_id      bigint PRIMARY KEY,
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    title           text NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    sequence        integer NOT NULL,
    -- Who had starred it, so that their "starred" feeds carry the cancellation too
    -- (session_stars rows go with the session).
    starred_by      bigint[] NOT NULL DEFAULT '{}',
    cancelled_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cancelled_sessions_conference_idx ON cancelled_sessions (conference_id);

-- "My programme": the sessions a member starred.
CREATE TABLE session_stars (
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id      bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, session_id)
);
CREATE INDEX session_stars_session_idx ON session_stars (session_id);

-- A member's personal feed: a secret address (only its SHA-256 is kept), replaceable, which
-- cuts off the old one. `scope`: the starred sessions, or every session of their conferences.
CREATE TABLE calendar_feeds (
    user_id         bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- Null: no address yet (the member chose a time zone for "My programme" only).
    token_hash      bytea UNIQUE,
    scope           text NOT NULL DEFAULT 'starred' CHECK (scope IN ('starred', 'all')),
    -- The member's own time zone for "My programme" (null: the conference's only).
    timezone        text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Changing a session's joining link is written to the moderation log (never the link itself).
ALTER TABLE moderation_log DROP CONSTRAINT moderation_log_target_type_check;
ALTER TABLE moderation_log ADD CONSTRAINT moderation_log_target_type_check
    CHECK (target_type IN ('post', 'thread', 'member', 'flag', 'question', 'session'));
