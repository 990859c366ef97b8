"""Pages for emailed links (password reset, sign-in by link) and the development outbox.

A link in an email only shows a page on GET: mail scanners fetch links, so using a link
(signing in, setting a password) always takes a POST from a button on that page.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from confer.accounts.views import _safe_next
from confer.errors import Invalid, TooManyRequests
from confer.keys import ctx_key
from confer.mail import links, render
from confer.mail import queries as q
from confer.routing import page
from confer.settings import Settings, is_loopback_url
from confer.urls import url
from confer.web import came_through_proxy, client_address, read_form, redirect, set_session_cookie

DEV_OUTBOX_LIMIT = 100


def dev_outbox_enabled(settings: Settings) -> bool:
    """Only when email is not really sent and Confer answers on this machine alone: the
    page shows sign-in and reset links."""
    return not settings.smtp_url and is_loopback_url(settings.base_url)


def dev_outbox_allowed(request: web.Request) -> bool:
    """The outbox answers only a browser on this machine talking to Confer directly: never
    through a proxy (nginx on this machine would make every visitor look local), never to
    another address, whatever BASE_URL says."""
    if not dev_outbox_enabled(request.app[ctx_key].settings):
        return False
    if came_through_proxy(request):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def _render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    settings = request.app[ctx_key].settings
    context.setdefault("dev_outbox", dev_outbox_enabled(settings))
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("message", "")
    return aiohttp_jinja2.render_template(template, request, context, status=status)


def _refused(
    request: web.Request, template: str, e: Invalid | TooManyRequests, context: dict[str, Any]
) -> web.Response:
    response = _render(
        request,
        template,
        {**context, "errors": e.fields or {"email": e.message}, "message": e.message},
        status=e.status,
    )
    if isinstance(e, TooManyRequests):
        response.headers["Retry-After"] = str(e.retry_after)
    return response


# --- password reset ---------------------------------------------------------------------


async def show_reset_request(request: web.Request) -> web.Response:
    return _render(request, "accounts/reset_request.html", {})


async def request_reset(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        email = await links.request_password_reset(ctx, form, client_address(request))
    except (Invalid, TooManyRequests) as e:
        values = {"email": form.get("email", "")}
        return _refused(request, "accounts/reset_request.html", e, {"values": values})
    return _render(
        request,
        "accounts/reset_sent.html",
        {"email": email, "lasts": render.duration(ctx.settings.password_reset_seconds)},
    )


def _link_not_valid(request: web.Request, template: str) -> web.Response:
    return _render(request, template, {}, status=links.LinkNotValid.status)


async def show_reset_form(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    try:
        holder = await links.check_link(ctx, links.PASSWORD_RESET, request.match_info["token"])
    except links.LinkNotValid:
        return _link_not_valid(request, "accounts/reset_expired.html")
    return _render(request, "accounts/reset_password.html", {"holder": holder})


async def reset_password(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    token = request.match_info["token"]
    form = await read_form(request)
    try:
        user_id, login_token = await links.reset_password(ctx, token, form)
    except links.LinkNotValid:
        return _link_not_valid(request, "accounts/reset_expired.html")
    except Invalid as e:
        try:
            holder = await links.check_link(ctx, links.PASSWORD_RESET, token)
        except links.LinkNotValid:
            return _link_not_valid(request, "accounts/reset_expired.html")
        return _render(
            request,
            "accounts/reset_password.html",
            {"holder": holder, "errors": e.fields},
            status=e.status,
        )
    await ctx.hub.disconnect_user(user_id)
    response = redirect(f"{url('account')}?done=password-changed")
    set_session_cookie(request, response, login_token)
    raise response


# --- sign in by emailed link ------------------------------------------------------------


async def show_email_sign_in(request: web.Request) -> web.Response:
    return _render(
        request, "accounts/email_sign_in.html", {"next": _safe_next(request.query.get("next"))}
    )


async def request_email_sign_in(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    next_path = _safe_next(form.get("next"))
    try:
        email = await links.request_sign_in_link(
            ctx, form, client_address(request), next_path=next_path
        )
    except (Invalid, TooManyRequests) as e:
        context = {"values": {"email": form.get("email", "")}, "next": next_path}
        return _refused(request, "accounts/email_sign_in.html", e, context)
    return _render(
        request,
        "accounts/email_sign_in_sent.html",
        {"email": email, "lasts": render.duration(ctx.settings.sign_in_link_seconds)},
    )


async def show_email_sign_in_confirm(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    try:
        holder = await links.check_link(ctx, links.SIGN_IN, request.match_info["token"])
    except links.LinkNotValid:
        return _link_not_valid(request, "accounts/email_sign_in_expired.html")
    return _render(request, "accounts/email_sign_in_confirm.html", {"holder": holder})


async def email_sign_in(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    try:
        _, login_token, next_path = await links.sign_in_with_link(ctx, request.match_info["token"])
    except links.LinkNotValid:
        return _link_not_valid(request, "accounts/email_sign_in_expired.html")
    response = redirect(_safe_next(next_path))
    set_session_cookie(request, response, login_token)
    raise response


# --- development ------------------------------------------------------------------------


async def dev_outbox(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    if not dev_outbox_allowed(request):
        raise web.HTTPNotFound()
    emails = await q.list_recent(ctx.pool, DEV_OUTBOX_LIMIT)
    return _render(
        request,
        "mail/dev_outbox.html",
        {"emails": emails, "limit": DEV_OUTBOX_LIMIT, "tz": render.EMAIL_TIMEZONE},
    )


def setup(app: web.Application) -> None:
    """Add this capability's routes, and the `linkify_text` template filter (plain text with
    its web addresses as links, escaped)."""
    aiohttp_jinja2.get_env(app).filters["linkify_text"] = lambda text: render.linkify(
        text, link_class="govuk-link"
    )
    page(app, "GET", "password_reset", show_reset_request)
    page(app, "POST", "password_reset", request_reset)
    page(app, "GET", "password_reset_link", show_reset_form)
    # Asking for a reset or sign-in link is throttled where the link is made, per email and per
    # address in PostgreSQL (confer.mail.links; EMAIL_LINK_MAX_PER_EMAIL and
    # EMAIL_LINK_MAX_PER_ADDRESS); only using a link spends from a rate limit here.
    page(app, "POST", "password_reset_link", reset_password, limit="password_reset")
    page(app, "GET", "email_sign_in", show_email_sign_in)
    page(app, "POST", "email_sign_in", request_email_sign_in)
    page(app, "GET", "email_sign_in_link", show_email_sign_in_confirm)
    page(app, "POST", "email_sign_in_link", email_sign_in, limit="sign_in")
    page(app, "GET", "dev_outbox", dev_outbox)
