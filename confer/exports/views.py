"""Transcript downloads from the web and the JSON API: both stream the same service."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from confer.conferences import service as conferences
from confer.errors import Forbidden, Invalid, Unauthorized
from confer.exports import service
from confer.exports.writers import FORMATS
from confer.keys import actor_key, ctx_key
from confer.web import read_form, read_json


def _slug(request: web.Request) -> str:
    return request.match_info["slug"]


async def _download(request: web.Request, data: dict[str, object]) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    place, req = await service.start(ctx.pool, request[actor_key], _slug(request), data)
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{FORMATS[req.format]}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{service.filename(place, req)}"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    async for chunk in service.stream(ctx.pool, place, req):
        if chunk:
            await response.write(chunk.encode())
    await response.write_eof()
    return response


async def show_export(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place = await conferences.load(ctx.pool, request[actor_key], _slug(request), "conference.see")
    may_export = place.can("conference.manage") or (
        place.conference["facilitators_may_export"] and place.can("moderate.any")
    )
    if not may_export:
        if not request[actor_key].authenticated:
            raise Unauthorized()
        raise Forbidden("Only organisers can export transcripts.")
    sessions = await conferences.programme(ctx, place)
    return aiohttp_jinja2.render_template(
        "exports/show.html",
        request,
        {"place": place, "c": place.conference, "sessions": sessions, "errors": {}},
    )


async def export(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    try:
        return await _download(request, form)
    except Invalid as e:
        ctx = request.app[ctx_key]
        place = await conferences.load(
            ctx.pool, request[actor_key], _slug(request), "conference.see"
        )
        return aiohttp_jinja2.render_template(
            "exports/show.html",
            request,
            {
                "place": place,
                "c": place.conference,
                "errors": e.fields,
                "sessions": await conferences.programme(ctx, place),
            },
            status=e.status,
        )


async def api_export(request: web.Request) -> web.StreamResponse:
    return await _download(request, await read_json(request))


def setup(app: web.Application) -> None:
    app.router.add_get("/c/{slug}/export", show_export, name="export")
    app.router.add_post("/c/{slug}/export", export)
    app.router.add_post("/api/v1/conferences/{slug}/exports", api_export)
