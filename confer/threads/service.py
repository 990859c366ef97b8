"""Threads: starting them, listing a session's threads, and the reader's page of posts.

Whether a thread takes posts now is the time box's question (confer.timebox).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from confer import places, timebox, timefmt
from confer.context import Ctx
from confer.i18n import _
from confer.live.events import Event, conference_room
from confer.places import Place
from confer.policy import Actor
from confer.posts import queries as posts_q
from confer.posts import service as posts
from confer.posts.service import check_body, check_key, present
from confer.threads import queries as q
from confer.urls import url
from confer.validate import Fields


async def list_for_session(ctx: Ctx, place: Place, session: asyncpg.Record) -> list[asyncpg.Record]:
    """The session's threads this reader sees (those awaiting approval: see places.thread_shown)."""
    place.require("conference.read")
    moderator = place.can("moderate", session={"id": session["id"]})
    return await q.list_threads(ctx.pool, session["id"], place.actor.user_id, moderator)


async def create_thread(
    ctx: Ctx, actor: Actor, slug: str, session_id: int, data: dict[str, object]
) -> tuple[int, int, bool]:
    """Start a thread with its opening post; return (thread id, post id, created).

    Organisers and facilitators may prepare threads before their session opens;
    participants (where the session allows) only while it is open. A repeated
    idempotency key returns the thread that key already made.

    The opening post is a post like any reply: the thread is made awaiting it (seen only by
    its author and the session's moderators), then the post goes through the checks and the
    write of every post (confer.posts.service: check_post, do_post, notify_post), so that
    pre-moderation, of the member or of their first posts, holds here too. Written visible,
    it shows the thread; awaiting approval, the thread waits with it (docs/architecture.md,
    "Posts"). Refused, the thread goes.
    """
    place = await places.load(ctx.pool, actor, slug, "conference.read")
    session = await places.fetch_session(ctx.pool, place, session_id)
    place.require("thread.create", session=session)
    f = Fields()
    title = f.text(
        "title", data.get("title"), label=_("Title"), max_len=ctx.settings.title_max_chars
    )
    check_body(f, data.get("body"), ctx.settings.post_max_chars)
    key = check_key(f, data.get("idempotency_key"))
    f.raise_if_any()
    assert actor.user_id is not None
    if key and (existing := await posts_q.fetch_post_by_key(ctx.pool, actor.user_id, key)):
        return existing["thread_id"], existing["id"], False
    staff = place.can("moderate", session=session)
    timebox.check_thread_window(place.conference, session, place.tz, staff=staff)
    thread_id = await q.insert_thread(
        ctx.pool, place.id, session_id, title, actor.user_id, awaiting_approval=True
    )
    try:
        posting = await posts.check_post(ctx, actor, slug, thread_id, data, opening=True)
        written, created = await posts.do_post(ctx, posting)
    except Exception:
        await q.delete_empty_thread(ctx.pool, thread_id)
        raise
    if not created:  # its key made a thread meanwhile
        await q.delete_empty_thread(ctx.pool, thread_id)
        return written["thread_id"], written["id"], False
    first: list[Event] = []
    if not posting.pending:
        thread = await q.fetch_thread(ctx.pool, thread_id, place.id)
        assert thread is not None
        first.append(thread_new_event(place, thread))
    await posts.notify_post(ctx, posting, written, first)
    return thread_id, written["id"], True


@dataclass(frozen=True)
class Page:
    thread: asyncpg.Record
    posts: list[dict]
    page: int
    pages: int
    read_upto: int  # posts with a larger seq are new to this reader


async def read_page(ctx: Ctx, place: Place, thread: asyncpg.Record, page: int) -> Page:
    """One page of a thread (pages by seq, so permalinks stay put), marking what is new.

    Page 0 means "where this reader left off": the page of their first unread post,
    or the first page on a first visit.
    """
    per = ctx.settings.posts_per_page
    pages = max(1, -(-thread["last_seq"] // per))
    user_id = place.actor.user_id
    if not user_id:
        seen = None
    elif "read_seq" in thread.keys():  # fetched with the thread (fetch(..., reader=True))
        seen = thread["read_seq"]
    else:
        seen = await q.fetch_read_seq(ctx.pool, user_id, thread["id"])
    if page == 0:
        page = 1 if seen is None else page_of(min(seen + 1, max(thread["last_seq"], 1)), per)
    page = max(1, min(page, pages))
    rows = await posts_q.list_posts_between(ctx.pool, thread["id"], (page - 1) * per, page * per)
    read_upto = thread["last_seq"] if user_id is None else (seen or 0)
    if user_id is not None and rows and rows[-1]["seq"] > (seen or 0):
        # A benign write on GET, as every forum does: the reader's place in the thread. Only
        # when it moves: a page read again would lock the row and commit a write for nothing.
        await q.upsert_read_seq(ctx.pool, user_id, thread["id"], rows[-1]["seq"])
    staff = place.can("moderate", session={"id": thread["session_id"]})
    posts = [p for row in rows if (p := present(place, row, staff)) is not None]
    return Page(thread, posts, page, pages, read_upto)


def thread_payload(place: Place, thread: asyncpg.Record) -> dict:
    slug = place.conference["slug"]
    return {
        "id": thread["id"],
        "session_id": thread["session_id"],
        "title": thread["title"],
        "post_count": thread["post_count"],
        "last_seq": thread["last_seq"],
        "last_change_seq": thread["last_change_seq"],
        "last_post_at": timefmt.iso(thread["last_post_at"]),
        "created_at": timefmt.iso(thread["created_at"]),
        "posting_state": thread["posting_state"],
        "pinned": thread["pinned_at"] is not None,
        "locked": thread["locked_at"] is not None,
        "lock_reason": thread["lock_reason"],
        "summary_html": thread["summary_html"],
        "opens_at": timefmt.iso(thread["opens_at"]),
        "closes_at": timefmt.iso(thread["closes_at"]),
        "url": url("thread", slug=slug, thread_id=thread["id"]),
    }


def thread_new_event(place: Place, thread: asyncpg.Record) -> Event:
    """A thread everyone may now see: a new one, or one whose opening post was approved."""
    return Event("thread:new", conference_room(place.id), thread_payload(place, thread))


def page_of(seq: int, per: int) -> int:
    return (seq - 1) // per + 1
