"""create_app(settings): the only place where Confer is wired together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from confer import db, timefmt
from confer import web as edge
from confer.context import Ctx
from confer.keys import actor_key, csrf_key, ctx_key, hub_key, pool_key, settings_key
from confer.live.hub import Hub
from confer.policy import ANONYMOUS
from confer.settings import Settings

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"


async def _context(request: web.Request) -> dict[str, object]:
    return {
        "actor": request.get(actor_key, ANONYMOUS),
        "csrf_token": request.get(csrf_key, ""),
        "settings": request.app[settings_key],
        "request_path": request.path,
    }


def _jinja(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        context_processors=[_context],
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = timefmt.when
    env.filters["short"] = timefmt.short
    env.filters["clock"] = timefmt.clock
    env.filters["day"] = timefmt.day
    env.filters["input_value"] = timefmt.input_value
    env.filters["iso"] = timefmt.iso
    env.globals["static"] = lambda path: f"/static/{path}"


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    dsn = settings.database_url
    if dsn is None:
        from confer import embedded

        dsn = embedded.start(settings.data_dir)
    pool = await db.create_pool(dsn, max_size=settings.pool_max_size)
    async with pool.acquire() as con:
        await db.migrate(con)
    app[pool_key] = pool
    app[ctx_key] = Ctx(pool=pool, settings=settings, hub=app[hub_key])
    yield
    await pool.close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.request_max_bytes,
        middlewares=[edge.error_middleware, edge.actor_middleware, edge.csrf_middleware],
    )
    app[settings_key] = settings
    app[hub_key] = Hub()
    _jinja(app)
    app.on_response_prepare.append(edge.security_headers)
    # The pool must exist before anything that uses it starts (the live server, the scheduler).
    app.cleanup_ctx.append(_database)

    from confer.accounts import views as accounts_views
    from confer.api import routes as api_routes
    from confer.conferences import views as conference_views
    from confer.exports import views as export_views
    from confer.mail import views as mail_views
    from confer.moderation import views as moderation_views
    from confer.notifications import views as notification_views
    from confer.panels import views as panel_views
    from confer.registration import views as registration_views
    from confer.reports import views as report_views
    from confer.search import views as search_views
    from confer.threads import views as thread_views

    accounts_views.setup(app)
    conference_views.setup(app)
    thread_views.setup(app)
    moderation_views.setup(app)
    panel_views.setup(app)
    export_views.setup(app)
    report_views.setup(app)
    mail_views.setup(app)
    registration_views.setup(app)
    notification_views.setup(app)
    search_views.setup(app)
    # The API's catch-all 404 comes last among /api/ routes.
    api_routes.setup(app)
    from confer.live import server as live_server

    live_server.setup(app)
    from confer.live.scheduler import scheduler_ctx

    # After _database: the programme clock needs the pool.
    app.cleanup_ctx.append(scheduler_ctx)
    from confer.mail.sender import sender_ctx
    from confer.notifications.digest import digest_ctx

    app.cleanup_ctx.append(sender_ctx)
    app.cleanup_ctx.append(digest_ctx)
    app.router.add_static("/static/", STATIC, name="static", append_version=False)
    return app
