-- Catch-up for panel pages: votes, answers and changes of state have no seq to ask after. So
-- every change to a question that readers see (asked, a vote given or withdrawn, approved,
-- being answered, answered, dismissed, merged, reopened, a speaker's answer) takes its
-- panel's next change number into questions.change_seq, under the lock of the panel's
-- counter row, so that numbers commit in order; a panel page that reconnects asks for the
-- questions changed after the last number it saw (docs/live.md), as a thread page asks for
-- posts. A trigger, so that every statement that changes a question takes part.
CREATE TABLE question_changes (
    session_id  bigint PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    last_change bigint NOT NULL
);

ALTER TABLE questions ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX questions_changed_idx ON questions (session_id, change_seq);

CREATE FUNCTION questions_take_change_seq() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO question_changes AS qc (session_id, last_change)
    VALUES (NEW.session_id, 1)
    ON CONFLICT (session_id) DO UPDATE SET last_change = qc.last_change + 1
    RETURNING qc.last_change INTO NEW.change_seq;
    RETURN NEW;
END
$$;

CREATE TRIGGER questions_take_change_seq_on_insert
BEFORE INSERT ON questions
FOR EACH ROW EXECUTE FUNCTION questions_take_change_seq();

-- Only for what readers see: a foreign key's ON DELETE SET NULL (an author erased, a merged
-- question deleted with its session) changes none of these, so never touches the counter.
CREATE TRIGGER questions_take_change_seq_on_update
BEFORE UPDATE ON questions
FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status
      OR OLD.vote_count IS DISTINCT FROM NEW.vote_count
      OR OLD.updated_at IS DISTINCT FROM NEW.updated_at
      OR OLD.body_html IS DISTINCT FROM NEW.body_html)
EXECUTE FUNCTION questions_take_change_seq();

-- A speaker's answer changes its question for readers.
CREATE FUNCTION answers_touch_question() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE questions SET updated_at = clock_timestamp() WHERE id = NEW.question_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER answers_touch_question
AFTER INSERT ON answers
FOR EACH ROW EXECUTE FUNCTION answers_touch_question();
