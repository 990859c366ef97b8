"""Threads: starting them, listing a session's threads, and the reader's page of posts.

Whether a thread takes posts now is the time box's question (confer.timebox).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from confer import markup, places, timebox, timefmt
from confer.context import Ctx
from confer.live.events import Event, conference_room
from confer.notifications import service as notifications
from confer.places import Place
from confer.policy import Actor
from confer.posts import queries as posts_q
from confer.posts.service import check_body, check_key, new_post_events, payload, present
from confer.threads import queries as q
from confer.validate import Fields


async def list_for_session(ctx: Ctx, place: Place, session: asyncpg.Record) -> list[asyncpg.Record]:
    place.require("conference.read")
    return await q.list_threads(ctx.pool, session["id"], place.actor.user_id)


async def create_thread(
    ctx: Ctx, actor: Actor, slug: str, session_id: int, data: dict[str, object]
) -> tuple[int, int, bool]:
    """Start a thread with its opening post; return (thread id, post id, created).

    Organisers and facilitators may prepare threads before their session opens;
    participants (where the session allows) only while it is open. A repeated
    idempotency key returns the thread that key already made.
    """
    place = await places.load(ctx.pool, actor, slug, "conference.read")
    session = await places.fetch_session(ctx.pool, place, session_id)
    place.require("thread.create", session=session)
    f = Fields()
    title = f.text("title", data.get("title"), label="Title", max_len=ctx.settings.title_max_chars)
    body = check_body(f, data.get("body"), ctx.settings.post_max_chars)
    key = check_key(f, data.get("idempotency_key"))
    f.raise_if_any()
    assert actor.user_id is not None
    if key and (existing := await posts_q.fetch_post_by_key(ctx.pool, actor.user_id, key)):
        return existing["thread_id"], existing["id"], False
    staff = place.member is not None and place.member.facilitates_session(session_id)
    staff = staff or place.can("conference.manage")
    timebox.check_thread_window(place.conference, session, place.tz, staff=staff)
    html = await markup.render(body)
    try:
        async with ctx.pool.acquire() as con, con.transaction():
            thread_id = await q.insert_thread(con, place.id, session_id, title, actor.user_id)
            post_id = await posts_q.insert_post(
                con, thread_id, actor.user_id, None, body, html, key
            )
            # Its starter follows the thread; members mentioned in the opening post are told.
            notices = await notifications.notify_for_post(
                con,
                post_id,
                body,
                thread_id=thread_id,
                conference_id=place.id,
                author_id=actor.user_id,
                reply_to_id=None,
                settings=ctx.settings,
            )
    except asyncpg.UniqueViolationError:
        existing = await posts_q.fetch_post_by_key(ctx.pool, actor.user_id, key or "")
        if existing is None:
            raise
        return existing["thread_id"], existing["id"], False
    thread = await q.fetch_thread(ctx.pool, thread_id, place.id)
    post = await posts_q.fetch_post(ctx.pool, post_id)
    assert thread is not None and post is not None
    await ctx.hub.publish(
        [
            Event("thread:new", conference_room(place.id), thread_payload(place, thread)),
            *new_post_events(place, thread, payload(place, post)),
            *notices,
        ]
    )
    return thread_id, post_id, True


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
        "url": f"/c/{slug}/threads/{thread['id']}",
    }


def page_of(seq: int, per: int) -> int:
    return (seq - 1) // per + 1
