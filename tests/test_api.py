"""JSON API v1: the same services as the pages, tokens and cookies, errors and the OpenAPI document."""

from __future__ import annotations

import pytest

from confer.accounts import service as accounts
from confer.policy import Actor


async def _token(pool, user) -> str:
    token, _ = await accounts.create_api_token(
        pool, Actor(user_id=user["id"], name=user["name"]), "t"
    )
    return token


async def test_list_and_show_conferences_with_programme(world, browser_factory):
    c = await world.conference()
    s = await world.session(c, title="Opening")
    await world.conference(published=False)
    b = await browser_factory()
    status, body = await b.api("GET", "/api/v1/conferences")
    assert status == 200
    assert [x["slug"] for x in body["conferences"]] == [c["slug"]]
    assert body["conferences"][0]["url"] == f"/c/{c['slug']}"
    status, body = await b.api("GET", f"/api/v1/conferences/{c['slug']}")
    assert body["state"] == "live"
    assert body["sessions"][0]["id"] == s["id"]
    assert body["sessions"][0]["state"] == "open"
    assert body["sessions"][0]["url"] == f"/c/{c['slug']}/sessions/{s['id']}"


async def test_join_start_thread_post_read_edit_delete_with_a_token(world, browser_factory, pool):
    c = await world.conference()
    s = await world.session(c, open_threads=True)
    u = await world.user(name="API User")
    token = await _token(pool, u)
    b = await browser_factory()
    status, body = await b.api("POST", f"/api/v1/conferences/{c['slug']}/join", {}, token=token)
    assert status == 400 and "accept_code_of_conduct" in body["error"]["fields"]
    assert body["error"]["code"] == "invalid"
    status, body = await b.api(
        "POST",
        f"/api/v1/conferences/{c['slug']}/join",
        {"accept_code_of_conduct": True},
        token=token,
    )
    assert (status, body["role"]) == (200, "participant")
    status, thread = await b.api(
        "POST",
        f"/api/v1/sessions/{s['id']}/threads",
        {"title": "Via API", "body": "Opening"},
        token=token,
    )
    assert status == 201 and thread["title"] == "Via API" and thread["post_count"] == 1
    status, post = await b.api(
        "POST",
        f"/api/v1/threads/{thread['id']}/posts",
        {"body": "Second *post*", "idempotency_key": "abc"},
        token=token,
    )
    assert status == 201
    assert post["seq"] == 2 and post["html"] == "<p>Second <em>post</em></p>\n"
    assert post["author"]["name"] == "API User" and post["author"]["role"] == "participant"
    assert post["url"] == f"/c/{c['slug']}/posts/{post['id']}"
    status, again = await b.api(
        "POST",
        f"/api/v1/threads/{thread['id']}/posts",
        {"body": "Second *post*", "idempotency_key": "abc"},
        token=token,
    )
    assert status == 200 and again["id"] == post["id"]
    status, listing = await b.api("GET", f"/api/v1/threads/{thread['id']}/posts?after=1")
    assert [p["seq"] for p in listing["posts"]] == [2] and listing["last_seq"] == 2
    status, edited = await b.api(
        "PATCH", f"/api/v1/posts/{post['id']}", {"body": "Edited"}, token=token
    )
    assert status == 200 and edited["html"] == "<p>Edited</p>\n" and edited["edited_at"]
    status, deleted = await b.api("DELETE", f"/api/v1/posts/{post['id']}", token=token)
    assert status == 200 and deleted["status"] == "deleted" and deleted["html"] == ""
    status, threads = await b.api("GET", f"/api/v1/sessions/{s['id']}/threads")
    assert [t["id"] for t in threads["threads"]] == [thread["id"]]


async def test_cookie_authenticated_writes_need_the_csrf_header(world, browser_factory, pool):
    c = await world.conference()
    s = await world.session(c)
    u = await world.user()
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    b = await browser_factory(u["email"])
    status, body = await b.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "x"}, csrf=False
    )
    assert status == 403 and body["error"]["code"] == "csrf"
    status, body = await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "x"})
    assert status == 201


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/conferences/no-such", "GET"),
        ("/api/v1/sessions/999999/threads", "GET"),
        ("/api/v1/threads/999999/posts", "GET"),
        ("/api/v1/posts/999999", "GET"),
        ("/api/v1/posts/abc", "GET"),
        ("/api/v1/nothing-here", "GET"),
    ],
)
async def test_unknown_things_answer_a_json_404(browser_factory, path, method):
    b = await browser_factory()
    status, body = await b.api(method, path)
    assert status == 404
    assert set(body["error"]) == {"code", "message", "fields"}


async def test_errors_name_the_field(world, browser_factory, pool):
    c = await world.conference()
    s = await world.session(c)
    u = await world.user()
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    token = await _token(pool, u)
    b = await browser_factory()
    status, body = await b.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": ""}, token=token
    )
    assert status == 422 and body["error"]["fields"] == {"body": "Enter your post"}
    status, body = await b.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "x" * 20_001}, token=token
    )
    assert status == 413 and "body" in body["error"]["fields"]
    status, body = await b.api(
        "POST",
        f"/api/v1/threads/{t['id']}/posts",
        data=b"{not json",
        token=token,
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and body["error"]["code"] == "bad_request"


async def test_anonymous_writes_answer_401(world, browser_factory):
    c = await world.conference()
    s = await world.session(c)
    u = await world.user()
    t = await world.thread(s, u)
    b = await browser_factory()
    status, body = await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "hello"})
    assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_a_closed_thread_answers_the_time_it_closed(world, browser_factory, pool):
    from datetime import timedelta

    c = await world.conference()
    s = await world.session(c, starts_in=timedelta(hours=-3), lasts=timedelta(hours=1))
    u = await world.user()
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    token = await _token(pool, u)
    b = await browser_factory()
    status, body = await b.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "x"}, token=token
    )
    assert status == 403 and body["error"]["code"] == "closed"
    assert "closed for posts at" in body["error"]["message"]


async def test_openapi_documents_every_api_route_and_only_those(server, browser_factory):
    b = await browser_factory()
    status, doc = await b.api("GET", "/api/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = set()
    for route in server.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if (
            path.startswith("/api/v1/")
            and route.method not in ("HEAD", "*")
            and "{tail" not in path
        ):
            if path == "/api/v1/openapi.json":
                continue
            routed.add((path, route.method))
    assert documented == routed
