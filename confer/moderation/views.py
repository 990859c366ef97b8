"""Moderation over HTTP: the moderation page, form handlers, and the JSON API.

Every handler calls one function of confer.moderation.service.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from confer import timefmt
from confer.conferences import queries as conferences_q
from confer.errors import ConferError, NotFound
from confer.keys import actor_key, ctx_key
from confer.moderation import service
from confer.moderation.service import FLAG_REASONS, HIDE_REASONS
from confer.posts import queries as posts_q
from confer.posts import service as posts
from confer.web import int_param, json_response, read_form, read_json, redirect

API = "/api/v1"


def _slug(request: web.Request) -> str:
    return request.match_info["slug"]


def _back(request: web.Request, fallback: str) -> str:
    """Return to the page the form was on (same site only)."""
    target = request.headers.get("Referer", "")
    host = request.host
    for prefix in (f"http://{host}", f"https://{host}"):
        if target.startswith(prefix + "/"):
            return target[len(prefix) :]
    return fallback


async def _error_page(request: web.Request, e: ConferError, back: str) -> web.Response:
    return aiohttp_jinja2.render_template(
        "moderation/problem.html",
        request,
        {"message": e.message, "errors": e.fields, "back": back},
        status=e.status,
    )


async def _post_here(request: web.Request, post_id: int) -> None:
    """The post must belong to the conference named in the address (else 404)."""
    row = await posts_q.fetch_post(request.app[ctx_key].pool, post_id)
    if row is None:
        raise NotFound()
    conference = await conferences_q.fetch_conference(
        request.app[ctx_key].pool, row["conference_id"]
    )
    if conference is None or conference["slug"] != _slug(request):
        raise NotFound()


async def _thread_here(request: web.Request, thread_id: int) -> None:
    """The thread must belong to the conference named in the address (else 404)."""
    slug = await conferences_q.fetch_slug_of_thread(request.app[ctx_key].pool, thread_id)
    if slug != _slug(request):
        raise NotFound()


# --- pages ------------------------------------------------------------------------------


async def show_moderation(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    data = await service.queue(ctx, request[actor_key], _slug(request))
    place = data["place"]
    return aiohttp_jinja2.render_template(
        "moderation/show.html",
        request,
        {
            **data,
            "c": place.conference,
            "hide_reasons": HIDE_REASONS,
            "flag_reasons": FLAG_REASONS,
        },
    )


async def show_flag(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place, post = await posts.load_post(ctx, request[actor_key], int_param(request, "post_id"))
    if place.conference["slug"] != _slug(request):
        raise NotFound()
    place.require("post.flag", post=post)
    return aiohttp_jinja2.render_template(
        "moderation/flag.html",
        request,
        {
            "place": place,
            "c": place.conference,
            "post": post,
            "reasons": FLAG_REASONS,
            "errors": {},
            "values": {},
        },
    )


async def flag(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    post_id = int_param(request, "post_id")
    await _post_here(request, post_id)
    try:
        await service.flag_post(ctx, request[actor_key], post_id, form)
    except ConferError as e:
        if e.status not in (409, 422):
            raise
        place, post = await posts.load_post(ctx, request[actor_key], post_id)
        return aiohttp_jinja2.render_template(
            "moderation/flag.html",
            request,
            {
                "place": place,
                "c": place.conference,
                "post": post,
                "reasons": FLAG_REASONS,
                "errors": e.fields or {"reason": e.message},
                "values": form,
            },
            status=e.status,
        )
    raise redirect(f"/c/{_slug(request)}/posts/{post_id}?flagged=1")


async def moderate_post_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    post_id = int_param(request, "post_id")
    back = _back(request, f"/c/{_slug(request)}/posts/{post_id}")
    await _post_here(request, post_id)
    try:
        await service.moderate_post(ctx, request[actor_key], post_id, form.get("action", ""), form)
    except ConferError as e:
        if e.status not in (409, 422):
            raise
        return await _error_page(request, e, back)
    raise redirect(back)


async def resolve_flags_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    post_id = int_param(request, "post_id")
    back = _back(request, f"/c/{_slug(request)}/moderation")
    await _post_here(request, post_id)
    try:
        await service.resolve_flags(ctx, request[actor_key], post_id, form)
    except ConferError as e:
        if e.status not in (409, 422):
            raise
        return await _error_page(request, e, back)
    raise redirect(back)


async def moderate_thread_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    thread_id = int_param(request, "thread_id")
    back = _back(request, f"/c/{_slug(request)}/threads/{thread_id}")
    await _thread_here(request, thread_id)
    try:
        await service.moderate_thread(
            ctx, request[actor_key], thread_id, form.get("action", ""), form
        )
    except ConferError as e:
        if e.status not in (409, 422):
            raise
        return await _error_page(request, e, back)
    raise redirect(back)


async def moderate_member_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    back = _back(request, f"/c/{_slug(request)}/moderation")
    try:
        await service.moderate_member(
            ctx,
            request[actor_key],
            _slug(request),
            int_param(request, "user_id"),
            form.get("action", ""),
            form,
        )
    except ConferError as e:
        if e.status not in (409, 422):
            raise
        return await _error_page(request, e, back)
    raise redirect(back)


# --- JSON API ---------------------------------------------------------------------------


async def api_moderate_post(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    result = await service.moderate_post(
        ctx, request[actor_key], int_param(request, "post_id"), str(body.get("action", "")), body
    )
    return json_response(result)


async def api_moderate_thread(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    result = await service.moderate_thread(
        ctx, request[actor_key], int_param(request, "thread_id"), str(body.get("action", "")), body
    )
    return json_response(result)


async def api_flag(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    result = await service.flag_post(ctx, request[actor_key], int_param(request, "post_id"), body)
    return json_response(result, status=201)


async def api_resolve_flags(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    result = await service.resolve_flags(
        ctx, request[actor_key], int_param(request, "post_id"), body
    )
    return json_response(result)


async def api_moderate_member(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    result = await service.moderate_member(
        ctx,
        request[actor_key],
        request.match_info["slug"],
        int_param(request, "user_id"),
        str(body.get("action", "")),
        body,
    )
    return json_response(result)


async def api_queue(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    data = await service.queue(ctx, request[actor_key], request.match_info["slug"])

    def rows(items: list) -> list[dict]:
        out = []
        for r in items:
            d = dict(r)
            for k, v in d.items():
                if hasattr(v, "isoformat"):
                    d[k] = timefmt.iso(v)
            out.append(d)
        return out

    return json_response(
        {
            "pending": rows(data["pending"]),
            "flagged": rows(data["flagged"]),
            "log": rows(data["log"]),
        }
    )


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/c/{slug}/moderation", show_moderation, name="moderation")
    r.add_get("/c/{slug}/posts/{post_id}/flag", show_flag, name="flag_post")
    r.add_post("/c/{slug}/posts/{post_id}/flag", flag)
    r.add_post("/c/{slug}/posts/{post_id}/moderate", moderate_post_form, name="moderate_post")
    r.add_post("/c/{slug}/posts/{post_id}/flags/resolve", resolve_flags_form, name="resolve_flags")
    r.add_post(
        "/c/{slug}/threads/{thread_id}/moderate", moderate_thread_form, name="moderate_thread"
    )
    r.add_post("/c/{slug}/members/{user_id}/moderate", moderate_member_form, name="moderate_member")
    r.add_get(f"{API}/conferences/{{slug}}/moderation", api_queue)
    r.add_post(f"{API}/conferences/{{slug}}/members/{{user_id}}/moderation", api_moderate_member)
    r.add_post(f"{API}/posts/{{post_id}}/moderation", api_moderate_post)
    r.add_post(f"{API}/posts/{{post_id}}/flags", api_flag)
    r.add_post(f"{API}/posts/{{post_id}}/flags/resolve", api_resolve_flags)
    r.add_post(f"{API}/threads/{{thread_id}}/moderation", api_moderate_thread)
