"""Who is here now: counts per room, across every process when REDIS_URL is set.

Each process knows its own sockets. With Redis, each process also writes its count for a room
into the hash `confer:presence:<room>` (field: the process's id; value: "count deadline"), and a
room's total is the sum of the fields whose deadline has not passed. A process refreshes its
fields every REFRESH seconds, so a process that dies stops counting within TTL seconds, and
removes them when it stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from confer import tasks

log = logging.getLogger(__name__)

PREFIX = "confer:presence:"
TTL = 30.0  # seconds a process's count is believed without a refresh
REFRESH = 10.0


class Presence:
    def __init__(self, redis_url: str | None = None) -> None:
        self.local: dict[str, set[str]] = {}  # room -> sids on this process
        self.redis_url = redis_url
        self.process = uuid.uuid4().hex
        self._client: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.redis_url:
            import redis.asyncio as aioredis

            self._client = aioredis.from_url(self.redis_url)
            self._task = asyncio.create_task(self._refresh_forever())

    async def stop(self) -> None:
        if self._task is not None:
            await tasks.cancel(self._task)
        if self._client is not None:
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for room in self.local:
                        pipe.hdel(PREFIX + room, self.process)
                    await pipe.execute()
            except Exception:
                log.debug("could not clear presence", exc_info=True)
            await self._client.aclose()

    def add(self, room: str, sid: str) -> bool:
        """Count `sid` in `room`; False if it was already counted."""
        members = self.local.setdefault(room, set())
        if sid in members:
            return False
        members.add(sid)
        return True

    def discard(self, room: str, sid: str) -> None:
        members = self.local.get(room)
        if members is None:
            return
        members.discard(sid)
        if not members:
            del self.local[room]

    async def count(self, room: str) -> int:
        """The room's total: this process's sockets, plus the other processes' with Redis."""
        mine = len(self.local.get(room, ()))
        if self._client is None:
            return mine
        try:
            key = PREFIX + room
            now = time.time()
            async with self._client.pipeline(transaction=False) as pipe:
                if mine:
                    pipe.hset(key, self.process, f"{mine} {now + TTL}")
                else:
                    pipe.hdel(key, self.process)
                pipe.expire(key, int(TTL * 2))
                pipe.hgetall(key)
                *_, fields = await pipe.execute()
        except Exception:
            log.warning("presence: Redis unavailable; counting this process only", exc_info=True)
            return mine
        total = mine
        for process, value in fields.items():
            if process.decode() == self.process:
                continue
            count, _, deadline = value.decode().partition(" ")
            if float(deadline) > now:
                total += int(count)
        return total

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH)
            try:
                deadline = time.time() + TTL
                async with self._client.pipeline(transaction=False) as pipe:
                    for room, members in list(self.local.items()):
                        pipe.hset(PREFIX + room, self.process, f"{len(members)} {deadline}")
                        pipe.expire(PREFIX + room, int(TTL * 2))
                    await pipe.execute()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("presence: could not refresh counts in Redis", exc_info=True)
