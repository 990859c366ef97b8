"""Queue an email inside the caller's transaction.

    async with pool.acquire() as con, con.transaction():
        ...  # the change that causes the email
        await outbox.enqueue(con, kind="invitation", to=email, subject=..., text=...)

The email exists if and only if the change committed; the sender delivers it afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email: text content (an iCalendar file), stored as it is."""

    filename: str
    content_type: str  # "text/calendar; method=PUBLISH"
    text: str

    def as_json(self) -> dict[str, str]:
        return {"filename": self.filename, "content_type": self.content_type, "text": self.text}


ENQUEUE = """
INSERT INTO outbox (kind, dedupe_key, user_id, to_address, to_name, subject, body_text, body_html,
                    attachments)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""


async def enqueue(
    con: asyncpg.Connection,
    *,
    kind: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    to_name: str = "",
    user_id: int | None = None,
    dedupe_key: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> int | None:
    """Add an email to the outbox; return its id, or None if `dedupe_key` was already queued."""
    files = [a.as_json() for a in attachments]
    return await con.fetchval(
        ENQUEUE, kind, dedupe_key, user_id, to, to_name, subject[:300], text, html, files
    )
