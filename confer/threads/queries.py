"""SQL for threads and the reader's place in them.

A thread's posting window comes from its session (or the whole conference) and the
database clock; `posting_state` is computed here so that every caller agrees.
"""

from __future__ import annotations

import asyncpg

from confer.notifications.queries import COUNT_UNREAD

Con = asyncpg.Connection | asyncpg.Pool

THREAD_COLUMNS = """
t.id, t.conference_id, t.session_id, t.title, t.author_id, t.last_seq, t.last_change_seq,
t.post_count, t.awaiting_approval,
t.last_post_at, t.created_at, t.pinned_at, t.locked_at, t.lock_reason, t.closed_at,
t.premoderated, t.slow_mode_seconds, t.slow_mode_until, t.summary_md, t.summary_html,
t.summary_updated_at,
s.kind AS session_kind, s.title AS session_title, s.participants_start_threads,
s.posting_window,
w.opens_at, w.closes_at,
CASE WHEN c.published_at IS NULL THEN 'draft'
     WHEN now() < w.opens_at THEN 'upcoming'
     WHEN now() >= w.closes_at OR t.closed_at IS NOT NULL THEN 'closed'
     WHEN t.locked_at IS NOT NULL THEN 'locked'
     ELSE 'open' END AS posting_state
"""

# A thread's posting window `w` (opens_at, closes_at), from its session `s` and conference `c`.
POSTING_WINDOW = """
CROSS JOIN LATERAL (
    SELECT CASE WHEN s.posting_window = 'conference' THEN c.starts_at
                ELSE greatest(s.starts_at, c.starts_at) END AS opens_at,
           CASE WHEN s.posting_window = 'conference' THEN c.ends_at
                ELSE least(s.ends_at, c.ends_at) END AS closes_at
) w
"""

THREAD_FROM = f"""
FROM threads t
JOIN sessions s ON s.id = t.session_id
JOIN conferences c ON c.id = t.conference_id
{POSTING_WINDOW}
"""

FETCH_THREAD = f"""
SELECT {THREAD_COLUMNS}
{THREAD_FROM}
WHERE t.id = $1 AND t.conference_id = $2
"""

LIST_THREADS = f"""
SELECT {THREAD_COLUMNS},
       u.name AS author_name,
       greatest(t.last_seq - coalesce(rs.last_seq, 0), 0) AS unread,
       (rs.user_id IS NOT NULL) AS visited
{THREAD_FROM}
LEFT JOIN users u ON u.id = t.author_id
LEFT JOIN read_state rs ON rs.thread_id = t.id AND rs.user_id = $2
WHERE t.session_id = $1
  AND (NOT t.awaiting_approval OR t.author_id = $2 OR $3::boolean)
ORDER BY t.pinned_at IS NULL, t.pinned_at DESC,
         coalesce(t.last_post_at, t.created_at) DESC, t.id DESC
"""

# A thread started by a member (confer.threads.service.create_thread) awaits its opening post:
# nobody but its author and the session's moderators sees it until that post is written
# visible (WRITE_POST) or approved (SHOW_THREAD).
INSERT_THREAD = """
INSERT INTO threads (conference_id, session_id, title, author_id, awaiting_approval)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
"""

# A thread whose opening post was refused (or repeated an idempotency key): it has no post.
DELETE_EMPTY_THREAD = """
DELETE FROM threads
WHERE id = $1 AND last_seq = 0
"""

# The opening post of a thread awaiting approval was approved: the thread is shown. True when
# it was awaiting (so that it is announced once).
SHOW_THREAD = """
UPDATE threads
SET awaiting_approval = false
WHERE id = $1 AND awaiting_approval
RETURNING true
"""

# The thread page's thread: with the reader's ($3) place in it, whether any post is pinned
# (an index probe, so that most pages skip asking for the pinned posts), and what the page's
# header shows a signed-in reader (confer.notifications.views.header_context: the unread
# count and whether they follow the thread), so the page makes one query fewer.
FETCH_THREAD_FOR_READER = f"""
SELECT {THREAD_COLUMNS},
       (SELECT rs.last_seq FROM read_state rs WHERE rs.user_id = $3 AND rs.thread_id = t.id)
           AS read_seq,
       ({COUNT_UNREAD.replace("$1", "$3::bigint")}) AS unread,
       (SELECT f.following FROM follows f WHERE f.user_id = $3 AND f.thread_id = t.id)
           AS following,
       EXISTS (
           SELECT 1 FROM posts pp
           WHERE pp.thread_id = t.id AND pp.pinned_at IS NOT NULL AND pp.status = 'visible'
       ) AS has_pinned
{THREAD_FROM}
WHERE t.id = $1 AND t.conference_id = $2
"""

FETCH_READ_SEQ = """
SELECT last_seq
FROM read_state
WHERE user_id = $1 AND thread_id = $2
"""

UPSERT_READ_SEQ = """
INSERT INTO read_state (user_id, thread_id, last_seq)
VALUES ($1, $2, $3)
ON CONFLICT (user_id, thread_id)
DO UPDATE SET last_seq = greatest(read_state.last_seq, EXCLUDED.last_seq), updated_at = now()
WHERE read_state.last_seq < EXCLUDED.last_seq
"""


async def fetch_thread(con: Con, thread_id: int, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_THREAD, thread_id, conference_id)


async def list_threads(
    con: Con, session_id: int, user_id: int | None, moderator: bool
) -> list[asyncpg.Record]:
    """The session's threads; those awaiting approval only for their author and `moderator`."""
    return await con.fetch(LIST_THREADS, session_id, user_id, moderator)


async def insert_thread(
    con: Con,
    conference_id: int,
    session_id: int,
    title: str,
    author_id: int | None,
    *,
    awaiting_approval: bool = False,
) -> int:
    return await con.fetchval(
        INSERT_THREAD, conference_id, session_id, title, author_id, awaiting_approval
    )


async def delete_empty_thread(con: Con, thread_id: int) -> None:
    await con.execute(DELETE_EMPTY_THREAD, thread_id)


async def show_thread(con: Con, thread_id: int) -> bool:
    return bool(await con.fetchval(SHOW_THREAD, thread_id))


async def fetch_thread_for_reader(
    con: Con, thread_id: int, conference_id: int, user_id: int | None
) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_THREAD_FOR_READER, thread_id, conference_id, user_id)


async def fetch_read_seq(con: Con, user_id: int, thread_id: int) -> int | None:
    return await con.fetchval(FETCH_READ_SEQ, user_id, thread_id)


async def upsert_read_seq(con: Con, user_id: int, thread_id: int, seq: int) -> None:
    await con.execute(UPSERT_READ_SEQ, user_id, thread_id, seq)
