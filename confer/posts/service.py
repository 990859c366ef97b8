"""Posts: writing, editing and deleting them, how each reader sees one, and where a change
to one is heard.

One path: the form handler, the JSON API and the socket all call create_post(), and a new
thread's opening post (confer.threads.service.create_thread) goes the same way. Posting is
three steps, as zulip's actions are: check_post (who, where, when, the rules of the thread and
of the member: check_posting), do_post (the batched write, WRITE_POST), notify_post (the
events, after the commit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from confer import durations, i18n, markup, places, timebox, timefmt
from confer.conferences import queries as conferences_q
from confer.context import Ctx
from confer.errors import (
    Closed,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from confer.i18n import N_, _, ngettext
from confer.live.events import Event, conference_room, moderation_rooms, thread_room, user_room
from confer.notifications import service as notifications
from confer.places import Place
from confer.policy import ANONYMOUS, Actor
from confer.posts import queries as q
from confer.urls import url
from confer.validate import Fields, number, parse_id

REMOVED_BY_AUTHOR = N_("This post was deleted by its author.")
# The reason a post hidden by members' reports carries (stored as written here, and compared:
# translated where it is shown, hidden_reason_text).
AUTO_HIDE_REASON = N_("Hidden while facilitators review reports from members")


def check_body(f: Fields, value: object, max_chars: int) -> str:
    body = f.text(
        "body",
        value,
        required=N_("Enter your post"),
        too_long=N_("Your post must be %(max)s characters or fewer"),
        max_len=max_chars,
        too_large_is_413=True,
    )
    if "body" in f.errors and len(body) > max_chars and "\x00" not in body:
        # Say how much to cut, not only the limit.
        over = len(body) - max_chars
        f.errors["body"] = ngettext(
            "Your post is %(num)s character too long. It must be %(max)s characters or fewer.",
            "Your post is %(num)s characters too long. It must be %(max)s characters or fewer.",
            over,
        ) % {"num": number(over), "max": number(max_chars)}
    return body


def check_key(f: Fields, value: object) -> str | None:
    if value in (None, ""):
        return None
    return (
        f.text(
            "idempotency_key",
            value,
            required=N_("Enter idempotency key"),
            too_long=N_("Idempotency key must be %(max)s characters or fewer"),
            max_len=100,
        )
        or None
    )


def present(place: Place, row: asyncpg.Record, staff: bool | None = None) -> dict | None:
    """A post as this reader may see it, or None if they may not see it at all.

    `staff`: whether the reader moderates the post's session, when the caller knows (a page of
    one thread asks once, not once a post)."""
    status = row["status"]
    mine = place.actor.user_id is not None and row["author_id"] == place.actor.user_id
    if staff is None:
        staff = place.can("moderate", session={"id": row["session_id"]})
    if status == "pending" and not (mine or staff):
        return None
    post = dict(row)
    if status == "deleted":
        post["body_html"] = ""
        post["body_md"] = ""
        post["placeholder"] = _(REMOVED_BY_AUTHOR)
    elif status == "hidden" and not (mine or staff):
        post["body_html"] = ""
        post["body_md"] = ""
        post["placeholder"] = removed_text(row["hidden_reason"])
    else:
        post["placeholder"] = None
    post["hidden_text"] = hidden_reason_text(row["hidden_reason"]) if status == "hidden" else None
    post["mine"] = mine
    post["staff"] = staff
    return post


def _lang_of(post: dict | asyncpg.Record) -> str:
    try:
        return post["lang"] or i18n.DEFAULT
    except KeyError:
        return i18n.DEFAULT


def hidden_reason_text(reason: str | None) -> str:
    """A hidden post's reason as the reader reads it: Confer's own (AUTO_HIDE_REASON) in
    their language, a facilitator's as written, or "no reason given"."""
    if not reason:
        return _("no reason given")
    if reason == AUTO_HIDE_REASON:
        return _(AUTO_HIDE_REASON)
    return reason


def removed_text(reason: str | None) -> str:
    """What readers see of a post a facilitator hid."""
    return _("Removed by a facilitator: %(reason)s") % {"reason": hidden_reason_text(reason)}


def payload(place: Place, post: dict | asyncpg.Record) -> dict:
    """The wire shape of a post (JSON API and live events)."""
    slug = place.conference["slug"]
    placeholder = post.get("placeholder") if isinstance(post, dict) else None
    return {
        "id": post["id"],
        "thread_id": post["thread_id"],
        "seq": post["seq"],
        "author": {
            "id": post["author_id"],
            "name": post["author_name"] or _("Former participant"),
            "title": post["author_title"] or "",
            "organisation": post["author_organisation"] or "",
            "role": post["author_role"] or "",
        },
        "reply_to": (
            {
                "id": post["reply_to_id"],
                "seq": post["reply_to_seq"],
                "author": post["reply_to_name"],
            }
            if post["reply_to_id"]
            else None
        ),
        "html": post["body_html"],
        "lang": _lang_of(post),  # the language it was written in (posts.lang)
        "placeholder": placeholder,
        "status": post["status"],
        # Why a facilitator hid it: its author sees their text, so the reason goes beside it.
        "hidden_reason": post["hidden_reason"] if post["status"] == "hidden" else None,
        "created_at": timefmt.iso(post["created_at"]),
        "created_at_text": timefmt.short(post["created_at"], place.tz),
        # The same in each language: a live event reaches readers of every language.
        "created_at_texts": timefmt.short_texts(post["created_at"], place.tz),
        "edited_at": timefmt.iso(post["edited_at"]),
        "pinned": post["pinned_at"] is not None,
        "change_seq": post["change_seq"],
        "url": url("post", slug=slug, post_id=post["id"]),
    }


# --- who hears what of a post ------------------------------------------------------------
# Thread rooms get the public view of a post (a placeholder when hidden, nothing while
# pending); the author's own room and the moderation rooms get the whole post.


def public_view(place: Place, row: asyncpg.Record | dict) -> dict | None:
    """The post as a reader with no special rights sees it (None while pending)."""
    public = Place(place.conference, None, ANONYMOUS)
    shown = present(public, row)  # type: ignore[arg-type]
    return None if shown is None else payload(place, shown)


def full_view(place: Place, row: asyncpg.Record | dict) -> dict:
    """The whole post, as its author and its moderators see it."""
    data = payload(place, dict(row))
    data["hidden_reason"] = row["hidden_reason"]
    return data


def new_post_events(
    place: Place, thread: asyncpg.Record | dict, data: dict, *, activity: bool = True
) -> list[Event]:
    """A new visible post (its `payload`): to its thread's readers, and (`activity`: unless
    its thread awaits approval) to the conference home's live activity with where it was
    made."""
    events = [Event("post:new", thread_room(thread["id"]), data)]
    if activity:
        events.append(post_activity_event(place, thread, data))
    return events


def post_activity_event(place: Place, thread: asyncpg.Record | dict, data: dict) -> Event:
    """A post newly visible (its public `payload`), for the conference home's live activity:
    with where it was made."""
    where = {**data, "thread_title": thread["title"], "session_id": thread["session_id"]}
    return Event("post:new", conference_room(place.id), where)


def post_change_events(
    place: Place, row: asyncpg.Record | dict, name: str = "post:updated"
) -> list[Event]:
    """A post changed (or, `name` "post:new", arrived in a thread's view): its thread's
    readers get the public view, the author and the moderators the whole post."""
    events = []
    public = public_view(place, row)
    if public is not None:
        events.append(Event(name, thread_room(row["thread_id"]), public))
    events += private_change_events(place, row)
    return events


def private_change_events(place: Place, row: asyncpg.Record | dict) -> list[Event]:
    """A change only the post's author and its moderators hear of (a post awaiting approval,
    which its thread never saw)."""
    full = full_view(place, row)
    rooms = [user_room(row["author_id"])] if row["author_id"] is not None else []
    rooms += moderation_rooms(place.id, row["session_id"])
    return [Event("post:updated", room, full) for room in rooms]


def post_removed_event(
    thread_id: int, post_id: int, status: str, *, seq: int | None = None,
    moved_to: int | None = None,
) -> Event:  # fmt: skip
    """A post leaves its thread's view: moved to another thread (`status` "moved"), or an
    edit that awaits approval ("pending")."""
    data = {"id": post_id, "thread_id": thread_id, "status": status, "seq": seq,
            "moved_to": moved_to}  # fmt: skip
    return Event("post:removed", thread_room(thread_id), data)


# --- posting: check, do, notify -------------------------------------------------------------


@dataclass(frozen=True)
class Posting:
    """A new post that passed its checks (check_post): what do_post writes."""

    place: Place
    thread: dict  # as read before the write
    body: str
    key: str | None
    reply_to_id: int | None
    pending: bool  # it awaits approval
    opening: bool  # the opening post of a new thread
    early: bool  # a moderator's opening post, which may precede the thread's window
    repeated: asyncpg.Record | None  # the post its idempotency key already made
    lang: str = i18n.DEFAULT  # its author's interface language, read in their request's task


async def check_post(
    ctx: Ctx,
    actor: Actor,
    slug: str | None,
    thread_id: int,
    data: dict[str, object],
    *,
    opening: bool = False,
) -> Posting:
    """Everything a new post must pass before it is written, or the error that says why not.

    `slug` (where the form or socket said the thread is) must match the thread's conference;
    None (the JSON API, which names only the thread) skips that check. `opening`: the
    opening post of a thread just made (confer.threads.service.create_thread). One round
    trip (POSTING_CONTEXTS, shared with the posts that arrive at the same moment), then one
    more only for a repeated idempotency key."""
    f = Fields()
    body = check_body(f, data.get("body"), ctx.settings.post_max_chars)
    key = check_key(f, data.get("idempotency_key"))
    reply_to = None if opening else data.get("reply_to")
    reply_to_id: int | None = None
    if reply_to not in (None, ""):
        reply_to_id = parse_id(reply_to) if isinstance(reply_to, int | str) else None
        if reply_to_id is None:
            f.add("reply_to", _("Reply to must be a post number"))
    row = await q.fetch_posting_context(
        ctx.pool, thread_id, actor.user_id, None if "idempotency_key" in f.errors else key,
        reply_to_id,
    )  # fmt: skip
    if row is None:
        raise NotFound()
    conference, thread, member, gate = q.split_context(row)
    if slug is not None and conference["slug"] != slug:
        raise NotFound()
    place = Place(conference, places.membership_from_row(member), actor)  # type: ignore[arg-type]
    place.require("conference.read")
    if not places.thread_shown(place, thread):
        raise NotFound()
    if opening:
        place.require("thread.create", session=_session_of(thread))
    else:
        place.require("post.create")
    f.raise_if_any()
    assert actor.user_id is not None
    repeated = None
    if gate["repeated_id"] is not None:
        repeated = await q.fetch_post_by_key(ctx.pool, actor.user_id, key or "")
    early = opening and place.can("moderate", session={"id": thread["session_id"]})
    pending = False
    if repeated is None:
        pending = check_posting(place, thread, gate, opening=opening)
        if reply_to_id is not None and not _may_reply_to(place, thread, gate, thread_id):
            # A post this member cannot see is answered as if it did not exist: replying
            # must not reveal (or notify) the author of a post awaiting approval or hidden.
            raise Invalid(fields={"reply_to": _("The post you replied to is not in this thread")})
    return Posting(
        place, thread, body, key, reply_to_id, pending, opening, early, repeated, post_lang()
    )


def post_lang() -> str:
    """The language a post written now is in: its author's interface language (the
    pseudo-locale's posts are English)."""
    code = i18n.lang()
    return code if code in i18n.LANGUAGES else i18n.DEFAULT


def _session_of(thread: dict) -> dict:
    """The thread's session as policy's "thread.create" reads it."""
    return {
        "id": thread["session_id"],
        "kind": thread["session_kind"],
        "participants_start_threads": thread["participants_start_threads"],
    }


async def do_post(ctx: Ctx, posting: Posting) -> tuple[asyncpg.Record, bool]:
    """Write the post (WRITE_POST, batched with the posts arriving at the same moment:
    confer.db.Batcher); return (the post, True), or (the post its idempotency key already
    made, False). Raises Closed when the thread stopped taking posts since the check."""

    place, actor_id = posting.place, posting.place.actor.user_id
    assert actor_id is not None
    if posting.repeated is not None:
        return posting.repeated, False
    thread_id = posting.thread["id"]
    html = await markup.render(posting.body)
    names, positions = (
        notifications.mention_candidates(posting.body) if not posting.pending else ([], [])
    )
    try:
        written = await q.write_post(
            ctx.pool,
            status="pending" if posting.pending else "visible",
            thread_id=thread_id,
            author_id=actor_id,
            conference_id=place.id,
            reply_to_id=posting.reply_to_id,
            follow=True,
            body_md=posting.body,
            body_html=html,
            key=posting.key,
            names=names,
            positions=positions,
            early=posting.early,
            lang=posting.lang,
        )
    except asyncpg.UniqueViolationError:
        existing = await q.fetch_post_by_key(ctx.pool, actor_id, posting.key or "")
        if existing is None:
            raise
        return existing, False
    if written is None:
        # Closed or locked between the check and the write: say which.
        again = await q.fetch_posting_context(ctx.pool, thread_id, actor_id, None, None)
        if again is not None and not posting.early:
            timebox.check_open(q.split_context(again)[1], place.tz)  # type: ignore[arg-type]
        raise Closed(_("This thread is not taking posts now. You can still read it."))
    return written, True


async def notify_post(
    ctx: Ctx, posting: Posting, written: asyncpg.Record, first: Sequence[Event] = ()
) -> dict:
    """After the commit: tell who must hear of the new post; return its payload. `first`:
    events that go before the post's own when it is visible (a new thread's thread:new)."""
    place, thread = posting.place, posting.thread
    notices: list[Event] = []
    if written["notified"]:
        # The notifications were made with the post; their emails follow in a second, short
        # transaction (docs/architecture.md, "Writes").
        async with ctx.pool.acquire() as con, con.transaction():
            notices = await notifications.tell_notified(con, written["id"], ctx.settings)
    # A new post is visible or pending, and its author sees all of it: the reply, the thread's
    # event and the conference home's are one payload (built once: it formats two dates).
    data = payload(place, written)
    if posting.pending:
        # Only the author and the moderators hear of a post awaiting approval.
        await ctx.hub.publish(post_change_events(place, written, "post:new"))
    else:
        # A thread awaiting approval shows nothing on the conference home (its opening post,
        # written visible now, shows it).
        shown = not thread["awaiting_approval"] or posting.opening
        await ctx.hub.publish(
            [*first, *new_post_events(place, thread, data, activity=shown), *notices]
        )
    return data


async def create_post(
    ctx: Ctx, actor: Actor, slug: str | None, thread_id: int, data: dict[str, object]
) -> tuple[dict, bool]:
    """Reply in a thread; return (post payload, created). A repeated key returns the first post.

    Three round trips in all: what posting needs to know (POSTING_CONTEXTS), the post written
    in one statement (WRITE_POST) — each shared with the posts that arrive at the same moment
    (confer.db.Batcher) — and, only when someone was notified, their emails.
    """
    posting = await check_post(ctx, actor, slug, thread_id, data)
    written, created = await do_post(ctx, posting)
    if not created:
        return _repeat(posting.place, written, thread_id), False
    return await notify_post(ctx, posting, written), True


def check_posting(
    place: Place, thread: dict, gate: dict, *, edited: dict | None = None, opening: bool = False
) -> bool:
    """What every new post and every edit must pass, from its posting context
    (q.fetch_posting_context): the right to read and to post (a muted member may not), the
    time box, locks and closing (confer.timebox.check_open), and slow mode. Returns
    whether the post must await approval: the thread or the member is pre-moderated, or the
    member has fewer approved posts than the conference's first-posts rule asks (an `edited`
    post that is itself approved does not count towards its own approval). Facilitators of
    the thread's session are exempt from slow mode and pre-moderation, and their `opening`
    post of a new thread from the time box (they prepare threads before their session; the
    thread's own window was checked by create_thread)."""

    staff = place.can("moderate", session={"id": thread["session_id"]})
    place.require("conference.read")
    if opening:
        place.require("thread.create", session=_session_of(thread))
    else:
        place.require("post.create")
    if not (opening and staff):
        timebox.check_open(thread, place.tz)  # type: ignore[arg-type]
    if staff:
        return False
    wait = gate["slow_mode_wait"]
    if wait is not None and wait > 0:
        raise TooManyRequests(
            _(
                "Slow mode is on in this thread: you can post again in %(duration)s. "
                "Your text has been kept."
            )
            % {"duration": durations.wait(wait)},
            retry_after=wait,
        )
    if gate["premoderated"]:
        return True
    approved = gate["approved_posts"]
    if approved is None:  # the conference has no first-posts rule
        return False
    if edited is not None and edited["status"] in ("visible", "hidden"):
        approved -= 1
    return place.conference["premoderate_first_posts"] > approved


def _may_reply_to(place: Place, thread: dict, gate: dict, thread_id: int) -> bool:
    """Whether the post replied to is in this thread and this member can see it: a visible
    post, or one awaiting approval or hidden that is their own or that they moderate."""
    if gate["reply_to_thread_id"] != thread_id:
        return False
    status = gate["reply_to_status"]
    if status == "visible":
        return True
    if status not in ("pending", "hidden"):
        return False
    mine = gate["reply_to_author_id"] is not None and gate["reply_to_author_id"] == (
        place.actor.user_id
    )
    return mine or place.can("moderate", session={"id": thread["session_id"]})


def _repeat(place: Place, existing: asyncpg.Record, thread_id: int) -> dict:
    if existing["thread_id"] != thread_id:
        raise Invalid(fields={"idempotency_key": _("That key was already used for another post")})
    return payload(place, present(place, existing) or dict(existing))


@dataclass(frozen=True)
class Listing:
    """Posts of a thread read in seq order (list_after)."""

    posts: list[dict]  # their payloads, as this reader may see them
    read: int  # how many were read, seen or not: as many as asked means there may be more
    last_seq: int | None  # the seq of the last one read


async def list_after(
    pool: asyncpg.Pool, place: Place, thread_id: int, after: int, limit: int,
    since: int | None = None,
) -> Listing:  # fmt: skip
    """A thread's posts after seq `after` and, unless `since` is None, its older posts changed
    after that change number, at most `limit`: the JSON API's post listing and what a reader
    rejoining a thread's room missed (confer.live.server) are this one read."""
    rows = await q.list_posts_after(pool, thread_id, after, limit, since)
    shown = [payload(place, p) for r in rows if (p := present(place, r)) is not None]
    return Listing(shown, len(rows), rows[-1]["seq"] if rows else None)


async def load_post(ctx: Ctx, actor: Actor, post_id: int) -> tuple[Place, dict]:
    """A post and its conference, as this actor may see it (404 otherwise)."""
    row = await q.fetch_post(ctx.pool, post_id)
    if row is None:
        raise NotFound()
    conference = await conferences_q.fetch_conference(ctx.pool, row["conference_id"])
    assert conference is not None
    place = await places.place_from_row(ctx.pool, actor, conference)
    if not place.can("conference.read"):
        raise NotFound()
    post = present(place, row)
    if post is None:
        raise NotFound()
    return place, post


async def check_change(
    ctx: Ctx, actor: Actor, place: Place, post: Mapping[str, Any], action: str
) -> tuple[Place, bool]:
    """What a change to an author's own post passes, as a new post would (check_posting: the
    right to post, mute, the time box, locks, slow mode), with `action` (confer.policy)
    checked again against the membership read with the thread. For an edit, and for a file
    added to a post (confer.files). Returns that place and whether the change waits for
    approval."""
    row = await q.fetch_posting_context(ctx.pool, post["thread_id"], actor.user_id, None, None)
    if row is None:
        raise NotFound()
    _conference, thread, member, gate = q.split_context(row)
    # The membership as read with the thread, a moment after the caller's.
    place = Place(place.conference, places.membership_from_row(member), actor)  # type: ignore[arg-type]
    place.require(action, post=post)
    return place, check_posting(place, thread, gate, edited=post)


async def edit_post(ctx: Ctx, actor: Actor, post_id: int, data: dict[str, object]) -> dict:
    """The author edits within the edit window; the previous text is kept as a revision.

    An edit is a post (issue #18): it passes what a new post passes (check_posting: the
    right to post, mute, the time box, locks, slow mode; the rate limit is the route's or
    the socket's), and all of it, with the edit window, before the Markdown is rendered. An
    edit by a pre-moderated author goes back to the approval queue. The post's status is
    checked again under its row lock: a post hidden or deleted meanwhile is not edited. Its
    events go through the same per-audience view as every change to a post."""
    place, post = await load_post(ctx, actor, post_id)
    place.require("post.edit", post=post)
    f = Fields()
    body = check_body(f, data.get("body"), ctx.settings.post_max_chars)
    f.raise_if_any()
    place, pending = await check_change(ctx, actor, place, post, "post.edit")
    window = ctx.settings.edit_window_seconds
    if not await q.in_edit_window(ctx.pool, post["created_at"], window):
        raise Closed(_edit_window_text(window))
    html = await markup.render(body)
    async with ctx.pool.acquire() as con, con.transaction():
        locked = await q.fetch_post_for_change(con, post_id, window)
        if locked is None or locked["status"] not in ("visible", "pending"):
            raise Conflict(
                _("This post was removed while you were editing it, so your edit was not saved.")
            )
        if not locked["editable"]:
            raise Closed(_edit_window_text(window))
        was = locked["status"]
        status = "pending" if pending or was == "pending" else "visible"
        await q.insert_revision(con, post_id, actor.user_id)
        await q.update_post_body(con, post_id, body, html, status)
        if was == "visible" and status == "pending":
            await q.decrement_post_count(con, locked["thread_id"])
    fresh = await q.fetch_post(ctx.pool, post_id)
    assert fresh is not None
    events = post_change_events(place, fresh)
    if was == "visible" and status == "pending":
        # Its readers saw it: it leaves the thread until a facilitator approves the edit.
        events.append(post_removed_event(fresh["thread_id"], post_id, "pending", seq=fresh["seq"]))
    await ctx.hub.publish(events)
    return payload(place, present(place, fresh) or dict(fresh))


def _edit_window_text(window: int) -> str:
    minutes = window // 60
    return ngettext(
        "Posts can be edited for %(num)d minute after posting.",
        "Posts can be edited for %(num)d minutes after posting.",
        minutes,
    ) % {"num": minutes}


def _change_events(place: Place, row: asyncpg.Record, *, was: str) -> list[Event]:
    """A deletion: a post still awaiting approval was never shown to the thread, so only its
    author and the moderators hear of it; otherwise each audience gets its own view."""
    if was == "pending":
        return private_change_events(place, row)
    return post_change_events(place, row)


async def delete_post(ctx: Ctx, actor: Actor, post_id: int) -> dict:
    """The author deletes their post: its text goes, a placeholder stays in the thread."""
    place, post = await load_post(ctx, actor, post_id)
    if not place.can("post.delete", post=post):
        if not actor.authenticated:
            raise Unauthorized(_("Sign in to do that."))
        raise Forbidden(_("You can only delete your own posts."))
    async with ctx.pool.acquire() as con, con.transaction():
        locked = await q.fetch_post_for_change(con, post_id, ctx.settings.edit_window_seconds)
        assert locked is not None
        if locked["status"] == "deleted":
            return payload(place, post)
        was_counted = locked["status"] == "visible"
        await q.purge_deletions(con)
        if locked["status"] in ("visible", "pending"):  # a hidden post's text is not offered back
            await q.keep_for_undo(con, post_id, ctx.settings.undo_delete_seconds)
        await q.mark_deleted(con, post_id)
        await q.delete_revisions(con, post_id)
        if was_counted:
            await q.decrement_post_count(con, locked["thread_id"])
    row = await q.fetch_post(ctx.pool, post_id)
    assert row is not None
    await ctx.hub.publish(_change_events(place, row, was=locked["status"]))
    return payload(place, present(place, row) or dict(row))


def _undo_window_text(seconds: int) -> str:
    minutes = max(seconds // 60, 1)
    return ngettext(
        "A deleted post can be restored for %(num)d minute after deleting it.",
        "A deleted post can be restored for %(num)d minutes after deleting it.",
        minutes,
    ) % {"num": minutes}


async def can_undo_delete(ctx: Ctx, place: Place, post: dict) -> bool:
    """Whether this reader may undo the deletion of `post` now (theirs, deleted, in the
    window): the thread page offers "Undo" only then."""
    if not place.can("post.undelete", post=post):
        return False
    return await q.undo_open_until(ctx.pool, post["id"]) is not None


async def undo_delete(ctx: Ctx, actor: Actor, post_id: int) -> dict:
    """The author takes back the deletion of their post within the undo window
    (settings.undo_delete_seconds): its text and status come back as they were. After the
    window the deletion is final. One path for the form and the JSON API."""
    place, post = await load_post(ctx, actor, post_id)
    if not place.can("post.undelete", post=post):
        if not actor.authenticated:
            raise Unauthorized(_("Sign in to do that."))
        if post["status"] != "deleted":
            raise Conflict(_("This post is not deleted."))
        raise Forbidden(_("You can only restore your own posts."))
    async with ctx.pool.acquire() as con, con.transaction():
        locked = await q.fetch_post_for_change(con, post_id, ctx.settings.edit_window_seconds)
        assert locked is not None
        if locked["status"] != "deleted":
            raise Conflict(_("This post is not deleted."))
        kept = await q.take_for_undo(con, post_id)
        if kept is None:
            raise Conflict(_undo_window_text(ctx.settings.undo_delete_seconds))
        await q.undelete(
            con, post_id, kept["was_status"], kept["body_md"], kept["body_html"], kept["edited_at"]
        )
        if kept["was_status"] == "visible":
            await q.increment_post_count(con, locked["thread_id"])
    row = await q.fetch_post(ctx.pool, post_id)
    assert row is not None
    await ctx.hub.publish(_change_events(place, row, was=kept["was_status"]))
    return payload(place, present(place, row) or dict(row))
