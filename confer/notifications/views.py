"""Pages for notifications, email preferences and following a thread (all work without JS).

Thin adapters over confer.notifications.service: forms post, then redirect.
"""

from __future__ import annotations

import aiohttp_jinja2
import asyncpg
from aiohttp import web

from confer import banners
from confer.calendars import reminders
from confer.errors import Invalid, Unauthorized
from confer.i18n import _, localized
from confer.keys import actor_key, ctx_key
from confer.notifications import service
from confer.routing import page
from confer.urls import url
from confer.validate import parse_id
from confer.web import int_param, query_int, read_form, redirect

PER_PAGE = 50
NO_HEADER = ("/api/", "/socket.io/", "/static/")


def _require_signed_in(request: web.Request) -> None:
    if not request[actor_key].authenticated:
        raise Unauthorized(_("Sign in to see your notifications."))


async def show_notifications(request: web.Request) -> web.Response:
    _require_signed_in(request)
    ctx = request.app[ctx_key]
    before = query_int(request, "before", 0, lo=0, hi=2**62)
    rows = await service.list_notifications(
        ctx, request[actor_key], before=before or None, limit=PER_PAGE + 1
    )
    items = [service.payload(r) for r in rows[:PER_PAGE]]
    for item, row in zip(items, rows, strict=False):
        item["timezone"] = row["timezone"]
        item["created"] = row["created_at"]
    return aiohttp_jinja2.render_template(
        "notifications/index.html",
        request,
        {
            "items": items,
            "older": items[-1]["id"] if len(rows) > PER_PAGE else None,
            "newest_id": items[0]["id"] if items and not before else None,
            "done_message": banners.done_message(request, "notifications"),
        },
    )


async def open_notification(request: web.Request) -> web.StreamResponse:
    """Opening a notification marks it read, then goes to the post's permalink."""
    _require_signed_in(request)
    ctx = request.app[ctx_key]
    row = await service.mark_read(ctx, request[actor_key], int_param(request, "notification_id"))
    raise redirect(service.payload(row)["url"] or url("notifications"))


async def mark_all_read(request: web.Request) -> web.StreamResponse:
    _require_signed_in(request)
    ctx = request.app[ctx_key]
    form = await read_form(request)
    await service.mark_all_read(ctx, request[actor_key], parse_id(form.get("upto")))
    raise redirect(f"{url('notifications')}?done=read")


async def _settings_page(
    request: web.Request, *, errors: dict | None = None, saved: bool = False, status: int = 200
) -> web.Response:
    ctx = request.app[ctx_key]
    memberships = await service.email_preferences(ctx, request[actor_key])
    return aiohttp_jinja2.render_template(
        "notifications/settings.html",
        request,
        {
            "memberships": memberships,
            "errors": errors or {},
            "saved": saved or request.query.get("saved") == "1",
            **await reminders.settings_context(ctx, request[actor_key]),
        },
        status=status,
    )


async def show_settings(request: web.Request) -> web.Response:
    _require_signed_in(request)
    return await _settings_page(request)


async def save_settings(request: web.Request) -> web.StreamResponse:
    """One form for every conference: a radio group `email-<slug>` each."""
    _require_signed_in(request)
    ctx = request.app[ctx_key]
    actor = request[actor_key]
    form = await read_form(request)
    errors: dict[str, str] = {}
    for m in await service.email_preferences(ctx, actor):
        name = f"email-{m['slug']}"
        value = form.get(name)
        if value is None or value == m["email_notifications"]:
            continue
        try:
            await service.set_email_preference(ctx, actor, m["slug"], value)
        except Invalid:
            errors[name] = _("Select how you want to hear from %(conference)s by email") % {
                "conference": localized(m, "title")
            }
    if errors:
        return await _settings_page(request, errors=errors, status=422)
    raise redirect(f"{url('notification_settings')}?saved=1")


async def follow_thread(request: web.Request) -> web.StreamResponse:
    """The Follow / Unfollow button on a thread page."""
    ctx = request.app[ctx_key]
    form = await read_form(request)
    slug = request.match_info["slug"]
    thread_id = int_param(request, "thread_id")
    following = form.get("following") == "yes"
    await service.set_following(ctx, request[actor_key], slug, thread_id, following)
    page = parse_id(form.get("page"))
    thread = url("thread", slug=slug, thread_id=thread_id)
    raise redirect(f"{thread}{f'?page={page}' if page else ''}#follow")


async def header_context(request: web.Request) -> dict[str, object]:
    """For base.html on every page: the unread count in the header (and, filled in by the
    thread page itself, whether the reader follows the thread). One indexed query, and none
    for the API, the socket, static files, anonymous readers or the thread page (whose thread
    query brings both). A database outage leaves the header without a count (the error page
    must still render)."""
    actor = request.get(actor_key)
    state: dict[str, object] = {"unread_notifications": None, "thread_following": None}
    if actor is None or not actor.authenticated or request.path.startswith(NO_HEADER):
        return state
    route = request.match_info.route
    if route is not None and route.name in ("thread", "create_post"):
        # The thread page reads both with its thread (threads.views._thread_page), and a post
        # that succeeds redirects; an error page there goes without the count.
        return state
    ctx = request.app.get(ctx_key)
    if ctx is None:
        return state
    try:
        state["unread_notifications"] = await service.unread_count(ctx, actor)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        pass
    return state


def setup(app: web.Application) -> None:
    page(app, "GET", "notifications", show_notifications)
    page(app, "POST", "notifications_read", mark_all_read)
    page(app, "GET", "notification_settings", show_settings)
    page(app, "POST", "notification_settings", save_settings)
    page(app, "GET", "notification", open_notification)
    page(app, "POST", "follow_thread", follow_thread)
