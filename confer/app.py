"""create_app(settings): the only place where Confer is wired together."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp_jinja2
import asyncpg
import jinja2
from aiohttp import web

from confer import db, health, metrics, observe, ratelimit, resources, timefmt
from confer import web as edge
from confer.context import Ctx
from confer.errors import StartupError
from confer.fragments import PostFragments
from confer.keys import (
    actor_key,
    csrf_key,
    ctx_key,
    hub_key,
    pool_key,
    redis_key,
    settings_key,
)
from confer.live.hub import Hub
from confer.metrics import metrics_key
from confer.policy import ANONYMOUS
from confer.settings import Settings, is_loopback_url

log = logging.getLogger(__name__)


async def _context(request: web.Request) -> dict[str, object]:
    from confer.notifications.views import header_context

    return {
        "actor": request.get(actor_key, ANONYMOUS),
        "csrf_token": request.get(csrf_key, ""),
        "settings": request.app[settings_key],
        "request_path": request.path,
        # The header's "Notifications (N)" and a thread page's Follow button: one query.
        **await header_context(request),
    }


_ROW_TYPES = (dict, asyncpg.Record)
_ROW_METHODS = frozenset(dir(dict)) | frozenset(dir(asyncpg.Record))


class _Environment(jinja2.Environment):
    """Templates read rows (dicts and asyncpg Records) as `p.author_name`. Jinja tries an
    attribute first, and on a row that raises and catches an AttributeError before it tries
    the key: a quarter of a thread page's rendering time (bench/pages.py). Here a row's key is
    tried first; method names (`items`, `get`, ...) still resolve to the method, as in Jinja."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) in _ROW_TYPES and attribute not in _ROW_METHODS:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _jinja(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(resources.path("templates")),
        context_processors=[_context],
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code (restart to see an edit): without this every render,
        # and every {% include %} of a post in a thread page's loop, stats the template file.
        auto_reload=False,
    )
    env.__class__ = _Environment  # aiohttp_jinja2.setup() makes a plain Environment
    env.filters["when"] = timefmt.when
    env.filters["short"] = timefmt.short
    env.filters["clock"] = timefmt.clock
    env.filters["day"] = timefmt.day
    env.filters["input_value"] = timefmt.input_value
    env.filters["iso"] = timefmt.iso
    env.globals["static"] = lambda path: f"/static/{path}"
    env.globals["posts_html"] = PostFragments()

    async def precompile(app: web.Application) -> None:
        """Compile every template in a thread once the server is up: compiling the thread page
        on its first request would hold the event loop for ~150 ms (tests/test_loop_lag.py)."""

        def compile_all() -> None:
            # mail/ templates belong to the emails' own environment (confer.mail.render).
            for name in env.list_templates(filter_func=lambda n: not n.startswith("mail/")):
                try:
                    env.get_template(name)
                except jinja2.TemplateError:
                    log.exception("template %s does not compile", name)

        app[_precompiled_key] = asyncio.get_running_loop().run_in_executor(None, compile_all)

    async def finish(app: web.Application) -> None:
        if (pending := app.get(_precompiled_key)) is not None:
            await pending  # never leave the thread running past the event loop

    app.on_startup.append(precompile)
    app.on_cleanup.append(finish)


_precompiled_key = web.AppKey("precompiled", asyncio.Future)
_frozen_key = web.AppKey("heap_frozen", asyncio.Task)


async def freeze_startup_heap(app: web.Application) -> None:
    """Once the server is warm (templates compiled), keep what it has built so far out of the
    garbage collector's full collections (`gc.freeze`).

    A full collection walks every object in the process; with the server's ~80 MB of modules,
    templates and parsers that held the event loop for ~40 ms each time (five times in 20 s of
    bench/writes.py, and the odd 50 ms page in bench/pages.py). Frozen objects are never
    collected, so this is for `confer serve` only: a test process starts many apps."""

    async def freeze() -> None:
        if (pending := app.get(_precompiled_key)) is not None:
            await pending
        gc.freeze()  # no collection first: that alone held the loop for ~100 ms

    app[_frozen_key] = asyncio.get_running_loop().create_task(freeze())


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
    app[ratelimit.limiter_key].store = ratelimit.RedisStore(client)
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
    app_metrics = metrics.Metrics()
    app = web.Application(
        client_max_size=settings.request_max_bytes,
        middlewares=[
            # Outermost: the request id for every log line, the count and time of every answer.
            observe.make_middleware(observe.trusted_checker(settings.trusted_proxies), app_metrics),
            edge.error_middleware,
            edge.actor_middleware,
            edge.csrf_middleware,
            ratelimit.middleware,
        ],
    )
    app[settings_key] = settings
    app[ratelimit.limiter_key] = ratelimit.Limiter(ratelimit.parse(settings.rate_limits))
    app[hub_key] = Hub()
    _jinja(app)
    app.on_response_prepare.append(edge.security_headers)
    app.cleanup_ctx.append(_redis)
    app.on_response_prepare.append(observe.echo_request_id)
    metrics.setup(app, app_metrics)
    # The pool must exist before anything that uses it starts (the live server, the scheduler).
    app.cleanup_ctx.append(_database)
    health.setup(app)

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
    app.router.add_static("/static/", resources.path("static"), name="static", append_version=False)
    observe.register_routes(app.router)  # which paths carry a token, for the logs
    return app
