"""Start-up tuning, kept out of create_app: the Jinja environment (rows read by key first, the
filters and globals every template uses), every template compiled in a thread once the server
is up, and the heap frozen once it is warm (`confer serve` only).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import aiohttp_jinja2
import asyncpg
import jinja2
from aiohttp import web

from confer import (
    banners,
    charcount,
    durations,
    i18n,
    resources,
    statics,
    timefmt,
    urls,
    validate,
)
from confer.fragments import PostFragments
from confer.keys import actor_key, csrf_key, heap_frozen_key, precompiled_key, settings_key
from confer.notifications.views import header_context
from confer.policy import ANONYMOUS, FORMER_NAME

log = logging.getLogger(__name__)


async def _context(request: web.Request) -> dict[str, object]:
    return {
        "actor": request.get(actor_key, ANONYMOUS),
        "csrf_token": request.get(csrf_key, ""),
        "settings": request.app[settings_key],
        "request_path": request.path,
        "language_next": language_next(request),
        # The header's "Notifications (N)" and a thread page's Follow button: one query.
        **await header_context(request),
    }


def language_next(request: web.Request) -> str:
    """Where the language switch comes back to: this page, its query kept (a search, a page
    number) but without the one-off banner's parameters (confer.banners), which are
    acknowledgements of an action, not part of the page."""
    query = [(k, v) for k, v in request.query.items() if k not in banners.QUERY_KEYS]
    return str(request.rel_url.with_query(query)) if query else request.path


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
                value = obj[attribute]
            except KeyError:
                pass
            else:
                if value == FORMER_NAME:  # an erased account's stored name, in the reader's words
                    return i18n.gettext(FORMER_NAME)
                return value
        return super().getattr(obj, attribute)


def setup_templates(app: web.Application) -> None:
    """The app's Jinja environment, its filters and globals; every template compiled once the
    server is up."""
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
        extensions=["jinja2.ext.i18n"],
    )
    env.__class__ = _Environment  # aiohttp_jinja2.setup() makes a plain Environment
    i18n.install_gettext(env)
    env.filters["when"] = timefmt.when
    env.filters["short"] = timefmt.short
    env.filters["clock"] = timefmt.clock
    env.filters["day"] = timefmt.day
    env.filters["input_value"] = timefmt.input_value
    env.filters["iso"] = timefmt.html_iso  # pages: at most three digits of fractions
    env.filters["span"] = timefmt.span
    env.filters["day_name"] = timefmt.day_name
    env.filters["html_span"] = timefmt.html_span
    env.filters["zone_name"] = timefmt.zone_name
    env.filters["megabytes"] = _megabytes  # a size for people (confer.files)
    env.filters["number"] = validate.number
    env.filters["duration"] = durations.duration
    env.globals["character_count_i18n"] = charcount.character_count_i18n
    env.globals["static"] = statics.static_url  # versioned: /static/confer.css?v=<hash>
    env.globals["url"] = urls.url  # a page's address by its name (confer.urls.PAGES)
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

        app[precompiled_key] = asyncio.get_running_loop().run_in_executor(None, compile_all)

    async def finish(app: web.Application) -> None:
        if (pending := app.get(precompiled_key)) is not None:
            await pending  # never leave the thread running past the event loop

    app.on_startup.append(precompile)
    app.on_cleanup.append(finish)


async def freeze_startup_heap(app: web.Application) -> None:
    """Once the server is warm (templates compiled), keep what it has built so far out of the
    garbage collector's full collections (`gc.freeze`).

    A full collection walks every object in the process; with the server's ~80 MB of modules,
    templates and parsers that held the event loop for ~40 ms each time (five times in 20 s of
    bench/writes.py, and the odd 50 ms page in bench/pages.py). Frozen objects are never
    collected, so this is for `confer serve` only: a test process starts many apps."""

    async def freeze() -> None:
        if (pending := app.get(precompiled_key)) is not None:
            await pending
        gc.freeze()  # no collection first: that alone held the loop for ~100 ms

    app[heap_frozen_key] = asyncio.get_running_loop().create_task(freeze())


def _megabytes(n: int) -> str:
    from confer.files.service import megabytes

    return megabytes(n)
