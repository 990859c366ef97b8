"""SQL for moderation: thread and post state, flags, members, summaries and the log.

moderation_log is append-only (a trigger refuses UPDATE and DELETE); insert_log is the only
statement that touches it, and it runs in the same transaction as the action it records.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

INSERT_LOG = """
INSERT INTO moderation_log (conference_id, session_id, actor_id, action, target_type, target_id,
                            reason, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
"""

# With what the log's sentences name (confer.reports.service.log_sentence): whose post,
# question or membership it was (target_name) and the thread it is in (thread_title).
LIST_LOG = """
SELECT l.id, l.session_id, l.action, l.target_type, l.target_id, l.reason, l.details,
       l.created_at, u.name AS actor_name, s.title AS session_title,
       CASE l.target_type WHEN 'post' THEN pu.name
                          WHEN 'member' THEN mu.name
                          WHEN 'question' THEN qu.name END AS target_name,
       coalesce(pt.title, th.title) AS thread_title
FROM moderation_log l
LEFT JOIN users u ON u.id = l.actor_id
LEFT JOIN sessions s ON s.id = l.session_id
LEFT JOIN posts p ON l.target_type = 'post' AND p.id = l.target_id
LEFT JOIN users pu ON pu.id = p.author_id
LEFT JOIN threads pt ON pt.id = p.thread_id
LEFT JOIN threads th ON l.target_type = 'thread' AND th.id = l.target_id
LEFT JOIN users mu ON l.target_type = 'member' AND mu.id = l.target_id
LEFT JOIN questions qq ON l.target_type = 'question' AND qq.id = l.target_id
LEFT JOIN users qu ON qu.id = qq.author_id
WHERE l.conference_id = $1 AND ($2::bigint[] IS NULL OR l.session_id = ANY($2))
ORDER BY l.created_at DESC, l.id DESC
LIMIT $3
"""

SET_THREAD = {
    "pin": "UPDATE threads SET pinned_at = now() WHERE id = $1",
    "unpin": "UPDATE threads SET pinned_at = NULL WHERE id = $1",
    "lock": "UPDATE threads SET locked_at = now(), lock_reason = $2 WHERE id = $1",
    "unlock": "UPDATE threads SET locked_at = NULL, lock_reason = NULL WHERE id = $1",
    "close": "UPDATE threads SET closed_at = now() WHERE id = $1",
    "reopen": "UPDATE threads SET closed_at = NULL WHERE id = $1",
    "premoderate": "UPDATE threads SET premoderated = true WHERE id = $1",
    "unpremoderate": "UPDATE threads SET premoderated = false WHERE id = $1",
}

SET_SLOW_MODE = """
UPDATE threads
SET slow_mode_seconds = $2, slow_mode_until = $3
WHERE id = $1
"""

SET_SUMMARY = """
UPDATE threads
SET summary_md = $2, summary_html = $3, summary_updated_at = now()
WHERE id = $1
"""

INSERT_SUMMARY = """
INSERT INTO thread_summaries (thread_id, body_md, body_html, author_id)
VALUES ($1, $2, $3, $4)
"""

LIST_SUMMARIES = """
SELECT ts.body_md, ts.body_html, ts.created_at, u.name AS author_name
FROM thread_summaries ts
LEFT JOIN users u ON u.id = ts.author_id
WHERE ts.thread_id = $1
ORDER BY ts.created_at DESC, ts.id DESC
"""

# Changing a post's status keeps threads.post_count equal to its visible posts, and takes the
# thread's next change number (migrations/0013_post_changes.sql). The post's row is locked
# before the thread's, as by every change to a post; FOR NO KEY UPDATE, so that a reply being
# written to it (whose foreign key check takes KEY SHARE) is not blocked by it.
SET_POST_STATUS = """
WITH old AS (
    SELECT id, thread_id, status FROM posts WHERE id = $1 FOR NO KEY UPDATE
), t AS (
    UPDATE threads t
    SET post_count = t.post_count
        + CASE WHEN $2 = 'visible' AND old.status <> 'visible' THEN 1
               WHEN $2 <> 'visible' AND old.status = 'visible' THEN -1
               ELSE 0 END,
        last_change_seq = t.last_change_seq + 1
    FROM old
    WHERE t.id = old.thread_id
    RETURNING t.last_change_seq, old.status AS was
)
UPDATE posts p
SET status = $2, hidden_reason = $3, change_seq = t.last_change_seq
FROM t
WHERE p.id = $1
RETURNING t.was
"""

SET_POST_PIN = """
WITH old AS (
    SELECT id, thread_id FROM posts WHERE id = $1 FOR NO KEY UPDATE
), t AS (
    UPDATE threads t SET last_change_seq = t.last_change_seq + 1
    FROM old
    WHERE t.id = old.thread_id
    RETURNING t.last_change_seq
)
UPDATE posts p
SET pinned_at = CASE WHEN $2 THEN now() ELSE NULL END, change_seq = t.last_change_seq
FROM t
WHERE p.id = $1
"""

# Moving a post: its old thread loses it from its count and takes the next change number, for
# the post to carry, so that readers of that thread who reconnect hear it went. Then it takes
# the next seq of its new thread (so the new thread stays gap-free); its old thread keeps a
# gap where it was, and the move is logged with both places.
LEAVE_THREAD = """
UPDATE threads
SET post_count = greatest(post_count - CASE WHEN $2 THEN 1 ELSE 0 END, 0),
    last_change_seq = last_change_seq + 1
WHERE id = $1
RETURNING last_change_seq
"""

MOVE_POST = """
WITH t AS (
    UPDATE threads
    SET last_seq = last_seq + 1,
        post_count = post_count + CASE WHEN $3 = 'visible' THEN 1 ELSE 0 END,
        last_post_at = greatest(last_post_at, now())
    WHERE id = $2
    RETURNING last_seq
)
UPDATE posts
SET thread_id = $2, seq = t.last_seq, moved_from_thread_id = thread_id, reply_to_id = NULL,
    change_seq = $4
FROM t
WHERE posts.id = $1
RETURNING posts.seq
"""

INSERT_FLAG = """
INSERT INTO flags (post_id, conference_id, flagger_id, reason, note)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (post_id, flagger_id) DO NOTHING
RETURNING id
"""

COUNT_OPEN_FLAGS = """
SELECT count(DISTINCT flagger_id)
FROM flags
WHERE post_id = $1 AND resolved_at IS NULL
"""

RESOLVE_FLAGS = """
UPDATE flags
SET resolved_at = now(), resolved_by = $2, resolution = $3
WHERE post_id = $1 AND resolved_at IS NULL
RETURNING id
"""

LIST_FLAGGED_POSTS = """
SELECT p.id AS post_id, p.thread_id, p.body_html, p.lang, p.status, p.hidden_reason, p.created_at,
       th.title AS thread_title, th.session_id, s.title AS session_title,
       u.name AS author_name,
       count(f.id) AS flag_count, max(f.created_at) AS last_flagged_at,
       array_agg(f.reason ORDER BY f.created_at DESC) AS reasons,
       array_agg(f.note ORDER BY f.created_at DESC) AS notes
FROM flags f
JOIN posts p ON p.id = f.post_id
JOIN threads th ON th.id = p.thread_id
JOIN sessions s ON s.id = th.session_id
LEFT JOIN users u ON u.id = p.author_id
WHERE f.conference_id = $1 AND f.resolved_at IS NULL
  AND ($2::bigint[] IS NULL OR th.session_id = ANY($2))
GROUP BY p.id, th.id, s.id, u.id
ORDER BY max(f.created_at) DESC
"""

LIST_PENDING = """
SELECT p.id AS post_id, p.thread_id, p.body_html, p.lang, p.body_md, p.created_at,
       th.title AS thread_title, th.session_id, s.title AS session_title,
       u.name AS author_name, u.id AS author_id
FROM posts p
JOIN threads th ON th.id = p.thread_id
JOIN sessions s ON s.id = th.session_id
LEFT JOIN users u ON u.id = p.author_id
WHERE p.conference_id = $1 AND p.status = 'pending'
  AND ($2::bigint[] IS NULL OR th.session_id = ANY($2))
ORDER BY p.created_at
"""

# The moderation page's two counts (LIST_PENDING's and LIST_FLAGGED_POSTS' lengths).
COUNT_QUEUE = """
SELECT (SELECT count(*)
        FROM posts p
        JOIN threads th ON th.id = p.thread_id
        WHERE p.conference_id = $1 AND p.status = 'pending'
          AND ($2::bigint[] IS NULL OR th.session_id = ANY($2))) AS pending,
       (SELECT count(DISTINCT f.post_id)
        FROM flags f
        JOIN posts p ON p.id = f.post_id
        JOIN threads th ON th.id = p.thread_id
        WHERE f.conference_id = $1 AND f.resolved_at IS NULL
          AND ($2::bigint[] IS NULL OR th.session_id = ANY($2))) AS flags
"""

LIST_MOVE_TARGETS = """
SELECT t.id, t.title, s.title AS session_title
FROM threads t
JOIN sessions s ON s.id = t.session_id
WHERE t.conference_id = $1 AND t.id <> $2
ORDER BY s.starts_at, t.title
"""

SET_MEMBER = {
    "mute": "UPDATE memberships SET muted_until = $3 WHERE conference_id = $1 AND user_id = $2",
    "unmute": "UPDATE memberships SET muted_until = NULL WHERE conference_id = $1 AND user_id = $2",
    "premoderate": (
        "UPDATE memberships SET premoderated = true WHERE conference_id = $1 AND user_id = $2"
    ),
    "unpremoderate": (
        "UPDATE memberships SET premoderated = false WHERE conference_id = $1 AND user_id = $2"
    ),
    "remove": (
        "UPDATE memberships SET status = 'removed' WHERE conference_id = $1 AND user_id = $2"
    ),
}

# The moderation page's members, with their state, so that each row offers only what applies.
LIST_MEMBERS = """
SELECT u.id AS user_id, u.name, u.title, u.organisation, m.role, m.status, m.premoderated,
       m.muted_until, coalesce(m.muted_until > now(), false) AS muted
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.conference_id = $1
ORDER BY array_position(
    ARRAY['organiser', 'facilitator', 'speaker', 'participant', 'observer'], m.role
), u.name
"""

FETCH_MEMBER = """
SELECT m.user_id, m.role, m.status, m.premoderated, m.muted_until, u.name
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.conference_id = $1 AND m.user_id = $2
"""


async def insert_log(
    con: Con,
    conference_id: int,
    session_id: int | None,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: int,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    await con.execute(
        INSERT_LOG,
        conference_id,
        session_id,
        actor_id,
        action,
        target_type,
        target_id,
        reason,
        json.dumps(details or {}),
    )


async def list_log(
    con: Con, conference_id: int, session_ids: list[int] | None, limit: int = 500
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_LOG, conference_id, session_ids, limit)


async def set_thread(con: Con, change: str, thread_id: int, reason: str | None = None) -> None:
    if change == "lock":
        await con.execute(SET_THREAD[change], thread_id, reason)
    else:
        await con.execute(SET_THREAD[change], thread_id)


async def set_slow_mode(con: Con, thread_id: int, seconds: int, until: Any) -> None:
    await con.execute(SET_SLOW_MODE, thread_id, seconds, until)


async def set_summary(
    con: Con, thread_id: int, body_md: str, body_html: str, author_id: int | None
) -> None:
    await con.execute(SET_SUMMARY, thread_id, body_md, body_html)
    await con.execute(INSERT_SUMMARY, thread_id, body_md, body_html, author_id)


async def list_summaries(con: Con, thread_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_SUMMARIES, thread_id)


async def set_post_status(con: Con, post_id: int, status: str, reason: str | None) -> str | None:
    return await con.fetchval(SET_POST_STATUS, post_id, status, reason)


async def set_post_pin(con: Con, post_id: int, pinned: bool) -> None:
    await con.execute(SET_POST_PIN, post_id, pinned)


async def move_post(
    con: Con, post_id: int, from_thread_id: int, to_thread_id: int, status: str
) -> int:
    """Move a post (see LEAVE_THREAD and MOVE_POST); answer its seq in its new thread."""
    change_seq = await con.fetchval(LEAVE_THREAD, from_thread_id, status == "visible")
    return await con.fetchval(MOVE_POST, post_id, to_thread_id, status, change_seq)


async def insert_flag(
    con: Con, post_id: int, conference_id: int, flagger_id: int, reason: str, note: str
) -> int | None:
    return await con.fetchval(INSERT_FLAG, post_id, conference_id, flagger_id, reason, note)


async def count_open_flags(con: Con, post_id: int) -> int:
    return await con.fetchval(COUNT_OPEN_FLAGS, post_id)


async def resolve_flags(
    con: Con, post_id: int, actor_id: int | None, resolution: str
) -> list[asyncpg.Record]:
    return await con.fetch(RESOLVE_FLAGS, post_id, actor_id, resolution)


async def list_flagged_posts(
    con: Con, conference_id: int, session_ids: list[int] | None
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_FLAGGED_POSTS, conference_id, session_ids)


async def list_pending(
    con: Con, conference_id: int, session_ids: list[int] | None
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_PENDING, conference_id, session_ids)


async def count_queue(con: Con, conference_id: int, session_ids: list[int] | None) -> dict:
    return dict(await con.fetchrow(COUNT_QUEUE, conference_id, session_ids))


async def list_move_targets(con: Con, conference_id: int, thread_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_MOVE_TARGETS, conference_id, thread_id)


async def set_member(
    con: Con, change: str, conference_id: int, user_id: int, until: Any = None
) -> None:
    if change == "mute":
        await con.execute(SET_MEMBER[change], conference_id, user_id, until)
    else:
        await con.execute(SET_MEMBER[change], conference_id, user_id)


async def list_members(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_MEMBERS, conference_id)


async def fetch_member(con: Con, conference_id: int, user_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_MEMBER, conference_id, user_id)
