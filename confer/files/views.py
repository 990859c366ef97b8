"""Pages and forms for files: adding a file to a session or a post (a plain multipart form,
read as a stream), deleting one, and serving one safely.

Serving: the type is the one decided from the content when the file was stored; anything but
an image is an attachment; every file response carries `nosniff` and a `sandbox` CSP, so even
a file opened on its own can run no script on Confer's origin.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from confer import places
from confer.conferences import console
from confer.errors import BadRequest, ConferError, Invalid
from confer.files import kinds, service, storage
from confer.i18n import _
from confer.keys import actor_key, ctx_key
from confer.routing import page
from confer.urls import url
from confer.web import check_upload_csrf, csrf_refused, int_param, read_form, redirect

log = logging.getLogger(__name__)

# Each text field of an upload form (the token, a title, a text alternative) is short.
FIELD_MAX_BYTES = 8 * 1024
READ_BYTES = 64 * 1024

FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'none'; sandbox; frame-ancestors 'none'"


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(READ_BYTES):
        yield chunk


async def read_upload(request: web.Request) -> tuple[dict[str, str], service.Incoming | None]:
    """The form's fields up to its `file` part, and that part as a stream (None if there is
    none). Fields after the file are not read: forms put the file last."""
    if request.content_type != "multipart/form-data":
        raise BadRequest(_("Send the file as a multipart form (multipart/form-data)."))
    try:
        reader = await request.multipart()
        fields: dict[str, str] = {}
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise BadRequest(_("The form could not be read."))
            if part.name == "file":
                declared = request.content_length
                return fields, service.Incoming(part.filename or "", _part_chunks(part), declared)
            raw = bytearray()
            while chunk := await part.read_chunk(READ_BYTES):
                raw += chunk
                if len(raw) > FIELD_MAX_BYTES:
                    raise BadRequest(_("A field of the form is too long."))
            text = raw.decode("utf-8")
            if "\x00" in text:
                raise BadRequest(_("The form contains a NUL character."))
            if part.name:
                fields.setdefault(part.name, text)
    except UnicodeDecodeError:
        raise BadRequest(_("The form could not be read: it is not valid UTF-8.")) from None
    except (ValueError, HttpProcessingError):  # a malformed multipart body, or part headers
        raise BadRequest(_("The form could not be read.")) from None
    return fields, None


async def upload_session_file(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    slug = request.match_info["slug"]
    session_id = int_param(request, "session_id")
    fields, incoming = await read_upload(request)
    if not check_upload_csrf(request, fields):
        return await csrf_refused(request)
    try:
        stored = await service.upload(
            ctx,
            request[actor_key],
            slug,
            session_id=session_id,
            fields=fields,
            incoming=incoming or service.Incoming("", _nothing()),
        )
    except ConferError as e:
        if e.status not in (413, 422):
            raise
        errors = e.fields or {"file": e.message}
        return await _session_form(request, errors=errors, values=fields, status=e.status)
    page_name = "panel" if fields.get("back") == "panel" else "session"
    raise redirect(f"{url(page_name, slug=slug, session_id=session_id)}?file={stored['id']}#files")


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


upload_session_file.streams_upload = True  # type: ignore[attr-defined]


async def _session_form(
    request: web.Request, *, errors: dict[str, str], values: dict[str, str], status: int
) -> web.Response:
    """The session page again, with the form's errors and what was typed (the chosen file
    cannot be given back: browsers do not allow it)."""
    from confer.threads import views as thread_views

    return await thread_views.session_page(
        request, file_errors=errors, file_values=values, status=status
    )


async def delete_file(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    slug = request.match_info["slug"]
    form = await read_form(request)
    row = await service.delete(ctx, request[actor_key], slug, int_param(request, "file_id"))
    back = form.get("back", "")
    if row["post_id"] is not None and back == "post_files":
        raise redirect(url("post_files", slug=slug, post_id=row["post_id"]))
    if row["session_id"] is not None and back != "panel":
        raise redirect(f"{url('session', slug=slug, session_id=row['session_id'])}#files")
    if row["session_id"] is not None:
        raise redirect(f"{url('panel', slug=slug, session_id=row['session_id'])}#files")
    raise redirect(f"{url('post', slug=slug, post_id=row['post_id'])}")


async def download_file(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    download = await service.open_for_download(
        ctx, request[actor_key], request.match_info["slug"], int_param(request, "file_id")
    )
    row = download.row
    disposition = "inline" if download.inline else "attachment"
    name = row["filename"]
    response = web.StreamResponse(
        headers={
            "Content-Type": row["content_type"],
            "Content-Disposition": f'{disposition}; filename="{_ascii(name)}"; '
            f"filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": FILE_CSP,
            "Cross-Origin-Resource-Policy": "same-origin",
            # Members-only conferences' files must not stay in a shared cache.
            "Cache-Control": "private, no-cache",
            "ETag": f'"{row["sha256"]}"',
        }
    )
    response.content_length = row["size"]
    if request.headers.get("If-None-Match") == f'"{row["sha256"]}"':
        return web.Response(status=304, headers={"ETag": f'"{row["sha256"]}"'})
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    try:
        async for chunk in service.content(ctx, download):
            await response.write(chunk)
    except storage.Missing:
        log.info("file %s was deleted while it was being sent", row["id"])
        return response
    await response.write_eof()
    return response


def _ascii(name: str) -> str:
    return name.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")


# --- files on posts -------------------------------------------------------------------


async def _post_files_page(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    ctx = request.app[ctx_key]
    slug = request.match_info["slug"]
    place = await places.load(ctx.pool, request[actor_key], slug, "conference.see")
    place.require("conference.read")
    from confer.posts import queries as posts_q

    post = await posts_q.fetch_post(ctx.pool, int_param(request, "post_id"))
    if post is None or post["conference_id"] != place.id:
        raise web.HTTPNotFound()
    place.require("post.attach", post=post)
    files = (await service.for_posts(ctx, place, [post["id"]])).get(post["id"], [])
    c = place.conference
    return aiohttp_jinja2.render_template(
        "files/post_files.html",
        request,
        {
            "place": place,
            "c": c,
            "post": post,
            "files": files,
            "kinds": [_(service.KIND_NAMES[k]) for k in c["post_file_kinds"]],
            "max_text": service.megabytes(
                min(ctx.settings.file_max_bytes, c["post_file_max_mb"] * 1024 * 1024)
            ),
            "errors": errors or {},
            "values": values or {},
        },
        status=status,
    )


async def show_post_files(request: web.Request) -> web.Response:
    return await _post_files_page(request)


async def upload_post_file(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    slug = request.match_info["slug"]
    post_id = int_param(request, "post_id")
    fields, incoming = await read_upload(request)
    if not check_upload_csrf(request, fields):
        return await csrf_refused(request)
    try:
        await service.upload(
            ctx,
            request[actor_key],
            slug,
            post_id=post_id,
            fields=fields,
            incoming=incoming or service.Incoming("", _nothing()),
        )
    except ConferError as e:
        if e.status not in (413, 422):
            raise
        errors = e.fields or {"file": e.message}
        return await _post_files_page(request, errors=errors, values=fields, status=e.status)
    raise redirect(url("post_files", slug=slug, post_id=post_id))


upload_post_file.streams_upload = True  # type: ignore[attr-defined]


async def save_settings(request: web.Request) -> web.StreamResponse:
    """Files in posts, a form of its own on the console's moderation page."""
    ctx = request.app[ctx_key]
    slug = request.match_info["slug"]
    form = await read_form(request)
    try:
        await service.update_settings(ctx, request[actor_key], slug, form)
    except Invalid as e:
        values: dict[str, Any] = dict(form)
        values["post_files_enabled"] = form.get("post_files_enabled") == "on"
        values["kinds"] = [k for k in kinds.KINDS if form.get(f"kind_{k}") == "on"]
        return await console.show_moderation(
            request, errors=e.fields, files_errors=e.fields, files_values=values, status=e.status
        )
    raise redirect(f"{url('manage_moderation', slug=slug)}?done=saved#files-settings")


async def download_my_files(request: web.Request) -> web.StreamResponse:
    """The member's own files, as a zip (the account page, beside the data download)."""
    ctx = request.app[ctx_key]
    spooled = await service.my_files_zip(ctx, request[actor_key])
    with spooled:
        spooled.seek(0, 2)
        size = spooled.tell()
        spooled.seek(0)
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": 'attachment; filename="my-confer-files.zip"',
                "Cache-Control": "no-store",
            }
        )
        response.content_length = size
        await response.prepare(request)
        while chunk := spooled.read(READ_BYTES):
            await response.write(chunk)
        await response.write_eof()
    return response


def setup(app: web.Application) -> None:
    page(app, "GET", "file", download_file)
    page(app, "POST", "session_files", upload_session_file, limit="post")
    page(app, "POST", "delete_file", delete_file)
    page(app, "GET", "post_files", show_post_files)
    page(app, "POST", "post_files", upload_post_file, limit="post")
    page(app, "POST", "manage_files", save_settings)
    page(app, "POST", "account_files", download_my_files, limit="export")
