"""Rights that change while a socket stays open (issue #18, findings 3 and 11).

Each test opens real python-socketio clients against a real server, changes the rights of
their actor through the real forms, then checks the socket's next action is refused and the
next event it would have received does not arrive. "Does not arrive" is judged by a marker
sent after it to a room the socket stays in: events to one socket keep their order, so once
the marker is here, whatever was sent before it has come (or never will).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio

from confer.accounts import service as accounts
from confer.policy import Actor
from tests.conftest import PASSWORD, World
from tests.procs import free_port
from tests.sockets import Listener, session_cookie
from tests.test_multiprocess import _serve, _stop, redis_url  # noqa: F401 (a fixture)

NEW_PASSWORD = "a quiet walk by the canal"
EVENTS = ("post:new", "post:updated", "post:removed", "error", "disconnect")


class Sock(Listener):
    """A socket.io client that records every event it receives, in order."""

    NAMES = EVENTS

    def received(self, text: str) -> bool:
        return text in repr(self.events)

    async def join(self, room: str) -> dict:
        return await self.sio.call("join", {"room": room}, timeout=10)


async def _connect(url: str, *, cookie: str | None = None, token: str | None = None) -> Sock:
    s = Sock()
    await s.sio.connect(
        url,
        headers={"Cookie": f"confer_session={cookie}"} if cookie else {},
        auth={"token": token} if token else None,
        transports=["websocket"],
        wait_timeout=10,
    )
    return s


@pytest.fixture
async def sockets(server) -> AsyncIterator[Any]:
    made: list[Sock] = []

    async def make(**kw: Any) -> Sock:
        s = await _connect(str(server.make_url("/")), **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        if s.sio.connected:
            await s.sio.disconnect()


async def _scene(world: World, *, premoderated: bool = False) -> dict[str, Any]:
    c = await world.conference()
    s = await world.session(c)
    org = await world.user(name="Olive Organiser")
    await world.member(c, org, "organiser")
    fac = await world.user(name="Faye Facilitator")
    await world.member(c, fac, "facilitator")
    u = await world.user(name="Pat Participant")
    await world.member(c, u, "participant")
    t = await world.thread(s, org)
    if premoderated:
        await world.pool.execute("UPDATE threads SET premoderated = true WHERE id = $1", t["id"])
    return {"c": c, "s": s, "t": t, "org": org, "fac": fac, "u": u}


async def _token(pool, user: dict) -> str:
    token, _ = await accounts.create_api_token(pool, Actor(user_id=user["id"], name="x"), "t")
    return token


async def _gone(sock: Sock) -> None:
    await sock.until("disconnect")
    assert not sock.sio.connected


# --- a token revoked, a password changed --------------------------------------------------


async def test_a_revoked_token_closes_its_socket_and_acts_no_more(
    world, browser_factory, sockets, pool
):
    w = await _scene(world)
    token = await _token(pool, w["u"])
    sock = await sockets(token=token)
    assert (await sock.join(f"thread:{w['t']['id']}"))["ok"] is True
    ack = await sock.sio.call("post", {"thread_id": w["t"]["id"], "body": "Before"}, timeout=10)
    assert ack["ok"] is True
    # Revoked behind the server's back (no eviction): the next action is refused all the same.
    await pool.execute("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1", w["u"]["id"])
    ack = await sock.sio.call("post", {"thread_id": w["t"]["id"], "body": "After"}, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "signed_out"
    assert not await pool.fetchval("SELECT EXISTS (SELECT 1 FROM posts WHERE body_md = 'After')")
    # ...and the socket is closed: it no longer receives its rooms either.
    await _gone(sock)
    # Revoked on the account page: the socket is told, then closed.
    token = await _token(pool, w["u"])
    sock = await sockets(token=token)
    assert (await sock.join(f"thread:{w['t']['id']}"))["ok"] is True
    token_id = await pool.fetchval(
        "SELECT id FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL", w["u"]["id"]
    )
    b = await browser_factory(w["u"]["email"])
    other = await sockets(cookie=session_cookie(b))  # the same person's signed-in tab stays
    r, _ = await b.post(f"/account/tokens/{token_id}/revoke")
    assert r.status == 303
    error = await sock.until("error")
    assert error["code"] == "token_revoked"
    await _gone(sock)
    assert other.sio.connected


async def test_a_password_change_closes_the_sockets_of_its_sign_ins_and_tokens(
    world, browser_factory, sockets, pool
):
    w = await _scene(world)
    token = await _token(pool, w["u"])
    b = await browser_factory(w["u"]["email"])
    by_token = await sockets(token=token)
    by_cookie = await sockets(cookie=session_cookie(b))
    r, _ = await b.post(
        "/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert r.status == 303
    await _gone(by_token)
    await _gone(by_cookie)
    # And the token no longer opens a socket.
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sockets(token=token)


# --- a role taken away ---------------------------------------------------------------------


async def test_a_demoted_facilitator_stops_receiving_the_moderation_room(
    world, browser_factory, sockets, pool
):
    w = await _scene(world, premoderated=True)
    c, t = w["c"], w["t"]
    fb = await browser_factory(w["fac"]["email"])
    fac = await sockets(cookie=session_cookie(fb))
    assert (await fac.join(f"moderation:{c['id']}"))["ok"] is True
    assert (await fac.join(f"thread:{t['id']}"))["ok"] is True
    pb = await browser_factory(w["u"]["email"])
    status, _ = await pb.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Queued one"})
    assert status == 201
    await fac.until("post:updated", lambda p: p["html"] == "<p>Queued one</p>\n")
    ob = await browser_factory(w["org"]["email"])
    r, text = await ob.post(
        f"/c/{c['slug']}/manage/roles",
        {"role_email": w["fac"]["email"], "role_role": "participant"},
    )
    assert r.status == 303, text[:1000]
    evicted = await fac.until("error", lambda e: e["code"] == "evicted")
    assert evicted["room"] == f"moderation:{c['id']}"
    status, _ = await pb.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Queued two"})
    assert status == 201
    # A marker the socket may still receive: the organiser's post in the thread.
    status, marker = await ob.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Mark"})
    assert status == 201
    await fac.until("post:new", lambda p: p["id"] == marker["id"])
    assert not fac.received("Queued two")
    # The next action needs the old role: refused.
    pending = await pool.fetchval("SELECT id FROM posts WHERE body_md = 'Queued two'")
    ack = await fac.sio.call("moderate", {"post_id": pending, "action": "approve"}, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    ack = await fac.join(f"moderation:{c['id']}")
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"


async def test_a_removed_member_is_disconnected_and_cannot_post(
    world, browser_factory, sockets, pool
):
    w = await _scene(world)
    c, t = w["c"], w["t"]
    pb = await browser_factory(w["u"]["email"])
    member = await sockets(cookie=session_cookie(pb))
    assert (await member.join(f"thread:{t['id']}"))["ok"] is True
    fb = await browser_factory(w["fac"]["email"])
    status, _ = await fb.api(
        "POST",
        f"/api/v1/conferences/{c['slug']}/members/{w['u']['id']}/moderation",
        {"action": "remove", "reason": "Abuse"},
    )
    assert status == 200
    error = await member.until("error")
    assert error["code"] == "signed_out"
    await _gone(member)
    again = await sockets(cookie=session_cookie(pb))
    ack = await again.sio.call("post", {"thread_id": t["id"], "body": "Still here"}, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"


async def test_leaving_a_members_only_conference_closes_the_sockets_and_its_rooms(
    world, browser_factory, sockets, pool
):
    w = await _scene(world)
    c, t = w["c"], w["t"]
    await pool.execute("UPDATE conferences SET visibility = 'members' WHERE id = $1", c["id"])
    pb = await browser_factory(w["u"]["email"])
    member = await sockets(cookie=session_cookie(pb))
    assert (await member.join(f"thread:{t['id']}"))["ok"] is True
    r, text = await pb.post(f"/c/{c['slug']}/leave")
    assert r.status == 303, text[:1000]
    await _gone(member)
    again = await sockets(cookie=session_cookie(pb))
    ack = await again.join(f"thread:{t['id']}")
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"


# --- a conference made members-only ----------------------------------------------------------


async def _edit_conference(browser, pool, c: dict, visibility: str) -> None:
    times = await pool.fetchrow(
        """SELECT to_char(starts_at AT TIME ZONE timezone, 'YYYY-MM-DD"T"HH24:MI') AS s,
                  to_char(ends_at AT TIME ZONE timezone, 'YYYY-MM-DD"T"HH24:MI') AS e
           FROM conferences WHERE id = $1""",
        c["id"],
    )
    r, text = await browser.post(
        f"/c/{c['slug']}/manage",
        {
            "title": "Now for members",
            "summary": "",
            "code_of_conduct": "",
            "timezone": "Europe/London",
            "starts_at": times["s"],
            "ends_at": times["e"],
            "visibility": visibility,
        },
    )
    assert r.status == 303, text[:2000]


async def test_anonymous_sockets_leave_a_conference_made_members_only(
    world, browser_factory, sockets, pool
):
    w = await _scene(world)
    c, t = w["c"], w["t"]
    anon = await sockets()
    assert (await anon.join(f"thread:{t['id']}"))["ok"] is True
    assert (await anon.join(f"conference:{c['id']}"))["ok"] is True
    pb = await browser_factory(w["u"]["email"])
    member = await sockets(cookie=session_cookie(pb))
    assert (await member.join(f"thread:{t['id']}"))["ok"] is True
    ob = await browser_factory(w["org"]["email"])
    await _edit_conference(ob, pool, c, "members")
    evicted = [(await anon.until("error", lambda e, r=r: e.get("room") == r)) for r in (
        f"conference:{c['id']}", f"thread:{t['id']}")]  # fmt: skip
    assert all(e["code"] == "evicted" for e in evicted)
    status, post = await pb.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Members"})
    assert status == 201
    await member.until("post:new", lambda p: p["id"] == post["id"])  # members still hear
    # A marker the anonymous socket may still receive: sent to it alone, after the post.
    from confer.keys import sio_key

    await pb.server.app[sio_key].emit("post:removed", {"marker": 1}, to=anon.sio.get_sid("/"))
    await anon.until("post:removed", lambda d: d.get("marker") == 1)
    assert not anon.received("Members")
    ack = await anon.join(f"thread:{t['id']}")
    assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"


# --- across two processes, through Redis ------------------------------------------------------


async def test_a_demotion_on_one_process_evicts_the_socket_on_another(
    world,
    database_url,
    redis_url,  # noqa: F811
    pool,
):
    w = await _scene(world, premoderated=True)
    c, t = w["c"], w["t"]
    org_token = await _token(pool, w["org"])
    participant_token = await _token(pool, w["u"])
    port_a, port_b = free_port(), free_port()
    a, b = _serve(database_url, redis_url, port_a), _serve(database_url, redis_url, port_b)
    fac = None
    try:
        base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        fac = await _connect(base_a, token=await _token(pool, w["fac"]))
        assert (await fac.join(f"moderation:{c['id']}"))["ok"] is True
        assert (await fac.join(f"thread:{t['id']}"))["ok"] is True
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:

            async def api(token: str, path: str, body: dict) -> dict:
                async with http.post(
                    base_b + path, json=body, headers={"Authorization": f"Bearer {token}"}
                ) as r:
                    assert r.status in (200, 201), await r.text()
                    return await r.json()

            await api(participant_token, f"/api/v1/threads/{t['id']}/posts", {"body": "Q one"})
            await fac.until("post:updated", lambda p: p["html"] == "<p>Q one</p>\n")
            # The organiser signs in on process B and demotes the facilitator there.
            async with http.get(base_b + "/login") as r:
                csrf = (await r.text()).split('name="csrf-token" content="')[1].split('"')[0]
            async with http.post(
                base_b + "/login",
                data={"email": w["org"]["email"], "password": PASSWORD, "csrf_token": csrf},
                allow_redirects=False,
            ) as r:
                assert r.status == 303
            async with http.get(base_b + "/account") as r:
                csrf = (await r.text()).split('name="csrf-token" content="')[1].split('"')[0]
            async with http.post(
                f"{base_b}/c/{c['slug']}/manage/roles",
                data={
                    "role_email": w["fac"]["email"],
                    "role_role": "participant",
                    "csrf_token": csrf,
                },
                allow_redirects=False,
            ) as r:
                assert r.status == 303, (await r.text())[:2000]
            await api(participant_token, f"/api/v1/threads/{t['id']}/posts", {"body": "Q two"})
            marker = await api(org_token, f"/api/v1/threads/{t['id']}/posts", {"body": "Mark"})
        await fac.until("post:new", lambda p: p["id"] == marker["id"])
        assert fac.received("evicted")
        assert not fac.received("Q two")
    finally:
        if fac is not None and fac.sio.connected:
            await fac.sio.disconnect()
        _stop(a)
        _stop(b)


# --- 11. malformed messages get an error acknowledgement, never a traceback --------------------

HUGE = 10**30
MALFORMED: list[Any] = [
    None, [], [1, 2], 0, -1, HUGE, "x", "", True, 1.5, ("two", "args"),
    {}, {"room": None}, {"room": HUGE}, {"room": ["thread:1"]}, {"room": "thread:" + "9" * 40},
    {"room": "thread:{t}", "after": HUGE}, {"room": "thread:{t}", "after": -1},
    {"room": "thread:{t}", "after": 1, "since": "abc"}, {"room": "thread:{t}", "since": HUGE},
    {"room": "panel:{t}", "since": [1]}, {"room": "moderation:{c}", "counts": {"a": HUGE}},
    {"room": "user:1"}, {"room": "nonsense"}, {"room": "thread:-1"},
    {"thread_id": HUGE}, {"thread_id": [1]}, {"thread_id": {"a": 1}}, {"thread_id": "1e9"},
    {"thread_id": "{t}", "body": ["list"]}, {"thread_id": "{t}", "body": {"a": None}},
    {"thread_id": "{t}", "body": "x", "reply_to": HUGE},
    {"thread_id": "{t}", "body": "x", "reply_to": [1]},
    {"thread_id": "{t}", "body": "x", "idempotency_key": {"k": 1}},
    {"post_id": -5}, {"post_id": HUGE, "reason": "spam"}, {"post_id": "{p}", "reason": [1]},
    {"question_id": "1e9"}, {"question_id": 10**17, "withdraw": "yes"},
    {"session_id": None}, {"session_id": HUGE, "body": "x"}, {"session_id": "{t}", "body": 7},
    {"action": ["hide"]}, {"action": "hide", "post_id": HUGE},
    {"action": "hide", "post_id": "{p}", "reason": {"x": 1}},
    {"action": "slow_mode", "thread_id": "{t}", "seconds": HUGE},
    {"action": "mute", "user_id": 1, "conference": 5}, {"action": "mute", "user_id": HUGE,
     "conference": "nope", "minutes": HUGE},
    {"a": {"b": [None, {"c": HUGE}]}},
]  # fmt: skip
SOCKET_EVENTS = ("join", "leave", "post", "moderate", "flag", "ask", "vote", "nonsense")


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and "{" in value:
        filled = value.format(**ids)
        return int(filled) if filled.isdigit() else filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("who", ["anonymous", "participant", "facilitator"])
async def test_every_event_answers_malformed_messages_with_an_error(
    world, browser_factory, sockets, pool, caplog, who
):
    w = await _scene(world)
    p = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", w["t"]["id"])
    ids = {"t": w["t"]["id"], "c": w["c"]["id"], "p": p}
    cookie = None
    if who != "anonymous":
        cookie = session_cookie(
            await browser_factory(w["u" if who == "participant" else "fac"]["email"])
        )
    caplog.set_level(logging.WARNING)
    before = await pool.fetchval("SELECT count(*) FROM posts")
    for event in SOCKET_EVENTS:
        sock = await sockets(cookie=cookie)  # a fresh socket: the flood limit is per socket
        for payload in MALFORMED:
            data = _fill(payload, ids)
            ack = await sock.sio.call(event, data, timeout=10)
            # Every message is answered; one that is not an object, or any message to an
            # unknown event, is refused. (A few are well-formed for some event, e.g. leaving
            # a room with an extra field: those may succeed.)
            assert isinstance(ack, dict) and ack.get("ok") in (True, False), (event, data, ack)
            if not isinstance(data, dict) or event == "nonsense":
                assert ack["ok"] is False, (event, data, ack)
            if ack["ok"] is False:
                error = ack["error"]
                assert set(error) >= {"code", "message", "fields"}, (event, data, ack)
                assert error["code"] != "internal", (event, data, ack)
        assert sock.sio.connected
        await sock.sio.disconnect()
    # The two messages that crashed their handlers (issue #18, finding 11).
    sock = await sockets(cookie=cookie)
    ack = await sock.sio.call("join", {"room": f"thread:{ids['t']}", "after": HUGE}, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "not_found"
    ack = await sock.sio.call("leave", timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request"
    assert await pool.fetchval("SELECT count(*) FROM posts") == before
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
