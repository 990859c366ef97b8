"""Registration pages: leaving, organisers' requests and waitlist, invitations, and the
invitation link. Each handler calls one service function; the JSON API is in api.py.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from confer import banners, places
from confer.accounts import service as accounts
from confer.errors import ConferError, Invalid
from confer.i18n import _, ngettext
from confer.keys import actor_key, ctx_key
from confer.places import Place
from confer.registration import api, invitations
from confer.registration import service as registration
from confer.registration.addresses import ROLES
from confer.registration.invitations import PROBLEMS
from confer.routing import page
from confer.urls import url
from confer.web import int_param, read_form, redirect, set_session_cookie

MAX_CSV_BYTES = 900_000


def _slug(request: web.Request) -> str:
    return request.match_info["slug"]


async def summary_for(request: web.Request, place: Place) -> registration.Summary:
    """For the conference's home and join pages: how to join and where the visitor stands."""
    done = banners.done_key(
        request, "conference", default="joined" if "joined" in request.query else None
    )
    return await registration.summary(request.app[ctx_key], place, done=done)


# --- leaving ------------------------------------------------------------------------------


async def show_leave(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place = await places.load(ctx.pool, request[actor_key], _slug(request))
    return aiohttp_jinja2.render_template(
        "registration/leave.html",
        request,
        {"place": place, "c": place.conference, "reg": await summary_for(request, place)},
    )


async def leave(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    done = await registration.leave(ctx, request[actor_key], _slug(request))
    raise redirect(f"{url('conference', slug=done.slug)}?done=left")


# --- organisers: requests and the waitlist -------------------------------------------------


async def _members_page(
    request: web.Request,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    status: int = 200,
) -> web.Response:
    ctx = request.app[ctx_key]
    place, lists = await registration.requests(ctx, request[actor_key], _slug(request))
    return aiohttp_jinja2.render_template(
        "registration/members.html",
        request,
        {
            "place": place,
            "c": place.conference,
            "reg": await registration.summary(ctx, place),
            "pending": lists["pending"],
            "waitlisted": lists["waitlisted"],
            "errors": errors or {},
            "values": values or {},
            "done_message": banners.done_message(request, "members"),
        },
        status=status,
    )


async def show_members(request: web.Request) -> web.Response:
    return await _members_page(request)


async def decide(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    user_id = int_param(request, "user_id")
    form = await read_form(request)
    approve = form.get("decision") == "approve"
    # Each request on the page has its own message box, named after the person.
    message = form.get(f"message-{user_id}", "")
    try:
        done = await registration.decide(
            ctx, request[actor_key], _slug(request), user_id, approve, {"message": message}
        )
    except Invalid as e:
        errors = {f"{k}-{user_id}": v for k, v in e.fields.items()}
        values = {f"message-{user_id}": message}
        return await _members_page(request, errors=errors, values=values, status=e.status)
    raise redirect(f"{url('registrations', slug=done.slug)}?done={done.status}")


# --- organisers: invitations -------------------------------------------------------------


async def _invitations_page(
    request: web.Request,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    result: invitations.InviteResult | None = None,
    message: str | None = None,
    status: int = 200,
) -> web.Response:
    ctx = request.app[ctx_key]
    place, rows = await invitations.list_invitations(ctx, request[actor_key], _slug(request))
    return aiohttp_jinja2.render_template(
        "registration/invitations.html",
        request,
        {
            "place": place,
            "c": place.conference,
            "invitations": rows,
            "roles": ROLES,
            "errors": errors or {},
            "values": values or {},
            "result": result,
            "message": message,
            "done_message": banners.done_message(request, "invitations"),
        },
        status=status,
    )


async def show_invitations(request: web.Request) -> web.Response:
    return await _invitations_page(request)


async def _csv_upload(request: web.Request) -> bytes | None:
    """The uploaded CSV file's bytes; None when no file was chosen."""
    post = await request.post()
    upload = post.get("csv")
    if isinstance(upload, bytes | bytearray):
        # No file chosen: browsers send an empty part without a file name.
        data = bytes(upload)
        if not data:
            return None
    elif upload is None or isinstance(upload, str) or not upload.filename:
        return None
    else:
        data = upload.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise Invalid(fields={"csv": _("The CSV file must be smaller than 900 KB")})
    return data


async def create_invitations(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        csv_data = await _csv_upload(request)
        result = await invitations.invite(ctx, request[actor_key], _slug(request), form, csv_data)
    except Invalid as e:
        return await _invitations_page(request, errors=e.fields, values=form, status=e.status)
    if result.refused:
        # The bad addresses go back in the box, with their reasons, to be corrected; the
        # good ones have been invited.
        errors = {
            "emails": ngettext(
                "%(num)d address could not be read as an email address: correct it below",
                "%(num)d addresses could not be read as email addresses: correct them below",
                len(result.refused),
            )
            % {"num": len(result.refused)}
        }
        values = {**form, "emails": result.refused_text()}
        return await _invitations_page(
            request, errors=errors, values=values, result=result,
            status=200 if result.invited else 422,
        )  # fmt: skip
    if result.skipped or result.problems:
        # Show what could not be done now: it is not kept anywhere to show after a redirect.
        return await _invitations_page(request, result=result)
    done = "published-sent" if result.published else "sent"
    raise redirect(
        f"{url('invitations', slug=_slug(request))}?done={done}&count={len(result.invited)}"
    )


async def resend_invitation(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    try:
        await invitations.resend(
            ctx, request[actor_key], _slug(request), int_param(request, "invitation_id")
        )
    except ConferError as e:
        if e.status != 409:
            raise
        return await _invitations_page(request, message=e.message, status=e.status)
    raise redirect(f"{url('invitations', slug=_slug(request))}?done=resent")


async def revoke_invitation(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    try:
        await invitations.revoke(
            ctx, request[actor_key], _slug(request), int_param(request, "invitation_id")
        )
    except ConferError as e:
        if e.status != 409:
            raise
        return await _invitations_page(request, message=e.message, status=e.status)
    raise redirect(f"{url('invitations', slug=_slug(request))}?done=revoked")


# --- the invitation link -----------------------------------------------------------------


async def _invitation_page(
    request: web.Request,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    status: int | None = None,
) -> web.Response:
    ctx = request.app[ctx_key]
    token = request.match_info["token"]
    opened = await invitations.open_link(ctx, token)
    actor = request[actor_key]
    mine = (
        opened.problem == "accepted"
        and opened.invitation is not None
        and actor.user_id is not None
        and opened.invitation["accepted_by"] == actor.user_id
    )
    if status is None:
        status = {None: 200, "unknown": 404}.get(opened.problem, 200 if mine else 410)
    invitation = opened.invitation
    return aiohttp_jinja2.render_template(
        "registration/invitation.html",
        request,
        {
            "token": token,
            "invitation": invitation,
            "conference": opened.conference,
            "problem": opened.problem,
            "problem_message": _(PROBLEMS[opened.problem]) if opened.problem else "",
            "mine": mine,
            "account_exists": opened.account_exists,
            "errors": errors or {},
            "values": values
            if values is not None
            else {"name": invitation["name"] if invitation else ""},
        },
        status=status,
    )


async def show_invitation(request: web.Request) -> web.Response:
    return await _invitation_page(request)


async def accept_invitation(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    token = request.match_info["token"]
    form = await read_form(request)
    try:
        done = await invitations.accept(ctx, request[actor_key], token, form)
    except Invalid as e:
        values = {k: v for k, v in form.items() if "password" not in k}
        return await _invitation_page(request, errors=e.fields, values=values, status=e.status)
    except ConferError as e:
        if e.status not in (404, 409):
            raise
        return await _invitation_page(request)  # the page explains what is wrong
    target = (
        f"{url('conference', slug=done.slug)}?done=invited"
        if done.visible
        else url("invitation", token=token)
    )
    response = redirect(target)
    if done.new_account:
        login = await accounts.start_login(ctx.pool, ctx.settings, done.user_id)
        set_session_cookie(request, response, login)
    raise response


def setup(app: web.Application) -> None:
    page(app, "GET", "leave", show_leave)
    page(app, "POST", "leave", leave)
    page(app, "GET", "registrations", show_members)
    page(app, "POST", "decide_registration", decide)
    page(app, "GET", "invitations", show_invitations)
    page(app, "POST", "invitations", create_invitations, limit="invite")
    page(app, "POST", "resend_invitation", resend_invitation, limit="invite")
    page(app, "POST", "revoke_invitation", revoke_invitation)
    page(app, "GET", "invitation", show_invitation)
    page(app, "POST", "invitation", accept_invitation, limit="register")
    api.setup(app)
