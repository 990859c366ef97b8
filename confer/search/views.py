"""The search page (/c/<slug>/search, a GET form that works without JavaScript) and its JSON
twin (/api/v1/conferences/<slug>/search). Both are thin adapters around service.search()."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from confer.errors import Invalid
from confer.keys import actor_key, ctx_key
from confer.search import service
from confer.search.service import FILTERS, MAX_PAGE, PER_PAGE, Results, page_url
from confer.validate import parse_id
from confer.web import json_response, query_int

API = "/api/v1"


def _slug(request: web.Request) -> str:
    return request.match_info["slug"]


async def _search(request: web.Request) -> Results:
    ctx = request.app[ctx_key]
    return await service.search(
        ctx,
        request[actor_key],
        _slug(request),
        request.query.get("q"),
        session_id=request.query.get("session_id"),
        thread_id=request.query.get("thread_id"),
        author_id=request.query.get("author_id"),
        page=query_int(request, "page", 1, lo=1, hi=MAX_PAGE),
    )


async def show_search(request: web.Request) -> web.Response:
    """No `q` yet: the form. A `q`: the form, kept filled in, and a page of results."""
    ctx = request.app[ctx_key]
    results = None
    errors: dict[str, str] = {}
    status = 200
    if "q" in request.query:
        try:
            results = await _search(request)
        except Invalid as e:
            errors, status = e.fields, e.status
    place = (
        results.place
        if results is not None
        else await service.load(ctx, request[actor_key], _slug(request))
    )
    base = f"/c/{place.conference['slug']}/search"
    # Filters carried by the form when there are no results to take them from.
    kept = {n: parse_id(request.query.get(n)) for n in FILTERS}
    sessions = await service.discussion_sessions(ctx, place)
    # Each result links to the same search narrowed to its thread or author: built once here.
    narrow_url = {}
    if results is not None:
        narrow_url = {
            n: page_url(base, results, 1, **{n: None}) for n in ("thread_id", "author_id")
        }
    return aiohttp_jinja2.render_template(
        "search/show.html",
        request,
        {
            "place": place,
            "c": place.conference,
            "session_options": [("", "All sessions")]
            + [(str(s["id"]), s["title"]) for s in sessions],
            "query": request.query.get("q", ""),
            "results": results,
            "kept": results.filters if results is not None else kept,
            "errors": errors,
            "base": base,
            "page_url": page_url,
            "narrow_url": narrow_url,
            "per_page": PER_PAGE,
            "max_results": service.MAX_RESULTS,
        },
        status=status,
    )


def results_json(results: Results) -> dict:
    slug = results.place.conference["slug"]
    api = f"{API}/conferences/{slug}/search"
    return {
        "query": results.query,
        "page": results.page,
        "pages": results.pages,
        "per_page": PER_PAGE,
        "total": min(results.total, service.MAX_RESULTS),
        "more_than_total": results.more_than_max,
        "total_text": results.total_text,
        "notice": results.notice,
        "filters": results.filters,
        "results": results.hits,
        "next": page_url(api, results, results.page + 1) if results.page < results.pages else None,
        "previous": page_url(api, results, results.page - 1) if results.page > 1 else None,
        "url": page_url(f"/c/{slug}/search", results, results.page),
    }


async def api_search(request: web.Request) -> web.Response:
    return json_response(results_json(await _search(request)))


def setup(app: web.Application) -> None:
    """Add this capability's routes (the API's before its catch-all, added later)."""
    r = app.router
    r.add_get("/c/{slug}/search", show_search, name="search")
    r.add_get(f"{API}/conferences/{{slug}}/search", api_search)
