"""Routes (stub: filled in by the capability's work)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Add this capability's routes."""
