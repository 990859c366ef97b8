"""Publishing a conference, or taking it back to a draft: the one path for the console's
button, the JSON API and the invitations page's "Publish the conference and send"
(confer.registration.invitations, which confer.conferences.service itself imports)."""

from __future__ import annotations

from confer import places
from confer.conferences import queries as q
from confer.context import Ctx
from confer.live import evict
from confer.live.events import conference_updated_event
from confer.policy import Actor


async def set_published(ctx: Ctx, actor: Actor, slug: str, published: bool) -> None:
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    await q.set_published(ctx.pool, place.id, published)
    if not published:
        await evict.conference(ctx, place.id)  # a draft again: only organisers stay
    await ctx.hub.publish([conference_updated_event(place.id)])
