"""Confirmations and error summaries where the eye lands after the action (#23, item 2), in
Chromium at 320 × 640, with and without JavaScript.

After posting a reply, pinning a thread, hiding a post, keeping a reported post, saving one's
profile, and sending a form with a mistake, what tells the person what happened (the green
"Done" banner, the new post itself, or the red error summary) is wholly on the first screen,
without scrolling. Asserted with the element's box against the viewport (layout, not timing).

Every page puts its banners and error summary in base.html's `notices` block, first in <main>:
before the conference's header and the page's heading.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.helpers import SESSION_LOOP
from tests.conftest import insert_post

pytestmark = [pytest.mark.browser, SESSION_LOOP]

PHONE = {"width": 320, "height": 640}
JS = pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])


async def site(world) -> dict:
    """A live conference: a thread of 7 posts by the organiser (a facilitator too), a member
    with a post of their own, and a reported post."""
    organiser = await world.user("Olivia Organiser")
    member = await world.user("Asha Patel", title="Cllr", organisation="Leeds City Council")
    reporter = await world.user("Rita Reporter")
    conf = await world.conference()
    discussion = await world.session(conf, title="Housing", open_threads=True)
    await world.member(conf, organiser, "organiser")
    await world.member(conf, member)
    await world.member(conf, reporter)
    thread = await world.thread(discussion, organiser, title="Temporary accommodation", posts=7)
    mine = await insert_post(
        world.pool, thread["id"], member["id"], None, "Mine", "<p>Mine</p>", None
    )
    reported = await insert_post(
        world.pool, thread["id"], member["id"], None, "Rude words", "<p>Rude words</p>", None
    )
    await world.pool.execute(
        "INSERT INTO flags (post_id, conference_id, flagger_id, reason) VALUES ($1, $2, $3, 'spam')",
        reported, conf["id"], reporter["id"],
    )  # fmt: skip
    return {
        "conf": conf, "slug": conf["slug"], "thread": thread, "organiser": organiser,
        "member": member, "mine": mine, "reported": reported,
    }  # fmt: skip


async def phone(new_page, user: dict, js: bool) -> Page:
    page = await new_page(js=js, user=user)
    await page.set_viewport_size(PHONE)
    return page


async def assert_on_first_screen(page: Page, locator: Locator, what: str) -> dict:
    """The whole of `locator`'s box is inside the viewport as the page now stands."""
    await expect(locator).to_be_visible()
    box = await locator.bounding_box()  # relative to the viewport
    assert box is not None, what
    top, bottom = box["y"], box["y"] + box["height"]
    print(f"{what}: {top:.0f}-{bottom:.0f} px of {PHONE['height']}")
    assert top >= 0 and bottom <= PHONE["height"], f"{what}: {top:.0f} to {bottom:.0f} px"
    return box


async def assert_first_in_main(page: Page, locator: Locator, what: str) -> None:
    """`locator` comes before the page's <h1> and the conference's header inside <main>."""
    order = await locator.evaluate(
        """(el) => {
            const main = document.querySelector("main");
            const h1 = main.querySelector("h1");
            const header = main.querySelector(".confer-conference-header");
            const before = (other) => !other
                || Boolean(el.compareDocumentPosition(other) & Node.DOCUMENT_POSITION_FOLLOWING);
            return {inMain: main.contains(el), beforeH1: before(h1), beforeHeader: before(header)};
        }"""
    )
    assert order == {"inMain": True, "beforeH1": True, "beforeHeader": True}, (what, order)


def done_banner(page: Page, text: str) -> Locator:
    return page.locator(".govuk-notification-banner--success", has_text=text)


@JS
async def test_a_reply_just_posted_is_on_the_first_screen(world, new_page, js):
    s = await site(world)
    page = await phone(new_page, s["member"], js)
    await page.goto(f"/c/{s['slug']}/threads/{s['thread']['id']}")
    if js:  # posted over the live connection, without a reload
        await expect(page.get_by_text(re.compile(r"^\d+ here now$"))).to_be_attached()
    await page.get_by_role("link", name="Reply to Olivia Organiser").last.click()
    box = page.get_by_label("Your post", exact=True)
    await expect(box).to_be_focused()
    await box.fill("Our council tried this in 2024")
    await page.get_by_role("button", name="Post", exact=True).click()
    # The post itself is the confirmation: its author's name, "In reply to" and its text.
    new_post = page.locator("article", has_text="Our council tried this in 2024")
    await expect(new_post).to_be_visible()
    await expect(new_post.get_by_text("In reply to")).to_be_visible()
    await assert_on_first_screen(page, new_post, f"new post ({'js' if js else 'no-js'})")
    if js:
        await expect(box).to_have_value("")


@JS
async def test_after_pinning_a_thread_the_banner_is_on_the_first_screen(world, new_page, js):
    s = await site(world)
    page = await phone(new_page, s["organiser"], js)
    await page.goto(f"/c/{s['slug']}/threads/{s['thread']['id']}")
    await page.get_by_text("Facilitator tools for this thread").click()
    await page.get_by_role("button", name="Pin thread to the top of its session").click()
    banner = done_banner(page, "The thread is pinned to the top of its session.")
    await assert_on_first_screen(page, banner, "pin banner")
    await assert_first_in_main(page, banner, "pin banner")
    # The address ends in #done, the banner: the browser focuses it there, with JavaScript
    # or without (govuk-frontend also focuses a success banner).
    await expect(banner).to_be_focused()


@JS
async def test_after_hiding_a_post_its_banner_is_on_the_first_screen(world, new_page, js):
    """Beside the post acted on (the facilitator returns to where they were): the page lands
    on that post, and its banner is in view."""
    s = await site(world)
    page = await phone(new_page, s["organiser"], js)
    await page.goto(f"/c/{s['slug']}/threads/{s['thread']['id']}")
    post = page.locator(f"#post-{s['mine']}")
    await post.get_by_text("Moderate").click()
    await post.get_by_role("button", name=re.compile("^Hide")).click()
    banner = done_banner(page, "The post is hidden.")
    await assert_on_first_screen(page, banner, "hide banner")
    # The address lands on the banner inside the post, so it keeps the focus, with
    # JavaScript or without (the browser's scroll to a post used to take it away).
    await expect(banner).to_be_focused()
    await expect(page.locator(f"#post-{s['mine']}")).to_contain_text("Hidden")


@JS
async def test_after_keeping_a_reported_post_the_banner_is_on_the_first_screen(world, new_page, js):
    s = await site(world)
    page = await phone(new_page, s["organiser"], js)
    await page.goto(f"/c/{s['slug']}/moderation")
    item = page.locator(f"#flagged-{s['reported']}")
    await item.scroll_into_view_if_needed()
    await item.get_by_role("button", name="Keep the post").click()
    banner = done_banner(page, "The reports are closed and the post is kept.")
    await assert_on_first_screen(page, banner, "keep banner")
    await assert_first_in_main(page, banner, "keep banner")
    await expect(banner).to_be_focused()


@JS
async def test_after_saving_the_profile_the_banner_is_on_the_first_screen(world, new_page, js):
    s = await site(world)
    page = await phone(new_page, s["member"], js)
    await page.goto("/account")
    await page.get_by_label("Organisation (optional)").fill("Leeds City Council housing")
    await page.get_by_role("button", name="Save profile").click()
    banner = done_banner(page, "Your profile has been saved.")
    await assert_on_first_screen(page, banner, "profile banner")
    await assert_first_in_main(page, banner, "profile banner")
    if js:
        await expect(banner).to_be_focused()


@JS
async def test_a_form_error_summary_is_on_the_first_screen_and_focused(world, new_page, js):
    s = await site(world)
    problem = "There is a problem"

    # The thread's reply box sent empty, without a live connection (the form posts and the
    # server draws the page again): the summary is at the top, above the conference's header.
    page = await phone(new_page, s["member"], js)
    # Only the live connection is refused (not the socket.io client under /static/vendor/).
    await page.route(re.compile(r"/socket\.io/\?"), lambda route: route.abort())
    await page.goto(f"/c/{s['slug']}/threads/{s['thread']['id']}#body")
    await page.get_by_role("button", name="Post", exact=True).click()
    await expect(page).to_have_title(re.compile("^Error: "))
    summary = page.locator(".govuk-error-summary", has_text=problem)
    await assert_on_first_screen(page, summary, "thread error summary")
    await assert_first_in_main(page, summary, "thread error summary")
    if js:
        await expect(summary).to_be_focused()

    # Joining without accepting the code of conduct, on a conference page.
    newcomer = await world.user("Nia Newcomer")
    page = await phone(new_page, newcomer, js)
    await page.goto(f"/c/{s['slug']}/join")
    await page.get_by_role("button", name="Join conference").click()
    summary = page.locator(".govuk-error-summary", has_text=problem)
    await assert_on_first_screen(page, summary, "join error summary")
    await assert_first_in_main(page, summary, "join error summary")
    if js:
        await expect(summary).to_be_focused()

    # The profile with its name emptied.
    page = await phone(new_page, s["member"], js)
    await page.goto("/account")
    await page.get_by_label("Display name").fill("")
    await page.get_by_role("button", name="Save profile").click()
    summary = page.locator(".govuk-error-summary", has_text=problem)
    await assert_on_first_screen(page, summary, "account error summary")
    await assert_first_in_main(page, summary, "account error summary")
    if js:
        await expect(summary).to_be_focused()
