"""SQL for calendars: stars, personal feeds, joining links and cancelled sessions.

`sessions.joining_url` is read here and nowhere else: the programme's shared SESSION_COLUMNS
leave it out, so no public page, JSON answer, search result or transcript can carry it.
"""

from __future__ import annotations

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

# What an iCalendar event needs, with the conference's zone and address.
EVENT_COLUMNS = """
s.id, s.conference_id, s.kind, s.title, s.description_md, s.starts_at, s.ends_at, s.sequence,
c.slug, c.title AS conference_title, c.timezone
"""

LIST_CONFERENCE_EVENTS = f"""
SELECT {EVENT_COLUMNS}, false AS cancelled
FROM sessions s
JOIN conferences c ON c.id = s.conference_id
WHERE s.conference_id = $1 AND ($2::bigint IS NULL OR s.id = $2)
UNION ALL
SELECT x.session_id, x.conference_id, 'discussion', x.title, '', x.starts_at, x.ends_at,
       x.sequence, c.slug, c.title, c.timezone, true
FROM cancelled_sessions x
JOIN conferences c ON c.id = x.conference_id
WHERE x.conference_id = $1 AND $2::bigint IS NULL
ORDER BY starts_at, id
"""

# A conference the member may see: published, or one they organise (as policy's conference.see).
_SEES = "(c.published_at IS NOT NULL OR (m.status = 'active' AND m.role = 'organiser'))"

# The personal feed ($1 the member, $2 its scope): starred sessions, or with 'all' every session
# of the conferences they are an active member of; with each its joining link and the member's
# role and status there (the service decides who gets the link), and the cancellations.
LIST_FEED_EVENTS = f"""
SELECT {EVENT_COLUMNS}, false AS cancelled, s.joining_url, c.joining_reveal_minutes,
       m.role AS member_role, m.status AS member_status
FROM sessions s
JOIN conferences c ON c.id = s.conference_id
LEFT JOIN memberships m ON m.conference_id = c.id AND m.user_id = $1
WHERE {_SEES}
  AND (EXISTS (SELECT 1 FROM session_stars st WHERE st.user_id = $1 AND st.session_id = s.id)
       OR ($2 = 'all' AND m.status = 'active'))
UNION ALL
SELECT x.session_id, x.conference_id, 'discussion', x.title, '', x.starts_at, x.ends_at,
       x.sequence, c.slug, c.title, c.timezone, true, NULL, c.joining_reveal_minutes,
       m.role, m.status
FROM cancelled_sessions x
JOIN conferences c ON c.id = x.conference_id
LEFT JOIN memberships m ON m.conference_id = c.id AND m.user_id = $1
WHERE {_SEES}
  AND ($1 = ANY (x.starred_by) OR ($2 = 'all' AND m.status = 'active'))
ORDER BY starts_at, id
"""

# "My programme": the starred sessions of conferences the member may still see.
LIST_STARRED = """
SELECT s.id, s.kind, s.title, s.starts_at, s.ends_at, c.slug, c.title AS conference_title,
       c.timezone
FROM session_stars st
JOIN sessions s ON s.id = st.session_id
JOIN conferences c ON c.id = s.conference_id
LEFT JOIN memberships m ON m.conference_id = c.id AND m.user_id = $1
WHERE st.user_id = $1
  AND (c.published_at IS NOT NULL OR (m.status = 'active' AND m.role = 'organiser'))
ORDER BY s.starts_at, s.id
"""

LIST_STAR_IDS = """
SELECT st.session_id
FROM session_stars st
JOIN sessions s ON s.id = st.session_id
WHERE st.user_id = $1 AND s.conference_id = $2
"""

INSERT_STAR = """
INSERT INTO session_stars (user_id, session_id) VALUES ($1, $2)
ON CONFLICT DO NOTHING
"""

DELETE_STAR = "DELETE FROM session_stars WHERE user_id = $1 AND session_id = $2"

FETCH_JOINING = """
SELECT s.joining_url, c.joining_reveal_minutes, now() AS now
FROM sessions s
JOIN conferences c ON c.id = s.conference_id
WHERE s.id = $1 AND s.conference_id = $2
"""

FETCH_JOINING_FOR_UPDATE = """
SELECT joining_url FROM sessions WHERE id = $1 AND conference_id = $2 FOR UPDATE
"""

UPDATE_JOINING_URL = "UPDATE sessions SET joining_url = $2 WHERE id = $1"

# A deleted session's tombstone, written in the deleting transaction before the DELETE (while
# its stars exist): the same id (so the same UID), SEQUENCE one more than the session's last, and
# who had starred it.
INSERT_CANCELLED = """
INSERT INTO cancelled_sessions (session_id, conference_id, title, starts_at, ends_at, sequence,
                                starred_by)
SELECT s.id, s.conference_id, s.title, s.starts_at, s.ends_at, s.sequence + 1,
       ARRAY(SELECT st.user_id FROM session_stars st WHERE st.session_id = s.id)
FROM sessions s
WHERE s.id = $1 AND s.conference_id = $2
ON CONFLICT (session_id) DO NOTHING
"""

FETCH_FEED = (
    "SELECT user_id, token_hash, scope, timezone, created_at FROM calendar_feeds WHERE user_id = $1"
)

FETCH_FEED_BY_HASH = """
SELECT f.user_id, f.scope, u.language
FROM calendar_feeds f
JOIN users u ON u.id = f.user_id
WHERE f.token_hash = $1
"""

UPSERT_FEED_TOKEN = """
INSERT INTO calendar_feeds (user_id, token_hash, scope) VALUES ($1, $2, $3)
ON CONFLICT (user_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, scope = EXCLUDED.scope,
                                    created_at = now()
"""

SET_FEED_SCOPE = "UPDATE calendar_feeds SET scope = $2 WHERE user_id = $1 RETURNING user_id"

REVOKE_FEED = "UPDATE calendar_feeds SET token_hash = NULL WHERE user_id = $1"

SET_TIMEZONE = """
INSERT INTO calendar_feeds (user_id, timezone) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET timezone = EXCLUDED.timezone
"""


async def list_conference_events(
    con: Con, conference_id: int, session_id: int | None = None
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_CONFERENCE_EVENTS, conference_id, session_id)


async def list_feed_events(con: Con, user_id: int, scope: str) -> list[asyncpg.Record]:
    return await con.fetch(LIST_FEED_EVENTS, user_id, scope)


async def list_starred(con: Con, user_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_STARRED, user_id)


async def list_star_ids(con: Con, user_id: int, conference_id: int) -> set[int]:
    return {r["session_id"] for r in await con.fetch(LIST_STAR_IDS, user_id, conference_id)}


async def insert_star(con: Con, user_id: int, session_id: int) -> None:
    await con.execute(INSERT_STAR, user_id, session_id)


async def delete_star(con: Con, user_id: int, session_id: int) -> None:
    await con.execute(DELETE_STAR, user_id, session_id)


async def fetch_joining(con: Con, session_id: int, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_JOINING, session_id, conference_id)


async def fetch_joining_for_update(
    con: asyncpg.Connection, session_id: int, conference_id: int
) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_JOINING_FOR_UPDATE, session_id, conference_id)


async def update_joining_url(con: asyncpg.Connection, session_id: int, value: str | None) -> None:
    await con.execute(UPDATE_JOINING_URL, session_id, value)


async def insert_cancelled(con: asyncpg.Connection, session_id: int, conference_id: int) -> None:
    await con.execute(INSERT_CANCELLED, session_id, conference_id)


async def fetch_feed(con: Con, user_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_FEED, user_id)


async def fetch_feed_by_hash(con: Con, token_hash: bytes) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_FEED_BY_HASH, token_hash)


async def upsert_feed_token(con: Con, user_id: int, token_hash: bytes, scope: str) -> None:
    await con.execute(UPSERT_FEED_TOKEN, user_id, token_hash, scope)


async def set_feed_scope(con: Con, user_id: int, scope: str) -> bool:
    return await con.fetchval(SET_FEED_SCOPE, user_id, scope) is not None


async def revoke_feed(con: Con, user_id: int) -> None:
    await con.execute(REVOKE_FEED, user_id)


async def set_timezone(con: Con, user_id: int, timezone: str | None) -> None:
    await con.execute(SET_TIMEZONE, user_id, timezone)
