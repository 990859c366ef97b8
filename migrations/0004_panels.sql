-- Speaker panels: the audience's questions, one vote per member, speakers' answers.

ALTER TABLE sessions
    ADD COLUMN questions_in_advance boolean NOT NULL DEFAULT false,
    ADD COLUMN questions_premoderated boolean NOT NULL DEFAULT false,
    -- Speakers may go on answering until then (NULL: until the session ends).
    ADD COLUMN answers_until timestamptz;

CREATE TABLE questions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id      bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    author_id       bigint REFERENCES users (id) ON DELETE SET NULL,
    body_md         text NOT NULL CHECK (length(body_md) BETWEEN 1 AND 500),
    body_html       text NOT NULL,
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('pending', 'open', 'answering', 'answered', 'dismissed')),
    dismiss_reason  text,
    merged_into_id  bigint REFERENCES questions (id) ON DELETE SET NULL,
    -- Kept equal to the rows in question_votes, by increments under the row lock.
    vote_count      integer NOT NULL DEFAULT 0 CHECK (vote_count >= 0),
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (author_id, idempotency_key)
);
CREATE INDEX questions_session_idx ON questions (session_id, vote_count DESC, created_at DESC);

CREATE TABLE question_votes (
    question_id     bigint NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (question_id, user_id)
);

CREATE TABLE answers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    question_id     bigint NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    speaker_id      bigint REFERENCES users (id) ON DELETE SET NULL,
    body_md         text NOT NULL CHECK (length(body_md) BETWEEN 1 AND 20000),
    body_html       text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX answers_question_idx ON answers (question_id, created_at);

-- The moderation log records question actions too.
ALTER TABLE moderation_log DROP CONSTRAINT moderation_log_target_type_check;
ALTER TABLE moderation_log ADD CONSTRAINT moderation_log_target_type_check
    CHECK (target_type IN ('post', 'thread', 'member', 'flag', 'question'));
