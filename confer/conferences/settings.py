"""The organiser's console: the settings that have no place in a conference's details form.

Each function takes the context, the actor, the conference's slug (and a session's id where
the setting is a session's) and a dict of values, as a form or the JSON API gives them; checks
`conference.manage` through confer.policy (places.load); validates every field (Invalid names
the bad ones); writes in one transaction; and returns the saved state, so that the console's
pages and the organiser API call the same functions. A field that is absent is left as it is;
a form's unticked checkbox is sent as "" by its page (confer.conferences.console).

Moderation settings (the reports that hide a post, pre-moderation of first posts, a panel's
question settings) are written to the moderation log in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from confer import places, timefmt
from confer.conferences import queries as q
from confer.context import Ctx
from confer.errors import NotFound
from confer.i18n import N_, _
from confer.live.events import conference_updated_event
from confer.moderation import queries as moderation_q
from confer.policy import Actor
from confer.registration import service as registration
from confer.sso import service as sso
from confer.validate import Fields

FLAG_THRESHOLD = (1, 100)  # migrations/0003_moderation.sql's CHECK
FIRST_POSTS_MAX = 100


def _whole(
    f: Fields,
    data: dict[str, object],
    name: str,
    kept: int,
    bounds: tuple[int, int],
    *,
    required: str,
    invalid: str,
) -> int:
    """A whole number between `bounds` (inclusive); absent: `kept`. `invalid` has %(min)s
    and %(max)s."""
    if name not in data:
        return kept
    raw = data.get(name)
    text = "" if raw is None else str(raw).strip()
    if not text:
        f.add(name, _(required))
        return kept
    low, high = bounds
    if isinstance(raw, bool) or not (text.isascii() and text.isdigit()) or len(text) > 6:
        f.add(name, _(invalid) % {"min": low, "max": high})
        return kept
    value = int(text)
    if not low <= value <= high:
        f.add(name, _(invalid) % {"min": low, "max": high})
        return kept
    return value


def _flag(f: Fields, data: dict[str, object], name: str, kept: bool) -> bool:
    return f.boolean(data.get(name)) if name in data else kept


# --- moderation -------------------------------------------------------------------------


async def moderation_settings(ctx: Ctx, actor: Actor, slug: str) -> dict[str, Any]:
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    c = place.conference
    return {
        "flag_threshold": c["flag_threshold"],
        "premoderate_first_posts": c["premoderate_first_posts"],
    }


async def save_moderation(
    ctx: Ctx, actor: Actor, slug: str, data: dict[str, object]
) -> dict[str, Any]:
    """`flag_threshold`: how many members' reports hide a post until a facilitator reviews
    it (1 to 100); `premoderate_first_posts`: how many of each member's first posts wait for
    approval (0: none). Each change is a row of the moderation log."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    async with ctx.pool.acquire() as con, con.transaction():
        current = await q.fetch_settings(con, place.id)
        assert current is not None
        f = Fields()
        threshold = _whole(
            f,
            data,
            "flag_threshold",
            current["flag_threshold"],
            FLAG_THRESHOLD,
            required=N_("Enter how many reports hide a post"),
            invalid=N_(
                "The number of reports that hides a post must be a whole number from "
                "%(min)s to %(max)s"
            ),
        )
        first = _whole(
            f,
            data,
            "premoderate_first_posts",
            current["premoderate_first_posts"],
            (0, FIRST_POSTS_MAX),
            required=N_("Enter how many of each member’s first posts wait for approval, or 0"),
            invalid=N_(
                "The number of first posts that wait for approval must be a whole "
                "number from %(min)s to %(max)s"
            ),
        )
        f.raise_if_any()
        await q.update_moderation_settings(con, place.id, threshold, first)
        for action, before, after in (
            ("conference.flag_threshold", current["flag_threshold"], threshold),
            ("conference.premoderate_first_posts", current["premoderate_first_posts"], first),
        ):
            if before != after:
                await moderation_q.insert_log(
                    con, place.id, None, actor.user_id, action, "conference", place.id,
                    details={"from": before, "to": after},
                )  # fmt: skip
    await ctx.hub.publish([conference_updated_event(place.id)])
    return {"flag_threshold": threshold, "premoderate_first_posts": first}


# --- panels -----------------------------------------------------------------------------


async def panels(ctx: Ctx, actor: Actor, slug: str) -> tuple[places.Place, list[dict]]:
    """The conference's panels with their question settings, titles in the reader's language."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    rows = await q.list_panels(ctx.pool, place.id)
    return place, [places.for_reader(r, place.conference) for r in rows]


async def panel(ctx: Ctx, place: places.Place, session_id: int) -> tuple[Any, Any]:
    """A panel of the conference (404 for any other session) and its question settings."""
    s = await places.fetch_session(ctx.pool, place, session_id)
    row = await q.fetch_panel(ctx.pool, session_id, place.id)
    if row is None:
        raise NotFound()
    return s, row


def panel_form_values(place: places.Place, row: Any) -> dict[str, object]:
    until = row["answers_until"]
    return {
        "questions_in_advance": row["questions_in_advance"],
        "questions_premoderated": row["questions_premoderated"],
        "answers_until": timefmt.input_value(until, place.tz) if until else "",
    }


async def save_panel(
    ctx: Ctx, actor: Actor, slug: str, session_id: int, data: dict[str, object]
) -> dict[str, Any]:
    """A panel's questions: `questions_premoderated` (a facilitator approves each question
    before others see it), `questions_in_advance` (members may ask from the conference's
    start, before the panel), `answers_until` (speakers may answer until then, after the
    panel ends; "" or None: until the panel ends). Logged when anything changes."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    async with ctx.pool.acquire() as con, con.transaction():
        row = await q.fetch_panel_for_update(con, session_id, place.id)
        if row is None:
            raise NotFound()
        f = Fields()
        in_advance = _flag(f, data, "questions_in_advance", row["questions_in_advance"])
        premoderated = _flag(f, data, "questions_premoderated", row["questions_premoderated"])
        until: datetime | None = row["answers_until"]
        if "answers_until" in data:
            until = f.local_datetime(
                "answers_until",
                data.get("answers_until"),
                place.tz,
                required=None,
                invalid=N_("The time answers close must be a real date and time"),
            )
            if until is not None and until <= row["ends_at"]:
                f.add(
                    "answers_until",
                    _("Answers can only stay open after the panel ends, at %(end)s")
                    % {"end": timefmt.when(row["ends_at"], place.tz)},
                )
        f.raise_if_any()
        saved = (in_advance, premoderated, until)
        before = (row["questions_in_advance"], row["questions_premoderated"], row["answers_until"])
        if saved != before:
            await q.update_panel_settings(con, session_id, place.id, *saved)
            await moderation_q.insert_log(
                con, place.id, session_id, actor.user_id, "session.panel_settings", "session",
                session_id,
                details={
                    "questions_in_advance": in_advance,
                    "questions_premoderated": premoderated,
                    "answers_until": timefmt.iso(until) or None,
                },
            )  # fmt: skip
    await ctx.hub.publish([conference_updated_event(place.id)])
    return {
        "session_id": session_id,
        "questions_in_advance": in_advance,
        "questions_premoderated": premoderated,
        "answers_until": until,
    }


# --- registration and capacity ----------------------------------------------------------


async def save_registration(
    ctx: Ctx, actor: Actor, slug: str, data: dict[str, object]
) -> dict[str, Any]:
    """`registration` ("open", "approval", "invite") and `capacity` (places for participants
    and observers; "" or None: no limit). Raising the capacity gives places to the waitlist
    (confer.registration.service.change_settings). With sign-in providers, the email domains
    and tenants whose people join without approval (`sso_join_domains`, `sso_join_tenants`;
    absent: unchanged)."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    f = Fields()
    mode, capacity = registration.check_settings(f, data, place.conference)
    join_rules = sso.check_join_rules(f, data, place.conference)
    f.raise_if_any()
    async with ctx.pool.acquire() as con, con.transaction():
        promoted = await registration.change_settings(con, ctx.settings, place.id, mode, capacity)
        await sso.save_join_rules(con, place.id, join_rules)
    await ctx.hub.publish(
        [
            conference_updated_event(place.id),
            *registration.promotion_events(place.id, promoted),
        ]
    )
    c = place.conference
    return {
        "registration": mode,
        "capacity": capacity,
        "sso_join_domains": list(join_rules.domains if join_rules else c["sso_join_domains"]),
        "sso_join_tenants": list(join_rules.tenants if join_rules else c["sso_join_tenants"]),
    }


# --- exports ----------------------------------------------------------------------------


async def save_exports(
    ctx: Ctx, actor: Actor, slug: str, data: dict[str, object]
) -> dict[str, Any]:
    """`facilitators_may_export`: facilitators may download the transcript too."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    async with ctx.pool.acquire() as con, con.transaction():
        current = await q.fetch_settings(con, place.id)
        assert current is not None
        allowed = _flag(
            Fields(), data, "facilitators_may_export", current["facilitators_may_export"]
        )
        await q.update_export_settings(con, place.id, allowed)
    return {"facilitators_may_export": allowed}
