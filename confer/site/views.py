"""Site pages: who may create conferences (site administrators), and the accessibility
statement (docs/accessibility.md rendered from its Markdown, unless ACCESSIBILITY_URL names
the operator's own)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from confer import markup, resources
from confer.errors import Invalid
from confer.keys import actor_key, ctx_key, settings_key
from confer.routing import page
from confer.site import creators
from confer.urls import url
from confer.web import read_form, redirect

# The statement's HTML, rendered on its first request (a holder made before the app starts).
STATEMENT_KEY = web.AppKey("accessibility_statement", dict)


async def _people_page(
    request: web.Request, *, errors: dict | None = None, values: dict | None = None,
    status: int = 200,
) -> web.Response:  # fmt: skip
    rows = await creators.list_creators(request.app[ctx_key], request[actor_key])
    done = request.query.get("done")
    return aiohttp_jinja2.render_template(
        "site/people.html",
        request,
        {
            "creators": rows,
            "errors": errors or {},
            "values": values or {},
            "done": done if done in ("allowed", "removed") else None,
        },
        status=status,
    )


async def show_people(request: web.Request) -> web.Response:
    return await _people_page(request)


async def set_creator(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    try:
        row = await creators.set_creator(request.app[ctx_key], request[actor_key], form)
    except Invalid as e:
        return await _people_page(request, errors=e.fields, values=form, status=e.status)
    done = "allowed" if form.get("allowed") == "yes" else "removed"
    raise redirect(f"{url('site_people')}?done={done}#creator-{row['id']}")


async def show_accessibility(request: web.Request) -> web.StreamResponse:
    configured = request.app[settings_key].accessibility_url
    if configured and configured != url("accessibility"):
        raise redirect(configured)
    held = request.app[STATEMENT_KEY]
    if "html" not in held:  # rendered once, off the event loop
        source = (resources.path("docs") / "accessibility.md").read_text(encoding="utf-8")
        held["html"] = await markup.render(source)
    return aiohttp_jinja2.render_template(
        "site/accessibility.html", request, {"statement_html": held["html"]}
    )


def setup(app: web.Application) -> None:
    app[STATEMENT_KEY] = {}
    page(app, "GET", "site_people", show_people)
    page(app, "POST", "site_people", set_creator)
    page(app, "GET", "accessibility", show_accessibility)
