"""SQL for registration (places, the waitlist, requests) and invitations.

Statements that change who holds a place run after lock_conference() in the same
transaction; the waitlist is kept numbered 1..N by renumber_waitlist().
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

# Roles that take one of the conference's places. Organisers, facilitators and speakers run
# the conference and are never counted against its capacity.
COUNTED_ROLES = ["participant", "observer"]

LOCK_CONFERENCE = """
SELECT c.id, c.slug, c.title, c.timezone, c.registration, c.capacity, c.published_at,
       c.starts_at, c.ends_at, now() >= c.ends_at AS closed,
       c.language, c.bilingual, c.translations
FROM conferences c
WHERE c.id = $1
FOR UPDATE
"""

UPDATE_SETTINGS = """
UPDATE conferences
SET registration = $2, capacity = $3, updated_at = now()
WHERE id = $1
"""

FETCH_MEMBER_FOR_UPDATE = """
SELECT m.conference_id, m.user_id, m.role, m.status, m.waitlist_position, m.registered_at,
       u.email, u.name
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.conference_id = $1 AND m.user_id = $2
FOR UPDATE OF m
"""

FETCH_MEMBER = """
SELECT m.role, m.status, m.waitlist_position
FROM memberships m
WHERE m.conference_id = $1 AND m.user_id = $2
"""

COUNT_TAKEN = """
SELECT count(*)
FROM memberships
WHERE conference_id = $1 AND status = 'active' AND role = ANY($2::text[])
"""

NEXT_WAITLIST_POSITION = """
SELECT coalesce(max(waitlist_position), 0) + 1
FROM memberships
WHERE conference_id = $1 AND status = 'waitlisted'
"""

# created_at and registered_at from clock_timestamp(): under the conference's lock, the
# order in which registrations were served (now() would be each transaction's start).
UPSERT_REGISTRATION = """
INSERT INTO memberships (conference_id, user_id, role, status, waitlist_position,
                         coc_accepted_at, registered_at, created_at)
VALUES ($1, $2, $3, $4, $5, now(), clock_timestamp(), clock_timestamp())
ON CONFLICT (conference_id, user_id) DO UPDATE
SET role = EXCLUDED.role, status = EXCLUDED.status,
    waitlist_position = EXCLUDED.waitlist_position, coc_accepted_at = now(),
    registered_at = EXCLUDED.registered_at, decided_at = NULL, decided_by = NULL
"""

SET_FACILITATES_CONFERENCE = """
UPDATE memberships SET facilitates = 'conference'
WHERE conference_id = $1 AND user_id = $2 AND role <> 'facilitator'
"""

SET_STATUS = """
UPDATE memberships
SET status = $3, waitlist_position = $4
WHERE conference_id = $1 AND user_id = $2
"""

SET_DECISION = """
UPDATE memberships
SET status = $3, waitlist_position = $4, decided_at = now(), decided_by = $5
WHERE conference_id = $1 AND user_id = $2
"""

# Positions 1..N in the order they stand, with no gaps; stray positions (on members no longer
# waiting, whoever changed their status) are cleared.
CLEAR_STRAY_POSITIONS = """
UPDATE memberships
SET waitlist_position = NULL
WHERE conference_id = $1 AND status <> 'waitlisted' AND waitlist_position IS NOT NULL
"""

RENUMBER_WAITLIST = """
UPDATE memberships m
SET waitlist_position = w.position
FROM (
    SELECT user_id,
           row_number() OVER (ORDER BY waitlist_position NULLS LAST, registered_at, user_id)
               AS position
    FROM memberships
    WHERE conference_id = $1 AND status = 'waitlisted'
) w
WHERE m.conference_id = $1 AND m.user_id = w.user_id
  AND m.waitlist_position IS DISTINCT FROM w.position
"""

# The first $2 on the waitlist take a place (LIMIT NULL: everyone, when there is no capacity).
PROMOTE = """
WITH next AS (
    SELECT user_id
    FROM memberships
    WHERE conference_id = $1 AND status = 'waitlisted'
    ORDER BY waitlist_position NULLS LAST, registered_at, user_id
    LIMIT $2
), promoted AS (
    UPDATE memberships m
    SET status = 'active', waitlist_position = NULL
    FROM next
    WHERE m.conference_id = $1 AND m.user_id = next.user_id
    RETURNING m.user_id, m.registered_at
)
SELECT p.user_id, p.registered_at, u.email, u.name
FROM promoted p
JOIN users u ON u.id = p.user_id
ORDER BY p.registered_at, p.user_id
"""

LIST_BY_STATUS = """
SELECT u.id AS user_id, u.name, u.email, u.title, u.organisation, m.role, m.status,
       m.waitlist_position, m.registered_at, m.created_at
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.conference_id = $1 AND m.status = $2
ORDER BY m.waitlist_position NULLS LAST, m.registered_at NULLS LAST, m.created_at, u.id
"""

# Who hears of a request to join: the conference's active organisers, but not those who chose
# "No emails" in their notification settings.
LIST_ORGANISERS_TO_TELL = """
SELECT u.id AS user_id, u.name, u.email, u.language
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.conference_id = $1 AND m.role = 'organiser' AND m.status = 'active'
  AND m.email_notifications <> 'none'
ORDER BY u.id
"""

# The language to write an email in (confer.registration.emails): the account's, where it
# chose one, else the conference's.
ADDRESS_LANGUAGE = """
SELECT coalesce((SELECT u.language FROM users u WHERE lower(u.email) = lower($2)),
                (SELECT c.language FROM conferences c WHERE c.id = $1), 'en')
"""

MEMBER_LANGUAGE = """
SELECT coalesce((SELECT u.language FROM users u WHERE u.id = $2),
                (SELECT c.language FROM conferences c WHERE c.id = $1), 'en')
"""

CONFERENCE_LANGUAGE = """
SELECT coalesce((SELECT c.language FROM conferences c WHERE c.id = $1), 'en')
"""

COUNTS = """
SELECT count(*) FILTER (WHERE status = 'active' AND role = ANY($2::text[])) AS taken,
       count(*) FILTER (WHERE status = 'waitlisted') AS waitlisted,
       count(*) FILTER (WHERE status = 'pending') AS pending
FROM memberships
WHERE conference_id = $1
"""

# --- invitations ------------------------------------------------------------------------

INVITATION_STATE = """
CASE WHEN i.status = 'pending' AND i.expires_at <= now() THEN 'expired' ELSE i.status END
"""

INVITATION_COLUMNS = f"""
i.id, i.conference_id, i.email, i.name, i.role, i.status, {INVITATION_STATE} AS state,
i.created_at, i.sent_at, i.send_count, i.expires_at, i.accepted_at, i.revoked_at,
i.invited_by, i.accepted_by, i.session_ids
"""

# Inviting an address that already has a live (or expired) pending invitation renews it: a
# new token (the old link stops working), role, name and expiry.
# An invitation lasts until its conference ends (issue #22), or 14 days from sending when
# the conference has already ended (an organiser inviting to read the archive); a date the
# organiser chose replaces either.
DEFAULT_EXPIRY = """
SELECT CASE WHEN c.ends_at > now() THEN c.ends_at ELSE now() + interval '14 days' END
FROM conferences c
"""

UPSERT_INVITATION = f"""
INSERT INTO invitations AS i (conference_id, email, name, role, token_hash, invited_by,
                              expires_at, session_ids)
VALUES ($1, $2, $3, $4, $5, $6, coalesce($7::timestamptz, ({DEFAULT_EXPIRY} WHERE c.id = $1)),
        $8)
ON CONFLICT (conference_id, lower(email)) WHERE status = 'pending'
DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role, token_hash = EXCLUDED.token_hash,
              session_ids = EXCLUDED.session_ids,
              invited_by = EXCLUDED.invited_by, expires_at = EXCLUDED.expires_at,
              sent_at = now(), send_count = i.send_count + 1
RETURNING {INVITATION_COLUMNS}, (i.send_count > 1) AS renewed
"""

LIST_INVITATIONS = f"""
SELECT {INVITATION_COLUMNS}, inviter.name AS invited_by_name, acceptor.name AS accepted_by_name
FROM invitations i
LEFT JOIN users inviter ON inviter.id = i.invited_by
LEFT JOIN users acceptor ON acceptor.id = i.accepted_by
WHERE i.conference_id = $1
ORDER BY i.created_at DESC, i.id DESC
LIMIT $2
"""

FETCH_INVITATION_FOR_UPDATE = f"""
SELECT {INVITATION_COLUMNS}
FROM invitations i
WHERE i.id = $1 AND i.conference_id = $2
FOR UPDATE
"""

FETCH_INVITATION_BY_TOKEN = f"""
SELECT {INVITATION_COLUMNS}
FROM invitations i
WHERE i.token_hash = $1
"""

FETCH_INVITATION_BY_TOKEN_FOR_UPDATE = FETCH_INVITATION_BY_TOKEN + "FOR UPDATE"

RENEW_INVITATION = f"""
UPDATE invitations i
SET token_hash = $2,
    expires_at = coalesce($3::timestamptz, ({DEFAULT_EXPIRY} WHERE c.id = i.conference_id)),
    sent_at = now(),
    send_count = send_count + 1
WHERE id = $1
RETURNING {INVITATION_COLUMNS}
"""

REVOKE_INVITATION = f"""
UPDATE invitations i
SET status = 'revoked', revoked_at = now()
WHERE id = $1
RETURNING {INVITATION_COLUMNS}
"""

ACCEPT_INVITATION = """
UPDATE invitations
SET status = 'accepted', accepted_at = now(), accepted_by = $2
WHERE id = $1
"""

ACTIVE_MEMBER_EMAILS = """
SELECT lower(u.email)
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.conference_id = $1 AND m.status = 'active' AND lower(u.email) = ANY($2::text[])
"""

FETCH_CONFERENCE = """
SELECT c.id, c.slug, c.title, c.timezone, c.code_of_conduct_html, c.published_at,
       c.starts_at, c.ends_at, c.language, c.bilingual, c.translations,
       CASE WHEN c.published_at IS NULL THEN 'draft'
            WHEN now() < c.starts_at THEN 'upcoming'
            WHEN now() < c.ends_at THEN 'live'
            ELSE 'closed' END AS state
FROM conferences c
WHERE c.id = $1
"""


async def lock_conference(con: asyncpg.Connection, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(LOCK_CONFERENCE, conference_id)


async def update_settings(
    con: Con, conference_id: int, registration: str, capacity: int | None
) -> None:
    await con.execute(UPDATE_SETTINGS, conference_id, registration, capacity)


async def fetch_member_for_update(
    con: asyncpg.Connection, conference_id: int, user_id: int
) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_MEMBER_FOR_UPDATE, conference_id, user_id)


async def fetch_member(con: Con, conference_id: int, user_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_MEMBER, conference_id, user_id)


async def count_taken(con: Con, conference_id: int) -> int:
    return await con.fetchval(COUNT_TAKEN, conference_id, COUNTED_ROLES)


async def next_waitlist_position(con: Con, conference_id: int) -> int:
    return await con.fetchval(NEXT_WAITLIST_POSITION, conference_id)


async def upsert_registration(
    con: Con, conference_id: int, user_id: int, role: str, status: str, position: int | None
) -> None:
    await con.execute(UPSERT_REGISTRATION, conference_id, user_id, role, status, position)
    await con.execute(SET_FACILITATES_CONFERENCE, conference_id, user_id)


async def set_status(
    con: Con, conference_id: int, user_id: int, status: str, position: int | None
) -> None:
    await con.execute(SET_STATUS, conference_id, user_id, status, position)


async def set_decision(
    con: Con,
    conference_id: int,
    user_id: int,
    status: str,
    position: int | None,
    decided_by: int | None,
) -> None:
    await con.execute(SET_DECISION, conference_id, user_id, status, position, decided_by)


async def renumber_waitlist(con: Con, conference_id: int) -> None:
    await con.execute(CLEAR_STRAY_POSITIONS, conference_id)
    await con.execute(RENUMBER_WAITLIST, conference_id)


async def promote(con: Con, conference_id: int, limit: int | None) -> list[asyncpg.Record]:
    return await con.fetch(PROMOTE, conference_id, limit)


async def list_by_status(con: Con, conference_id: int, status: str) -> list[asyncpg.Record]:
    return await con.fetch(LIST_BY_STATUS, conference_id, status)


async def list_organisers_to_tell(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_ORGANISERS_TO_TELL, conference_id)


async def address_language(con: Con, conference_id: int, email: str) -> str:
    return await con.fetchval(ADDRESS_LANGUAGE, conference_id, email)


async def member_language(con: Con, conference_id: int, user_id: int) -> str:
    return await con.fetchval(MEMBER_LANGUAGE, conference_id, user_id)


async def conference_language(con: Con, conference_id: int) -> str:
    return await con.fetchval(CONFERENCE_LANGUAGE, conference_id)


async def counts(con: Con, conference_id: int) -> asyncpg.Record:
    return await con.fetchrow(COUNTS, conference_id, COUNTED_ROLES)


async def upsert_invitation(
    con: Con,
    conference_id: int,
    email: str,
    name: str,
    role: str,
    token_hash: bytes,
    invited_by: int | None,
    expires_at: datetime | None,
    session_ids: list[int] | None = None,
) -> asyncpg.Record:
    """`expires_at` None: until the conference ends (DEFAULT_EXPIRY)."""
    return await con.fetchrow(
        UPSERT_INVITATION, conference_id, email, name, role, token_hash, invited_by, expires_at,
        session_ids or [],
    )  # fmt: skip


async def list_invitations(con: Con, conference_id: int, limit: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_INVITATIONS, conference_id, limit)


async def fetch_invitation_for_update(
    con: asyncpg.Connection, invitation_id: int, conference_id: int
) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_INVITATION_FOR_UPDATE, invitation_id, conference_id)


async def fetch_invitation_by_token(
    con: Con, token_hash: bytes, *, for_update: bool = False
) -> asyncpg.Record | None:
    sql = FETCH_INVITATION_BY_TOKEN_FOR_UPDATE if for_update else FETCH_INVITATION_BY_TOKEN
    return await con.fetchrow(sql, token_hash)


async def renew_invitation(
    con: Con, invitation_id: int, token_hash: bytes, expires_at: datetime | None = None
) -> asyncpg.Record:
    return await con.fetchrow(RENEW_INVITATION, invitation_id, token_hash, expires_at)


async def revoke_invitation(con: Con, invitation_id: int) -> asyncpg.Record:
    return await con.fetchrow(REVOKE_INVITATION, invitation_id)


async def accept_invitation(con: Con, invitation_id: int, user_id: int) -> None:
    await con.execute(ACCEPT_INVITATION, invitation_id, user_id)


async def active_member_emails(con: Con, conference_id: int, emails: list[str]) -> set[str]:
    rows = await con.fetch(ACTIVE_MEMBER_EMAILS, conference_id, emails)
    return {r[0] for r in rows}


async def fetch_conference(con: Con, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_CONFERENCE, conference_id)


def dedupe_stamp(value: datetime | None) -> str:
    """A registration's time as a dedupe-key part: one promotion, one email."""
    return "" if value is None else f"{value.timestamp():.6f}"
