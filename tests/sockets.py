"""Sockets for tests: a python-socketio client in one room that records the post and thread
events reaching it, and the sign-in cookie of a test browser (to open a signed-in socket)."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio


class Listener:
    """A socket recording, in order, the events named in NAMES that reach it."""

    NAMES: tuple[str, ...] = ("post:new", "post:updated", "post:removed", "thread:new")

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.arrived = asyncio.Event()
        for name in self.NAMES:
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str):
        async def record(*data: Any) -> None:  # some events (disconnect) carry nothing
            self.events.append((name, data[0] if data else None))
            self.arrived.set()

        return record

    async def until(self, name: str, test: Any = lambda data: True) -> Any:
        """The first `name` event whose data passes `test` (events to one socket keep their
        order, so everything sent before it has arrived too)."""

        async def wait() -> Any:
            while True:
                for n, data in self.events:
                    if n == name and test(data):
                        return data
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(wait(), 10)

    def names(self, name: str) -> list[Any]:
        return [data for n, data in self.events if n == name]


def session_cookie(browser: Any) -> str:
    """The sign-in cookie of a tests.conftest.Browser."""
    return next(c.value for c in browser.session.cookie_jar if c.key == "confer_session")
