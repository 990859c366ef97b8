"""Sockets that outlive their rights: the one place services end or narrow them.

A socket is authorised when it joins a room and re-checked on every action (confer.live.server),
but a room keeps sending to whoever is in it. So when rights end or shrink, the service that
changed them calls one of these after its transaction commits:

- `user`: every socket of the account is closed (sign-out, a password change or reset, removal
  from a conference, leaving it, erasure);
- `tokens`: the sockets opened with these API tokens are closed (revocation);
- `member`: the account's sockets leave every room of the conference they may no longer be in
  (a change of role: a demoted facilitator leaves the moderation rooms);
- `conference`: every socket in the conference's rooms is checked again (it became members-only,
  or was unpublished: anonymous readers leave its rooms).

With REDIS_URL the order travels on socket.io's own Redis channel, so every process applies it
before any event published after it (confer.live.fanout.FastRedisManager.evict). Each is a
no-op until a socket server is attached to the hub.
"""

from __future__ import annotations

from collections.abc import Iterable

from confer.context import Ctx
from confer.live.events import Event


async def user(ctx: Ctx, user_id: int, *, last_words: Iterable[Event] = ()) -> None:
    """Close every socket of the account, on every process. `last_words` (the notice of a
    removal) are published first, so that they reach the account's sockets before they
    close: events to one socket keep their order, and the eviction travels after them."""
    await ctx.hub.publish(last_words)
    await ctx.hub.evict({"user": user_id})


async def tokens(ctx: Ctx, token_ids: Iterable[int]) -> None:
    """Close the sockets opened with these API tokens, on every process."""
    ids = sorted(set(token_ids))
    if ids:
        await ctx.hub.evict({"tokens": ids})


async def member(ctx: Ctx, user_id: int, conference_id: int) -> None:
    """The account's sockets leave the conference's rooms they may no longer be in."""
    await ctx.hub.evict({"member": user_id, "conference": conference_id})


async def conference(ctx: Ctx, conference_id: int) -> None:
    """Every socket in the conference's rooms is checked again, and leaves those it may no
    longer be in."""
    await ctx.hub.evict({"conference": conference_id})
