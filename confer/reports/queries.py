"""SQL for the participation report: one constant and one small function per figure.

What counts, everywhere in this file:

- Posts: status 'visible' or 'hidden'. A hidden post was published and read before a
  facilitator hid it, so it is part of what happened; 'pending' posts never reached anyone
  and 'deleted' ones were withdrawn by their authors, so neither is counted.
- Members: memberships whose status is 'active' (registrations list every status).
- Days and hours: the conference's own timezone (`created_at AT TIME ZONE c.timezone`), so
  that a post written at 23:30 in New York counts on that New York day, at 23:00.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

# The post statuses the report counts (see above).
COUNTED_POST = "p.status IN ('visible', 'hidden')"

# Registrations: every membership, whatever its status, by role and status.
REGISTRATIONS = """
SELECT m.role, m.status, count(*) AS members
FROM memberships m
WHERE m.conference_id = $1
GROUP BY m.role, m.status
"""

# Attendance by role, among active members: who visited a thread (read_state), posted
# (a counted post), asked a question (any state but awaiting approval), voted on one, or
# answered one (a speaker's written answer: a speaker who answered has attended).
ATTENDANCE = f"""
WITH members AS (
    SELECT m.user_id, m.role
    FROM memberships m
    WHERE m.conference_id = $1 AND m.status = 'active'
),
activity AS (
    SELECT mb.user_id, mb.role,
           EXISTS (SELECT 1 FROM read_state r JOIN threads t ON t.id = r.thread_id
                   WHERE r.user_id = mb.user_id AND t.conference_id = $1) AS visited,
           EXISTS (SELECT 1 FROM posts p
                   WHERE p.author_id = mb.user_id AND p.conference_id = $1
                     AND {COUNTED_POST}) AS posted,
           EXISTS (SELECT 1 FROM questions q
                   WHERE q.author_id = mb.user_id AND q.conference_id = $1
                     AND q.status <> 'pending') AS asked,
           EXISTS (SELECT 1 FROM question_votes v JOIN questions q ON q.id = v.question_id
                   WHERE v.user_id = mb.user_id AND q.conference_id = $1) AS voted,
           EXISTS (SELECT 1 FROM answers a JOIN questions q ON q.id = a.question_id
                   WHERE a.speaker_id = mb.user_id AND q.conference_id = $1) AS answered
    FROM members mb
)
SELECT role,
       count(*) AS members,
       count(*) FILTER (WHERE visited) AS visited,
       count(*) FILTER (WHERE posted) AS posted,
       count(*) FILTER (WHERE asked) AS asked,
       count(*) FILTER (WHERE voted) AS voted,
       count(*) FILTER (WHERE answered) AS answered,
       count(*) FILTER (WHERE visited OR posted OR asked OR voted OR answered) AS attended
FROM activity
GROUP BY role
"""

# Organisations of active members: trimmed, non-empty, compared without regard to case;
# the group takes its most common spelling (the first in sort order on a tie).
ORGANISATIONS = """
SELECT mode() WITHIN GROUP (ORDER BY btrim(u.organisation)) AS organisation,
       count(*) AS members
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.conference_id = $1 AND m.status = 'active' AND btrim(u.organisation) <> ''
GROUP BY lower(btrim(u.organisation))
ORDER BY count(*) DESC, 1
"""

# Counted posts in each session (breaks have no threads), in programme order.
POSTS_PER_SESSION = f"""
SELECT s.id, s.title, s.translations, s.kind, s.starts_at,
       count(p.id) AS posts,
       count(p.id) FILTER (WHERE p.status = 'hidden') AS hidden
FROM sessions s
LEFT JOIN threads t ON t.session_id = s.id
LEFT JOIN posts p ON p.thread_id = t.id AND {COUNTED_POST}
WHERE s.conference_id = $1 AND s.kind <> 'break'
GROUP BY s.id
ORDER BY s.starts_at, s.id
"""

# Counted posts per calendar day in the conference's timezone: every day the conference
# runs (so quiet days show as 0), and any day outside it that has posts.
POSTS_PER_DAY = f"""
WITH c AS (
    SELECT id, timezone, starts_at, ends_at FROM conferences WHERE id = $1
),
counted AS (
    SELECT (p.created_at AT TIME ZONE c.timezone)::date AS day
    FROM posts p JOIN c ON c.id = p.conference_id
    WHERE {COUNTED_POST}
),
days AS (
    SELECT generate_series(
               (c.starts_at AT TIME ZONE c.timezone)::date,
               ((c.ends_at - interval '1 microsecond') AT TIME ZONE c.timezone)::date,
               interval '1 day'
           )::date AS day
    FROM c
    UNION
    SELECT day FROM counted
)
SELECT d.day, count(counted.day) AS posts
FROM days d
LEFT JOIN counted ON counted.day = d.day
GROUP BY d.day
ORDER BY d.day
"""

# Counted posts by hour of the day (0-23) in the conference's timezone, every hour listed.
POSTS_PER_HOUR = f"""
WITH c AS (
    SELECT id, timezone FROM conferences WHERE id = $1
),
counted AS (
    SELECT extract(hour FROM p.created_at AT TIME ZONE c.timezone)::int AS hour
    FROM posts p JOIN c ON c.id = p.conference_id
    WHERE {COUNTED_POST}
)
SELECT h.hour, count(counted.hour) AS posts
FROM generate_series(0, 23) AS h(hour)
LEFT JOIN counted ON counted.hour = h.hour
GROUP BY h.hour
ORDER BY h.hour
"""

# The ten threads with most visible posts: what people could read, so hidden posts are
# left out here.
ACTIVE_THREADS = """
SELECT t.id, t.title, s.title AS session_title,
       s.translations AS session_translations, count(p.id) AS posts
FROM threads t
JOIN sessions s ON s.id = t.session_id
JOIN posts p ON p.thread_id = t.id AND p.status = 'visible'
WHERE t.conference_id = $1
GROUP BY t.id, s.title, s.translations
ORDER BY count(p.id) DESC, t.id
LIMIT 10
"""

# Questions in each panel or keynote. Asked: published (not awaiting approval) and not merged
# into another question (its asker and votes moved to the kept one). Answered: of those,
# marked answered or holding at least one answer. Dismissed: of those, dismissed.
QUESTIONS_PER_PANEL = """
SELECT s.id, s.title, s.translations, s.kind, s.starts_at,
       count(q.id) AS asked,
       count(q.id) FILTER (
           WHERE q.status = 'answered'
              OR EXISTS (SELECT 1 FROM answers a WHERE a.question_id = q.id)
       ) AS answered,
       count(q.id) FILTER (WHERE q.status = 'dismissed') AS dismissed
FROM sessions s
LEFT JOIN questions q ON q.session_id = s.id AND q.status <> 'pending'
                     AND q.merged_into_id IS NULL
WHERE s.conference_id = $1 AND s.kind IN ('panel', 'keynote')
GROUP BY s.id
ORDER BY s.starts_at, s.id
"""

# Every moderation action taken, by action (e.g. 'post.hide', 'member.mute').
MODERATION = """
SELECT l.action, count(*) AS actions
FROM moderation_log l
WHERE l.conference_id = $1
GROUP BY l.action
ORDER BY count(*) DESC, l.action
"""

# The conference's languages (migration 0018): its texts in the reader's language.
LANGUAGES = """
SELECT language, bilingual, translations
FROM conferences
WHERE id = $1
"""

# The database clock, for "figures as of" (inside the report's transaction: its start).
AS_OF = "SELECT now()"


# The attendance register: one row per active member, with what they did and in how many
# sessions (a session counts when they read or posted in one of its threads, or asked,
# voted on or answered one of its questions). Counted as the figures above count.
REGISTER = f"""
WITH members AS (
    SELECT m.user_id, m.role
    FROM memberships m
    WHERE m.conference_id = $1 AND m.status = 'active'
),
took_part AS (
    SELECT p.author_id AS user_id, t.session_id, 'post' AS what
    FROM posts p JOIN threads t ON t.id = p.thread_id
    WHERE p.conference_id = $1 AND {COUNTED_POST}
    UNION ALL
    SELECT q.author_id, q.session_id, 'question'
    FROM questions q
    WHERE q.conference_id = $1 AND q.status <> 'pending'
    UNION ALL
    SELECT v.user_id, q.session_id, 'vote'
    FROM question_votes v JOIN questions q ON q.id = v.question_id
    WHERE q.conference_id = $1
    UNION ALL
    SELECT a.speaker_id, q.session_id, 'answer'
    FROM answers a JOIN questions q ON q.id = a.question_id
    WHERE q.conference_id = $1
    UNION ALL
    SELECT r.user_id, t.session_id, 'read'
    FROM read_state r JOIN threads t ON t.id = r.thread_id
    WHERE t.conference_id = $1
)
SELECT mb.user_id, u.name, u.title, u.organisation, mb.role,
       count(*) FILTER (WHERE tp.what = 'post') AS posts,
       count(*) FILTER (WHERE tp.what = 'question') AS questions,
       count(*) FILTER (WHERE tp.what = 'vote') AS votes,
       count(*) FILTER (WHERE tp.what = 'answer') AS answers,
       count(*) FILTER (WHERE tp.what = 'read') AS threads_read,
       count(DISTINCT tp.session_id) AS sessions,
       coalesce(array_agg(DISTINCT s.title ORDER BY s.title)
                FILTER (WHERE s.title IS NOT NULL), '{{}}') AS session_titles
FROM members mb
JOIN users u ON u.id = mb.user_id
LEFT JOIN took_part tp ON tp.user_id = mb.user_id
LEFT JOIN sessions s ON s.id = tp.session_id
GROUP BY mb.user_id, u.name, u.title, u.organisation, mb.role
ORDER BY lower(u.name), mb.user_id
"""

# Facilitators' summaries: every thread that has one, by session in programme order.
SUMMARIES = """
SELECT s.id AS session_id, s.title AS session_title, s.translations AS session_translations,
       s.starts_at, t.id AS thread_id, t.title, t.summary_html, t.summary_updated_at
FROM threads t
JOIN sessions s ON s.id = t.session_id
WHERE t.conference_id = $1 AND btrim(t.summary_md) <> ''
ORDER BY s.starts_at, s.id, t.id
"""


async def register(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(REGISTER, conference_id)


async def summaries(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(SUMMARIES, conference_id)


async def languages(con: Con, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(LANGUAGES, conference_id)


async def as_of(con: Con) -> datetime:
    return await con.fetchval(AS_OF)


async def registrations(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(REGISTRATIONS, conference_id)


async def attendance(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(ATTENDANCE, conference_id)


async def organisations(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(ORGANISATIONS, conference_id)


async def posts_per_session(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(POSTS_PER_SESSION, conference_id)


async def posts_per_day(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(POSTS_PER_DAY, conference_id)


async def posts_per_hour(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(POSTS_PER_HOUR, conference_id)


async def active_threads(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(ACTIVE_THREADS, conference_id)


async def questions_per_panel(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(QUESTIONS_PER_PANEL, conference_id)


async def moderation(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(MODERATION, conference_id)
