"""Browser fixtures: Debian's Chromium driven by Playwright against the real test server.

Event loops: pytest-asyncio runs every test and its async fixtures in a fresh,
function-scoped loop here, and the `server` and `pool` fixtures live in that loop. Playwright
objects belong to the loop that started them, so a session-wide browser would sit in a loop
that is not running while a test runs. We therefore start Playwright and Chromium per test
(about 1 s), and overlap that with the database and server set-up: the launch starts as a
task when the (autouse, hence first) `browser` fixture is set up, and is awaited only when a
test first opens a page.

Chromium missing is a failure, never a skip: CI installs it, and a skip would hide a broken
install step.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import (
    Browser, BrowserContext, Page, Playwright, async_playwright, expect,
)  # fmt: skip

from confer.accounts import service as accounts
from confer.settings import Settings
from confer.web import SESSION_COOKIE
from tests.browser.helpers import AXE_RESULTS, counts, describe

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


class LazyBrowser:
    """A Chromium whose launch runs in the background until a test first needs it."""

    def __init__(self, chromium: str) -> None:
        self._pw: Playwright | None = None
        self._task = asyncio.create_task(self._launch(chromium))

    async def _launch(self, chromium: str) -> Browser:
        self._pw = await async_playwright().start()
        return await self._pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)

    async def get(self) -> Browser:
        return await self._task

    async def close(self) -> None:
        try:
            await (await self._task).close()
        finally:
            if self._pw is not None:
                await self._pw.stop()


@pytest.fixture(autouse=True)
async def browser(chromium_path: str) -> AsyncIterator[LazyBrowser]:
    lazy = LazyBrowser(chromium_path)
    yield lazy
    await lazy.close()


NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def new_page(
    browser: LazyBrowser, server: TestServer, pool: asyncpg.Pool, settings: Settings
) -> AsyncIterator[NewPage]:
    """new_page(js=True, user=None): a page in a fresh context (its own cookies).

    With `user`, the context starts signed in as that user through a sign-in cookie, for
    tests about something other than signing in (those sign in through the form).
    """

    contexts: list[BrowserContext] = []

    async def make(*, js: bool = True, user: dict | None = None) -> Page:
        b = await browser.get()
        base_url = str(server.make_url("/")).rstrip("/")
        context = await b.new_context(base_url=base_url, java_script_enabled=js)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        if user is not None:
            token = await accounts.start_login(pool, settings, user["id"])
            await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": base_url}])
        return await context.new_page()

    yield make
    # Close the pages before the server stops: an open live connection (socket.io) would
    # otherwise hold the server's shutdown until its timeout.
    for context in contexts:
        await context.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not AXE_RESULTS:
        return
    terminalreporter.section("axe results (rules violated, by impact)")
    for name, _url, violations in AXE_RESULTS:
        found = " ".join(f"{k}={v}" for k, v in counts(violations).items())
        terminalreporter.write_line(f"{name:<32} {found}")
        if violations and terminalreporter.config.getoption("verbose") > 0:
            terminalreporter.write_line(describe(violations))

