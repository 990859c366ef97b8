"""SQL for email: the sender's claims on outbox rows, and the development outbox's list.

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
          claimed_at, attachments
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
