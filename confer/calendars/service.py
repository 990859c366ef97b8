"""Calendars: who may see a session's joining link, stars ("My programme"), the personal feed's
secret address, and the iCalendar files (built by confer.calendars.ics).

The joining link is decided here and only here (`may_see_joining_link`): the session page and
the personal feed both ask it. The feed's address is a secret: only its SHA-256 is stored (as
API tokens are), it is shown once, and replacing it cuts off the old one. The feed's route has a
`{token}` parameter, so confer.observe writes it as `[redacted]` in every log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from confer import i18n, places
from confer.accounts.service import hash_token, new_token
from confer.calendars import ics
from confer.calendars import queries as q
from confer.context import Ctx
from confer.errors import Invalid, NotFound, Unauthorized
from confer.i18n import _
from confer.moderation import queries as moderation_q
from confer.places import Place
from confer.policy import Actor, Membership
from confer.urls import url
from confer.validate import Fields

SCOPES = ("starred", "all")
JOINING_URL_MAX = 2000
TOKEN_PREFIX = "cal_"


# --- the joining link: who, and from when ----------------------------------------------


def may_see_joining_link(
    member: Membership | None,
    *,
    conference_id: int,
    starts_at: datetime,
    ends_at: datetime,
    reveal_minutes: int,
    now: datetime,
    in_feed: bool = False,
) -> bool:
    """Whether this member may see a session's joining link now.

    Only active members of the session's own conference (any role: observers watch too);
    never the anonymous, people waiting (waitlisted, pending) or members of another conference.
    Organisers see it at any time (they set it). Others see it on the page from
    `reveal_minutes` before the start until the end. In their private feed an active member has
    it whenever the feed is read: a calendar client refreshes on its own schedule (hours apart),
    so a link added at the reveal time would often arrive after the meeting began.
    """
    if member is None or not member.active or member.conference_id != conference_id:
        return False
    if member.role == "organiser" or in_feed:
        return True
    return starts_at - timedelta(minutes=reveal_minutes) <= now < ends_at


@dataclass(frozen=True)
class Joining:
    """The joining link block of a session page: the link, or when it will appear."""

    url: str | None
    reveal_at: datetime | None


async def joining_for_page(ctx: Ctx, place: Place, session: asyncpg.Record) -> Joining | None:
    """What the session page shows about its joining link to this actor (None: nothing)."""
    member = place.member
    if member is None or not member.active:
        return None  # no query: the link is not theirs whatever it is
    row = await q.fetch_joining(ctx.pool, session["id"], place.id)
    if row is None or not row["joining_url"]:
        return None
    now, reveal = row["now"], row["joining_reveal_minutes"]
    rule = {
        "conference_id": place.id,
        "starts_at": session["starts_at"],
        "ends_at": session["ends_at"],
        "reveal_minutes": reveal,
    }
    if may_see_joining_link(member, now=now, **rule):
        return Joining(row["joining_url"], None)
    if now < session["starts_at"] and may_see_joining_link(member, now=now, in_feed=True, **rule):
        return Joining(None, session["starts_at"] - timedelta(minutes=reveal))
    return None


def check_joining_url(f: Fields, value: object) -> str | None:
    """A joining link from the session form: https only, at most 2,000 characters; empty: none."""
    if value is None:
        return None
    if not isinstance(value, str):
        f.add("joining_url", _("Enter the joining link as a web address starting with https://"))
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > JOINING_URL_MAX:
        f.add(
            "joining_url",
            _("The joining link must be %(max)s characters or fewer") % {"max": "2,000"},
        )
    elif (
        not text.lower().startswith("https://")
        or len(text) <= len("https://")
        or any(c.isspace() or ord(c) < 32 for c in text)
    ):
        f.add(
            "joining_url",
            _("Enter the joining link as a web address starting with https://"),
        )
    return text


async def save_joining_url(
    con: asyncpg.Connection, place: Place, session_id: int, value: str | None
) -> None:
    """Set a session's joining link inside the caller's transaction (the session form's), and
    write a change to the moderation log: who and when, never the link itself (the log is read
    by facilitators and can go into a transcript's appendix)."""
    row = await q.fetch_joining_for_update(con, session_id, place.id)
    if row is None:
        raise NotFound()
    before = row["joining_url"]
    if before == value:
        return
    await q.update_joining_url(con, session_id, value)
    action = (
        "session.joining_link_added"
        if before is None
        else "session.joining_link_removed"
        if value is None
        else "session.joining_link_changed"
    )
    await moderation_q.insert_log(
        con, place.id, session_id, place.actor.user_id, action, "session", session_id
    )


async def fetch_joining_url(ctx: Ctx, place: Place, session_id: int) -> str | None:
    """The current link, for the organiser's session form."""
    place.require("conference.manage")
    row = await q.fetch_joining(ctx.pool, session_id, place.id)
    return row["joining_url"] if row else None


# --- stars: "My programme" -------------------------------------------------------------


async def star(ctx: Ctx, actor: Actor, slug: str, session_id: int, starred: bool) -> Place:
    """Add a session to the member's programme, or take it off."""
    place = await places.load(ctx.pool, actor, slug)
    if actor.user_id is None:
        raise Unauthorized(_("Sign in to add sessions to your programme."))
    await places.fetch_session(ctx.pool, place, session_id)
    if starred:
        await q.insert_star(ctx.pool, actor.user_id, session_id)
    else:
        await q.delete_star(ctx.pool, actor.user_id, session_id)
    return place


async def star_ids(ctx: Ctx, place: Place) -> set[int]:
    if place.actor.user_id is None:
        return set()
    return await q.list_star_ids(ctx.pool, place.actor.user_id, place.id)


def _require_user(actor: Actor) -> int:
    if actor.user_id is None:
        raise Unauthorized(_("Sign in to see your programme."))
    return actor.user_id


async def my_programme(ctx: Ctx, actor: Actor) -> dict[str, Any]:
    user_id = _require_user(actor)
    feed = await q.fetch_feed(ctx.pool, user_id)
    return {
        "sessions": await q.list_starred(ctx.pool, user_id),
        "timezone": feed["timezone"] if feed else None,
    }


async def set_my_timezone(ctx: Ctx, actor: Actor, data: dict[str, Any]) -> None:
    """The member's own zone, shown beside the conference's on "My programme"; empty: none."""
    user_id = _require_user(actor)
    raw = data.get("timezone")
    text = raw.strip() if isinstance(raw, str) else ""
    if text:
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise Invalid(
                fields={"timezone": _("Enter a time zone like Europe/London or America/New_York")}
            ) from None
        if len(text) > 64:
            raise Invalid(
                fields={"timezone": _("Enter a time zone like Europe/London or America/New_York")}
            )
    await q.set_timezone(ctx.pool, user_id, text or None)


# --- the personal feed's secret address ------------------------------------------------


async def feed_settings(ctx: Ctx, actor: Actor) -> dict[str, Any]:
    user_id = _require_user(actor)
    feed = await q.fetch_feed(ctx.pool, user_id)
    active = feed is not None and feed["token_hash"] is not None
    return {"active": active, "scope": feed["scope"] if feed else "starred"}


def _scope(data: dict[str, Any]) -> str:
    scope = data.get("scope") or "starred"
    if scope not in SCOPES:
        raise Invalid(fields={"scope": _("Select which sessions your feed holds")})
    return str(scope)


async def new_feed_address(ctx: Ctx, actor: Actor, data: dict[str, Any]) -> str:
    """Make (or replace) the member's feed address; the old one stops working at once.
    Returns the new address, which is shown once and never stored."""
    user_id = _require_user(actor)
    scope = _scope(data)
    token = new_token(TOKEN_PREFIX)
    await q.upsert_feed_token(ctx.pool, user_id, hash_token(token), scope)
    return feed_address(ctx, token)


def feed_address(ctx: Ctx, token: str) -> str:
    return ctx.settings.base_url.rstrip("/") + url("calendar_feed", token=token)


async def set_feed_scope(ctx: Ctx, actor: Actor, data: dict[str, Any]) -> None:
    user_id = _require_user(actor)
    if not await q.set_feed_scope(ctx.pool, user_id, _scope(data)):
        raise NotFound()


async def revoke_feed(ctx: Ctx, actor: Actor) -> None:
    await q.revoke_feed(ctx.pool, _require_user(actor))


# --- the iCalendar files ----------------------------------------------------------------


def _event(ctx: Ctx, row: asyncpg.Record, joining_url: str | None = None) -> ics.SessionEvent:
    return _event_at(ctx.settings.base_url, row, joining_url)


def _event_at(
    base_url: str, row: asyncpg.Record, joining_url: str | None = None
) -> ics.SessionEvent:
    page = url("session", slug=row["slug"], session_id=row["id"])
    return ics.SessionEvent(
        session_id=row["id"],
        title=row["title"],
        description=row["description_md"] or "",
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        timezone=row["timezone"],
        sequence=row["sequence"],
        url=base_url.rstrip("/") + page,
        conference_title=row["conference_title"],
        cancelled=row["cancelled"],
        joining_url=joining_url,
    )


async def programme_ics(ctx: Ctx, actor: Actor, slug: str, session_id: int | None = None) -> bytes:
    """The programme (or one session) of a conference the actor may see, as iCalendar: what
    its programme page shows, so never a joining link."""
    place = await places.load(ctx.pool, actor, slug)
    if session_id is not None:
        await places.fetch_session(ctx.pool, place, session_id)
    rows = await q.list_conference_events(ctx.pool, place.id, session_id)
    return ics.calendar(
        [_event(ctx, r) for r in rows],
        name=place.conference["title"],
        base_url=ctx.settings.base_url,
    )


async def conference_ics(
    con: asyncpg.Connection | asyncpg.Pool, conference_id: int, title: str, base_url: str
) -> str:
    """The programme attached to invitations and registration emails: what the programme page
    shows (never a joining link), with the same UIDs as every other file, so that an imported
    copy updates in place from the feed."""
    rows = await q.list_conference_events(con, conference_id, None)
    events = [_event_at(base_url, r) for r in rows]
    return ics.calendar(events, name=title, base_url=base_url).decode()


async def feed_ics(ctx: Ctx, token: str) -> bytes:
    """The personal feed at a secret address (404 for an unknown or replaced one), in the
    member's language: the sessions they starred (or every session of their conferences),
    with the joining link where `may_see_joining_link` says they may have it."""
    feed = await q.fetch_feed_by_hash(ctx.pool, hash_token(token))
    if feed is None:
        raise NotFound()
    user_id = feed["user_id"]
    events = []
    for r in await q.list_feed_events(ctx.pool, user_id, feed["scope"]):
        member = (
            Membership(r["conference_id"], user_id, r["member_role"], r["member_status"])
            if r["member_status"] is not None
            else None
        )
        link = r["joining_url"]
        shown = link and may_see_joining_link(
            member,
            conference_id=r["conference_id"],
            starts_at=r["starts_at"],
            ends_at=r["ends_at"],
            reveal_minutes=r["joining_reveal_minutes"],
            now=r["starts_at"],
            in_feed=True,
        )
        events.append(_event(ctx, r, link if shown else None))
    with i18n.using(feed["language"]):
        name = _("My programme (Confer)")
        return ics.calendar(events, name=name, base_url=ctx.settings.base_url)
