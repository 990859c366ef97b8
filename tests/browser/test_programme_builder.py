"""The organiser's programme builder in Chromium (issue #22): three sessions added without a
reload (the form posts with fetch; the new session appears in the list, the focus goes back
to the title and the outcome is announced), then a whole day copied to another date; and the
same form without JavaScript."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.async_api import expect

from tests.browser.helpers import SESSION_LOOP

pytestmark = [pytest.mark.browser, SESSION_LOOP]


async def _conference(world):
    c = await world.conference(published=False)
    await world.pool.execute(
        "UPDATE conferences SET starts_at = $2, ends_at = $3 WHERE id = $1",
        c["id"],
        datetime(2027, 6, 1, 8, 0, tzinfo=UTC),
        datetime(2027, 6, 4, 17, 0, tzinfo=UTC),
    )
    organiser = await world.user("Olivia Organiser")
    await world.member(c, organiser, "organiser")
    return c, organiser


async def test_three_sessions_without_a_reload_then_a_day_copied(world, new_page):
    c, organiser = await _conference(world)
    page = await new_page(user=organiser)
    await page.goto(f"/c/{c['slug']}/manage/programme")
    # A mark on the window: a reload would lose it.
    await page.evaluate("window.notReloaded = true")
    announcer = page.locator("#live-announcer")

    await page.get_by_label("Session title").fill("Welcome")
    await page.get_by_label("Session starts").fill("2027-06-01T09:30")
    await page.get_by_label("Session ends").fill("2027-06-01T10:00")
    await page.get_by_label("First post (optional)").fill("Introduce yourself here.")
    await page.get_by_role("button", name="Add session").click()
    await expect(page.get_by_role("cell", name=re.compile("^Welcome"))).to_be_visible()
    await expect(announcer).to_have_text("The session has been added.")
    await expect(page.get_by_label("Session title")).to_be_focused()
    # The next session follows on: its times are filled in from the last one.
    await expect(page.get_by_label("Session starts")).to_have_value("2027-06-01T10:00")
    await expect(page.get_by_label("Session ends")).to_have_value("2027-06-01T10:30")

    await page.get_by_label("Session title").fill("Housing")
    await page.get_by_label("Session ends").fill("2027-06-01T11:00")
    await page.get_by_role("button", name="Add session").click()
    await expect(page.get_by_role("cell", name=re.compile("^Housing"))).to_be_visible()
    await expect(page.get_by_label("Session title")).to_be_focused()

    # A mistake: the error summary takes the focus, the typed text stays.
    await page.get_by_label("Kind").select_option("panel")
    await page.get_by_label("Session title").fill("Money panel")
    await page.get_by_label("Session ends").fill("2027-06-01T10:00")
    await page.get_by_role("button", name="Add session").click()
    summary = page.locator(".govuk-error-summary")
    await expect(summary).to_be_focused()
    await expect(summary).to_contain_text("End must be after the start")
    await expect(page.get_by_label("Session title")).to_have_value("Money panel")
    await page.get_by_label("Session ends").fill("2027-06-01T12:00")
    await page.get_by_role("button", name="Add session").click()
    await expect(page.get_by_role("cell", name=re.compile("^Money panel"))).to_be_visible()
    await expect(page.locator(".govuk-error-summary")).to_have_count(0)

    assert await page.evaluate("window.notReloaded") is True
    rows = await world.pool.fetch(
        "SELECT title, kind FROM sessions WHERE conference_id = $1 ORDER BY starts_at", c["id"]
    )
    assert [(r["title"], r["kind"]) for r in rows] == [
        ("Welcome", "discussion"), ("Housing", "discussion"), ("Money panel", "panel"),
    ]  # fmt: skip
    # The discussion with a first post has its thread; the other is prompted for one.
    assert (
        await world.pool.fetchval(
            "SELECT count(*) FROM threads t JOIN sessions s ON s.id = t.session_id"
            " WHERE s.conference_id = $1",
            c["id"],
        )
        == 1
    )
    await expect(page.get_by_text("This session has no thread yet")).to_have_count(1)

    # Copy the first day to the third.
    await page.get_by_label("Day to copy").select_option("2027-06-01")
    await page.get_by_label("Copy it to").fill("2027-06-03")
    await page.get_by_role("button", name="Copy the day").click()
    await expect(page.get_by_text("3 sessions have been copied to the new day.")).to_be_visible()
    await expect(page.get_by_role("table", name=re.compile("Thursday 3 June 2027"))).to_be_visible()
    assert (
        await world.pool.fetchval(
            "SELECT count(*) FROM sessions WHERE conference_id = $1 AND starts_at::date = '2027-06-03'",
            c["id"],
        )
        == 3
    )


async def test_without_javascript_the_form_returns_to_the_programme(world, new_page):
    c, organiser = await _conference(world)
    page = await new_page(user=organiser, js=False)
    await page.goto(f"/c/{c['slug']}/manage/programme")
    await page.get_by_label("Session title").fill("Plain form")
    await page.get_by_label("Session starts").fill("2027-06-02T09:00")
    await page.get_by_label("Session ends").fill("2027-06-02T10:00")
    await page.get_by_role("button", name="Add session").click()
    await expect(page).to_have_url(re.compile(r"/manage/programme\?done=session-added"))
    await expect(page.get_by_text("The session has been added.")).to_be_visible()
    await expect(page.get_by_role("cell", name=re.compile("^Plain form"))).to_be_visible()
