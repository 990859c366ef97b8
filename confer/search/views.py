"""The search page (/c/<slug>/search, a GET form that works without JavaScript) and its JSON
twin (/api/v1/conferences/<slug>/search). Both are thin adapters around service.search()."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from confer.api.openapi import ERRORS, INT, QUERY_ID, SLUG, STR, TIME, returns
from confer.errors import Invalid
from confer.i18n import _
from confer.keys import actor_key, ctx_key
from confer.routing import API, Call, api, page
from confer.search import service
from confer.search.service import FILTERS, MAX_PAGE, PER_PAGE, Results, page_url
from confer.urls import url
from confer.validate import parse_id
from confer.web import query_int


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
    base = url("search", slug=place.conference["slug"])
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
            "session_options": [("", _("All sessions"))]
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
    link = API + SEARCH.format(slug=slug)
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
        # hidden_text is the page's words for hidden_reason (in the reader's language).
        "results": [{k: v for k, v in h.items() if k != "hidden_text"} for h in results.hits],
        "next": page_url(link, results, results.page + 1) if results.page < results.pages else None,
        "previous": page_url(link, results, results.page - 1) if results.page > 1 else None,
        "url": page_url(url("search", slug=slug), results, results.page),
    }


async def api_search(call: Call) -> dict:
    return results_json(await _search(call.request))


# The JSON twin's path under confer.urls.API.
SEARCH = "/conferences/{slug}/search"

_SEARCH_DOC = {
    "summary": "Search a conference's posts: best matches first, 20 a page; hidden and pending "
               "posts only for those who moderate them",
    "parameters": [
        SLUG,
        {"name": "q", "in": "query", "required": True,
         "description": "Words (websearch syntax: \"a phrase\", or, -word)",
         "schema": {"type": "string", "minLength": 1, "maxLength": 200}},
        {"name": "session_id", "in": "query", "schema": QUERY_ID},
        {"name": "thread_id", "in": "query", "schema": QUERY_ID},
        {"name": "author_id", "in": "query", "schema": QUERY_ID},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10}},
    ],
    "responses": {"200": returns({"type": "object", "properties": {
        "query": STR, "page": INT, "pages": INT, "per_page": INT,
        "total": {"type": "integer", "description": "Counted up to 200"},
        "more_than_total": {"type": "boolean", "description": "More than 200 posts match; "
                            "the newest 200 are ranked"},
        "total_text": STR, "notice": {"type": ["string", "null"]},
        "filters": {"type": "object"},
        "results": {"type": "array", "items": {"type": "object", "properties": {
            "id": INT, "url": STR, "status": {"enum": ["visible", "pending", "hidden"]},
            "hidden_reason": {"type": ["string", "null"]},
            "lang": {"enum": ["en", "cy"], "description": "The language the post was written in"},
            "thread": {"type": "object"}, "session": {"type": "object"},
            "author": {"type": "object"}, "created_at": TIME, "created_at_text": STR,
            "rank": {"type": "number"},
            "snippet_html": {"type": "string", "description": "Escaped text of the post with "
                             "the matching words in <mark>; safe to insert"}}}},
        "next": {"type": ["string", "null"]}, "previous": {"type": ["string", "null"]},
        "url": STR}}), **ERRORS},
}  # fmt: skip


def setup(app: web.Application) -> None:
    """Add this capability's routes (the API's before its catch-all, added later)."""
    page(app, "GET", "search", show_search, limit="search")
    api(app, "GET", SEARCH, api_search, limit="search", doc=_SEARCH_DOC)
