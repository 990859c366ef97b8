"""Moderation over HTTP: the moderation page, form handlers, and the JSON API.

Every handler calls one function of confer.moderation.service.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import aiohttp_jinja2
import asyncpg
from aiohttp import web

from confer import banners, timefmt
from confer.api.openapi import (
    ERROR,
    ERRORS,
    INT,
    SCHEMAS,
    SLUG,
    STR,
    action_body,
    id_param,
    obj,
    ref,
    request_body,
    returns,
)
from confer.banners import QUERY_KEYS
from confer.conferences import queries as conferences_q
from confer.errors import ConferError, NotFound
from confer.keys import actor_key, ctx_key
from confer.moderation import service
from confer.moderation.service import flag_reasons, hide_reasons
from confer.posts import queries as posts_q
from confer.posts import service as posts
from confer.posts.service import hidden_reason_text
from confer.reports.service import log_sentence
from confer.routing import Call, Reply, api, created, page
from confer.threads.service import page_of
from confer.urls import url
from confer.web import int_param, read_form, redirect


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


def _done(back: str, key: str, *, post_id: int | None = None) -> str:
    """`back` with the green banner's key (confer.banners, "moderation") and the place to
    land: the banner (`#done`), drawn beside the post on a thread page, which takes the focus."""
    path, _sep, query = back.partition("?")
    query = query.partition("#")[0]
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in QUERY_KEYS]
    kept.append(("done", key))
    if post_id is not None and not path.endswith("/moderation"):
        kept.append(("post", str(post_id)))
    return f"{path}?{urlencode(kept)}#done"


async def _error_page(request: web.Request, e: ConferError, back: str) -> web.Response:
    return aiohttp_jinja2.render_template(
        "moderation/problem.html",
        request,
        {"message": e.message, "errors": e.fields, "back": back},
        status=e.status,
    )


async def _post_here(request: web.Request, post_id: int) -> asyncpg.Record:
    """The post must belong to the conference named in the address (else 404)."""
    row = await posts_q.fetch_post(request.app[ctx_key].pool, post_id)
    if row is None:
        raise NotFound()
    conference = await conferences_q.fetch_conference(
        request.app[ctx_key].pool, row["conference_id"]
    )
    if conference is None or conference["slug"] != _slug(request):
        raise NotFound()
    return row


def _thread_of(request: web.Request, row: asyncpg.Record) -> str:
    """The page of its thread a post is on (where a form without a Referer returns)."""
    page = page_of(row["seq"], request.app[ctx_key].settings.posts_per_page)
    return f"{url('thread', slug=_slug(request), thread_id=row['thread_id'])}?page={page}"


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
            "hide_reasons": hide_reasons(),
            "flag_reasons": flag_reasons(),
            "role_names": service.ROLE_NAMES,
            "status_names": service.STATUS_NAMES,
            "hidden_reason_text": hidden_reason_text,
            "log_sentence": log_sentence,
            "default_hide_reason": service.default_hide_reason,
            "preview": service.preview,
            "done_message": banners.done_message(request, "moderation"),
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
            "reasons": flag_reasons(),
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
                "reasons": flag_reasons(),
                "errors": e.fields or {"reason": e.message},
                "values": form,
            },
            status=e.status,
        )
    raise redirect(f"{url('post', slug=_slug(request), post_id=post_id)}?flagged=1")


async def moderate_post_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    post_id = int_param(request, "post_id")
    row = await _post_here(request, post_id)
    back = _back(request, _thread_of(request, row))
    action = form.get("action", "")
    try:
        post = await service.moderate_post(ctx, request[actor_key], post_id, action, form)
    except ConferError as e:
        if e.status not in (409, 422):
            raise
        return await _error_page(request, e, back)
    if action == "move":  # it left this thread: the banner says where it went
        raise redirect(_done(back, "post-move"))
    moved_on = post["thread_id"] != row["thread_id"]
    raise redirect(_done(back, f"post-{action}", post_id=None if moved_on else post_id))


async def resolve_flags_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    post_id = int_param(request, "post_id")
    back = _back(request, url("moderation", slug=_slug(request)))
    await _post_here(request, post_id)
    try:
        await service.resolve_flags(ctx, request[actor_key], post_id, form)
    except ConferError as e:
        if e.status not in (409, 422):
            raise
        return await _error_page(request, e, back)
    raise redirect(_done(back, f"flags-{form.get('outcome')}", post_id=post_id))


async def moderate_thread_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    thread_id = int_param(request, "thread_id")
    back = _back(request, url("thread", slug=_slug(request), thread_id=thread_id))
    await _thread_here(request, thread_id)
    try:
        await service.moderate_thread(
            ctx, request[actor_key], thread_id, form.get("action", ""), form
        )
    except ConferError as e:
        if e.status not in (409, 422):
            raise
        return await _error_page(request, e, back)
    raise redirect(_done(back, f"thread-{form.get('action', '')}"))


async def moderate_member_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    back = _back(request, url("moderation", slug=_slug(request)))
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
    raise redirect(_done(back, f"member-{form.get('action', '')}"))


# --- JSON API ---------------------------------------------------------------------------


async def api_moderate_post(call: Call) -> dict:
    return await service.moderate_post(
        call.ctx, call.actor, call.id("post_id"), str(call.body.get("action", "")), call.body
    )


async def api_moderate_thread(call: Call) -> dict:
    return await service.moderate_thread(
        call.ctx, call.actor, call.id("thread_id"), str(call.body.get("action", "")), call.body
    )


async def api_flag(call: Call) -> Reply:
    return created(await service.flag_post(call.ctx, call.actor, call.id("post_id"), call.body))


async def api_resolve_flags(call: Call) -> dict:
    return await service.resolve_flags(call.ctx, call.actor, call.id("post_id"), call.body)


async def api_moderate_member(call: Call) -> dict:
    return await service.moderate_member(
        call.ctx,
        call.actor,
        call.slug,
        call.id("user_id"),
        str(call.body.get("action", "")),
        call.body,
    )


async def api_queue(call: Call) -> dict:
    data = await service.queue(call.ctx, call.actor, call.slug)

    def rows(items: list) -> list[dict]:
        out = []
        for r in items:
            d = dict(r)
            for k, v in d.items():
                if hasattr(v, "isoformat"):
                    d[k] = timefmt.iso(v)
            out.append(d)
        return out

    return {
        "pending": rows(data["pending"]),
        "flagged": rows(data["flagged"]),
        "log": rows(data["log"]),
    }


# The thread as it now is, as its live `thread:updated` event carries it (docs/live.md).
_MODERATED_THREAD = obj(
    {
        **SCHEMAS["Thread"]["properties"],
        "thread_id": INT,
        "change": {"enum": list(service.THREAD_ACTIONS), "description": "the action done"},
    }
)


# fmt: off
def setup(app: web.Application) -> None:
    page(app, "GET", "moderation", show_moderation)
    page(app, "GET", "flag_post", show_flag)
    page(app, "POST", "flag_post", flag)
    page(app, "POST", "moderate_post", moderate_post_form)
    page(app, "POST", "resolve_flags", resolve_flags_form)
    page(app, "POST", "moderate_thread", moderate_thread_form)
    page(app, "POST", "moderate_member", moderate_member_form)
    api(app, "GET", "/conferences/{slug}/moderation", api_queue, doc={
        "summary": "Moderation queue: pending and reported posts, and the log",
        "parameters": [SLUG], "responses": {"200": returns({"type": "object"}), **ERRORS}})
    api(app, "POST", "/conferences/{slug}/members/{user_id}/moderation", api_moderate_member,
        doc={
        "summary": "mute (minutes, reason), unmute, premoderate, unpremoderate, remove (reason)",
        "parameters": [SLUG, id_param("user_id")],
        "requestBody": action_body(service.MEMBER_ACTIONS),
        "responses": {"200": returns({"type": "object"}), **ERRORS}})
    api(app, "POST", "/posts/{post_id}/moderation", api_moderate_post, doc={
        "summary": "hide (reason), restore, approve, reject (reason), pin, unpin, "
                   "move (to_thread_id)",
        "parameters": [id_param("post_id")], "requestBody": action_body(service.POST_ACTIONS),
        "responses": {"200": returns(ref("Post")), **ERRORS}})
    api(app, "POST", "/posts/{post_id}/flags", api_flag, doc={
        "summary": "Report a post once: reason (off_topic, disrespectful, personal_information, "
                   "spam, other) and a note",
        "parameters": [id_param("post_id")],
        "requestBody": request_body({
            "type": "object", "required": ["reason"],
            "properties": {"reason": {"enum": list(service.FLAG_REASONS)},
                           "note": {"type": "string", "maxLength": service.FLAG_NOTE_MAX}}}),
        "responses": {"201": returns({"type": "object"}), "409": ERROR, **ERRORS}})
    api(app, "POST", "/posts/{post_id}/flags/resolve", api_resolve_flags, doc={
        "summary": "Resolve a post's reports: outcome keep, or hide with a reason",
        "parameters": [id_param("post_id")],
        "requestBody": request_body({
            "type": "object", "required": ["outcome"],
            "properties": {"outcome": {"enum": ["keep", "hide"]}, "reason": STR}}),
        "responses": {"200": returns(ref("Post")), "409": ERROR, **ERRORS}})
    api(app, "POST", "/threads/{thread_id}/moderation", api_moderate_thread, doc={
        "summary": "pin, unpin, lock (reason), unlock, close, reopen, premoderate, "
                   "unpremoderate, slow_mode (seconds, until), summarise (summary)",
        "parameters": [id_param("thread_id")],
        "requestBody": action_body(service.THREAD_ACTIONS),
        "responses": {"200": returns(_MODERATED_THREAD), **ERRORS}})
# fmt: on
