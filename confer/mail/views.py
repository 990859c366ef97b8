"""The development outbox page (emails as they would have been sent, when SMTP_URL is unset
and Confer answers on this machine only), and the `linkify_text` template filter.

The pages for emailed links (password reset, sign-in by link) are in confer.accounts.views.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from confer.keys import ctx_key
from confer.mail import queries as q
from confer.mail import render
from confer.proxies import came_through_proxy
from confer.routing import page
from confer.settings import Settings, is_loopback_url

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
    context.setdefault("dev_outbox", dev_outbox_enabled(request.app[ctx_key].settings))
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("message", "")
    return aiohttp_jinja2.render_template(template, request, context, status=status)


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
    """Add the development outbox's route, and the `linkify_text` template filter (plain text
    with its web addresses as links, escaped)."""
    aiohttp_jinja2.get_env(app).filters["linkify_text"] = lambda text: render.linkify(
        text, link_class="govuk-link"
    )
    page(app, "GET", "dev_outbox", dev_outbox)
