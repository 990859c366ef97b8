"""Pages for conferences: the list, a conference's home, programme, speakers, joining,
and the forms with which admins create and organisers manage them."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from confer import places
from confer.calendars import service as calendars
from confer.conferences import console, service
from confer.conferences.service import KINDS
from confer.errors import Invalid
from confer.files import service as files
from confer.keys import actor_key, ctx_key
from confer.places import Place
from confer.registration import views as registration_views
from confer.routing import page
from confer.urls import url
from confer.web import int_param, read_form, redirect


def _slug(request: web.Request) -> str:
    return request.match_info["slug"]


def _manage(request: web.Request) -> str:
    return url("manage_programme", slug=_slug(request))


async def _place(request: web.Request, action: str = "conference.see") -> Place:
    ctx = request.app[ctx_key]
    return await places.load(ctx.pool, request[actor_key], _slug(request), action)


@aiohttp_jinja2.template("conferences/index.html")
async def list_conferences(request: web.Request) -> dict:
    ctx = request.app[ctx_key]
    return {"conferences": await service.list_visible(ctx, request[actor_key])}


@aiohttp_jinja2.template("conferences/show.html")
async def show_conference(request: web.Request) -> dict:
    ctx = request.app[ctx_key]
    place = await _place(request)
    sessions = await service.programme(ctx, place)
    reg = await registration_views.summary_for(request, place)
    return {"place": place, "c": place.conference, "sessions": sessions, "reg": reg}


@aiohttp_jinja2.template("conferences/programme.html")
async def show_programme(request: web.Request) -> dict:
    ctx = request.app[ctx_key]
    place = await _place(request)
    sessions = await service.programme(ctx, place)
    speakers = await service.speakers_by_session(ctx, place)
    starred = await calendars.star_ids(ctx, place)
    return {
        "place": place,
        "c": place.conference,
        "sessions": sessions,
        "days": service.by_day(sessions, place.tz),
        "speakers": speakers,
        "starred": starred,
        "session_files": await files.for_sessions(ctx, place, [s["id"] for s in sessions]),
    }


@aiohttp_jinja2.template("conferences/now.html")
async def show_happening_now(request: web.Request) -> dict:
    """What is open now, whatever day it started, and what opens next."""
    ctx = request.app[ctx_key]
    place = await _place(request)
    sessions = await service.programme(ctx, place)
    now, upcoming = service.happening_now(sessions)
    speakers = await service.speakers_by_session(ctx, place)
    return {"place": place, "c": place.conference, "now": now, "next": upcoming,
            "speakers": speakers}  # fmt: skip


@aiohttp_jinja2.template("conferences/speakers.html")
async def show_speakers(request: web.Request) -> dict:
    ctx = request.app[ctx_key]
    place = await _place(request)
    sessions = {s["id"]: s for s in await service.programme(ctx, place)}
    people: dict[int, dict] = {}
    for session_id, rows in (await service.speakers_by_session(ctx, place)).items():
        for row in rows:
            person = people.setdefault(row["user_id"], {**dict(row), "sessions": []})
            person["sessions"].append(sessions[session_id])
    return {"place": place, "c": place.conference, "people": list(people.values())}


async def show_join(request: web.Request) -> web.Response:
    place = await _place(request)
    reg = await registration_views.summary_for(request, place)
    return aiohttp_jinja2.render_template(
        "conferences/join.html",
        request,
        {"place": place, "c": place.conference, "errors": {}, "reg": reg},
    )


async def join(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        await service.join(
            ctx,
            request[actor_key],
            _slug(request),
            form.get("accept_code_of_conduct"),
            form.get("email"),
        )
    except Invalid as e:
        place = await _place(request)
        reg = await registration_views.summary_for(request, place)
        return aiohttp_jinja2.render_template(
            "conferences/join.html",
            request,
            {
                "place": place,
                "c": place.conference,
                "errors": e.fields,
                "reg": reg,
                "email": form.get("email"),
            },
            status=e.status,
        )
    raise redirect(f"{url('conference', slug=_slug(request))}?joined=1")


# --- admin and organisers ---------------------------------------------------------------


async def show_new_conference(request: web.Request) -> web.Response:
    await service.require_create(request.app[ctx_key], request[actor_key])
    return aiohttp_jinja2.render_template(
        "manage/new_conference.html",
        request,
        {"errors": {}, "values": {"timezone": "Europe/London"}},
    )


async def create_conference(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        slug = await service.create_conference(ctx, request[actor_key], form)
    except Invalid as e:
        return aiohttp_jinja2.render_template(
            "manage/new_conference.html",
            request,
            {"errors": e.fields, "values": form},
            status=e.status,
        )
    raise redirect(f"{url('manage', slug=slug)}?done=created")


async def show_edit_session(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place = await _place(request, "conference.manage")
    s = await places.fetch_session(ctx.pool, place, int_param(request, "session_id"))
    values = service.session_form_values(place.conference, s)
    values["joining_url"] = await calendars.fetch_joining_url(ctx, place, s["id"]) or ""
    return aiohttp_jinja2.render_template(
        "manage/session.html",
        request,
        {
            "place": place,
            "c": place.conference,
            "s": s,
            "values": values,
            "errors": {},
            "kinds": KINDS,
        },
    )


async def update_session(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    session_id = int_param(request, "session_id")
    form = await read_form(request)
    try:
        await service.save_session(ctx, request[actor_key], _slug(request), session_id, form)
    except Invalid as e:
        place = await _place(request, "conference.manage")
        s = await places.fetch_session(ctx.pool, place, session_id)
        return aiohttp_jinja2.render_template(
            "manage/session.html",
            request,
            {
                "place": place,
                "c": place.conference,
                "s": s,
                "values": form,
                "errors": e.fields,
                "kinds": KINDS,
            },
            status=e.status,
        )
    raise redirect(f"{_manage(request)}?done=session-saved#programme")


async def delete_session(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    await service.delete_session(
        ctx, request[actor_key], _slug(request), int_param(request, "session_id")
    )
    raise redirect(f"{_manage(request)}?done=session-deleted#programme")


def setup(app: web.Application) -> None:
    page(app, "GET", "home", list_conferences)
    page(app, "GET", "new_conference", show_new_conference)
    page(app, "POST", "create_conference", create_conference)
    page(app, "GET", "conference", show_conference)
    page(app, "GET", "programme", show_programme)
    page(app, "GET", "happening_now", show_happening_now)
    page(app, "GET", "speakers", show_speakers)
    page(app, "GET", "join", show_join)
    page(app, "POST", "join", join, limit="register")
    page(app, "GET", "edit_session", show_edit_session)
    page(app, "POST", "edit_session", update_session)
    page(app, "POST", "delete_session", delete_session)
    console.setup(app)
