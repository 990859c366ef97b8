"""Conferences: creating and editing them, their programme, roles, and joining.

Every function checks permission through confer.policy; times come from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from confer import markup, places
from confer.accounts import queries as accounts_q
from confer.calendars import queries as calendars_q
from confer.calendars import service as calendars
from confer.conferences import queries as q
from confer.context import Ctx
from confer.errors import Forbidden, Invalid, NotFound
from confer.live import evict
from confer.live.events import conference_updated_event
from confer.places import Place
from confer.policy import Actor, Membership
from confer.registration import invitations
from confer.registration import service as registration
from confer.validate import Fields, parse_id

ROLES = ("organiser", "facilitator", "speaker", "participant", "observer")
KINDS = ("discussion", "panel", "keynote", "break")


async def list_visible(ctx: Ctx, actor: Actor) -> list[asyncpg.Record]:
    return await q.list_conferences(ctx.pool, actor.user_id, actor.is_admin)


# --- creating and editing ---------------------------------------------------------------


@dataclass(frozen=True)
class ConferenceInput:
    title: str
    summary_md: str
    code_of_conduct_md: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    visibility: str
    registration: str = "open"
    capacity: int | None = None


def _check_conference(
    f: Fields, data: dict[str, object], current: asyncpg.Record | None = None
) -> ConferenceInput:
    title = f.text("title", data.get("title"), label="Title", max_len=200)
    summary = f.text(
        "summary", data.get("summary"), label="Summary", required=False, max_len=20_000
    )
    coc = f.text(
        "code_of_conduct",
        data.get("code_of_conduct"),
        label="Code of conduct",
        required=False,
        max_len=20_000,
    )
    tz = f.timezone("timezone", data.get("timezone") or "Europe/London")
    starts = f.local_datetime("starts_at", data.get("starts_at"), tz, label="Start")
    ends = f.local_datetime("ends_at", data.get("ends_at"), tz, label="End")
    if starts and ends and ends <= starts:
        f.add("ends_at", "End must be after the start")
    visibility = f.choice(
        "visibility",
        data.get("visibility") or "public",
        ("public", "members"),
        label="Who can read it",
    )
    mode, capacity = registration.check_settings(f, data, current)
    return ConferenceInput(title, summary, coc, tz, starts, ends, visibility, mode, capacity)  # type: ignore[arg-type]


def _check_slug(f: Fields, value: object) -> str:
    slug = f.text("slug", value, label="Web address (slug)", max_len=63).lower()
    if slug and "slug" not in f.errors:
        import re

        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,62}", slug):
            f.add(
                "slug",
                "Use 2 to 63 lower-case letters, numbers and hyphens, like social-media-2026",
            )
    return slug


async def create_conference(ctx: Ctx, actor: Actor, data: dict[str, object]) -> str:
    """A site admin creates a draft conference and names its organisers (emails)."""
    if not actor.is_admin:
        raise Forbidden("Only site administrators can create conferences.")
    f = Fields()
    slug = _check_slug(f, data.get("slug"))
    c = _check_conference(f, data)
    organiser_emails = _emails(f, "organisers", data.get("organisers"))
    f.raise_if_any()
    organiser_ids = await _user_ids(ctx.pool, f, "organisers", organiser_emails)
    f.raise_if_any()
    summary_html = await markup.render(c.summary_md)
    coc_html = await markup.render(c.code_of_conduct_md)
    async with ctx.pool.acquire() as con, con.transaction():
        try:
            conference_id = await q.insert_conference(
                con,
                slug,
                c.title,
                c.summary_md,
                summary_html,
                c.code_of_conduct_md,
                coc_html,
                c.timezone,
                c.starts_at,
                c.ends_at,
                c.visibility,
                actor.user_id,
            )
        except asyncpg.UniqueViolationError:
            raise Invalid(fields={"slug": "That web address is taken: choose another"}) from None
        for user_id in organiser_ids or [actor.user_id]:
            await q.upsert_membership(con, conference_id, user_id, "organiser", "conference")
        await registration.change_settings(
            con, ctx.settings, conference_id, c.registration, c.capacity
        )
    return slug


def _emails(f: Fields, name: str, value: object) -> list[str]:
    raw = f.text(name, value, label="Email addresses", required=False, max_len=5000)
    emails = [e.strip() for e in raw.replace(";", ",").replace("\n", ",").split(",") if e.strip()]
    for e in emails:
        sub = Fields()
        sub.email(name, e)
        if sub.errors:
            f.add(name, f"{e} is not an email address")
    return emails


async def _user_ids(pool: asyncpg.Pool, f: Fields, name: str, emails: list[str]) -> list[int]:
    ids = []
    for email in emails:
        row = await accounts_q.fetch_user_by_email(pool, email)
        if row is None:
            f.add(name, f"There is no account for {email}: ask them to register first")
        else:
            ids.append(row["id"])
    return ids


async def update_conference(ctx: Ctx, actor: Actor, slug: str, data: dict[str, object]) -> None:
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    f = Fields()
    c = _check_conference(f, data, place.conference)
    f.raise_if_any()
    summary_html = await markup.render(c.summary_md)
    coc_html = await markup.render(c.code_of_conduct_md)
    async with ctx.pool.acquire() as con, con.transaction():
        await q.update_conference(
            con,
            place.id,
            c.title,
            c.summary_md,
            summary_html,
            c.code_of_conduct_md,
            coc_html,
            c.timezone,
            c.starts_at,
            c.ends_at,
            c.visibility,
        )
        promoted = await registration.change_settings(
            con, ctx.settings, place.id, c.registration, c.capacity
        )
    if c.visibility != place.conference["visibility"]:
        await evict.conference(ctx, place.id)  # members-only: readers without a place leave
    await ctx.hub.publish(
        [
            conference_updated_event(place.id),
            *registration.promotion_events(place.id, promoted),
        ]
    )


async def set_published(ctx: Ctx, actor: Actor, slug: str, published: bool) -> None:
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    await q.set_published(ctx.pool, place.id, published)
    if not published:
        await evict.conference(ctx, place.id)  # a draft again: only organisers stay
    await ctx.hub.publish([conference_updated_event(place.id)])


# --- the programme ----------------------------------------------------------------------


async def programme(ctx: Ctx, place: Place) -> list[asyncpg.Record]:
    return await q.list_sessions(ctx.pool, place.id)


async def speakers_by_session(ctx: Ctx, place: Place) -> dict[int, list[asyncpg.Record]]:
    out: dict[int, list[asyncpg.Record]] = {}
    for row in await q.list_speakers(ctx.pool, place.id):
        out.setdefault(row["session_id"], []).append(row)
    return out


async def save_session(
    ctx: Ctx, actor: Actor, slug: str, session_id: int | None, data: dict[str, object]
) -> int:
    """Add (session_id None) or edit a session of the programme."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    tz = place.tz
    f = Fields()
    kind = f.choice("kind", data.get("kind"), KINDS, label="Kind of session")
    title = f.text("title", data.get("title"), label="Title", max_len=200)
    description = f.text(
        "description", data.get("description"), label="Description", required=False, max_len=20_000
    )
    starts = f.local_datetime("starts_at", data.get("starts_at"), tz, label="Start")
    ends = f.local_datetime("ends_at", data.get("ends_at"), tz, label="End")
    window = f.choice(
        "posting_window",
        data.get("posting_window") or "session",
        ("session", "conference"),
        label="When threads take posts",
    )
    open_threads = f.boolean(data.get("participants_start_threads"))
    # Absent (the add form, the JSON API): left as it is; empty: removed.
    joining_url = calendars.check_joining_url(f, data.get("joining_url"))
    c = place.conference
    if starts and ends:
        if ends <= starts:
            f.add("ends_at", "End must be after the start")
        if starts < c["starts_at"] or ends > c["ends_at"]:
            f.add("starts_at", "The session must be inside the conference's dates")
    f.raise_if_any()
    html = await markup.render(description)
    args = (kind, title, description, html, starts, ends, window, open_threads)
    async with ctx.pool.acquire() as con, con.transaction():
        if session_id is None:
            session_id = await q.insert_session(con, place.id, *args)
        elif await q.update_session(con, session_id, place.id, *args) is None:
            raise NotFound()
        if "joining_url" in data:
            await calendars.save_joining_url(con, place, session_id, joining_url)
    await ctx.hub.publish([conference_updated_event(place.id)])
    assert session_id is not None
    return session_id


async def delete_session(ctx: Ctx, actor: Actor, slug: str, session_id: int) -> None:
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    async with ctx.pool.acquire() as con, con.transaction():
        # First, while its stars are there: calendars that imported it mark it cancelled
        # (same UID, SEQUENCE raised), "starred" feeds included.
        await calendars_q.insert_cancelled(con, session_id, place.id)
        if await q.delete_session(con, session_id, place.id) is None:
            raise NotFound()
    await ctx.hub.publish([conference_updated_event(place.id)])


# --- roles and joining ------------------------------------------------------------------


async def assign_role(ctx: Ctx, actor: Actor, slug: str, data: dict[str, object]) -> str:
    """An organiser gives a role, with a facilitator's or speaker's sessions.

    An active member of the conference has their role changed at once ("assigned"). Anyone
    else is sent an invitation carrying the role, which they accept ("invited"): giving a
    role never enrols an account without its holder's consent, and the answer is the same
    whether or not the address has an account."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    f = Fields()
    email = f.email("email", data.get("email"))
    role = f.choice("role", data.get("role"), ROLES, label="Role")
    raw_sessions = data.get("sessions") or []
    if isinstance(raw_sessions, str):
        raw_sessions = [raw_sessions]
    session_ids = [
        sid
        for s in raw_sessions  # type: ignore[union-attr]
        if (sid := parse_id(s)) is not None
    ]
    f.raise_if_any()
    async with ctx.pool.acquire() as con, con.transaction():
        user = await accounts_q.fetch_user_by_email(con, email)
        status = (
            await q.fetch_membership_status_for_update(con, place.id, user["id"])
            if user is not None
            else None
        )
        if status != "active":
            await invitations.invite_with_role(ctx, con, place, actor, email, role, session_ids)
            return "invited"
        assert user is not None
        facilitates = "sessions" if role == "facilitator" and session_ids else "conference"
        await q.upsert_membership(con, place.id, user["id"], role, facilitates)
        await q.apply_role_sessions(con, place.id, user["id"], role, session_ids)
    await evict.member(ctx, user["id"], place.id)  # a demoted facilitator leaves moderation
    return "assigned"


async def join(ctx: Ctx, actor: Actor, slug: str, accept_code_of_conduct: object) -> Membership:
    """Register for a conference, accepting its code of conduct: a place, the waitlist or a
    request to the organisers, by its registration mode (confer.registration.service)."""
    done = await registration.register(ctx, actor, slug, accept_code_of_conduct)
    member = await places.membership_of(ctx.pool, actor, done.conference_id)
    assert member is not None
    return member


async def members(ctx: Ctx, place: Place) -> list[asyncpg.Record]:
    place.require("conference.manage")
    return await q.list_members(ctx.pool, place.id)
