"""The hub: the only way services reach live rooms.

Services call `publish()` after their transaction has committed, never inside it.
Until a socket server is attached (confer.live.server), publishing is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from confer.live.events import Event

log = logging.getLogger(__name__)

Emitter = Callable[[Event], Awaitable[None]]


class Hub:
    def __init__(self) -> None:
        self._emitters: list[Emitter] = []
        self._disconnectors: list[Callable[[int], Awaitable[None]]] = []
        self._evictors: list[Callable[[dict[str, Any]], Awaitable[None]]] = []

    def attach(
        self,
        emitter: Emitter,
        disconnector: Callable[[int], Awaitable[None]],
        evictor: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> None:
        self._emitters.append(emitter)
        self._disconnectors.append(disconnector)
        if evictor is not None:
            self._evictors.append(evictor)

    async def publish(self, events: Iterable[Event]) -> None:
        for event in events:
            for emit in self._emitters:
                try:
                    await emit(event)
                except Exception:  # a failed broadcast must not fail a committed write
                    log.exception("could not publish %s to %s", event.name, event.room)

    async def evict(self, order: dict[str, Any]) -> None:
        """End or narrow live connections whose rights changed (see confer.live.evict, the
        only caller): after the commit, like publish()."""
        for hook in self._evictors:
            try:
                await hook(order)
            except Exception:
                log.exception("could not evict %r", order)

    async def disconnect_user(self, user_id: int) -> None:
        """Close every live connection of a user (sign-out, password change, removal)."""
        for hook in self._disconnectors:
            try:
                await hook(user_id)
            except Exception:
                log.exception("could not disconnect user %s", user_id)
