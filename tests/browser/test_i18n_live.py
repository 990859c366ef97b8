"""confer.js in Welsh: what it writes on a live page comes from the catalogues (issue #20).

A reader who chose Welsh has a thread open; another member posts. The post arrives over the
live connection and confer.js draws it, with its own words in Welsh: the "new" tag, the Reply
link, the presence line, the count of posts and the button offering the posts below.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from confer import i18n
from tests.browser.helpers import SESSION_LOOP

pytestmark = [pytest.mark.browser, SESSION_LOOP]

LIVE_MS = 10_000


async def _welsh(page: Page, server) -> None:
    base = str(server.make_url("/")).rstrip("/")
    await page.context.add_cookies([{"name": i18n.COOKIE, "value": "cy", "url": base}])


async def test_a_live_post_is_drawn_in_welsh_on_a_welsh_page(world, new_page, server):
    reader_user = await world.user("Rhian Reader")
    poster_user = await world.user("Pete Poster")
    conf = await world.conference()
    session = await world.session(conf)
    await world.member(conf, reader_user)
    await world.member(conf, poster_user)
    # Longer than the window: the reader at the top is offered the new post by a button.
    thread = await world.thread(session, reader_user, title="Trafodaeth hir", posts=40)
    url = f"/c/{conf['slug']}/threads/{thread['id']}"
    reader = await new_page(user=reader_user)
    await _welsh(reader, server)
    poster = await new_page(user=poster_user)  # English
    await reader.goto(url)
    await expect(reader.get_by_text(re.compile(r"^\d+ yma nawr$"))).to_be_visible(timeout=LIVE_MS)
    await poster.goto(url)
    await expect(poster.get_by_text(re.compile(r"^\d+ here now$"))).to_be_visible(timeout=LIVE_MS)
    await reader.evaluate("window.scrollTo(0, 0); window.__stayed = true")

    await poster.get_by_label("Your post", exact=True).fill("Diolch, dyma bwynt newydd.")
    await poster.get_by_role("button", name="Post", exact=True).click()

    button = reader.get_by_role("button", name="1 neges newydd", exact=True)
    await expect(button).to_be_visible(timeout=LIVE_MS)
    await expect(reader.locator("#live-announcer")).to_have_text("Neges newydd gan Pete Poster")
    post = reader.get_by_role("article").filter(has_text="Diolch, dyma bwynt newydd.")
    await expect(post.locator(".govuk-tag--yellow")).to_have_text("Newydd")
    await expect(post.get_by_role("link", name="Ateb i Pete Poster")).to_be_visible()
    await expect(reader.get_by_text(re.compile(r"^41 neges\."))).to_be_visible()
    # Written by an English reader's page, the post is marked as English on the Welsh page.
    await expect(post.locator(".confer-post__body")).to_have_attribute("lang", "en-GB")
    assert await reader.evaluate("window.__stayed === true")  # drawn live, not reloaded
    # The English poster's page went on in English.
    await expect(poster.get_by_text(re.compile(r"^41 posts\."))).to_be_visible()
