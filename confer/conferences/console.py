"""The organiser's console: a conference's settings in pages grouped as an organiser thinks
of them (details and dates; programme; people and roles; registration and capacity;
moderation; panels; emails; exports), each with the console's navigation.

Handlers are thin: they read the form, call one service function (confer.conferences.service,
.settings, .builder, confer.accounts.rights), and redirect with a banner or show the page
again with the errors and what was typed. The programme's add-session form also answers a
script's fetch (`Accept: application/json`) with the re-rendered list or form, so that
several sessions can be added without a reload (static/confer.js, programmeBuilder).
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from confer import banners, places
from confer.accounts import rights
from confer.conferences import builder, publishing, service, settings
from confer.conferences.service import KINDS, ROLES
from confer.errors import Invalid
from confer.i18n import _, ngettext
from confer.keys import actor_key, ctx_key
from confer.places import Place
from confer.routing import page
from confer.urls import url
from confer.web import int_param, json_response, read_form, redirect

# The console's pages, in the navigation's order: (page name, its route).
PAGES = (
    "manage",
    "manage_programme",
    "manage_people",
    "manage_registration",
    "manage_moderation",
    "manage_panels",
    "manage_emails",
    "manage_exports",
)

# A form's checkboxes: unticked, a browser sends nothing, which the services read as "leave as
# it is" (the JSON API's absent field). The console's forms always show them, so absent is "".
CHECKBOXES = {
    "manage_panel": ("questions_in_advance", "questions_premoderated"),
    "manage_exports": ("facilitators_may_export",),
}


def _slug(request: web.Request) -> str:
    return request.match_info["slug"]


async def _place(request: web.Request) -> Place:
    ctx = request.app[ctx_key]
    return await places.load(ctx.pool, request[actor_key], _slug(request), "conference.manage")


async def _form(request: web.Request, page_name: str = "") -> dict[str, Any]:
    form: dict[str, Any] = dict(await read_form(request))
    for name in CHECKBOXES.get(page_name, ()):
        form.setdefault(name, "")
    return form


def _to(
    request: web.Request, name: str, done: str, anchor: str = "", **params: Any
) -> web.HTTPSeeOther:
    return redirect(f"{url(name, slug=_slug(request), **params)}?done={done}{anchor}")


async def render(
    request: web.Request,
    template: str,
    current: str,
    *,
    place: Place | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    **extra: Any,
) -> web.Response:
    """A console page: `current` is its name in PAGES (for the navigation)."""
    place = place or await _place(request)
    context = {
        "place": place,
        "c": place.conference,
        "console_current": current,
        "errors": errors or {},
        "done_message": banners.done_message(request, "manage"),
        "kinds": KINDS,
        "roles": ROLES,
        **extra,
    }
    return aiohttp_jinja2.render_template(template, request, context, status=status)


# --- details and dates ------------------------------------------------------------------


async def show_details(request: web.Request, **kw: Any) -> web.Response:
    place = await _place(request)
    values = kw.pop("values", None) or service.conference_form_values(place.conference)
    return await render(request, "manage/details.html", "manage", place=place, values=values, **kw)


async def update_details(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await _form(request)
    try:
        await service.update_conference(ctx, request[actor_key], _slug(request), form)
    except Invalid as e:
        return await show_details(request, values=form, errors=e.fields, status=e.status)
    raise _to(request, "manage", "saved")


async def publish(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    published = form.get("published") == "yes"
    await publishing.set_published(ctx, request[actor_key], _slug(request), published)
    raise _to(request, "manage", "published" if published else "unpublished")


# --- programme --------------------------------------------------------------------------


async def _programme_context(request: web.Request, place: Place) -> dict[str, Any]:
    ctx = request.app[ctx_key]
    sessions = await service.programme(ctx, place)
    return {
        "sessions": sessions,
        "days": service.by_day(sessions, place.tz),
        "speakers": await service.speakers_by_session(ctx, place),
        "conference_days": builder.days_of(place),
    }


async def show_programme(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    session_values: dict[str, Any] | None = None,
    day_values: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    place = await _place(request)
    return await render(
        request,
        "manage/programme.html",
        "manage_programme",
        place=place,
        errors=errors,
        status=status,
        session_values=session_values or {},
        day_values=day_values or {},
        **await _programme_context(request, place),
    )


def _wants_json(request: web.Request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


async def add_session(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    # The add form shares its page with other forms, so its fields carry a prefix.
    form = {k.removeprefix("session_"): v for k, v in (await read_form(request)).items()}
    try:
        added = await builder.add_session(ctx, request[actor_key], _slug(request), form)
    except Invalid as e:
        errors = {f"session_{k}": v for k, v in e.fields.items()}
        if _wants_json(request):
            return await _programme_json(
                request, errors=errors, session_values=form, status=e.status
            )
        return await show_programme(request, errors=errors, session_values=form, status=e.status)
    done = "session-added" if added.thread_error is None else "session-added-no-thread"
    if _wants_json(request):
        return await _programme_json(request, added=added, session_values=_next_values(form))
    raise _to(request, "manage_programme", done, "#programme")


def _next_values(form: dict[str, Any]) -> dict[str, Any]:
    """The add form after a session is added: the same kind and settings, starting when the
    last one ended, for the same length (the next session usually follows on)."""
    from datetime import datetime

    keep = {k: form.get(k) for k in ("kind", "posting_window", "participants_start_threads")}
    try:
        start = datetime.fromisoformat(str(form.get("starts_at")))
        end = datetime.fromisoformat(str(form.get("ends_at")))
    except ValueError:
        return keep
    keep["starts_at"] = end.strftime("%Y-%m-%dT%H:%M")
    keep["ends_at"] = (end + (end - start)).strftime("%Y-%m-%dT%H:%M")
    return keep


async def _programme_json(
    request: web.Request,
    *,
    added: builder.Added | None = None,
    errors: dict[str, str] | None = None,
    session_values: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    """For the script: the programme's list and the add form, rendered as the page renders
    them (so that they read the same and escape user text the same way)."""
    place = await _place(request)
    context = {
        "place": place,
        "c": place.conference,
        "errors": errors or {},
        "session_values": session_values or {},
        "day_values": {},
        "fragment": True,
        **await _programme_context(request, place),
    }
    page_html = aiohttp_jinja2.render_string("manage/_programme_parts.html", request, context)
    data: dict[str, Any] = {"html": page_html}
    if added is not None:
        data["session_id"] = added.session_id
        data["thread_id"] = added.thread_id
        data["message"] = (
            _("The session has been added.")
            if added.thread_error is None
            else _("The session has been added, but its thread could not be started: %(why)s")
            % {"why": added.thread_error}
        )
    return json_response(data, status=status)


async def add_sessions(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        made = await builder.add_sessions(ctx, request[actor_key], _slug(request), form)
    except Invalid as e:
        return await show_programme(request, errors=e.fields, day_values=form, status=e.status)
    programme = url("manage_programme", slug=_slug(request))
    raise redirect(f"{programme}?done=sessions-added&count={len(made)}#programme")


async def duplicate_session(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    session_id = int_param(request, "session_id")
    try:
        await builder.duplicate_session(ctx, request[actor_key], _slug(request), session_id, form)
    except Invalid as e:
        errors = {f"copy_{k}_{session_id}": v for k, v in e.fields.items()}
        return await show_programme(request, errors=errors, status=e.status)
    raise _to(request, "manage_programme", "session-copied", "#programme")


async def duplicate_day(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        made = await builder.duplicate_day(ctx, request[actor_key], _slug(request), form)
    except Invalid as e:
        return await show_programme(request, errors=e.fields, day_values=form, status=e.status)
    programme = url("manage_programme", slug=_slug(request))
    raise redirect(f"{programme}?done=day-copied&count={len(made)}#programme")


# --- people and roles -------------------------------------------------------------------


async def show_people(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    role_values: dict[str, Any] | None = None,
    roles_given: service.RolesGiven | None = None,
    status: int = 200,
) -> web.Response:
    ctx = request.app[ctx_key]
    place = await _place(request)
    return await render(
        request,
        "manage/people.html",
        "manage_people",
        place=place,
        errors=errors,
        status=status,
        sessions=await service.programme(ctx, place),
        members=await service.members(ctx, place),
        role_values=role_values or {},
        roles_given=roles_given,
    )


async def assign_role(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    post = await request.post()
    form = {k.removeprefix("role_"): v for k, v in (await read_form(request)).items()}
    data: dict[str, object] = dict(form)
    data["sessions"] = [v for v in post.getall("sessions", []) if isinstance(v, str)]
    form["sessions"] = data["sessions"]
    try:
        given = await service.assign_role(ctx, request[actor_key], _slug(request), data)
    except Invalid as e:
        errors = {f"role_{k}": v for k, v in e.fields.items()}
        return await show_people(request, errors=errors, role_values=form, status=e.status)
    if given.refused:
        # The bad addresses go back in the box, with their reasons, to be corrected; the
        # good ones have their role or an invitation with it.
        errors = {
            "role_email": ngettext(
                "%(num)d address could not be read as an email address: correct it below",
                "%(num)d addresses could not be read as email addresses: correct them below",
                len(given.refused),
            )
            % {"num": len(given.refused)}
        }
        values = {**form, "email": given.refused_text()}
        done = bool(given.assigned or given.invited)
        return await show_people(
            request, errors=errors, role_values=values, roles_given=given,
            status=200 if done else 422,
        )  # fmt: skip
    if given.assigned and given.invited:
        done = "roles-given-and-invited"
    else:
        done = "role-assigned" if given.assigned else "role-invited"
    raise _to(request, "manage_people", done, "#people")


async def anonymise_member(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        done = await rights.anonymise_member(
            ctx, request[actor_key], _slug(request), int_param(request, "user_id"), form
        )
    except Invalid as e:
        errors = {f"anonymise_{k}": v for k, v in e.fields.items()}
        return await show_people(request, errors=errors, status=e.status)
    raise _to(request, "manage_people", done, "#people")


# --- registration and capacity ----------------------------------------------------------


def _registration_values(c: Any) -> dict[str, Any]:
    return {
        "registration": c["registration"],
        "capacity": c["capacity"] or "",
        "sso_join_domains": ", ".join(c["sso_join_domains"] or ()),
        "sso_join_tenants": ", ".join(c["sso_join_tenants"] or ()),
    }


async def show_registration(request: web.Request, **kw: Any) -> web.Response:
    place = await _place(request)
    values = kw.pop("values", None) or _registration_values(place.conference)
    return await render(
        request, "manage/registration.html", "manage_registration", place=place, values=values, **kw
    )


async def save_registration(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await _form(request)
    form.setdefault("capacity", "")
    try:
        await settings.save_registration(ctx, request[actor_key], _slug(request), form)
    except Invalid as e:
        return await show_registration(request, values=form, errors=e.fields, status=e.status)
    raise _to(request, "manage_registration", "saved")


# --- moderation -------------------------------------------------------------------------


async def show_moderation(request: web.Request, **kw: Any) -> web.Response:
    place = await _place(request)
    c = place.conference
    values = kw.pop("values", None) or {
        "flag_threshold": str(c["flag_threshold"]),
        "premoderate_first_posts": str(c["premoderate_first_posts"]),
    }
    return await render(
        request, "manage/moderation.html", "manage_moderation", place=place, values=values, **kw
    )


async def save_moderation(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await _form(request)
    try:
        await settings.save_moderation(ctx, request[actor_key], _slug(request), form)
    except Invalid as e:
        return await show_moderation(request, values=form, errors=e.fields, status=e.status)
    raise _to(request, "manage_moderation", "saved")


# --- panels -----------------------------------------------------------------------------


async def show_panels(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place, panels = await settings.panels(ctx, request[actor_key], _slug(request))
    return await render(request, "manage/panels.html", "manage_panels", place=place, panels=panels)


async def show_panel(request: web.Request, **kw: Any) -> web.Response:
    ctx = request.app[ctx_key]
    place = await _place(request)
    s, panel = await settings.panel(ctx, place, int_param(request, "session_id"))
    values = kw.pop("values", None) or settings.panel_form_values(place, panel)
    return await render(
        request, "manage/panel.html", "manage_panels", place=place, s=s, values=values, **kw
    )


async def save_panel(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await _form(request, "manage_panel")
    session_id = int_param(request, "session_id")
    try:
        await settings.save_panel(ctx, request[actor_key], _slug(request), session_id, form)
    except Invalid as e:
        return await show_panel(request, values=form, errors=e.fields, status=e.status)
    raise _to(request, "manage_panels", "saved")


# --- emails and exports -----------------------------------------------------------------


async def show_emails(request: web.Request) -> web.Response:
    return await render(request, "manage/emails.html", "manage_emails")


async def show_exports(request: web.Request) -> web.Response:
    return await render(request, "manage/exports.html", "manage_exports")


async def save_exports(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await _form(request, "manage_exports")
    await settings.save_exports(ctx, request[actor_key], _slug(request), form)
    raise _to(request, "manage_exports", "saved")


def setup(app: web.Application) -> None:
    page(app, "GET", "manage", show_details)
    page(app, "POST", "manage", update_details)
    page(app, "POST", "publish", publish)
    page(app, "GET", "manage_programme", show_programme)
    page(app, "POST", "add_session", add_session)
    page(app, "POST", "add_sessions", add_sessions)
    page(app, "POST", "duplicate_session", duplicate_session)
    page(app, "POST", "duplicate_day", duplicate_day)
    page(app, "GET", "manage_people", show_people)
    # Assigning a role invites whoever is not a member yet: it spends from the invitations.
    page(app, "POST", "assign_role", assign_role, limit="invite")
    page(app, "POST", "anonymise", anonymise_member)
    page(app, "GET", "manage_registration", show_registration)
    page(app, "POST", "manage_registration", save_registration)
    page(app, "GET", "manage_moderation", show_moderation)
    page(app, "POST", "manage_moderation", save_moderation)
    page(app, "GET", "manage_panels", show_panels)
    page(app, "GET", "manage_panel", show_panel)
    page(app, "POST", "manage_panel", save_panel)
    page(app, "GET", "manage_emails", show_emails)
    page(app, "GET", "manage_exports", show_exports)
    page(app, "POST", "manage_exports", save_exports)
