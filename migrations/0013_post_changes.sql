-- Catch-up of changes: a reader who reconnects asks for the posts after the last seq it saw,
-- but a post approved, hidden, restored, edited, deleted, pinned or unpinned meanwhile keeps
-- its old seq. So every such change takes the next number of its thread's change counter
-- (threads.last_change_seq, under the thread row's lock, so numbers commit in order) into
-- posts.change_seq, and the reader also asks for the changes after the last number it saw
-- (docs/live.md). A post moved to another thread takes the next number of the thread it left,
-- so that readers of that thread hear it went.
ALTER TABLE threads ADD COLUMN last_change_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;

-- Only changed posts are in these, so a new post costs no index entry of them.
CREATE INDEX posts_changed_idx ON posts (thread_id, change_seq) WHERE change_seq > 0;
CREATE INDEX posts_moved_away_idx ON posts (moved_from_thread_id, change_seq)
    WHERE moved_from_thread_id IS NOT NULL;
