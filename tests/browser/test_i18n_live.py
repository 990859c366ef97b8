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


async def test_a_live_vote_gives_the_welsh_noun_its_form_for_the_new_count(
    world, new_page, server, pool
):
    """A question drawn by the server reads "<strong>1</strong> bleidlais"; when votes arrive
    live, confer.js writes the noun the number takes in Welsh (2 bleidlais, 3 pleidlais), not
    only the number."""
    from tests.browser.test_live_journeys import HttpClient, care_panel, token_of

    conf, panel, asker_user, voter_user, _fay, _sam = await care_panel(world, pool)
    api = HttpClient(server)
    try:
        status, asked = await api.api(
            "POST",
            f"/api/v1/panels/{panel['id']}/questions",
            {"body": "Pwy sy'n talu?"},
            token=await token_of(pool, asker_user),
        )
        assert status == 201, asked
        status, reply = await api.api(
            "POST", f"/api/v1/questions/{asked['id']}/vote", token=await token_of(pool, voter_user)
        )
        assert status == 200, reply
        reader_user = await world.user("Rhian Reader")
        await world.member(conf, reader_user)
        reader = await new_page(user=reader_user)
        await _welsh(reader, server)
        await reader.goto(f"/c/{conf['slug']}/panels/{panel['id']}")
        await expect(reader.get_by_text(re.compile(r"^\d+ yma nawr$"))).to_be_visible(
            timeout=LIVE_MS
        )
        item = reader.locator(f"#question-{asked['id']}")
        await expect(item).to_contain_text("1 bleidlais")
        for n, noun in ((2, "bleidlais"), (3, "pleidlais")):
            voter = await world.user(f"Voter {n}")
            await world.member(conf, voter)
            status, reply = await api.api(
                "POST", f"/api/v1/questions/{asked['id']}/vote", token=await token_of(pool, voter)
            )
            assert status == 200, reply
            await expect(item).to_contain_text(f"{n} {noun}", timeout=LIVE_MS)
    finally:
        await api.close()
