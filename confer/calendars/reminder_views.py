"""Forms for reminders (confer.calendars.reminders): the member's default, on the notification
settings page, and one starred session's choice, where its star is. Thin adapters: forms
post, then redirect."""

from __future__ import annotations

from aiohttp import web

from confer.calendars import reminders
from confer.errors import Invalid
from confer.keys import actor_key, ctx_key
from confer.notifications.views import _require_signed_in, _settings_page
from confer.routing import page
from confer.urls import url
from confer.web import int_param, read_form, redirect


async def save_default(request: web.Request) -> web.StreamResponse:
    """POST reminder=0|15|60 (or none)."""
    _require_signed_in(request)
    form = await read_form(request)
    try:
        await reminders.set_default_reminder(
            request.app[ctx_key], request[actor_key], form.get("reminder")
        )
    except Invalid as e:
        return await _settings_page(request, errors=e.fields or {}, status=422)
    raise redirect(f"{url('notification_settings')}?saved=1#reminder")


async def save_star(request: web.Request) -> web.StreamResponse:
    """POST reminder=default|0|15|60 for a starred session; back to the session."""
    form = await read_form(request)
    session_id = int_param(request, "session_id")
    chosen = await reminders.set_star_reminder(
        request.app[ctx_key], request[actor_key], session_id, form.get("reminder")
    )
    raise redirect(url("session", slug=chosen.slug, session_id=session_id) + "#reminder")


def setup(app: web.Application) -> None:
    page(app, "POST", "reminder_settings", save_default)
    page(app, "POST", "star_reminder", save_star)
