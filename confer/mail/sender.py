"""The outbox sender (stub: filled in by the email work)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web


async def sender_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the background sender for the app's lifetime."""
    yield
