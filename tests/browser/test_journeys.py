"""Journeys through a real Chromium, found and driven as a person would: by labels and roles.

If one of these cannot find a control by its label or role, that is an accessibility bug in a
template, not a reason to reach for a CSS selector.

Posting has two paths. Without JavaScript (or before the live connection is up) the form
posts and the server redirects to the new post, or shows the page again with the errors and
the text. With JavaScript and a live connection, confer.js sends the post over socket.io and
the post appears in place. Tests with JavaScript wait for the connection ("1 here now") so
that they know which path they exercise.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import SESSION_LOOP, sign_in

pytestmark = [pytest.mark.browser, SESSION_LOOP]

POST_URL = re.compile(r"/threads/\d+\?page=\d+#post-(\d+)$")
JS = pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])


def composer(page: Page):
    return page.get_by_label("Your post", exact=True)


def post_button(page: Page):
    return page.get_by_role("button", name="Post", exact=True)


async def open_thread_from_home(page: Page, conference: str, session: str, thread: str) -> None:
    """From the list of conferences to a thread, by following links."""
    await page.goto("/")
    await page.get_by_role("link", name=conference).click()
    await expect(page.get_by_role("heading", level=1, name=conference)).to_be_visible()
    await page.get_by_role("link", name=session).click()
    await expect(page.get_by_role("heading", level=1, name=session)).to_be_visible()
    await page.get_by_role("link", name=thread).click()
    await expect(page.get_by_role("heading", level=1, name=thread)).to_be_visible()


async def wait_until_live(page: Page, js: bool) -> None:
    """With JavaScript, wait for the live connection to have joined the thread's room."""
    if js:
        await expect(page.get_by_text(re.compile(r"^\d+ here now$"))).to_be_visible()


async def post_and_see(page: Page, text: str, shown: str, *, js: bool) -> None:
    """Send a post and check that it is on the page, once, and that the composer is empty."""
    url_before = page.url
    await composer(page).fill(text)
    await post_button(page).click()
    post = page.locator("article", has_text=shown)
    await expect(post).to_be_visible()
    if js:
        assert page.url == url_before  # posted over the live connection: no reload
    else:
        await expect(page).to_have_url(POST_URL)  # redirected to the new post
        post_id = POST_URL.search(page.url).group(1)  # type: ignore[union-attr]
        await expect(post).to_have_id(f"post-{post_id}")
    await expect(post).to_have_id(re.compile(r"^post-\d+$"))
    await expect(composer(page)).to_have_value("")
    # Saved, not only drawn: a reload shows it, exactly once.
    await page.reload()
    await expect(page.locator("article", has_text=shown)).to_have_count(1)


@JS
async def test_participant_signs_in_and_posts_in_a_live_thread(world, new_page, js):
    user = await world.user("Asha Patel", title="Cllr", organisation="Leeds City Council")
    conf = await world.conference()
    session = await world.session(conf, title="Housing and homelessness")
    await world.member(conf, user)
    await world.thread(session, user, title="Temporary accommodation costs", posts=2)
    page = await new_page(js=js)

    await sign_in(page, user["email"])
    await open_thread_from_home(
        page, f"Conference {conf['slug']}", "Housing and homelessness",
        "Temporary accommodation costs",
    )  # fmt: skip
    await wait_until_live(page, js)
    await post_and_see(
        page, "We pooled **placements** with two neighbours.",
        "We pooled placements with two neighbours.", js=js,
    )  # fmt: skip

    post = page.locator("article", has_text="We pooled placements")
    await expect(post.locator("strong", has_text="placements")).to_be_visible()  # Markdown
    await expect(post.get_by_role("heading")).to_contain_text("Cllr Asha Patel")
    await expect(post).to_contain_text("Leeds City Council")
    await expect(page.locator("article")).to_have_count(3)


async def test_new_visitor_registers_joins_and_posts(world, new_page):
    conf = await world.conference()
    session = await world.session(conf, title="Climate adaptation")
    host = await world.user("Host Person")
    await world.member(conf, host, "facilitator")
    await world.thread(session, host, title="Flood defences", posts=1)
    page = await new_page(js=False)

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
    await post_and_see(page, "Our sandbag scheme worked.", "Our sandbag scheme worked.", js=False)
    post = page.locator("article", has_text="Our sandbag scheme worked.")
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
    await expect(page.get_by_text("Post number 2")).to_be_visible()
    await expect(page.get_by_role("heading", name="Closed")).to_be_visible()
    await expect(page.get_by_text("This thread closed for posts at")).to_be_visible()
    await expect(composer(page)).to_have_count(0)
    await expect(post_button(page)).to_have_count(0)
    await expect(page.get_by_role("link", name=re.compile("^Reply"))).to_have_count(0)


@JS
async def test_refused_posts_keep_their_text_and_say_what_is_wrong(world, new_page, pool, js):
    user = await world.user()
    conf = await world.conference()
    session = await world.session(conf)
    await world.member(conf, user)
    thread = await world.thread(session, user, posts=1)
    page = await new_page(user=user, js=js)
    await page.goto(f"/c/{conf['slug']}/threads/{thread['id']}")
    await wait_until_live(page, js)
    problem = page.get_by_role("heading", name="There is a problem")

    # Too long: refused, explained, and every character kept.
    long_text = ("Budget lines. " * 1500)[:20_000] + "!"
    await composer(page).fill(long_text)
    await post_button(page).click()
    await expect(problem).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("20,000 characters or fewer")
    await expect(composer(page)).to_have_value(long_text)
    if not js:
        await expect(page).to_have_title(re.compile("^Error: "))

    # Empty: refused and explained; the summary's link leads to the box.
    await composer(page).fill("   ")
    await post_button(page).click()
    summary_link = page.get_by_role("link", name="Enter your post")
    await expect(summary_link).to_be_visible()
    await summary_link.click()
    await expect(composer(page)).to_be_focused()

    # The session closes while they type: refused, and the text is still there to copy.
    text = "My considered reply, written slowly."
    await composer(page).fill(text)
    await pool.execute(
        "UPDATE sessions SET starts_at = now() - interval '2 hours',"
        " ends_at = now() - interval '1 minute' WHERE id = $1",
        session["id"],
    )
    await post_button(page).click()
    await expect(page.get_by_role("alert")).to_contain_text("closed")
    if js:
        await expect(composer(page)).to_have_value(text)
    else:
        # The page comes back without a composer, and the text in a box of its own.
        await expect(page.get_by_role("heading", name="Closed")).to_be_visible()
        await expect(post_button(page)).to_have_count(0)
        await expect(page.get_by_label("Your text, which was not posted")).to_have_value(text)
    count = await pool.fetchval("SELECT count(*) FROM posts WHERE thread_id = $1", thread["id"])
    assert count == 1


async def test_admin_creates_a_conference_adds_a_session_and_publishes_it(world, new_page):
    admin = await world.user("Ada Admin", admin=True)
    page = await new_page()
    visitor = await new_page(js=False)
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

    # The console (issue #22): the programme has its own page.
    console = page.get_by_role("navigation", name="Manage the conference")
    await console.get_by_role("link", name="Programme").click()
    s_start = start + timedelta(hours=1)
    await page.get_by_label("Kind").select_option(label="Discussion")
    await page.get_by_label("Session title").fill("Libraries as digital hubs")
    await page.get_by_label("Session starts").fill(s_start.strftime("%Y-%m-%dT%H:%M"))
    s_end = s_start + timedelta(hours=3)
    await page.get_by_label("Session ends").fill(s_end.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="Add session").click()
    await expect(page.get_by_text("The session has been added.")).to_be_visible()
    programme = page.locator("#programme-list")
    await expect(programme).to_contain_text("Libraries as digital hubs")

    await console.get_by_role("link", name="Details and dates").click()
    await page.get_by_role("button", name="Publish the conference").click()
    await expect(page.get_by_text("The conference is published.")).to_be_visible()

    # Anyone can now find it on the home page, with its programme.
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
    await expect(composer(page)).to_have_count(0)
    await expect(post_button(page)).to_have_count(0)
    await expect(page.get_by_role("link", name=re.compile("^Reply"))).to_have_count(0)
