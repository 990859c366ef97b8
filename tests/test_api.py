"""JSON API v1: the same services as the pages, tokens and cookies, errors and the OpenAPI document."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from confer.accounts import service as accounts
from confer.app import create_app
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


# --- the contract: each request is checked against its OpenAPI operation (confer.api.contract)


async def _member_with_token(world, pool):
    c = await world.conference()
    s = await world.session(c, open_threads=True)
    u = await world.user()
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    return c, s, t, u, await _token(pool, u)


async def test_wrongly_typed_fields_answer_400_naming_them_not_500(world, browser_factory, pool):
    """The report of issue #21: a report whose note and reason are not text was a 500."""
    c, s, t, u, token = await _member_with_token(world, pool)
    other = await world.user()
    await world.member(c, other, "participant")
    async with pool.acquire() as con:
        post_id = await con.fetchval("SELECT id FROM posts WHERE thread_id = $1", t["id"])
    b = await browser_factory()
    status, body = await b.api(
        "POST",
        f"/api/v1/posts/{post_id}/flags",
        {"note": True, "reason": {"": [[True], -5029]}},
        token=await _token(pool, other),
    )
    assert status == 400
    assert body["error"]["code"] == "invalid"
    fields = body["error"]["fields"]
    assert fields["note"] == "Must be text"
    assert fields["reason"].startswith('Must be one of: "off_topic", "disrespectful"')
    assert await pool.fetchval("SELECT count(*) FROM flags") == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("after=-1", "after"),
        ("after=1&after=2", "after"),
    ],
)
async def test_query_parameters_outside_the_document_are_refused(
    world, browser_factory, pool, query, field
):
    c, s, t, u, token = await _member_with_token(world, pool)
    b = await browser_factory()
    status, body = await b.api("GET", f"/api/v1/threads/{t['id']}/posts?{query}", token=token)
    assert status == 400 and body["error"]["code"] == "invalid"
    assert list(body["error"]["fields"]) == [field]


async def test_enums_and_booleans_in_the_query_are_as_documented(world, browser_factory, pool):
    c, s, t, u, token = await _member_with_token(world, pool)
    panel = await world.session(c, kind="panel")
    b = await browser_factory()
    status, body = await b.api("GET", f"/api/v1/panels/{panel['id']}/questions?sort=oldest")
    assert status == 400 and body["error"]["fields"] == {"sort": 'Must be one of: "votes", "new"'}
    status, body = await b.api("GET", f"/api/v1/panels/{panel['id']}/questions?sort=new")
    assert status == 200
    status, body = await b.api("GET", "/api/v1/notifications?unread=yes", token=token)
    assert status == 400 and body["error"]["fields"] == {"unread": "Must be true or false"}
    status, body = await b.api("GET", "/api/v1/notifications?unread=true", token=token)
    assert status == 200


async def test_bodies_are_json_objects_as_documented(world, browser_factory, pool):
    c, s, t, u, token = await _member_with_token(world, pool)
    b = await browser_factory()
    join = f"/api/v1/conferences/{c['slug']}/join"
    # A required body that is missing.
    status, body = await b.api("POST", join, token=token)
    assert status == 400 and body["error"]["fields"] == {"body": "Send a JSON object"}
    # Random bytes, sent as what they are: 415.
    status, body = await b.api(
        "POST",
        "/api/v1/notifications/read",
        data=b"\x8f\x00\xffrandom",
        token=token,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"
    # Random bytes, called JSON: 400.
    status, body = await b.api(
        "POST",
        "/api/v1/notifications/read",
        data=b"\x8f\x00\xffrandom",
        token=token,
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    # An array is not the documented object.
    status, body = await b.api("POST", join, [True], token=token)
    assert status == 400
    # A field outside its enum, and a value that is not the constant `true`.
    status, body = await b.api(
        "POST", f"/api/v1/conferences/{c['slug']}/invitations", {"role": "king"}, token=token
    )
    assert status == 400 and "role" in body["error"]["fields"]
    status, body = await b.api("POST", join, {"accept_code_of_conduct": "yes"}, token=token)
    assert status == 400 and body["error"]["fields"] == {"accept_code_of_conduct": "Must be true"}
    # Nothing was written by any of them.
    assert await pool.fetchval("SELECT count(*) FROM invitations") == 0


async def test_a_body_past_the_request_limit_answers_413(world, pool, settings, aiohttp_server):
    c, s, t, u, token = await _member_with_token(world, pool)
    server = await aiohttp_server(
        create_app(replace(settings, request_max_bytes=4096)), host="127.0.0.1"
    )
    async with aiohttp.ClientSession() as http:
        async with http.post(
            server.make_url(f"/api/v1/threads/{t['id']}/posts"),
            data=b'{"body": "' + b"x" * 5000 + b'"}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ) as r:
            body = await r.json()
    assert r.status == 413 and body["error"]["code"] == "request_entity_too_large"


async def test_field_errors_are_in_the_readers_language(world, browser_factory, pool):
    c, s, t, u, token = await _member_with_token(world, pool)
    b = await browser_factory()
    status, body = await b.api(
        "GET",
        "/api/v1/notifications?limit=1000",
        token=token,
        headers={"Accept-Language": "cy"},
    )
    assert status == 400
    assert body["error"]["fields"] == {"limit": "Rhaid iddo fod yn 200 neu lai"}


async def test_the_document_lists_every_status_the_route_can_give(browser_factory):
    b = await browser_factory()
    status, doc = await b.api("GET", "/api/v1/openapi.json")
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"401", "503"} <= codes, (method, path)
            if "requestBody" in op:
                assert {"400", "413", "415"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if method != "get":
                assert "403" in codes, (method, path)
    # A rate-limited operation: 429 with Retry-After.
    post = doc["paths"]["/api/v1/threads/{thread_id}/posts"]["post"]
    assert post["responses"]["429"] == {"$ref": "#/components/responses/Limited"}
    limited = doc["components"]["responses"]["Limited"]
    assert limited["headers"]["Retry-After"]["required"] is True
    assert "Retry-After" in doc["components"]["responses"]["Unavailable"]["headers"]


async def test_limits_in_the_document_come_from_the_settings(settings, aiohttp_server):
    server = await aiohttp_server(
        create_app(replace(settings, post_max_chars=500)), host="127.0.0.1"
    )
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/api/v1/openapi.json")) as r:
            doc = await r.json()
    assert doc["components"]["schemas"]["NewPost"]["properties"]["body"]["maxLength"] == 500


async def test_response_schemas_require_what_is_always_sent(browser_factory):
    b = await browser_factory()
    status, doc = await b.api("GET", "/api/v1/openapi.json")
    post = doc["components"]["schemas"]["Post"]
    assert {"hidden_reason", "created_at_text"} <= set(post["properties"])
    assert set(post["required"]) == set(post["properties"])


async def test_a_multipart_body_without_its_boundary_is_a_400_not_a_500(world, browser_factory):
    """Found by Schemathesis: the CSRF check read such a form and failed with a 500."""
    c = await world.conference()
    s = await world.session(c)
    b = await browser_factory()
    status, body = await b.api(
        "POST",
        f"/api/v1/sessions/{s['id']}/threads",
        data=b'{"title": "", "body": ""}',
        csrf=False,
        headers={"Content-Type": "multipart/form-data"},
    )
    assert status == 400 and body["error"]["code"] == "bad_request"


async def test_a_multipart_part_with_a_malformed_header_is_a_400_not_a_500(
    world, browser_factory, pool
):
    """Found by Schemathesis: a part's Content-Disposition with a control character in it
    made aiohttp's multipart reader raise InvalidHeader, answered 500."""
    c = await world.conference()
    s = await world.session(c)
    org = await world.user()
    await world.member(c, org, "organiser")
    token = await _token(pool, org)
    b = await browser_factory()
    form = (
        b'--xyz\r\nContent-Disposition: form-data; name="t\x01"\r\n\r\nx\r\n'
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n\r\n'
        b"--xyz--\r\n"
    )
    status, body = await b.api(
        "POST",
        f"/api/v1/sessions/{s['id']}/files",
        data=form,
        token=token,
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert status == 400 and body["error"]["code"] == "bad_request"
    # Without a token, the CSRF check reads the form first: the same 400.
    status, body = await b.api(
        "POST",
        f"/api/v1/sessions/{s['id']}/files",
        data=form,
        csrf=False,
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert status == 400 and body["error"]["code"] == "bad_request"


# --- the console's settings over the API (the same services as the console's pages) -----------


async def _organiser_and_participant(world, pool):
    c = await world.conference()
    org, par = await world.user(name="Org"), await world.user(name="Par")
    await world.member(c, org, "organiser")
    await world.member(c, par, "participant")
    return c, await _token(pool, org), await _token(pool, par)


async def test_moderation_settings_over_the_api(world, browser_factory, pool):
    c, org, par = await _organiser_and_participant(world, pool)
    b = await browser_factory()
    path = f"/api/v1/conferences/{c['slug']}/settings/moderation"
    status, body = await b.api("PATCH", path, {"flag_threshold": 7}, token=org)
    assert (status, body) == (200, {"flag_threshold": 7, "premoderate_first_posts": 0})
    status, body = await b.api("PATCH", path, {"premoderate_first_posts": 2}, token=org)
    assert (status, body) == (200, {"flag_threshold": 7, "premoderate_first_posts": 2})
    row = await pool.fetchrow("SELECT * FROM conferences WHERE id = $1", c["id"])
    assert (row["flag_threshold"], row["premoderate_first_posts"]) == (7, 2)
    logged = await pool.fetchval(
        "SELECT count(*) FROM moderation_log WHERE conference_id = $1", c["id"]
    )
    assert logged == 2
    # Refused by the document's contract (400) before the service runs.
    for bad in ({"flag_threshold": 0}, {"flag_threshold": "7"}, {"premoderate_first_posts": 101}):
        status, body = await b.api("PATCH", path, bad, token=org)
        assert status == 400 and set(body["error"]["fields"]) == set(bad), bad
    status, body = await b.api("PATCH", path, {"flag_threshold": 3, "hidden": 1}, token=org)
    assert status == 400 and "hidden" in body["error"]["fields"]
    status, _ = await b.api("PATCH", path, {"flag_threshold": 3}, token=par)
    assert status == 403
    assert await pool.fetchval("SELECT flag_threshold FROM conferences WHERE id = $1", c["id"]) == 7


async def test_registration_settings_over_the_api(world, browser_factory, pool):
    c, org, par = await _organiser_and_participant(world, pool)
    b = await browser_factory()
    path = f"/api/v1/conferences/{c['slug']}/settings/registration"
    status, body = await b.api(
        "PATCH",
        path,
        {"registration": "approval", "capacity": 120, "sso_join_domains": ["Council.gov.uk"]},
        token=org,
    )
    assert status == 200
    assert body == {
        "registration": "approval",
        "capacity": 120,
        "sso_join_domains": ["council.gov.uk"],
        "sso_join_tenants": [],
    }
    status, body = await b.api("PATCH", path, {"capacity": None}, token=org)
    assert (status, body["registration"], body["capacity"]) == (200, "approval", None)
    assert body["sso_join_domains"] == ["council.gov.uk"]
    row = await pool.fetchrow("SELECT * FROM conferences WHERE id = $1", c["id"])
    assert (row["registration"], row["capacity"]) == ("approval", None)
    assert row["sso_join_domains"] == ["council.gov.uk"]
    # The document's contract answers 400; the service's own checks (a domain) 422.
    for bad, field, code in (
        ({"registration": "anyone"}, "registration", 400),
        ({"capacity": 0}, "capacity", 400),
        ({"capacity": "100"}, "capacity", 400),
        ({"sso_join_domains": ["not-a-domain"]}, "sso_join_domains", 422),
    ):
        status, body = await b.api("PATCH", path, bad, token=org)
        assert status == code and field in body["error"]["fields"], bad
    status, _ = await b.api("PATCH", path, {"registration": "open"}, token=par)
    assert status == 403
    assert (
        await pool.fetchval("SELECT registration FROM conferences WHERE id = $1", c["id"])
        == "approval"
    )


async def test_export_settings_over_the_api(world, browser_factory, pool):
    c, org, par = await _organiser_and_participant(world, pool)
    b = await browser_factory()
    path = f"/api/v1/conferences/{c['slug']}/settings/exports"
    status, body = await b.api("PATCH", path, {"facilitators_may_export": True}, token=org)
    assert (status, body) == (200, {"facilitators_may_export": True})
    assert await pool.fetchval(
        "SELECT facilitators_may_export FROM conferences WHERE id = $1", c["id"]
    )
    status, body = await b.api("PATCH", path, {"facilitators_may_export": "on"}, token=org)
    assert status == 400 and "facilitators_may_export" in body["error"]["fields"]
    status, _ = await b.api("PATCH", path, {"facilitators_may_export": False}, token=par)
    assert status == 403
    status, body = await b.api("PATCH", path, {"facilitators_may_export": False}, token=org)
    assert (status, body) == (200, {"facilitators_may_export": False})


async def test_panel_settings_over_the_api(world, browser_factory, pool):
    c, org, par = await _organiser_and_participant(world, pool)
    panel = await world.session(c, kind="panel", starts_in=timedelta(hours=1))
    talk = await world.session(c)
    b = await browser_factory()
    path = f"/api/v1/sessions/{panel['id']}/panel-settings"
    status, body = await b.api(
        "PATCH", path, {"questions_premoderated": True, "questions_in_advance": True}, token=org
    )
    assert status == 200
    assert body == {
        "session_id": panel["id"],
        "questions_premoderated": True,
        "questions_in_advance": True,
        "answers_until": None,
    }
    ends = await pool.fetchval("SELECT ends_at FROM sessions WHERE id = $1", panel["id"])
    later = (ends + timedelta(days=1)).astimezone(UTC)
    status, body = await b.api(
        "PATCH", path, {"answers_until": later.strftime("%Y-%m-%dT%H:%M+00:00")}, token=org
    )
    assert status == 200 and body["questions_premoderated"] is True
    until = await pool.fetchval("SELECT answers_until FROM sessions WHERE id = $1", panel["id"])
    assert until == later.replace(second=0, microsecond=0)
    assert datetime.fromisoformat(body["answers_until"]) == until
    early = (ends - timedelta(minutes=30)).astimezone(UTC)
    for bad, code in (
        ({"answers_until": early.strftime("%Y-%m-%dT%H:%M+00:00")}, 422),
        ({"answers_until": "2030-02-30T10:00"}, 422),
        ({"answers_until": "tomorrow"}, 400),
        ({"questions_premoderated": "on"}, 400),
    ):
        status, body = await b.api("PATCH", path, bad, token=org)
        assert status == code and set(body["error"]["fields"]) == set(bad), bad
    status, body = await b.api("PATCH", path, {"answers_until": None}, token=org)
    assert (status, body["answers_until"]) == (200, None)
    status, _ = await b.api("PATCH", f"/api/v1/sessions/{talk['id']}/panel-settings", {}, token=org)
    assert status == 404
    status, _ = await b.api("PATCH", path, {"questions_premoderated": False}, token=par)
    assert status == 403
    assert await pool.fetchval(
        "SELECT questions_premoderated FROM sessions WHERE id = $1", panel["id"]
    )


async def test_files_settings_over_the_api(world, browser_factory, pool, settings):
    c, org, par = await _organiser_and_participant(world, pool)
    b = await browser_factory()
    path = f"/api/v1/conferences/{c['slug']}/settings/files"
    status, body = await b.api(
        "PATCH", path, {"post_files_enabled": True, "post_file_kinds": ["pdf", "image"]}, token=org
    )
    assert status == 200
    assert body["post_files_enabled"] is True and body["post_file_kinds"] == ["image", "pdf"]
    status, body = await b.api("PATCH", path, {"post_files_max": 3}, token=org)
    assert (status, body["post_files_max"], body["post_file_kinds"]) == (200, 3, ["image", "pdf"])
    row = await pool.fetchrow("SELECT * FROM conferences WHERE id = $1", c["id"])
    assert row["post_files_enabled"] and row["post_files_max"] == 3
    assert sorted(row["post_file_kinds"]) == ["image", "pdf"]
    top = settings.file_max_bytes // (1024 * 1024)
    for bad, field in (
        ({"post_files_max": 21}, "post_files_max"),
        ({"post_file_max_mb": top + 1}, "post_file_max_mb"),  # from the settings
        ({"post_file_kinds": []}, "post_file_kinds"),
        ({"post_file_kinds": ["exe"]}, "post_file_kinds.0"),
    ):
        status, body = await b.api("PATCH", path, bad, token=org)
        assert status == 400 and field in body["error"]["fields"], (bad, body)
    status, _ = await b.api("PATCH", path, {"post_files_enabled": False}, token=par)
    assert status == 403
    assert await pool.fetchval("SELECT post_files_enabled FROM conferences WHERE id = $1", c["id"])
