"""A member's day by keyboard alone (#23), at 320 px and at desktop width: sign in, find a
session, reply to a post, ask a question and vote on another's. At every step the focus lands
where expected and can be seen (the focused element has an outline or a box-shadow)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import SESSION_LOOP
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, SESSION_LOOP]

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute("name") || "",
    text: (el.innerText || el.value || "").trim().replace(/\\s+/g, " ").slice(0, 80),
    outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0,
    shadow: s.boxShadow !== "none",
  };
}"""


async def focused(page: Page) -> dict[str, Any]:
    f = await page.evaluate(FOCUSED)
    assert f is not None, "nothing has the focus"
    return f


async def tab_to(page: Page, matches: Any, what: str, limit: int = 120) -> dict[str, Any]:
    """Press Tab until the focused element `matches`; it must show that it has the focus."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        f = await page.evaluate(FOCUSED)
        if f and matches(f):
            assert f["outline"] or f["shadow"], f"focus not visible on {what}: {f}"
            return f
    raise AssertionError(f"{what}: not reached in {limit} Tabs")


async def seed(world: Any) -> dict[str, Any]:
    c = await world.conference(visibility="public")
    s = await world.session(c, title="Temporary accommodation", open_threads=True)
    panel = await world.session(c, kind="panel", title="Money panel")
    pat = await world.user("Pat Jones")
    await world.member(c, pat, "participant")
    t = await world.thread(s, pat, title="Bed and breakfast use")
    asha = await world.user("Asha Patel")
    await world.member(c, asha, "participant")
    await world.pool.execute(
        """
        INSERT INTO questions (session_id, conference_id, author_id, body_md, body_html,
                               status, vote_count)
        VALUES ($1, $2, $3, 'Where will the money come from?',
                '<p>Where will the money come from?</p>', 'open', 0)
        """,
        panel["id"],
        c["id"],
        pat["id"],
    )
    return {"c": c, "session": s, "panel": panel, "thread": t, "asha": asha}


@pytest.mark.parametrize("width", [320, 1280])
async def test_a_members_day_by_keyboard_alone(world, new_page, width):
    w = await seed(world)
    page = await new_page()
    await page.set_viewport_size({"width": width, "height": 700})
    slug = w["c"]["slug"]

    # Sign in.
    await page.goto(f"/login?next=/c/{slug}")
    await tab_to(page, lambda f: f["id"] == "email", "the email field")
    await page.keyboard.type(w["asha"]["email"])
    await tab_to(page, lambda f: f["id"] == "password", "the password field", limit=1)
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(f"/c/{slug}$"))

    # Find the session, then its thread.
    await tab_to(page, lambda f: f["tag"] == "a" and "Temporary accommodation" in f["text"],
                 "the session's link")  # fmt: skip
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Temporary accommodation")
    await tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Bed and breakfast use",
                 "the thread's link")  # fmt: skip
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bed and breakfast use")
    await expect(page.get_by_text(re.compile(r"^\d+ here now$"))).to_be_visible()

    # Reply to Pat's post.
    await tab_to(page, lambda f: f["tag"] == "a" and f["text"].startswith("Reply"),
                 "Reply to Pat Jones")  # fmt: skip
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-replying]")).to_contain_text("Replying to Pat Jones")
    await expect(page.get_by_text(re.compile(r"^\d+ here now$"))).to_be_visible()
    if (await focused_or_none(page)) != "body":
        await tab_to(page, lambda f: f["id"] == "body", "the post box")
    await page.keyboard.type("We have cut B&B use by half this year.")
    # The live count under the box (GOV.UK's character count).
    await expect(page.locator(".govuk-character-count__status")).to_have_text(
        "You have 19,962 characters remaining"
    )
    await tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Post", "the Post button")
    await page.keyboard.press("Enter")
    mine = page.locator("article", has_text="We have cut B&B use by half this year.")
    await expect(mine).to_be_visible()
    await expect(mine).to_contain_text("In reply to Pat Jones")
    await expect(mine.locator(".govuk-tag--yellow")).to_have_count(0)  # not "New" to its author
    # Posting made Asha follow the thread: the box says so without a reload.
    await expect(page.locator("#follow")).to_contain_text("You are following this thread")
    await expect(page.locator("#follow button")).to_contain_text("Unfollow")

    # Ask a question on the panel, then vote on Pat's.
    await page.goto(f"/c/{slug}/panels/{w['panel']['id']}")
    await tab_to(page, lambda f: f["tag"] == "textarea", "the question box")
    await page.keyboard.type("How will small councils bid?")
    await tab_to(page, lambda f: f["tag"] == "button", "the Ask button", limit=5)
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("How will small councils bid?")).to_be_visible()
    question = page.locator("[data-questions] > li", has_text="Where will the money come from?")
    await tab_to(page, lambda f: f["tag"] == "button" and f["text"].startswith("Vote"),
                 "the Vote button")  # fmt: skip
    await page.keyboard.press("Enter")
    await expect(question).to_contain_text("1 vote")
    await expect(question).not_to_contain_text("1 votes")


async def focused_or_none(page: Page) -> str | None:
    f = await page.evaluate(FOCUSED)
    return f["id"] if f else None
