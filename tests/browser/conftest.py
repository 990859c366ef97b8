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
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, Playwright, async_playwright, expect

from tests.conftest import PASSWORD

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# Served by page.route() on the site's own origin; no such file exists on the server.
AXE_URL_PATH = "/static/__axe.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING_IMPACTS = ("serious", "critical")

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

# axe results of every audited page, printed at the end of the run.
AXE_RESULTS: list[tuple[str, dict[str, int]]] = []


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
        self._task = asyncio.create_task(self._launch(chromium))
        self._pw: Playwright | None = None

    async def _launch(self, chromium: str) -> Browser:
        self._pw = await async_playwright().start()
        return await self._pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)

    async def get(self) -> Browser:
        return await self._task

    async def close(self) -> None:
        try:
            browser = await self._task
            await browser.close()
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
async def new_page(browser: LazyBrowser, server: TestServer) -> NewPage:
    """new_page(js=True): a page in a fresh context (its own cookies) on the test server."""

    async def make(*, js: bool = True) -> Page:
        b = await browser.get()
        context = await b.new_context(
            base_url=str(server.make_url("/")).rstrip("/"), java_script_enabled=js
        )
        context.set_default_timeout(TIMEOUT_MS)
        return await context.new_page()

    return make


# --- helpers the tests share --------------------------------------------------------------


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    await page.goto("/login")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("Signed in as")).to_be_visible()


async def audit(page: Page, name: str) -> list[dict[str, Any]]:
    """Run axe on the page as it is now; record the counts by impact; return the violations.

    Our CSP (`script-src 'self'`) blocks inline scripts, and add_script_tag(path=...) inlines
    the file, so axe would never load. Rather than weaken the CSP for the whole page
    (bypass_csp=True would also hide CSP bugs in our own pages), we serve axe from the site's
    own origin: page.route() answers /static/__axe.js from the vendored file, and the page
    loads it as an ordinary same-origin script, which the CSP allows.
    """
    await page.route(
        f"**{AXE_URL_PATH}",
        lambda route: route.fulfill(path=AXE_JS, content_type="text/javascript"),
    )
    origin = page.url.split("/", 3)[:3]
    await page.add_script_tag(url="/".join(origin) + AXE_URL_PATH)
    result = await page.evaluate(f"axe.run({{runOnly: {json.dumps(AXE_TAGS)}}})")
    violations: list[dict[str, Any]] = result["violations"]
    counts = {impact: 0 for impact in ("critical", "serious", "moderate", "minor")}
    for v in violations:
        counts[v["impact"] or "minor"] += len(v["nodes"])
    AXE_RESULTS.append((name, counts))
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


async def assert_accessible(page: Page, name: str) -> None:
    """No serious or critical axe violation; all violations are listed if there is one."""
    violations = await audit(page, name)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe found problems on {name} ({page.url}):\n" + describe(violations)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not AXE_RESULTS:
        return
    terminalreporter.section("axe results (nodes per impact)")
    for name, counts in AXE_RESULTS:
        terminalreporter.write_line(
            f"{name:<32} " + " ".join(f"{k}={v}" for k, v in counts.items())
        )
