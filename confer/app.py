"""create_app(settings): the only place where Confer is wired together.

It reads as a table of contents: the middlewares (confer.web, confer.observe, confer.ratelimit),
templates (confer.startup), Redis and the database (below), each capability's routes, the live
server (confer.live.server) and the background tasks (confer.tasks)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from confer import db, health, metrics, observe, ratelimit, resources, startup
from confer import web as edge
from confer.accounts import views as accounts_views
from confer.api import routes as api_routes
from confer.calendars import reminder_views
from confer.calendars import views as calendar_views
from confer.calendars.reminders import reminders_ctx
from confer.conferences import views as conference_views
from confer.context import Ctx
from confer.errors import StartupError
from confer.exports import views as export_views
from confer.files import api as files_api
from confer.files import views as files_views
from confer.files.service import rescan_ctx
from confer.keys import (
    ctx_key,
    hub_key,
    limiter_key,
    metrics_key,
    pool_key,
    redis_key,
    settings_key,
)
from confer.live import server as live_server
from confer.live.hub import Hub
from confer.live.scheduler import scheduler_ctx
from confer.mail import views as mail_views
from confer.mail.sender import sender_ctx
from confer.moderation import views as moderation_views
from confer.notifications import views as notification_views
from confer.notifications.digest import digest_ctx
from confer.panels import views as panel_views
from confer.registration import views as registration_views
from confer.reports import views as report_views
from confer.search import views as search_views
from confer.settings import Settings, is_loopback_url
from confer.site import views as site_views
from confer.sso import views as sso_views
from confer.threads import views as thread_views

log = logging.getLogger(__name__)


async def _redis(app: web.Application) -> AsyncIterator[None]:
    """With REDIS_URL: one client for the shared rate limits and /readyz, checked at start, so
    that a wrong or unreachable Redis stops Confer with one clear line instead of half-starting
    (live rooms would silently stay local to each process)."""
    settings = app[settings_key]
    if not settings.redis_url:
        yield
        return
    import redis.asyncio as aioredis

    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    except Exception as e:
        await client.aclose()
        raise StartupError(
            f"REDIS_URL is set but Redis does not answer there ({type(e).__name__}: {e}). "
            "Start Redis, correct REDIS_URL, or unset it to run one process alone."
        ) from None
    app[redis_key] = client
    app[limiter_key].store = ratelimit.RedisStore(client)
    yield
    await client.aclose()


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    dsn = settings.database_url
    if dsn is None:
        from confer import embedded

        if not is_loopback_url(settings.base_url):
            log.warning(
                "Confer is using its embedded database while BASE_URL (%s) is not on this "
                "machine. The embedded database is for trying Confer out: in production set "
                "DATABASE_URL to your PostgreSQL server (docs/deploy.md).",
                settings.base_url,
            )
        dsn = embedded.start(settings.data_dir)
    pool = await db.create_pool(dsn, max_size=settings.pool_max_size)
    async with pool.acquire() as con:
        await db.migrate(con)
    app[pool_key] = pool
    app[ctx_key] = Ctx(pool=pool, settings=settings, hub=app[hub_key], metrics=app[metrics_key])
    yield
    await pool.close()


def create_app(settings: Settings) -> web.Application:
    """The application, part by part; each part is set up where it lives."""
    app_metrics = metrics.Metrics()
    app = web.Application(
        client_max_size=settings.request_max_bytes,
        middlewares=[
            # Outermost: the request id for every log line, the count and time of every answer.
            observe.make_middleware(observe.trusted_checker(settings.trusted_proxies), app_metrics),
            # The reader's language before anything can answer, error pages included.
            edge.language_middleware,
            edge.error_middleware,
            edge.actor_middleware,
            edge.csrf_middleware,
            ratelimit.middleware,
        ],
    )
    app[settings_key] = settings
    app[limiter_key] = ratelimit.Limiter(ratelimit.parse(settings.rate_limits))
    app[hub_key] = Hub()
    startup.setup_templates(app)
    app.on_response_prepare.append(edge.security_headers)
    app.cleanup_ctx.append(_redis)
    app.on_response_prepare.append(observe.echo_request_id)
    metrics.setup(app, app_metrics)
    # The pool must exist before anything that uses it starts (the live server, the scheduler).
    app.cleanup_ctx.append(_database)
    health.setup(app)
    _add_pages_and_api(app)
    live_server.setup(app)
    # Background tasks (confer.tasks), after _database: they need the pool.
    app.cleanup_ctx.append(scheduler_ctx)  # the programme clock
    app.cleanup_ctx.append(sender_ctx)  # the outbox sender
    app.cleanup_ctx.append(digest_ctx)  # the daily digest
    app.cleanup_ctx.append(reminders_ctx)  # reminders of starred sessions
    app.cleanup_ctx.append(rescan_ctx)  # files that waited for the virus scanner
    app.router.add_static("/static/", resources.path("static"), name="static", append_version=False)
    observe.register_routes(app.router)  # which paths carry a token, for the logs
    return app


def _add_pages_and_api(app: web.Application) -> None:
    """Every capability's routes: pages and forms, then the JSON API."""
    accounts_views.setup(app)
    sso_views.setup(app)
    conference_views.setup(app)
    thread_views.setup(app)
    moderation_views.setup(app)
    panel_views.setup(app)
    export_views.setup(app)
    report_views.setup(app)
    mail_views.setup(app)
    registration_views.setup(app)
    notification_views.setup(app)
    reminder_views.setup(app)
    search_views.setup(app)
    calendar_views.setup(app)
    site_views.setup(app)
    files_views.setup(app)
    files_api.setup(app)
    # The API's catch-all 404 comes last among /api/ routes.
    api_routes.setup(app)
