"""Helpers the browser tests share: signing in through the form, and axe audits.

They live here, not in conftest.py, so that the tests and the conftest import one module:
pytest loads conftest.py under its own name, and importing it again from a test would make a
second copy (with its own AXE_RESULTS list).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.conftest import PASSWORD

# Every test module here has pytestmark = [pytest.mark.browser, SESSION_LOOP]: the tests run
# in the session's event loop, where the shared browser lives (see conftest.py).
SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# Answered by page.route() on the site's own origin; the server has no such file.
AXE_URL_PATH = "/static/__axe.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# resultTypes only trims the details axe gathers for passes and incomplete checks (faster);
# the violations it reports are the same.
AXE_RUN = f"axe.run({{runOnly: {json.dumps(AXE_TAGS)}, resultTypes: ['violations']}})"
BLOCKING_IMPACTS = ("serious", "critical")
IMPACTS = ("critical", "serious", "moderate", "minor")

# Every audited page: (name, url, violations, ids of rules axe could not decide and left for
# a person to review), printed at the end of the run.
AXE_RESULTS: list[tuple[str, str, list[dict[str, Any]], list[str]]] = []


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    await page.goto("/login")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("Signed in as")).to_be_visible()


async def audit(page: Page, name: str, *, record: bool = True) -> list[dict[str, Any]]:
    """Run axe on the page as it is now, record the result, and return the violations.

    Our CSP (`script-src 'self'`) blocks inline scripts, and add_script_tag(path=...) inlines
    the file, so axe would never load. Rather than weaken the CSP (bypass_csp=True would also
    hide CSP breakage in our own pages), we serve axe from the site's own origin: page.route()
    answers /static/__axe.js from the vendored file, and the page loads it as an ordinary
    same-origin script, which the CSP allows.
    """
    await page.route(
        f"**{AXE_URL_PATH}",
        lambda route: route.fulfill(path=AXE_JS, content_type="text/javascript"),
    )
    origin = "/".join(page.url.split("/", 3)[:3])
    await page.add_script_tag(url=origin + AXE_URL_PATH)
    result = await page.evaluate(AXE_RUN)
    violations: list[dict[str, Any]] = result["violations"]
    if record:
        review = sorted({i["id"] for i in result["incomplete"]})
        AXE_RESULTS.append((name, page.url, violations, review))
    return violations


def counts(violations: list[dict[str, Any]]) -> dict[str, int]:
    """Violations by impact (each rule counted once, however many nodes it names)."""
    found = dict.fromkeys(IMPACTS, 0)
    for v in violations:
        found[v["impact"] or "minor"] += 1
    return found


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"      {' '.join(map(str, node['target']))} -- {summary}")
    return "\n".join(lines)


class Audits:
    """Audit pages one after another; fail once at the end, naming every failing page."""

    def __init__(self, blocking: tuple[str, ...] = BLOCKING_IMPACTS) -> None:
        self.failures: list[str] = []
        self.blocking = blocking  # the impacts that fail: IMPACTS for "no violation at all"

    async def check(self, page: Page, name: str) -> None:
        violations = await audit(page, name)
        if any((v["impact"] or "minor") in self.blocking for v in violations):
            self.failures.append(f"--- {name} ({page.url})\n{describe(violations)}")

    def assert_clean(self) -> None:
        assert not self.failures, "axe found problems:\n" + "\n".join(self.failures)
