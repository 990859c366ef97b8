"""SQL for email: the sender's claims on outbox rows, emailed-link tokens and their throttle.

A claim is identified by its `claimed_at`: every later update of a row names the claim it
belongs to, so a sender whose claim was taken over can never overwrite the new owner's work.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

# --- the outbox sender ------------------------------------------------------------------

# Claim the next due row, skipping rows another sender holds; committed on its own, before
# the SMTP conversation starts.
CLAIM_NEXT = """
UPDATE outbox
SET claimed_at = now(), data_started_at = NULL, attempts = attempts + 1
WHERE id = (
    SELECT id
    FROM outbox
    WHERE sent_at IS NULL
      AND failed_at IS NULL
      AND claimed_at IS NULL
      AND send_after <= now()
    ORDER BY send_after, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, kind, to_address, to_name, subject, body_text, body_html, created_at, attempts,
          claimed_at
"""

MARK_DATA_STARTED = """
UPDATE outbox
SET data_started_at = now()
WHERE id = $1 AND claimed_at = $2 AND sent_at IS NULL AND failed_at IS NULL
RETURNING id
"""

# A claim recovered as failed may still have been delivered by a sender that was only slow:
# the truth wins.
MARK_SENT = """
UPDATE outbox
SET sent_at = now(), failed_at = NULL, last_error = NULL
WHERE id = $1 AND claimed_at = $2 AND sent_at IS NULL
"""

MARK_RETRY = """
UPDATE outbox
SET claimed_at = NULL, data_started_at = NULL,
    send_after = now() + make_interval(secs => $3), last_error = $4
WHERE id = $1 AND claimed_at = $2 AND sent_at IS NULL AND failed_at IS NULL
"""

MARK_FAILED = """
UPDATE outbox
SET failed_at = now(), last_error = $3
WHERE id = $1 AND claimed_at = $2 AND sent_at IS NULL AND failed_at IS NULL
"""

# Claims older than $1 seconds belong to a sender that stopped mid-send. Before DATA the
# mail server provably has nothing, so the row is released to be sent again (or failed when
# out of attempts); after DATA began it may have been delivered, so it is never resent.
RECOVER_STALE_CLAIMS = """
UPDATE outbox
SET claimed_at = CASE WHEN data_started_at IS NULL AND attempts < $2 THEN NULL
                      ELSE claimed_at END,
    failed_at = CASE WHEN data_started_at IS NULL AND attempts < $2 THEN NULL ELSE now() END,
    last_error = CASE
        WHEN data_started_at IS NOT NULL THEN $3
        WHEN attempts < $2 THEN $4
        ELSE $5
    END
WHERE sent_at IS NULL
  AND failed_at IS NULL
  AND claimed_at < now() - make_interval(secs => $1)
RETURNING id, data_started_at IS NOT NULL AS reached_data, failed_at IS NOT NULL AS failed
"""

SECONDS_UNTIL_NEXT_DUE = """
SELECT extract(epoch FROM min(send_after) - now())::float8
FROM outbox
WHERE sent_at IS NULL AND failed_at IS NULL AND claimed_at IS NULL
"""

LIST_RECENT = """
SELECT id, kind, to_address, to_name, subject, body_text, created_at, send_after, attempts,
       last_error, claimed_at, sent_at, failed_at
FROM outbox
ORDER BY created_at DESC, id DESC
LIMIT $1
"""


async def claim_next(con: Con) -> asyncpg.Record | None:
    return await con.fetchrow(CLAIM_NEXT)


async def mark_data_started(con: Con, outbox_id: int, claim: datetime) -> bool:
    return await con.fetchval(MARK_DATA_STARTED, outbox_id, claim) is not None


async def mark_sent(con: Con, outbox_id: int, claim: datetime) -> None:
    await con.execute(MARK_SENT, outbox_id, claim)


async def mark_retry(
    con: Con, outbox_id: int, claim: datetime, delay_seconds: float, error: str
) -> None:
    await con.execute(MARK_RETRY, outbox_id, claim, float(delay_seconds), error)


async def mark_failed(con: Con, outbox_id: int, claim: datetime, error: str) -> None:
    await con.execute(MARK_FAILED, outbox_id, claim, error)


async def recover_stale_claims(
    con: Con,
    stale_seconds: float,
    max_attempts: int,
    *,
    after_data: str,
    before_data: str,
    out_of_attempts: str,
) -> list[asyncpg.Record]:
    return await con.fetch(
        RECOVER_STALE_CLAIMS,
        float(stale_seconds),
        max_attempts,
        after_data,
        before_data,
        out_of_attempts,
    )


async def seconds_until_next_due(con: Con) -> float | None:
    return await con.fetchval(SECONDS_UNTIL_NEXT_DUE)


async def list_recent(con: Con, limit: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_RECENT, limit)


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
SELECT id, email, name
FROM users
WHERE lower(email) = lower($1) AND erased_at IS NULL
"""

DELETE_UNUSED_TOKENS = """
DELETE FROM email_tokens
WHERE user_id = $1 AND used_at IS NULL AND ($2::text IS NULL OR purpose = $2)
"""

INSERT_TOKEN = """
INSERT INTO email_tokens (user_id, purpose, token_hash, next_path, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
RETURNING expires_at
"""

VALID_TOKEN = """
FROM email_tokens t
JOIN users u ON u.id = t.user_id
WHERE t.token_hash = $1
  AND t.purpose = $2
  AND t.used_at IS NULL
  AND t.expires_at > now()
  AND t.created_at > u.password_changed_at
  AND u.erased_at IS NULL
"""

FETCH_VALID_TOKEN = f"""
SELECT t.id, t.user_id, t.next_path, t.expires_at, u.email, u.name
{VALID_TOKEN}
"""

# The row lock makes a link single-use under concurrency: a second UPDATE waits, then finds
# used_at set and matches nothing.
USE_TOKEN = f"""
UPDATE email_tokens
SET used_at = now()
WHERE id = (
    SELECT t.id
    {VALID_TOKEN}
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


async def delete_unused_tokens(con: Con, user_id: int, purpose: str | None) -> None:
    await con.execute(DELETE_UNUSED_TOKENS, user_id, purpose)


async def insert_token(
    con: Con, user_id: int, purpose: str, token_hash: bytes, next_path: str, seconds: int
) -> datetime:
    return await con.fetchval(INSERT_TOKEN, user_id, purpose, token_hash, next_path, float(seconds))


async def fetch_valid_token(con: Con, token_hash: bytes, purpose: str) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_VALID_TOKEN, token_hash, purpose)


async def use_token(con: Con, token_hash: bytes, purpose: str) -> asyncpg.Record | None:
    return await con.fetchrow(USE_TOKEN, token_hash, purpose)
