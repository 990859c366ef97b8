"""SQL for the daily digest (confer/notifications/digest.py).

A digest day is a date in the conference's timezone; its window runs from the end of the
previous digest's window (or the day's start) to the day's end (or now, if run early).
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from confer.notifications import queries as notification_q

Con = asyncpg.Connection | asyncpg.Pool

START_DIGEST_RUN = """
WITH c AS (
    SELECT id, timezone
    FROM conferences
    WHERE id = $1
),
bounds AS (
    SELECT $2::date::timestamp AT TIME ZONE c.timezone AS day_start,
           least(($2::date + 1)::timestamp AT TIME ZONE c.timezone, now()) AS day_end
    FROM c
),
previous AS (
    SELECT max(window_end) AS window_end
    FROM digest_runs
    WHERE conference_id = $1 AND day < $2
)
INSERT INTO digest_runs (conference_id, day, window_start, window_end)
SELECT $1, $2, least(coalesce(previous.window_end, bounds.day_start), bounds.day_end),
       bounds.day_end
FROM bounds, previous
ON CONFLICT (conference_id, day) DO NOTHING
"""

# Held for the length of one batch's transaction: two runs of the same day take turns.
LOCK_DIGEST_RUN = """
SELECT conference_id, day, window_start, window_end, done_upto_user_id, emails, finished_at
FROM digest_runs
WHERE conference_id = $1 AND day = $2
FOR UPDATE
"""

ADVANCE_DIGEST_RUN = """
UPDATE digest_runs
SET done_upto_user_id = $3, emails = emails + $4,
    finished_at = CASE WHEN $5 THEN now() END
WHERE conference_id = $1 AND day = $2
"""

# Active members who chose the digest, and those removed in the window ($4, $5) who had
# chosen it: their digest is the notice of their removal.
LIST_DIGEST_MEMBERS = """
SELECT m.user_id, u.email, u.name, u.language, m.status = 'active' AS active
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.conference_id = $1 AND m.email_notifications = 'digest' AND m.user_id > $2
  AND (m.status = 'active' OR EXISTS (
        SELECT 1
        FROM notifications n
        WHERE n.user_id = m.user_id AND n.conference_id = $1 AND n.kind = 'removed'
          AND n.created_at > $4 AND n.created_at <= $5
  ))
ORDER BY m.user_id
LIMIT $3
"""

# The day's visible posts, per thread and author: computed once per run.
LIST_DIGEST_NEWS = """
SELECT p.thread_id, th.title, p.author_id, count(*) AS posts,
       (array_agg(p.id ORDER BY p.seq))[1] AS first_post_id, min(p.seq) AS first_seq,
       max(p.created_at) AS last_at
FROM posts p
JOIN threads th ON th.id = p.thread_id
WHERE p.conference_id = $1 AND p.created_at > $2 AND p.created_at <= $3
  AND p.status = 'visible'
GROUP BY p.thread_id, th.title, p.author_id
"""

# The latest few posts of each thread with news, for excerpts.
LIST_DIGEST_EXCERPTS = """
SELECT x.thread_id, x.author_id, x.author_name, x.author_title, x.body
FROM (
    SELECT p.thread_id, p.author_id, u.name AS author_name, u.title AS author_title,
           left(p.body_md, 600) AS body,
           row_number() OVER (PARTITION BY p.thread_id ORDER BY p.seq DESC) AS n
    FROM posts p
    LEFT JOIN users u ON u.id = p.author_id
    WHERE p.conference_id = $1 AND p.created_at > $2 AND p.created_at <= $3
      AND p.status = 'visible'
) x
WHERE x.n <= $4
ORDER BY x.thread_id, x.n
"""

LIST_BATCH_FOLLOWS = """
SELECT user_id, thread_id
FROM follows
WHERE user_id = ANY($1::bigint[]) AND thread_id = ANY($2::bigint[]) AND following
"""

LIST_BATCH_MENTIONS = """
SELECT n.user_id, n.post_id, p.thread_id, th.title AS thread_title,
       a.name AS actor_name, a.title AS actor_title
FROM notifications n
JOIN posts p ON p.id = n.post_id AND p.status = 'visible'
JOIN threads th ON th.id = p.thread_id
LEFT JOIN users a ON a.id = n.actor_id
WHERE n.user_id = ANY($1::bigint[]) AND n.conference_id = $2 AND n.kind = 'mention'
  AND n.created_at > $3 AND n.created_at <= $4
ORDER BY n.user_id, n.id
"""

# The notices (confer.notifications.notices) made in the window for a batch of members, as
# the notifications page reads them (those whose subject is gone are left out).
LIST_BATCH_NOTICES = f"""
SELECT {notification_q.NOTIFICATION_COLUMNS}
{notification_q.NOTIFICATION_FROM}
WHERE n.user_id = ANY($1::bigint[]) AND n.conference_id = $2 AND n.kind = ANY($3::text[])
  AND n.created_at > $4 AND n.created_at <= $5 AND {notification_q.SHOWN}
ORDER BY n.user_id, n.id
"""

# Sessions starting on the day after `day`, in the conference's timezone.
LIST_NEXT_DAY_SESSIONS = """
SELECT s.id, s.kind, s.title, s.translations, s.starts_at, s.ends_at
FROM sessions s
JOIN conferences c ON c.id = s.conference_id
WHERE s.conference_id = $1
  AND s.starts_at >= ($2::date + 1)::timestamp AT TIME ZONE c.timezone
  AND s.starts_at < ($2::date + 2)::timestamp AT TIME ZONE c.timezone
ORDER BY s.starts_at, s.id
"""

FETCH_DIGEST_CONFERENCE = """
SELECT id, slug, title, timezone, language, bilingual, translations, published_at,
       (starts_at AT TIME ZONE timezone)::date AS first_day,
       ((ends_at - interval '1 microsecond') AT TIME ZONE timezone)::date AS last_day,
       ((now() AT TIME ZONE timezone)::date - 1) AS yesterday
FROM conferences
WHERE id = $1
"""

# The digests due now: each published conference's yesterday (in its timezone), if it was a
# conference day and its digest has not finished.
LIST_DUE_DIGESTS = """
SELECT c.id, c.slug, d.day
FROM conferences c
CROSS JOIN LATERAL (SELECT ((now() AT TIME ZONE c.timezone)::date - 1) AS day) d
WHERE c.published_at IS NOT NULL
  AND d.day >= (c.starts_at AT TIME ZONE c.timezone)::date
  AND d.day <= ((c.ends_at - interval '1 microsecond') AT TIME ZONE c.timezone)::date
  AND NOT EXISTS (
        SELECT 1
        FROM digest_runs r
        WHERE r.conference_id = c.id AND r.day = d.day AND r.finished_at IS NOT NULL
  )
ORDER BY c.id
"""


async def start_digest_run(con: Con, conference_id: int, day: date) -> None:
    await con.execute(START_DIGEST_RUN, conference_id, day)


async def lock_digest_run(
    con: asyncpg.Connection, conference_id: int, day: date
) -> asyncpg.Record | None:
    return await con.fetchrow(LOCK_DIGEST_RUN, conference_id, day)


async def advance_digest_run(
    con: asyncpg.Connection, conference_id: int, day: date, upto: int, emails: int, done: bool
) -> None:
    await con.execute(ADVANCE_DIGEST_RUN, conference_id, day, upto, emails, done)


async def list_digest_members(
    con: Con,
    conference_id: int,
    after_user_id: int,
    limit: int,
    start: datetime,
    end: datetime,
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_DIGEST_MEMBERS, conference_id, after_user_id, limit, start, end)


async def list_batch_notices(
    con: Con,
    user_ids: list[int],
    conference_id: int,
    kinds: list[str],
    start: datetime,
    end: datetime,
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_BATCH_NOTICES, user_ids, conference_id, kinds, start, end)


async def list_digest_news(
    con: Con, conference_id: int, start: datetime, end: datetime
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_DIGEST_NEWS, conference_id, start, end)


async def list_digest_excerpts(
    con: Con, conference_id: int, start: datetime, end: datetime, per_thread: int
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_DIGEST_EXCERPTS, conference_id, start, end, per_thread)


async def list_batch_follows(
    con: Con, user_ids: list[int], thread_ids: list[int]
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_BATCH_FOLLOWS, user_ids, thread_ids)


async def list_batch_mentions(
    con: Con, user_ids: list[int], conference_id: int, start: datetime, end: datetime
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_BATCH_MENTIONS, user_ids, conference_id, start, end)


async def list_next_day_sessions(con: Con, conference_id: int, day: date) -> list[asyncpg.Record]:
    return await con.fetch(LIST_NEXT_DAY_SESSIONS, conference_id, day)


async def fetch_digest_conference(con: Con, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_DIGEST_CONFERENCE, conference_id)


async def list_due_digests(con: Con) -> list[asyncpg.Record]:
    return await con.fetch(LIST_DUE_DIGESTS)
