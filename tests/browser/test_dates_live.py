"""A post arriving live shows its time as the page does (issue #23, item 1): in the
conference's time zone with the zone named, in the reader's language, whatever the browser's
own time zone and whoever wrote it; its `<time datetime>` has at most three digits of
fractions of a second."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from confer import i18n
from tests.browser.helpers import SESSION_LOOP

pytestmark = [pytest.mark.browser, SESSION_LOOP]

LIVE_MS = 10_000
HTML_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)$")


async def test_a_live_post_shows_the_conference_time_in_the_readers_language(
    world, new_page, server
):
    reader_user = await world.user("Rhian Reader")
    poster_user = await world.user("Pete Poster")
    conf = await world.conference(timezone="Asia/Tokyo")  # JST; the browser runs in UTC
    session = await world.session(conf)
    await world.member(conf, reader_user)
    await world.member(conf, poster_user)
    thread = await world.thread(session, reader_user, title="Amseroedd", posts=1)
    url = f"/c/{conf['slug']}/threads/{thread['id']}"
    reader = await new_page(user=reader_user)
    base = str(server.make_url("/")).rstrip("/")
    await reader.context.add_cookies([{"name": i18n.COOKIE, "value": "cy", "url": base}])
    poster = await new_page(user=poster_user)  # English
    await reader.goto(url)
    await expect(reader.get_by_text(re.compile(r"^\d+ yma nawr$"))).to_be_visible(timeout=LIVE_MS)
    await poster.goto(url)
    await reader.evaluate("window.__stayed = true")

    await poster.get_by_label("Your post", exact=True).fill("Pa amser yw hi yn Tokyo?")
    await poster.get_by_role("button", name="Post", exact=True).click()

    post = reader.locator("article.confer-post--new").filter(has_text="Pa amser yw hi yn Tokyo?")
    await expect(post).to_be_attached(timeout=LIVE_MS)
    assert await reader.evaluate("window.__stayed === true")  # drawn live, not reloaded
    live_text = await post.locator("time").inner_text()
    live_iso = await post.locator("time").get_attribute("datetime")
    assert "JST" in live_text, live_text
    assert HTML_TIME.match(live_iso or ""), live_iso

    # The same text as the page itself writes for that post.
    post_id = await post.get_attribute("data-post-id")
    await reader.reload()
    page_text = await reader.locator(f"#post-{post_id} time").first.inner_text()
    assert live_text == page_text
