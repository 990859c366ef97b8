"""Pages for accounts: register, sign in and out, profile, password and API tokens, password
reset and sign-in by emailed link."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from confer import banners, i18n
from confer.accounts import links, rights, service
from confer.errors import Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from confer.keys import actor_key, ctx_key, settings_key
from confer.mail import render
from confer.mail import views as mail_views
from confer.routing import page
from confer.sso import service as sso_service
from confer.urls import url
from confer.web import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_address,
    error_json,
    int_param,
    json_response,
    read_form,
    redirect,
    set_session_cookie,
)


def _safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value:
        return "/"
    return value


def _signed_in(request: web.Request) -> int:
    actor = request[actor_key]
    if actor.user_id is None:
        raise Unauthorized()
    return actor.user_id


async def show_sign_in(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(
        "accounts/login.html",
        request,
        {"errors": {}, "values": {}, "next": _safe_next(request.query.get("next"))},
    )


async def sign_in(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    next_url = _safe_next(form.get("next"))
    try:
        _, token = await service.sign_in(
            ctx.pool,
            ctx.settings,
            form.get("email"),
            form.get("password"),
            client_address(request),
        )
    except (Invalid, TooManyRequests) as e:
        response = aiohttp_jinja2.render_template(
            "accounts/login.html",
            request,
            {
                "errors": e.fields or {"email": e.message},
                "message": e.message,
                "values": {"email": form.get("email", "")},
                "next": next_url,
            },
            status=e.status,
        )
        if isinstance(e, TooManyRequests):
            response.headers["Retry-After"] = str(e.retry_after)
        return response
    response = redirect(next_url)
    set_session_cookie(request, response, token)
    raise response


async def sign_out(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        user_id = await service.sign_out(ctx.pool, token)
        if user_id is not None:
            await ctx.hub.disconnect_user(user_id)
    response = redirect(url("home"))
    clear_session_cookie(response)
    raise response


async def show_register(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(
        "accounts/register.html",
        request,
        {"errors": {}, "values": {}, "next": _safe_next(request.query.get("next"))},
    )


async def register(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    next_url = _safe_next(form.get("next"))
    try:
        user_id = await service.register(ctx.pool, form, from_page=True)
    except Invalid as e:
        values = {k: v for k, v in form.items() if "password" not in k}
        return aiohttp_jinja2.render_template(
            "accounts/register.html",
            request,
            {"errors": e.fields, "values": values, "next": next_url},
            status=e.status,
        )
    token = await service.start_login(ctx.pool, ctx.settings, user_id)
    response = redirect(next_url)
    set_session_cookie(request, response, token)
    raise response


async def _account_page(
    request: web.Request,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    status: int = 200,
    new_token: str | None = None,
    message: str | None = None,
) -> web.Response:
    ctx = request.app[ctx_key]
    user_id = _signed_in(request)
    profile = await service.fetch_profile(ctx.pool, user_id)
    tokens = await service.list_api_tokens(ctx.pool, request[actor_key])
    identities = await sso_service.list_identities(ctx, request[actor_key])
    return aiohttp_jinja2.render_template(
        "accounts/account.html",
        request,
        {
            "profile": profile,
            "tokens": tokens,
            "identities": identities,
            "has_password": await service.has_password(ctx.pool, user_id),
            "errors": errors or {},
            "values": values or dict(profile),
            "new_token": new_token,
            "message": message or banners.done_message(request, "account"),
        },
        status=status,
    )


async def show_account(request: web.Request) -> web.Response:
    return await _account_page(request)


async def update_profile(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    _signed_in(request)
    form = await read_form(request)
    try:
        await service.update_profile(ctx.pool, request[actor_key], form)
    except Invalid as e:
        return await _account_page(request, errors=e.fields, values=form, status=e.status)
    raise redirect(f"{url('account')}?done=profile-saved")


def _remember_language(request: web.Request, response: web.StreamResponse, code: str) -> None:
    response.set_cookie(
        i18n.COOKIE,
        code,
        max_age=365 * 86400,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.app[settings_key].secure_cookies,
    )


async def switch_language(request: web.Request) -> web.StreamResponse:
    """The "Cymraeg / English" link on every page (a plain link: no JavaScript, no form). The
    choice is kept in a cookie, and on the account of a signed-in member, whose emails then
    come in it too; then back to the page.

    A GET that writes to the account is only taken from Confer's own pages: the browser's
    `Sec-Fetch-Site` must say so (a link on another site could otherwise change a member's
    language). Without that header (an old browser), only the cookie is set."""
    ctx = request.app[ctx_key]
    code = request.match_info["code"]
    if code not in i18n.languages(pseudo=ctx.settings.pseudo_locale):
        raise NotFound()
    actor = request[actor_key]
    own_page = request.headers.get("Sec-Fetch-Site") in ("same-origin", "none")
    if actor.via == "cookie" and code in i18n.LANGUAGES and own_page and code != actor.language:
        await service.set_language(ctx.pool, actor, code)
    response = redirect(_safe_next(request.query.get("next")))
    _remember_language(request, response, code)
    raise response


async def update_language(request: web.Request) -> web.StreamResponse:
    """The account page's language setting: pages and emails."""
    ctx = request.app[ctx_key]
    _signed_in(request)
    form = await read_form(request)
    code = form.get("language", "")
    try:
        await service.set_language(ctx.pool, request[actor_key], code)
    except Invalid as e:
        return await _account_page(request, errors=e.fields, values=form, status=e.status)
    response = redirect(f"{url('account')}?done=language-saved")
    _remember_language(request, response, code)
    raise response


async def change_password(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    _signed_in(request)
    form = await read_form(request)
    try:
        token = await service.change_password(ctx, request[actor_key], form)
    except Invalid as e:
        return await _account_page(request, errors=e.fields, status=e.status)
    response = redirect(f"{url('account')}?done=password-changed")
    set_session_cookie(request, response, token)
    raise response


async def create_token(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    _signed_in(request)
    form = await read_form(request)
    try:
        token, _ = await service.create_api_token(
            ctx.pool, request[actor_key], form.get("token_name")
        )
    except Invalid as e:
        return await _account_page(request, errors=e.fields, status=e.status)
    except Forbidden as e:  # a request made with an API token: a program, so JSON
        return error_json(e.code, e.message, e.fields, status=e.status)
    return await _account_page(request, new_token=token)


async def revoke_token(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    _signed_in(request)
    await service.revoke_api_token(ctx, request[actor_key], int_param(request, "token_id"))
    raise redirect(f"{url('account')}?done=token-revoked")


async def download_data(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    _signed_in(request)
    data = await rights.my_data(ctx, request[actor_key])
    response = json_response(data)
    response.headers["Content-Disposition"] = 'attachment; filename="my-confer-data.json"'
    return response


async def delete_account(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    _signed_in(request)
    form = await read_form(request)
    try:
        await rights.delete_account(ctx, request[actor_key], form)
    except Invalid as e:
        return await _account_page(request, errors=e.fields, status=e.status)
    response = redirect(f"{url('home')}?deleted=1")
    clear_session_cookie(response)
    raise response


# --- emailed links: password reset and sign-in by link (confer.accounts.links) ----------
#
# A link in an email only shows a page on GET: mail scanners fetch links, so using a link
# (signing in, setting a password) always takes a POST from a button on that page.


def _link_page(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    settings = request.app[ctx_key].settings
    context.setdefault("dev_outbox", mail_views.dev_outbox_enabled(settings))
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("message", "")
    return aiohttp_jinja2.render_template(template, request, context, status=status)


def _refused(
    request: web.Request, template: str, e: Invalid | TooManyRequests, context: dict[str, Any]
) -> web.Response:
    response = _link_page(
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
    return _link_page(request, "accounts/reset_request.html", {})


async def request_reset(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    form = await read_form(request)
    try:
        email = await links.request_password_reset(ctx, form, client_address(request))
    except (Invalid, TooManyRequests) as e:
        values = {"email": form.get("email", "")}
        return _refused(request, "accounts/reset_request.html", e, {"values": values})
    return _link_page(
        request,
        "accounts/reset_sent.html",
        {"email": email, "lasts": render.duration(ctx.settings.password_reset_seconds)},
    )


def _link_not_valid(request: web.Request, template: str) -> web.Response:
    return _link_page(request, template, {}, status=links.LinkNotValid.status)


async def show_reset_form(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    try:
        holder = await links.check_link(ctx, links.PASSWORD_RESET, request.match_info["token"])
    except links.LinkNotValid:
        return _link_not_valid(request, "accounts/reset_expired.html")
    return _link_page(request, "accounts/reset_password.html", {"holder": holder})


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
        return _link_page(
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
    return _link_page(
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
    return _link_page(
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
    return _link_page(request, "accounts/email_sign_in_confirm.html", {"holder": holder})


async def email_sign_in(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    try:
        _, login_token, next_path = await links.sign_in_with_link(ctx, request.match_info["token"])
    except links.LinkNotValid:
        return _link_not_valid(request, "accounts/email_sign_in_expired.html")
    response = redirect(_safe_next(next_path))
    set_session_cookie(request, response, login_token)
    raise response


def setup(app: web.Application) -> None:
    page(app, "GET", "login", show_sign_in)
    page(app, "POST", "login", sign_in, limit="sign_in")
    page(app, "POST", "logout", sign_out)
    page(app, "GET", "register", show_register)
    page(app, "POST", "register", register, limit="register")
    page(app, "GET", "account", show_account)
    page(app, "POST", "account_profile", update_profile)
    page(app, "POST", "account_language", update_language)
    page(app, "GET", "language", switch_language)
    page(app, "POST", "account_password", change_password)
    page(app, "POST", "account_tokens", create_token)
    page(app, "POST", "account_token_revoke", revoke_token)
    page(app, "POST", "account_data", download_data)
    page(app, "POST", "account_delete", delete_account)
    page(app, "GET", "password_reset", show_reset_request)
    page(app, "POST", "password_reset", request_reset)
    page(app, "GET", "password_reset_link", show_reset_form)
    # Asking for a reset or sign-in link is throttled where the link is made, per email and per
    # address in PostgreSQL (confer.accounts.links; EMAIL_LINK_MAX_PER_EMAIL and
    # EMAIL_LINK_MAX_PER_ADDRESS); only using a link spends from a rate limit here.
    page(app, "POST", "password_reset_link", reset_password, limit="password_reset")
    page(app, "GET", "email_sign_in", show_email_sign_in)
    page(app, "POST", "email_sign_in", request_email_sign_in)
    page(app, "GET", "email_sign_in_link", show_email_sign_in_confirm)
    page(app, "POST", "email_sign_in_link", email_sign_in, limit="sign_in")
