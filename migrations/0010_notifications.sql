-- Staying in touch: following threads, notifications (mentions, replies, new posts in
-- followed threads), each member's email preference, and the daily digest's runs.

-- How a member hears of notifications by email, per conference: 'each' (an email per
-- notification), 'digest' (one email a day), or 'none'. The default is the digest: a busy
-- conference would otherwise flood inboxes, and one email a day still keeps people in touch.
ALTER TABLE memberships
    ADD COLUMN email_notifications text NOT NULL DEFAULT 'digest'
        CHECK (email_notifications IN ('each', 'digest', 'none'));

-- Following a thread. Starting a thread or posting in it adds a row (following = true) unless
-- one exists, so an explicit unfollow (following = false) is remembered.
CREATE TABLE follows (
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id       bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    following       boolean NOT NULL,
    -- The follower has an unread notification in this thread: later posts do not notify
    -- them again until they read it (reset by the trigger on notifications below).
    told            boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, thread_id)
);
-- A new post notifies the followers who have not been told yet: in a busy thread that is an
-- index probe that finds nobody, however many follow it.
CREATE INDEX follows_to_tell_idx ON follows (thread_id, user_id) WHERE following AND NOT told;

-- thread_id, conference_id and actor_id copy the post's thread, conference and author when
-- the notification is made (a post moved later keeps its notification's thread_id). They have
-- no foreign keys of their own: the post's key already removes the notification with its
-- post, thread or conference, and each extra key check costs every notification a lookup and
-- a share lock (users are anonymised, never deleted).
CREATE TABLE notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,  -- the recipient
    kind            text NOT NULL CHECK (kind IN ('mention', 'reply', 'followed_post')),
    post_id         bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    thread_id       bigint NOT NULL,
    conference_id   bigint NOT NULL,
    actor_id        bigint,  -- the post's author
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Set by "mark as read", by opening the notification, or by reading the post in its
    -- thread (the read_state trigger below).
    read_at         timestamptz,
    -- One notification per recipient per post (mention beats reply beats followed_post).
    -- Post first: it also finds a post's notifications (its key's cascade, the fan-out).
    UNIQUE (post_id, user_id)
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
-- The header's unread count (every page view) and the fan-out's "already told" check.
CREATE INDEX notifications_unread_idx ON notifications (user_id, thread_id)
    WHERE read_at IS NULL;

-- Reading a thread reads its notifications: when a member's place in a thread (read_state,
-- written by the thread page) moves on, their unread notifications of the posts they have now
-- been shown are marked read. A trigger rather than a second write in the page, so that every
-- way of reading a thread counts, and read_at alone says what is unread (the header's count
-- is then an index scan of the unread). A post approved after the reader had passed its place
-- stays unread until they open it or read further.
CREATE FUNCTION confer_read_notifications() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE notifications n
    SET read_at = now()
    WHERE n.user_id = NEW.user_id
      AND n.thread_id = NEW.thread_id
      AND n.read_at IS NULL
      AND (SELECT p.seq FROM posts p WHERE p.id = n.post_id AND p.thread_id = NEW.thread_id)
          <= NEW.last_seq;
    RETURN NULL;
END;
$$;

CREATE TRIGGER read_state_reads_notifications
AFTER INSERT OR UPDATE OF last_seq ON read_state
FOR EACH ROW EXECUTE FUNCTION confer_read_notifications();

-- When a member has read every notification of a thread, its new posts may notify them again.
CREATE FUNCTION confer_notification_read() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE follows f
    SET told = false
    WHERE f.user_id = NEW.user_id
      AND f.thread_id = NEW.thread_id
      AND f.told
      AND NOT EXISTS (
            SELECT 1
            FROM notifications n
            WHERE n.user_id = NEW.user_id AND n.thread_id = NEW.thread_id AND n.read_at IS NULL
      );
    RETURN NULL;
END;
$$;

CREATE TRIGGER notification_read
AFTER UPDATE OF read_at ON notifications
FOR EACH ROW WHEN (OLD.read_at IS NULL AND NEW.read_at IS NOT NULL)
EXECUTE FUNCTION confer_notification_read();

-- @mentions match a member's whole display name, case-insensitively.
CREATE INDEX users_lower_name_idx ON users (lower(name));

-- One row per conference day whose digest has been started. The window is fixed when the
-- run starts, so a rerun writes the same emails; `done_upto_user_id` moves in the same
-- transaction as each batch's outbox rows, so an interrupted run resumes where it stopped
-- (and the outbox's dedupe key makes a second email impossible anyway).
CREATE TABLE digest_runs (
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    day             date NOT NULL,  -- in the conference's timezone
    window_start    timestamptz NOT NULL,
    window_end      timestamptz NOT NULL,
    done_upto_user_id bigint NOT NULL DEFAULT 0,
    emails          integer NOT NULL DEFAULT 0,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    PRIMARY KEY (conference_id, day),
    CHECK (window_end >= window_start)
);
