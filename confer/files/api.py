"""The JSON API for files: list a session's or a post's files, upload one (multipart/form-data:
`title`, `alt`, then `file` last), delete one. The same service as the pages
(confer.files.service); the file's bytes are fetched from its `url`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from confer import places
from confer.api.contract import Setting
from confer.api.openapi import ERRORS, SLUG, id_param, obj, request_body, returns
from confer.errors import NotFound
from confer.files import kinds, service
from confer.files.views import read_upload
from confer.routing import Call, api, created
from confer.web import check_upload_csrf, csrf_refused

SLUG_OF = {
    "session": "SELECT c.slug FROM sessions s JOIN conferences c ON c.id = s.conference_id "
    "WHERE s.id = $1",
    "post": "SELECT c.slug FROM posts p JOIN conferences c ON c.id = p.conference_id "
    "WHERE p.id = $1",
    "file": "SELECT c.slug FROM files f JOIN conferences c ON c.id = f.conference_id "
    "WHERE f.id = $1",
}


async def _slug(call: Call, what: str, param: str) -> tuple[str, int]:
    ident = call.id(param)
    slug = await call.ctx.pool.fetchval(SLUG_OF[what], ident)
    if slug is None:
        raise NotFound()
    return slug, ident


async def list_session_files(call: Call) -> dict[str, Any]:
    slug, session_id = await _slug(call, "session", "session_id")
    place = await places.load(call.ctx.pool, call.actor, slug, "conference.read")
    session = await places.fetch_session(call.ctx.pool, place, session_id)
    files = await service.for_sessions(call.ctx, place, [session["id"]])
    return {"files": [_json(f) for f in files.get(session_id, [])]}


async def list_post_files(call: Call) -> dict[str, Any]:
    slug, post_id = await _slug(call, "post", "post_id")
    place = await places.load(call.ctx.pool, call.actor, slug, "conference.read")
    from confer.posts import queries as posts_q

    post = await posts_q.fetch_post(call.ctx.pool, post_id)
    if post is None or post["conference_id"] != place.id or not service.post_shown(place, post):
        raise NotFound()
    files = await service.for_posts(call.ctx, place, [post_id])
    return {"files": [_json(f) for f in files.get(post_id, [])]}


async def _upload(call: Call, what: str) -> web.StreamResponse | Any:
    param = f"{what}_id"
    slug, ident = await _slug(call, what, param)
    fields, incoming = await read_upload(call.request)
    if not check_upload_csrf(call.request, fields):
        return await csrf_refused(call.request)
    stored = await service.upload(
        call.ctx,
        call.actor,
        slug,
        fields=fields,
        incoming=incoming or service.Incoming("", _empty()),
        **{param: ident},
    )
    return created(_json(stored))


async def _empty() -> Any:
    return
    yield b""


async def upload_session_file(call: Call) -> Any:
    return await _upload(call, "session")


async def upload_post_file(call: Call) -> Any:
    return await _upload(call, "post")


upload_session_file.streams_upload = True  # type: ignore[attr-defined]
upload_post_file.streams_upload = True  # type: ignore[attr-defined]


async def delete_file(call: Call) -> dict[str, Any]:
    slug, file_id = await _slug(call, "file", "file_id")
    await service.delete(call.ctx, call.actor, slug, file_id)
    return {"deleted": file_id}


def _json(f: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "title", "alt", "filename", "content_type", "kind", "size", "scan_state")
    out = {k: f[k] for k in keep}
    out.update(
        session_id=f["session_id"], post_id=f["post_id"], url=f["url"], created_at=f["created_at"]
    )
    return out


FILE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "alt": {"type": "string", "description": "The text alternative (images)"},
        "filename": {"type": "string"},
        "content_type": {"type": "string", "description": "Decided from the content"},
        "kind": {"enum": ["image", "pdf", "office", "text"]},
        "size": {"type": "integer"},
        "scan_state": {
            "enum": ["pending", "clean", "unscanned"],
            "description": "pending: being checked for viruses, not served yet; unscanned: no "
            "scanner is configured",
        },
        "session_id": {"type": ["integer", "null"]},
        "post_id": {"type": ["integer", "null"]},
        "url": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
FILES = {"type": "object", "properties": {"files": {"type": "array", "items": FILE_SCHEMA}}}
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "title": {"type": "string", "maxLength": 200},
                    "alt": {
                        "type": "string",
                        "maxLength": 1000,
                        "description": "Required for images",
                    },
                    "file": {"type": "string", "format": "binary"},
                },
            },
            "encoding": {"file": {"contentType": "application/octet-stream"}},
        }
    },
}
UPLOAD_DESCRIPTION = (
    "Send the fields before the file part (fields after it are not read). Refused with 413 "
    "past the file size limit or a quota (before the file is read, when Content-Length says "
    "so), 422 for a type not allowed, a missing text alternative for an image, or a file the "
    "virus scanner found a virus in. The file is served from its url once scanned clean."
)


async def patch_settings(call: Call) -> dict[str, Any]:
    """Files in posts: the console's form, given the current settings with the changes (the
    form sends every field; an unticked box is absent)."""
    place = await places.load(call.ctx.pool, call.actor, call.slug, "conference.manage")
    current = service.settings_of(place.conference)
    merged = {**current, **call.body}
    form: dict[str, object] = {
        "post_files_enabled": merged["post_files_enabled"],
        "post_file_max_mb": merged["post_file_max_mb"],
        "post_files_max": merged["post_files_max"],
        **{f"kind_{k}": k in merged["post_file_kinds"] for k in kinds.KINDS},
    }
    return await service.update_settings(call.ctx, call.actor, call.slug, form)


FILES_SETTINGS = {
    "post_files_enabled": {"type": "boolean", "description": "members may add files to posts"},
    "post_file_max_mb": {
        "type": "integer",
        "minimum": 1,
        "maximum": Setting("post_file_max_mb_limit"),
        "description": "the largest file, in MB (at most the site's file limit)",
    },
    "post_files_max": {
        "type": "integer",
        "minimum": 1,
        "maximum": 20,
        "description": "how many files one post can have",
    },
    "post_file_kinds": {
        "type": "array",
        "items": {"enum": list(kinds.KINDS)},
        "minItems": 1,
        "uniqueItems": True,
        "description": "the kinds of file allowed",
    },
}


def setup(app: web.Application) -> None:
    # fmt: off
    api(app, "GET", "/sessions/{session_id}/files", list_session_files, doc={
        "summary": "Papers and slides of a session",
        "parameters": [id_param("session_id")],
        "responses": {"200": returns(FILES), **ERRORS}})
    api(app, "POST", "/sessions/{session_id}/files", upload_session_file, limit="post", doc={
        "summary": "Add a paper, slides or a picture to a session",
        "description": UPLOAD_DESCRIPTION,
        "parameters": [id_param("session_id")],
        "requestBody": UPLOAD_BODY,
        "responses": {"201": returns(FILE_SCHEMA, "Created"), **ERRORS}})
    api(app, "GET", "/posts/{post_id}/files", list_post_files, doc={
        "summary": "Files of a post",
        "parameters": [id_param("post_id")],
        "responses": {"200": returns(FILES), **ERRORS}})
    api(app, "POST", "/posts/{post_id}/files", upload_post_file, limit="post", doc={
        "summary": "Add a file to one's own post (where the conference allows files in posts)",
        "description": UPLOAD_DESCRIPTION,
        "parameters": [id_param("post_id")],
        "requestBody": UPLOAD_BODY,
        "responses": {"201": returns(FILE_SCHEMA, "Created"), **ERRORS}})
    api(app, "PATCH", "/conferences/{slug}/settings/files", patch_settings, doc={
        "summary": "Change the settings for files in posts (organisers)",
        "description": "The console's form for files in posts: on or off, the largest file, "
        "how many on one post, and the kinds allowed (image, pdf, office, text). Answers the "
        "saved settings ({} reads them).",
        "parameters": [SLUG],
        "requestBody": request_body({
            "type": "object", "properties": FILES_SETTINGS, "additionalProperties": False,
            "description": "Any of the settings; those left out stay as they are"}),
        "responses": {"200": returns(obj(FILES_SETTINGS)), **ERRORS}})
    api(app, "DELETE", "/files/{file_id}", delete_file, doc={
        "summary": "Delete a file (its uploader, an organiser, or the session's speakers and "
        "facilitators)",
        "parameters": [id_param("file_id")],
        "responses": {"200": returns({"type": "object"}), **ERRORS}})
    # fmt: on
