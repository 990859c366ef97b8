"""Pages for sign-in with a provider: the buttons' start, the provider's return, linking an
existing account once it has signed in, and removing a linked sign-in.

Two HttpOnly cookies, neither readable by script: BROWSER_COOKIE binds a started sign-in to
the browser that started it (a stolen return address is useless elsewhere), and LINK_COOKIE
names an identity waiting for its existing account to sign in. Both are SameSite=Lax: the
provider sends the browser back with a top-level GET, which Lax allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from confer.accounts.views import _safe_next
from confer.keys import actor_key, ctx_key, settings_key, sso_directory_key
from confer.routing import page
from confer.settings import Settings
from confer.sso import client, service
from confer.sso.errors import SignInFailed
from confer.urls import url
from confer.web import int_param, read_form, redirect, set_session_cookie

BROWSER_COOKIE = "confer_sso"
LINK_COOKIE = "confer_sso_link"


def _cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, *, path: str,
    seconds: int,
) -> None:  # fmt: skip
    response.set_cookie(
        name, value, max_age=seconds, path=path, httponly=True, samesite="Lax",
        secure=request.app[settings_key].secure_cookies,
    )  # fmt: skip


async def start(request: web.Request) -> web.StreamResponse:
    """A provider's button (a form, so it works without JavaScript): off to the provider."""
    ctx = request.app[ctx_key]
    form = await read_form(request)
    link = form.get("link") == "1"
    try:
        started = await service.begin(
            ctx,
            request.app[sso_directory_key],
            request.match_info["provider"],
            actor=request[actor_key],
            next_path=_safe_next(form.get("next")),
            link=link,
            browser_secret=request.cookies.get(BROWSER_COOKIE),
        )
    except SignInFailed as e:
        return _failed(request, e)
    response = web.HTTPSeeOther(started.url)
    _cookie(
        request, response, BROWSER_COOKIE, started.browser_secret,
        path=url("sso_start", provider="").rstrip("/"), seconds=ctx.settings.sso_flow_seconds,
    )  # fmt: skip
    raise response


def _failed(request: web.Request, e: SignInFailed) -> web.Response:
    provider = request.app[settings_key].provider(e.provider_id)
    return aiohttp_jinja2.render_template(
        "sso/failed.html",
        request,
        {"message": e.message, "provider": provider, "kind": e.kind},
        status=e.status,
    )


async def callback(request: web.Request) -> web.StreamResponse:
    """The provider sends the browser back here with a code (or an error) and the state."""
    ctx = request.app[ctx_key]
    try:
        done = await service.finish(
            ctx,
            request.app[sso_directory_key],
            request.match_info["provider"],
            request.query,
            browser_secret=request.cookies.get(BROWSER_COOKIE),
            actor=request[actor_key],
        )
    except SignInFailed as e:
        return _failed(request, e)
    if done.outcome == "needs_proof":
        assert done.pending_token is not None
        response = redirect(url("sso_link"))
        _cookie(
            request, response, LINK_COOKIE, done.pending_token, path=url("sso_link"),
            seconds=ctx.settings.sso_pending_link_seconds,
        )  # fmt: skip
        raise response
    target = _safe_next(done.next_path)
    if done.outcome in ("created", "linked"):
        target = _landing(target, "sso-" + done.outcome)
    response = redirect(target)
    if done.login_token:
        set_session_cookie(request, response, done.login_token)
    raise response


def _landing(path: str, done: str) -> str:
    """Where a new account or a new link lands: the page it was going to, or else the
    account page with its banner (confer.banners)."""
    if path in ("/", url("account")):
        return f"{url('account')}?done={done}"
    return path


async def show_link(request: web.Request) -> web.Response:
    """An identity waiting for its account: sign in to that account once, then confirm."""
    ctx = request.app[ctx_key]
    pending = await service.pending_link(ctx, request.cookies.get(LINK_COOKIE))
    actor = request[actor_key]
    return aiohttp_jinja2.render_template(
        "sso/link.html",
        request,
        {
            "pending": pending,
            "signed_in_as_it": pending is not None and actor.user_id == pending.user_id,
            "errors": {},
        },
        status=200 if pending is not None else 404,
    )


async def confirm_link(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    await read_form(request)
    try:
        linked = await service.confirm_pending_link(
            ctx, request[actor_key], request.cookies.get(LINK_COOKIE)
        )
    except SignInFailed as e:
        return _failed(request, e)
    response = redirect(_landing(_safe_next(linked.next_path), "sso-linked"))
    response.del_cookie(LINK_COOKIE, path=url("sso_link"))
    raise response


async def remove(request: web.Request) -> web.StreamResponse:
    ctx = request.app[ctx_key]
    await read_form(request)
    await service.remove_identity(ctx, request[actor_key], int_param(request, "identity_id"))
    raise redirect(f"{url('account')}?done=sso-removed")


FORM_ACTION = "form-action 'self'"


def form_action_hook(settings: Settings) -> Callable[[web.Request, web.StreamResponse], Any]:
    """The CSP's form-action lets a provider's button reach the provider: a browser applies
    form-action to the redirect that follows the form (to the provider's authorization
    endpoint, on the issuer's origin for Entra ID, Google and the usual providers)."""
    origins = sorted({_origin(p.issuer) for p in settings.oidc_providers})
    widened = FORM_ACTION + "".join(f" {o}" for o in origins)

    async def hook(request: web.Request, response: web.StreamResponse) -> None:
        csp = response.headers.get("Content-Security-Policy")
        if csp and FORM_ACTION in csp and response.content_type == "text/html":
            response.headers["Content-Security-Policy"] = csp.replace(FORM_ACTION, widened)

    return hook


def _origin(address: str) -> str:
    parts = urlsplit(address)
    return f"{parts.scheme}://{parts.netloc}"


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(client.directory_ctx)
    settings = app[settings_key]
    if settings.oidc_providers:
        # After confer.web.security_headers (added before the routes), which sets the CSP.
        app.on_response_prepare.append(form_action_hook(settings))
    page(app, "GET", "sso_link", show_link)
    page(app, "POST", "sso_link", confirm_link, limit="sign_in")
    page(app, "POST", "sso_start", start, limit="sign_in")
    page(app, "GET", "sso_callback", callback, limit="sign_in")
    page(app, "POST", "sso_remove", remove)
