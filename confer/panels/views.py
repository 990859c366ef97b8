"""The panel page, its forms, and the panel JSON API: thin adapters over confer.panels.service."""

from __future__ import annotations

import uuid

import aiohttp_jinja2
from aiohttp import web

from confer.api.openapi import (
    ERROR,
    ERRORS,
    INT,
    STR,
    TIME,
    action_body,
    id_param,
    link,
    linked,
    obj,
    request_body,
    returns,
)
from confer.calendars import service as calendars
from confer.conferences import queries as conferences_q
from confer.conferences import service as conferences
from confer.errors import ConferError, NotFound
from confer.files import service as files
from confer.keys import actor_key, ctx_key
from confer.panels import service
from confer.routing import Call, Reply, api, created, page
from confer.urls import url
from confer.web import int_param, read_form, redirect


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
            "starred": await calendars.star_ids(ctx, panel.place),
            "joining": await calendars.joining_for_page(ctx, panel.place, panel.window),
            "errors": errors or {},
            "values": values or {"idempotency_key": str(uuid.uuid4())},
            **await files.session_context(ctx, panel.place, panel.window),
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
    back = (
        f"{url('panel', slug=_slug(request), session_id=int_param(request, 'session_id'))}"
        f"#question-{question_id}"
    )
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


async def _api_panel(call: Call) -> service.Panel:
    session_id = call.id("session_id")
    slug = await conferences_q.fetch_slug_of_session(call.ctx.pool, session_id)
    if slug is None:
        raise NotFound()
    return await service.load(call.ctx, call.actor, slug, session_id)


async def api_list(call: Call) -> dict:
    panel = await _api_panel(call)
    sort = call.params.get("sort", "votes")
    w = panel.window
    return {
        "questions": await service.questions(call.ctx, panel, sort),
        "asking_open": w["asking_open"],
        "answering_open": w["answering_open"],
        "state": w["state"],
    }


async def api_ask(call: Call) -> Reply:
    panel = await _api_panel(call)
    q, new = await service.ask(
        call.ctx, call.actor, panel.place.conference["slug"], panel.window["id"], call.body
    )
    return created(q, new)


async def api_vote(call: Call) -> dict:
    return await service.vote(
        call.ctx, call.actor, call.id("question_id"), withdraw=call.method == "DELETE"
    )


async def api_state(call: Call) -> dict:
    return await service.change_state(
        call.ctx, call.actor, call.id("question_id"), str(call.body.get("action", "")), call.body
    )


async def api_answer(call: Call) -> Reply:
    return created(await service.answer(call.ctx, call.actor, call.id("question_id"), call.body))


_PERSON = obj({"id": {"type": ["integer", "null"]}, "name": STR, "title": STR, "organisation": STR})
_TEXTS = {
    "type": "object",
    "additionalProperties": STR,
    "description": "created_at_text in each language, by language code",
}
_ANSWER = obj(
    {
        "id": INT,
        "question_id": INT,
        "html": STR,
        "speaker": _PERSON,
        "created_at": TIME,
        "created_at_text": STR,
        "created_at_texts": _TEXTS,
    }
)
_QUESTION = obj(
    {
        "id": INT,
        "session_id": INT,
        "html": STR,
        "vote_count": INT,
        "status": {"enum": ["pending", "open", "answering", "answered", "dismissed"]},
        "dismiss_reason": {"type": ["string", "null"]},
        "merged_into_id": {"type": ["integer", "null"]},
        "author": _PERSON,
        "answers": {"type": "array", "items": _ANSWER},
        "voted": {"type": "boolean"},
        "created_at": TIME,
        "created_at_text": STR,
        "created_at_texts": _TEXTS,
        "change_seq": INT,
        "url": STR,
    },
    optional=("answers", "voted"),
)
# A speaker's answer: the question as it now is, and the new answer's id.
_ANSWERED = obj(
    {**_QUESTION["properties"], "answer_id": {**INT, "description": "the new answer"}},
    optional=("answers", "voted"),
)
_QUESTIONS = obj(
    {
        "questions": {"type": "array", "items": _QUESTION},
        "asking_open": {"type": "boolean"},
        "answering_open": {"type": "boolean"},
        "state": STR,
    }
)


# fmt: off
def setup(app: web.Application) -> None:
    page(app, "GET", "panel", show_panel)
    page(app, "POST", "ask", ask, limit="post")
    page(app, "POST", "vote", vote, limit="vote")
    page(app, "POST", "question_state", change_state)
    page(app, "POST", "answer", answer, limit="post")
    session = [id_param("session_id")]
    question = [id_param("question_id")]
    api(app, "GET", "/panels/{session_id}/questions", api_list, doc={
        "summary": "A panel's questions (sort=votes or new), with answers",
        "parameters": [*session, {"name": "sort", "in": "query",
                                  "schema": {"enum": ["votes", "new"]}}],
        "responses": {"200": returns(_QUESTIONS), **ERRORS}})
    api(app, "POST", "/panels/{session_id}/questions", api_ask, limit="post", doc={
        "summary": "Ask a question (body up to 500 characters, idempotency_key)",
        "parameters": session,
        "requestBody": request_body({
            "type": "object", "required": ["body"],
            "properties": {
                "body": {"type": "string", "minLength": 1, "maxLength": service.QUESTION_MAX},
                "idempotency_key": {"type": "string", "maxLength": 100}}}),
        "responses": {"201": linked(
            returns(_QUESTION, "Created"),
            Vote=link("POST", "/questions/{question_id}/vote", question_id="$response.body#/id"),
            Answer=link("POST", "/questions/{question_id}/answers",
                        question_id="$response.body#/id"),
            State=link("POST", "/questions/{question_id}/state",
                       question_id="$response.body#/id"),
        ), "200": returns(_QUESTION),
                      **ERRORS}})
    api(app, "POST", "/questions/{question_id}/vote", api_vote, limit="vote", doc={
        "summary": "Vote for a question (once)", "parameters": question,
        "responses": {"200": returns({"type": "object"}), "409": ERROR, **ERRORS}})
    api(app, "DELETE", "/questions/{question_id}/vote", api_vote, limit="vote", doc={
        "summary": "Withdraw your vote", "parameters": question,
        "responses": {"200": returns({"type": "object"}), "409": ERROR, **ERRORS}})
    api(app, "POST", "/questions/{question_id}/state", api_state, doc={
        "summary": "approve, answering, answered, dismiss (reason), merge (into), reopen",
        "parameters": question, "requestBody": action_body(service.STATE_ACTIONS),
        "responses": {"200": returns(_QUESTION), **ERRORS}})
    api(app, "POST", "/questions/{question_id}/answers", api_answer, limit="post", doc={
        "summary": "A speaker answers (body, Markdown)", "parameters": question,
        "requestBody": request_body({
            "type": "object", "required": ["body"], "properties": {
                "body": {"type": "string", "minLength": 1, "maxLength": service.ANSWER_MAX}}}),
        "responses": {"201": returns(_ANSWERED, "Created"), "409": ERROR, **ERRORS}})
# fmt: on
