"""Logs and metrics, on real servers: `confer serve` processes whose log output is read back,
and in-process servers scraped at /metrics. Nothing here depends on how long anything takes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import socketio
from prometheus_client.parser import text_string_to_metric_families
from yarl import URL

from confer import db, observe
from confer.app import create_app
from confer.mail import outbox
from tests.conftest import Browser, World
from tests.procs import Postgres, free_port, wait_for_port

# --- a `confer serve` process whose log is read back ---------------------------------------


class Served:
    """`python -m confer serve` with its log (stderr) kept apart from what it prints."""

    def __init__(self, database_url: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="cfo-"))
        self.err = self.dir / "stderr.log"
        self.out = self.dir / "stdout.log"
        self.env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        for name in ("LOG_LEVEL", "LOG_FORMAT", "SMTP_URL", "TRUSTED_PROXIES", "METRICS_ALLOW"):
            self.env.pop(name, None)
        self.env.update(
            DATABASE_URL=database_url,
            SECRET_KEY="observe-secret",
            PORT=str(self.port),
            RATE_LIMITS="off",
            CONFER_DATA_DIR=str(self.dir / "var"),
            BASE_URL=f"http://127.0.0.1:{self.port}",
        )
        self.env.update(env or {})
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        with open(self.err, "ab") as err, open(self.out, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "confer", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=err,
            )
        wait_for_port(self.port, self.proc)
        return self

    def stop(self) -> str:
        """SIGTERM, wait, and the whole log."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.log()

    def log(self) -> str:
        return self.err.read_text(errors="replace")

    def close(self) -> None:
        self.stop()
        for path in sorted(self.dir.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        self.dir.rmdir()


@pytest.fixture
def serve() -> Iterator[Any]:
    made: list[Served] = []

    def make(database_url: str, **env: str) -> Served:
        s = Served(database_url, env)
        made.append(s)
        return s.start()

    yield make
    for s in made:
        s.close()


class _At:
    """What tests.conftest.Browser needs of a server: make_url."""

    def __init__(self, base: str) -> None:
        self.base = base

    def make_url(self, path: str) -> URL:
        return URL(self.base + path)


@pytest.fixture
async def browsers() -> AsyncIterator[Any]:
    made: list[Browser] = []

    async def make(base: str, email: str | None = None) -> Browser:
        b = Browser(_At(base))  # type: ignore[arg-type]
        made.append(b)
        if email:
            await b.sign_in(email)
        return b

    yield make
    for b in made:
        await b.close()


def run_confer(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "confer", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- LOG_FORMAT and LOG_LEVEL ---------------------------------------------------------------


async def test_json_log_lines_parse_and_carry_the_request_fields(serve, database_url):
    srv = serve(database_url, LOG_FORMAT="json", LOG_LEVEL="INFO")
    async with aiohttp.ClientSession() as http:
        # Not from a trusted proxy: an inbound X-Request-ID is not believed.
        async with http.get(srv.url + "/login", headers={"X-Request-ID": "chosen-by-client"}) as r:
            assert r.status == 200
            rid = r.headers["X-Request-ID"]
        async with http.get(srv.url + "/no/such/page") as r:
            assert r.status == 404
            missing_rid = r.headers["X-Request-ID"]
    assert rid != "chosen-by-client" and re.fullmatch(r"[0-9a-f]{16}", rid)
    lines = srv.stop().splitlines() + srv.out.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line of output is one JSON object
    for rec in records:
        assert {"time", "level", "logger", "message"} <= rec.keys(), rec
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec["time"])
    [login] = [r for r in records if r.get("request_id") == rid]
    assert login["logger"] == "aiohttp.access" and login["level"] == "INFO"
    assert (login["method"], login["path"], login["status"], login["client"]) == (
        "GET",
        "/login",
        200,
        "127.0.0.1",
    )
    assert isinstance(login["duration_ms"], int | float)
    [missing] = [r for r in records if r.get("request_id") == missing_rid]
    assert (missing["path"], missing["status"]) == ("/no/such/page", 404)
    assert any(r["logger"] == "confer.mail" for r in records)  # start-up lines too
    assert any(r["message"] == f"Confer is starting on {srv.url}" for r in records)


async def test_log_level_filters_and_a_bad_value_stops_start_up(serve, database_url, tmp_path):
    srv = serve(database_url, LOG_LEVEL="WARNING")
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/login", "/no/such/page"):
            async with http.get(srv.url + path) as r:
                await r.read()
    log = srv.stop()
    assert "aiohttp.access" not in log and " INFO " not in log, log

    srv = serve(database_url, LOG_LEVEL="info")  # any case
    async with aiohttp.ClientSession() as http, http.get(srv.url + "/login") as r:
        assert r.status == 200
    log = srv.stop()
    assert 'INFO aiohttp.access: 127.0.0.1 "GET /login HTTP/1.1" 200' in log
    assert " DEBUG " not in log

    env = {"SECRET_KEY": "x", "CONFER_DATA_DIR": str(tmp_path), "DATABASE_URL": database_url}
    done = run_confer("serve", env={**env, "LOG_LEVEL": "LOUD"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "confer: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'LOUD'"
    ]
    done = run_confer("serve", env={**env, "LOG_FORMAT": "xml"})
    assert done.returncode == 2 and "LOG_FORMAT must be text or json" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_confer("serve", env={**env, "METRICS_ALLOW": "127.0.0.1,the-office"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "METRICS_ALLOW must list addresses or networks" in done.stderr


async def test_a_request_id_reaches_every_line_written_during_the_request(settings, aiohttp_server):
    """An X-Request-ID from a trusted proxy is kept; a line logged by a handler carries it."""
    app = create_app(settings.with_(trusted_proxies=("127.0.0.1",)))

    async def noisy(request: Any) -> Any:
        logging.getLogger("confer.test").warning("inside the request")
        from aiohttp import web

        return web.Response(text="ok")

    app.router.add_get("/test/noisy", noisy)
    server = await aiohttp_server(app, host="127.0.0.1")
    stream = _Lines()
    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    try:
        observe.configure("INFO", "json", stream)
        async with aiohttp.ClientSession() as http:
            url = str(server.make_url("/test/noisy"))
            async with http.get(url, headers={"X-Request-ID": "lb-1234"}) as r:
                assert r.headers["X-Request-ID"] == "lb-1234"
            # Not a sane id (spaces, too long): a fresh one instead.
            async with http.get(url, headers={"X-Request-ID": "a b" + "x" * 200}) as r:
                fresh = r.headers["X-Request-ID"]
    finally:
        root.removeHandler(observe._handler)  # type: ignore[arg-type]
        observe._handler = None
        root.setLevel(saved[0])
    inside = [json.loads(line) for line in stream.lines if "inside the request" in line]
    assert [r["request_id"] for r in inside] == ["lb-1234", fresh]
    assert re.fullmatch(r"[0-9a-f]{16}", fresh)


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.extend(line for line in text.splitlines() if line)

    def flush(self) -> None:
        pass


# --- no secret in any log line -----------------------------------------------------------------

LINK = r"http://127\.0\.0\.1:\d+(/{path}/[A-Za-z0-9_-]+)"


def _link(message: Any, path: str) -> str:
    text = " ".join(message.get_body(("plain",)).get_content().split())
    m = re.search(LINK.format(path=path), text)
    assert m, text
    return m.group(1)


def _with_password(uri: str, password: str) -> str:
    """The same database URL with a password in it (the test cluster trusts local users)."""
    return re.sub(r"^(postgres(?:ql)?://)([^:@/]*)(?::[^@/]*)?@", rf"\1\2:{password}@", uri)


async def test_no_emailed_link_api_token_cookie_or_password_reaches_the_log(
    serve, browsers, database_url, world: World, mailbox, pool
):
    """Every kind of emailed link and an API token, used for real through `confer serve` with
    every logger at DEBUG; then not one of the secrets is anywhere in its log."""
    db_password = "pw-" + uuid.uuid4().hex
    srv = serve(
        _with_password(database_url, db_password),
        LOG_LEVEL="DEBUG",
        SMTP_URL=mailbox.url,
    )
    secrets: dict[str, str] = {"database password": db_password}
    pat = await world.user("Pat Example")
    c = await world.conference()
    s = await world.session(c)
    t = await world.thread(s, pat)
    await world.member(c, pat, "organiser")

    # A password reset, followed through.
    b = await browsers(srv.url)
    r, _ = await b.post("/account/reset", {"email": pat["email"]})
    assert r.status == 200
    [message] = await mailbox.wait_for(pat["email"])
    reset = _link(message, "account/reset")
    r, _ = await b.get(reset)
    assert r.status == 200
    r, _ = await b.post(reset, {"password": "a brand new long password"})
    assert r.status == 303
    secrets["password reset link"] = reset.rsplit("/", 1)[1]

    # A sign-in link, followed through.
    b = await browsers(srv.url)
    r, _ = await b.post("/login/email", {"email": pat["email"], "next": "/account"})
    assert r.status == 200
    message = (await mailbox.wait_for(pat["email"], count=3))[-1]  # after "password changed"
    sign_in = _link(message, "login/email")
    r, _ = await b.get(sign_in)
    assert r.status == 200
    r, _ = await b.post(sign_in)
    assert r.status == 303 and r.headers["Location"] == "/account"
    secrets["sign-in link"] = sign_in.rsplit("/", 1)[1]
    secrets["session cookie"] = next(
        m.value for m in b.session.cookie_jar if m.key == "confer_session"
    )

    # An invitation, opened signed out (a redirect to sign in carries it in ?next=), accepted.
    r, _ = await b.post(f"/c/{c['slug']}/invitations", {"emails": "sam@example.org"})
    assert r.status in (200, 303)
    [message] = await mailbox.wait_for("sam@example.org")
    invitation = _link(message, "invitations")
    secrets["invitation link"] = invitation.rsplit("/", 1)[1]
    sam = await browsers(srv.url)
    r, _ = await sam.get(invitation)
    assert r.status == 200
    r, _ = await sam.get(f"/login?next={invitation}")
    assert r.status == 200
    await world.user("Sam Officer", email="sam@example.org")
    await sam.sign_in("sam@example.org")
    r, _ = await sam.post(invitation, {"accept_code_of_conduct": "on"})
    assert r.status in (200, 303)
    secrets["invited member's session cookie"] = next(
        m.value for m in sam.session.cookie_jar if m.key == "confer_session"
    )

    # An API token: made on the account page, used in the header, in a query string, and to
    # authenticate a socket.io connection (whose engine.io session id is in its URLs).
    r, text = await b.post("/account/tokens", {"token_name": "scripts"})
    token = text.split('<code id="new-token">')[1].split("</code>")[0]
    secrets["API token"] = token
    anon = await browsers(srv.url)
    status, body = await anon.api("GET", "/api/v1/me", token=token)
    assert status == 200 and body["name"] == "Pat Example"
    status, _ = await anon.api("GET", f"/api/v1/me?token={token}&access_token={token}")
    assert status == 401
    status, _ = await anon.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Hi"}, token=token
    )
    assert status == 201
    client = socketio.AsyncClient(reconnection=False)
    # Polling first, then the websocket upgrade, as a browser does.
    await client.connect(srv.url, auth={"token": token}, wait_timeout=10)
    secrets["engine.io session id"] = client.eio.sid
    ack = await client.call("join", {"room": f"thread:{t['id']}"}, timeout=10)
    assert ack["ok"] is True
    await client.disconnect()
    # A wrong token in a token route, and the CSRF cookie, for good measure.
    r, _ = await anon.get("/account/reset/not-a-real-token-" + uuid.uuid4().hex)
    assert r.status == 410
    secrets["CSRF cookie"] = next(m.value for m in b.session.cookie_jar if m.key == "confer_csrf")

    log = srv.stop()
    assert "DEBUG" in log and "aiohttp.access" in log  # the log was really captured
    for what, secret in secrets.items():
        assert secret not in log, f"the {what} is in the log"
    assert "/account/reset/[redacted]" in log and "/invitations/[redacted]" in log
    assert "/login/email/[redacted]" in log and "sid=[redacted]" in log


async def test_a_malformed_smtp_url_stops_start_up_with_one_line(database_url, tmp_path):
    env = {"SECRET_KEY": "x", "CONFER_DATA_DIR": str(tmp_path), "DATABASE_URL": database_url}
    for url, says in [
        ("smtp://confer:hunter2@mail.example.org:notaport", "SMTP_URL's port must be a number"),
        ("http://confer:hunter2@mail.example.org", "SMTP_URL must start with smtp://"),
        ("smtp://confer:hunter2@mail.example.org?timeout=soon", "SMTP_URL's timeout"),
        ("smtp://confer:hunter2@mail.example.org?starttls=maybe", "SMTP_URL's starttls"),
    ]:
        done = run_confer("serve", "--port", str(free_port()), env={**env, "SMTP_URL": url})
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("confer: ") and says in line, line
        assert "hunter2" not in done.stderr + done.stdout


async def test_without_smtp_the_log_never_says_an_email_was_sent(
    serve, browsers, database_url, world
):
    srv = serve(database_url, LOG_LEVEL="DEBUG")
    pat = await world.user("Pat Example")
    b = await browsers(srv.url)
    r, _ = await b.post("/account/reset", {"email": pat["email"]})
    assert r.status == 200
    deadline = time.monotonic() + 30
    while "not delivered" not in srv.log() or "Message-ID" not in srv.log():
        assert time.monotonic() < deadline, srv.log()
        await asyncio.sleep(0.05)
    log = srv.stop()
    mail_lines = [line for line in log.splitlines() if "confer.mail" in line]
    assert any("kept in the outbox" in line and pat["email"] in line for line in mail_lines)
    assert not any(re.search(r"\bsent\b", line) for line in mail_lines), mail_lines
    assert "/account/reset/" not in log.replace("/account/reset/[redacted]", "")


async def test_an_smtp_password_never_reaches_the_log(
    serve, browsers, database_url, world, mailbox
):
    """The mail server refuses to sign in (it offers no AUTH): the failure is logged, the
    password in SMTP_URL is not."""
    password = "smtp-" + uuid.uuid4().hex
    url = mailbox.url.replace("smtp://", f"smtp://confer:{password}@")
    srv = serve(database_url, LOG_LEVEL="DEBUG", SMTP_URL=url)
    pat = await world.user("Pat Example")
    b = await browsers(srv.url)
    r, _ = await b.post("/account/reset", {"email": pat["email"]})
    assert r.status == 200
    deadline = time.monotonic() + 30
    while "trying again" not in srv.log():
        assert time.monotonic() < deadline, srv.log()
        await asyncio.sleep(0.05)
    log = srv.stop()
    assert "AUTH" in log and password not in log


# --- a database outage: one line when it goes, one when it is back ---------------------------


@pytest.fixture
def own_pg(pg_uri: str) -> Iterator[Postgres]:
    # After pg_uri: starting the embedded cluster makes the PostgreSQL binaries' folders
    # traversable by its system user, which this server runs as too.
    server = Postgres()
    server.start()
    try:
        yield server
    finally:
        server.close()


async def test_a_database_outage_logs_one_line_going_and_one_coming_back(serve, own_pg):
    con = await asyncpg.connect(own_pg.uri())
    try:
        await con.execute("CREATE DATABASE outage")
    finally:
        await con.close()
    password = "pw-" + uuid.uuid4().hex
    srv = serve(_with_password(own_pg.uri("outage"), password))
    async with aiohttp.ClientSession() as http:
        async with http.get(srv.url + "/") as r:
            assert r.status == 200
        own_pg.stop("fast")
        for _ in range(12):  # requests, the programme clock, the sender and asyncpg's own retries
            async with http.get(srv.url + "/") as r:  # the front page reads the database
                assert r.status == 503
            await asyncio.sleep(0.25)
        own_pg.start()
        deadline = time.monotonic() + 60
        while "database is back" not in srv.log():
            assert time.monotonic() < deadline, srv.log()
            async with http.get(srv.url + "/") as r:
                await r.read()
            await asyncio.sleep(0.1)
        async with http.get(srv.url + "/") as r:
            assert r.status == 200
    log = srv.stop()
    assert "Traceback" not in log, log
    gone = [line for line in log.splitlines() if "database unavailable" in line]
    back = [line for line in log.splitlines() if "database is back" in line]
    assert len(gone) == 1 and len(back) == 1, log
    assert " WARNING confer.db: " in gone[0]
    # What failed, the error's class and message.
    assert re.search(r"unavailable \((GET /|the [^:]+): [A-Za-z_.]+: \S", gone[0]), gone
    assert password not in log
    assert log.count("503") >= 12  # the access log still has every request


# --- /metrics ----------------------------------------------------------------------------------


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def _scrape(server: Any) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(server.make_url("/metrics")) as r:
        return r.status, await r.text()


def _requests(samples: dict, route: str, status: str, method: str = "GET") -> float:
    key = ("confer_http_requests_total", (("method", method), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


async def test_metrics_answer_loopback_with_every_family_and_counts_that_move(
    server, world: World, pool
):
    c = await world.conference()
    status, text = await _scrape(server)
    assert status == 200
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {
        "confer_http_requests",
        "confer_http_request_duration_seconds",
        "confer_sockets_connected",
        "confer_live_deliveries",
        "confer_outbox_backlog",
        "confer_outbox_failures",
        "confer_db_pool_in_use",
        "confer_db_pool_size",
    } <= names, names
    before = _samples(text)
    b = Browser(server)
    try:
        r, _ = await b.get(f"/c/{c['slug']}", allow_redirects=False)
        assert r.status == 200
        secret = "tok-" + uuid.uuid4().hex
        r, _ = await b.get(f"/account/reset/{secret}")
        assert r.status == 410
        r, _ = await b.get(f"/nothing/here/{secret}")
        assert r.status == 404
    finally:
        await b.close()
    status, text = await _scrape(server)
    after = _samples(text)
    assert _requests(after, "/c/{slug}", "200") == _requests(before, "/c/{slug}", "200") + 1
    assert _requests(after, "/account/reset/{token}", "410") == 1
    assert _requests(after, "unmatched", "404") == 1
    count = ("confer_http_request_duration_seconds_count", (("route", "/c/{slug}"),))
    assert after[count] == before.get(count, 0) + 1
    assert secret not in text and c["slug"] not in text  # patterns only, never paths
    assert after[("confer_db_pool_size", ())] >= 1
    assert 0 <= after[("confer_db_pool_in_use", ())] <= after[("confer_db_pool_size", ())]


async def test_metrics_refuse_an_address_outside_the_allow_list(settings, aiohttp_server):
    server = await aiohttp_server(
        create_app(settings.with_(metrics_allow=("10.0.0.0/8", "::1"))), host="127.0.0.1"
    )
    status, text = await _scrape(server)
    assert status == 404 and "confer_" not in text
    # X-Forwarded-For is not believed, even from a trusted proxy: the peer is what counts.
    server2 = await aiohttp_server(
        create_app(settings.with_(metrics_allow=("10.0.0.0/8",), trusted_proxies=("127.0.0.1",))),
        host="127.0.0.1",
    )
    async with aiohttp.ClientSession() as http:
        url = server2.make_url("/metrics")
        async with http.get(url, headers={"X-Forwarded-For": "10.1.2.3"}) as r:
            assert r.status == 404


def _gauge(text: str, name: str) -> float:
    return _samples(text)[(name, ())]


async def test_sockets_gauge_and_live_deliveries_follow_real_clients(
    server, world: World, pool, browser_factory
):
    c = await world.conference()
    s = await world.session(c)
    u = await world.user("Jane Smith")
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    _, text = await _scrape(server)
    assert _gauge(text, "confer_sockets_connected") == 0
    deliveries = _gauge(text, "confer_live_deliveries_total")
    readers = []
    for _ in range(2):
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(str(server.make_url("/")), transports=["websocket"], wait_timeout=10)
        assert (await sio.call("join", {"room": f"thread:{t['id']}"}, timeout=10))["ok"]
        readers.append(sio)
    _, text = await _scrape(server)
    assert _gauge(text, "confer_sockets_connected") == 2
    arrived = asyncio.Event()
    readers[1].on("post:new", lambda data: arrived.set())
    b = await browser_factory(u["email"])
    status, _ = await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Hello both"})
    assert status == 201
    await asyncio.wait_for(arrived.wait(), 10)
    _, text = await _scrape(server)
    assert _gauge(text, "confer_live_deliveries_total") >= deliveries + 2
    await readers[0].disconnect()
    for _ in range(200):  # the server notices the close a moment later
        _, text = await _scrape(server)
        if _gauge(text, "confer_sockets_connected") == 1:
            break
        await asyncio.sleep(0.02)
    assert _gauge(text, "confer_sockets_connected") == 1
    await readers[1].disconnect()


async def test_outbox_backlog_reflects_rows_and_failures_are_counted(
    pool, settings, aiohttp_server, mailbox
):
    server = await aiohttp_server(
        create_app(settings.with_(smtp_url=mailbox.url, mail_poll_seconds=0.2)), host="127.0.0.1"
    )
    _, text = await _scrape(server)
    assert _gauge(text, "confer_outbox_backlog") == 0
    async with pool.acquire() as con, con.transaction():
        for i in range(3):
            oid = await outbox.enqueue(
                con, kind="test", to=f"later{i}@example.org", subject="Later", text="Later."
            )
            await con.execute(
                "UPDATE outbox SET send_after = now() + interval '1 hour' WHERE id = $1", oid
            )
    _, text = await _scrape(server)
    assert _gauge(text, "confer_outbox_backlog") == 3
    # A temporary refusal is counted as a failure to be retried.
    retry = ("confer_outbox_failures_total", (("outcome", "retry"),))
    assert _samples(text)[retry] == 0
    mailbox.refuse = 1
    async with pool.acquire() as con, con.transaction():
        await outbox.enqueue(con, kind="test", to="now@example.org", subject="Now", text="Now.")
    for _ in range(500):
        _, text = await _scrape(server)
        if _samples(text)[retry] == 1:
            break
        await asyncio.sleep(0.02)
    assert _samples(text)[retry] == 1
    assert _gauge(text, "confer_outbox_backlog") == 4  # the refused one waits for its retry


# --- pieces ------------------------------------------------------------------------------------


def test_every_route_with_a_token_in_its_path_is_redacted(settings):
    app = create_app(settings)
    routes = {r.canonical for r in app.router.resources() if "{token}" in r.canonical}
    assert routes == {
        "/invitations/{token}",
        "/account/reset/{token}",
        "/login/email/{token}",
        "/calendar/{token}.ics",  # a member's calendar feed: the address is the secret
    }
    assert routes <= observe.secret_route_patterns()
    for route in routes:
        path = route.replace("{token}", "s3cr3t-T0ken_x")
        assert observe.redact_target(path) == route.replace("{token}", "[redacted]")
        assert "s3cr3t" not in observe.redact(f"see http://h{path}?a=1 now")
    assert observe.redact_target("/socket.io/?EIO=4&transport=polling&sid=abc") == (
        "/socket.io/?EIO=4&transport=polling&sid=[redacted]"
    )
    assert observe.redact_target("/login?next=%2Finvitations%2Fs3cr3t") == (
        "/login?next=/invitations/[redacted]"
    )
    assert observe.redact("postgresql://confer:pw@db/confer") == (
        "postgresql://confer:[redacted]@db/confer"
    )
    assert observe.redact_target("/c/x/threads/4?reply_to=9") == "/c/x/threads/4?reply_to=9"


def test_outage_line_hides_a_dsn_password(caplog):
    availability = db.Availability()
    error = OSError("could not connect to postgresql://confer:hunter2@db:5432/confer")
    with caplog.at_level(logging.DEBUG, logger="confer.db"):
        availability.lost("GET /", error)
        availability.lost("GET /", error)
        availability.connected()
        availability.connected()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "confer.db"]
    assert [level for level, _ in lines] == ["WARNING", "DEBUG", "WARNING"]
    assert "hunter2" not in repr(lines)
    assert "GET /: OSError: could not connect" in lines[0][1]


def test_settings_never_show_secrets_in_their_repr():
    from confer.settings import Settings

    s = Settings(
        database_url="postgresql://confer:db-pw@db/confer",
        redis_url="redis://:redis-pw@cache:6379/0",
        secret_key="the-secret-key",
        smtp_url="smtp://confer:smtp-pw@mail:587",
    )
    text = repr(s)
    for secret in ("db-pw", "redis-pw", "the-secret-key", "smtp-pw"):
        assert secret not in text


async def test_metrics_are_never_answered_through_a_proxy(server):
    """A local nginx makes every visitor a loopback client: a forwarded request is refused even
    though its peer (127.0.0.1) is in the default allow-list."""
    async with aiohttp.ClientSession() as http:
        url = server.make_url("/metrics")
        async with http.get(url) as r:
            assert r.status == 200
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            async with http.get(url, headers={header: "for=198.51.100.7"}) as r:
                assert r.status == 404, header
