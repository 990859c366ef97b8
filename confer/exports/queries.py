"""SQL for transcripts: read in programme order, posts through a server-side cursor."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

LIST_SESSIONS = """
SELECT s.id, s.kind, s.title, s.translations, s.description_md, s.starts_at, s.ends_at
FROM sessions s
WHERE s.conference_id = $1 AND ($2::bigint IS NULL OR s.id = $2)
ORDER BY s.starts_at, s.id
"""

# The conference's languages: what it is written in, whether it is bilingual, and its texts
# in the other language (migration 0018).
FETCH_LANGUAGES = """
SELECT language, bilingual, translations
FROM conferences
WHERE id = $1
"""

LIST_THREADS = """
SELECT t.id, t.title, t.summary_md, t.summary_html, t.created_at, t.locked_at, t.lock_reason
FROM threads t
WHERE t.session_id = $1 AND ($2::bigint IS NULL OR t.id = $2) AND NOT t.awaiting_approval
ORDER BY t.pinned_at IS NULL, t.created_at, t.id
"""

# Posts of one thread in seq order; pending posts are never part of the record.
POSTS_OF_THREAD = """
SELECT p.id, p.seq, p.reply_to_id, r.seq AS reply_to_seq, p.body_md, p.body_html, p.status,
       p.hidden_reason,
       p.created_at, p.edited_at,
       u.name AS author_name, u.title AS author_title, u.organisation AS author_organisation,
       m.role AS author_role
FROM posts p
LEFT JOIN users u ON u.id = p.author_id
LEFT JOIN memberships m ON m.conference_id = p.conference_id AND m.user_id = p.author_id
LEFT JOIN posts r ON r.id = p.reply_to_id
WHERE p.thread_id = $1 AND p.status <> 'pending'
ORDER BY p.seq
"""

LIST_QUESTIONS = """
SELECT q.id, q.body_md, q.body_html, q.status, q.vote_count, q.dismiss_reason, q.merged_into_id,
       q.created_at,
       u.name AS author_name, u.organisation AS author_organisation
FROM questions q
LEFT JOIN users u ON u.id = q.author_id
WHERE q.session_id = $1 AND q.status <> 'pending'
ORDER BY q.vote_count DESC, q.created_at
"""

LIST_ANSWERS = """
SELECT a.question_id, a.body_md, a.body_html, a.created_at, u.name AS speaker_name,
       u.title AS speaker_title, u.organisation AS speaker_organisation
FROM answers a
JOIN questions q ON q.id = a.question_id
LEFT JOIN users u ON u.id = a.speaker_id
WHERE q.session_id = $1
ORDER BY a.created_at, a.id
"""

LIST_MODERATION_LOG = """
SELECT l.created_at, l.action, l.target_type, l.target_id, l.reason, u.name AS actor_name,
       s.title AS session_title
FROM moderation_log l
LEFT JOIN users u ON u.id = l.actor_id
LEFT JOIN sessions s ON s.id = l.session_id
WHERE l.conference_id = $1 AND ($2::bigint IS NULL OR l.session_id = $2)
ORDER BY l.created_at, l.id
"""

FETCH_THREAD_SESSION = """
SELECT session_id FROM threads WHERE id = $1 AND conference_id = $2
"""

INSERT_AUDIT = """
INSERT INTO audit_log (actor_id, actor_label, conference_id, subject_user_id, action, details)
VALUES ($1, $2, $3, $4, $5, $6::jsonb)
"""


async def list_sessions(
    con: Con, conference_id: int, session_id: int | None
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_SESSIONS, conference_id, session_id)


async def fetch_languages(con: Con, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_LANGUAGES, conference_id)


async def list_threads(con: Con, session_id: int, thread_id: int | None) -> list[asyncpg.Record]:
    return await con.fetch(LIST_THREADS, session_id, thread_id)


async def list_questions(con: Con, session_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_QUESTIONS, session_id)


async def list_answers(con: Con, session_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_ANSWERS, session_id)


async def list_moderation_log(
    con: Con, conference_id: int, session_id: int | None
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_MODERATION_LOG, conference_id, session_id)


async def fetch_thread_session(con: Con, thread_id: int, conference_id: int) -> int | None:
    return await con.fetchval(FETCH_THREAD_SESSION, thread_id, conference_id)


async def insert_audit(
    con: Con,
    actor_id: int | None,
    actor_label: str,
    conference_id: int | None,
    subject_user_id: int | None,
    action: str,
    details: dict[str, Any],
) -> None:
    await con.execute(
        INSERT_AUDIT,
        actor_id,
        actor_label,
        conference_id,
        subject_user_id,
        action,
        json.dumps(details),
    )
