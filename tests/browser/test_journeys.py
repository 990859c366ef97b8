"""Journeys through a real Chromium, found and driven as a person would: by labels and roles.

If one of these cannot find a control by its label or role, that is an accessibility bug in a
template, not a reason to reach for a CSS selector.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser

POST_URL = re.compile(r"/threads/\d+\?page=\d+#post-(\d+)$")


async def open_thread_from_home(page: Page, conference: str, session: str, thread: str) -> None:
    """From the list of conferences to a thread, by following links."""
    await page.goto("/")
    await page.get_by_role("link", name=conference).click()
    await expect(page.get_by_role("heading", level=1, name=conference)).to_be_visible()
    await page.get_by_role("link", name=session).click()
    await expect(page.get_by_role("heading", level=1, name=session)).to_be_visible()
    await page.get_by_role("link", name=thread).click()
    await expect(page.get_by_role("heading", level=1, name=thread)).to_be_visible()


async def post_and_find(page: Page, text: str) -> str:
    """Type a post, send it, and return the id of the post the page lands on."""
    await page.get_by_label("Your post", exact=True).fill(text)
    await page.get_by_role("button", name="Post", exact=True).click()
    await expect(page).to_have_url(POST_URL)
    m = POST_URL.search(page.url)
    assert m is not None
    return m.group(1)


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
async def test_participant_signs_in_and_posts_in_a_live_thread(world, new_page, js):
    user = await world.user("Asha Patel", title="Cllr", organisation="Leeds City Council")
    conf = await world.conference()
    session = await world.session(conf, title="Housing and homelessness")
    await world.member(conf, user)
    await world.thread(session, user, title="Temporary accommodation costs", posts=2)
    page = await new_page(js=js)
    assert await page.evaluate("1 + 1") == 2  # evaluate runs even when page scripts are off

    await sign_in(page, user["email"])
    await open_thread_from_home(
        page, f"Conference {conf['slug']}", "Housing and homelessness",
        "Temporary accommodation costs",
    )  # fmt: skip
    post_id = await post_and_find(page, "We pooled **placements** with two neighbours.")

    post = page.locator(f"#post-{post_id}")
    await expect(post).to_contain_text("We pooled placements with two neighbours.")
    await expect(post.locator("strong", has_text="placements")).to_be_visible()
    await expect(post.get_by_role("heading")).to_contain_text("Cllr Asha Patel")
    await expect(post).to_contain_text("Leeds City Council")
    await expect(page.get_by_label("Your post", exact=True)).to_have_value("")  # a fresh composer
    assert await page.locator("article.confer-post").count() == 3


async def test_new_visitor_registers_joins_and_posts(world, new_page):
    conf = await world.conference()
    session = await world.session(conf, title="Climate adaptation")
    host = await world.user("Host Person")
    await world.member(conf, host, "facilitator")
    await world.thread(session, host, title="Flood defences", posts=1)
    page = await new_page()

    # From the conference's page, as a visitor would arrive.
    await page.goto(f"/c/{conf['slug']}")
    await page.get_by_role("link", name="create an account", exact=True).click()
    await expect(page.get_by_role("heading", level=1, name="Create an account")).to_be_visible()
    await page.get_by_label("Email address").fill("jane.smith@kent.gov.uk")
    await page.get_by_label("Display name").fill("Jane Smith")
    await page.get_by_label("Title (optional)").fill("Dr")
    await page.get_by_label("Organisation (optional)").fill("Kent County Council")
    await page.get_by_label("Password").fill("a long passphrase about flood plains")
    await page.get_by_role("button", name="Create account").click()

    # Registering signs her in and brings her back to the join page.
    await expect(page.get_by_text("Signed in as Jane Smith")).to_be_visible()
    await expect(page.get_by_role("heading", level=1, name=re.compile("^Join "))).to_be_visible()
    await page.get_by_role("button", name="Join conference").click()
    await expect(page.get_by_text("There is a problem")).to_be_visible()  # must accept first
    await page.get_by_label("I accept the code of conduct").check()
    await page.get_by_role("button", name="Join conference").click()
    await expect(page.get_by_text("You are a participant")).to_be_visible()

    await page.get_by_role("link", name="Climate adaptation").click()
    await page.get_by_role("link", name="Flood defences").click()
    post_id = await post_and_find(page, "Our sandbag scheme worked.")
    post = page.locator(f"#post-{post_id}")
    await expect(post).to_contain_text("Our sandbag scheme worked.")
    await expect(post.get_by_role("heading")).to_contain_text("Dr Jane Smith")
    await expect(post).to_contain_text("Kent County Council")


async def test_closed_thread_shows_a_notice_instead_of_the_composer(world, new_page):
    user = await world.user()
    conf = await world.conference()
    session = await world.session(conf, starts_in=timedelta(hours=-3), lasts=timedelta(hours=1))
    await world.member(conf, user)
    thread = await world.thread(session, user, title="Finished business", posts=2)
    page = await new_page(user=user)

    await page.goto(f"/c/{conf['slug']}/threads/{thread['id']}")
    await expect(page.get_by_role("heading", level=1, name="Finished business")).to_be_visible()
    await expect(page.get_by_role("heading", name="Closed")).to_be_visible()
    await expect(page.get_by_text("This thread closed at")).to_be_visible()
    await expect(page.get_by_label("Your post", exact=True)).to_have_count(0)
    await expect(page.get_by_role("button", name="Post", exact=True)).to_have_count(0)
    await expect(page.get_by_role("link", name=re.compile("^Reply"))).to_have_count(0)


async def test_refused_posts_keep_their_text_and_say_what_is_wrong(world, new_page, pool):
    user = await world.user()
    conf = await world.conference()
    session = await world.session(conf)
    await world.member(conf, user)
    thread = await world.thread(session, user, posts=1)
    page = await new_page(user=user)
    await page.goto(f"/c/{conf['slug']}/threads/{thread['id']}")
    composer = page.get_by_label("Your post", exact=True)

    # Too long: refused, explained, and every character kept.
    long_text = ("Budget lines. " * 1500)[:20_000] + "!"
    assert len(long_text) == 20_001
    await composer.fill(long_text)
    await page.get_by_role("button", name="Post", exact=True).click()
    await expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    await expect(page).to_have_title(re.compile("^Error: "))
    await expect(page.get_by_role("alert")).to_contain_text("20,000 characters or fewer")
    await expect(composer).to_have_value(long_text)

    # Empty: refused and explained; the summary's link leads to the box.
    await composer.fill("   ")
    await page.get_by_role("button", name="Post", exact=True).click()
    summary_link = page.get_by_role("link", name="Enter your post")
    await expect(summary_link).to_be_visible()
    await summary_link.click()
    await expect(composer).to_be_focused()

    # Closed while they typed: refused, and the text is still there to copy.
    await composer.fill("My considered reply, written slowly.")
    await pool.execute(
        "UPDATE sessions SET starts_at = now() - interval '2 hours',"
        " ends_at = now() - interval '1 minute' WHERE id = $1",
        session["id"],
    )
    await page.get_by_role("button", name="Post", exact=True).click()
    await expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    await expect(page.get_by_role("heading", name="Closed")).to_be_visible()
    await expect(page.get_by_label("Your post", exact=True)).to_have_value(
        "My considered reply, written slowly."
    )
    await expect(page.get_by_role("button", name="Post", exact=True)).to_have_count(0)
    assert await pool.fetchval("SELECT count(*) FROM posts WHERE thread_id = $1", thread["id"]) == 1


async def test_admin_creates_a_conference_adds_a_session_and_publishes_it(world, new_page):
    admin = await world.user("Ada Admin", admin=True)
    page = await new_page()
    visitor = await new_page()
    await sign_in(page, admin["email"])

    await page.get_by_role("link", name="New conference").click()
    await expect(page.get_by_role("heading", level=1, name="New conference")).to_be_visible()
    start = (datetime.now() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    await page.get_by_label("Web address (slug)").fill("digital-inclusion-2027")
    await page.get_by_label("Title", exact=True).fill("Digital Inclusion Summit")
    await page.get_by_label("Timezone").fill("Europe/London")
    await page.get_by_label("Starts", exact=True).fill(start.strftime("%Y-%m-%dT%H:%M"))
    ends = start + timedelta(days=2, hours=8)
    await page.get_by_label("Ends", exact=True).fill(ends.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="Create conference").click()

    await expect(page).to_have_url(re.compile(r"/c/digital-inclusion-2027/manage"))
    await expect(page.get_by_text("The conference has been created as a draft.")).to_be_visible()
    await visitor.goto("/")
    await expect(visitor.get_by_role("link", name="Digital Inclusion Summit")).to_have_count(0)

    s_start = start + timedelta(hours=1)
    await page.get_by_label("Kind").select_option(label="Discussion")
    await page.get_by_label("Session title").fill("Libraries as digital hubs")
    await page.get_by_label("Session starts").fill(s_start.strftime("%Y-%m-%dT%H:%M"))
    s_end = s_start + timedelta(hours=3)
    await page.get_by_label("Session ends").fill(s_end.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="Add session").click()
    await expect(page.get_by_text("The session has been added.")).to_be_visible()
    programme = page.get_by_role("table", name=re.compile("^Sessions"))
    await expect(programme).to_contain_text("Libraries as digital hubs")

    await page.get_by_role("button", name="Publish the conference").click()
    await expect(page.get_by_text("The conference is published.")).to_be_visible()

    # Anyone can now find it on the home page, and its programme.
    await visitor.goto("/")
    await visitor.get_by_role("link", name="Digital Inclusion Summit").click()
    await expect(visitor.get_by_role("link", name="Libraries as digital hubs")).to_be_visible()


async def test_observer_reads_but_has_no_composer(world, new_page):
    author = await world.user("Author")
    observer = await world.user("Olu Observer")
    conf = await world.conference()
    session = await world.session(conf)
    await world.member(conf, author)
    await world.member(conf, observer, "observer")
    thread = await world.thread(session, author, title="Open question", posts=2)
    page = await new_page(user=observer)

    await page.goto(f"/c/{conf['slug']}/threads/{thread['id']}")
    await expect(page.get_by_text("Post number 2")).to_be_visible()
    await expect(page.get_by_text("You are an observer")).to_be_visible()
    await expect(page.get_by_label("Your post", exact=True)).to_have_count(0)
    await expect(page.get_by_role("button", name="Post", exact=True)).to_have_count(0)
    await expect(page.get_by_role("link", name=re.compile("^Reply"))).to_have_count(0)
