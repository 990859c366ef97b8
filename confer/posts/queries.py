"""SQL for posts: per-thread seq under the thread row's lock, idempotency keys, revisions."""

from __future__ import annotations

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

POST_COLUMNS = """
p.id, p.thread_id, p.conference_id, p.seq, p.author_id, p.reply_to_id, p.body_md,
p.body_html, p.status, p.hidden_reason, p.created_at, p.edited_at, p.pinned_at,
th.session_id,
u.name AS author_name, u.title AS author_title, u.organisation AS author_organisation,
m.role AS author_role,
r.seq AS reply_to_seq, ru.name AS reply_to_name
"""

POST_FROM = """
FROM posts p
JOIN threads th ON th.id = p.thread_id
LEFT JOIN users u ON u.id = p.author_id
LEFT JOIN memberships m ON m.conference_id = p.conference_id AND m.user_id = p.author_id
LEFT JOIN posts r ON r.id = p.reply_to_id
LEFT JOIN users ru ON ru.id = r.author_id
"""

LIST_POSTS_BETWEEN = f"""
SELECT {POST_COLUMNS}
{POST_FROM}
WHERE p.thread_id = $1 AND p.seq > $2 AND p.seq <= $3
ORDER BY p.seq
"""

LIST_POSTS_AFTER = f"""
SELECT {POST_COLUMNS}
{POST_FROM}
WHERE p.thread_id = $1 AND p.seq > $2
ORDER BY p.seq
LIMIT $3
"""

LIST_PINNED = f"""
SELECT {POST_COLUMNS}
{POST_FROM}
WHERE p.thread_id = $1 AND p.pinned_at IS NOT NULL AND p.status = 'visible'
ORDER BY p.pinned_at DESC
"""

FETCH_POST = f"""
SELECT {POST_COLUMNS}
{POST_FROM}
WHERE p.id = $1
"""

FETCH_POST_BY_KEY = f"""
SELECT {POST_COLUMNS}
{POST_FROM}
WHERE p.author_id = $1 AND p.idempotency_key = $2
"""

# Takes the thread row's lock: posts in one thread get gap-free, ordered seqs.
INSERT_POST = """
WITH t AS (
    UPDATE threads
    SET last_seq = last_seq + 1,
        post_count = post_count + CASE WHEN $7 = 'visible' THEN 1 ELSE 0 END,
        last_post_at = now()
    WHERE id = $1
    RETURNING last_seq, conference_id
)
INSERT INTO posts (thread_id, conference_id, seq, author_id, reply_to_id, body_md, body_html,
                   status, idempotency_key)
SELECT $1, t.conference_id, t.last_seq, $2, $3, $4, $5, $7, $6
FROM t
RETURNING id
"""

FETCH_REPLY_TARGET = """
SELECT id, thread_id, status
FROM posts
WHERE id = $1
"""

INSERT_REVISION = """
INSERT INTO post_revisions (post_id, body_md, body_html, replaced_by)
SELECT id, body_md, body_html, $2
FROM posts
WHERE id = $1
"""

UPDATE_POST_BODY = """
UPDATE posts
SET body_md = $2, body_html = $3, edited_at = now()
WHERE id = $1
"""

# The edit window is judged by the database clock.
FETCH_POST_FOR_CHANGE = """
SELECT p.id, p.thread_id, p.conference_id, p.author_id, p.status, p.seq,
       (now() < p.created_at + make_interval(secs => $2)) AS editable
FROM posts p
WHERE p.id = $1
FOR UPDATE
"""

MARK_DELETED = """
UPDATE posts
SET status = 'deleted', body_md = '', body_html = '', edited_at = now()
WHERE id = $1
RETURNING status
"""

DECREMENT_POST_COUNT = """
UPDATE threads
SET post_count = greatest(post_count - 1, 0)
WHERE id = $1
"""

DELETE_REVISIONS = """
DELETE FROM post_revisions
WHERE post_id = $1
"""


async def list_posts_between(
    con: Con, thread_id: int, after: int, upto: int
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_POSTS_BETWEEN, thread_id, after, upto)


async def list_posts_after(
    con: Con, thread_id: int, after: int, limit: int
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_POSTS_AFTER, thread_id, after, limit)


async def list_pinned(con: Con, thread_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_PINNED, thread_id)


async def fetch_post(con: Con, post_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_POST, post_id)


async def fetch_post_by_key(con: Con, author_id: int, key: str) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_POST_BY_KEY, author_id, key)


async def insert_post(
    con: Con,
    thread_id: int,
    author_id: int | None,
    reply_to_id: int | None,
    body_md: str,
    body_html: str,
    idempotency_key: str | None,
    status: str = "visible",
) -> int:
    return await con.fetchval(
        INSERT_POST, thread_id, author_id, reply_to_id, body_md, body_html, idempotency_key, status
    )


async def fetch_reply_target(con: Con, post_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_REPLY_TARGET, post_id)


async def fetch_post_for_change(
    con: Con, post_id: int, window_seconds: int
) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_POST_FOR_CHANGE, post_id, float(window_seconds))


async def insert_revision(con: Con, post_id: int, replaced_by: int | None) -> None:
    await con.execute(INSERT_REVISION, post_id, replaced_by)


async def update_post_body(con: Con, post_id: int, body_md: str, body_html: str) -> None:
    await con.execute(UPDATE_POST_BODY, post_id, body_md, body_html)


async def mark_deleted(con: Con, post_id: int) -> None:
    await con.execute(MARK_DELETED, post_id)


async def decrement_post_count(con: Con, thread_id: int) -> None:
    await con.execute(DECREMENT_POST_COUNT, thread_id)


async def delete_revisions(con: Con, post_id: int) -> None:
    await con.execute(DELETE_REVISIONS, post_id)
