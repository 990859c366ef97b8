"""Facilitation and moderation: one function per kind of action, each checking permission
(policy "moderate" for a session's threads and posts, "moderate.members" for members),
writing its change and its moderation_log row in one transaction, then publishing.

What reaches whom about a post is decided with posts (confer.posts.service: public_view,
full_view, post_change_events).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import asyncpg
from markupsafe import Markup

from confer import markup, places, timefmt
from confer.conferences import queries as conferences_q
from confer.context import Ctx
from confer.errors import Conflict, Forbidden, NotFound
from confer.i18n import N_, _
from confer.live import evict
from confer.live.events import (
    Event,
    flag_new_events,
    flag_resolved_events,
    notice_event,
    thread_updated_events,
)
from confer.moderation import queries as q
from confer.notifications import service as notifications
from confer.places import Place
from confer.policy import Actor
from confer.posts import queries as posts_q
from confer.posts import service as posts
from confer.posts.service import AUTO_HIDE_REASON, full_view, post_change_events, public_view
from confer.registration import service as registration
from confer.threads import queries as threads_q
from confer.threads import service as threads
from confer.validate import Fields, parse_id

# Marked for the catalogues (N_) and translated where shown: flag_reasons().
FLAG_REASONS = {
    "off_topic": N_("Off-topic"),
    "disrespectful": N_("Disrespectful"),
    "personal_information": N_("Personal information"),
    "spam": N_("Spam"),
    "other": N_("Something else"),
}
# Reasons from a typical code of conduct, offered when hiding; any written reason is allowed.
# Offered in the facilitator's language, and stored as they chose it (as a written reason is).
HIDE_REASONS = (
    N_("Personal attack"),
    N_("Disrespectful language"),
    N_("Personal information"),
    N_("Off-topic"),
    N_("Spam or advertising"),
)
THREAD_ACTIONS = (
    "pin",
    "unpin",
    "lock",
    "unlock",
    "close",
    "reopen",
    "premoderate",
    "unpremoderate",
    "slow_mode",
    "summarise",
)
POST_ACTIONS = ("hide", "restore", "approve", "reject", "pin", "unpin", "move")
MEMBER_ACTIONS = ("mute", "unmute", "premoderate", "unpremoderate", "remove")
FLAG_NOTE_MAX = 1000  # a report's note (the API's document says so too)

# A member's role and status, as the moderation page names them (translated where shown).
ROLE_NAMES = {
    "organiser": N_("Organiser"),
    "facilitator": N_("Facilitator"),
    "speaker": N_("Speaker"),
    "participant": N_("Participant"),
    "observer": N_("Observer"),
}
STATUS_NAMES = {
    "active": N_("active"),
    "pending": N_("awaiting approval"),
    "waitlisted": N_("on the waiting list"),
    "declined": N_("declined"),
    "removed": N_("removed"),
}


# What members reported, as the reason a facilitator most likely hides for (the hide form's
# default on the moderation page). "other" has no counterpart: the facilitator writes one.
REPORT_TO_HIDE = {
    "off_topic": HIDE_REASONS[3],
    "disrespectful": HIDE_REASONS[1],
    "personal_information": HIDE_REASONS[2],
    "spam": HIDE_REASONS[4],
}

# A reported or queued post longer than this (in characters of text) is shown cut short on
# the moderation page, with the whole of it behind "Show all", so Keep and Hide stay near.
PREVIEW_CHARS = 600


def default_hide_reason(reasons: list[str]) -> str | None:
    """The hide reason (in the reader's language) matching what most reports said (the
    latest of equals first; `reasons` come newest first), or None when only "other" was said."""
    counts = Counter(r for r in reasons if r in REPORT_TO_HIDE)
    if not counts:
        return None
    return _(REPORT_TO_HIDE[counts.most_common(1)[0][0]])


def preview(body_html: str, limit: int = PREVIEW_CHARS) -> str | None:
    """The start of a long post as plain text (cut at a word), or None when it is short."""
    # body_html is Confer's own sanitised rendering (confer.markup); the text is escaped again
    # where it is shown.
    text = " ".join(Markup(body_html).striptags().split())  # noqa: S704
    if len(text) <= limit + limit // 5:  # not worth folding away a few words
        return None
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,.;:") + "…"


def flag_reasons() -> dict[str, str]:
    """FLAG_REASONS in the reader's language."""
    return {code: _(label) for code, label in FLAG_REASONS.items()}


def hide_reasons() -> list[str]:
    """HIDE_REASONS in the reader's language."""
    return [_(r) for r in HIDE_REASONS]


async def _reason(f: Fields, data: dict[str, Any], *, required: bool) -> str:
    picked = data.get("reason_choice")
    written = data.get("reason")
    if picked and picked != "other" and not written:
        written = picked
    return f.text(
        "reason",
        written,
        required=N_("Enter reason") if required else None,
        too_long=N_("Reason must be %(max)s characters or fewer"),
        max_len=500,
    )


# --- threads ----------------------------------------------------------------------------


async def _thread_place(ctx: Ctx, actor: Actor, thread_id: int) -> tuple[Place, asyncpg.Record]:
    slug = await conferences_q.fetch_slug_of_thread(ctx.pool, thread_id)
    if slug is None:
        raise NotFound()
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    thread = await places.fetch_thread(ctx.pool, place, thread_id)
    return place, thread


async def moderate_thread(
    ctx: Ctx, actor: Actor, thread_id: int, action: str, data: dict[str, Any]
) -> dict:
    """Pin, lock (with a reason), close early, reopen, pre-moderate, slow mode, or summarise."""
    place, thread = await _thread_place(ctx, actor, thread_id)
    place.require("moderate", session={"id": thread["session_id"]})
    f = Fields()
    if action not in THREAD_ACTIONS:
        f.add("action", _("Choose what to do"))
    reason = await _reason(f, data, required=action == "lock")
    details: dict[str, Any] = {}
    seconds = 0
    until = None
    summary = ""
    if action == "slow_mode":
        raw = data.get("seconds")
        parsed = parse_id(raw)
        if parsed is None or not 0 <= parsed <= 3600:
            f.add("seconds", _("Enter a number of seconds from 0 to 3600"))
        else:
            seconds = parsed
        if data.get("until"):
            until = f.local_datetime(
                "until",
                data.get("until"),
                place.tz,
                required=N_("Enter until"),
                invalid=N_("Until must be a real date and time"),
            )
        details = {"seconds": seconds, "until": timefmt.iso(until)}
    if action == "summarise":
        if place.member is not None and place.member.muted:
            # A summary is words said in the thread: muted means muted everywhere.
            raise Forbidden(_("You have been muted in this conference and cannot post for now."))
        summary = f.text(
            "summary",
            data.get("summary"),
            required=N_("Enter summary"),
            too_long=N_("Summary must be %(max)s characters or fewer"),
            max_len=20_000,
        )
    if action == "reopen" and thread["closed_at"] is not None:
        window_open = await ctx.pool.fetchval("SELECT now() < $1", thread["closes_at"])
        if not window_open:
            f.add("action", _("This thread's session has ended, so it cannot be reopened"))
    f.raise_if_any()
    summary_html = await markup.render(summary) if action == "summarise" else ""
    async with ctx.pool.acquire() as con, con.transaction():
        if action == "slow_mode":
            await q.set_slow_mode(con, thread_id, seconds, until)
        elif action == "summarise":
            await q.set_summary(con, thread_id, summary, summary_html, actor.user_id)
        else:
            await q.set_thread(con, action, thread_id, reason or None)
        await q.insert_log(
            con,
            place.id,
            thread["session_id"],
            actor.user_id,
            f"thread.{action}",
            "thread",
            thread_id,
            reason,
            details,
        )
    fresh = await threads_q.fetch_thread(ctx.pool, thread_id, place.id)
    assert fresh is not None
    fields = {**threads.thread_payload(place, fresh), "change": action}
    events = thread_updated_events(thread_id, fields, conference_id=place.id)
    await ctx.hub.publish(events)
    return events[0].data


# --- posts ------------------------------------------------------------------------------


async def _post_place(ctx: Ctx, actor: Actor, post_id: int) -> tuple[Place, asyncpg.Record]:
    row = await posts_q.fetch_post(ctx.pool, post_id)
    if row is None:
        raise NotFound()
    conference = await conferences_q.fetch_conference(ctx.pool, row["conference_id"])
    assert conference is not None
    place = await places.place_from_row(ctx.pool, actor, conference)
    if not place.can("conference.read"):
        raise NotFound()
    return place, row


async def moderate_post(
    ctx: Ctx, actor: Actor, post_id: int, action: str, data: dict[str, Any]
) -> dict:
    """Hide (with a reason), restore, approve, reject (with a reason), pin, unpin, or move."""
    place, row = await _post_place(ctx, actor, post_id)
    place.require("moderate", session={"id": row["session_id"]})
    f = Fields()
    if action not in POST_ACTIONS:
        f.add("action", _("Choose what to do"))
    reason = await _reason(f, data, required=action in ("hide", "reject"))
    status = row["status"]
    to_thread = None
    if status == "deleted" and action != "unpin":  # a withdrawn post may still lose its pin
        f.add("action", _("The author deleted this post"))
    elif action == "restore" and status != "hidden":
        f.add("action", _("Only a hidden post can be restored"))
    elif action in ("approve", "reject") and status != "pending":
        f.add("action", _("This post is not waiting for approval"))
    elif action == "hide" and status == "hidden":
        f.add("action", _("This post is already hidden"))
    if action == "move":
        raw = data.get("to_thread_id")
        target_id = parse_id(raw)
        if target_id is None:
            f.add("to_thread_id", _("Choose the thread to move the post to"))
        else:
            to_thread = await threads_q.fetch_thread(ctx.pool, target_id, place.id)
            if to_thread is None:
                f.add("to_thread_id", _("That thread is not in this conference"))
            elif to_thread["id"] == row["thread_id"]:
                f.add("to_thread_id", _("The post is already in that thread"))
            elif not place.can("moderate", session={"id": to_thread["session_id"]}):
                f.add("to_thread_id", _("You do not facilitate that thread's session"))
    f.raise_if_any()
    details: dict[str, Any] = {}
    events: list[Event] = []
    notices: list[Event] = []
    shown = False
    async with ctx.pool.acquire() as con, con.transaction():
        if action == "hide":
            await q.set_post_status(con, post_id, "hidden", reason)
            await q.resolve_flags(con, post_id, actor.user_id, "hidden")
        elif action == "restore":
            await q.set_post_status(con, post_id, "visible", None)
            await q.resolve_flags(con, post_id, actor.user_id, "kept")
        elif action == "approve":
            await q.set_post_status(con, post_id, "visible", None)
            # The opening post of a thread awaiting approval: the thread is shown with it.
            shown = row["seq"] == 1 and await threads_q.show_thread(con, row["thread_id"])
            # Mentions, the reply and followers are told now, not while it was pending.
            notices = await notifications.notify_for_post(
                con,
                post_id,
                row["body_md"],
                thread_id=row["thread_id"],
                conference_id=row["conference_id"],
                author_id=row["author_id"],
                reply_to_id=row["reply_to_id"],
                settings=ctx.settings,
                follow=False,
            )
        elif action == "reject":
            await q.set_post_status(
                con, post_id, "hidden", _("Not approved: %(reason)s") % {"reason": reason}
            )
        elif action in ("pin", "unpin"):
            await q.set_post_pin(con, post_id, action == "pin")
        elif action == "move":
            assert to_thread is not None
            new_seq = await q.move_post(con, post_id, row["thread_id"], to_thread["id"], status)
            details = {
                "from_thread_id": row["thread_id"],
                "from_seq": row["seq"],
                "to_thread_id": to_thread["id"],
                "to_seq": new_seq,
            }
        await q.insert_log(
            con,
            place.id,
            row["session_id"],
            actor.user_id,
            f"post.{action}",
            "post",
            post_id,
            reason,
            details,
        )
        if action in ("hide", "restore"):
            told = await _tell_author(
                con, ctx, row, actor, "post_hidden" if action == "hide" else "post_restored",
                reason,
            )  # fmt: skip
            notices += told
    fresh = await posts_q.fetch_post(ctx.pool, post_id)
    assert fresh is not None
    if action == "approve":
        # Newly visible: everyone in the thread gets it as a new post.
        thread = await threads_q.fetch_thread(ctx.pool, fresh["thread_id"], place.id)
        assert thread is not None
        if shown:  # announced as any new thread is
            events.append(threads.thread_new_event(place, thread))
        events += post_change_events(place, fresh, "post:new")
        public = public_view(place, fresh)
        if public is not None:
            events.append(posts.post_activity_event(place, thread, public))
    elif action == "move":
        events.append(
            posts.post_removed_event(
                row["thread_id"], post_id, "moved", seq=row["seq"], moved_to=fresh["thread_id"]
            )
        )
        events += post_change_events(place, fresh, "post:new")
    else:
        events += post_change_events(place, fresh)
    await ctx.hub.publish([*events, *notices])
    return full_view(place, fresh)


async def _tell_author(
    con: asyncpg.Connection,
    ctx: Ctx,
    row: asyncpg.Record,
    actor: Actor | None,
    kind: str,
    reason: str | None,
) -> list[Event]:
    """Tell a post's author that it was hidden (with the public reason) or restored, in the
    action's transaction; the live event to publish after commit. Nobody is told of their
    own action, nor is an erased author."""
    author_id = row["author_id"]
    by = actor.user_id if actor is not None else None
    if author_id is None or author_id == by:
        return []
    told = await notifications.tell_member(
        con,
        ctx.settings,
        author_id,
        kind,
        conference_id=row["conference_id"],
        actor_id=by,
        about_post_id=row["id"],
        reason=reason or None,
    )
    return [told] if told is not None else []


# --- flags ------------------------------------------------------------------------------


async def flag_post(ctx: Ctx, actor: Actor, post_id: int, data: dict[str, Any]) -> dict:
    """A member reports a post, once. At the conference's threshold of distinct members'
    reports, the post is hidden until a facilitator reviews it."""
    place, row = await _post_place(ctx, actor, post_id)
    if posts.present(place, row) is None:
        raise NotFound()  # awaiting approval: not there for this member
    place.require("post.flag", post=row)
    f = Fields()
    reason = data.get("reason")
    if not isinstance(reason, str) or reason not in FLAG_REASONS:
        f.add("reason", _("Choose why you are reporting this post"))
    note = f.text(
        "note",
        data.get("note"),
        required=N_("Enter note") if reason == "other" else None,
        too_long=N_("Note must be %(max)s characters or fewer"),
        max_len=FLAG_NOTE_MAX,
    )
    f.raise_if_any()
    assert actor.user_id is not None
    hidden = False
    told: list[Event] = []
    async with ctx.pool.acquire() as con, con.transaction():
        flag_id = await q.insert_flag(con, post_id, place.id, actor.user_id, str(reason), note)
        if flag_id is None:
            raise Conflict(_("You have already reported this post. Facilitators will look at it."))
        # Under the post's row lock: two reports arriving together hide it (and log it) once.
        status = await con.fetchval("SELECT status FROM posts WHERE id = $1 FOR UPDATE", post_id)
        count = await q.count_open_flags(con, post_id)
        if count >= place.conference["flag_threshold"] and status == "visible":
            await q.set_post_status(con, post_id, "hidden", AUTO_HIDE_REASON)
            await q.insert_log(
                con,
                place.id,
                row["session_id"],
                None,
                "post.auto_hide",
                "post",
                post_id,
                AUTO_HIDE_REASON,
                {"flags": count},
            )
            hidden = True
            told = await _tell_author(con, ctx, row, None, "post_hidden", AUTO_HIDE_REASON)
    fresh = await posts_q.fetch_post(ctx.pool, post_id)
    assert fresh is not None
    events = flag_new_events(
        place.id,
        row["session_id"],
        post_id=post_id,
        thread_id=row["thread_id"],
        reason=reason,
        reason_text=_(FLAG_REASONS[reason]),
        count=count,
        hidden=hidden,
    )
    if hidden:
        events += post_change_events(place, fresh)
    await ctx.hub.publish([*events, *told])
    return {"post_id": post_id, "flags": count, "hidden": hidden}


async def resolve_flags(ctx: Ctx, actor: Actor, post_id: int, data: dict[str, Any]) -> dict:
    """Keep the post (reports dismissed, and shown again if reports hid it) or hide it."""
    place, row = await _post_place(ctx, actor, post_id)
    place.require("moderate", session={"id": row["session_id"]})
    f = Fields()
    outcome = data.get("outcome")
    if outcome not in ("keep", "hide"):
        f.add("outcome", _("Choose whether to keep or hide the post"))
    reason = await _reason(f, data, required=outcome == "hide")
    f.raise_if_any()
    told: list[Event] = []
    async with ctx.pool.acquire() as con, con.transaction():
        resolved = await q.resolve_flags(
            con, post_id, actor.user_id, "kept" if outcome == "keep" else "hidden"
        )
        if not resolved:
            raise Conflict(_("There are no open reports on this post."))
        if outcome == "hide" and row["status"] != "hidden":
            await q.set_post_status(con, post_id, "hidden", reason)
            told = await _tell_author(con, ctx, row, actor, "post_hidden", reason)
        elif outcome == "hide":
            await q.set_post_status(con, post_id, "hidden", reason)
            if reason != row["hidden_reason"]:  # hidden for review, now for this reason
                told = await _tell_author(con, ctx, row, actor, "post_hidden", reason)
        elif (
            outcome == "keep"
            and row["status"] == "hidden"
            and row["hidden_reason"] == AUTO_HIDE_REASON
        ):
            await q.set_post_status(con, post_id, "visible", None)
            told = await _tell_author(con, ctx, row, actor, "post_restored", None)
        await q.insert_log(
            con,
            place.id,
            row["session_id"],
            actor.user_id,
            f"flags.{outcome}",
            "post",
            post_id,
            reason,
            {"flags": len(resolved)},
        )
    fresh = await posts_q.fetch_post(ctx.pool, post_id)
    assert fresh is not None
    events = post_change_events(place, fresh)
    events += flag_resolved_events(place.id, row["session_id"], post_id=post_id, outcome=outcome)
    await ctx.hub.publish([*events, *told])
    return full_view(place, fresh)


# --- members ----------------------------------------------------------------------------


async def moderate_member(
    ctx: Ctx, actor: Actor, slug: str, user_id: int, action: str, data: dict[str, Any]
) -> dict:
    """Mute for a while, unmute, pre-moderate, or remove a member of the conference."""
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    place.require("moderate.members")
    target = await q.fetch_member(ctx.pool, place.id, user_id)
    if target is None:
        raise NotFound(_("That person is not a member of this conference."))
    if target["role"] == "organiser" or user_id == actor.user_id:
        raise Forbidden(_("Organisers, and you yourself, cannot be moderated here."))
    f = Fields()
    if action not in MEMBER_ACTIONS:
        f.add("action", _("Choose what to do"))
    reason = await _reason(f, data, required=action in ("mute", "remove"))
    minutes = 0
    if action == "mute":
        raw = str(data.get("minutes") or "")
        parsed = parse_id(raw)
        if parsed is None or not 1 <= parsed <= 60 * 24 * 14:
            f.add("minutes", _("Enter how many minutes, from 1 to 20160 (two weeks)"))
        else:
            minutes = parsed
    f.raise_if_any()
    promoted: list[asyncpg.Record] = []
    async with ctx.pool.acquire() as con, con.transaction():
        # Removal frees a place: lock the conference first (as every registration change
        # does, so that no two transactions wait on each other), then promote after it.
        if action == "remove":
            conference = await registration.lock_conference(con, place.id)
        until = None
        if action == "mute":
            until = await con.fetchval("SELECT now() + $1::interval", timedelta(minutes=minutes))
        await q.set_member(con, action, place.id, user_id, until)
        await q.insert_log(
            con,
            place.id,
            None,
            actor.user_id,
            f"member.{action}",
            "member",
            user_id,
            reason,
            {"minutes": minutes} if minutes else {},
        )
        if action == "remove":
            promoted = await registration.settle(con, ctx.settings, conference)
        told = None
        if action in ("mute", "unmute", "remove"):
            # The member is told, and keeps the notice (a removed member still reads theirs).
            told = await notifications.tell_member(
                con,
                ctx.settings,
                user_id,
                {"mute": "muted", "unmute": "unmuted", "remove": "removed"}[action],
                conference_id=place.id,
                actor_id=actor.user_id,
                reason=reason or None,
                until=until,
            )
    about = [
        notice_event(user_id, f"member.{action}", conference_id=place.id, reason=reason),
        *([told] if told is not None else []),
    ]
    if action == "remove":
        # The removed member hears of it on their open pages, then their sockets close.
        await evict.user(ctx, user_id, last_words=about)
        about = []
    await ctx.hub.publish([*about, *registration.promotion_events(place.id, promoted)])
    return {"user_id": user_id, "action": action, "reason": reason}


# --- what moderators see ----------------------------------------------------------------


def _session_scope(place: Place) -> list[int] | None:
    """None: every session; otherwise the sessions a facilitator looks after."""
    if place.can("moderate.members"):
        return None
    assert place.member is not None
    return sorted(place.member.session_ids)


async def queue(ctx: Ctx, actor: Actor, slug: str) -> dict[str, Any]:
    """Pending posts, reported posts (newest first, with counts) and the log, in scope."""
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    place.require("moderate.any")
    scope = _session_scope(place)
    return {
        "place": place,
        "pending": await q.list_pending(ctx.pool, place.id, scope),
        "flagged": await q.list_flagged_posts(ctx.pool, place.id, scope),
        "log": await q.list_log(ctx.pool, place.id, scope),
        "members": await q.list_members(ctx.pool, place.id)
        if place.can("moderate.members")
        else [],
    }


async def queue_counts(ctx: Ctx, place: Place) -> dict[str, int]:
    """How many posts await approval and how many reported posts await review, in this
    moderator's scope: the moderation page's two counts."""
    return await q.count_queue(ctx.pool, place.id, _session_scope(place))
