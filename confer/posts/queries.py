"""SQL for posts: per-thread seq under the thread row's lock, idempotency keys, revisions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from confer.conferences.queries import CONFERENCE_COLUMNS, MEMBERSHIP_COLUMNS, MEMBERSHIP_OF
from confer.db import batched, split_row
from confer.notifications.queries import notify_ctes
from confer.threads.queries import POSTING_WINDOW, THREAD_COLUMNS, THREAD_FROM

Con = asyncpg.Connection | asyncpg.Pool

POST_COLUMNS = """
p.id, p.thread_id, p.conference_id, p.seq, p.author_id, p.reply_to_id, p.body_md,
p.body_html, p.status, p.hidden_reason, p.created_at, p.edited_at, p.pinned_at, p.change_seq,
p.lang, th.session_id,
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

# What a reader who reconnects missed: the posts after the last seq it saw and, when it says
# the last change number it saw ($3), the older posts changed since (migrations/0013).
LIST_POSTS_AFTER = f"""
SELECT {POST_COLUMNS}
{POST_FROM}
WHERE p.thread_id = $1 AND (p.seq > $2 OR ($3::bigint IS NOT NULL AND p.change_seq > $3))
ORDER BY p.seq
LIMIT $4
"""

# Posts moved out of a thread since its change number $2.
LIST_MOVED_AWAY = """
SELECT id, thread_id AS moved_to
FROM posts
WHERE moved_from_thread_id = $1 AND change_seq > $2
ORDER BY change_seq
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

# Everything posting in thread i.thread_id needs to know before it writes: the conference,
# the thread (with its posting state), the author's (i.author_id) membership, whether their
# idempotency key (i.key) already made a post, how long slow mode makes them wait, whether
# they are pre-moderated (and how many of their posts were approved, for the conference's
# first-posts rule), and the thread, status and author of the post it replies to
# (i.reply_to). Edits ask the same (confer.posts.service.check_posting).
# Sections are split at the "|..." marker columns (split_context below).
_POSTING_CONTEXT = f"""
SELECT {CONFERENCE_COLUMNS},
       NULL AS "|thread", {THREAD_COLUMNS},
       NULL AS "|member", {MEMBERSHIP_COLUMNS},
       NULL AS "|gate",
       (SELECT k.id FROM posts k WHERE k.author_id = i.author_id AND k.idempotency_key = i.key)
           AS repeated_id,
       rp.thread_id AS reply_to_thread_id, rp.status AS reply_to_status,
       rp.author_id AS reply_to_author_id,
       CASE WHEN t.slow_mode_seconds > 0
                 AND (t.slow_mode_until IS NULL OR t.slow_mode_until > now())
            THEN (SELECT ceil(extract(epoch FROM max(sp.created_at)
                              + make_interval(secs => t.slow_mode_seconds) - now()))::int
                  FROM posts sp
                  WHERE sp.thread_id = t.id AND sp.author_id = i.author_id)
       END AS slow_mode_wait,
       t.premoderated OR coalesce(mm.premoderated, false) AS premoderated,
       CASE WHEN c.premoderate_first_posts > 0 THEN (
           SELECT count(*) FROM posts fp
           WHERE fp.conference_id = c.id AND fp.author_id = i.author_id
             AND fp.status IN ('visible', 'hidden')
       ) END AS approved_posts
{THREAD_FROM}
LEFT JOIN LATERAL ({MEMBERSHIP_OF.format(conference="c.id", user="i.author_id")}) mm ON true
LEFT JOIN posts rp ON rp.id = i.reply_to
WHERE t.id = i.thread_id
"""
# Several posts' contexts at once (arrays $1 threads, $2 authors, $3 keys, $4 reply-to posts),
# one row each in order, all NULL where the thread does not exist: posts arriving together are
# looked up in one query (confer.db.Batcher).
POSTING_CONTEXTS = f"""
SELECT x.*
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])
     WITH ORDINALITY AS i(thread_id, author_id, key, reply_to, n)
LEFT JOIN LATERAL ({_POSTING_CONTEXT}) x ON true
ORDER BY i.n
"""

# A post in one statement, so that the thread row's lock (which gives gap-free, ordered
# seqs) is held only while PostgreSQL runs it and commits, never across a round trip: the
# thread takes the next seq only while it is open for posts by the database clock (checked
# again here, under the lock); the post is inserted; the author follows the thread; a visible
# post notifies (confer.notifications.queries); the post comes back as POST_COLUMNS with
# `notified`, how many were told. Always one row; its `id` is NULL when the thread was closed
# or locked meanwhile (so that several posts written together map to their rows).
# The opening post of a thread awaiting approval (threads.awaiting_approval) shows the thread
# when it is written visible. A moderator's opening post ($10) may be written before the
# thread's window opens (a facilitator preparing a session), only not after the conference.
#   $1 status ('visible' or 'pending'), $2 thread, $3 author, $4 conference, $5 reply-to,
#   $6 the author follows, $7 body_md, $8 body_html, $9 idempotency key, $10 a moderator's
#   opening post, $11 the post's language (its author's interface language: posts.lang), with
#   mentions $12 names and $13 positions (see notify_ctes).
_WRITE_POST = """
WITH t AS (
    UPDATE threads th
    SET last_seq = th.last_seq + 1,
        post_count = th.post_count + CASE WHEN $1 = 'visible' THEN 1 ELSE 0 END,
        last_post_at = now(),
        awaiting_approval = th.awaiting_approval AND NOT (th.last_seq = 0 AND $1 = 'visible')
    FROM sessions s
    JOIN conferences c ON c.id = s.conference_id
    {window}
    WHERE th.id = $2 AND s.id = th.session_id AND th.closed_at IS NULL AND th.locked_at IS NULL
      AND ($10::boolean AND now() < c.ends_at
           OR c.published_at IS NOT NULL AND now() >= w.opens_at AND now() < w.closes_at)
    RETURNING th.last_seq, th.conference_id, th.session_id
),
p AS (
    INSERT INTO posts (thread_id, conference_id, seq, author_id, reply_to_id, body_md,
                       body_html, status, idempotency_key, lang)
    SELECT $2, t.conference_id, t.last_seq, $3, $5, $7, $8, $1, $9, $11
    FROM t
    RETURNING id, thread_id, conference_id, seq, author_id, reply_to_id, body_md, body_html,
              status, hidden_reason, created_at, edited_at, pinned_at, change_seq, lang
),
{notify}
SELECT p.*, t.session_id,
       u.name AS author_name, u.title AS author_title, u.organisation AS author_organisation,
       m.role AS author_role,
       r.seq AS reply_to_seq, ru.name AS reply_to_name,
       (SELECT count(*) FROM inserted) AS notified
FROM (SELECT) AS always_one_row
LEFT JOIN (p CROSS JOIN t) ON true
LEFT JOIN users u ON u.id = p.author_id
LEFT JOIN memberships m ON m.conference_id = p.conference_id AND m.user_id = p.author_id
LEFT JOIN posts r ON r.id = p.reply_to_id
LEFT JOIN users ru ON ru.id = r.author_id
"""

_WRITE_PARAMS = {
    "post": "(SELECT id FROM p)",
    "thread": "$2",
    "author": "$3",
    "conference": "$4",
    "reply_to": "$5",
    "follow": "($6 AND EXISTS (SELECT 1 FROM p))",
    "notify": "EXISTS (SELECT 1 FROM p WHERE p.status = 'visible')",
    "names": "$12",
    "positions": "$13",
}
WRITE_POST = _WRITE_POST.format(
    window=POSTING_WINDOW, notify=notify_ctes(mentions=False, **_WRITE_PARAMS)
)
WRITE_POST_WITH_MENTIONS = _WRITE_POST.format(
    window=POSTING_WINDOW, notify=notify_ctes(mentions=True, **_WRITE_PARAMS)
)

INSERT_REVISION = """
INSERT INTO post_revisions (post_id, body_md, body_html, replaced_by)
SELECT id, body_md, body_html, $2
FROM posts
WHERE id = $1
"""

# An edit or a deletion takes the thread's next change number (migrations/0013), the post's
# row already locked (FETCH_POST_FOR_CHANGE) before the thread's, as by every change to a post.
_NEXT_CHANGE = """
WITH t AS (
    UPDATE threads t SET last_change_seq = t.last_change_seq + 1
    FROM posts p
    WHERE p.id = $1 AND t.id = p.thread_id
    RETURNING t.last_change_seq
)
"""

# $4: the post's status after the edit (an edit by a pre-moderated author awaits approval).
UPDATE_POST_BODY = f"""
{_NEXT_CHANGE}
UPDATE posts
SET body_md = $2, body_html = $3, status = $4, edited_at = now(),
    change_seq = t.last_change_seq
FROM t
WHERE id = $1
"""

# Whether a post is still in its edit window, by the database clock.
IN_EDIT_WINDOW = "SELECT now() < $1::timestamptz + make_interval(secs => $2)"

# The edit window is judged by the database clock. FOR NO KEY UPDATE: a reply being written
# to the post (its foreign key check takes KEY SHARE) need not wait for the change.
FETCH_POST_FOR_CHANGE = """
SELECT p.id, p.thread_id, p.conference_id, p.author_id, p.status, p.seq,
       (now() < p.created_at + make_interval(secs => $2)) AS editable
FROM posts p
WHERE p.id = $1
FOR NO KEY UPDATE
"""

MARK_DELETED = f"""
{_NEXT_CHANGE}
UPDATE posts
SET status = 'deleted', body_md = '', body_html = '', edited_at = now(),
    change_seq = t.last_change_seq
FROM t
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
    con: Con, thread_id: int, after: int, limit: int, since: int | None = None
) -> list[asyncpg.Record]:
    """Posts after seq `after` and, unless `since` is None, posts changed after it."""
    return await con.fetch(LIST_POSTS_AFTER, thread_id, after, since, limit)


async def list_moved_away(con: Con, thread_id: int, since: int, limit: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_MOVED_AWAY, thread_id, since, limit)


async def list_pinned(con: Con, thread_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_PINNED, thread_id)


async def fetch_post(con: Con, post_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_POST, post_id)


async def fetch_post_by_key(con: Con, author_id: int, key: str) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_POST_BY_KEY, author_id, key)


def split_context(row: asyncpg.Record) -> tuple[dict, dict, dict | None, dict]:
    """A POSTING_CONTEXTS row as (conference, thread, membership or None, gate)."""
    conference, thread, member, gate = split_row(row)
    return conference, thread, member if member["user_id"] is not None else None, gate


_ContextKey = tuple[int, int | None, str | None, int | None]


async def _fetch_posting_contexts(
    pool: asyncpg.Pool, keys: Sequence[_ContextKey]
) -> list[asyncpg.Record | None]:
    rows = await pool.fetch(POSTING_CONTEXTS, *(list(column) for column in zip(*keys, strict=True)))
    return [row if row[0] is not None else None for row in rows]


async def fetch_posting_context(
    pool: asyncpg.Pool,
    thread_id: int,
    author_id: int | None,
    key: str | None,
    reply_to_id: int | None,
) -> asyncpg.Record | None:
    """What posting in the thread needs to know (POSTING_CONTEXTS); None: no such thread."""
    return await batched(pool, _fetch_posting_contexts)((thread_id, author_id, key, reply_to_id))


_WriteArgs = tuple[Any, ...]


async def _write_posts(
    query: str, pool: asyncpg.Pool, posts: Sequence[_WriteArgs]
) -> list[asyncpg.Record]:
    """Posts that arrived together, written in one transaction and one round trip: the
    statement runs once a post (asyncpg's pipelined `fetchmany`; each run sees the ones
    before it, as if they came one by one), in thread order so that two such transactions
    lock thread rows in the same order, and all commit together. One failing fails all."""
    order = sorted(range(len(posts)), key=lambda i: posts[i][1])
    async with pool.acquire() as con:
        rows = await con.fetchmany(query, [posts[i] for i in order])
    if len(rows) != len(posts):
        raise RuntimeError(f"{len(rows)} rows for {len(posts)} posts")
    written: list[asyncpg.Record] = [rows[0]] * len(posts)
    for row, i in zip(rows, order, strict=True):
        written[i] = row
    return written


async def _write_plain_posts(pool: asyncpg.Pool, posts: Sequence[_WriteArgs]) -> list:
    return await _write_posts(WRITE_POST, pool, posts)


async def _write_posts_with_mentions(pool: asyncpg.Pool, posts: Sequence[_WriteArgs]) -> list:
    return await _write_posts(WRITE_POST_WITH_MENTIONS, pool, posts)


async def write_post(
    pool: asyncpg.Pool,
    *,
    status: str,
    thread_id: int,
    author_id: int,
    conference_id: int,
    reply_to_id: int | None,
    follow: bool,
    body_md: str,
    body_html: str,
    key: str | None,
    names: list[str],
    positions: list[int],
    early: bool = False,
    lang: str = "en",
) -> asyncpg.Record | None:
    """Write a post (see WRITE_POST); None if the thread no longer takes posts. `early`: a
    moderator's opening post, which may come before the thread's window opens. `lang`: the
    post's language, as its author's request found it (never read here: this runs in the
    batch's task, not the request's).

    Posts arriving while others are being written go together in the next transaction
    (`_write_posts`, confer.db.Batcher). Such a transaction fails whole, so when one of its
    posts repeats an idempotency key (or two transactions deadlock), each post in it is
    written again, alone: the repeated key then fails only its own post."""
    args = (status, thread_id, author_id, conference_id, reply_to_id, follow, body_md, body_html)
    if names:
        mentions = ("\n".join(names), ",".join(map(str, positions)))
        args = (*args, key, early, lang, *mentions)
        query, together = WRITE_POST_WITH_MENTIONS, _write_posts_with_mentions
    else:
        args = (*args, key, early, lang)
        query, together = WRITE_POST, _write_plain_posts
    try:
        row = await batched(pool, together)(args)
    except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
        row = await pool.fetchrow(query, *args)
    return row if row["id"] is not None else None


async def fetch_post_for_change(
    con: Con, post_id: int, window_seconds: int
) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_POST_FOR_CHANGE, post_id, float(window_seconds))


async def insert_revision(con: Con, post_id: int, replaced_by: int | None) -> None:
    await con.execute(INSERT_REVISION, post_id, replaced_by)


async def update_post_body(
    con: Con, post_id: int, body_md: str, body_html: str, status: str
) -> None:
    await con.execute(UPDATE_POST_BODY, post_id, body_md, body_html, status)


async def in_edit_window(con: Con, created_at: object, window_seconds: int) -> bool:
    return await con.fetchval(IN_EDIT_WINDOW, created_at, float(window_seconds))


async def mark_deleted(con: Con, post_id: int) -> None:
    await con.execute(MARK_DELETED, post_id)


# The deleted post's text, kept for the undo window ($2 seconds, by the database clock).
KEEP_FOR_UNDO = """
INSERT INTO post_deletions (post_id, body_md, body_html, was_status, edited_at, undo_until)
SELECT id, body_md, body_html, status, edited_at, now() + make_interval(secs => $2)
FROM posts WHERE id = $1
ON CONFLICT (post_id) DO UPDATE
SET body_md = EXCLUDED.body_md, body_html = EXCLUDED.body_html,
    was_status = EXCLUDED.was_status, edited_at = EXCLUDED.edited_at,
    deleted_at = now(), undo_until = EXCLUDED.undo_until
"""

# The kept text while the window is open (taken: the row goes as it is read).
TAKE_FOR_UNDO = """
DELETE FROM post_deletions
WHERE post_id = $1 AND now() < undo_until
RETURNING body_md, body_html, was_status, edited_at
"""

UNDO_OPEN = "SELECT undo_until FROM post_deletions WHERE post_id = $1 AND now() < undo_until"

PURGE_DELETIONS = "DELETE FROM post_deletions WHERE undo_until <= now()"

UNDELETE = f"""
{_NEXT_CHANGE}
UPDATE posts
SET status = $2, body_md = $3, body_html = $4, edited_at = $5, change_seq = t.last_change_seq
FROM t
WHERE id = $1
"""

INCREMENT_POST_COUNT = "UPDATE threads SET post_count = post_count + 1 WHERE id = $1"


async def keep_for_undo(con: Con, post_id: int, window_seconds: int) -> None:
    await con.execute(KEEP_FOR_UNDO, post_id, float(window_seconds))


async def take_for_undo(con: Con, post_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(TAKE_FOR_UNDO, post_id)


async def undo_open_until(con: Con, post_id: int) -> object | None:
    return await con.fetchval(UNDO_OPEN, post_id)


async def purge_deletions(con: Con) -> None:
    """The deletions whose undo window has passed become final: their text goes."""
    await con.execute(PURGE_DELETIONS)


async def undelete(
    con: Con, post_id: int, status: str, body_md: str, body_html: str, edited_at: object
) -> None:
    await con.execute(UNDELETE, post_id, status, body_md, body_html, edited_at)


async def increment_post_count(con: Con, thread_id: int) -> None:
    await con.execute(INCREMENT_POST_COUNT, thread_id)


async def decrement_post_count(con: Con, thread_id: int) -> None:
    await con.execute(DECREMENT_POST_COUNT, thread_id)


async def delete_revisions(con: Con, post_id: int) -> None:
    await con.execute(DELETE_REVISIONS, post_id)
