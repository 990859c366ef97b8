"""SQL for panels: questions, votes (one per member, counted under the question's row lock)
and answers. The panel's windows for asking and answering come from the database clock."""

from __future__ import annotations

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

# When may members ask, and speakers answer? Computed here, on the database clock.
PANEL_WINDOW = """
SELECT s.id, s.conference_id, s.kind, s.title, s.starts_at, s.ends_at, s.questions_in_advance,
       s.questions_premoderated, s.answers_until,
       CASE WHEN c.published_at IS NULL THEN 'draft'
            WHEN now() < s.starts_at THEN 'upcoming'
            WHEN now() < s.ends_at THEN 'open'
            ELSE 'closed' END AS state,
       (c.published_at IS NOT NULL AND now() < s.ends_at AND now() < c.ends_at
        AND (now() >= s.starts_at OR (s.questions_in_advance AND now() >= c.starts_at)))
           AS asking_open,
       (c.published_at IS NOT NULL AND now() >= s.starts_at
        AND now() < greatest(s.ends_at, coalesce(s.answers_until, s.ends_at))) AS answering_open,
       CASE WHEN s.questions_in_advance THEN c.starts_at ELSE s.starts_at END AS asking_opens_at,
       coalesce(s.answers_until, s.ends_at) AS answering_closes_at,
       coalesce((SELECT qc.last_change FROM question_changes qc WHERE qc.session_id = s.id), 0)
           AS last_change_seq
FROM sessions s
JOIN conferences c ON c.id = s.conference_id
WHERE s.id = $1 AND s.conference_id = $2
"""

QUESTION_COLUMNS = """
q.id, q.session_id, q.conference_id, q.author_id, q.body_md, q.body_html, q.status,
q.dismiss_reason, q.merged_into_id, q.vote_count, q.created_at, q.updated_at, q.change_seq,
u.name AS author_name, u.title AS author_title, u.organisation AS author_organisation
"""

# A panel's questions ($1), each saying whether reader $2 voted for it.
_QUESTIONS_FOR_READER = f"""
SELECT {QUESTION_COLUMNS},
       EXISTS (SELECT 1 FROM question_votes v WHERE v.question_id = q.id AND v.user_id = $2)
           AS voted
FROM questions q
LEFT JOIN users u ON u.id = q.author_id
WHERE q.session_id = $1
"""

# The question being answered now comes first, whatever the order chosen.
LIST_QUESTIONS = f"""
{_QUESTIONS_FOR_READER}
ORDER BY q.status = 'answering' DESC,
         CASE WHEN $3 = 'new' THEN 0 ELSE -q.vote_count END, q.created_at DESC, q.id DESC
"""

# The questions changed after change number $3 (migrations/0014), for a panel page catching up.
LIST_QUESTIONS_CHANGED = f"""
{_QUESTIONS_FOR_READER}
  AND q.change_seq > $3
ORDER BY q.change_seq
LIMIT $4
"""

FETCH_QUESTION = f"""
SELECT {QUESTION_COLUMNS}, false AS voted
FROM questions q
LEFT JOIN users u ON u.id = q.author_id
WHERE q.id = $1
"""

FETCH_QUESTION_BY_KEY = """
SELECT id FROM questions WHERE author_id = $1 AND idempotency_key = $2
"""

INSERT_QUESTION = """
INSERT INTO questions (session_id, conference_id, author_id, body_md, body_html, status,
                       idempotency_key)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
"""

INSERT_VOTE = """
INSERT INTO question_votes (question_id, user_id)
VALUES ($1, $2)
ON CONFLICT DO NOTHING
RETURNING question_id
"""

DELETE_VOTE = """
DELETE FROM question_votes
WHERE question_id = $1 AND user_id = $2
RETURNING question_id
"""

# An increment under the row lock stays right under concurrency (a recount in SET would not).
ADD_TO_COUNT = """
UPDATE questions SET vote_count = vote_count + $2, updated_at = now()
WHERE id = $1
RETURNING vote_count
"""

LOCK_QUESTION = """
SELECT id, status FROM questions WHERE id = $1 FOR UPDATE
"""

SET_STATUS = """
UPDATE questions
SET status = $2, dismiss_reason = $3, merged_into_id = $4, updated_at = now()
WHERE id = $1
"""

# Merging: the duplicate's voters vote for the kept question, unless they already did;
# its author counts as a voter too (they asked it), unless they asked the kept one.
MERGE_VOTES = """
INSERT INTO question_votes (question_id, user_id)
SELECT $2::bigint, v.user_id FROM question_votes v WHERE v.question_id = $1::bigint
UNION
SELECT $2::bigint, d.author_id FROM questions d WHERE d.id = $1::bigint AND d.author_id IS NOT NULL
EXCEPT
SELECT $2::bigint, k.author_id FROM questions k WHERE k.id = $2::bigint AND k.author_id IS NOT NULL
ON CONFLICT DO NOTHING
"""

RECOUNT = """
UPDATE questions
SET vote_count = (SELECT count(*) FROM question_votes WHERE question_id = $1), updated_at = now()
WHERE id = $1
RETURNING vote_count
"""

INSERT_ANSWER = """
INSERT INTO answers (question_id, speaker_id, body_md, body_html)
VALUES ($1, $2, $3, $4)
RETURNING id
"""

LIST_ANSWERS = """
SELECT a.id, a.question_id, a.body_html, a.created_at, a.speaker_id,
       u.name AS speaker_name, u.title AS speaker_title, u.organisation AS speaker_organisation
FROM answers a
LEFT JOIN users u ON u.id = a.speaker_id
WHERE a.question_id = ANY($1::bigint[])
ORDER BY a.created_at, a.id
"""

FETCH_SLUG_OF_QUESTION = """
SELECT c.slug, q.session_id
FROM questions q
JOIN conferences c ON c.id = q.conference_id
WHERE q.id = $1
"""


async def panel_window(con: Con, session_id: int, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(PANEL_WINDOW, session_id, conference_id)


async def list_questions(
    con: Con, session_id: int, user_id: int | None, sort: str
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_QUESTIONS, session_id, user_id, sort)


async def list_questions_changed(
    con: Con, session_id: int, user_id: int | None, since: int, limit: int
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_QUESTIONS_CHANGED, session_id, user_id, since, limit)


async def fetch_question(con: Con, question_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_QUESTION, question_id)


async def fetch_question_by_key(con: Con, author_id: int, key: str) -> int | None:
    return await con.fetchval(FETCH_QUESTION_BY_KEY, author_id, key)


async def insert_question(con: Con, *args: object) -> int:
    return await con.fetchval(INSERT_QUESTION, *args)


async def insert_vote(con: Con, question_id: int, user_id: int) -> bool:
    return await con.fetchval(INSERT_VOTE, question_id, user_id) is not None


async def delete_vote(con: Con, question_id: int, user_id: int) -> bool:
    return await con.fetchval(DELETE_VOTE, question_id, user_id) is not None


async def add_to_count(con: Con, question_id: int, delta: int) -> int:
    return await con.fetchval(ADD_TO_COUNT, question_id, delta)


async def lock_question(con: Con, question_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(LOCK_QUESTION, question_id)


async def set_status(
    con: Con,
    question_id: int,
    status: str,
    reason: str | None = None,
    merged_into: int | None = None,
) -> None:
    await con.execute(SET_STATUS, question_id, status, reason, merged_into)


async def merge_votes(con: Con, duplicate_id: int, kept_id: int) -> int:
    await con.execute(MERGE_VOTES, duplicate_id, kept_id)
    return await con.fetchval(RECOUNT, kept_id)


async def insert_answer(
    con: Con, question_id: int, speaker_id: int | None, body_md: str, body_html: str
) -> int:
    return await con.fetchval(INSERT_ANSWER, question_id, speaker_id, body_md, body_html)


async def list_answers(con: Con, question_ids: list[int]) -> list[asyncpg.Record]:
    return await con.fetch(LIST_ANSWERS, question_ids)


async def fetch_slug_of_question(con: Con, question_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_SLUG_OF_QUESTION, question_id)
