"""Browser fixtures: Debian's Chromium driven by Playwright against the real test server.

Event loops. Playwright objects belong to the event loop that started them. pytest-asyncio
gives each test its own loop here (asyncio_default_fixture_loop_scope = "function"), so a
browser started once per run could not be used from a test's loop. Instead, every test in this
folder runs in the one session loop (`SESSION_LOOP` in each module's pytestmark), and so do the
fixtures it uses: one Chromium for the whole run (saving about 1.5 s a test), while the
database, pool and server are still made fresh for each test, only in the session loop. They
mirror the fixtures of the same names in tests/conftest.py, which live in the function loop.

Chromium missing is a failure, never a skip: CI installs it, and a skip would hide a broken
install step.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from confer import db
from confer.accounts import service as accounts
from confer.app import create_app
from confer.settings import Settings
from confer.web import SESSION_COOKIE
from tests.browser.helpers import AXE_RESULTS, counts, describe
from tests.conftest import TEMPLATE_DB, World, _with_db

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Fail fast: a missing element should fail in seconds, not after Playwright's 30 s default.
TIMEOUT_MS = 10_000
expect.set_options(timeout=5_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse, clearly, a browser test that would run outside the session loop."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here not in item.path.resolve().parents:
            continue
        marker = item.get_closest_marker("asyncio")
        if (
            item.get_closest_marker("browser") is None
            or marker is None
            or marker.kwargs.get("loop_scope") != "session"
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: browser tests need "
                "`pytestmark = [pytest.mark.browser, SESSION_LOOP]` (tests/browser/helpers.py)"
            )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Chromium is not installed, so the browser tests cannot run. Install it with "
            "`apt-get install -y chromium` (Debian) so that `chromium` is on PATH. "
            "These tests fail rather than skip so that a missing install step is noticed.",
            pytrace=False,
        )
    return path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        await b.close()


# --- per-test database, pool and server, in the session loop ---------------------------------


@pytest_asyncio.fixture(loop_scope="session")
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


@pytest_asyncio.fixture(loop_scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(database_url, max_size=5)
    yield p
    await p.close()


@pytest.fixture
def world(pool: asyncpg.Pool) -> World:
    return World(pool)


@pytest_asyncio.fixture(loop_scope="session")
async def server(settings: Settings) -> AsyncIterator[TestServer]:
    """A real Confer server on 127.0.0.1 with a free port (as tests/conftest.py's `server`)."""
    s = TestServer(create_app(settings), host="127.0.0.1")
    await s.start_server()
    yield s
    await s.close()


NewPage = Callable[..., Awaitable[Page]]


@pytest_asyncio.fixture(loop_scope="session")
async def new_page(
    browser: Browser, server: TestServer, pool: asyncpg.Pool, settings: Settings
) -> AsyncIterator[NewPage]:
    """new_page(js=True, user=None): a page in a fresh context (its own cookies).

    With `user`, the context starts signed in as that user through a sign-in cookie, for
    tests about something other than signing in (those sign in through the form).
    """
    contexts: list[BrowserContext] = []

    async def make(*, js: bool = True, user: dict | None = None) -> Page:
        base_url = str(server.make_url("/")).rstrip("/")
        context = await browser.new_context(base_url=base_url, java_script_enabled=js)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        if user is not None:
            token = await accounts.start_login(pool, settings, user["id"])
            await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": base_url}])
        return await context.new_page()

    yield make
    # Close the pages before the server stops: an open live connection (socket.io) would
    # otherwise hold up the server's shutdown.
    for context in contexts:
        await context.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not AXE_RESULTS:
        return
    terminalreporter.section("axe results (rules violated, by impact)")
    for name, _url, violations, review in AXE_RESULTS:
        found = " ".join(f"{k}={v}" for k, v in counts(violations).items())
        to_review = f" to review: {', '.join(review)}" if review else ""
        terminalreporter.write_line(f"{name:<32} {found}{to_review}")
        if violations and terminalreporter.config.getoption("verbose") > 0:
            terminalreporter.write_line(describe(violations))
