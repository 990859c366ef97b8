"""SQL for conferences, their programme (sessions) and memberships.

A conference's and a session's state come from the database clock, here and nowhere else.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from confer.db import split_row

Con = asyncpg.Connection | asyncpg.Pool

CONFERENCE_STATE = """
CASE WHEN c.published_at IS NULL THEN 'draft'
     WHEN now() < c.starts_at THEN 'upcoming'
     WHEN now() < c.ends_at THEN 'live'
     ELSE 'closed' END
"""

CONFERENCE_COLUMNS = f"""
c.id, c.slug, c.title, c.summary_md, c.summary_html, c.code_of_conduct_md,
c.code_of_conduct_html, c.timezone, c.starts_at, c.ends_at, c.visibility, c.registration,
c.capacity, c.published_at, c.created_at, c.updated_at, c.flag_threshold,
c.premoderate_first_posts, c.facilitators_may_export, c.language, c.bilingual, c.translations,
c.joining_reveal_minutes, c.sso_join_domains, c.sso_join_tenants,
c.post_files_enabled, c.post_file_max_mb, c.post_files_max, c.post_file_kinds,
{CONFERENCE_STATE} AS state, now() AS now
"""

SESSION_STATE = """
CASE WHEN now() < s.starts_at THEN 'upcoming'
     WHEN now() < s.ends_at THEN 'open'
     ELSE 'closed' END
"""

SESSION_COLUMNS = f"""
s.id, s.conference_id, s.kind, s.title, s.description_md, s.description_html, s.starts_at,
s.ends_at, s.posting_window, s.participants_start_threads, s.translations,
{SESSION_STATE} AS state
"""

FETCH_CONFERENCE_BY_SLUG = f"""
SELECT {CONFERENCE_COLUMNS}
FROM conferences c
WHERE c.slug = $1
"""

# A member's row as policy.Membership needs it, for LEFT JOIN LATERAL (... ) mm: format with
# the SQL for the conference and the user.
MEMBERSHIP_OF = """
    SELECT m.conference_id, m.user_id, m.role, m.status, m.facilitates, m.premoderated,
           (m.muted_until IS NOT NULL AND m.muted_until > now()) AS muted,
           ARRAY(
               SELECT sf.session_id
               FROM session_facilitators sf
               JOIN sessions fs ON fs.id = sf.session_id
               WHERE sf.user_id = m.user_id AND fs.conference_id = m.conference_id
           ) AS session_ids
    FROM memberships m
    WHERE m.conference_id = {conference} AND m.user_id = {user}
"""
MEMBERSHIP_COLUMNS = """
mm.conference_id, mm.user_id, mm.role, mm.status, mm.facilitates, mm.muted, mm.session_ids
"""

# The conference by slug and the actor's ($2) membership of it, in one round trip
# (confer.places.load: every page starts here).
FETCH_PLACE_BY_SLUG = f"""
SELECT {CONFERENCE_COLUMNS},
       NULL AS "|member", {MEMBERSHIP_COLUMNS}
FROM conferences c
LEFT JOIN LATERAL ({MEMBERSHIP_OF.format(conference="c.id", user="$2")}) mm ON true
WHERE c.slug = $1
"""

FETCH_CONFERENCE = f"""
SELECT {CONFERENCE_COLUMNS}
FROM conferences c
WHERE c.id = $1
"""

# Published conferences, plus drafts the caller organises (or all, for an admin).
LIST_CONFERENCES = f"""
SELECT {CONFERENCE_COLUMNS}
FROM conferences c
WHERE c.published_at IS NOT NULL
   OR $2
   OR EXISTS (
       SELECT 1 FROM memberships m
       WHERE m.conference_id = c.id AND m.user_id = $1 AND m.role = 'organiser'
         AND m.status = 'active'
   )
ORDER BY c.starts_at DESC
"""

INSERT_CONFERENCE = """
INSERT INTO conferences (slug, title, summary_md, summary_html, code_of_conduct_md,
                         code_of_conduct_html, timezone, starts_at, ends_at, visibility, created_by,
                         language, bilingual, translations, joining_reveal_minutes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING id
"""

UPDATE_CONFERENCE = """
UPDATE conferences
SET title = $2, summary_md = $3, summary_html = $4, code_of_conduct_md = $5,
    code_of_conduct_html = $6, timezone = $7, starts_at = $8, ends_at = $9, visibility = $10,
    language = $11, bilingual = $12, translations = $13, joining_reveal_minutes = $14,
    updated_at = now()
WHERE id = $1
"""

SET_PUBLISHED = """
UPDATE conferences
SET published_at = CASE WHEN $2 THEN coalesce(published_at, now()) ELSE NULL END,
    updated_at = now()
WHERE id = $1
"""

FETCH_MEMBERSHIP = MEMBERSHIP_OF.format(conference="$1", user="$2")

UPSERT_MEMBERSHIP = """
INSERT INTO memberships (conference_id, user_id, role, facilitates, coc_accepted_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (conference_id, user_id)
DO UPDATE SET role = EXCLUDED.role, facilitates = EXCLUDED.facilitates, status = 'active'
"""

LIST_MEMBERS = """
SELECT u.id AS user_id, u.name, u.email, u.title, u.organisation, m.role, m.status,
       m.facilitates, m.created_at,
       coalesce(array_agg(sf.session_id) FILTER (WHERE sf.session_id IS NOT NULL), '{}')
           AS session_ids
FROM memberships m
JOIN users u ON u.id = m.user_id
LEFT JOIN session_facilitators sf
    ON sf.user_id = m.user_id
   AND sf.session_id IN (SELECT id FROM sessions WHERE conference_id = m.conference_id)
WHERE m.conference_id = $1
GROUP BY u.id, m.conference_id, m.user_id
ORDER BY array_position(
    ARRAY['organiser', 'facilitator', 'speaker', 'participant', 'observer'], m.role
),
         u.name
"""

LIST_SESSIONS = f"""
SELECT {SESSION_COLUMNS},
       (SELECT count(*) FROM threads t WHERE t.session_id = s.id AND NOT t.awaiting_approval)
           AS thread_count,
       (SELECT coalesce(sum(t.post_count), 0) FROM threads t WHERE t.session_id = s.id)
           AS post_count,
       (SELECT max(t.last_post_at) FROM threads t WHERE t.session_id = s.id) AS last_post_at
FROM sessions s
WHERE s.conference_id = $1
ORDER BY s.starts_at, s.id
"""

FETCH_SESSION = f"""
SELECT {SESSION_COLUMNS}
FROM sessions s
WHERE s.id = $1 AND s.conference_id = $2
"""

INSERT_SESSION = """
INSERT INTO sessions (conference_id, kind, title, description_md, description_html, starts_at,
                      ends_at, posting_window, participants_start_threads, translations)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id
"""

UPDATE_SESSION = """
UPDATE sessions
SET kind = $3, title = $4, description_md = $5, description_html = $6, starts_at = $7,
    ends_at = $8, posting_window = $9, participants_start_threads = $10, translations = $11,
    sequence = sequence + 1  -- iCalendar's SEQUENCE: calendars update the event in place
WHERE id = $1 AND conference_id = $2
RETURNING id
"""

DELETE_SESSION = """
DELETE FROM sessions
WHERE id = $1 AND conference_id = $2
RETURNING id
"""

DELETE_SESSION_FACILITATORS_OF_USER = """
DELETE FROM session_facilitators
WHERE user_id = $1 AND session_id IN (SELECT id FROM sessions WHERE conference_id = $2)
"""

INSERT_SESSION_FACILITATOR = """
INSERT INTO session_facilitators (session_id, user_id)
SELECT s.id, $2 FROM sessions s WHERE s.id = ANY($1::bigint[]) AND s.conference_id = $3
ON CONFLICT DO NOTHING
"""

INSERT_SESSION_SPEAKER = """
INSERT INTO session_speakers (session_id, user_id, position)
VALUES ($1, $2, (SELECT count(*) FROM session_speakers WHERE session_id = $1))
ON CONFLICT DO NOTHING
"""

LIST_SPEAKERS = """
SELECT ss.session_id, u.id AS user_id, u.name, u.title, u.organisation, u.bio
FROM session_speakers ss
JOIN sessions s ON s.id = ss.session_id
JOIN users u ON u.id = ss.user_id
WHERE s.conference_id = $1
ORDER BY s.starts_at, ss.position, u.name
"""


async def fetch_conference_by_slug(con: Con, slug: str) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_CONFERENCE_BY_SLUG, slug)


async def fetch_place_by_slug(
    con: Con, slug: str, user_id: int | None
) -> tuple[dict, dict | None] | None:
    """(conference, membership or None) for this slug, or None if there is no such conference."""
    row = await con.fetchrow(FETCH_PLACE_BY_SLUG, slug, user_id)
    if row is None:
        return None
    conference, member = split_row(row)
    return conference, member if member["user_id"] is not None else None


async def fetch_conference(con: Con, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_CONFERENCE, conference_id)


async def list_conferences(con: Con, user_id: int | None, is_admin: bool) -> list[asyncpg.Record]:
    return await con.fetch(LIST_CONFERENCES, user_id, is_admin)


async def insert_conference(
    con: Con,
    *args: object,
    language: str = "en",
    bilingual: bool = False,
    translations: dict | None = None,
    joining_reveal_minutes: int = 15,
) -> int:
    """`args`: slug, title, summary (Markdown, HTML), code of conduct (Markdown, HTML),
    timezone, starts, ends, visibility, created_by; then the language of those texts and,
    for a bilingual conference, their `translations` (migrations/0018_bilingual.sql), and
    how long before a session its joining link is shown (migrations/0024_calendars.sql)."""
    return await con.fetchval(
        INSERT_CONFERENCE, *args, language, bilingual, translations or {}, joining_reveal_minutes
    )


async def update_conference(
    con: Con,
    *args: object,
    language: str = "en",
    bilingual: bool = False,
    translations: dict | None = None,
    joining_reveal_minutes: int = 15,
) -> None:
    await con.execute(
        UPDATE_CONFERENCE, *args, language, bilingual, translations or {}, joining_reveal_minutes
    )


async def set_published(con: Con, conference_id: int, published: bool) -> None:
    await con.execute(SET_PUBLISHED, conference_id, published)


async def fetch_membership(con: Con, conference_id: int, user_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_MEMBERSHIP, conference_id, user_id)


async def upsert_membership(
    con: Con, conference_id: int, user_id: int, role: str, facilitates: str
) -> None:
    await con.execute(UPSERT_MEMBERSHIP, conference_id, user_id, role, facilitates, None)


async def fetch_membership_status_for_update(
    con: Con, conference_id: int, user_id: int
) -> str | None:
    return await con.fetchval(
        "SELECT status FROM memberships WHERE conference_id = $1 AND user_id = $2 FOR UPDATE",
        conference_id,
        user_id,
    )


async def set_facilitates(con: Con, conference_id: int, user_id: int, facilitates: str) -> None:
    await con.execute(
        "UPDATE memberships SET facilitates = $3 WHERE conference_id = $1 AND user_id = $2",
        conference_id,
        user_id,
        facilitates,
    )


async def list_members(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_MEMBERS, conference_id)


async def list_sessions(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_SESSIONS, conference_id)


async def fetch_session(con: Con, session_id: int, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_SESSION, session_id, conference_id)


async def insert_session(con: Con, *args: object, translations: dict | None = None) -> int:
    return await con.fetchval(INSERT_SESSION, *args, translations or {})


async def update_session(con: Con, *args: object, translations: dict | None = None) -> int | None:
    return await con.fetchval(UPDATE_SESSION, *args, translations or {})


async def delete_session(con: Con, session_id: int, conference_id: int) -> int | None:
    return await con.fetchval(DELETE_SESSION, session_id, conference_id)


async def replace_session_facilitators(
    con: Con, conference_id: int, user_id: int, session_ids: list[int]
) -> None:
    await con.execute(DELETE_SESSION_FACILITATORS_OF_USER, user_id, conference_id)
    if session_ids:
        await con.execute(INSERT_SESSION_FACILITATOR, session_ids, user_id, conference_id)


async def insert_session_speaker(con: Con, session_id: int, user_id: int) -> None:
    await con.execute(INSERT_SESSION_SPEAKER, session_id, user_id)


async def apply_role_sessions(
    con: Con, conference_id: int, user_id: int, role: str, session_ids: list[int]
) -> None:
    """A facilitator's sessions (none: the whole conference) or a speaker's panels, of this
    conference only."""
    if role == "facilitator":
        await set_facilitates(
            con, conference_id, user_id, "sessions" if session_ids else "conference"
        )
    await replace_session_facilitators(
        con, conference_id, user_id, session_ids if role == "facilitator" else []
    )
    if role == "speaker":
        for sid in session_ids:
            if await fetch_session(con, sid, conference_id) is not None:
                await insert_session_speaker(con, sid, user_id)


async def list_speakers(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_SPEAKERS, conference_id)


FETCH_SLUG_OF_SESSION = """
SELECT c.slug
FROM sessions s
JOIN conferences c ON c.id = s.conference_id
WHERE s.id = $1
"""

FETCH_SLUG_OF_THREAD = """
SELECT c.slug
FROM threads t
JOIN conferences c ON c.id = t.conference_id
WHERE t.id = $1
"""


async def fetch_slug_of_session(con: Con, session_id: int) -> str | None:
    return await con.fetchval(FETCH_SLUG_OF_SESSION, session_id)


async def fetch_slug_of_thread(con: Con, thread_id: int) -> str | None:
    return await con.fetchval(FETCH_SLUG_OF_THREAD, thread_id)


# --- the organiser's console (confer.conferences.settings, confer.conferences.builder) ------

FETCH_SETTINGS = """
SELECT c.flag_threshold, c.premoderate_first_posts, c.facilitators_may_export
FROM conferences c
WHERE c.id = $1
FOR UPDATE
"""

UPDATE_MODERATION_SETTINGS = """
UPDATE conferences
SET flag_threshold = $2, premoderate_first_posts = $3, updated_at = now()
WHERE id = $1
"""

UPDATE_EXPORT_SETTINGS = """
UPDATE conferences
SET facilitators_may_export = $2, updated_at = now()
WHERE id = $1
"""

LIST_PANELS = """
SELECT s.id, s.title, s.starts_at, s.ends_at, s.questions_in_advance, s.questions_premoderated,
       s.answers_until, s.translations
FROM sessions s
WHERE s.conference_id = $1 AND s.kind = 'panel'
ORDER BY s.starts_at, s.id
"""

FETCH_PANEL = """
SELECT s.id, s.title, s.starts_at, s.ends_at, s.questions_in_advance, s.questions_premoderated,
       s.answers_until
FROM sessions s
WHERE s.id = $1 AND s.conference_id = $2 AND s.kind = 'panel'
"""

FETCH_PANEL_FOR_UPDATE = """
SELECT s.id, s.title, s.starts_at, s.ends_at, s.questions_in_advance, s.questions_premoderated,
       s.answers_until
FROM sessions s
WHERE s.id = $1 AND s.conference_id = $2 AND s.kind = 'panel'
FOR UPDATE
"""

UPDATE_PANEL_SETTINGS = """
UPDATE sessions
SET questions_in_advance = $3, questions_premoderated = $4, answers_until = $5
WHERE id = $1 AND conference_id = $2
"""

# A copy of a session at another time: its texts and settings, not its threads, speakers,
# facilitators or joining link (those belong to the occasion).
COPY_SESSION = """
INSERT INTO sessions (conference_id, kind, title, description_md, description_html, starts_at,
                      ends_at, posting_window, participants_start_threads, translations,
                      questions_in_advance, questions_premoderated)
SELECT conference_id, kind, title, description_md, description_html, $3, $4, posting_window,
       participants_start_threads, translations, questions_in_advance, questions_premoderated
FROM sessions
WHERE id = $1 AND conference_id = $2
RETURNING id
"""


async def fetch_settings(con: Con, conference_id: int) -> asyncpg.Record | None:
    """The console's settings of a conference, its row locked (call inside a transaction)."""
    return await con.fetchrow(FETCH_SETTINGS, conference_id)


async def update_moderation_settings(
    con: Con, conference_id: int, flag_threshold: int, premoderate_first_posts: int
) -> None:
    await con.execute(
        UPDATE_MODERATION_SETTINGS, conference_id, flag_threshold, premoderate_first_posts
    )


async def update_export_settings(con: Con, conference_id: int, facilitators: bool) -> None:
    await con.execute(UPDATE_EXPORT_SETTINGS, conference_id, facilitators)


async def list_panels(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_PANELS, conference_id)


async def fetch_panel(con: Con, session_id: int, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_PANEL, session_id, conference_id)


async def fetch_panel_for_update(
    con: Con, session_id: int, conference_id: int
) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_PANEL_FOR_UPDATE, session_id, conference_id)


async def update_panel_settings(
    con: Con,
    session_id: int,
    conference_id: int,
    in_advance: bool,
    premoderated: bool,
    answers_until: datetime | None,
) -> None:
    await con.execute(
        UPDATE_PANEL_SETTINGS, session_id, conference_id, in_advance, premoderated, answers_until
    )


async def copy_session(
    con: Con, session_id: int, conference_id: int, starts_at: datetime, ends_at: datetime
) -> int | None:
    return await con.fetchval(COPY_SESSION, session_id, conference_id, starts_at, ends_at)
