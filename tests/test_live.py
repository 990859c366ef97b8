"""Live: real python-socketio clients against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from confer.accounts import service as accounts
from confer.policy import Actor
from confer.posts import queries as posts_q
from tests.conftest import World, insert_post


class Client:
    """A socket.io client that records what it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = {}
        self.arrived = asyncio.Event()
        for name in ("post:new", "post:updated", "thread:updated", "thread:new", "presence",
                     "error", "conference:updated", "connect_error"):  # fmt: skip
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str):
        async def record(data: Any) -> None:
            self.events.setdefault(name, []).append(data)
            self.arrived.set()

        return record

    async def wait_for(self, name: str, count: int = 1, within: float = 30.0) -> list[Any]:
        async def until() -> None:
            while len(self.events.get(name, [])) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(until(), within)
        return self.events[name]

    async def join(
        self, room: str, after: int | None = None, since: int | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"room": room}
        if after is not None:
            data["after"] = after
        if since is not None:
            data["since"] = since
        return await self.sio.call("join", data, timeout=10)


@pytest.fixture
async def connect(server) -> AsyncIterator[Any]:
    clients: list[Client] = []

    async def make(*, cookie: str | None = None, token: str | None = None) -> Client:
        c = Client()
        headers = {"Cookie": f"confer_session={cookie}"} if cookie else {}
        await c.sio.connect(
            str(server.make_url("/")),
            headers=headers,
            auth={"token": token} if token else None,
            transports=["websocket"],
            wait_timeout=10,
        )
        clients.append(c)
        return c

    yield make
    for c in clients:
        if c.sio.connected:
            await c.sio.disconnect()


def _cookie(browser) -> str:
    return next(c.value for c in browser.session.cookie_jar if c.key == "confer_session")


async def _thread(world: World, *, visibility: str = "public"):
    c = await world.conference(visibility=visibility)
    s = await world.session(c)
    fac = await world.user(name="Faye")
    await world.member(c, fac, "facilitator")
    t = await world.thread(s, fac)
    u = await world.user(name="Jane Smith", title="Cllr")
    await world.member(c, u, "participant")
    return c, s, t, u


async def test_http_form_api_and_socket_posts_all_reach_a_reader(
    world, browser_factory, connect, pool
):
    c, _, t, u = await _thread(world)
    reader = await connect()
    ack = await reader.join(f"thread:{t['id']}")
    assert ack["ok"] is True and ack["missed"] == []
    b = await browser_factory(u["email"])
    await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "From the form"})
    await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "From the API"})
    writer = await connect(cookie=_cookie(b))
    reply = await writer.sio.call(
        "post", {"thread_id": t["id"], "body": "From a socket", "idempotency_key": "s1"}, timeout=10
    )
    assert reply["ok"] is True and reply["post"]["seq"] == 4
    got = await reader.wait_for("post:new", 3)
    assert [p["seq"] for p in got] == [2, 3, 4]
    assert [p["html"] for p in got] == [
        "<p>From the form</p>\n",
        "<p>From the API</p>\n",
        "<p>From a socket</p>\n",
    ]
    assert got[0]["author"] == {
        "id": u["id"],
        "name": "Jane Smith",
        "title": "Cllr",
        "organisation": "",
        "role": "participant",
    }


async def test_socket_post_errors_come_back_in_the_ack(world, browser_factory, connect):
    c, _, t, u = await _thread(world)
    b = await browser_factory(u["email"])
    writer = await connect(cookie=_cookie(b))
    reply = await writer.sio.call("post", {"thread_id": t["id"], "body": ""}, timeout=10)
    assert reply == {
        "ok": False,
        "error": {
            "code": "invalid",
            "message": "Some fields need correcting",
            "fields": {"body": "Enter your post"},
        },
    }
    anon = await connect()
    reply = await anon.sio.call("post", {"thread_id": t["id"], "body": "hi"}, timeout=10)
    assert reply["ok"] is False and reply["error"]["code"] == "unauthorized"


async def test_edits_and_deletions_update_in_place(world, browser_factory, connect, pool):
    c, _, t, u = await _thread(world)
    reader = await connect()
    await reader.join(f"thread:{t['id']}")
    b = await browser_factory(u["email"])
    _, post = await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Frist"})
    await b.api("PATCH", f"/api/v1/posts/{post['id']}", {"body": "First"})
    await b.api("DELETE", f"/api/v1/posts/{post['id']}")
    updated = await reader.wait_for("post:updated", 2)
    assert updated[0]["html"] == "<p>First</p>\n"
    assert updated[1]["status"] == "deleted" and updated[1]["html"] == ""


async def test_catch_up_after_a_disconnection_delivers_each_missed_post_once_in_order(
    world, browser_factory, connect
):
    c, _, t, u = await _thread(world)
    reader = await connect()
    ack = await reader.join(f"thread:{t['id']}")
    last_seen = 1
    await reader.sio.disconnect()
    b = await browser_factory(u["email"])
    for i in range(50):
        await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": f"missed {i}"})
    again = await connect()
    ack = await again.join(f"thread:{t['id']}", after=last_seen)
    assert ack["ok"] is True
    assert [p["seq"] for p in ack["missed"]] == list(range(2, 52))
    assert [p["html"] for p in ack["missed"]][:2] == ["<p>missed 0</p>\n", "<p>missed 1</p>\n"]
    await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "live again"})
    live = await again.wait_for("post:new")
    assert [p["seq"] for p in live] == [52]


async def test_too_large_a_gap_tells_the_client_to_reload(world, connect):
    c = await world.conference()
    s = await world.session(c)
    u = await world.user()
    await world.member(c, u, "participant")
    t = await world.thread(s, u, posts=520)
    reader = await connect()
    ack = await reader.join(f"thread:{t['id']}", after=5)
    assert ack["ok"] is True and ack.get("reload") is True and ack["missed"] == []
    ack = await reader.join(f"thread:{t['id']}", after=100)
    assert "reload" not in ack and len(ack["missed"]) == 420


async def test_catch_up_brings_the_changes_made_while_a_reader_was_away(
    world, browser_factory, connect, pool
):
    """Approved, hidden, edited, deleted, pinned and moved posts keep (or leave) their seq, so
    a reader who reconnects asks for the changes after the last change number it saw too."""
    c = await world.conference()
    s = await world.session(c)
    fac = await world.user(name="Faye")
    await world.member(c, fac, "facilitator")
    u = await world.user(name="Jane Smith")
    await world.member(c, u, "participant")
    t = await world.thread(s, u, posts=6)
    t2 = await world.thread(s, u, title="Elsewhere")
    waiting = await insert_post(
        pool, t["id"], u["id"], None, "Waiting", "<p>Waiting</p>\n", None, "pending"
    )
    ids = [
        r["id"]
        for r in await pool.fetch("SELECT id FROM posts WHERE thread_id = $1 ORDER BY seq", t["id"])
    ]
    reader = await connect()
    ack = await reader.join(f"thread:{t['id']}", after=7, since=0)
    assert ack["ok"] is True and ack["missed"] == [] and "removed" not in ack
    await reader.sio.disconnect()

    f = await browser_factory(fac["email"])
    b = await browser_factory(u["email"])

    async def moderate(post_id: int, **data: Any) -> None:
        status, _ = await f.api("POST", f"/api/v1/posts/{post_id}/moderation", data)
        assert status == 200, data

    await moderate(waiting, action="approve")  # change 1
    await moderate(ids[0], action="hide", reason="Personal attack")  # 2
    assert (await b.api("PATCH", f"/api/v1/posts/{ids[1]}", {"body": "Corrected"}))[0] == 200
    assert (await b.api("DELETE", f"/api/v1/posts/{ids[2]}"))[0] == 200  # 4
    await moderate(ids[3], action="pin")  # 5
    await moderate(ids[4], action="move", to_thread_id=t2["id"])  # 6
    _, new = await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "New one"})

    again = await connect()
    ack = await again.join(f"thread:{t['id']}", after=7, since=0)
    missed = {p["id"]: p for p in ack["missed"]}
    assert [p["id"] for p in ack["missed"]] == [ids[0], ids[1], ids[2], ids[3], waiting, new["id"]]
    assert [p["change_seq"] for p in ack["missed"]] == [2, 3, 4, 5, 1, 0]
    assert missed[waiting]["status"] == "visible" and missed[waiting]["html"] == "<p>Waiting</p>\n"
    assert missed[ids[0]]["html"] == "" and missed[ids[0]]["placeholder"] == (
        "Removed by a facilitator: Personal attack"
    )
    assert missed[ids[1]]["html"] == "<p>Corrected</p>\n"
    assert missed[ids[2]]["status"] == "deleted" and missed[ids[2]]["html"] == ""
    assert ack["removed"] == [{"id": ids[4], "moved_to": t2["id"]}]
    # Only what changed after the number given; without one, by seq alone (as before).
    ack = await again.join(f"thread:{t['id']}", after=8, since=4)
    assert [p["id"] for p in ack["missed"]] == [ids[3]]
    assert ack["removed"] == [{"id": ids[4], "moved_to": t2["id"]}]
    ack = await again.join(f"thread:{t['id']}", after=8, since=6)
    assert ack["missed"] == [] and "removed" not in ack
    ack = await again.join(f"thread:{t['id']}", after=7)
    assert [p["id"] for p in ack["missed"]] == [new["id"]] and "removed" not in ack
    _, thread = await b.api("GET", f"/api/v1/threads/{t['id']}")
    assert thread["last_change_seq"] == 6 and thread["post_count"] == 5
    # The page starts the count where the thread is, for its script to ask from.
    _, html = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert 'data-last-change-seq="6"' in html
    for bad in (-1, "3", 1.5, True):
        ack = await again.join(f"thread:{t['id']}", after=7, since=bad)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found", bad


async def test_change_numbers_are_given_one_at_a_time_in_commit_order(world, browser_factory, pool):
    """Changes made at once to one thread's posts take 1, 2, 3, ... with no gap or repeat (a
    reader who saw number n has seen every change before it), and the count stays right."""
    c = await world.conference()
    s = await world.session(c)
    fac = await world.user(name="Faye")
    await world.member(c, fac, "facilitator")
    t = await world.thread(s, fac, posts=20)
    ids = [
        r["id"]
        for r in await pool.fetch("SELECT id FROM posts WHERE thread_id = $1 ORDER BY seq", t["id"])
    ]
    f = await browser_factory(fac["email"])
    results = await asyncio.gather(
        *(
            f.api(
                "POST",
                f"/api/v1/posts/{post_id}/moderation",
                {"action": "hide", "reason": "Off-topic"} if i % 2 else {"action": "pin"},
            )
            for i, post_id in enumerate(ids)
        )
    )
    assert [status for status, _ in results] == [200] * 20
    rows = await pool.fetch("SELECT change_seq FROM posts WHERE thread_id = $1", t["id"])
    assert sorted(r["change_seq"] for r in rows) == list(range(1, 21))
    thread = await pool.fetchrow(
        "SELECT last_change_seq, post_count FROM threads WHERE id = $1", t["id"]
    )
    assert dict(thread) == {"last_change_seq": 20, "post_count": 10}


async def test_too_many_changes_tell_the_client_to_reload(world, connect, pool):
    c = await world.conference()
    s = await world.session(c)
    u = await world.user()
    await world.member(c, u, "participant")
    t = await world.thread(s, u, posts=520)
    # As if each post had changed once, in seq order.
    await pool.execute("UPDATE posts SET change_seq = seq WHERE thread_id = $1", t["id"])
    await pool.execute("UPDATE threads SET last_change_seq = 520 WHERE id = $1", t["id"])
    reader = await connect()
    ack = await reader.join(f"thread:{t['id']}", after=520, since=5)
    assert ack["ok"] is True and ack.get("reload") is True and ack["missed"] == []
    ack = await reader.join(f"thread:{t['id']}", after=520, since=100)
    assert "reload" not in ack and [p["change_seq"] for p in ack["missed"]] == list(range(101, 521))


async def test_a_post_made_while_a_reader_joins_is_missed_by_neither_path(
    world, browser_factory, connect, monkeypatch
):
    """The socket is in the room before what it missed is read: a post committed just after
    that read arrives live (before, it was in neither the catch-up nor the room's events)."""
    c, _, t, u = await _thread(world)
    b = await browser_factory(u["email"])
    read = posts_q.list_posts_after
    made: list[dict] = []

    async def read_then_post(*args: Any, **kwargs: Any) -> Any:
        rows = await read(*args, **kwargs)
        if not made:
            _, post = await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Just now"})
            made.append(post)
        return rows

    monkeypatch.setattr(posts_q, "list_posts_after", read_then_post)
    reader = await connect()
    ack = await reader.join(f"thread:{t['id']}", after=1, since=0)
    assert ack["ok"] is True and ack["missed"] == []
    got = await reader.wait_for("post:new")
    assert [p["id"] for p in got] == [made[0]["id"]]


async def test_a_moderation_join_can_ask_for_the_queue_counts_in_its_scope(
    world, browser_factory, connect, pool
):
    """Posts awaiting approval and reports that came while a moderation page was away (or
    before its socket joined) have no seq: its join asks for the counts as they are now."""
    c = await world.conference()
    sa = await world.session(c, title="A")
    sb = await world.session(c, title="B")
    org = await world.user(name="Olu")
    await world.member(c, org, "organiser")
    fac_a = await world.user(name="Abe")
    await world.member(c, fac_a, "facilitator", sessions=[sa])
    u = await world.user(name="Jane")
    await world.member(c, u, "participant")
    ta = await world.thread(sa, u, posts=2)
    tb = await world.thread(sb, u, posts=1)
    for t in (ta, ta, tb):
        await insert_post(pool, t["id"], u["id"], None, "Wait", "<p>Wait</p>", None, "pending")
    reported = await pool.fetch("SELECT id FROM posts WHERE status = 'visible' ORDER BY id")
    for i, post in enumerate(reported):  # every visible post reported, the first twice
        for flagger in [org, fac_a] if i == 0 else [org]:
            await pool.execute(
                "INSERT INTO flags (post_id, conference_id, flagger_id, reason) "
                "VALUES ($1, $2, $3, 'spam')",
                post["id"],
                c["id"],
                flagger["id"],
            )
    room = f"moderation:{c['id']}"
    organiser = await connect(cookie=_cookie(await browser_factory(org["email"])))
    ack = await organiser.sio.call("join", {"room": room, "counts": True}, timeout=10)
    assert ack["ok"] is True and ack["counts"] == {"pending": 3, "flags": 3}
    ack = await organiser.sio.call("join", {"room": room}, timeout=10)
    assert ack["ok"] is True and "counts" not in ack
    facilitator = await connect(cookie=_cookie(await browser_factory(fac_a["email"])))
    ack = await facilitator.sio.call("join", {"room": room, "counts": True}, timeout=10)
    assert ack["counts"] == {"pending": 2, "flags": 2}  # session A's only
    participant = await connect(cookie=_cookie(await browser_factory(u["email"])))
    ack = await participant.sio.call("join", {"room": room, "counts": True}, timeout=10)
    assert ack["ok"] is False and "counts" not in ack


async def test_joins_are_authorised(world, browser_factory, connect):
    c, _, t, u = await _thread(world, visibility="members")
    anon = await connect()
    ack = await anon.join(f"thread:{t['id']}")
    assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
    ack = await anon.join(f"conference:{c['id']}")
    assert ack["ok"] is False
    # A member of another conference
    other = await world.conference()
    outsider = await world.user()
    await world.member(other, outsider, "observer")
    ob = await browser_factory(outsider["email"])
    o = await connect(cookie=_cookie(ob))
    ack = await o.join(f"thread:{t['id']}")
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    ack = await o.join(f"user:{u['id']}")
    assert ack["ok"] is False
    for room in ("thread:abc", "nonsense", "thread:999999", "moderation:x"):
        ack = await o.join(room)
        assert ack["ok"] is False, room
    mb = await browser_factory(u["email"])
    m = await connect(cookie=_cookie(mb))
    assert (await m.join(f"thread:{t['id']}"))["ok"] is True


async def test_a_hidden_conference_draft_is_not_joinable(world, connect):
    c = await world.conference(published=False)
    anon = await connect()
    ack = await anon.join(f"conference:{c['id']}")
    assert ack["ok"] is False and ack["error"]["code"] == "not_found"


async def test_api_token_authenticates_a_socket_and_a_bad_one_is_refused(world, connect, pool):
    c, _, t, u = await _thread(world)
    token, _ = await accounts.create_api_token(pool, Actor(user_id=u["id"], name="x"), "bot")
    client = await connect(token=token)
    reply = await client.sio.call("post", {"thread_id": t["id"], "body": "by token"}, timeout=10)
    assert reply["ok"] is True and reply["post"]["author"]["id"] == u["id"]
    refused = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.sio.connect(
            str(client.sio.connection_url),
            auth={"token": "cnf_not-a-real-token"},
            transports=["websocket"],
            wait_timeout=10,
        )
    assert refused.events["connect_error"][0]["message"] == "That API token is not valid."


async def test_signing_out_disconnects_the_members_sockets(world, browser_factory, connect):
    c, _, t, u = await _thread(world)
    b = await browser_factory(u["email"])
    client = await connect(cookie=_cookie(b))
    assert client.sio.connected
    await b.post("/logout")
    await client.wait_for("error")
    for _ in range(50):
        if not client.sio.connected:
            break
        await asyncio.sleep(0.1)
    assert not client.sio.connected
    assert client.events["error"][0]["code"] == "signed_out"


async def _until_presence(client: Client, count: int, within: float = 5.0) -> list[Any]:
    """Wait until the latest presence announcement says `count`."""

    async def until() -> None:
        while not client.events.get("presence") or client.events["presence"][-1]["count"] != count:
            client.arrived.clear()
            await client.arrived.wait()

    await asyncio.wait_for(until(), within)
    return client.events["presence"]


async def test_presence_counts_who_is_here(world, connect):
    c, _, t, _ = await _thread(world)
    a = await connect()
    ack = await a.join(f"thread:{t['id']}")
    assert ack["present"] == 1
    b = await connect()
    ack = await b.join(f"thread:{t['id']}")
    assert ack["present"] == 2
    seen = await _until_presence(a, 2)
    assert seen[-1] == {"room": f"thread:{t['id']}", "count": 2}
    await b.sio.disconnect()
    await _until_presence(a, 1)


async def test_presence_is_announced_once_for_a_burst_of_arrivals(world, connect):
    """Ten people arriving together cost the room one announcement, not one each."""
    c, _, t, _ = await _thread(world)
    first = await connect()
    await first.join(f"thread:{t['id']}")
    others = [await connect() for _ in range(9)]
    await asyncio.gather(*(o.join(f"thread:{t['id']}") for o in others))
    seen = await _until_presence(first, 10)
    assert len(seen) <= 3, seen  # without coalescing: one per arrival (10)
    await asyncio.sleep(0.8)
    assert len(first.events["presence"]) == len(seen)  # nothing more for a quiet room


async def test_a_flooding_socket_is_told_and_disconnected(world, connect):
    c, _, t, _ = await _thread(world)
    client = await connect()
    for _ in range(105):
        await client.sio.emit("join", {"room": f"thread:{t['id']}"})
    await client.wait_for("error")
    assert client.events["error"][0]["code"] == "flood"
    for _ in range(50):
        if not client.sio.connected:
            break
        await asyncio.sleep(0.1)
    assert not client.sio.connected


async def test_conference_room_shows_activity_across_threads(world, browser_factory, connect):
    c, _, t, u = await _thread(world)
    watcher = await connect()
    assert (await watcher.join(f"conference:{c['id']}"))["ok"]
    b = await browser_factory(u["email"])
    await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Busy day"})
    got = await watcher.wait_for("post:new")
    assert got[0]["thread_title"] == "A thread" and got[0]["thread_id"] == t["id"]


async def test_events_are_published_only_after_commit(world, settings, pool):
    """A post refused inside the transaction publishes nothing."""
    from confer.context import Ctx
    from confer.errors import Closed
    from confer.live.hub import Hub
    from confer.posts import service as posts

    c, s, t, u = await _thread(world)
    published: list[Any] = []
    hub = Hub()

    async def record(event: Any) -> None:
        published.append(event)

    async def nothing(_: int) -> None:
        return None

    hub.attach(record, nothing)
    ctx = Ctx(pool=pool, settings=settings, hub=hub)
    actor = Actor(user_id=u["id"], name="x")
    await posts.create_post(ctx, actor, c["slug"], t["id"], {"body": "ok"})
    assert [e.name for e in published] == ["post:new", "post:new"]
    await pool.execute(
        "UPDATE sessions SET ends_at = now() - interval '1 second', starts_at = now() - interval '1 hour' WHERE id = $1",
        s["id"],
    )
    with pytest.raises(Closed):
        await posts.create_post(ctx, actor, c["slug"], t["id"], {"body": "refused"})
    assert len(published) == 2


async def test_open_pages_hear_when_a_session_closes_by_the_clock(world, connect, pool):
    from datetime import timedelta

    c = await world.conference()
    s = await world.session(c, starts_in=timedelta(hours=-1), lasts=timedelta(hours=2))
    u = await world.user()
    t = await world.thread(s, u)
    reader = await connect()
    await reader.join(f"thread:{t['id']}")
    await reader.join(f"conference:{c['id']}")
    # The organiser moves the end to a moment from now: the clock hears of it and announces it.
    await pool.execute(
        "UPDATE sessions SET ends_at = now() + interval '1 second' WHERE id = $1", s["id"]
    )
    got = await reader.wait_for("thread:updated", within=10)
    assert got[0]["thread_id"] == t["id"] and got[0]["posting_state"] == "closed"
    assert "closed for posts at" in got[0]["message"] and "(UK time)" in got[0]["message"]
    conf = await reader.wait_for("conference:updated", within=30)
    assert conf[0] == {"id": c["id"], "session_id": s["id"], "session_state": "closed"}


async def _raw_websocket_reader_that_stops(server, room: str) -> asyncio.StreamWriter:
    """A hand-rolled socket.io client that joins `room` and then never reads again."""
    import base64
    import os
    import socket
    import struct

    reader, writer = await asyncio.open_connection(server.host, server.port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {server.host}:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head

    def frame(text: str) -> bytes:
        data = text.encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        return struct.pack("!BB", 0x81, 0x80 | len(data)) + mask + masked

    async def read_frame() -> str:
        b0, b1 = await reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await reader.readexactly(2))
        return (await reader.readexactly(n)).decode()

    assert (await read_frame()).startswith("0")  # engine.io open
    writer.write(frame("40"))
    assert (await read_frame()).startswith("40")  # namespace connected
    writer.write(frame(f'421["join",{{"room":"{room}"}}]'))
    while not (await read_frame()).startswith("431"):  # the join's ack (presence may come first)
        pass
    return writer  # from now on nothing reads


async def test_a_client_that_stops_reading_is_dropped_not_buffered(world, server):
    """The server's memory for a reader that never reads is bounded: past the limit it is cut off."""
    from confer.keys import sio_key

    c, _, t, _ = await _thread(world)
    room = f"thread:{t['id']}"
    writer = await _raw_websocket_reader_that_stops(server, room)
    sio = server.app[sio_key]
    assert len(sio.eio.sockets) == 1
    payload = {"body_html": "x" * 16_000}
    # ~6 MB in all: far past the 1 MiB limit and anything the kernel's buffers absorb.
    for _ in range(400):
        await sio.emit("post:new", payload, room=room)
        await asyncio.sleep(0)
    for _ in range(100):
        if not sio.eio.sockets:
            break
        await asyncio.sleep(0.05)
    writer.close()
    assert not sio.eio.sockets, "the stalled socket is still held"


async def test_a_handshake_from_another_origin_is_refused(world, server):
    client = socketio.AsyncClient(reconnection=False)
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                str(server.make_url("/")),
                headers={"Origin": "https://evil.example"},
                transports=["websocket"],
                wait_timeout=5,
            )
    finally:
        if client.eio.http is not None:  # the client leaves its HTTP session open on refusal
            await client.eio.http.close()
    same = socketio.AsyncClient(reconnection=False)
    await same.connect(
        str(server.make_url("/")),
        headers={"Origin": str(server.make_url("")).rstrip("/")},
        transports=["websocket"],
        wait_timeout=5,
    )
    assert same.connected
    await same.disconnect()


async def test_an_oversized_message_closes_the_socket_and_posts_nothing(world, connect, pool):
    from confer.live.server import MAX_MESSAGE_BYTES

    c, _, t, u = await _thread(world)
    client = await connect()
    before = await pool.fetchval("SELECT count(*) FROM posts")
    await client.sio.emit("post", {"thread_id": t["id"], "body": "x" * (MAX_MESSAGE_BYTES + 1)})
    for _ in range(50):
        if not client.sio.connected:
            break
        await asyncio.sleep(0.1)
    assert not client.sio.connected
    assert await pool.fetchval("SELECT count(*) FROM posts") == before
