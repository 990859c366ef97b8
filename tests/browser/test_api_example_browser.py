"""docs/api.md's worked example, seen in a browser: the conference its script makes through
the API is on its programme page in Chromium, day by day (tests/test_api_docs.py checks the
rest of what it made)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.helpers import SESSION_LOOP
from tests.test_api_docs import SESSIONS, admin_token, run_example

pytestmark = [pytest.mark.browser, SESSION_LOOP]


async def test_the_worked_example_shows_in_the_browser(world, pool, server, new_page, tmp_path):
    token = await admin_token(world, pool)
    output = await run_example(str(server.make_url("")).rstrip("/"), token, tmp_path)
    slug = re.search(r"Created /c/([a-z0-9-]+) as a draft", output).group(1)
    page = await new_page(js=True)
    await page.goto(f"/c/{slug}/programme")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Programme")
    await expect(page.get_by_text("Digital services week").first).to_be_visible()
    for title in SESSIONS:
        await expect(page.get_by_role("link", name=title).first).to_be_visible()
