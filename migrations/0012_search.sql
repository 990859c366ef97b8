-- Search within one session: each post carries its thread's session, so that the newest
-- matching posts of a session can be read from an index, newest first, instead of all of the
-- session's matches (or every newer session's posts) being read to find them.
--
-- posts.session_id is derived from threads.session_id and kept so by triggers: whatever
-- inserts or moves a post (INSERT, COPY, a facilitator's move) need not know of it. No foreign
-- key: the thread's own keeps the session alive, and deleting a session deletes its threads'
-- posts through threads.
ALTER TABLE posts ADD COLUMN session_id bigint;

UPDATE posts p
SET session_id = t.session_id
FROM threads t
WHERE t.id = p.thread_id;

ALTER TABLE posts ALTER COLUMN session_id SET NOT NULL;

CREATE FUNCTION posts_take_session_id() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT t.session_id INTO NEW.session_id FROM threads t WHERE t.id = NEW.thread_id;
    RETURN NEW;
END
$$;

CREATE TRIGGER posts_take_session_id
BEFORE INSERT OR UPDATE OF thread_id ON posts
FOR EACH ROW EXECUTE FUNCTION posts_take_session_id();

CREATE FUNCTION threads_give_session_id() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE posts SET session_id = NEW.session_id WHERE thread_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER threads_give_session_id
AFTER UPDATE OF session_id ON threads
FOR EACH ROW WHEN (OLD.session_id IS DISTINCT FROM NEW.session_id)
EXECUTE FUNCTION threads_give_session_id();

CREATE INDEX posts_session_created_idx ON posts (session_id, created_at DESC);
