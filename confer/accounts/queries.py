"""SQL for accounts: users, sign-in sessions, sign-in failures, API tokens, and emailed links
(password reset, sign-in by link) with their throttle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

import asyncpg

from confer.db import batched

Con = asyncpg.Connection | asyncpg.Pool

USER_COLUMNS = "id, email, name, title, organisation, bio, is_admin, created_at, language"

INSERT_USER = f"""
INSERT INTO users (email, name, title, organisation, password_hash, is_admin, language)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING {USER_COLUMNS}
"""

FETCH_USER = f"""
SELECT {USER_COLUMNS}
FROM users
WHERE id = $1
"""

FETCH_USER_FOR_SIGN_IN = """
SELECT id, password_hash
FROM users
WHERE lower(email) = lower($1)
"""

FETCH_USER_BY_EMAIL = f"""
SELECT {USER_COLUMNS}
FROM users
WHERE lower(email) = lower($1)
"""

UPDATE_PROFILE = f"""
UPDATE users
SET name = $2, title = $3, organisation = $4, bio = $5
WHERE id = $1
RETURNING {USER_COLUMNS}
"""

UPDATE_PASSWORD = """
UPDATE users
SET password_hash = $2, password_changed_at = now()
WHERE id = $1
"""

FETCH_PASSWORD_HASH = """
SELECT password_hash
FROM users
WHERE id = $1
"""

INSERT_LOGIN = """
INSERT INTO logins (user_id, token_hash, expires_at)
VALUES ($1, $2, now() + make_interval(days => $3))
RETURNING id
"""

# Touch last_seen_at at most once a minute, to keep page views read-only in practice.
# Several sign-ins at once ($1), as FETCH_ACTORS_BY_API_TOKENS (confer.db.Batcher).
FETCH_ACTORS_BY_LOGINS = """
WITH hit AS (
    SELECT l.id AS login_id, l.user_id, l.last_seen_at, l.token_hash
    FROM logins l
    WHERE l.token_hash = ANY($1::bytea[]) AND l.expires_at > now()
), touched AS (
    UPDATE logins SET last_seen_at = now()
    WHERE id IN (SELECT login_id FROM hit) AND last_seen_at < now() - interval '1 minute'
)
SELECT hit.token_hash, hit.login_id, u.id, u.name, u.email, u.is_admin, u.language,
       u.can_create_conferences
FROM hit
JOIN users u ON u.id = hit.user_id
"""

DELETE_LOGIN = """
DELETE FROM logins
WHERE token_hash = $1
RETURNING user_id
"""

DELETE_LOGINS_OF_USER = """
DELETE FROM logins
WHERE user_id = $1
"""

INSERT_LOGIN_FAILURE = """
INSERT INTO login_failures (email, address)
VALUES (lower($1), $2)
"""

# Failures in the window: for this account from this address, from this address for any
# account, and the number of different addresses that failed for this account; with how many
# seconds until the oldest of each leaves the window (the database clock decides).
FETCH_LOGIN_THROTTLE = """
SELECT
    count(*) FILTER (WHERE email = lower($1) AND address = $2) AS pair_failures,
    count(*) FILTER (WHERE address = $2) AS address_failures,
    count(DISTINCT address) FILTER (WHERE email = lower($1)) AS account_addresses,
    ceil(extract(epoch FROM min(at) FILTER (WHERE email = lower($1) AND address = $2)
        + make_interval(secs => $3) - now()))::int AS pair_retry_after,
    ceil(extract(epoch FROM min(at) FILTER (WHERE address = $2)
        + make_interval(secs => $3) - now()))::int AS address_retry_after,
    ceil(extract(epoch FROM min(at) FILTER (WHERE email = lower($1))
        + make_interval(secs => $3) - now()))::int AS account_retry_after
FROM login_failures
WHERE (email = lower($1) OR address = $2)
  AND at > now() - make_interval(secs => $3)
"""

CLEAR_LOGIN_FAILURES = """
DELETE FROM login_failures
WHERE email = lower($1)
"""

INSERT_API_TOKEN = """
INSERT INTO api_tokens (user_id, name, token_hash)
VALUES ($1, $2, $3)
RETURNING id, name, created_at
"""

LIST_API_TOKENS = """
SELECT id, name, created_at, last_used_at
FROM api_tokens
WHERE user_id = $1 AND revoked_at IS NULL
ORDER BY created_at DESC
"""

REVOKE_API_TOKEN = """
UPDATE api_tokens
SET revoked_at = now()
WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL
RETURNING id
"""

# last_used_at moves at most once a minute, as a sign-in session's last_seen_at does: writing
# it on every request made every API call a write transaction (a row lock and a WAL flush).
# Several tokens at once ($1): API requests arriving together are looked up in one query
# (confer.db.Batcher).
FETCH_ACTORS_BY_API_TOKENS = """
WITH hit AS (
    SELECT id, user_id, token_hash
    FROM api_tokens
    WHERE token_hash = ANY($1::bytea[]) AND revoked_at IS NULL
), touched AS (
    UPDATE api_tokens SET last_used_at = now()
    WHERE id IN (SELECT id FROM hit)
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
)
SELECT hit.token_hash, hit.id AS token_id, u.id, u.name, u.email, u.is_admin, u.language,
       u.can_create_conferences
FROM hit
JOIN users u ON u.id = hit.user_id
"""

# A password change or reset ends every API token of the account, as it ends its sign-ins.
REVOKE_API_TOKENS_OF_USER = """
UPDATE api_tokens
SET revoked_at = now()
WHERE user_id = $1 AND revoked_at IS NULL
RETURNING id
"""


async def insert_user(
    con: Con,
    email: str,
    name: str,
    title: str,
    organisation: str,
    password_hash: str | None,
    is_admin: bool,
    language: str | None = None,
) -> asyncpg.Record:
    """`language`: the account's language for pages and emails (None: not chosen yet)."""
    return await con.fetchrow(
        INSERT_USER, email, name, title, organisation, password_hash, is_admin, language
    )


async def fetch_user(con: Con, user_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_USER, user_id)


async def fetch_user_by_email(con: Con, email: str) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_USER_BY_EMAIL, email)


async def fetch_user_for_sign_in(con: Con, email: str) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_USER_FOR_SIGN_IN, email)


async def update_profile(
    con: Con, user_id: int, name: str, title: str, organisation: str, bio: str
) -> asyncpg.Record:
    return await con.fetchrow(UPDATE_PROFILE, user_id, name, title, organisation, bio)


async def update_language(con: Con, user_id: int, language: str) -> None:
    await con.execute("UPDATE users SET language = $2 WHERE id = $1", user_id, language)


async def update_password(con: Con, user_id: int, password_hash: str) -> None:
    await con.execute(UPDATE_PASSWORD, user_id, password_hash)


async def fetch_password_hash(con: Con, user_id: int) -> str | None:
    return await con.fetchval(FETCH_PASSWORD_HASH, user_id)


async def insert_login(con: Con, user_id: int, token_hash: bytes, days: int) -> int:
    return await con.fetchval(INSERT_LOGIN, user_id, token_hash, days)


async def _rows_by_token_hash(
    query: str, pool: asyncpg.Pool, token_hashes: Sequence[bytes]
) -> list[asyncpg.Record | None]:
    """`query`'s rows for the hashes in $1, one a hash and in order (None: no row)."""
    found = {r["token_hash"]: r for r in await pool.fetch(query, token_hashes)}
    return [found.get(h) for h in token_hashes]


_fetch_actors_by_logins = partial(_rows_by_token_hash, FETCH_ACTORS_BY_LOGINS)
_fetch_actors_by_api_tokens = partial(_rows_by_token_hash, FETCH_ACTORS_BY_API_TOKENS)


async def fetch_actor_by_login(pool: asyncpg.Pool, token_hash: bytes) -> asyncpg.Record | None:
    """The signed-in user (login_id, id, name, email, is_admin), if the sign-in is live."""
    return await batched(pool, _fetch_actors_by_logins)(token_hash)


async def delete_login(con: Con, token_hash: bytes) -> int | None:
    return await con.fetchval(DELETE_LOGIN, token_hash)


async def delete_logins_of_user(con: Con, user_id: int) -> None:
    await con.execute(DELETE_LOGINS_OF_USER, user_id)


async def insert_login_failure(con: Con, email: str, address: str) -> None:
    await con.execute(INSERT_LOGIN_FAILURE, email, address)


async def fetch_login_throttle(
    con: Con, email: str, address: str, window_seconds: int
) -> asyncpg.Record:
    return await con.fetchrow(FETCH_LOGIN_THROTTLE, email, address, float(window_seconds))


async def clear_login_failures(con: Con, email: str) -> None:
    await con.execute(CLEAR_LOGIN_FAILURES, email)


async def insert_api_token(con: Con, user_id: int, name: str, token_hash: bytes) -> asyncpg.Record:
    return await con.fetchrow(INSERT_API_TOKEN, user_id, name, token_hash)


async def list_api_tokens(con: Con, user_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_API_TOKENS, user_id)


async def revoke_api_token(con: Con, token_id: int, user_id: int) -> int | None:
    return await con.fetchval(REVOKE_API_TOKEN, token_id, user_id)


async def revoke_api_tokens_of_user(con: Con, user_id: int) -> list[int]:
    """Revoke every live API token of the user; return their ids."""
    return [r["id"] for r in await con.fetch(REVOKE_API_TOKENS_OF_USER, user_id)]


async def fetch_actor_by_api_token(pool: asyncpg.Pool, token_hash: bytes) -> asyncpg.Record | None:
    """The token's user (token_id, id, name, email, is_admin), if the token is live."""
    return await batched(pool, _fetch_actors_by_api_tokens)(token_hash)


# --- emailed links ----------------------------------------------------------------------

# Requests in the window, per address and per email, and seconds until the oldest of each
# leaves the window (the database clock decides).
FETCH_LINK_THROTTLE = """
SELECT
    count(*) FILTER (WHERE email = lower($2)) AS email_requests,
    count(*) FILTER (WHERE address = $3) AS address_requests,
    ceil(extract(epoch FROM min(at) FILTER (WHERE email = lower($2))
        + make_interval(secs => $4) - now()))::int AS email_retry_after,
    ceil(extract(epoch FROM min(at) FILTER (WHERE address = $3)
        + make_interval(secs => $4) - now()))::int AS address_retry_after
FROM email_link_requests
WHERE purpose = $1
  AND (email = lower($2) OR address = $3)
  AND at > now() - make_interval(secs => $4)
"""

INSERT_LINK_REQUEST = """
INSERT INTO email_link_requests (purpose, email, address)
VALUES ($1, lower($2), $3)
"""

DELETE_OLD_LINK_REQUESTS = """
DELETE FROM email_link_requests
WHERE at < now() - make_interval(secs => $1)
"""

# Erased accounts keep their row but can never be signed in to again.
FETCH_USER_FOR_LINK = """
SELECT id, email, name, language
FROM users
WHERE lower(email) = lower($1) AND erased_at IS NULL
"""

DELETE_UNUSED_LINK_TOKENS = """
DELETE FROM email_tokens
WHERE user_id = $1 AND used_at IS NULL AND ($2::text IS NULL OR purpose = $2)
"""

INSERT_LINK_TOKEN = """
INSERT INTO email_tokens (user_id, purpose, token_hash, next_path, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
RETURNING expires_at
"""

VALID_LINK_TOKEN = """
FROM email_tokens t
JOIN users u ON u.id = t.user_id
WHERE t.token_hash = $1
  AND t.purpose = $2
  AND t.used_at IS NULL
  AND t.expires_at > now()
  AND t.created_at > u.password_changed_at
  AND u.erased_at IS NULL
"""

FETCH_VALID_LINK_TOKEN = f"""
SELECT t.id, t.user_id, t.next_path, t.expires_at, u.email, u.name, u.language
{VALID_LINK_TOKEN}
"""

# The row lock makes a link single-use under concurrency: a second UPDATE waits, then finds
# used_at set and matches nothing.
USE_LINK_TOKEN = f"""
UPDATE email_tokens
SET used_at = now()
WHERE id = (
    SELECT t.id
    {VALID_LINK_TOKEN}
    FOR UPDATE OF t
)
AND used_at IS NULL
RETURNING id, user_id, next_path
"""


async def fetch_link_throttle(
    con: Con, purpose: str, email: str, address: str, window_seconds: int
) -> asyncpg.Record:
    return await con.fetchrow(FETCH_LINK_THROTTLE, purpose, email, address, float(window_seconds))


async def insert_link_request(con: Con, purpose: str, email: str, address: str) -> None:
    await con.execute(INSERT_LINK_REQUEST, purpose, email, address)


async def delete_old_link_requests(con: Con, window_seconds: int) -> None:
    await con.execute(DELETE_OLD_LINK_REQUESTS, float(window_seconds))


async def fetch_user_for_link(con: Con, email: str) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_USER_FOR_LINK, email)


async def delete_unused_link_tokens(con: Con, user_id: int, purpose: str | None) -> None:
    await con.execute(DELETE_UNUSED_LINK_TOKENS, user_id, purpose)


async def insert_link_token(
    con: Con, user_id: int, purpose: str, token_hash: bytes, next_path: str, seconds: int
) -> datetime:
    return await con.fetchval(
        INSERT_LINK_TOKEN, user_id, purpose, token_hash, next_path, float(seconds)
    )


async def fetch_valid_link_token(
    con: Con, token_hash: bytes, purpose: str
) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_VALID_LINK_TOKEN, token_hash, purpose)


async def use_link_token(con: Con, token_hash: bytes, purpose: str) -> asyncpg.Record | None:
    return await con.fetchrow(USE_LINK_TOKEN, token_hash, purpose)


# Who may create conferences besides site administrators (issue #22).
LIST_CONFERENCE_CREATORS = """
SELECT id, name, email
FROM users
WHERE can_create_conferences
ORDER BY lower(name), id
"""

LIST_ADMIN_NAMES = """
SELECT name
FROM users
WHERE is_admin
ORDER BY lower(name), id
LIMIT 5
"""

SET_CAN_CREATE_CONFERENCES = """
UPDATE users
SET can_create_conferences = $2
WHERE lower(email) = lower($1)
RETURNING id, name, email
"""


async def list_conference_creators(con: Con) -> list[asyncpg.Record]:
    return await con.fetch(LIST_CONFERENCE_CREATORS)


async def list_admin_names(con: Con) -> list[str]:
    return [r["name"] for r in await con.fetch(LIST_ADMIN_NAMES)]


async def set_can_create_conferences(con: Con, email: str, allowed: bool) -> asyncpg.Record | None:
    return await con.fetchrow(SET_CAN_CREATE_CONFERENCES, email, allowed)
