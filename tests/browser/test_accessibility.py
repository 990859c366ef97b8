"""axe-core on every type of page, as the people who see it: no serious or critical violation.

Each test audits several pages in one browser (launching Chromium per test costs about a
second) and reports every failing page at once, each with its violations and their nodes.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import expect

from tests.browser.helpers import SESSION_LOOP, Audits, audit
from tests.conftest import insert_post

pytestmark = [pytest.mark.browser, SESSION_LOOP]


async def site(world) -> dict:
    """A live conference with a programme, speakers, a thread with posts, and members."""
    organiser = await world.user("Olivia Organiser", admin=True)
    speaker = await world.user("Sam Speaker", title="Dr", organisation="Bristol City Council")
    participant = await world.user("Asha Patel", title="Cllr", organisation="Leeds City Council")
    conf = await world.conference()
    discussion = await world.session(conf, title="Housing", open_threads=True)
    panel = await world.session(
        conf, kind="panel", title="Money", starts_in=timedelta(hours=3), lasts=timedelta(hours=1)
    )
    closed = await world.session(
        conf, title="Opening", starts_in=timedelta(hours=-3), lasts=timedelta(hours=1)
    )
    await world.member(conf, organiser, "organiser")
    await world.member(conf, speaker, "speaker")
    # world.member(sessions=...) fills session_facilitators; speakers are in session_speakers.
    for i, session in enumerate((discussion, panel)):
        await world.pool.execute(
            "INSERT INTO session_speakers (session_id, user_id, position) VALUES ($1, $2, $3)",
            session["id"], speaker["id"], i,
        )  # fmt: skip
    await world.pool.execute(
        "UPDATE users SET bio = 'Leads the housing team.' WHERE id = $1", speaker["id"]
    )
    await world.member(conf, participant)
    thread = await world.thread(discussion, speaker, title="Temporary accommodation", posts=3)
    await world.thread(closed, speaker, title="Welcome", posts=1)
    # A post of the participant's own, so that its Edit and Delete controls are audited too.
    await insert_post(
        world.pool, thread["id"], participant["id"], None, "Mine", "<p>Mine</p>", None
    )
    return {
        "conf": conf, "slug": conf["slug"], "discussion": discussion, "thread": thread,
        "organiser": organiser, "participant": participant,
    }  # fmt: skip


async def test_public_pages_have_no_serious_axe_violations(world, new_page):
    s = await site(world)
    c = f"/c/{s['slug']}"
    page = await new_page()
    audits = Audits()
    for name, path in [
        ("home", "/"),
        ("conference home", c),
        ("programme", f"{c}/programme"),
        ("speakers", f"{c}/speakers"),
        ("session (anonymous)", f"{c}/sessions/{s['discussion']['id']}"),
        ("thread (anonymous)", f"{c}/threads/{s['thread']['id']}"),
        ("sign in", "/login"),
        ("register", "/register"),
        ("404", "/c/no-such-conference"),
    ]:
        response = await page.goto(path)
        assert response is not None
        assert response.status == (404 if name == "404" else 200), name
        await audits.check(page, name)

    # A form shown again with errors.
    await page.goto("/register")
    await page.get_by_label("Email address").fill("not an email")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    await audits.check(page, "register with errors")
    audits.assert_clean()

    # The audit itself works: faults planted in the page are found, with their impact.
    await page.evaluate(
        """() => {
            const faint = document.createElement("p");
            faint.textContent = "Faint grey text";
            faint.style.color = "#c0c0c0";
            const img = document.createElement("img");
            img.src = "/static/favicon.svg";
            document.querySelector("main").append(faint, img);
        }"""
    )
    found = {v["id"]: v["impact"] for v in await audit(page, "planted faults", record=False)}
    assert found.get("color-contrast") == "serious", found
    assert found.get("image-alt") == "critical", found


async def test_participant_pages_have_no_serious_axe_violations(world, new_page):
    s = await site(world)
    c = f"/c/{s['slug']}"
    page = await new_page(user=s["participant"])
    audits = Audits()

    await page.goto(f"{c}/sessions/{s['discussion']['id']}")
    await expect(page.get_by_role("button", name="Start thread")).to_be_visible()
    await audits.check(page, "session with new-thread form")

    thread = f"{c}/threads/{s['thread']['id']}"
    problem = page.get_by_role("heading", name="There is a problem")
    await page.goto(thread)
    await expect(page.get_by_label("Your post", exact=True)).to_be_visible()
    await expect(page.locator("article")).to_have_count(4)
    await expect(page.get_by_role("link", name="Delete your post")).to_be_visible()
    await expect(page.get_by_text(re.compile(r"^\d+ here now$"))).to_be_visible()  # live
    await audits.check(page, "thread with composer")

    # Refused over the live connection: confer.js draws the errors.
    await page.get_by_role("button", name="Post", exact=True).click()
    await expect(problem).to_be_visible()
    await audits.check(page, "thread composer, live errors")

    # Without a live connection the form posts, and the server shows the page with errors.
    # Only the live connection's own requests (`/socket.io/?EIO=…`), not the socket.io
    # client's file under /static/vendor/socket.io/: confer.js loads and finds no server.
    await page.route(re.compile(r"/socket\.io/\?"), lambda route: route.abort())
    await page.goto(thread)
    await page.get_by_role("button", name="Post", exact=True).click()
    await expect(page).to_have_title(re.compile("^Error: "))
    await expect(problem).to_be_visible()
    await audits.check(page, "thread composer with errors")

    await page.goto("/account")
    await expect(page.get_by_role("heading", level=1, name="Your account")).to_be_visible()
    await audits.check(page, "account")
    audits.assert_clean()


async def test_admin_pages_have_no_serious_axe_violations(world, new_page):
    s = await site(world)
    page = await new_page(user=s["organiser"])
    audits = Audits()

    await page.goto("/admin/conferences/new")
    await audits.check(page, "new conference form")
    await page.get_by_role("button", name="Create conference").click()
    await expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    await audits.check(page, "new conference with errors")

    await page.goto(f"/c/{s['slug']}/manage?done=saved")
    await expect(page.get_by_text("Your changes have been saved.")).to_be_visible()
    await audits.check(page, "manage")
    # The organiser's console (issue #22): every page, and its forms with errors.
    for path in ("programme", "people", "registration", "moderation", "panels", "emails",
                 "exports"):  # fmt: skip
        await page.goto(f"/c/{s['slug']}/manage/{path}")
        await expect(page.get_by_role("navigation", name="Manage the conference")).to_be_visible()
        await audits.check(page, f"console: {path}")
    await page.goto(f"/c/{s['slug']}/manage/moderation")
    await page.get_by_label("Reports that hide a post").fill("none")
    await page.get_by_role("button", name="Save moderation settings").click()
    await expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    await audits.check(page, "console: moderation with errors")
    await page.goto(f"/c/{s['slug']}/manage/programme")
    await page.get_by_label("Session title").fill("Late night")
    await page.get_by_label("Session starts").fill("2027-03-28T01:30")
    await page.get_by_label("Session ends").fill("2027-03-28T03:00")
    await page.get_by_role("button", name="Add session").click()
    await expect(page.get_by_text("does not exist on 28 March 2027").first).to_be_visible()
    await audits.check(page, "console: programme with errors")
    audits.assert_clean()


async def test_staying_in_touch_and_organiser_pages_have_no_serious_axe_violations(world, new_page):
    """Search, notifications, registration, invitations, emailed links, moderation, panels,
    export and the report: the pages added after the first audit."""
    s = await site(world)
    c = f"/c/{s['slug']}"
    audits = Audits()

    anonymous = await new_page()
    for label, path in (
        ("password reset request", "/account/reset"),
        ("email sign-in request", "/login/email"),
        ("search results", f"{c}/search?q=Post"),
        ("search, nothing found", f"{c}/search?q=zebra"),
        ("accessibility statement", "/accessibility"),
    ):
        response = await anonymous.goto(path)
        assert response is not None and response.status == 200, (label, response)
        await audits.check(anonymous, label)

    participant = await new_page(user=s["participant"])
    for label, path in (
        ("notifications", "/notifications"),
        ("notification settings", "/notifications/settings"),
        ("leave the conference", f"{c}/leave"),
    ):
        response = await participant.goto(path)
        assert response is not None and response.status == 200, (label, response)
        await audits.check(participant, label)

    organiser = await new_page(user=s["organiser"])
    for label, path in (
        ("members and requests", f"{c}/members"),
        ("invitations", f"{c}/invitations"),
        ("moderation", f"{c}/moderation"),
        ("export", f"{c}/export"),
        ("report", f"{c}/report"),
        ("who can create conferences", "/admin/people"),
    ):
        response = await organiser.goto(path)
        assert response is not None and response.status == 200, (label, response)
        await audits.check(organiser, label)
    audits.assert_clean()
