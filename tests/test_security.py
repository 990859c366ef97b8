"""Security of the core, tested through the real server on 127.0.0.1.

Headers and CSP on every kind of response, pages that need no inline script, the sign-in
cookie and its life, CSRF on every state-changing route (enumerated from the router, so a
route added later is covered), bad input, stored XSS through every field a person controls,
the sign-in throttle, open redirects and password rules.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import asyncpg
import markupsafe
import pytest
from yarl import URL

from confer.accounts import service as accounts
from confer.app import create_app
from confer.policy import Actor
from tests.conftest import PASSWORD, Browser
from tests.test_markup import XSS_DIR, load_payloads, page_problems, page_text

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_PAGE_MARKER = "This form has expired or was sent from another site"
MiB = 1024 * 1024


# --- helpers ----------------------------------------------------------------------------


@dataclass
class Scene:
    """A live conference with an open discussion session, a panel and a thread.

    `admin` is a site admin and the conference's organiser, signed in in `browser`;
    `post_id` is the first post of `thread`, written by the admin.
    """

    admin: dict
    participant: dict
    conference: dict
    session: dict
    panel: dict
    thread: dict
    post_id: int
    token_id: int
    browser: Browser

    @property
    def slug(self) -> str:
        return self.conference["slug"]


@pytest.fixture
async def scene(world, browser_factory, pool) -> Scene:
    admin = await world.user("Ada Admin", admin=True)
    participant = await world.user("Pat Participant", organisation="Kent County Council")
    c = await world.conference()
    s = await world.session(c, title="Open discussion")
    panel = await world.session(c, kind="panel", title="The panel")
    await world.member(c, admin, "organiser")
    await world.member(c, participant, "speaker")
    await pool.execute(
        "INSERT INTO session_speakers (session_id, user_id, position) VALUES ($1, $2, 0)",
        panel["id"], participant["id"],
    )  # fmt: skip
    t = await world.thread(s, admin, posts=2)
    post_id = await pool.fetchval(
        "SELECT id FROM posts WHERE thread_id = $1 ORDER BY seq LIMIT 1", t["id"]
    )
    _, token_id = await accounts.create_api_token(pool, _actor(admin), "laptop")
    b = await browser_factory(admin["email"])
    return Scene(admin, participant, c, s, panel, t, post_id, token_id, b)


def _actor(user: dict) -> Actor:
    return Actor(user_id=user["id"], name=user["name"], email=user["email"], via="cli")


async def snapshot(pool: asyncpg.Pool) -> dict[str, str]:
    """Every table's row count and a digest of its rows."""
    names = await pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    out = {}
    for (name,) in names:
        out[name] = await pool.fetchval(
            f"""SELECT count(*)::text || ':'
                       || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')
                FROM "{name}" t"""
        )
    return out


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


async def raw(
    b: Browser, method: str, path: str, *, data: Any = None, headers: dict[str, str] | None = None,
    allow_redirects: bool = False,
) -> tuple[aiohttp.ClientResponse, str]:  # fmt: skip
    """A request with exactly the body and headers given (cookies from the browser's jar)."""
    async with b.session.request(
        method, b.url(path), data=data, headers=headers or {}, allow_redirects=allow_redirects
    ) as r:
        return r, await r.text(errors="replace")


def session_cookie_of(r: aiohttp.ClientResponse) -> str | None:
    """The raw Set-Cookie header for confer_session, if the response set it."""
    for header in r.headers.getall("Set-Cookie", []):
        if header.startswith("confer_session="):
            return header
    return None


def morsel(set_cookie: str):
    jar: SimpleCookie = SimpleCookie()
    jar.load(set_cookie)
    return next(iter(jar.values()))


def with_cookie(b: Browser, name: str, value: str) -> None:
    b.session.cookie_jar.update_cookies({name: value}, response_url=URL(b.url("/")))


def cookie_value(b: Browser, name: str) -> str | None:
    for c in b.session.cookie_jar:
        if c.key == name:
            return c.value
    return None


async def is_anonymous(b: Browser) -> bool:
    r, text = await b.get("/")
    assert r.status == 200
    r2, _ = await raw(b, "GET", "/account")
    return "Signed in as" not in text and r2.status == 303 and "/login" in r2.headers["Location"]


# --- security headers -------------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def header_problems(path: str, r: aiohttp.ClientResponse) -> list[str]:
    problems = []
    csp = r.headers.get("Content-Security-Policy")
    if not csp:
        return [f"{path}: no Content-Security-Policy"]
    d = csp_directives(csp)
    if "'self'" not in d.get("script-src", []):
        problems.append(f"{path}: script-src lacks 'self': {csp}")
    if any(s in ("*", "data:", "http:", "https:") for s in d.get("script-src", [])):
        problems.append(f"{path}: script-src allows too much: {csp}")
    if d.get("object-src") != ["'none'"]:
        problems.append(f"{path}: object-src is not 'none': {csp}")
    if d.get("base-uri") not in (["'self'"], ["'none'"]):
        problems.append(f"{path}: base-uri is not 'self': {csp}")
    if d.get("frame-ancestors") != ["'none'"]:
        problems.append(f"{path}: frame-ancestors is not 'none': {csp}")
    if "unsafe-inline" in csp.lower():
        problems.append(f"{path}: 'unsafe-inline' in {csp}")
    if r.headers.get("X-Content-Type-Options", "").lower() != "nosniff":
        problems.append(
            f"{path}: X-Content-Type-Options is {r.headers.get('X-Content-Type-Options')}"
        )
    if not r.headers.get("Referrer-Policy"):
        problems.append(f"{path}: no Referrer-Policy")
    return problems


async def test_every_kind_of_response_carries_the_security_headers(scene):
    b = scene.browser
    anon = Browser(b.server)
    try:
        cases: list[tuple[str, aiohttp.ClientResponse, int]] = []
        for path, status in [
            ("/", 200),
            (f"/c/{scene.slug}/threads/{scene.thread['id']}", 200),
            ("/no-such-page", 404),
            ("/static/confer.css", 200),
            ("/static/confer.js", 200),
            ("/static/no-such-file.css", 404),
            ("/api/v1/conferences", 200),
            ("/api/v1/conferences/no-such-conference", 404),
            ("/api/v1/no-such-endpoint", 404),
            ("/api/v1/openapi.json", 200),
        ]:
            r, _ = await raw(b, "GET", path)
            cases.append((f"GET {path}", r, status))
        r, _ = await raw(b, "GET", "/logout")  # only POST is routed
        cases.append(("GET /logout", r, 405))
        r, _ = await raw(anon, "GET", "/account")
        cases.append(("GET /account (anonymous)", r, 303))
        r, _ = await raw(b, "POST", "/logout", data={"csrf_token": "wrong"})
        cases.append(("POST /logout without CSRF", r, 403))
        path = f"/api/v1/threads/{scene.thread['id']}/posts"
        r, _ = await raw(b, "POST", path, data=b"{", headers={
            "Content-Type": "application/json", "X-CSRF-Token": b.csrf})  # fmt: skip
        cases.append(("POST malformed JSON", r, 400))
        r, _ = await raw(b, "HEAD", "/")
        cases.append(("HEAD /", r, 200))
        problems = []
        for label, r, status in cases:
            if r.status != status:
                problems.append(f"{label}: status {r.status}, expected {status}")
            problems += header_problems(label, r)
        assert not problems, "\n".join(problems)
    finally:
        await anon.close()


# --- no inline script: templates do not need 'unsafe-inline' ---------------------------


async def test_no_page_has_inline_script_event_handlers_or_style_attributes(scene, browser_factory):
    b = scene.browser
    slug = scene.slug
    t = scene.thread
    anon = await browser_factory()
    participant = await browser_factory(scene.participant["email"])
    outsider = await browser_factory((await _new_user(browser_factory))["email"])
    pages: list[tuple[Browser, str, int]] = [
        (b, "/", 200),
        (b, f"/c/{slug}", 200),
        (b, f"/c/{slug}/programme", 200),
        (b, f"/c/{slug}/speakers", 200),
        (b, f"/c/{slug}/sessions/{scene.session['id']}", 200),
        (b, f"/c/{slug}/sessions/{scene.panel['id']}", 200),
        (b, f"/c/{slug}/threads/{t['id']}", 200),
        (b, f"/c/{slug}/threads/{t['id']}?reply_to={scene.post_id}", 200),
        (b, f"/c/{slug}/posts/{scene.post_id}/edit", 200),
        (b, "/account", 200),
        (b, f"/c/{slug}/manage", 200),
        (b, f"/c/{slug}/manage/sessions/{scene.session['id']}", 200),
        (b, "/admin/conferences/new", 200),
        (anon, "/login", 200),
        (anon, "/login?next=/c/x", 200),
        (anon, "/register", 200),
        (anon, f"/c/{slug}", 200),
        (anon, f"/c/{slug}/threads/{t['id']}", 200),
        (participant, f"/c/{slug}/threads/{t['id']}", 200),
        (outsider, f"/c/{slug}/join", 200),
        (outsider, f"/c/{slug}/threads/{t['id']}", 200),
        # errors
        (anon, "/no-such-page", 404),
        (anon, f"/c/{slug}/threads/999999999", 404),
        (participant, "/admin/conferences/new", 403),
        (participant, f"/c/{slug}/manage", 403),
        (anon, "/logout", 405),
    ]
    problems = []
    for who, path, status in pages:
        r, text = await who.get(path)
        if r.status != status:
            problems.append(f"{path}: status {r.status}, expected {status}")
        if "<html" not in text:
            problems.append(f"{path}: not an HTML page")
        problems += [f"{path}: {p}" for p in page_problems(text)]
    # Every page route, so that a page added later is checked too (as the organiser).
    ids = {"slug": slug, "session_id": scene.session["id"], "thread_id": t["id"],
           "post_id": scene.post_id, "token_id": scene.token_id}  # fmt: skip
    templates = sorted(
        {route.resource.canonical for route in b.server.app.router.routes()
         if route.method == "GET"
         and not route.resource.canonical.startswith(("/api/", "/static", "/socket.io"))}
    )  # fmt: skip
    assert "/c/{slug}/threads/{thread_id}" in templates, templates
    for template in templates:
        path = _fill(template, ids)
        r, text = await b.get(path)
        if r.status >= 500:
            problems.append(f"{template}: status {r.status}")
        if r.content_type == "text/html":
            problems += [f"{template}: {p}" for p in page_problems(text)]
    # Pages shown after a refused form: validation errors and a CSRF refusal.
    forms = [
        (anon, "/register", {"email": "bad", "name": "", "password": "x"}, True, 422),
        (anon, "/login", {"email": "nobody@example.org", "password": "wrong"}, True, 422),
        (b, "/account/profile", {"name": ""}, True, 422),
        (b, f"/c/{slug}/threads/{t['id']}/posts", {"body": ""}, True, 422),
        (b, f"/c/{slug}/threads/{t['id']}/posts", {"body": "x"}, False, 403),
    ]
    for who, path, data, csrf, status in forms:
        r, text = await who.post(path, data, csrf=csrf)
        if r.status != status:
            problems.append(f"POST {path}: status {r.status}, expected {status}")
        problems += [f"POST {path}: {p}" for p in page_problems(text)]
    assert not problems, "\n".join(problems)


async def _new_user(browser_factory) -> dict:
    email = f"{uuid.uuid4().hex[:10]}@example.org"
    b = await browser_factory()
    r, text = await b.post("/register", {"email": email, "name": "Out Sider", "password": PASSWORD})
    assert r.status == 303, text[:500]
    return {"email": email}


# --- the sign-in cookie -----------------------------------------------------------------


async def test_session_cookie_is_httponly_lax_and_not_secure_on_http(world, browser_factory):
    u = await world.user()
    b = await browser_factory()
    r, _ = await b.post("/login", {"email": u["email"], "password": PASSWORD})
    assert r.status == 303
    header = session_cookie_of(r)
    assert header is not None
    m = morsel(header)
    assert m["httponly"] is True
    assert m["samesite"] == "Lax"
    assert not m["secure"]
    assert m["path"] == "/"
    assert len(m.value) >= 20


async def test_session_cookie_is_secure_when_the_site_is_https(settings, aiohttp_server, world):
    app = create_app(settings.with_(base_url="https://example.org"))
    server = await aiohttp_server(app, host="127.0.0.1")
    u = await world.user()
    b = Browser(server)
    await b.session.close()
    # A test client speaks http: let its jar send Secure cookies back to this origin.
    b.session = aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(
            unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))]
        )
    )
    try:
        r, _ = await b.get("/login")
        csrf_cookie = next(
            h for h in r.headers.getall("Set-Cookie") if h.startswith("confer_csrf=")
        )
        assert morsel(csrf_cookie)["secure"] is True
        r, text = await b.post("/login", {"email": u["email"], "password": PASSWORD})
        assert r.status == 303, text[:500]
        header = session_cookie_of(r)
        assert header is not None
        m = morsel(header)
        assert m["secure"] is True
        assert m["httponly"] is True
        assert m["samesite"] == "Lax"
    finally:
        await b.close()


async def test_sign_in_issues_a_new_token_and_never_adopts_one_set_before(world, browser_factory):
    u = await world.user()
    b = await browser_factory()
    planted = "attacker-chosen-session-value-0123456789"
    with_cookie(b, "confer_session", planted)
    r, _ = await b.post("/login", {"email": u["email"], "password": PASSWORD})
    assert r.status == 303
    first = morsel(session_cookie_of(r) or "").value
    assert first and first != planted
    assert cookie_value(b, "confer_session") == first
    # The planted value does not belong to anyone.
    victim = await browser_factory()
    with_cookie(victim, "confer_session", planted)
    assert await is_anonymous(victim)
    # Each sign-in gets its own token.
    r, _ = await b.post("/login", {"email": u["email"], "password": PASSWORD})
    second = morsel(session_cookie_of(r) or "").value
    assert second and second not in (first, planted)


async def test_sign_out_makes_the_old_token_useless(world, browser_factory):
    u = await world.user()
    b = await browser_factory(u["email"])
    token = cookie_value(b, "confer_session")
    assert token
    replay = await browser_factory()
    with_cookie(replay, "confer_session", token)
    assert not await is_anonymous(replay)  # the copy works while the session lasts
    r, _ = await b.post("/logout")
    assert r.status == 303
    assert await is_anonymous(b)
    assert await is_anonymous(replay)


async def test_changing_the_password_ends_other_sessions(world, browser_factory, pool):
    u = await world.user()
    here = await browser_factory(u["email"])
    elsewhere = await browser_factory(u["email"])
    old_token = cookie_value(elsewhere, "confer_session")
    new_password = "a completely different passphrase 42"
    r, text = await here.post(
        "/account/password", {"current_password": PASSWORD, "new_password": new_password}
    )
    assert r.status == 303, text[:1000]
    assert not await is_anonymous(here)
    assert await is_anonymous(elsewhere)
    again = await browser_factory()
    with_cookie(again, "confer_session", old_token or "")
    assert await is_anonymous(again)
    assert await pool.fetchval("SELECT count(*) FROM logins WHERE user_id = $1", u["id"]) == 1


# --- CSRF ---------------------------------------------------------------------------------


def _fill(template: str, ids: dict[str, object]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        if name in ids:
            return str(ids[name])
        return "1" if name.endswith("id") else "x"

    return re.sub(r"\{([^}]+)\}", sub, template)


def state_changing_routes(app) -> list[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        if route.method in SAFE_METHODS:
            continue
        method = "POST" if route.method == "*" else route.method
        routes.add((method, route.resource.canonical))
    return sorted(routes)


def _refused_for_csrf(path: str, status: int, text: str) -> bool:
    if status != 403:
        return False
    if path.startswith("/api/"):
        try:
            return json.loads(text)["error"]["code"] == "csrf"
        except (ValueError, KeyError, TypeError):
            return False
    return CSRF_PAGE_MARKER in text


async def test_every_state_changing_route_refuses_a_request_without_a_valid_csrf_token(
    server, scene, browser_factory, pool
):
    b = scene.browser
    other = await browser_factory()
    await other.get("/login")
    assert other.csrf and other.csrf != b.csrf
    session_token = cookie_value(b, "confer_session")
    assert session_token
    ids = {
        "slug": scene.slug, "session_id": scene.session["id"], "thread_id": scene.thread["id"],
        "post_id": scene.post_id, "token_id": scene.token_id, "tail": "conferences",
    }  # fmt: skip
    routes = state_changing_routes(server.app)
    # Sanity: the enumeration finds the routes we know of.
    paths = {p for _, p in routes}
    for known in ("/login", "/logout", "/account/password", "/c/{slug}/threads/{thread_id}/posts",
                  "/api/v1/threads/{thread_id}/posts", "/api/v1/posts/{post_id}"):  # fmt: skip
        assert known in paths, (known, routes)
    assert ("DELETE", "/api/v1/posts/{post_id}") in routes
    assert ("PATCH", "/api/v1/posts/{post_id}") in routes

    # What each form would need to succeed, so a missing check would show as a change.
    fields = {
        "title": "Changed by a forged request", "body": "Forged post", "name": "Forged name",
        "organisation": "Forged", "summary": "", "timezone": "Europe/London",
        "starts_at": "2030-01-01T09:00", "ends_at": "2030-01-02T17:00", "visibility": "public",
        "slug": "forged-conference", "published": "no", "accept_code_of_conduct": "on",
        "email": scene.participant["email"], "role": "observer", "kind": "discussion",
        "current_password": PASSWORD, "new_password": "forged password 12345",
        "password": PASSWORD, "token_name": "forged",
    }  # fmt: skip
    bare = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    before = await snapshot(pool)
    failures = []
    try:
        for method, template in routes:
            path = _fill(template, ids)
            form = dict(fields)
            if template.startswith("/socket.io"):
                # Exempt from the CSRF token by design (confer.web.needs_no_actor): socket.io
                # authenticates at connect and refuses any other site's Origin itself.
                for data in (form, {**form, "csrf_token": other.csrf}):
                    async with b.session.request(
                        method, b.url(path + "?EIO=4&transport=polling"), data=data,
                        headers={"Origin": "https://evil.example"}, allow_redirects=False,
                    ) as r:  # fmt: skip
                        text = await r.text(errors="replace")
                    if r.status != 400 or "not an accepted origin" not in text:
                        failures.append(f"{method} {path} (cross-site Origin): {r.status} {text!r}")
                continue
            variants: list[tuple[str, dict[str, Any]]] = [
                ("form without token", {"data": form}),
                ("form with a made-up token", {"data": {**form, "csrf_token": "0" * 64}}),
                ("form with another browser's token", {"data": {**form, "csrf_token": other.csrf}}),
                ("JSON without header", {"json": fields}),
                ("JSON with another browser's header",
                 {"json": fields, "headers": {"X-CSRF-Token": other.csrf}}),
                ("text/plain JSON (cross-site form)",
                 {"data": json.dumps(fields), "headers": {"Content-Type": "text/plain"}}),
            ]  # fmt: skip
            for label, kw in variants:
                async with b.session.request(method, b.url(path), allow_redirects=False, **kw) as r:
                    text = await r.text(errors="replace")
                if not _refused_for_csrf(path, r.status, text):
                    failures.append(f"{method} {path} ({label}): {r.status} {text[:200]!r}")
            # The right token for another cookie: no CSRF cookie at all, only the session.
            async with bare.request(
                method, b.url(path), allow_redirects=False, data={**form, "csrf_token": b.csrf},
                headers={"Cookie": f"confer_session={session_token}", "X-CSRF-Token": b.csrf},
            ) as r:  # fmt: skip
                text = await r.text(errors="replace")
            if not _refused_for_csrf(path, r.status, text):
                failures.append(f"{method} {path} (no CSRF cookie): {r.status} {text[:200]!r}")
    finally:
        await bare.close()
    after = await snapshot(pool)
    assert not failures, f"{len(failures)} forged requests were not refused:\n" + "\n".join(
        failures
    )
    assert changed_tables(before, after) == []
    # Control: the same browser with its token does change things.
    r, text = await b.post(
        f"/c/{scene.slug}/threads/{scene.thread['id']}/posts", {"body": "A real post"}
    )
    assert r.status == 303, text[:1000]
    assert "posts" in changed_tables(after, await snapshot(pool))


async def test_api_refuses_cookie_writes_without_the_csrf_header(scene, pool):
    b = scene.browser
    path = f"/api/v1/threads/{scene.thread['id']}/posts"
    before = await pool.fetchval("SELECT count(*) FROM posts")
    status, body = await b.api("POST", path, {"body": "no header"}, csrf=False)
    assert status == 403 and body["error"]["code"] == "csrf"
    status, body = await b.api(
        "PATCH", f"/api/v1/posts/{scene.post_id}", {"body": "edited"}, csrf=False
    )
    assert status == 403 and body["error"]["code"] == "csrf"
    status, body = await b.api("DELETE", f"/api/v1/posts/{scene.post_id}", csrf=False)
    assert status == 403 and body["error"]["code"] == "csrf"
    assert await pool.fetchval("SELECT count(*) FROM posts") == before
    status, body = await b.api("POST", path, {"body": "with the header"})
    assert status == 201, body
    assert await pool.fetchval("SELECT count(*) FROM posts") == before + 1


async def test_api_accepts_bearer_token_writes_without_csrf(scene, pool):
    token, _ = await accounts.create_api_token(pool, _actor(scene.admin), "script")
    b = Browser(scene.browser.server)  # no cookies at all
    try:
        path = f"/api/v1/threads/{scene.thread['id']}/posts"
        status, post = await b.api("POST", path, {"body": "from a script"}, token=token)
        assert status == 201, post
        assert await pool.fetchval("SELECT body_md FROM posts WHERE id = $1", post["id"]) == (
            "from a script"
        )
        status, edited = await b.api(
            "PATCH", f"/api/v1/posts/{post['id']}", {"body": "edited by script"}, token=token
        )
        assert status == 200, edited
        status, deleted = await b.api("DELETE", f"/api/v1/posts/{post['id']}", token=token)
        assert status == 200 and deleted["status"] == "deleted"
        assert not [c for c in b.session.cookie_jar if c.key == "confer_session"]
        # A made-up token is not a way around CSRF.
        status, body = await b.api("POST", path, {"body": "x"}, token="cnf_not-a-real-token")
        assert status == 401, body
    finally:
        await b.close()


# --- bad input ----------------------------------------------------------------------------


async def test_a_request_body_over_the_limit_answers_413(scene, pool, settings):
    assert settings.request_max_bytes == MiB
    b = scene.browser
    tid = scene.thread["id"]
    before = await pool.fetchval("SELECT count(*) FROM posts")
    big = b"a" * (2 * MiB)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    form_path = f"/c/{scene.slug}/threads/{tid}/posts"
    # The token in the form: the CSRF check itself has to read the body.
    body = io.BytesIO(b"csrf_token=" + b.csrf.encode() + b"&body=" + big)
    r, text = await raw(b, "POST", form_path, data=body, headers=form)
    assert r.status == 413, text[:500]
    assert "That is too large" in text
    # The token in the header: the handler reads the body.
    body = io.BytesIO(b"body=" + big)
    r, text = await raw(b, "POST", form_path, data=body, headers={**form, "X-CSRF-Token": b.csrf})
    assert r.status == 413, text[:500]
    status, reply = await b.api(
        "POST", f"/api/v1/threads/{tid}/posts", data=io.BytesIO(b'{"body": "' + big + b'"}'),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert status == 413, reply
    assert reply["error"]["code"]
    assert await pool.fetchval("SELECT count(*) FROM posts") == before


async def test_a_post_over_20000_characters_is_refused_naming_the_field(scene, pool):
    b = scene.browser
    tid = scene.thread["id"]
    before = await pool.fetchval("SELECT count(*) FROM posts")
    long_text = "".join(f"Kept paragraph number {i:05d}. " for i in range(700))
    assert 20_000 < len(long_text) < 25_000
    status, body = await b.api("POST", f"/api/v1/threads/{tid}/posts", {"body": long_text})
    assert status == 413, body
    assert "body" in body["error"]["fields"]
    assert "20,000" in body["error"]["fields"]["body"]
    r, text = await b.post(f"/c/{scene.slug}/threads/{tid}/posts", {"body": long_text})
    assert r.status == 413
    assert 'href="#body"' in text  # the error summary points at the field
    m = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', text, re.S)
    assert m is not None and m.group(1) == long_text  # what was typed is kept
    assert page_problems(text) == []
    assert await pool.fetchval("SELECT count(*) FROM posts") == before


async def test_nul_bytes_answer_400(scene, pool):
    b = scene.browser
    tid = scene.thread["id"]
    before = await snapshot(pool)
    r, text = await b.post(f"/c/{scene.slug}/threads/{tid}/posts", {"body": "before\x00after"})
    assert r.status == 400, text[:500]
    assert "NUL" in text
    r, text = await b.post("/account/profile", {"name": "Ada\x00", "organisation": "x"})
    assert r.status == 400, text[:500]
    status, body = await b.api("POST", f"/api/v1/threads/{tid}/posts", {"body": "a\x00b"})
    assert status == 400 and body["error"]["code"] == "bad_request", body
    status, body = await b.api(
        "POST", f"/api/v1/threads/{tid}/posts", {"body": "fine", "meta\x00": ["x\x00"]}
    )
    assert status == 400, body
    assert changed_tables(before, await snapshot(pool)) == []


@pytest.mark.parametrize(
    "content_type, body, csrf_in",
    [
        ("application/x-www-form-urlencoded", b"body=caf\xe9+au+lait", "form"),
        ("application/x-www-form-urlencoded", b"body=\xff\xfe\xfd", "header"),
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"body=hello", "form"),
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"body=hello", "header"),
        ("multipart/form-data; boundary=XyZ",
         b"--XyZ\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n\xff\xfe\r\n--XyZ--\r\n",
         "header"),
        ("multipart/form-data; boundary=XyZ",
         b"--XyZ\r\nContent-Disposition: form-data; name=\"body\"\r\n"
         b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nhello\r\n--XyZ--\r\n",
         "header"),
    ],
    ids=["latin1-form-token", "bytes-header-token", "bad-charset-form-token",
         "bad-charset-header-token", "multipart", "multipart-bad-charset"],
)  # fmt: skip
async def test_undecodable_forms_answer_400(scene, pool, content_type, body, csrf_in):
    b = scene.browser
    headers = {"Content-Type": content_type}
    if csrf_in == "header":
        headers["X-CSRF-Token"] = b.csrf
    elif content_type.startswith("application/x-www-form-urlencoded"):
        body = b"csrf_token=" + b.csrf.encode() + b"&" + body
    before = await pool.fetchval("SELECT count(*) FROM posts")
    path = f"/c/{scene.slug}/threads/{scene.thread['id']}/posts"
    r, text = await raw(b, "POST", path, data=body, headers=headers)
    assert r.status == 400, text[:800]
    assert page_problems(text) == []
    assert await pool.fetchval("SELECT count(*) FROM posts") == before


@pytest.mark.parametrize(
    "body",
    [
        b'{"body": "caf\xe9"}',
        b'{"body": "\xff\xfe"}',
        b"\xef\xbb\xbf\xff",
        b'{"body": ',
        b"{body: 'single quotes'}",
        b'{"body": "x"} trailing',
        b'["a JSON array", "not an object"]',
        b'"just a string"',
        b"[" * 100_000,
        b'{"body": "x", "a": ' + b"[" * 800 + b'"\\u0000"' + b"]" * 800 + b"}",
        b'{"body": "x", "reply_to": ' + b"9" * 5000 + b"}",
    ],
    ids=["latin1", "bytes", "bom-then-bytes", "truncated", "js-object", "trailing", "array",
         "string", "deeply-nested", "deep-with-nul", "huge-number"],
)  # fmt: skip
async def test_bad_json_answers_400(scene, pool, body):
    b = scene.browser
    before = await pool.fetchval("SELECT count(*) FROM posts")
    status, reply = await b.api(
        "POST", f"/api/v1/threads/{scene.thread['id']}/posts", data=body,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert status == 400, reply
    assert reply["error"]["code"] == "bad_request"
    assert await pool.fetchval("SELECT count(*) FROM posts") == before


async def test_unknown_and_non_numeric_ids_answer_404(scene):
    b = scene.browser
    slug = scene.slug
    problems = []
    html_paths = [
        "/c/no-such-conference",
        "/c/no-such-conference/programme",
        "/c/no-such-conference/threads/1",
        f"/c/{slug}/sessions/999999999",
        f"/c/{slug}/threads/999999999",
        f"/c/{slug}/posts/999999999",
        f"/c/{slug}/posts/999999999/edit",
        f"/c/{slug}/manage/sessions/999999999",
    ]
    api_paths = [
        "/api/v1/conferences/no-such-conference",
        "/api/v1/sessions/999999999/threads",
        "/api/v1/threads/999999999",
        "/api/v1/threads/999999999/posts",
        "/api/v1/posts/999999999",
    ]
    for bad in ["abc", "-1", "1e3", "0x10", "1.5", "%20", "\u00b2", "\u0661", "9" * 19, "9" * 40]:
        html_paths += [
            f"/c/{slug}/sessions/{bad}", f"/c/{slug}/threads/{bad}", f"/c/{slug}/posts/{bad}",
            f"/c/{slug}/posts/{bad}/edit", f"/c/{slug}/manage/sessions/{bad}",
        ]  # fmt: skip
        api_paths += [
            f"/api/v1/sessions/{bad}/threads", f"/api/v1/threads/{bad}",
            f"/api/v1/threads/{bad}/posts", f"/api/v1/posts/{bad}",
        ]  # fmt: skip
    for path in html_paths:
        r, text = await raw(b, "GET", path)
        if r.status != 404 or "Page not found" not in text or r.content_type != "text/html":
            problems.append(f"{path}: {r.status} {r.content_type} {text[:120]!r}")
    for path in api_paths:
        r, text = await raw(b, "GET", path)
        try:
            code = json.loads(text)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        if r.status != 404 or code is None or r.content_type != "application/json":
            problems.append(f"{path}: {r.status} {r.content_type} {text[:120]!r}")
    # Writes to things that do not exist.
    for path in ["/api/v1/threads/999999999/posts", "/api/v1/threads/\u00b2/posts"]:
        status, body = await b.api("POST", path, {"body": "x"})
        if status != 404:
            problems.append(f"POST {path}: {status} {body}")
    for path in ["/api/v1/posts/999999999", "/api/v1/posts/\u00b2"]:
        status, body = await b.api("PATCH", path, {"body": "x"})
        if status != 404:
            problems.append(f"PATCH {path}: {status} {body}")
    assert not problems, "\n".join(problems)


async def test_number_fields_that_are_not_numbers_are_refused_not_a_500(scene, pool):
    b = scene.browser
    tid = scene.thread["id"]
    before = await pool.fetchval("SELECT count(*) FROM posts")
    problems = []
    for reply_to in ["\u00b2", "\u0661", "9" * 30, "-1", "abc", 10**30, -5, True, 1.5, [1]]:
        status, body = await b.api(
            "POST", f"/api/v1/threads/{tid}/posts", {"body": "x", "reply_to": reply_to}
        )
        # Not an integer (the document's type) is the contract's 400; one that names no post
        # the service's 422: either way refused, naming the field.
        if status not in (400, 422) or "reply_to" not in body["error"]["fields"]:
            problems.append(f"API reply_to={reply_to!r}: {status} {body}")
        if isinstance(reply_to, str):
            r, text = await b.post(
                f"/c/{scene.slug}/threads/{tid}/posts", {"body": "x", "reply_to": reply_to}
            )
            if r.status != 422:
                problems.append(f"form reply_to={reply_to!r}: {r.status} {text[:200]!r}")
    assert await pool.fetchval("SELECT count(*) FROM posts") == before
    # A facilitator's sessions, as the organiser's form sends them.
    for session in ["\u00b2", "9" * 30]:
        r, text = await b.post(
            f"/c/{scene.slug}/manage/roles",
            {"role_email": scene.participant["email"], "role_role": "facilitator",
             "sessions": session},
        )  # fmt: skip
        if r.status >= 500:
            problems.append(f"roles sessions={session!r}: {r.status} {text[:200]!r}")
    assert not problems, "\n".join(problems)


# --- stored XSS through the application ------------------------------------------------

QUICK = load_payloads(XSS_DIR / "xss_payloads_quick.txt")
POLYGLOTS = load_payloads(XSS_DIR / "XSS_Polyglots.txt")
NASTIEST = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'\"><svg/onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    '<a href="javascript:alert(1)" onmouseover=alert(1)>INJECTX HOVER</a>',
    "<iframe/onload=alert(/INJECTX/)>",
    "javascript:alert(1)//INJECTX",
    "[click](javascript:alert(1))",
    QUICK[0],
    POLYGLOTS[0],
    POLYGLOTS[2],
    POLYGLOTS[5],
]
# Template syntax must come out literally. The markers make "did it run" checkable: a bare
# "49" may well appear in a page anyway (a time, an id, a CSRF token).
TEMPLATE_PROBES = ["XX{{7*7}}YY", "XX{{ 7*'7' }}YY", "XX${7*7}YY", "XX{% print(7*7) %}YY",
                   "XX#{7*7}YY", "XX<%= 7*7 %>YY"]  # fmt: skip
TEMPLATE_RESULTS = ["XX49YY", "XX7777777YY"]


def escaped(text: str) -> str:
    return str(markupsafe.escape(text))


async def _thread_pages(b: Browser, slug: str, thread_id: int) -> list[tuple[str, str]]:
    out = []
    r, text = await b.get(f"/c/{slug}/threads/{thread_id}?page=1")
    assert r.status == 200
    pages = int(re.search(r'data-pages="(\d+)"', text).group(1))  # type: ignore[union-attr]
    out.append((f"thread {thread_id} page 1", text))
    for n in range(2, pages + 1):
        r, text = await b.get(f"/c/{slug}/threads/{thread_id}?page={n}")
        assert r.status == 200
        out.append((f"thread {thread_id} page {n}", text))
    return out


async def test_stored_xss_in_every_field_is_shown_as_text(scene, browser_factory, pool):
    b = scene.browser
    slug = scene.slug
    tid = scene.thread["id"]
    token, _ = await accounts.create_api_token(pool, _actor(scene.admin), "xss")
    problems: list[str] = []

    def check(label: str, page: str, shown: list[str]) -> None:
        problems.extend(f"{label}: {p}" for p in page_problems(page))
        text = page_text(page)
        for value in shown:
            if escaped(value) not in page and value not in text:
                problems.append(f"{label}: {value!r} is not shown as text")
        for result in TEMPLATE_RESULTS:
            if result in page:
                problems.append(f"{label}: template code ran ({result})")

    # Post bodies: every quick payload and polyglot, some by the form, the rest by the API.
    bodies = [*NASTIEST, *QUICK, *POLYGLOTS, *TEMPLATE_PROBES]
    for i, body in enumerate(bodies):
        if i % 4 == 0:
            r, text = await b.post(f"/c/{slug}/threads/{tid}/posts", {"body": body})
            assert r.status == 303, (body, text[:500])
        else:
            status, reply = await b.api(
                "POST", f"/api/v1/threads/{tid}/posts", {"body": body}, token=token
            )
            assert status == 201, (body, reply)
            problems.extend(f"API post html: {p}" for p in page_problems(reply["html"]))
    thread_pages = await _thread_pages(b, slug, tid)
    assert len(thread_pages) > 1
    for label, page in thread_pages:
        check(label, page, [])
    all_text = "".join(page_text(p) for _, p in thread_pages)
    for probe in TEMPLATE_PROBES:
        if probe.startswith("XX{{") and probe not in all_text:
            problems.append(f"thread: {probe!r} not shown literally")
    assert "<script>alert(1)</script>" in all_text

    # Thread titles (200 characters at most), each with a nasty opening post.
    short = [p for p in [*NASTIEST, *TEMPLATE_PROBES] if len(p.strip()) <= 200]
    thread_ids = []
    for title in short:
        r, text = await b.post(
            f"/c/{slug}/sessions/{scene.session['id']}/threads", {"title": title, "body": title}
        )
        assert r.status == 303, (title, text[:500])
        thread_ids.append(int(re.search(r"/threads/(\d+)", r.headers["Location"]).group(1)))  # type: ignore[union-attr]
    r, page = await b.get(f"/c/{slug}/sessions/{scene.session['id']}")
    check("session page", page, [t.strip() for t in short])
    for thread_id, title in zip(thread_ids, short, strict=True):
        r, page = await b.get(f"/c/{slug}/threads/{thread_id}")
        check(f"thread titled {title!r}", page, [title.strip()])
        m = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
        assert m is not None and m.group(1) == escaped(title.strip()), (title, m and m.group(1))

    # Display names and organisations: the participant (a speaker) posts as each.
    p = await browser_factory(scene.participant["email"])
    names = [v for v in [*NASTIEST, *TEMPLATE_PROBES] if len(v.strip()) <= 100]
    for name in names:
        organisation = f"Org {name}"[:200]
        r, text = await p.post(
            "/account/profile", {"name": name, "title": "Cllr", "organisation": organisation}
        )
        assert r.status == 303, (name, text[:500])
        r, text = await p.post(f"/c/{slug}/threads/{tid}/posts", {"body": "Said by a name"})
        assert r.status == 303, (name, text[:500])
        shown = [name.strip(), organisation.strip()]
        r, page = await p.get(r.headers["Location"])
        check(f"thread as {name!r}", page, shown)
        r, page = await b.get(f"/c/{slug}/speakers")
        check(f"speakers as {name!r}", page, shown)
        r, page = await b.get(f"/c/{slug}/programme")
        check(f"programme as {name!r}", page, [])
        r, page = await b.get(f"/c/{slug}/manage/people")
        check(f"manage as {name!r}", page, [name.strip()])
        r, page = await p.get("/account")
        check(f"account as {name!r}", page, shown)

    # Conference titles and summaries, created by the admin and published.
    outsider = await browser_factory((await _new_user(browser_factory))["email"])
    for i, title in enumerate(short):
        new_slug = f"xss-{i}-{uuid.uuid4().hex[:6]}"
        r, text = await b.post(
            "/admin/conferences",
            {"slug": new_slug, "title": title, "summary": title, "code_of_conduct": title,
             "timezone": "Europe/London", "starts_at": "2030-01-01T09:00",
             "ends_at": "2030-01-03T17:00", "visibility": "public"},
        )  # fmt: skip
        assert r.status == 303, (title, text[:500])
        r, _ = await b.post(f"/c/{new_slug}/manage/publish", {"published": "yes"})
        assert r.status == 303
        for path in (f"/c/{new_slug}", f"/c/{new_slug}/programme", f"/c/{new_slug}/manage"):
            r, page = await b.get(path)
            assert r.status == 200, path
            check(f"{path} titled {title!r}", page, [title.strip()])
        r, page = await outsider.get(f"/c/{new_slug}/join")
        check(f"join page titled {title!r}", page, [title.strip()])
    r, page = await b.get("/")
    check("home", page, [t.strip() for t in short])
    status, reply = await b.api("GET", "/api/v1/conferences")
    assert status == 200
    for c in reply["conferences"]:
        problems.extend(
            f"API summary of {c['slug']}: {x}" for x in page_problems(c["summary_html"])
        )

    # The edit page puts the source back in a textarea.
    status, post = await b.api(
        "POST", f"/api/v1/threads/{tid}/posts",
        {"body": "</textarea><script>alert(1)</script>XX{{7*7}}YY"}, token=token,
    )  # fmt: skip
    assert status == 201
    r, page = await b.get(f"/c/{slug}/posts/{post['id']}/edit")
    assert r.status == 200
    check("edit page", page, ["</textarea><script>alert(1)</script>XX{{7*7}}YY"])
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


# --- the sign-in throttle ---------------------------------------------------------------


async def test_five_failed_sign_ins_lock_the_account_with_retry_after(world, browser_factory):
    u = await world.user()
    b = await browser_factory()
    for _ in range(5):
        r, _ = await b.post("/login", {"email": u["email"], "password": "wrong password"})
        assert r.status == 422
    r, text = await b.post("/login", {"email": u["email"], "password": PASSWORD})
    assert r.status == 429, text[:1000]
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= 15 * 60
    minutes = -(-retry // 60)
    assert re.search(rf"Try again in {minutes} minutes?\b", text), text[:3000]
    assert session_cookie_of(r) is None
    assert page_problems(text) == []
    # The right email in another case is the same account.
    r, _ = await b.post("/login", {"email": u["email"].upper(), "password": PASSWORD})
    assert r.status == 429


async def test_one_locked_account_does_not_lock_others_at_the_same_address(world, browser_factory):
    victim = await world.user()
    colleague = await world.user()
    b = await browser_factory()
    for _ in range(5):
        r, _ = await b.post("/login", {"email": victim["email"], "password": "guess"})
        assert r.status == 422
    r, _ = await b.post("/login", {"email": victim["email"], "password": PASSWORD})
    assert r.status == 429
    other = await browser_factory()  # same address: 127.0.0.1
    r, text = await other.post("/login", {"email": colleague["email"], "password": PASSWORD})
    assert r.status == 303, text[:1000]


async def test_twenty_failures_from_one_address_lock_that_address(world, browser_factory, settings):
    assert settings.login_max_failures_per_address == 20
    u = await world.user()
    b = await browser_factory()
    for i in range(20):
        r, _ = await b.post("/login", {"email": f"guess{i}@example.org", "password": "guess"})
        assert r.status == 422
    r, text = await b.post("/login", {"email": u["email"], "password": PASSWORD})
    assert r.status == 429, text[:1000]
    assert int(r.headers["Retry-After"]) > 0


# --- open redirects -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "next_url",
    ["//evil.example", "https://evil.example", "https://evil.example/c/x", "//evil.example/%2F..",
     "/\\evil.example", "\\\\evil.example", "https:evil.example", "/\t/evil.example",
     "javascript:alert(1)", " //evil.example", "%2F%2Fevil.example"],
)  # fmt: skip
async def test_sign_in_never_redirects_off_site(world, browser_factory, next_url):
    u = await world.user()
    b = await browser_factory()
    r, text = await b.get(f"/login?next={next_url}" if "\t" not in next_url else "/login")
    assert r.status == 200
    m = re.search(r'name="next" value="([^"]*)"', text)
    assert m is not None and m.group(1) == "/"
    r, text = await b.post("/login", {"email": u["email"], "password": PASSWORD, "next": next_url})
    assert r.status == 303, text[:500]
    assert r.headers["Location"] == "/"


async def test_sign_in_does_follow_a_same_site_next(world, browser_factory):
    u = await world.user()
    b = await browser_factory()
    r, _ = await b.post(
        "/login",
        {"email": u["email"], "password": PASSWORD, "next": "/c/some-conf/threads/7?page=2"},
    )
    assert r.status == 303
    assert r.headers["Location"] == "/c/some-conf/threads/7?page=2"


# --- passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, message",
    [("Short1!", "8 characters or more"), ("password123", "most common"),
     ("qwerty123", "most common"), ("x" * 129, "128 characters or fewer")],
)  # fmt: skip
async def test_weak_passwords_are_refused_at_registration(browser_factory, pool, password, message):
    b = await browser_factory()
    email = f"{uuid.uuid4().hex[:10]}@example.org"
    r, text = await b.post(
        "/register", {"email": email, "name": "New Person", "password": password}
    )
    assert r.status == 422
    assert message in text
    assert await pool.fetchval("SELECT count(*) FROM users WHERE email = $1", email) == 0


async def test_a_64_character_password_is_accepted_and_stored_as_argon2(browser_factory, pool):
    password = "Correct Horse Battery Staple, said the clerk, twice on Tuesdays!"
    assert len(password) == 64
    b = await browser_factory()
    email = f"{uuid.uuid4().hex[:10]}@example.org"
    r, text = await b.post(
        "/register", {"email": email, "name": "New Person", "password": password}
    )
    assert r.status == 303, text[:1000]
    stored = await pool.fetchval("SELECT password_hash FROM users WHERE email = $1", email)
    assert stored.startswith("$argon2")
    assert password not in stored
    fresh = await browser_factory()
    await fresh.sign_in(email, password)
    assert not await is_anonymous(fresh)


async def test_the_access_log_is_one_short_line_a_request_without_referer_or_user_agent(
    settings, aiohttp_server, caplog
):
    from confer.web import AccessLog

    server = await aiohttp_server(
        create_app(settings), host="127.0.0.1", access_log_class=AccessLog
    )
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    headers = {"User-Agent": "Secret-Browser/1.0", "Referer": "http://elsewhere.example/mine"}
    async with aiohttp.ClientSession() as s:
        async with s.get(server.make_url("/?from=test"), headers=headers) as r:
            body = await r.read()
        async with s.get(server.make_url("/no-such-page")) as missing:
            await missing.read()
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "aiohttp.access"]
    assert len(lines) == 2
    first = re.fullmatch(r'127\.0\.0\.1 "GET /\?from=test HTTP/1\.1" 200 (\d+) \d+\.\dms', lines[0])
    assert first and int(first[1]) > len(body)  # bytes sent, headers included
    assert re.fullmatch(r'127\.0\.0\.1 "GET /no-such-page HTTP/1\.1" 404 \d+ \d+\.\dms', lines[1])
    assert not any("Secret-Browser" in line or "elsewhere" in line for line in lines)
