"""Rate limits: how often one member, and one network address, may do costly things.

Each route declares the limit it counts against beside itself (confer.routing: `limit=`),
collected per application in `limits_key`; the socket.io server calls
`Limiter.check` for its own actions with the same names, so HTTP forms, the JSON API and
sockets share one budget. Each limit is kept as one number per key (the generic cell rate
algorithm): in the process's memory with one process, and in Redis when REDIS_URL is set, so
that every process spends from one budget (a Lua script reads and updates a request's keys
atomically, on Redis's clock). They are configured with RATE_LIMITS, for example

    RATE_LIMITS="post=20/60,post@address=300/60,search=off"

where `name=COUNT/SECONDS` sets the per-member limit, `name@address=...` the per-address one,
and `off` (alone: `RATE_LIMITS=off`) turns a limit, or all of them, off. The per-address limits
are loose because a council puts hundreds of staff behind one address.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from confer.errors import TooManyRequests
from confer.i18n import ngettext
from confer.keys import actor_key, limiter_key
from confer.web import client_address


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: float

    @property
    def interval(self) -> float:
        return self.seconds / self.count


# name -> (per member, per address); None means no limit of that kind.
DEFAULTS: dict[str, tuple[Limit | None, Limit | None]] = {
    # Posts, new threads, questions and answers.
    "post": (Limit(20, 60), Limit(300, 60)),
    "register": (None, Limit(30, 3600)),
    # Attempts; failed sign-ins are also counted per account (confer.accounts).
    "sign_in": (None, Limit(100, 900)),
    "password_reset": (None, Limit(20, 3600)),
    "invite": (Limit(60, 3600), Limit(120, 3600)),
    "search": (Limit(60, 60), Limit(600, 60)),
    "export": (Limit(20, 3600), Limit(60, 3600)),
    # Editing a post (each edit is rendered, stored and broadcast like a post).
    "edit": (Limit(20, 60), Limit(300, 60)),
    # Votes for panel questions, and withdrawing them.
    "vote": (Limit(60, 60), Limit(600, 60)),
}

# Each message is a whole sentence for each unit, with its plural forms (Welsh has six):
# name -> (in seconds, in minutes), each taking the number.
MESSAGES: dict[str, tuple[Callable[[int], str], Callable[[int], str]]] = {
    "post": (
        lambda n: (
            ngettext(
                "You are posting very quickly. Wait %(num)d second before posting "
                "again; your text has been kept.",
                "You are posting very quickly. Wait %(num)d seconds before posting "
                "again; your text has been kept.",
                n,
            )
            % {"num": n}
        ),
        lambda n: (
            ngettext(
                "You are posting very quickly. Wait %(num)d minute before posting "
                "again; your text has been kept.",
                "You are posting very quickly. Wait %(num)d minutes before posting "
                "again; your text has been kept.",
                n,
            )
            % {"num": n}
        ),
    ),
    "register": (
        lambda n: (
            ngettext(
                "Too many registrations from your network. Try again in %(num)d second.",
                "Too many registrations from your network. Try again in %(num)d seconds.",
                n,
            )
            % {"num": n}
        ),
        lambda n: (
            ngettext(
                "Too many registrations from your network. Try again in %(num)d minute.",
                "Too many registrations from your network. Try again in %(num)d minutes.",
                n,
            )
            % {"num": n}
        ),
    ),
    "sign_in": (
        lambda n: (
            ngettext(
                "Too many attempts to sign in from your network. Try again in %(num)d second.",
                "Too many attempts to sign in from your network. Try again in %(num)d seconds.",
                n,
            )
            % {"num": n}
        ),
        lambda n: (
            ngettext(
                "Too many attempts to sign in from your network. Try again in %(num)d minute.",
                "Too many attempts to sign in from your network. Try again in %(num)d minutes.",
                n,
            )
            % {"num": n}
        ),
    ),
    "password_reset": (
        lambda n: (
            ngettext(
                "Too many attempts to set a new password from your network. Try again "
                "in %(num)d second.",
                "Too many attempts to set a new password from your network. Try again "
                "in %(num)d seconds.",
                n,
            )
            % {"num": n}
        ),
        lambda n: (
            ngettext(
                "Too many attempts to set a new password from your network. Try again "
                "in %(num)d minute.",
                "Too many attempts to set a new password from your network. Try again "
                "in %(num)d minutes.",
                n,
            )
            % {"num": n}
        ),
    ),
    "invite": (
        lambda n: (
            ngettext(
                "You have sent a lot of invitations. Try again in %(num)d second.",
                "You have sent a lot of invitations. Try again in %(num)d seconds.",
                n,
            )
            % {"num": n}
        ),
        lambda n: (
            ngettext(
                "You have sent a lot of invitations. Try again in %(num)d minute.",
                "You have sent a lot of invitations. Try again in %(num)d minutes.",
                n,
            )
            % {"num": n}
        ),
    ),
    "search": (
        lambda n: (
            ngettext(
                "You are searching very quickly. Try again in %(num)d second.",
                "You are searching very quickly. Try again in %(num)d seconds.",
                n,
            )
            % {"num": n}
        ),
        lambda n: (
            ngettext(
                "You are searching very quickly. Try again in %(num)d minute.",
                "You are searching very quickly. Try again in %(num)d minutes.",
                n,
            )
            % {"num": n}
        ),
    ),
    "export": (
        lambda n: (
            ngettext(
                "You have downloaded a lot of exports. Try again in %(num)d second.",
                "You have downloaded a lot of exports. Try again in %(num)d seconds.",
                n,
            )
            % {"num": n}
        ),
        lambda n: (
            ngettext(
                "You have downloaded a lot of exports. Try again in %(num)d minute.",
                "You have downloaded a lot of exports. Try again in %(num)d minutes.",
                n,
            )
            % {"num": n}
        ),
    ),
    "edit": (
        lambda n: (
            ngettext(
                "You are editing very quickly. Wait %(num)d second before editing "
                "again; your text has been kept.",
                "You are editing very quickly. Wait %(num)d seconds before editing "
                "again; your text has been kept.",
                n,
            )
            % {"num": n}
        ),
        lambda n: (
            ngettext(
                "You are editing very quickly. Wait %(num)d minute before editing "
                "again; your text has been kept.",
                "You are editing very quickly. Wait %(num)d minutes before editing "
                "again; your text has been kept.",
                n,
            )
            % {"num": n}
        ),
    ),
    "vote": (
        lambda n: (
            ngettext(
                "You are voting very quickly. Try again in %(num)d second.",
                "You are voting very quickly. Try again in %(num)d seconds.",
                n,
            )
            % {"num": n}
        ),
        lambda n: (
            ngettext(
                "You are voting very quickly. Try again in %(num)d minute.",
                "You are voting very quickly. Try again in %(num)d minutes.",
                n,
            )
            % {"num": n}
        ),
    ),
}


def parse(spec: str | None) -> dict[str, tuple[Limit | None, Limit | None]]:
    """DEFAULTS changed by a RATE_LIMITS string; ValueError names the bad part."""
    limits = dict(DEFAULTS)
    spec = (spec or "").strip()
    if not spec:
        return limits
    if spec == "off":
        return {name: (None, None) for name in limits}
    for part in spec.split(","):
        key, sep, value = part.strip().partition("=")
        name, _, scope = key.strip().partition("@")
        if not sep or name not in limits or scope not in ("", "address"):
            raise ValueError(f"RATE_LIMITS: cannot read {part.strip()!r}")
        limit: Limit | None = None
        if value.strip() != "off":
            count, slash, seconds = value.strip().partition("/")
            try:
                limit = Limit(int(count), float(seconds))
            except ValueError:
                raise ValueError(f"RATE_LIMITS: {part.strip()!r} is not COUNT/SECONDS") from None
            if not slash or limit.count < 1 or limit.seconds <= 0:
                raise ValueError(f"RATE_LIMITS: {part.strip()!r} is not COUNT/SECONDS")
        member, address = limits[name]
        limits[name] = (member, limit) if scope else (limit, address)
    return limits


def message(name: str, seconds: int) -> str:
    """The limit's message in the current language, with the wait in seconds under a minute
    and in whole minutes (rounded up) from there."""
    in_seconds, in_minutes = MESSAGES[name]
    if seconds < 60:
        return in_seconds(seconds)
    return in_minutes(-(-seconds // 60))


class Store(Protocol):
    async def take(self, keys: list[tuple[str, Limit]]) -> float:
        """Spend one unit from every key, or from none; 0 if allowed, else the seconds until
        all of them would allow it."""


class MemoryStore:
    """One process's budgets: key -> theoretical arrival time (GCRA)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tat: dict[str, float] = {}
        self._sweep_at = clock() + 60

    async def take(self, keys: list[tuple[str, Limit]]) -> float:
        now = self.clock()
        if now > self._sweep_at:
            self._sweep(now)
        wait = 0.0
        tats = []
        for key, limit in keys:
            tat = max(self._tat.get(key, now), now)
            # A burst of `count` is allowed. Differences first: with a count of 1 the interval
            # equals the period, and (now + p) - p need not be `now` in floating point.
            wait = max(wait, (tat - now) + (limit.interval - limit.seconds))
            tats.append(tat + limit.interval)
        if wait > 0:
            return wait
        for (key, _), tat in zip(keys, tats, strict=True):
            self._tat[key] = tat
        return 0.0

    def _sweep(self, now: float) -> None:
        """Forget keys whose budget is full again, so memory follows the active clients."""
        self._tat = {k: t for k, t in self._tat.items() if t > now}
        self._sweep_at = now + 60


# The same algorithm as MemoryStore.take, run inside Redis: atomic across processes, and on
# Redis's clock (TIME), so that machines whose clocks differ still share one budget.
# KEYS: the budgets; ARGV: each key's interval and period, in seconds.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  wait = math.max(wait, (tat - now) + (interval - period))
  tats[i] = tat + interval
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%.6f', tats[i]), 'PX',
             math.ceil((tats[i] - now) * 1000) + 1000)
end
return '0'
"""
REDIS_PREFIX = "confer:rate:"


class RedisStore:
    """Budgets shared by every process, in Redis (REDIS_URL)."""

    def __init__(self, client: Any) -> None:
        self._take = client.register_script(_TAKE)

    async def take(self, keys: list[tuple[str, Limit]]) -> float:
        args: list[float] = []
        for _, limit in keys:
            args += [limit.interval, limit.seconds]
        wait = await self._take(keys=[REDIS_PREFIX + key for key, _ in keys], args=args)
        return float(wait)


class Limiter:
    def __init__(
        self,
        limits: dict[str, tuple[Limit | None, Limit | None]],
        store: Store | None = None,
    ) -> None:
        self.limits = limits
        self.store: Store = store if store is not None else MemoryStore()

    async def check(self, name: str, *, user_id: int | None, address: str | None) -> None:
        """Count one `name` action; raise TooManyRequests (with Retry-After) past a limit.

        The member's budget and the address's are spent together or not at all."""
        member_limit, address_limit = self.limits.get(name, (None, None))
        keys: list[tuple[str, Limit]] = []
        if member_limit is not None and user_id is not None:
            keys.append((f"{name}:u:{user_id}", member_limit))
        if address_limit is not None and address:
            keys.append((f"{name}:a:{address}", address_limit))
        if not keys:
            return
        wait = await self.store.take(keys)
        if wait > 0:
            seconds = max(1, round(wait + 0.5))
            raise TooManyRequests(message(name, seconds), retry_after=seconds)


def route_limit(request: web.Request) -> str | None:
    """The limit the matched route declared (confer.routing), if any."""
    resource = request.match_info.route.resource
    if resource is None:
        return None
    from confer.keys import limits_key

    return request.app.get(limits_key, {}).get((request.method, resource.canonical))


@web.middleware
async def middleware(
    request: web.Request,
    handler: Callable[[web.Request], object],
) -> web.StreamResponse:
    name = route_limit(request)
    if name is not None:
        actor = request[actor_key]
        await request.app[limiter_key].check(
            name, user_id=actor.user_id, address=client_address(request)
        )
    return await handler(request)  # type: ignore[return-value,misc]
