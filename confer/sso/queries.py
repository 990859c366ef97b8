"""SQL for sign-in with a provider: started sign-ins, linked identities, links waiting for
their account to prove itself, and conferences' join rules."""

from __future__ import annotations

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

INSERT_FLOW = """
INSERT INTO sso_flows (state_hash, browser_hash, provider, nonce, code_verifier, next_path,
                       link_user_id, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))
"""

DELETE_OLD_FLOWS = """
DELETE FROM sso_flows
WHERE expires_at < now() - interval '1 day'
"""

# Used once: the row goes whether or not the rest of the sign-in works.
TAKE_FLOW = """
DELETE FROM sso_flows
WHERE state_hash = $1
RETURNING browser_hash, provider, nonce, code_verifier, next_path, link_user_id,
          expires_at < now() AS expired
"""

FETCH_IDENTITY = """
SELECT i.id, i.user_id, u.erased_at
FROM sso_identities i
JOIN users u ON u.id = i.user_id
WHERE i.issuer = $1 AND i.subject = $2
"""

INSERT_IDENTITY = """
INSERT INTO sso_identities (user_id, provider, issuer, subject, email, tenant)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id
"""

TOUCH_IDENTITY = """
UPDATE sso_identities
SET last_used_at = now(), email = $2, tenant = $3
WHERE id = $1
"""

LIST_IDENTITIES = """
SELECT id, provider, email, created_at, last_used_at
FROM sso_identities
WHERE user_id = $1
ORDER BY created_at, id
"""

DELETE_IDENTITY = """
DELETE FROM sso_identities
WHERE id = $1 AND user_id = $2
RETURNING provider
"""

FETCH_USER_BY_EMAIL = """
SELECT id, email, name
FROM users
WHERE lower(email) = lower($1) AND erased_at IS NULL
"""

INSERT_PENDING_LINK = """
INSERT INTO sso_pending_links (token_hash, user_id, provider, issuer, subject, email, tenant,
                               next_path, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9))
"""

DELETE_OLD_PENDING_LINKS = """
DELETE FROM sso_pending_links
WHERE expires_at < now()
"""

FETCH_PENDING_LINK = """
SELECT p.user_id, p.provider, p.issuer, p.subject, p.email, p.tenant, p.next_path,
       u.email AS account_email, u.name AS account_name
FROM sso_pending_links p
JOIN users u ON u.id = p.user_id
WHERE p.token_hash = $1 AND p.expires_at > now()
"""

TAKE_PENDING_LINK = """
DELETE FROM sso_pending_links
WHERE token_hash = $1 AND expires_at > now()
RETURNING user_id, provider, issuer, subject, email, tenant, next_path
"""

FETCH_JOIN_RULES = """
SELECT sso_join_domains, sso_join_tenants
FROM conferences
WHERE id = $1
"""

UPDATE_JOIN_RULES = """
UPDATE conferences
SET sso_join_domains = $2, sso_join_tenants = $3
WHERE id = $1
"""

# Whether a provider vouches for the member under the conference's join rules: a linked
# identity whose verified email is at one of its domains, or whose tenant is one of its.
MEMBER_VOUCHED_FOR = """
SELECT EXISTS (
    SELECT 1
    FROM sso_identities i, conferences c
    WHERE c.id = $1
      AND i.user_id = $2
      AND (lower(split_part(i.email, '@', 2)) = ANY (c.sso_join_domains)
           OR (i.tenant <> '' AND i.tenant = ANY (c.sso_join_tenants)))
)
"""


async def insert_flow(
    con: Con,
    state_hash: bytes,
    browser_hash: bytes,
    provider: str,
    nonce: str,
    code_verifier: str,
    next_path: str,
    link_user_id: int | None,
    seconds: int,
) -> None:
    await con.execute(
        INSERT_FLOW, state_hash, browser_hash, provider, nonce, code_verifier, next_path,
        link_user_id, float(seconds),
    )  # fmt: skip


async def delete_old_flows(con: Con) -> None:
    await con.execute(DELETE_OLD_FLOWS)


async def take_flow(con: Con, state_hash: bytes) -> asyncpg.Record | None:
    return await con.fetchrow(TAKE_FLOW, state_hash)


async def fetch_identity(con: Con, issuer: str, subject: str) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_IDENTITY, issuer, subject)


async def insert_identity(
    con: Con, user_id: int, provider: str, issuer: str, subject: str, email: str, tenant: str
) -> int:
    return await con.fetchval(INSERT_IDENTITY, user_id, provider, issuer, subject, email, tenant)


async def touch_identity(con: Con, identity_id: int, email: str, tenant: str) -> None:
    await con.execute(TOUCH_IDENTITY, identity_id, email, tenant)


async def list_identities(con: Con, user_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_IDENTITIES, user_id)


async def delete_identity(con: Con, identity_id: int, user_id: int) -> str | None:
    return await con.fetchval(DELETE_IDENTITY, identity_id, user_id)


async def fetch_user_by_email(con: Con, email: str) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_USER_BY_EMAIL, email)


async def insert_pending_link(
    con: Con,
    token_hash: bytes,
    user_id: int,
    provider: str,
    issuer: str,
    subject: str,
    email: str,
    tenant: str,
    next_path: str,
    seconds: int,
) -> None:
    await con.execute(DELETE_OLD_PENDING_LINKS)
    await con.execute(
        INSERT_PENDING_LINK, token_hash, user_id, provider, issuer, subject, email, tenant,
        next_path, float(seconds),
    )  # fmt: skip


async def fetch_pending_link(con: Con, token_hash: bytes) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_PENDING_LINK, token_hash)


async def take_pending_link(con: Con, token_hash: bytes) -> asyncpg.Record | None:
    return await con.fetchrow(TAKE_PENDING_LINK, token_hash)


async def fetch_join_rules(con: Con, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_JOIN_RULES, conference_id)


async def update_join_rules(
    con: Con, conference_id: int, domains: list[str], tenants: list[str]
) -> None:
    await con.execute(UPDATE_JOIN_RULES, conference_id, domains, tenants)


async def member_vouched_for(con: Con, conference_id: int, user_id: int) -> bool:
    return bool(await con.fetchval(MEMBER_VOUCHED_FOR, conference_id, user_id))
