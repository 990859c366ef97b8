"""Transcript downloads from the web and the JSON API: both stream the same service."""

from __future__ import annotations

import asyncio

import aiohttp_jinja2
from aiohttp import web

from confer import places
from confer.api.openapi import ERRORS, INT, SLUG, request_body
from confer.conferences import service as conferences
from confer.errors import Forbidden, Invalid, Unauthorized, Unavailable
from confer.exports import service
from confer.exports.writers import FORMATS
from confer.i18n import LANGUAGES, _
from confer.keys import actor_key, ctx_key, export_gate_key
from confer.routing import Call, api, page
from confer.web import read_form


def _slug(request: web.Request) -> str:
    return request.match_info["slug"]


CHUNK = 64 * 1024
# A client that takes longer than this to accept 64 KiB is cut off (it holds no database
# connection by then, but it would still hold a file and a task).
WRITE_TIMEOUT_SECONDS = 60


class ExportGate:
    """How many exports may be reading the database at once: a few, so exports can never take
    more than a quarter of the pool, whatever arrives; the next one is told to come back."""

    def __init__(self) -> None:
        self._slots: asyncio.Semaphore | None = None

    def slots(self, pool_size: int) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(1, pool_size // 4))
        return self._slots


async def _download(request: web.Request, data: dict[str, object]) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    slots = request.app[export_gate_key].slots(ctx.settings.pool_max_size)
    if slots.locked():
        raise Unavailable(
            _("Several transcripts are being prepared right now. Try again in a moment."),
            retry_after=10,
        )
    async with slots:
        place, req = await service.start(ctx.pool, request[actor_key], _slug(request), data)
        if req.bundle_files:
            spooled = await service.spool_zip(ctx.pool, place, req)
        else:
            spooled = await service.spool(ctx.pool, place, req)
    with spooled:
        spooled.seek(0, 2)
        size = spooled.tell()
        spooled.seek(0)
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip"
                if req.bundle_files
                else f"{FORMATS[req.format]}; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{service.filename(place, req)}"',
                "Cache-Control": "no-store",
            }
        )
        response.content_length = size
        await response.prepare(request)
        while chunk := spooled.read(CHUNK):
            await asyncio.wait_for(response.write(chunk), WRITE_TIMEOUT_SECONDS)
        await response.write_eof()
    return response


async def show_export(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place = await places.load(ctx.pool, request[actor_key], _slug(request), "conference.see")
    may_export = place.can("conference.manage") or (
        place.conference["facilitators_may_export"] and place.can("moderate.any")
    )
    if not may_export:
        if not request[actor_key].authenticated:
            raise Unauthorized()
        raise Forbidden(_("Only organisers can export transcripts."))
    return await _page(request, place, {})


async def _page(
    request: web.Request, place: places.Place, errors: dict[str, str], status: int = 200
) -> web.Response:
    ctx = request.app[ctx_key]
    conference = await service.conference_languages(ctx.pool, place)
    languages = service.export_languages(conference)
    return aiohttp_jinja2.render_template(
        "exports/show.html",
        request,
        {
            "place": place,
            "c": conference,  # with its languages (for its and its sessions' titles)
            "sessions": await conferences.programme(ctx, place),
            "languages": languages,
            "language_options": [(code, LANGUAGES[code]) for code in languages],
            "errors": errors,
        },
        status=status,
    )


async def export(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    try:
        return await _download(request, form)
    except Invalid as e:
        ctx = request.app[ctx_key]
        place = await places.load(ctx.pool, request[actor_key], _slug(request), "conference.see")
        return await _page(request, place, e.fields, e.status)


async def api_export(call: Call) -> web.StreamResponse:
    return await _download(call.request, call.body)


def setup(app: web.Application) -> None:
    app[export_gate_key] = ExportGate()
    page(app, "GET", "export", show_export)
    page(app, "POST", "export", export, limit="export")
    api(app, "POST", "/conferences/{slug}/exports", api_export, limit="export", doc={
        "summary": "Download a transcript (organisers; facilitators for their sessions where "
                   "allowed)",
        "parameters": [SLUG],
        "requestBody": request_body({
            "type": "object", "required": ["format"],
            "properties": {"format": {"enum": ["md", "html", "csv", "json"]},
                           "session_id": INT, "thread_id": INT,
                           "include_hidden": {"type": "boolean"},
                           "lang": {"enum": ["en", "cy"], "description":
                                    "The transcript's language: the conference's (the "
                                    "default), or either language of a bilingual conference"},
                           "moderation_log": {"type": "boolean"},
                           "bundle_files": {"type": "boolean", "description":
                                            "A zip of the transcript and the files it names"}}}),
        "responses": {"200": {
            "description": "The transcript, streamed; JSON follows docs/transcript.schema.json"},
            **ERRORS}})  # fmt: skip
