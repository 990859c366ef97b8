"""Faults: PostgreSQL restarted or its connections cut, SIGTERM and SIGKILL of a server, and
redis-server restarted under several processes, all under load, with real processes.

Every test drives bounded load through the JSON API with idempotency keys, retrying on 503 (and
on a refused connection) with the same key, and ends by checking in SQL that every acknowledged
post is present exactly once. Each test starts its own PostgreSQL (tests/procs.py) so that
restarting it cannot disturb the cluster the other tests share.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
import socketio

from confer import db
from confer.accounts import service as accounts
from confer.policy import Actor
from tests.conftest import CSRF_META, PASSWORD, World
from tests.procs import Confer, Postgres, Redis, wait_for_port

TEMPLATE = "faults_template"
# A hang detector, not a speed test: recovery is measured by bench/, and printed here.
RECOVERY_LIMIT = 60.0  # seconds from PostgreSQL's return to the first acknowledged post
UNAVAILABLE_TEXT = "Confer is having trouble reaching its database"


# --- fixtures: a PostgreSQL of this module's own ------------------------------------------


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    server = Postgres()
    server.start()

    async def template() -> None:
        con = await asyncpg.connect(server.uri())
        try:
            await con.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await con.close()
        con = await asyncpg.connect(server.uri(TEMPLATE))
        try:
            await db.migrate(con)
        finally:
            await con.close()

    asyncio.run(template())
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def fault_db(pg: Postgres) -> AsyncIterator[str]:
    if not pg.running():  # a test that failed half-way may have left it stopped
        pg.start()
    name = f"f_{uuid.uuid4().hex[:12]}"
    con = await asyncpg.connect(pg.uri())
    try:
        await con.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    finally:
        await con.close()
    yield pg.uri(name)
    if not pg.running():
        pg.start()
    con = await asyncpg.connect(pg.uri())
    try:
        await con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await con.close()


@pytest.fixture
async def fault_pool(fault_db: str) -> AsyncIterator[asyncpg.Pool]:
    """The test's own pool: it sees outages too, so the test reconnects around them."""
    pool = await db.create_pool(fault_db, max_size=3)
    yield pool
    await pool.close()


@dataclass
class Scene:
    conference: dict
    thread: dict
    users: list[dict]
    tokens: list[str]


async def make_scene(pool: asyncpg.Pool, writers: int) -> Scene:
    world = World(pool)
    c = await world.conference()
    s = await world.session(c, starts_in=timedelta(hours=-1), lasts=timedelta(hours=3))
    users, tokens = [], []
    for i in range(writers):
        u = await world.user(name=f"Writer {i}")
        await world.member(c, u, "participant")
        token, _ = await accounts.create_api_token(pool, Actor(user_id=u["id"], name="w"), "load")
        users.append(u)
        tokens.append(token)
    t = await world.thread(s, users[0], posts=0)
    return Scene(c, t, users, tokens)


@pytest.fixture
def procs() -> Iterator[list[Any]]:
    """Processes a test starts; killed and removed at the end, whatever happened."""
    started: list[Any] = []
    yield started
    for p in reversed(started):
        if isinstance(p, Confer) and " ERROR " in p.output():
            print(f"--- errors logged by the server on port {p.port} ---")  # shown on failure
            print("\n".join(p.output().split(" ERROR ", 1)[1].splitlines()[:60]))
        p.close()


# --- load -----------------------------------------------------------------------------------

CONNECTION_ERRORS = (
    aiohttp.ClientConnectionError,  # refused, reset, server disconnected
    asyncio.TimeoutError,
)


@dataclass
class Load:
    """Writers posting through the JSON API, each retrying its post with the same key."""

    urls: list[str]
    thread_id: int
    tokens: list[str]
    body: str = "Load post {n} from writer {w}"
    pause: float = 0.02
    acked: dict[str, dict] = field(default_factory=dict)  # idempotency key -> post
    ack_times: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)  # anything but 2xx, a proper 503, or a refusal
    refused: int = 0
    running: bool = True

    async def writer(self, w: int, http: aiohttp.ClientSession) -> None:
        n = 0
        while self.running:
            n += 1
            key = f"w{w}-{n}-{uuid.uuid4().hex[:6]}"
            url = f"{self.urls[n % len(self.urls)]}/api/v1/threads/{self.thread_id}/posts"
            payload = {"body": self.body.format(n=n, w=w), "idempotency_key": key}
            headers = {"Authorization": f"Bearer {self.tokens[w]}"}
            deadline = time.monotonic() + 45
            while self.running and time.monotonic() < deadline:
                try:
                    async with http.post(url, json=payload, headers=headers) as r:
                        self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
                        text = await r.text()
                        if r.status in (200, 201):
                            self.acked[key] = await r.json()
                            self.ack_times.append(time.monotonic())
                            break
                        if r.status == 503:
                            self._check_503(r, text)
                        else:
                            self.bad.append(f"{r.status}: {text[:300]}")
                except CONNECTION_ERRORS:
                    self.refused += 1
                await asyncio.sleep(0.1)
            await asyncio.sleep(self.pause)

    def _check_503(self, r: aiohttp.ClientResponse, text: str) -> None:
        if r.headers.get("Retry-After") != "5":
            self.bad.append(f"503 without Retry-After: 5: {dict(r.headers)}")
        if '"code": "unavailable"' not in text or "Traceback" in text:
            self.bad.append(f"503 body: {text[:300]}")

    @contextlib.asynccontextmanager
    async def running_with(self, writers: int) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            tasks = [asyncio.create_task(self.writer(w, http)) for w in range(writers)]
            try:
                yield
            finally:
                self.running = False
                await asyncio.wait_for(asyncio.gather(*tasks), 60)

    def first_ack_after(self, t: float) -> float | None:
        later = [a for a in self.ack_times if a >= t]
        return min(later) - t if later else None

    async def wait_acks(self, more: int, within: float = 20) -> None:
        target = len(self.acked) + more
        deadline = time.monotonic() + within
        while len(self.acked) < target:
            assert not self.bad, self.bad[:3]
            assert time.monotonic() < deadline, f"load stalled: {self.statuses} {self.bad[:3]}"
            await asyncio.sleep(0.05)


async def assert_each_acked_post_once(database_url: str, load: Load, thread_id: int) -> None:
    con = await asyncpg.connect(database_url)
    try:
        rows = await con.fetch(
            "SELECT id, seq, idempotency_key FROM posts WHERE thread_id = $1 ORDER BY seq",
            thread_id,
        )
    finally:
        await con.close()
    by_key: dict[str, list[int]] = {}
    for r in rows:
        by_key.setdefault(r["idempotency_key"], []).append(r["id"])
    assert load.acked, "nothing was acknowledged"
    for key, post in load.acked.items():
        assert by_key.get(key) == [post["id"]], (
            f"{key}: acknowledged {post['id']}, found {by_key.get(key)}"
        )
    assert all(len(ids) == 1 for ids in by_key.values())
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))  # gap-free


# --- a live reader that follows docs/live.md: rejoin with `after`, dedupe by seq --------------


class Reader:
    """A live reader of one thread, as docs/live.md describes a client, with one refinement.

    It shows each post once (by id) and rejoins with `after` set to its *watermark*: the
    highest seq below which it has every post. Rejoining after the highest seq it has shown, as
    docs/live.md says, loses posts: live `post:new` events can arrive out of seq order (two
    requests commit in one order and publish in the other), so a client that saw 173 and then
    lost its connection before 172 arrived would never ask for 172.
    """

    def __init__(
        self, url: str, thread_id: int, *, reconnection_delay: float = 0.5, auto: bool = True
    ) -> None:
        self.url = url
        self.thread_id = thread_id
        self.seqs: list[int] = []  # every post shown, in the order shown
        self.ids: set[int] = set()
        self.last = 0  # the watermark: every seq up to it has been shown
        self.out_of_order = 0  # live posts that arrived before an earlier seq
        self.errors: list[dict] = []
        self.connects = 0
        self.disconnect_reasons: list[str] = []
        self.updates: list[dict] = []
        self.missed: list[int] = []  # how many posts each join's catch-up brought
        self.sio = socketio.AsyncClient(
            reconnection=auto,
            reconnection_delay=reconnection_delay,
            reconnection_delay_max=reconnection_delay,
            randomization_factor=0,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("post:new", self._live)
        self.sio.on("error", self.errors.append)
        self.sio.on("thread:updated", self.updates.append)
        self.joined = asyncio.Event()

    async def _on_connect(self) -> None:
        self.connects += 1
        asyncio.get_running_loop().create_task(self._join())

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.joined.clear()
        self.disconnect_reasons.append(str(reason))

    async def _join(self) -> None:
        try:
            ack = await self.sio.call(
                "join", {"room": f"thread:{self.thread_id}", "after": self.last}, timeout=10
            )
        except Exception:
            return  # disconnected again: the next connect joins
        if ack.get("ok"):
            missed = [p["seq"] for p in ack["missed"]]
            assert missed == sorted(missed), missed  # catch-up comes in seq order
            self.missed.append(len(missed))
            for post in ack["missed"]:
                self._show(post)
            self.joined.set()

    async def _live(self, post: dict) -> None:
        if post.get("thread_id") == self.thread_id and post["id"] not in self.ids:
            if self.seqs and post["seq"] < self.seqs[-1]:
                self.out_of_order += 1
            self._show(post)

    def _show(self, post: dict) -> None:
        if post["id"] in self.ids:
            return
        self.ids.add(post["id"])
        self.seqs.append(post["seq"])
        shown = set(self.seqs)
        while self.last + 1 in shown:
            self.last += 1

    def assert_has_every_post(self, last: int) -> None:
        """Every seq from 1 to `last` shown exactly once."""
        assert len(self.seqs) == len(set(self.seqs)), "a post was shown twice"
        missing = sorted(set(range(1, last + 1)) - set(self.seqs))
        assert not missing, f"never shown: {missing}"

    async def connect(self) -> None:
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=10)
        await asyncio.wait_for(self.joined.wait(), 10)

    async def wait_for_seq(self, seq: int, within: float) -> float:
        started = time.monotonic()
        while self.last < seq:
            assert time.monotonic() - started < within, f"reader at {self.last}, wanted {seq}"
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    async def close(self) -> None:
        await self.sio.disconnect()


async def max_seq(database_url: str, thread_id: int) -> int:
    con = await asyncpg.connect(database_url)
    try:
        return await con.fetchval("SELECT last_seq FROM threads WHERE id = $1", thread_id)
    finally:
        await con.close()


def assert_quiet_log(text: str) -> None:
    """An outage is logged as one warning a request, not as errors with tracebacks, on the
    request path and the live path. (The mail sender's own logging is its business.)"""
    noisy = [
        line
        for line in text.splitlines()
        if any(f" {level} {name}" in line for level in ("ERROR", "CRITICAL") for name in QUIET)
        or "exception was never retrieved" in line
    ]
    assert not noisy, "\n".join(noisy[:10])


QUIET = ("confer.web", "confer.live", "confer.posts", "confer.api", "aiohttp", "asyncio")


# --- PostgreSQL restarted -------------------------------------------------------------------


async def _sign_in(url: str, email: str) -> tuple[aiohttp.ClientSession, str]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{url}/login") as r:
        csrf = CSRF_META.search(await r.text()).group(1)  # type: ignore[union-attr]
    async with http.post(
        f"{url}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf},
        allow_redirects=False,
    ) as r:
        assert r.status == 303
    return http, csrf


def _form_fields(html: str) -> dict[str, str]:
    """The retry form on the 503 page: its hidden inputs and its textarea."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    text = re.search(r"<textarea[^>]*name=\"body\"[^>]*>(.*?)</textarea>", html, re.S)
    if text:
        import html as htmllib

        fields["body"] = htmllib.unescape(text.group(1))
    return fields


async def test_postgres_restart_under_load_answers_503_then_recovers_and_loses_nothing(
    pg: Postgres, fault_db: str, fault_pool: asyncpg.Pool, procs: list
) -> None:
    scene = await make_scene(fault_pool, writers=5)
    # A second thread, whose session will close while PostgreSQL is down.
    closing = await make_scene(fault_pool, writers=1)
    await fault_pool.close()
    app = Confer(fault_db)
    procs.append(app)
    app.start()
    reader = Reader(app.url, scene.thread["id"])
    closing_reader = Reader(app.url, closing.thread["id"])
    await reader.connect()
    await closing_reader.connect()
    http, csrf = await _sign_in(app.url, scene.users[1]["email"])
    thread_path = f"/c/{scene.conference['slug']}/threads/{scene.thread['id']}"
    load = Load([app.url], scene.thread["id"], scene.tokens)
    try:
        async with load.running_with(4):
            await load.wait_acks(20)
            async with http.get(app.url + "/readyz") as r:
                assert r.status == 200, await r.text()
            con = await asyncpg.connect(fault_db)
            try:
                await con.execute(
                    "UPDATE sessions SET ends_at = now() + interval '1 second' WHERE id = $1",
                    closing.thread["session"]["id"],
                )
            finally:
                await con.close()
            await asyncio.sleep(0.3)  # the programme clock hears of it and waits for it
            pg.stop("fast")
            down_at = time.monotonic()

            # The balancer's readiness check says so (and the process is still alive).
            async with http.get(app.url + "/readyz") as r:
                ready = await r.json()
                assert r.status == 503 and r.headers["Retry-After"] == "5", ready
                assert ready["checks"]["database"].startswith("unavailable"), ready
            async with http.get(app.url + "/healthz") as r:
                assert r.status == 200

            # A page: a friendly 503 with Retry-After, no traceback.
            async with http.get(app.url + thread_path) as r:
                page = await r.text()
                assert r.status == 503, page[:500]
                assert r.headers["Retry-After"] == "5"
                assert UNAVAILABLE_TEXT in page and "Traceback" not in page

            # The post form: the text comes back on the page, with a form that sends it again
            # with the same idempotency key.
            typed = "My point, *typed* while the database was down. <b>not html</b>"
            form_key = uuid.uuid4().hex
            async with http.post(
                app.url + thread_path + "/posts",
                data={"body": typed, "idempotency_key": form_key, "csrf_token": csrf},
                allow_redirects=False,
            ) as r:
                page = await r.text()
                assert r.status == 503, page[:500]
                assert r.headers["Retry-After"] == "5"
            retry = _form_fields(page)
            assert retry["body"] == typed
            assert retry["idempotency_key"] == form_key
            assert "<b>not html</b>" not in page  # escaped, as any text
            assert f'action="{thread_path}/posts"' in page

            # A socket action: an error acknowledgement and an `error` event, not silence.
            ack = await reader.sio.call(
                "post", {"thread_id": scene.thread["id"], "body": "over the socket"}, timeout=10
            )
            assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack
            for _ in range(40):
                if reader.errors:
                    break
                await asyncio.sleep(0.05)
            assert reader.errors and reader.errors[-1]["code"] == "unavailable"

            # A socket that must be looked up (an API token) is refused with the same code.
            refused: list[Any] = []
            late = socketio.AsyncClient(reconnection=False)
            late.on("connect_error", refused.append)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await late.connect(
                    app.url,
                    auth={"token": scene.tokens[0]},
                    transports=["websocket"],
                    wait_timeout=10,
                )
            assert refused and refused[-1]["data"] == {"code": "unavailable"}, refused

            await asyncio.sleep(max(0.0, 3.0 - (time.monotonic() - down_at)))
            pg.start()
            up_at = time.monotonic()
            await load.wait_acks(1, within=RECOVERY_LIMIT + 5)
            recovery = load.first_ack_after(up_at)
            assert recovery is not None, "no post was acknowledged after PostgreSQL returned"
            print(
                f"\nPostgreSQL restart: first acknowledged post {recovery:.2f} s after it returned"
            )
            await load.wait_acks(20)
            for _ in range(600):  # ready again once the pool has reconnected
                async with http.get(app.url + "/readyz") as r:
                    if r.status == 200:
                        break
                await asyncio.sleep(0.1)
            assert r.status == 200

        # The text kept on the 503 page, sent again: one post, however often it is sent.
        for _ in range(2):
            async with http.post(app.url + thread_path + "/posts", data=retry) as r:
                assert r.status == 200
        con = await asyncpg.connect(fault_db)
        try:
            n = await con.fetchval(
                "SELECT count(*) FROM posts WHERE idempotency_key = $1 AND body_md = $2",
                form_key,
                typed,
            )
        finally:
            await con.close()
        assert n == 1

        assert not load.bad, load.bad[:5]
        assert load.statuses.get(503, 0) > 0, load.statuses  # the outage was seen
        await assert_each_acked_post_once(fault_db, load, scene.thread["id"])
        # The live reader missed nothing: catch-up on its socket covers the outage.
        last = await max_seq(fault_db, scene.thread["id"])
        await reader.wait_for_seq(last, within=10)
        reader.assert_has_every_post(last)
        # The programme clock came back and announced the session that closed meanwhile
        # (before the fix it restarted from "now" and never did).
        for _ in range(300):
            if closing_reader.updates:
                break
            await asyncio.sleep(0.05)
        assert [u["posting_state"] for u in closing_reader.updates] == ["closed"]
    finally:
        await http.close()
        await reader.close()
        await closing_reader.close()
    assert app.stop() == 0
    print(f"SIGTERM after the outage: exited in {app.stopped_in:.2f} s")
    log = app.output()
    assert "database unavailable" in log
    assert_quiet_log(log)


async def test_terminated_connections_under_load_recover_at_once_and_lose_nothing(
    pg: Postgres, fault_db: str, fault_pool: asyncpg.Pool, procs: list
) -> None:
    scene = await make_scene(fault_pool, writers=4)
    app = Confer(fault_db)
    procs.append(app)
    app.start()
    reader = Reader(app.url, scene.thread["id"])
    await reader.connect()
    load = Load([app.url], scene.thread["id"], scene.tokens)
    database = fault_db.rsplit("/", 1)[1]
    recoveries = []
    try:
        async with load.running_with(4):
            for _ in range(3):
                await load.wait_acks(15)
                killed = await fault_pool.fetchval(
                    """
                    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE datname = $1 AND pid <> pg_backend_pid()
                    """,
                    database,
                )
                cut_at = time.monotonic()
                assert killed >= 1
                await load.wait_acks(1, within=RECOVERY_LIMIT)
                recoveries.append(load.first_ack_after(cut_at))
            await load.wait_acks(10)
    finally:
        await reader.close()
    print(f"\nconnections terminated: first acknowledged post after {recoveries} s")
    assert all(r is not None for r in recoveries), recoveries
    assert not load.bad, load.bad[:5]
    await assert_each_acked_post_once(fault_db, load, scene.thread["id"])
    assert app.stop() == 0
    assert_quiet_log(app.output())


# --- SIGTERM and SIGKILL --------------------------------------------------------------------

PATHOLOGICAL = "[" * 20_000  # ~2.5 s of rendering: a request surely in flight at SIGTERM


async def test_sigterm_under_load_finishes_in_flight_requests_and_clients_reconnect(
    fault_db: str, fault_pool: asyncpg.Pool, procs: list
) -> None:
    scene = await make_scene(fault_pool, writers=4)
    app = Confer(fault_db)
    procs.append(app)
    app.start()
    reader = Reader(app.url, scene.thread["id"], reconnection_delay=0.5)
    await reader.connect()
    load = Load([app.url], scene.thread["id"], scene.tokens[:3])
    async with aiohttp.ClientSession() as http:
        try:
            async with load.running_with(3):
                await load.wait_acks(15)
                slow = asyncio.create_task(
                    http.post(
                        f"{app.url}/api/v1/threads/{scene.thread['id']}/posts",
                        json={"body": PATHOLOGICAL, "idempotency_key": "in-flight"},
                        headers={"Authorization": f"Bearer {scene.tokens[3]}"},
                    )
                )
                await asyncio.sleep(0.5)
                app.signal(signal.SIGTERM)
                # The request that was being handled is answered, not cut.
                r = await asyncio.wait_for(slow, 20)
                assert r.status == 201, await r.text()
                slow_post = await r.json()
                r.release()
                # Sockets are closed as "going away": the client reconnects by itself.
                for _ in range(200):
                    if reader.disconnect_reasons:
                        break
                    await asyncio.sleep(0.05)
                assert reader.disconnect_reasons, "the socket was not closed"
                # It exits by itself, cleanly (the bound is a hang detector, not a speed test).
                assert await asyncio.to_thread(app.wait, 120) == 0
                app.start()
                await load.wait_acks(15)
                await asyncio.wait_for(reader.joined.wait(), 15)
        finally:
            await reader.close()
    assert slow_post["seq"] > 0
    assert not load.bad, load.bad[:5]
    load.acked["in-flight"] = slow_post
    await assert_each_acked_post_once(fault_db, load, scene.thread["id"])
    last = await max_seq(fault_db, scene.thread["id"])
    assert reader.connects >= 2  # it reconnected on its own
    reader.assert_has_every_post(last)
    assert app.stop() == 0
    assert_quiet_log(app.output())


async def _http_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple:
    """GET /healthz on an open HTTP/1.1 connection: (status line, headers in lower case)."""
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers


async def test_sigterm_drains_open_connections_answering_with_connection_close(
    fault_db: str, procs: list
) -> None:
    """A proxy that keeps idle connections (nginx's upstream keepalive) may send a request down
    one just as the process stops. After SIGTERM Confer refuses new connections, but answers on
    an open one, with `Connection: close`, and then closes it; it exits once none is open."""
    app = Confer(fault_db, env={"SHUTDOWN_DRAIN": "120"})  # ends early: when none is open
    procs.append(app)
    app.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    try:
        status, headers = await _http_get(reader, writer)
        assert status.startswith("HTTP/1.1 200"), status
        assert headers.get("connection", "").lower() != "close"
        app.signal(signal.SIGTERM)

        async def refused() -> bool:
            try:
                _, w = await asyncio.open_connection("127.0.0.1", app.port)
            except OSError:
                return True
            w.close()
            return False

        for _ in range(600):
            if await refused():
                break
            await asyncio.sleep(0.05)
        assert await refused(), "still listening after SIGTERM"
        # The idle connection is still served, and told to close.
        status, headers = await _http_get(reader, writer)
        assert status.startswith("HTTP/1.1 200"), status
        assert headers.get("connection", "").lower() == "close"
        assert await asyncio.wait_for(reader.read(), 30) == b""  # then closed by Confer
    finally:
        writer.close()
    assert await asyncio.to_thread(app.wait, 120) == 0  # a hang detector, not a speed test
    assert_quiet_log(app.output())


async def test_sigkill_and_restart_clients_reconnect_and_catch_up_by_seq(
    fault_db: str, fault_pool: asyncpg.Pool, procs: list
) -> None:
    scene = await make_scene(fault_pool, writers=3)
    app = Confer(fault_db)
    procs.append(app)
    app.start()
    reader = Reader(app.url, scene.thread["id"])  # reconnects by itself
    # One that comes back only once posts have been made on the new process.
    late = Reader(app.url, scene.thread["id"], auto=False)
    await reader.connect()
    await late.connect()
    load = Load([app.url], scene.thread["id"], scene.tokens)
    try:
        async with load.running_with(3):
            await load.wait_acks(10)
            app.signal(signal.SIGKILL)
            await asyncio.to_thread(app.wait, 10)
            killed_at = time.monotonic()
            app.start()
            restarted = time.monotonic() - killed_at
            print(f"\nSIGKILL: listening again after {restarted:.2f} s")
            await load.wait_acks(10)
            await late.connect()
            await load.wait_acks(10)
            for _ in range(400):
                if reader.connects >= 2 and reader.joined.is_set():
                    break
                await asyncio.sleep(0.05)
            assert reader.connects >= 2 and reader.joined.is_set()
        last = await max_seq(fault_db, scene.thread["id"])
        await reader.wait_for_seq(last, within=10)
        await late.wait_for_seq(last, within=10)
    finally:
        await reader.close()
        await late.close()
    # What was posted while it was away came in its join's `missed`, in seq order. (At least
    # 10 posts were acknowledged while it was away, but a post acknowledged just before the kill
    # can also reach it live first, so allow a margin; wait_for_seq above proves it has them all.)
    assert late.missed[-1] >= 5, late.missed
    assert not load.bad, load.bad[:5]
    await assert_each_acked_post_once(fault_db, load, scene.thread["id"])
    print(f"SIGKILL: {reader.out_of_order} live posts arrived before an earlier seq")
    reader.assert_has_every_post(last)
    late.assert_has_every_post(last)
    assert app.stop() == 0


# --- redis-server restarted with several processes --------------------------------------------


async def test_redis_restart_cross_process_delivery_resumes_and_readers_catch_up(
    fault_db: str, fault_pool: asyncpg.Pool, procs: list
) -> None:
    scene = await make_scene(fault_pool, writers=3)
    redis = Redis()
    procs.append(redis)
    redis.start()
    a = Confer(fault_db, redis_url=redis.url)
    b = Confer(fault_db, redis_url=redis.url)
    procs.extend([a, b])
    a.start(wait=False)
    b.start()
    wait_for_port(a.port, a.proc)
    reader = Reader(a.url, scene.thread["id"])  # on A; every post goes through B
    await reader.connect()
    load = Load([b.url], scene.thread["id"], scene.tokens, pause=0.1)
    try:
        async with load.running_with(2):
            await load.wait_acks(5)
            await reader.wait_for_seq(await max_seq(fault_db, scene.thread["id"]), within=10)
            redis.stop()
            await load.wait_acks(10)  # posting goes on without redis
            redis.start()
            back_at = time.monotonic()
            await load.wait_acks(5)
            # Live delivery from B to A resumes, and A's reader has every post.
            last = await max_seq(fault_db, scene.thread["id"])
            resumed = await reader.wait_for_seq(last, within=20) + (time.monotonic() - back_at)
            print(
                f"\nredis restart: reader on A had every post {resumed:.2f} s after redis returned"
            )
            mark = await max_seq(fault_db, scene.thread["id"])
            await load.wait_acks(5)
            await reader.wait_for_seq(mark + 3, within=30)
    finally:
        await reader.close()
    assert not load.bad, load.bad[:5]
    await assert_each_acked_post_once(fault_db, load, scene.thread["id"])
    reader.assert_has_every_post(await max_seq(fault_db, scene.thread["id"]))
    assert a.stop() == 0 and b.stop() == 0
