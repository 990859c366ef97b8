"""The panel page, its forms, and the panel JSON API: thin adapters over confer.panels.service."""

from __future__ import annotations

import uuid

import aiohttp_jinja2
from aiohttp import web

from confer.conferences import queries as conferences_q
from confer.conferences import service as conferences
from confer.errors import ConferError, NotFound
from confer.keys import actor_key, ctx_key
from confer.panels import service
from confer.web import int_param, json_response, read_form, read_json, redirect

API = "/api/v1"


def _slug(request: web.Request) -> str:
    return request.match_info["slug"]


async def _panel_page(
    request: web.Request,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    status: int = 200,
) -> web.Response:
    ctx = request.app[ctx_key]
    panel = await service.load(
        ctx, request[actor_key], _slug(request), int_param(request, "session_id")
    )
    sort = "new" if request.query.get("sort") == "new" else "votes"
    questions = await service.questions(ctx, panel, sort)
    speakers = (await conferences.speakers_by_session(ctx, panel.place)).get(panel.window["id"], [])
    return aiohttp_jinja2.render_template(
        "panels/show.html",
        request,
        {
            "place": panel.place,
            "c": panel.place.conference,
            "panel": panel,
            "w": panel.window,
            "questions": questions,
            "speakers": speakers,
            "sort": sort,
            "can_ask": panel.place.can("question.ask") and panel.window["asking_open"],
            "can_answer": panel.place.can("question.answer", session=panel.session)
            and panel.window["answering_open"],
            "staff": panel.staff,
            "errors": errors or {},
            "values": values or {"idempotency_key": str(uuid.uuid4())},
        },
        status=status,
    )


async def show_panel(request: web.Request) -> web.Response:
    return await _panel_page(request)


async def ask(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        q, _ = await service.ask(
            ctx, request[actor_key], _slug(request), int_param(request, "session_id"), form
        )
    except ConferError as e:
        if e.status in (401, 404):
            raise
        return await _panel_page(
            request, errors=e.fields or {"body": e.message}, values=form, status=e.status
        )
    raise redirect(q["url"])


async def _question_form(request: web.Request, fn: str) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    question_id = int_param(request, "question_id")
    actor = request[actor_key]
    back = f"/c/{_slug(request)}/panels/{int_param(request, 'session_id')}#question-{question_id}"
    try:
        if fn == "vote":
            await service.vote(ctx, actor, question_id, withdraw=form.get("withdraw") == "yes")
        elif fn == "state":
            await service.change_state(ctx, actor, question_id, form.get("action", ""), form)
        else:
            await service.answer(ctx, actor, question_id, form)
    except ConferError as e:
        if e.status in (401, 404):
            raise
        return await _panel_page(request, errors=e.fields or {"body": e.message}, status=e.status)
    raise redirect(back)


async def vote(request: web.Request) -> web.StreamResponse:
    return await _question_form(request, "vote")


async def change_state(request: web.Request) -> web.StreamResponse:
    return await _question_form(request, "state")


async def answer(request: web.Request) -> web.StreamResponse:
    return await _question_form(request, "answer")


# --- JSON API ---------------------------------------------------------------------------


async def _api_panel(request: web.Request) -> service.Panel:
    ctx = request.app[ctx_key]
    session_id = int_param(request, "session_id")
    slug = await conferences_q.fetch_slug_of_session(ctx.pool, session_id)
    if slug is None:
        raise NotFound()
    return await service.load(ctx, request[actor_key], slug, session_id)


async def api_list(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    panel = await _api_panel(request)
    sort = "new" if request.query.get("sort") == "new" else "votes"
    w = panel.window
    return json_response(
        {
            "questions": await service.questions(ctx, panel, sort),
            "asking_open": w["asking_open"],
            "answering_open": w["answering_open"],
            "state": w["state"],
        }
    )


async def api_ask(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    panel = await _api_panel(request)
    body = await read_json(request)
    q, created = await service.ask(
        ctx, request[actor_key], panel.place.conference["slug"], panel.window["id"], body
    )
    return json_response(q, status=201 if created else 200)


async def api_vote(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    result = await service.vote(
        ctx,
        request[actor_key],
        int_param(request, "question_id"),
        withdraw=request.method == "DELETE",
    )
    return json_response(result)


async def api_state(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    result = await service.change_state(
        ctx,
        request[actor_key],
        int_param(request, "question_id"),
        str(body.get("action", "")),
        body,
    )
    return json_response(result)


async def api_answer(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    result = await service.answer(ctx, request[actor_key], int_param(request, "question_id"), body)
    return json_response(result, status=201)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/c/{slug}/panels/{session_id}", show_panel, name="panel")
    r.add_post("/c/{slug}/panels/{session_id}/questions", ask, name="ask")
    base = "/c/{slug}/panels/{session_id}/questions/{question_id}"
    r.add_post(f"{base}/vote", vote, name="vote")
    r.add_post(f"{base}/state", change_state, name="question_state")
    r.add_post(f"{base}/answers", answer, name="answer")
    r.add_get(f"{API}/panels/{{session_id}}/questions", api_list)
    r.add_post(f"{API}/panels/{{session_id}}/questions", api_ask)
    r.add_post(f"{API}/questions/{{question_id}}/vote", api_vote)
    r.add_delete(f"{API}/questions/{{question_id}}/vote", api_vote)
    r.add_post(f"{API}/questions/{{question_id}}/state", api_state)
    r.add_post(f"{API}/questions/{{question_id}}/answers", api_answer)
