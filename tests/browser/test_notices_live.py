"""Notices people see, live (issue #23): on a member's open page, their question dismissed
with a reason updates the header's unread count and is announced in the polite live region;
on a panel page, the question being answered moves to the top without a reload."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.browser.helpers import SESSION_LOOP
from tests.browser.test_live_journeys import (
    LIVE_MS,
    announcer,
    assert_stayed,
    care_panel,
    open_live,
    token_of,
)
from tests.conftest import Browser as HttpClient

pytestmark = [pytest.mark.browser, SESSION_LOOP]


@pytest_asyncio.fixture(loop_scope="session")
async def api(server) -> AsyncIterator[HttpClient]:
    client = HttpClient(server)
    yield client
    await client.close()


async def _order(page: Page) -> list[int]:
    return [
        int(x)
        for x in await page.locator("[data-question-id]").evaluate_all(
            "nodes => nodes.map(n => n.dataset.questionId)"
        )
    ]


async def test_a_dismissal_is_counted_and_announced_and_the_answering_question_moves_up(
    world, new_page, api, pool
):
    conf, panel, asker_user, voter_user, fay, _sam = await care_panel(world, pool)
    asker_token = await token_of(pool, asker_user)
    voter_token = await token_of(pool, voter_user)
    fay_token = await token_of(pool, fay)
    ids = {}
    for key, body in (
        ("off", "What is the weather like?"),
        ("top", "How will the cap on care costs be funded?"),
        ("later", "Who inspects care homes?"),
    ):
        status, q = await api.api(
            "POST", f"/api/v1/panels/{panel['id']}/questions", {"body": body}, token=asker_token
        )
        assert status == 201, q
        ids[key] = q["id"]
    status, _ = await api.api("POST", f"/api/v1/questions/{ids['top']}/vote", token=voter_token)
    assert status == 200

    url = f"/c/{conf['slug']}/panels/{panel['id']}"
    asker = await new_page(user=asker_user)
    voter = await new_page(user=voter_user)
    await open_live(asker, url)
    await open_live(voter, url)
    unread = asker.locator("[data-unread-count]")
    await expect(unread).to_have_text("")

    # Fay dismisses Asha's off-topic question, with a reason: Asha's open page counts the
    # notice in the header and announces it politely, without a reload.
    status, _ = await api.api(
        "POST",
        f"/api/v1/questions/{ids['off']}/state",
        {"action": "dismiss", "reason": "Not about care"},
        token=fay_token,
    )
    assert status == 200
    await expect(unread).to_have_text(re.compile(r"^\s*\(1\)$"), timeout=LIVE_MS)
    await expect(announcer(asker)).to_have_text(
        "New notification: Your question in “Paying for care” was dismissed. "
        "The reason: Not about care",
        timeout=LIVE_MS,
    )
    await assert_stayed(asker)

    # The most voted question is first; Fay marks the one below it as being answered now: it
    # moves to the top of Ben's open page, live.
    order = await _order(voter)
    assert order[:2] == [ids["top"], ids["later"]], order
    status, _ = await api.api(
        "POST", f"/api/v1/questions/{ids['later']}/state", {"action": "answering"}, token=fay_token
    )
    assert status == 200
    first = voter.locator("[data-question-id]").first
    await expect(first).to_have_attribute("data-question-id", str(ids["later"]), timeout=LIVE_MS)
    await expect(first.get_by_text("Answering now", exact=True)).to_be_visible()
    assert (await _order(voter))[1] == ids["top"]
    await assert_stayed(voter)
