"""How a route is declared: beside its handler, with everything else that is said about it.

Every `setup(app)` adds its routes through this module:

- `page(app, "GET", "thread", show_thread)`: a page or form route, by its name in
  confer.urls.PAGES (the one place its address is written);
- `api(app, "POST", "/threads/{thread_id}/posts", create_post, limit="post", doc={...})`:
  a JSON API route under confer.urls.API, with its OpenAPI operation.

`limit=` names the rate limit (confer.ratelimit.DEFAULTS) that the route spends from. Each
declaration is kept in the application's route table (`routes_key`), from which the rate-limit
middleware's lookup (`limits_key`) and the OpenAPI document's `paths` (confer.api.openapi) are
built, so neither is a second list that can drift from the routes.

A JSON API handler is written one way: `async def h(call: Call) -> Any`, given the actor, the
context, and the request's parameters and JSON object, both checked by `api` against the
operation's schemas first (confer.api.contract); it calls one service function and returns
what to answer: a JSON value (200), `Reply(value, status)` (see `created`; 204: no body), or
a response of its own (a streamed download).
Errors are raised as confer.errors and answered by confer.web's error middleware as
`{"error": {"code", "message", "fields"}}`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from confer.api.contract import Contract, complete
from confer.context import Ctx
from confer.keys import actor_key, contracts_key, ctx_key, limits_key, routes_key, settings_key
from confer.policy import Actor
from confer.ratelimit import DEFAULTS
from confer.urls import API, PAGES
from confer.web import int_param, json_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    name: str | None = None
    limit: str | None = None
    doc: dict[str, Any] | None = None  # the OpenAPI operation (JSON API routes)


@dataclass(slots=True)
class Call:
    """One JSON API request, as its handler needs it."""

    request: web.Request
    ctx: Ctx
    actor: Actor
    body: dict[str, Any]
    # The path and query parameters the operation documents, read as their schemas' types
    # and checked (confer.api.contract); an optional one that was not sent is absent.
    params: dict[str, Any]

    def id(self, name: str) -> int:
        """A numeric path segment (anything else is a 404)."""
        return int_param(self.request, name)

    @property
    def slug(self) -> str:
        return self.request.match_info["slug"]

    @property
    def method(self) -> str:
        return self.request.method


@dataclass(frozen=True, slots=True)
class Reply:
    data: Any
    status: int = 200


def created(data: Any, new: bool = True) -> Reply:
    """201 for what was made now; 200 for what an earlier request (same idempotency key) made."""
    return Reply(data, 201 if new else 200)


JsonHandler = Callable[[Call], Awaitable[Any]]


def json_handler(fn: JsonHandler, doc: dict[str, Any]) -> Handler:
    """An aiohttp handler around `fn`: checks the request against its operation `doc` first
    (confer.api.contract: parameters, and the JSON body when it documents one), answers JSON."""

    async def handle(request: web.Request) -> web.StreamResponse:
        contract = _contract(request.app, doc)
        params = contract.query(request)
        data = await contract.read_body(request)
        call = Call(request, request.app[ctx_key], request[actor_key], data, params)
        result = await fn(call)
        if isinstance(result, web.StreamResponse):
            return result
        if isinstance(result, Reply):
            if result.status == 204:
                return web.Response(status=204)
            return json_response(result.data, status=result.status)
        return json_response(result)

    return functools.update_wrapper(handle, fn)


def _contract(app: web.Application, doc: dict[str, Any]) -> Contract:
    """The operation's checks, compiled once per application (its settings fill the limits)."""
    cache = app[contracts_key]
    found = cache.get(id(doc))
    if found is None:
        from confer.api.openapi import SCHEMAS  # the shared schemas, declared after routing

        found = cache[id(doc)] = Contract(doc, SCHEMAS, app[settings_key])
    return found


def _table(app: web.Application) -> list[Route]:
    if routes_key not in app:
        app[routes_key] = []
        app[limits_key] = {}
        app[contracts_key] = {}
    return app[routes_key]


def add(
    app: web.Application,
    method: str,
    path: str,
    handler: Handler,
    *,
    name: str | None = None,
    limit: str | None = None,
    doc: dict[str, Any] | None = None,
) -> web.AbstractRoute:
    """Add a route and record its declaration. A GET also answers HEAD, as aiohttp's add_get."""
    if limit is not None and limit not in DEFAULTS:
        raise ValueError(f"{method} {path}: no rate limit named {limit!r}")
    table = _table(app)
    # aiohttp names a resource once: a form's POST on a page's address shares the GET's name.
    resource_name = name if name is not None and name not in app.router.named_resources() else None
    if method == "GET":
        route = app.router.add_get(path, handler, name=resource_name)
    else:
        route = app.router.add_route(method, path, handler, name=resource_name)
    table.append(Route(method, path, handler, name, limit, doc))
    if limit is not None:
        assert route.resource is not None
        app[limits_key][(method, route.resource.canonical)] = limit
    return route


def page(
    app: web.Application,
    method: str,
    name: str,
    handler: Handler,
    *,
    limit: str | None = None,
) -> web.AbstractRoute:
    """A page or form route at the address named `name` in confer.urls.PAGES."""
    return add(app, method, PAGES[name], handler, name=name, limit=limit)


def api(
    app: web.Application,
    method: str,
    path: str,
    handler: JsonHandler,
    *,
    doc: dict[str, Any],
    limit: str | None = None,
    name: str | None = None,
) -> web.AbstractRoute:
    """A JSON API route at API + `path`, documented by the OpenAPI operation `doc`: each request
    is checked against it before `handler` runs (confer.api.contract), and the error responses
    the route can give are added to it from what it declares (`limit`, a body, parameters)."""
    doc = complete(method, doc, limit)
    wrapped = json_handler(handler, doc)
    return add(app, method, API + path, wrapped, name=name, limit=limit, doc=doc)


def declared(app: web.Application) -> list[Route]:
    """Every route declared so far, in the order added."""
    return list(app.get(routes_key, []))
