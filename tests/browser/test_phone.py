"""Phone-first conference pages (#23, items 2 and 4's keyboard parts), in Chromium.

At 320 × 640 and 390 × 844 each conference page's own heading starts within the first screen
(640 px); the Menu button carries the unread count; the "You have joined" banner is seen after
joining; "Reply" and the skip link put the keyboard in the composer's text box, with and
without JavaScript.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import IMPACTS, SESSION_LOOP, Audits
from tests.conftest import insert_post

pytestmark = [pytest.mark.browser, SESSION_LOOP]

FIRST_SCREEN = 640  # px: the height of a small phone's screen (320 × 640)
PHONES = [(320, 640), (390, 844)]


async def site(world) -> dict:
    """A live conference with a discussion, a panel, a thread of 7 posts and an organiser."""
    organiser = await world.user("Olivia Organiser", admin=True)
    member = await world.user("Asha Patel", title="Cllr", organisation="Leeds City Council")
    conf = await world.conference()
    discussion = await world.session(conf, title="Housing", open_threads=True)
    panel = await world.session(conf, kind="panel", title="Money", lasts=timedelta(hours=3))
    await world.member(conf, organiser, "organiser")
    await world.member(conf, member)
    thread = await world.thread(discussion, organiser, title="Temporary accommodation", posts=7)
    return {
        "conf": conf, "slug": conf["slug"], "discussion": discussion, "panel": panel,
        "thread": thread, "organiser": organiser, "member": member,
    }  # fmt: skip


def pages(s: dict) -> list[tuple[str, str]]:
    c = f"/c/{s['slug']}"
    return [
        ("conference home", c),
        ("programme", f"{c}/programme"),
        ("session", f"{c}/sessions/{s['discussion']['id']}"),
        ("thread", f"{c}/threads/{s['thread']['id']}"),
        ("panel", f"{c}/panels/{s['panel']['id']}"),
        ("search", f"{c}/search?q=post"),
        ("manage", f"{c}/manage"),
    ]


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
async def test_each_conference_page_heading_is_on_the_first_screen(world, new_page, js):
    s = await site(world)
    page = await new_page(js=js, user=s["organiser"])
    late = []
    for width, height in PHONES:
        await page.set_viewport_size({"width": width, "height": height})
        for name, path in pages(s):
            response = await page.goto(path)
            assert response is not None and response.status == 200, name
            box = await page.locator("h1").first.bounding_box()
            assert box is not None, name
            top, bottom = box["y"], box["y"] + box["height"]
            print(f"{'js' if js else 'no-js'} {width}x{height} {name}: h1 {top:.0f}-{bottom:.0f}px")
            # The whole heading, and so the start of what follows it, on the first screen.
            if bottom >= FIRST_SCREEN:
                late.append(f"{name} at {width} px: h1 from {top:.0f} to {bottom:.0f} px")
    assert not late, late


async def unread(world, s: dict, n: int) -> None:
    """`n` unread notifications for the member (replies to a post of theirs)."""
    mine = await insert_post(
        world.pool, s["thread"]["id"], s["member"]["id"], None, "Mine", "<p>Mine</p>", None
    )
    for i in range(n):
        reply = await insert_post(
            world.pool, s["thread"]["id"], s["organiser"]["id"], mine, f"R{i}", f"<p>R{i}</p>", None
        )
        await world.pool.execute(
            "INSERT INTO notifications (user_id, kind, post_id, thread_id, conference_id,"
            " actor_id) VALUES ($1, 'reply', $2, $3, $4, $5)",
            s["member"]["id"], reply, s["thread"]["id"], s["conf"]["id"], s["organiser"]["id"],
        )  # fmt: skip


async def test_menu_button_shows_the_unread_count_and_keeps_it_current(world, new_page):
    s = await site(world)
    await unread(world, s, 2)
    page = await new_page(user=s["member"])
    await page.set_viewport_size({"width": 320, "height": 640})
    await page.goto(f"/c/{s['slug']}")
    menu = page.get_by_role("button", name=re.compile("^Menu"))
    # Shown with the menu shut, in numbers and in words for a screen reader.
    await expect(menu).to_be_visible()
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await expect(menu).to_have_accessible_name("Menu 2 unread notifications")
    badge = menu.locator("[data-unread-number]")
    await expect(badge).to_be_visible()
    await expect(badge).to_have_text("2")
    box = await badge.bounding_box()
    assert box is not None and box["y"] < FIRST_SCREEN

    # A new reply arrives live (the organiser replies through the form): the button counts it.
    await expect(page.get_by_text(re.compile(r"^\d+ here now$"))).to_be_attached()  # live
    other = await new_page(js=False, user=s["organiser"])
    await other.goto(f"/c/{s['slug']}/threads/{s['thread']['id']}")
    await other.get_by_role("link", name="Reply to Asha Patel").click()
    await other.get_by_label("Your post", exact=True).fill("A third reply")
    await other.get_by_role("button", name="Post", exact=True).click()
    await expect(other.get_by_text("A third reply")).to_be_visible()
    await expect(badge).to_have_text("3")
    await expect(menu).to_have_accessible_name("Menu 3 unread notifications")

    # A member with none: no count on the button.
    await page.goto("/notifications")
    await page.get_by_role("button", name="Mark all as read").click()
    await expect(menu).to_have_accessible_name("Menu")
    await expect(badge).to_be_hidden()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
async def test_after_joining_on_a_phone_the_banner_is_on_the_first_screen(world, new_page, js):
    s = await site(world)
    newcomer = await world.user("Nia Newcomer")
    page = await new_page(js=js, user=newcomer)
    await page.set_viewport_size({"width": 320, "height": 640})
    await page.goto(f"/c/{s['slug']}/join")
    await page.get_by_label("I accept the code of conduct").check()
    await page.get_by_role("button", name="Join conference").click()
    banner = page.locator(".govuk-notification-banner", has_text="You have joined the conference.")
    await expect(banner).to_be_in_viewport()
    box = await banner.bounding_box()
    assert box is not None and box["y"] + box["height"] <= FIRST_SCREEN, box
    if js:  # govuk-frontend moves focus to a success banner (role="alert")
        await expect(banner).to_be_focused()


async def tab_to(page: Page, name: str, limit: int = 80) -> int:
    """Press Tab until the focused element's text starts with `name`; how many presses."""
    for presses in range(1, limit + 1):
        await page.keyboard.press("Tab")
        text = await page.evaluate("() => document.activeElement?.textContent?.trim() ?? ''")
        if text.startswith(name):
            return presses
    raise AssertionError(f"{name!r} not reached in {limit} Tabs")


async def focused_id(page: Page) -> str:
    return await page.evaluate(
        "() => `${document.activeElement?.tagName}#${document.activeElement?.id}`"
    )


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
async def test_reply_by_keyboard_types_into_the_composer(world, new_page, js):
    s = await site(world)
    page = await new_page(js=js, user=s["member"])
    await page.goto(f"/c/{s['slug']}/threads/{s['thread']['id']}")
    # Without JavaScript the link itself targets the text box.
    reply = page.get_by_role("link", name="Reply to Olivia Organiser").first
    href = await reply.get_attribute("href")
    assert href is not None and href.endswith("#body"), href
    assert await page.evaluate("() => document.getElementById('body')?.tagName") == "TEXTAREA"

    await tab_to(page, "Reply")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"reply_to=\d+#body$"))
    await expect(page.locator("[data-replying]")).to_be_visible()
    await expect(page.get_by_label("Your post", exact=True)).to_be_focused()
    assert await focused_id(page) == "TEXTAREA#body"
    await page.keyboard.type("Typed straight in")
    await expect(page.get_by_label("Your post", exact=True)).to_have_value("Typed straight in")


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
async def test_skip_link_goes_to_the_reply_box(world, new_page, js):
    s = await site(world)
    page = await new_page(js=js, user=s["member"])
    await page.set_viewport_size({"width": 320, "height": 640})
    await page.goto(f"/c/{s['slug']}/threads/{s['thread']['id']}")
    # Second in the Tab order, after "Skip to main content": 7 posts no longer in the way.
    assert await tab_to(page, "Skip to the reply box") == 2
    await expect(page.get_by_role("link", name="Skip to the reply box")).to_be_in_viewport()
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Your post", exact=True)).to_be_focused()
    await page.keyboard.type("Hello")
    await expect(page.get_by_label("Your post", exact=True)).to_have_value("Hello")

    # No composer, no skip link (a reader who is not a member).
    reader = await new_page(js=js)
    await reader.goto(f"/c/{s['slug']}/threads/{s['thread']['id']}")
    await expect(reader.get_by_role("link", name="Skip to the reply box")).to_have_count(0)


async def test_conference_pages_at_320_px_have_no_serious_axe_violations(world, new_page):
    s = await site(world)
    await unread(world, s, 1)
    audits = Audits(IMPACTS)  # nothing at all, not only nothing serious
    for who in ("organiser", "member"):  # axe runs as a script: the pages with JavaScript
        page = await new_page(user=s[who])
        await page.set_viewport_size({"width": 320, "height": 640})
        for name, path in pages(s):
            if name == "manage" and who != "organiser":
                continue
            await page.goto(path)
            await audits.check(page, f"{name} 320px {who}")
        await page.get_by_role("button", name=re.compile("^Menu")).click()  # the Menu open
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        await audits.check(page, f"menu open 320px {who}")
    audits.assert_clean()
