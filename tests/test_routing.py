"""Routes are declared once (confer.routing): names, addresses, rate limits and OpenAPI
operations all come from the declarations, and internal links are built from route names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from confer.app import create_app
from confer.keys import limits_key
from confer.ratelimit import DEFAULTS
from confer.routing import declared
from confer.settings import Settings
from confer.urls import API, PAGES, url
from confer.web import OPERATIONAL_PATHS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def app():
    # Routing needs no database: the application is built, never started.
    return create_app(
        Settings(
            database_url="postgresql://unused/unused",
            secret_key="test-secret",
            base_url="http://127.0.0.1",
            rate_limits="off",
        )
    )


def _sample(pattern: str) -> dict[str, object]:
    return {
        name: (7 if name.endswith("_id") else "a-slug") for name in re.findall(r"{(\w+)}", pattern)
    }


def test_every_named_page_is_routed_at_its_address(app):
    for name, pattern in PAGES.items():
        parts = _sample(pattern)
        routed = app.router[name].url_for(**{k: str(v) for k, v in parts.items()})
        assert url(name, **parts) == str(routed), name


def test_every_page_route_is_in_the_address_table(app):
    addresses = set(PAGES.values())
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        # The operational endpoints (health, metrics) are not pages.
        if path.startswith((API + "/", "/static", "/socket.io/")) or path in OPERATIONAL_PATHS:
            continue
        assert path in addresses, f"{route.method} {path} is routed but has no name in PAGES"


def test_openapi_operations_are_the_declared_api_routes_both_ways(app):
    from confer.api.openapi import openapi_document

    documented = {
        (path, method.upper())
        for path, ops in openapi_document(app)["paths"].items()
        for method in ops
    }
    declared_api = {(r.path, r.method) for r in declared(app) if r.doc is not None}
    routed = {
        (route.resource.canonical, route.method)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(API + "/")
        and route.method not in ("HEAD", "*")
        and route.resource.canonical != PAGES["openapi"]
    }
    assert documented == declared_api == routed


def test_every_limited_route_is_routed_and_names_a_limit(app):
    routed = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
    limits = app[limits_key]
    assert limits and set(limits) <= routed
    assert set(limits.values()) <= set(DEFAULTS)


def test_url_quotes_its_parts_and_refuses_unknown_names():
    assert url("thread", slug="demo", thread_id=5) == "/c/demo/threads/5"
    assert url("invitation", token="a/b?c") == "/invitations/a%2Fb%3Fc"
    with pytest.raises(KeyError):
        url("no-such-page")
    with pytest.raises(KeyError):
        url("thread", slug="demo")  # a part missing


def test_no_internal_address_is_written_by_hand():
    """Links and form targets in templates, and addresses in Python, come from route names."""
    literal = re.compile(r'(?:href|action)="/')
    for template in (ROOT / "templates").rglob("*.html"):
        assert not literal.search(template.read_text()), template
    by_hand = re.compile(r"""f?["'](?:/c/|/api/v1)""")
    for module in (ROOT / "confer").rglob("*.py"):
        if module.name == "urls.py":
            continue
        assert not by_hand.search(module.read_text()), module


async def test_a_json_handler_reads_the_body_only_where_its_operation_documents_one(
    world, browser_factory, pool
):
    c = await world.conference()
    s = await world.session(c, kind="panel")
    asker, voter = await world.user(), await world.user()
    await world.member(c, asker, "participant")
    await world.member(c, voter, "participant")
    a = await browser_factory(asker["email"])
    status, body = await a.api(
        "POST",
        f"/api/v1/panels/{s['id']}/questions",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and body["error"]["code"] and "not valid JSON" in body["error"]["message"]
    status, q = await a.api("POST", f"/api/v1/panels/{s['id']}/questions", {"body": "Why?"})
    assert status == 201
    v = await browser_factory(voter["email"])
    # Voting documents no body: whatever is sent is not read.
    status, body = await v.api(
        "POST",
        f"/api/v1/questions/{q['id']}/vote",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, body
