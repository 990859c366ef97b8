"""Pages and files for calendars: "Add to calendar" (.ics for a session and a programme), the
star buttons and "My programme", the Calendar feed page, and the secret feed itself.
Everything works without JavaScript: forms post, then redirect (or show the new address)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from confer.calendars import service
from confer.errors import Invalid
from confer.keys import actor_key, ctx_key
from confer.routing import page
from confer.urls import url
from confer.web import int_param, read_form, redirect

ICS_TYPE = "text/calendar"


def _ics(body: bytes, filename: str | None) -> web.Response:
    response = web.Response(body=body, content_type=ICS_TYPE, charset="utf-8")
    if filename is not None:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


async def programme_ics(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    slug = request.match_info["slug"]
    body = await service.programme_ics(ctx, request[actor_key], slug)
    return _ics(body, f"{slug}.ics")


async def session_ics(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    session_id = int_param(request, "session_id")
    body = await service.programme_ics(
        ctx, request[actor_key], request.match_info["slug"], session_id
    )
    return _ics(body, f"session-{session_id}.ics")


async def calendar_feed(request: web.Request) -> web.Response:
    """The personal feed. Its address is the secret: no cookie is asked for, nothing cached."""
    body = await service.feed_ics(request.app[ctx_key], request.match_info["token"])
    response = _ics(body, None)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# Where a star button returns to: a code from the form, never an address (no open redirect).
_BACK = {"programme", "session", "panel", "my_programme"}


async def star_session(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    slug = request.match_info["slug"]
    session_id = int_param(request, "session_id")
    form = await read_form(request)
    await service.star(ctx, request[actor_key], slug, session_id, form.get("starred") == "yes")
    back = form.get("back") if form.get("back") in _BACK else "session"
    if back == "programme":
        raise redirect(f"{url('programme', slug=slug)}#session-{session_id}")
    if back == "panel":
        raise redirect(url("panel", slug=slug, session_id=session_id))
    if back == "my_programme":
        raise redirect(url("my_programme"))
    raise redirect(url("session", slug=slug, session_id=session_id))


async def _my_programme_page(
    request: web.Request,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    status: int = 200,
) -> web.Response:
    data = await service.my_programme(request.app[ctx_key], request[actor_key])
    return aiohttp_jinja2.render_template(
        "calendars/my_programme.html",
        request,
        {**data, "errors": errors or {}, "values": values or {"timezone": data["timezone"] or ""}},
        status=status,
    )


async def show_my_programme(request: web.Request) -> web.Response:
    return await _my_programme_page(request)


async def set_my_timezone(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    try:
        await service.set_my_timezone(request.app[ctx_key], request[actor_key], form)
    except Invalid as e:
        return await _my_programme_page(request, errors=e.fields, values=form, status=e.status)
    raise redirect(url("my_programme"))


async def _feed_page(
    request: web.Request, *, address: str | None = None, done: str | None = None
) -> web.Response:
    data = await service.feed_settings(request.app[ctx_key], request[actor_key])
    return aiohttp_jinja2.render_template(
        "calendars/feed.html", request, {**data, "address": address, "done": done}
    )


async def show_feed(request: web.Request) -> web.Response:
    done = request.query.get("done")
    return await _feed_page(request, done=done if done in ("scope", "revoked") else None)


async def new_feed_address(request: web.Request) -> web.Response:
    """Shown once, in the answer to the POST (as API tokens are): never in an address bar."""
    form = await read_form(request)
    address = await service.new_feed_address(request.app[ctx_key], request[actor_key], form)
    return await _feed_page(request, address=address)


async def set_feed_scope(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    await service.set_feed_scope(request.app[ctx_key], request[actor_key], form)
    raise redirect(f"{url('calendar')}?done=scope")


async def revoke_feed(request: web.Request) -> web.StreamResponse:
    await service.revoke_feed(request.app[ctx_key], request[actor_key])
    raise redirect(f"{url('calendar')}?done=revoked")


def setup(app: web.Application) -> None:
    page(app, "GET", "programme_ics", programme_ics)
    page(app, "GET", "session_ics", session_ics)
    page(app, "GET", "calendar_feed", calendar_feed)
    page(app, "POST", "star_session", star_session)
    page(app, "GET", "my_programme", show_my_programme)
    page(app, "POST", "my_timezone", set_my_timezone)
    page(app, "GET", "calendar", show_feed)
    page(app, "POST", "calendar", new_feed_address)
    page(app, "POST", "calendar_scope", set_feed_scope)
    page(app, "POST", "calendar_revoke", revoke_feed)
