-- Notices of what was done about a member (issue #23): their question answered or dismissed,
-- being muted, unmuted or removed, their post hidden or restored. Stored as notifications so
-- that they are listed, counted unread, sent live and emailed like the others.
--
-- Each kind has its own subject: a question (with its session, so that the session's title
-- reads in the reader's language, and the answer when a speaker wrote one), a post the notice
-- is about (not `post_id`: that column is the post that notifies, one per recipient), the
-- reason as it was given (a public reason, a dismissal's reason) and a mute's end.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications DROP CONSTRAINT notifications_subject_check;
ALTER TABLE notifications
    ADD CONSTRAINT notifications_kind_check
        CHECK (kind IN ('mention', 'reply', 'followed_post', 'reminder',
                        'question_answered', 'question_dismissed', 'muted', 'unmuted',
                        'removed', 'post_hidden', 'post_restored')),
    ADD COLUMN question_id bigint REFERENCES questions (id) ON DELETE CASCADE,
    ADD COLUMN answer_id bigint REFERENCES answers (id) ON DELETE CASCADE,
    ADD COLUMN about_post_id bigint REFERENCES posts (id) ON DELETE CASCADE,
    ADD COLUMN reason text,
    ADD COLUMN until timestamptz,
    ADD CONSTRAINT notifications_subject_check
        CHECK (CASE
                 WHEN kind = 'reminder' THEN session_id IS NOT NULL AND post_id IS NULL
                 WHEN kind IN ('question_answered', 'question_dismissed')
                     THEN question_id IS NOT NULL AND session_id IS NOT NULL AND post_id IS NULL
                 WHEN kind IN ('post_hidden', 'post_restored')
                     THEN about_post_id IS NOT NULL AND post_id IS NULL
                 WHEN kind IN ('muted', 'unmuted', 'removed') THEN post_id IS NULL
                 ELSE post_id IS NOT NULL AND thread_id IS NOT NULL END);
CREATE INDEX notifications_question_idx ON notifications (question_id)
    WHERE question_id IS NOT NULL;
CREATE INDEX notifications_answer_idx ON notifications (answer_id) WHERE answer_id IS NOT NULL;
CREATE INDEX notifications_about_post_idx ON notifications (about_post_id)
    WHERE about_post_id IS NOT NULL;
