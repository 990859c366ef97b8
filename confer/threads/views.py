"""Pages for sessions, threads and posts. Posting works without JavaScript:
forms post, then redirect to the new post."""

from __future__ import annotations

import uuid

import aiohttp_jinja2
import asyncpg
from aiohttp import web

from confer import banners, places
from confer.calendars import service as calendars
from confer.conferences import service as conferences
from confer.errors import Closed, ConferError, Conflict, Invalid, TooManyRequests
from confer.files import service as files
from confer.i18n import gettext
from confer.keys import actor_key, ctx_key
from confer.moderation import queries as moderation_q
from confer.moderation.service import hide_reasons
from confer.places import Place
from confer.posts import queries as posts_q
from confer.posts import service as posts
from confer.routing import page
from confer.threads import service
from confer.threads.service import page_of
from confer.urls import url
from confer.validate import parse_id
from confer.web import int_param, query_int, read_form, redirect


def _slug(request: web.Request) -> str:
    return request.match_info["slug"]


async def _session_page(
    request: web.Request,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    status: int = 200,
    file_errors: dict | None = None,
    file_values: dict | None = None,
) -> web.Response:
    ctx = request.app[ctx_key]
    place = await places.load(ctx.pool, request[actor_key], _slug(request), "conference.see")
    session = await places.fetch_session(ctx.pool, place, int_param(request, "session_id"))
    place.require("conference.read")
    threads = await service.list_for_session(ctx, place, session)
    speakers = (await conferences.speakers_by_session(ctx, place)).get(session["id"], [])
    return aiohttp_jinja2.render_template(
        "threads/session.html",
        request,
        {
            "place": place,
            "c": place.conference,
            "s": session,
            "threads": threads,
            "speakers": speakers,
            "can_start": place.can("thread.create", session=session),
            "starred": await calendars.star_ids(ctx, place),
            "joining": await calendars.joining_for_page(ctx, place, session),
            "errors": errors or {},
            "values": values or {"idempotency_key": str(uuid.uuid4())},
            **await files.session_context(ctx, place, session, file_errors, file_values),
        },
        status=status,
    )


# The session page with the "Papers and slides" form's errors (confer.files.views).
session_page = _session_page


async def show_session(request: web.Request) -> web.Response:
    return await _session_page(request)


async def create_thread(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        thread_id, post_id, _ = await service.create_thread(
            ctx, request[actor_key], _slug(request), int_param(request, "session_id"), form
        )
    except (Invalid, Closed) as e:
        errors = e.fields or {"body": e.message}
        return await _session_page(request, errors=errors, values=form, status=e.status)
    except ConferError as e:
        if e.status == 413:
            return await _session_page(request, errors=e.fields, values=form, status=413)
        raise
    raise redirect(f"{url('thread', slug=_slug(request), thread_id=thread_id)}#post-{post_id}")


async def _thread_page(
    request: web.Request,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    status: int = 200,
    message: str | None = None,
) -> web.Response:
    ctx = request.app[ctx_key]
    place = await places.load(ctx.pool, request[actor_key], _slug(request), "conference.see")
    thread = await places.fetch_thread(
        ctx.pool, place, int_param(request, "thread_id"), reader=True
    )
    page_no = query_int(request, "page", 0, lo=0, hi=1_000_000)
    page = await service.read_page(ctx, place, thread, page_no)
    reply_to = request.query.get("reply_to", "")
    can_moderate = place.can("moderate", session={"id": thread["session_id"]})
    pinned = [
        p
        for r in (await posts_q.list_pinned(ctx.pool, thread["id"]) if thread["has_pinned"] else [])
        if (p := posts.present(place, r)) is not None
    ]
    # The green banner after an action here (confer.banners): the member's own deletion (with
    # "Undo" while it can be undone) or a facilitator's action, beside the post it was on.
    done_message = banners.done_message(request, "thread") or (
        banners.done_message(request, "moderation") if can_moderate else None
    )
    done_post_id = parse_id(request.query.get("post", "")) if done_message else None
    undo_post_id = None
    if done_post_id is not None and banners.done_key(request, "thread") == "post-deleted":
        row = await posts_q.fetch_post(ctx.pool, done_post_id)
        if row is not None and row["thread_id"] == thread["id"]:
            mine = posts.present(place, row)
            if mine is not None and await posts.can_undo_delete(ctx, place, mine):
                undo_post_id = done_post_id
    await files.attach_to_posts(ctx, place, page.posts + pinned)
    tools = {}
    if can_moderate:
        tools = {
            "hide_reasons": hide_reasons(),
            "move_targets": await moderation_q.list_move_targets(ctx.pool, place.id, thread["id"]),
            "summaries": await moderation_q.list_summaries(ctx.pool, thread["id"]),
        }
    values = values or {
        "idempotency_key": str(uuid.uuid4()),
        "reply_to": reply_to if parse_id(reply_to) is not None else "",
    }
    return aiohttp_jinja2.render_template(
        "threads/show.html",
        request,
        {
            "place": place,
            "c": place.conference,
            "t": thread,
            "page": page,
            "can_post": place.can("post.create"),
            "errors": errors or {},
            "message": message,
            "values": values,
            "reply_to_name": await _reply_to_name(ctx.pool, place, thread, values.get("reply_to")),
            "per_page": ctx.settings.posts_per_page,
            "can_moderate": can_moderate,
            "pinned": pinned,
            "tools": tools,
            "flagged": request.query.get("flagged"),
            "done_message": done_message,
            "done_post_id": done_post_id,
            "undo_post_id": undo_post_id,
            **_header_state(place, thread),
        },
        status=status,
    )


async def _reply_to_name(
    pool: asyncpg.Pool, place: Place, thread: asyncpg.Record, reply_to: object
) -> str | None:
    """Whose post the composer replies to ("Replying to Pat Jones"), when this reader may see
    that post in this thread; None otherwise (the page then says "an earlier post")."""
    post_id = parse_id(str(reply_to or ""))
    if post_id is None:
        return None
    row = await posts_q.fetch_post(pool, post_id)
    if row is None or row["thread_id"] != thread["id"]:
        return None
    post = posts.present(place, row)
    if post is None:
        return None
    if not post["author_name"]:
        return gettext("Former participant")
    return " ".join(filter(None, (post["author_title"], post["author_name"])))


def _header_state(place: Place, thread: asyncpg.Record) -> dict[str, object]:
    """What base.html's header shows a signed-in reader, read with the thread (see
    confer.notifications.views.header_context, which skips its query on this page)."""
    if not place.actor.authenticated:
        return {}
    return {"unread_notifications": thread["unread"], "thread_following": bool(thread["following"])}


async def show_thread(request: web.Request) -> web.Response:
    return await _thread_page(request)


async def create_post(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        post, _ = await posts.create_post(
            ctx, request[actor_key], _slug(request), int_param(request, "thread_id"), form
        )
    except (Invalid, Closed) as e:
        # The text is kept: the page is shown again with what was typed.
        errors = e.fields or {"body": e.message}
        return await _thread_page(request, errors=errors, values=form, status=e.status)
    except ConferError as e:
        if e.status in (413, 429):
            response = await _thread_page(
                request, errors=e.fields or {"body": e.message}, values=form, status=e.status
            )
            if isinstance(e, TooManyRequests):
                response.headers["Retry-After"] = str(e.retry_after)
            return response
        raise
    page = page_of(post["seq"], ctx.settings.posts_per_page)
    flagged = "&flagged=1" if request.query.get("flagged") == "1" else ""
    raise redirect(
        f"{url('thread', slug=_slug(request), thread_id=post['thread_id'])}"
        f"?page={page}{flagged}#post-{post['id']}"
    )


async def show_post(request: web.Request) -> web.StreamResponse:
    """A post's permalink: redirect to its place in its thread."""
    ctx = request.app[ctx_key]
    place, post = await posts.load_post(ctx, request[actor_key], int_param(request, "post_id"))
    if place.conference["slug"] != _slug(request):
        raise web.HTTPNotFound()
    page = page_of(post["seq"], ctx.settings.posts_per_page)
    flagged = "&flagged=1" if request.query.get("flagged") == "1" else ""
    raise redirect(
        f"{url('thread', slug=_slug(request), thread_id=post['thread_id'])}"
        f"?page={page}{flagged}#post-{post['id']}"
    )


async def _edit_page(
    request: web.Request,
    *,
    errors: dict | None = None,
    body: str | None = None,
    status: int = 200,
) -> web.Response:
    ctx = request.app[ctx_key]
    place, post = await posts.load_post(ctx, request[actor_key], int_param(request, "post_id"))
    if place.conference["slug"] != _slug(request):
        raise web.HTTPNotFound()
    place.require("post.edit", post=post)
    return aiohttp_jinja2.render_template(
        "threads/edit_post.html",
        request,
        {
            "place": place,
            "c": place.conference,
            "post": post,
            "errors": errors or {},
            "body": post["body_md"] if body is None else body,
        },
        status=status,
    )


async def show_edit_post(request: web.Request) -> web.Response:
    return await _edit_page(request)


async def edit_post(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        post = await posts.edit_post(ctx, request[actor_key], int_param(request, "post_id"), form)
    except (Invalid, Closed) as e:
        return await _edit_page(
            request,
            errors=e.fields or {"body": e.message},
            body=form.get("body", ""),
            status=e.status,
        )
    except ConferError as e:
        if e.status == 413:
            return await _edit_page(request, errors=e.fields, body=form.get("body", ""), status=413)
        raise
    raise redirect(post["url"])


async def show_delete_post(request: web.Request) -> web.Response:
    """ "Delete this post?": the post and a button (no JavaScript needed). POST deletes."""
    ctx = request.app[ctx_key]
    place, post = await posts.load_post(ctx, request[actor_key], int_param(request, "post_id"))
    if place.conference["slug"] != _slug(request):
        raise web.HTTPNotFound()
    place.require("post.delete", post=post)
    return aiohttp_jinja2.render_template(
        "threads/delete_post.html",
        request,
        {
            "place": place,
            "c": place.conference,
            "post": post,
            "undo_minutes": max(ctx.settings.undo_delete_seconds // 60, 1),
        },
    )


def _done_at_post(request: web.Request, post: dict, key: str) -> str:
    """The post's place in its thread, with the thread page's banner `key` beside it: the
    address lands on that banner (`#done`, drawn inside the post), which takes the focus."""
    ctx = request.app[ctx_key]
    page = page_of(post["seq"], ctx.settings.posts_per_page)
    thread = url("thread", slug=_slug(request), thread_id=post["thread_id"])
    return f"{thread}?page={page}&done={key}&post={post['id']}#done"


async def delete_post(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    post = await posts.delete_post(ctx, request[actor_key], int_param(request, "post_id"))
    raise redirect(_done_at_post(request, post, "post-deleted"))


async def undelete_post(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    post_id = int_param(request, "post_id")
    try:
        post = await posts.undo_delete(ctx, request[actor_key], post_id)
    except (Closed, Conflict) as e:
        return aiohttp_jinja2.render_template(
            "moderation/problem.html",
            request,
            {
                "message": e.message,
                "errors": {},
                "back": url("post", slug=_slug(request), post_id=post_id),
            },
            status=e.status,
        )
    raise redirect(_done_at_post(request, post, "post-restored"))


def setup(app: web.Application) -> None:
    page(app, "GET", "session", show_session)
    page(app, "POST", "create_thread", create_thread, limit="post")
    page(app, "GET", "thread", show_thread)
    page(app, "POST", "create_post", create_post, limit="post")
    page(app, "GET", "post", show_post)
    page(app, "GET", "edit_post", show_edit_post)
    page(app, "POST", "edit_post", edit_post, limit="edit")
    page(app, "GET", "delete_post", show_delete_post)
    page(app, "POST", "delete_post", delete_post)
    page(app, "POST", "undelete_post", undelete_post)
