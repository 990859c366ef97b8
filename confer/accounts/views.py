"""Pages for accounts: register, sign in and out, profile, password and API tokens."""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from confer import banners
from confer.accounts import service
from confer.errors import Forbidden, Invalid, TooManyRequests, Unauthorized
from confer.keys import actor_key, ctx_key
from confer.routing import page
from confer.urls import url
from confer.web import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_address,
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
        user_id = await service.register(ctx.pool, form)
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
    return aiohttp_jinja2.render_template(
        "accounts/account.html",
        request,
        {
            "profile": profile,
            "tokens": tokens,
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
        from confer.web import error_json

        return error_json(e.code, e.message, e.fields, status=e.status)
    return await _account_page(request, new_token=token)


async def revoke_token(request: web.Request) -> web.StreamResponse:
    from confer.web import int_param

    ctx = request.app[ctx_key]
    _signed_in(request)
    await service.revoke_api_token(ctx, request[actor_key], int_param(request, "token_id"))
    raise redirect(f"{url('account')}?done=token-revoked")


async def download_data(request: web.Request) -> web.StreamResponse:
    from confer.accounts import rights
    from confer.web import json_response

    ctx = request.app[ctx_key]
    _signed_in(request)
    data = await rights.my_data(ctx, request[actor_key])
    response = json_response(data)
    response.headers["Content-Disposition"] = 'attachment; filename="my-confer-data.json"'
    return response


async def delete_account(request: web.Request) -> web.StreamResponse:
    from confer.accounts import rights

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


def setup(app: web.Application) -> None:
    page(app, "GET", "login", show_sign_in)
    page(app, "POST", "login", sign_in, limit="sign_in")
    page(app, "POST", "logout", sign_out)
    page(app, "GET", "register", show_register)
    page(app, "POST", "register", register, limit="register")
    page(app, "GET", "account", show_account)
    page(app, "POST", "account_profile", update_profile)
    page(app, "POST", "account_password", change_password)
    page(app, "POST", "account_tokens", create_token)
    page(app, "POST", "account_token_revoke", revoke_token)
    page(app, "POST", "account_data", download_data)
    page(app, "POST", "account_delete", delete_account)
