"""Issue #23 in Chromium, without JavaScript: a long reported post is folded so that Keep and
Hide stay near, and deleting your own post asks first and can be undone."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.helpers import SESSION_LOOP
from tests.conftest import insert_post

pytestmark = [pytest.mark.browser, SESSION_LOOP]


async def test_a_long_reported_post_opens_with_show_all_and_keep_stays_near(world, new_page, pool):
    c = await world.conference()
    s = await world.session(c)
    fac = await world.user("Sam Smith")
    await world.member(c, fac, "facilitator")
    author = await world.user("Pat Jones")
    await world.member(c, author)
    reporter = await world.user("Rita Reporter")
    await world.member(c, reporter)
    t = await world.thread(s, author, title="Budgets")
    words = " ".join(f"word{i}" for i in range(1700))
    pid = await insert_post(pool, t["id"], author["id"], None, words, f"<p>{words}</p>", None)
    await pool.execute(
        "INSERT INTO flags (post_id, conference_id, flagger_id, reason) VALUES ($1, $2, $3, 'spam')",
        pid,
        c["id"],
        reporter["id"],
    )

    page = await new_page(js=False, user=fac)
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.goto(f"/c/{c['slug']}/moderation")
    item = page.locator(f"#flagged-{pid}")
    tail = item.get_by_text("word1699", exact=False)
    await expect(tail).to_be_hidden()  # folded away
    keep = item.get_by_role("button", name="Keep the post")
    item_box = await item.bounding_box()
    keep_box = await keep.bounding_box()
    assert item_box is not None and keep_box is not None
    # Keep is within about one phone screen of the report's top, not pages below it.
    assert keep_box["y"] - item_box["y"] < 1200
    await item.get_by_text("Show all of this post").click()
    await expect(tail).to_be_visible()
    # The suggested reason follows the report (spam).
    await expect(item.get_by_label("Reason for hiding (shown to everyone)")).to_have_value(
        "Spam or advertising"
    )
    await item.get_by_role("button", name="Hide the post").click()
    await expect(page.get_by_text("The reports are closed and the post is hidden.")).to_be_visible()
    await expect(
        page.get_by_text("Sam Smith hid a reported post by Pat Jones in “Budgets”")
    ).to_be_visible()


async def test_deleting_your_post_asks_first_and_undo_brings_it_back(world, new_page):
    c = await world.conference()
    s = await world.session(c)
    author = await world.user("Pat Jones")
    await world.member(c, author)
    t = await world.thread(s, author, title="Budgets", posts=2)

    page = await new_page(js=False, user=author)
    await page.goto(f"/c/{c['slug']}/threads/{t['id']}")
    post = page.locator("article", has_text="Post number 2")
    await post.get_by_role("link", name="Delete your post").click()
    await expect(page.get_by_role("heading", level=1, name="Delete this post?")).to_be_visible()
    await expect(page.get_by_text("Post number 2")).to_be_visible()
    await page.get_by_role("button", name="Yes, delete this post").click()

    await expect(page.get_by_text("Your post has been deleted.")).to_be_visible()
    await expect(page.get_by_text("Post number 2")).to_have_count(0)
    await page.get_by_role("button", name="Undo the deletion of your post").click()
    await expect(page.get_by_text("Your post is back.")).to_be_visible()
    await expect(page.locator("article", has_text="Post number 2")).to_be_visible()

    # "No, keep it" leaves it alone.
    post = page.locator("article", has_text="Post number 2")
    await post.get_by_role("link", name="Delete your post").click()
    await page.get_by_role("link", name="No, keep it").click()
    await expect(page.locator("article", has_text="Post number 2")).to_be_visible()


async def test_after_deleting_with_javascript_the_undo_banner_holds_the_focus(world, new_page):
    """The address lands on the banner drawn inside the post (`#done`), so with JavaScript on
    the focus stays on it and the next Tab reaches "Undo" (it used to land on the post, and
    the browser's scroll to the post took the focus from the banner)."""
    c = await world.conference()
    s = await world.session(c)
    author = await world.user("Pat Jones")
    await world.member(c, author)
    t = await world.thread(s, author, title="Budgets", posts=2)

    page = await new_page(js=True, user=author)
    await page.goto(f"/c/{c['slug']}/threads/{t['id']}")
    post = page.locator("article", has_text="Post number 2")
    await post.get_by_role("link", name="Delete your post").click()
    await page.get_by_role("button", name="Yes, delete this post").click()
    banner = page.locator("#done")
    await expect(banner).to_contain_text("Your post has been deleted.")
    await expect(banner).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Undo the deletion of your post")).to_be_focused()
