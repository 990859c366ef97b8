"""Calendars in Chromium: who sees a session's joining link (the anonymous, an observer of
another conference, a waitlisted person, a participant before and after the reveal time, an
observer of this one), the star and "My programme" with JavaScript off, and axe on the new
pages and blocks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import expect

from tests.browser.helpers import SESSION_LOOP, Audits

pytestmark = [pytest.mark.browser, SESSION_LOOP]

LINK = "https://meet.example.org/j/scrutiny-5521"


async def _site(world) -> dict:
    c = await world.conference()
    other = await world.conference()
    soon = await world.session(
        c, title="Scrutiny panel", starts_in=timedelta(minutes=10), lasts=timedelta(hours=1)
    )
    later = await world.session(
        c, title="Budget workshop", starts_in=timedelta(hours=2), lasts=timedelta(hours=1)
    )
    for s in (soon, later):
        await world.pool.execute(
            "UPDATE sessions SET joining_url = $2 WHERE id = $1", s["id"], LINK
        )
    people = {}
    for key, name in (
        ("participant", "Asha Patel"),
        ("observer", "Owen Observer"),
        ("stranger", "Sian Elsewhere"),
        ("waiting", "Wyn Waiting"),
        ("organiser", "Olivia Organiser"),
    ):
        people[key] = await world.user(name)
    await world.member(c, people["participant"], "participant")
    await world.member(c, people["observer"], "observer")
    await world.member(c, people["organiser"], "organiser")
    await world.member(other, people["stranger"], "observer")  # of another conference
    await world.member(c, people["waiting"], "participant")
    await world.pool.execute(
        "UPDATE memberships SET status = 'waitlisted', waitlist_position = 1"
        " WHERE conference_id = $1 AND user_id = $2",
        c["id"],
        people["waiting"]["id"],
    )
    return {"c": c, "slug": c["slug"], "soon": soon, "later": later, **people}


def _join(page):
    return page.get_by_role("link", name="Join the session online")


async def test_the_joining_link_is_shown_to_active_members_from_the_reveal_time(world, new_page):
    s = await _site(world)
    soon = f"/c/{s['slug']}/sessions/{s['soon']['id']}"
    later = f"/c/{s['slug']}/sessions/{s['later']['id']}"
    for who in (None, "stranger", "waiting"):
        page = await new_page(user=s[who] if who else None)
        for path in (soon, later):
            await page.goto(path)
            await expect(page.get_by_role("heading", level=1)).to_be_visible()
            await expect(_join(page)).to_have_count(0)
            assert LINK not in await page.content(), (who, path)

    page = await new_page(user=s["participant"])
    await page.goto(soon)  # starts in 10 minutes; shown from 15 minutes before
    await expect(_join(page)).to_have_attribute("href", LINK)
    await page.goto(later)  # starts in 2 hours: not yet, and says when
    await expect(_join(page)).to_have_count(0)
    await expect(page.get_by_text("will appear here at")).to_be_visible()
    assert LINK not in await page.content()
    # The organisers reveal links 3 hours ahead: now it is shown.
    await world.pool.execute(
        "UPDATE conferences SET joining_reveal_minutes = 180 WHERE id = $1", s["c"]["id"]
    )
    await page.reload()
    await expect(_join(page)).to_have_attribute("href", LINK)

    observer = await new_page(user=s["observer"])  # an observer of this conference watches too
    await observer.goto(soon)
    await expect(_join(observer)).to_have_attribute("href", LINK)


async def test_star_and_my_programme_work_without_javascript(world, new_page):
    s = await _site(world)
    page = await new_page(js=False, user=s["participant"])
    await page.goto(f"/c/{s['slug']}/programme")
    await page.get_by_role(
        "button", name=re.compile(r"^Add to my programme\W+Budget workshop")
    ).click()
    await expect(
        page.get_by_role("button", name=re.compile(r"^Remove from my programme\W+Budget workshop"))
    ).to_be_visible()
    # The session's own entry (#session-N): a session that crosses midnight is listed again
    # under the next day as continuing, which depends on when the test runs.
    await expect(
        page.locator(f"#session-{s['soon']['id']}").get_by_role(
            "button", name=re.compile(r"^Add to my programme\W+Scrutiny panel")
        )
    ).to_be_visible()

    await page.get_by_role("link", name="My programme").first.click()
    await expect(page.get_by_role("heading", name="My programme", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name="Budget workshop")).to_be_visible()
    await expect(page.get_by_role("link", name="Scrutiny panel")).to_have_count(0)

    await page.get_by_label("Time zone (optional)").fill("Asia/Tokyo")
    await page.get_by_role("button", name="Save time zone").click()
    await expect(page.get_by_text("in your time zone (JST)")).to_be_visible()

    # From the session's page too.
    await page.goto(f"/c/{s['slug']}/sessions/{s['soon']['id']}")
    await page.get_by_role("button", name="Add to my programme").click()
    await expect(page.get_by_role("button", name="Remove from my programme")).to_be_visible()
    await page.goto("/my-programme")
    await expect(page.get_by_role("link", name="Scrutiny panel").first).to_be_visible()
    await page.get_by_role("button", name=re.compile(r"^Remove from my programme\W+Budget")).click()
    await expect(page.get_by_role("link", name="Budget workshop")).to_have_count(0)


async def test_the_calendar_feed_page_shows_the_address_once_without_javascript(world, new_page):
    s = await _site(world)
    page = await new_page(js=False, user=s["participant"])
    await page.goto("/account/calendar")
    await page.get_by_label("Every session of the conferences I am a member of").check()
    await page.get_by_role("button", name="Make my feed address").click()
    address = await page.locator("#feed-address").inner_text()
    assert re.fullmatch(r"https?://[^/]+/calendar/cal_[A-Za-z0-9_-]+\.ics", address)
    path = "/" + address.split("/", 3)[3]
    response = await page.request.get(path)
    assert response.status == 200 and LINK in await response.text()  # theirs: with the link
    await page.goto("/account/calendar")
    await expect(page.locator("#feed-address")).to_have_count(0)
    await page.get_by_role("button", name="Replace my feed address").click()
    assert (await page.request.get(path)).status == 404


async def test_the_new_pages_have_no_serious_axe_violations(world, new_page):
    s = await _site(world)
    audits = Audits()
    anon = await new_page()
    await anon.goto(f"/c/{s['slug']}/programme")
    await audits.check(anon, "programme (anonymous, calendar links)")

    page = await new_page(user=s["participant"])
    await page.goto(f"/c/{s['slug']}/programme")
    await (
        page.locator(f"#session-{s['soon']['id']}")
        .get_by_role("button", name=re.compile(r"^Add to my programme\W+Scrutiny"))
        .click()
    )
    await audits.check(page, "programme (stars)")
    await page.goto(f"/c/{s['slug']}/sessions/{s['soon']['id']}")
    await expect(_join(page)).to_be_visible()
    await audits.check(page, "session (joining link)")
    await page.goto(f"/c/{s['slug']}/sessions/{s['later']['id']}")
    await audits.check(page, "session (joining link later)")
    await page.goto("/my-programme")
    await audits.check(page, "my programme")
    await page.get_by_label("Time zone (optional)").fill("Nowhere/Else")
    await page.get_by_role("button", name="Save time zone").click()
    await expect(page.locator("#timezone-error")).to_be_visible()
    await audits.check(page, "my programme (error)")
    await page.goto("/account/calendar")
    await audits.check(page, "calendar feed (none)")
    await page.get_by_role("button", name="Make my feed address").click()
    await audits.check(page, "calendar feed (new address)")

    org = await new_page(user=s["organiser"])
    await org.goto(f"/c/{s['slug']}/manage/sessions/{s['soon']['id']}")
    await expect(org.get_by_label("Joining link (optional)")).to_have_value(LINK)
    await audits.check(org, "edit session (joining link)")
    audits.assert_clean()
