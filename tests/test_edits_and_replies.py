"""Issue #18, findings 2, 4, 6 and 9: edits are posts, replies only to what one can see,
API tokens end with the password and cannot mint tokens, edits and votes are rate-limited.

Real server, real PostgreSQL, real python-socketio clients."""

from __future__ import annotations

import re
from typing import Any

import pytest
import socketio

from confer import markup
from confer.accounts import service as accounts
from confer.policy import Actor
from tests.conftest import PASSWORD, World
from tests.sockets import Listener, session_cookie

NEW_PASSWORD = "a quiet walk by the canal"
RESET_LINK = re.compile(r"http://127\.0\.0\.1(/account/reset/[A-Za-z0-9_-]+)")


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url, mail_poll_seconds=0.5)


async def _scene(world: World) -> tuple[dict, dict, dict, dict]:
    c = await world.conference()
    s = await world.session(c)
    fac = await world.user(name="Faye Facilitator")
    await world.member(c, fac, "facilitator")
    t = await world.thread(s, fac)
    u = await world.user(name="Pat Participant")
    await world.member(c, u, "participant")
    return c, t, fac, u


async def _post(browser, thread_id: int, body: str, **extra: Any) -> dict:
    status, post = await browser.api(
        "POST", f"/api/v1/threads/{thread_id}/posts", {"body": body, **extra}
    )
    assert status == 201, post
    return post


async def _marker(fac_browser, thread_id: int, reader: Listener, text: str) -> None:
    """A visible post after the action: once it reaches the reader, anything the action sent
    would have too."""
    post = await _post(fac_browser, thread_id, text)
    await reader.until("post:new", lambda p: p["id"] == post["id"])


def _texts(reader: Listener) -> str:
    return repr(reader.events)


# --- 2. edits are posts -------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["member", "thread", "first_posts"])
async def test_an_edit_by_a_premoderated_author_goes_back_to_the_queue(
    world, browser_factory, listen, pool, rule
):
    c, t, fac, u = await _scene(world)
    b = await browser_factory(u["email"])
    post = await _post(b, t["id"], "An approved, harmless post")  # visible: no rule yet
    assert post["status"] == "visible"
    if rule == "member":
        await pool.execute(
            "UPDATE memberships SET premoderated = true WHERE conference_id = $1 AND user_id = $2",
            c["id"],
            u["id"],
        )
    elif rule == "thread":
        await pool.execute("UPDATE threads SET premoderated = true WHERE id = $1", t["id"])
    else:  # this was the member's first post, approved under "the first post is checked"
        await pool.execute(
            "UPDATE conferences SET premoderate_first_posts = 1 WHERE id = $1", c["id"]
        )
    count_before = await pool.fetchval("SELECT post_count FROM threads WHERE id = $1", t["id"])
    anon = await listen(f"thread:{t['id']}")
    status, edited = await b.api("PATCH", f"/api/v1/posts/{post['id']}", {"body": "Spam now"})
    assert status == 200, edited
    assert edited["status"] == "pending"
    row = await pool.fetchrow("SELECT status, body_md FROM posts WHERE id = $1", post["id"])
    assert (row["status"], row["body_md"]) == ("pending", "Spam now")
    assert await pool.fetchval("SELECT post_count FROM threads WHERE id = $1", t["id"]) == (
        count_before - 1
    )
    # The thread's readers are told it left; none of them receives its new text.
    gone = await anon.until("post:removed", lambda p: p["id"] == post["id"])
    assert gone["status"] == "pending"
    fb = await browser_factory(fac["email"])
    await _marker(fb, t["id"], anon, "Marker after the edit")
    assert "Spam now" not in _texts(anon)
    # It is in the facilitators' queue.
    status, queue = await fb.api("GET", f"/api/v1/conferences/{c['slug']}/moderation")
    assert status == 200 and "Spam now" in str(queue)


async def test_a_facilitator_edit_is_not_premoderated(world, browser_factory, pool):
    c, t, fac, u = await _scene(world)
    await pool.execute("UPDATE threads SET premoderated = true WHERE id = $1", t["id"])
    fb = await browser_factory(fac["email"])
    post = await _post(fb, t["id"], "From the chair")
    status, edited = await fb.api("PATCH", f"/api/v1/posts/{post['id']}", {"body": "Chair v2"})
    assert status == 200 and edited["status"] == "visible"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("UPDATE threads SET locked_at = now(), lock_reason = 'Cool off' WHERE id = $1", "closed"),
        ("UPDATE threads SET closed_at = now() WHERE id = $1", "closed"),
        ("UPDATE threads SET slow_mode_seconds = 600 WHERE id = $1", "too_many_requests"),
    ],
    ids=["locked", "closed", "slow_mode"],
)
async def test_an_edit_is_refused_where_a_new_post_is(
    world, browser_factory, pool, monkeypatch, change, code
):
    c, t, fac, u = await _scene(world)
    b = await browser_factory(u["email"])
    post = await _post(b, t["id"], "Before the change")
    await pool.execute(change, t["id"])
    rendered = []
    real_render = markup.render

    async def counting_render(text: str) -> str:
        rendered.append(text)
        return await real_render(text)

    monkeypatch.setattr(markup, "render", counting_render)
    status, body = await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "New one"})
    assert body["error"]["code"] == code
    status, body = await b.api("PATCH", f"/api/v1/posts/{post['id']}", {"body": "Sneaky edit"})
    assert body["error"]["code"] == code, body
    r, text = await b.post(f"/c/{c['slug']}/posts/{post['id']}/edit", {"body": "Form edit"})
    assert r.status in (403, 429)
    assert await pool.fetchval("SELECT body_md FROM posts WHERE id = $1", post["id"]) == (
        "Before the change"
    )
    assert "Sneaky edit" not in rendered and "Form edit" not in rendered  # refused unrendered


async def test_an_edit_after_its_window_is_refused_before_rendering(
    world, browser_factory, pool, monkeypatch
):
    c, t, fac, u = await _scene(world)
    b = await browser_factory(u["email"])
    post = await _post(b, t["id"], "Old words")
    await pool.execute(
        "UPDATE posts SET created_at = now() - interval '2 hours' WHERE id = $1", post["id"]
    )
    rendered = []

    async def counting_render(text: str) -> str:
        rendered.append(text)
        return text

    monkeypatch.setattr(markup, "render", counting_render)
    status, body = await b.api("PATCH", f"/api/v1/posts/{post['id']}", {"body": "x" * 5000})
    assert status == 403 and body["error"]["code"] == "closed"
    assert rendered == []


async def test_an_edit_in_flight_when_the_post_is_hidden_is_refused_and_never_broadcast(
    world, browser_factory, listen, pool, monkeypatch
):
    """The post is hidden while the edit renders: the edit finds it hidden under its row lock,
    and the thread's anonymous reader never receives the new text."""
    c, t, fac, u = await _scene(world)
    b = await browser_factory(u["email"])
    post = await _post(b, t["id"], "Soon hidden")
    anon = await listen(f"thread:{t['id']}")
    real_render = markup.render

    async def render_while_hidden(text: str) -> str:
        await pool.execute(
            "UPDATE posts SET status = 'hidden', hidden_reason = 'Abuse' WHERE id = $1",
            post["id"],
        )
        return await real_render(text)

    monkeypatch.setattr(markup, "render", render_while_hidden)
    status, body = await b.api("PATCH", f"/api/v1/posts/{post['id']}", {"body": "Secret new words"})
    monkeypatch.setattr(markup, "render", real_render)
    assert status == 409 and body["error"]["code"] == "conflict", body
    row = await pool.fetchrow("SELECT status, body_md FROM posts WHERE id = $1", post["id"])
    assert (row["status"], row["body_md"]) == ("hidden", "Soon hidden")
    fb = await browser_factory(fac["email"])
    await _marker(fb, t["id"], anon, "Marker")
    assert "Secret new words" not in _texts(anon)


# --- 9. replies only to posts the replier can see ------------------------------------------


async def test_a_reply_to_a_post_the_replier_cannot_see_is_refused_on_every_channel(
    world, browser_factory, pool, server
):
    c, t, fac, u = await _scene(world)
    author = await world.user(name="Hidden Author")
    await world.member(c, author, "participant")
    ab = await browser_factory(author["email"])
    pending = await _post(ab, t["id"], "Awaiting approval")
    hidden = await _post(ab, t["id"], "Soon hidden")
    await pool.execute("UPDATE posts SET status = 'pending' WHERE id = $1", pending["id"])
    await pool.execute(
        "UPDATE posts SET status = 'hidden', hidden_reason = 'x' WHERE id = $1", hidden["id"]
    )
    b = await browser_factory(u["email"])
    missing = 10**9
    status, nothing = await b.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Re", "reply_to": missing}
    )
    assert status == 422
    sock = socketio.AsyncClient(reconnection=False)
    await sock.connect(
        str(server.make_url("/")),
        headers={"Cookie": f"confer_session={session_cookie(b)}"},
        transports=["websocket"],
        wait_timeout=10,
    )
    try:
        for target in (pending, hidden):
            status, body = await b.api(
                "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Re", "reply_to": target["id"]}
            )
            assert (status, body) == (422, nothing)  # as if it did not exist
            r, text = await b.post(
                f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "Re", "reply_to": target["id"]}
            )
            assert r.status == 422 and "The post you replied to is not in this thread" in text
            ack = await sock.call(
                "post", {"thread_id": t["id"], "body": "Re", "reply_to": target["id"]}, timeout=10
            )
            assert ack["ok"] is False and ack["error"] == nothing["error"]
    finally:
        await sock.disconnect()
    assert not await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM posts WHERE author_id = $1)", u["id"]
    )
    assert not await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM notifications WHERE user_id = $1)", author["id"]
    )
    # Its author and the facilitators see it, so they may reply to it.
    await _post(ab, t["id"], "My own follow-up", reply_to=pending["id"])
    fb = await browser_factory(fac["email"])
    await _post(fb, t["id"], "Facilitator's note", reply_to=hidden["id"])


# --- 4. API tokens end with the password; a token cannot mint tokens -------------------------


async def test_changing_the_password_ends_the_api_tokens(world, browser_factory, pool, server):
    u = await world.user(name="Token Holder")
    token, _ = await accounts.create_api_token(pool, Actor(user_id=u["id"], name="x"), "t")
    b = await browser_factory(u["email"])
    status, _ = await b.api("GET", "/api/v1/me", token=token)
    assert status == 200
    r, text = await b.post(
        "/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert r.status == 303, text[:1000]
    fresh = await browser_factory()
    status, body = await fresh.api("GET", "/api/v1/me", token=token)
    assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_resetting_the_password_ends_the_api_tokens(world, browser_factory, mailbox, pool):
    u = await world.user(name="Reset Holder")
    token, _ = await accounts.create_api_token(pool, Actor(user_id=u["id"], name="x"), "t")
    b = await browser_factory()
    r, _ = await b.post("/account/reset", {"email": u["email"]})
    assert r.status == 200
    [message] = await mailbox.wait_for(u["email"])
    path = RESET_LINK.search(message.get_body(("plain",)).get_content()).group(1)
    r, text = await b.post(path, {"password": NEW_PASSWORD})
    assert r.status == 303, text[:1000]
    status, body = await b.api("GET", "/api/v1/me", token=token)
    assert status == 401


async def test_a_bearer_token_cannot_create_tokens(world, browser_factory, pool):
    u = await world.user(name="Token Minter")
    token, _ = await accounts.create_api_token(pool, Actor(user_id=u["id"], name="x"), "t")
    b = await browser_factory()
    status, body = await b.api(
        "POST",
        "/account/tokens",
        data=b"token_name=another",
        token=token,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert "cannot create API tokens" in body["error"]["message"]
    assert await pool.fetchval("SELECT count(*) FROM api_tokens WHERE user_id = $1", u["id"]) == 1
    # Signed in with a password, the same form still works.
    signed_in = await browser_factory(u["email"])
    r, text = await signed_in.post("/account/tokens", {"token_name": "another"})
    assert r.status == 200 and "cnf_" in text


# --- 6. edits and votes are rate-limited ----------------------------------------------------


@pytest.fixture
def limited(settings):
    return settings.with_(rate_limits="edit=2/3600,vote=2/3600")


async def test_edits_and_votes_have_rate_limits_on_every_channel(
    world, pool, limited, aiohttp_server, monkeypatch
):
    from confer.app import create_app
    from tests.conftest import Browser

    server = await aiohttp_server(create_app(limited), host="127.0.0.1")
    c, t, fac, u = await _scene(world)
    panel = await world.session(c, kind="panel")
    asker = await world.user(name="Asker")
    await world.member(c, asker, "participant")
    questions = [
        await pool.fetchval(
            "INSERT INTO questions (session_id, conference_id, author_id, body_md, body_html)"
            " VALUES ($1, $2, $3, $4, $4) RETURNING id",
            panel["id"],
            c["id"],
            asker["id"],
            f"Question {i}",
        )
        for i in range(4)
    ]
    b = Browser(server)
    try:
        await b.sign_in(u["email"])
        post = await _post(b, t["id"], "Typo")
        rendered = []
        real_render = markup.render

        async def counting_render(text: str) -> str:
            rendered.append(text)
            return await real_render(text)

        monkeypatch.setattr(markup, "render", counting_render)
        for i in range(2):
            status, _ = await b.api("PATCH", f"/api/v1/posts/{post['id']}", {"body": f"v{i}"})
            assert status == 200
        status, body = await b.api("PATCH", f"/api/v1/posts/{post['id']}", {"body": "v3"})
        assert status == 429 and body["error"]["code"] == "too_many_requests"
        assert "editing very quickly" in body["error"]["message"]
        r, _ = await b.post(f"/c/{c['slug']}/posts/{post['id']}/edit", {"body": "v4"})
        assert r.status == 429
        assert "v3" not in rendered and "v4" not in rendered
        # Votes: the API, then the socket, share one budget.
        for q in questions[:2]:
            status, body = await b.api("POST", f"/api/v1/questions/{q}/vote")
            assert status == 200, body
        status, body = await b.api("POST", f"/api/v1/questions/{questions[2]}/vote")
        assert status == 429 and "voting very quickly" in body["error"]["message"]
        sock = socketio.AsyncClient(reconnection=False)
        await sock.connect(
            str(server.make_url("/")),
            headers={"Cookie": f"confer_session={session_cookie(b)}"},
            transports=["websocket"],
            wait_timeout=10,
        )
        try:
            ack = await sock.call("vote", {"question_id": questions[3]}, timeout=10)
        finally:
            await sock.disconnect()
        assert ack["ok"] is False and ack["error"]["code"] == "too_many_requests"
        assert (
            await pool.fetchval("SELECT count(*) FROM question_votes WHERE user_id = $1", u["id"])
            == 2
        )
    finally:
        await b.close()
