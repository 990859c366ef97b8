"""The daily digest (stub: filled in by the notifications work)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web


async def digest_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the digest clock for the app's lifetime."""
    yield
