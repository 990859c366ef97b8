"""Live journeys: several people, each in their own browser context, on the same pages.

What one person does must reach the others' open pages without a reload. Every page that
should not reload carries a marker on `window` (see `stay`); a reload would wipe it, so
`assert_stayed` proves that a change arrived over the live connection and was not drawn by a
fresh page load. Pages wait for their live connection before anyone acts: the "N here now"
presence line on thread and panel pages, and, on the moderation page (which shows no
presence), the presence message for its room as it arrives on the wire (`Wire`).
"""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest
from aiohttp import WSCloseCode
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Response, WebSocket, expect

from confer.accounts import service as accounts
from confer.keys import sio_key
from confer.live.fanout import close_all
from confer.policy import Actor
from tests.browser.helpers import SESSION_LOOP
from tests.conftest import Browser as HttpClient
from tests.conftest import insert_post

pytestmark = [pytest.mark.browser, SESSION_LOOP]

LIVE_MS = 10_000  # how long a live change may take to reach another person's page
HERE_NOW = re.compile(r"^\d+ here now$")


# --- helpers ------------------------------------------------------------------------------


def composer(page: Page):
    return page.get_by_label("Your post", exact=True)


def post_button(page: Page):
    return page.get_by_role("button", name="Post", exact=True)


def announcer(page: Page):
    # The page's polite live region (base.html); it has no role, so by its id.
    return page.locator("#live-announcer")


def article(page: Page, text: str):
    return page.get_by_role("article").filter(has_text=text)


async def open_live(page: Page, url: str) -> None:
    """Open a thread or panel page and wait until its live connection has joined the room."""
    await page.goto(url)
    await expect(page.get_by_text(HERE_NOW)).to_be_visible(timeout=LIVE_MS)
    await stay(page)


async def stay(page: Page) -> None:
    """Mark the page as it is now: a reload or a navigation would wipe the mark."""
    await page.evaluate("window.__conferStayed = true")


async def assert_stayed(page: Page) -> None:
    assert await page.evaluate("window.__conferStayed === true"), f"{page.url} was reloaded"


class Wire:
    """What a page's socket.io connection receives, seen from the test's side.

    socket.io starts on HTTP long-polling and upgrades to a WebSocket, so a message may come
    either way: both are watched. Attach before the page loads.
    """

    def __init__(self, page: Page) -> None:
        self.received: list[str] = []
        self.changed = asyncio.Event()
        page.on("websocket", self._websocket)
        page.on("response", self._response)

    def _websocket(self, ws: WebSocket) -> None:
        ws.on("framereceived", self._add)

    async def _response(self, response: Response) -> None:
        if "/socket.io/" not in response.url or response.request.method != "GET":
            return
        try:
            self._add(await response.text())
        except PlaywrightError:  # the page went away before the body was read
            pass

    def _add(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", "replace")
        self.received.append(payload)
        self.changed.set()

    async def wait_for(self, *parts: str) -> None:
        """Wait (up to LIVE_MS) for one received message that contains every one of `parts`."""
        async with asyncio.timeout(LIVE_MS / 1000):
            while True:
                self.changed.clear()
                if any(all(p in m for p in parts) for m in self.received):
                    return
                await self.changed.wait()


async def count_posts(pool, thread_id: int, body: str | None = None) -> int:
    if body is None:
        return await pool.fetchval("SELECT count(*) FROM posts WHERE thread_id = $1", thread_id)
    return await pool.fetchval(
        "SELECT count(*) FROM posts WHERE thread_id = $1 AND body_md = $2", thread_id, body
    )


async def cut_off(page: Page, server) -> None:
    """Drop every live connection and keep `page`'s from coming back (until `reconnect`);
    wait until the page says it is reconnecting."""
    await page.route("**/socket.io/**", lambda route: route.abort())
    await close_all(server.app[sio_key].eio, WSCloseCode.GOING_AWAY, b"test")
    await expect(connection_status(page)).to_have_text("Reconnecting…", timeout=LIVE_MS)


async def reconnect(page: Page) -> None:
    """Let `page`'s connection come back (socket.io retries with back-off, up to 10 s apart)
    and wait until it has."""
    await page.unroute("**/socket.io/**")
    await expect(connection_status(page)).to_be_hidden(timeout=2 * LIVE_MS + 5_000)


def connection_status(page: Page):
    return page.locator("[data-connection-status]")


async def token_of(pool: asyncpg.Pool, user: dict) -> str:
    """A personal API token of `user`, for acting over the JSON API."""
    actor = Actor(user_id=user["id"], name=user["name"], email=user["email"], via="cli")
    token, _ = await accounts.create_api_token(pool, actor, "live journeys")
    return token


# --- 1. posting live (issue 3) ------------------------------------------------------------


async def test_a_post_reaches_the_other_reader_and_refusals_keep_the_text(world, new_page, pool):
    asha = await world.user("Asha Patel", title="Cllr", organisation="Leeds City Council")
    ben = await world.user("Ben Okafor", organisation="Kent County Council")
    conf = await world.conference()
    session = await world.session(conf, title="Housing and homelessness")
    await world.member(conf, asha)
    await world.member(conf, ben)
    thread = await world.thread(session, ben, title="Temporary accommodation", posts=1)
    url = f"/c/{conf['slug']}/threads/{thread['id']}"
    poster = await new_page(user=asha)
    reader = await new_page(user=ben)
    await open_live(poster, url)
    await open_live(reader, url)
    await expect(poster.get_by_text("2 here now")).to_be_visible(timeout=LIVE_MS)

    # Asha posts; Ben's open page shows it, tells his screen reader, and counts it.
    text = "We pooled placements with two neighbouring councils."
    await composer(poster).fill(text)
    await post_button(poster).click()
    await expect(article(reader, text)).to_be_visible(timeout=LIVE_MS)
    await expect(article(reader, text).get_by_role("heading")).to_contain_text("Cllr Asha Patel")
    await expect(announcer(reader)).to_have_text("New post from Cllr Asha Patel")
    await expect(reader.get_by_text(re.compile(r"^2 posts\."))).to_be_visible()
    await expect(composer(poster)).to_have_value("")
    await expect(article(poster, text)).to_have_count(1)
    await assert_stayed(reader)
    await assert_stayed(poster)

    # An empty post is refused in place: the error summary, no reload.
    await composer(poster).fill("   ")
    await post_button(poster).click()
    await expect(poster.get_by_role("heading", name="There is a problem")).to_be_visible()
    await expect(poster.get_by_role("link", name="Enter your post")).to_be_visible()
    assert poster.url.endswith(url)
    await assert_stayed(poster)

    # A double click on Post makes one post.
    twice = "Clicked twice, posted once."
    await composer(poster).fill(twice)
    await post_button(poster).dblclick()
    await expect(article(poster, twice)).to_have_count(1)
    await expect(composer(poster)).to_have_value("")
    await expect(article(reader, twice)).to_have_count(1, timeout=LIVE_MS)
    assert await count_posts(pool, thread["id"], twice) == 1
    await expect(poster.get_by_role("heading", name="There is a problem")).to_have_count(0)

    # A facilitator locks the thread while Asha types: refused, and her text is still there.
    kept = "My considered reply, written slowly."
    await composer(poster).fill(kept)
    await pool.execute(
        "UPDATE threads SET locked_at = now(), lock_reason = 'Cooling off' WHERE id = $1",
        thread["id"],
    )
    await post_button(poster).click()
    await expect(poster.get_by_role("heading", name="There is a problem")).to_be_visible()
    await expect(poster.get_by_role("alert")).to_contain_text("locked this thread: Cooling off")
    await expect(composer(poster)).to_have_value(kept)
    assert poster.url.endswith(url)
    await assert_stayed(poster)
    assert await count_posts(pool, thread["id"]) == 3  # the first, Asha's two; not the refused


# --- 2. a reader who has scrolled up -----------------------------------------------------


async def test_a_reader_scrolled_up_is_not_moved_and_is_offered_the_new_posts(world, new_page):
    reader_user = await world.user("Rita Reader")
    poster_user = await world.user("Pete Poster")
    conf = await world.conference()
    session = await world.session(conf)
    await world.member(conf, reader_user)
    await world.member(conf, poster_user)
    # 40 posts: one page (pages hold 50), much longer than the window.
    thread = await world.thread(session, reader_user, title="A long discussion", posts=40)
    url = f"/c/{conf['slug']}/threads/{thread['id']}"
    reader = await new_page(user=reader_user)
    poster = await new_page(user=poster_user)
    await open_live(reader, url)
    await open_live(poster, url)

    await reader.evaluate("window.scrollTo(0, 0)")
    assert await reader.evaluate("document.body.scrollHeight > 3 * window.innerHeight")

    await composer(poster).fill("A new point, far below.")
    await post_button(poster).click()
    one = reader.get_by_role("button", name="1 new post", exact=True)
    await expect(one).to_be_visible(timeout=LIVE_MS)
    await expect(announcer(reader)).to_have_text("New post from Pete Poster")
    assert await reader.evaluate("window.scrollY") < 100  # still reading at the top

    await composer(poster).fill("And another.")
    await post_button(poster).click()
    two = reader.get_by_role("button", name="2 new posts", exact=True)
    await expect(two).to_be_visible(timeout=LIVE_MS)
    assert await reader.evaluate("window.scrollY") < 100
    await assert_stayed(reader)

    # The button takes the reader to the first post they have not seen, and goes away.
    await two.click()
    first_new = article(reader, "A new point, far below.")
    await expect(first_new).to_be_in_viewport()
    await expect(two).to_be_hidden()
    await expect(first_new.get_by_role("heading")).to_be_focused()


# --- 3. moderation live (issue 4) ---------------------------------------------------------


async def care_thread(world, posts: int) -> tuple[dict, dict, dict, dict, dict]:
    """A thread by Ola with `posts` posts ("Post number 1", ...) in a conference where Fay
    facilitates and Paul takes part: (conference, thread, fay, paul, ola)."""
    fay = await world.user("Fay Facilitator")
    paul = await world.user("Paul Participant")
    ola = await world.user("Ola Author")
    conf = await world.conference()
    session = await world.session(conf, title="Adult social care")
    await world.member(conf, fay, "facilitator")
    await world.member(conf, paul)
    await world.member(conf, ola)
    thread = await world.thread(session, ola, title="Care home fees", posts=posts)
    return conf, thread, fay, paul, ola


async def test_hiding_and_reporting_reach_open_pages(world, new_page):
    conf, thread, fay, paul, ola = await care_thread(world, posts=2)
    url = f"/c/{conf['slug']}/threads/{thread['id']}"
    participant = await new_page(user=paul)
    facilitator = await new_page(user=fay)
    moderation = await new_page(user=fay)
    await open_live(participant, url)

    # Fay hides Ola's first post from the thread page.
    await facilitator.goto(url)
    first = article(facilitator, "Post number 1")
    await first.get_by_text(re.compile(r"^Moderate the post by Ola Author$")).click()
    await first.get_by_label("Reason for hiding (shown to everyone)").select_option(
        "Personal attack"
    )
    await first.get_by_role("button", name="Hide post").click()

    hidden = participant.get_by_role("article").nth(0)
    await expect(hidden).to_contain_text(
        "Removed by a facilitator: Personal attack", timeout=LIVE_MS
    )
    await expect(hidden).not_to_contain_text("Post number 1")
    await assert_stayed(participant)

    # Fay watches the moderation page; Paul reports Ola's second post.
    wire = Wire(moderation)
    await moderation.goto(f"/c/{conf['slug']}/moderation")
    reports = moderation.get_by_role("heading", name=re.compile(r"^Reported posts"))
    await expect(reports).to_have_text(re.compile(r"^Reported posts\s+0$"))
    await wire.wait_for("presence", f"moderation:{conf['id']}")
    await stay(moderation)

    await (
        article(participant, "Post number 2")
        .get_by_role("link", name=re.compile(r"^Report"))
        .click()
    )
    await expect(participant.get_by_role("heading", name="Report a post")).to_be_visible()
    await participant.get_by_role("radio", name="Disrespectful").check()
    await participant.get_by_role("button", name="Send report").click()
    # Back to the post in the thread, with the confirmation.
    await expect(participant).to_have_url(
        re.compile(rf"{re.escape(url)}\?page=1&flagged=1#post-\d+$")
    )
    await expect(
        participant.get_by_text("Your report has been sent to the facilitators.")
    ).to_be_visible()

    await expect(reports).to_have_text(re.compile(r"^Reported posts\s+1$"), timeout=LIVE_MS)
    await expect(moderation.get_by_role("status")).to_contain_text("New report: Disrespectful")
    await expect(announcer(moderation)).to_have_text(re.compile(r"^New report: Disrespectful"))
    await assert_stayed(moderation)


async def test_changes_made_while_a_reader_was_disconnected_arrive_when_it_reconnects(
    world, new_page, server, pool
):
    """A post approved, hidden or edited while a reader's connection was down reaches the
    page when it reconnects (the re-join asks for the changes since the last change number
    seen), in place, without a reload and without doubles."""
    conf, thread, fay, paul, ola = await care_thread(world, posts=3)
    waiting = await insert_post(
        pool, thread["id"], ola["id"], None, "Waiting for approval",
        "<p>Waiting for approval</p>\n", None, "pending",
    )  # fmt: skip
    # More posts after those that will change: a re-join asks again for the last
    # REJOIN_OVERLAP (20) seqs anyway, so changes to posts that recent would come back without
    # the change number; these come back only because of it.
    for i in range(25):
        body = f"Meanwhile, reply {chr(ord('A') + i)}."
        await insert_post(pool, thread["id"], ola["id"], None, body, f"<p>{body}</p>\n", None)
    first, second, third = [
        await pool.fetchval(
            "SELECT id FROM posts WHERE thread_id = $1 AND body_md = $2", thread["id"], body
        )
        for body in ("Post number 1", "Post number 2", "Post number 3")
    ]
    url = f"/c/{conf['slug']}/threads/{thread['id']}"
    participant = await new_page(user=paul)
    await open_live(participant, url)
    await expect(participant.get_by_role("article")).to_have_count(28)
    await expect(article(participant, "Waiting for approval")).to_have_count(0)
    # Ola, the author, stays connected: she sees her own post awaiting approval.
    author = await new_page(user=ola)
    await open_live(author, url)
    await expect(author.locator(f"#post-{waiting}")).to_contain_text("Awaiting approval")
    # So does Fay's, with her tools for each post as it is now.
    facilitator = await new_page(user=fay)
    await open_live(facilitator, url)
    fays_waiting = facilitator.locator(f"#post-{waiting}")
    await fays_waiting.get_by_text(re.compile(r"^Moderate the post by Ola Author$")).click()
    await expect(fays_waiting.get_by_role("button", name="Approve")).to_be_visible()

    # Paul's connection drops and cannot come back for now.
    await cut_off(participant, server)

    # Meanwhile Fay approves Ola's waiting post and hides the first; Ola corrects the second.
    api = HttpClient(server)
    try:
        fay_token = await token_of(pool, fay)
        ola_token = await token_of(pool, ola)
        for post_id, action in (
            (waiting, {"action": "approve"}),
            (first, {"action": "hide", "reason": "Personal attack"}),
            (third, {"action": "pin"}),
        ):
            status_code, reply = await api.api(
                "POST", f"/api/v1/posts/{post_id}/moderation", action, token=fay_token
            )
            assert status_code == 200, reply
        corrected = "Fees rose by 9% this year, not 6%."
        status_code, reply = await api.api(
            "PATCH", f"/api/v1/posts/{second}", {"body": corrected}, token=ola_token
        )
        assert status_code == 200, reply
    finally:
        await api.close()
    # Still away: nothing came live.
    await expect(connection_status(participant)).to_have_text("Reconnecting…")
    await expect(article(participant, "Waiting for approval")).to_have_count(0)
    # Ola's page, connected all along, shows each change's notes as a fresh page would.
    await expect(author.locator(f"#post-{waiting}")).not_to_contain_text("Awaiting approval")
    await expect(author.locator(f"#post-{first}")).to_contain_text(
        "Hidden Removed by a facilitator: Personal attack. Others see only this reason; "
        "you can still see your text."
    )
    await expect(author.locator(f"#post-{first}")).to_contain_text("Post number 1")
    await expect(author.locator(f"#post-{third}")).to_contain_text("Pinned by a facilitator")
    await expect(author.locator(f"#post-{second}")).to_contain_text("(edited)")
    await assert_stayed(author)
    # Fay's tools for the posts that changed were for what they were: she is offered a reload
    # (the permalink) instead; the untouched post keeps its tools.
    for changed in (waiting, first, third):
        tools = facilitator.locator(f"#post-{changed}")
        await expect(tools.get_by_role("button", name="Approve")).to_have_count(0)
        reload_link = tools.get_by_role("link", name="Reload for the facilitator's tools")
        await expect(reload_link).to_have_attribute("href", f"/c/{conf['slug']}/posts/{changed}")
    await expect(
        facilitator.locator(f"#post-{second}").get_by_text(
            re.compile(r"^Moderate the post by Ola Author$")
        )
    ).to_be_visible()
    await assert_stayed(facilitator)

    await reconnect(participant)
    hidden = participant.locator(f"#post-{first}")
    await expect(hidden).to_contain_text("Removed by a facilitator: Personal attack")
    await expect(hidden).not_to_contain_text("Post number 1")
    await expect(article(participant, corrected)).to_have_count(1)
    await expect(article(participant, "Waiting for approval")).to_have_count(1)
    await expect(announcer(participant)).to_have_text("1 new post while you were away")
    await expect(article(participant, "Post number 2")).to_have_count(0)
    await expect(article(participant, "Post number 3")).to_have_count(1)
    await expect(participant.locator(f"#post-{third}")).to_contain_text("Pinned by a facilitator")
    await expect(participant.locator(f"#post-{second}")).to_contain_text("(edited)")
    await expect(participant.locator(f"#post-{waiting}")).not_to_contain_text("Awaiting")
    # Both pages count the thread's visible posts as the server does (approved one in, hidden
    # one out).
    count = await pool.fetchval("SELECT post_count FROM threads WHERE id = $1", thread["id"])
    assert count == 28
    for page in (participant, author):
        await expect(page.locator("[data-post-count]").first).to_have_text(str(count))
    await expect(participant.get_by_role("article")).to_have_count(29)
    await assert_stayed(participant)


# --- 4. a panel, live (issue 5) -----------------------------------------------------------


async def care_panel(world, pool) -> tuple[dict, dict, dict, dict, dict, dict]:
    """A panel open now: (conference, panel, asker, voter, facilitator, speaker)."""
    asker_user = await world.user("Asha Patel", title="Cllr")
    voter_user = await world.user("Ben Okafor")
    fay = await world.user("Fay Facilitator")
    sam = await world.user("Sam Speaker", title="Dr", organisation="Bristol City Council")
    conf = await world.conference()
    panel = await world.session(conf, kind="panel", title="Paying for care")
    await world.member(conf, asker_user)
    await world.member(conf, voter_user)
    await world.member(conf, fay, "facilitator")
    await world.member(conf, sam, "speaker")
    await pool.execute(
        "INSERT INTO session_speakers (session_id, user_id) VALUES ($1, $2)",
        panel["id"],
        sam["id"],
    )
    return conf, panel, asker_user, voter_user, fay, sam


async def test_a_panel_question_is_asked_voted_answered_live(world, new_page, pool):
    conf, panel, asker_user, voter_user, fay, sam = await care_panel(world, pool)
    url = f"/c/{conf['slug']}/panels/{panel['id']}"
    asker = await new_page(user=asker_user)
    voter = await new_page(user=voter_user)
    facilitator = await new_page(user=fay)
    speaker = await new_page(user=sam)
    await open_live(voter, url)
    await open_live(facilitator, url)
    await open_live(speaker, url)

    # Asha asks (the form posts and brings her back to the page).
    question = "How will the cap on care costs be funded?"
    await asker.goto(url)
    await asker.get_by_label("Your question", exact=True).fill(question)
    await asker.get_by_role("button", name="Ask question").click()
    mine = asker.get_by_role("listitem").filter(has_text=question)
    await expect(mine).to_be_visible()
    await expect(asker.get_by_text(HERE_NOW)).to_be_visible(timeout=LIVE_MS)
    await stay(asker)

    # Ben sees it arrive, with its vote button (confer.js, addQuestion), and votes.
    theirs = voter.get_by_role("listitem").filter(has_text=question)
    await expect(theirs).to_be_visible(timeout=LIVE_MS)
    await expect(announcer(voter)).to_have_text("New question from Cllr Asha Patel")
    await assert_stayed(voter)
    await expect(theirs.get_by_role("link", name=re.compile("Reload"))).to_have_count(0)
    await theirs.get_by_role("button", name="Vote for this question").click()
    await expect(
        theirs.get_by_role("button", name="Withdraw vote for this question")
    ).to_be_visible()
    await expect(voter.get_by_text(HERE_NOW)).to_be_visible(timeout=LIVE_MS)
    await stay(voter)

    # Asha's open page counts the vote.
    await expect(mine).to_contain_text("1 vote —", timeout=LIVE_MS)
    await assert_stayed(asker)

    # Fay marks it as being answered now: both participants see it without a reload.
    on_fays_page = facilitator.get_by_role("listitem").filter(has_text=question)
    await expect(on_fays_page).to_be_visible(timeout=LIVE_MS)
    await assert_stayed(facilitator)
    # Her tools for the new question (approve, answering now, dismiss, merge) come with the page.
    await expect(on_fays_page.get_by_role("button", name=re.compile("^Vote"))).to_have_count(1)
    await on_fays_page.get_by_role("link", name="Reload for the facilitator's tools").click()
    await on_fays_page.get_by_role("button", name=re.compile(r"^Mark as answering now")).click()
    await expect(on_fays_page.get_by_text("Answering now", exact=True)).to_be_visible()
    await expect(facilitator.get_by_text(HERE_NOW)).to_be_visible(timeout=LIVE_MS)
    await stay(facilitator)
    for page, item in ((asker, mine), (voter, theirs)):
        await expect(item.get_by_text("Answering now", exact=True)).to_be_visible(timeout=LIVE_MS)
        await assert_stayed(page)

    # Sam, a speaker of the panel, answers on the question as it arrived on his open page:
    # everyone sees the answer arrive.
    on_sams_page = speaker.get_by_role("listitem").filter(has_text=question)
    await expect(on_sams_page).to_be_visible(timeout=LIVE_MS)
    await assert_stayed(speaker)
    answer = "Through a mix of national grant and a local precept."
    await on_sams_page.get_by_label("Your answer to this question").fill(answer)
    await on_sams_page.get_by_role("button", name="Answer", exact=True).click()
    await expect(on_sams_page.get_by_text(answer)).to_be_visible()
    for page, item in ((asker, mine), (voter, theirs), (facilitator, on_fays_page)):
        await expect(item.get_by_text(answer)).to_be_visible(timeout=LIVE_MS)
        await expect(item).to_contain_text("Answer from Dr Sam Speaker, Bristol City Council")
        await assert_stayed(page)
    # The voter hears of the answer; the asker is told it answers their question (#23).
    await expect(announcer(voter)).to_have_text("New answer from Dr Sam Speaker")
    await expect(announcer(asker)).to_have_text(
        "New notification: Dr Sam Speaker answered your question in “Paying for care”"
    )


async def test_a_panel_page_catches_up_after_its_connection_drops(world, new_page, server, pool):
    """Questions asked, votes cast and answers given while a panel page's connection was down
    reach the page when it reconnects (every join of the panel room asks for the questions
    changed since the newest change it saw), in place, without a reload and without doubles."""
    conf, panel, asker_user, voter_user, fay, sam = await care_panel(world, pool)
    watcher_user = await world.user("Wendy Watcher")
    await world.member(conf, watcher_user)
    first = "How will the cap on care costs be funded?"
    second = "Will carers get a say in the new charging rules?"
    answer = "Through a mix of national grant and a local precept."
    api = HttpClient(server)
    try:
        asker_token = await token_of(pool, asker_user)
        status_code, asked = await api.api(
            "POST", f"/api/v1/panels/{panel['id']}/questions", {"body": first}, token=asker_token
        )
        assert status_code == 201, asked
        first_id = asked["id"]

        # Wendy opens the panel page: the question is there, with no votes yet. Fay's page
        # stays connected throughout: its "N here now" tells whether Wendy's page is there.
        url = f"/c/{conf['slug']}/panels/{panel['id']}"
        facilitator = await new_page(user=fay)
        await open_live(facilitator, url)
        watcher = await new_page(user=watcher_user)
        await open_live(watcher, url)
        here_now = facilitator.get_by_text(HERE_NOW)
        await expect(here_now).to_have_text("2 here now", timeout=LIVE_MS)
        questions = watcher.locator("[data-questions] > li")
        await expect(questions).to_have_count(1)
        on_page = watcher.locator(f"#question-{first_id}")
        await expect(on_page).to_contain_text(first)
        await expect(on_page.locator("[data-vote-count]")).to_have_text("0")
        await expect(on_page).to_contain_text("0 votes —")

        # Wendy's connection drops and cannot come back for now (Fay's page, which does
        # reconnect, counts one reader).
        await cut_off(watcher, server)
        await expect(here_now).to_have_text("1 here now", timeout=2 * LIVE_MS)

        # Meanwhile Asha asks again, Ben votes for the first question, Fay marks it as being
        # answered now and Sam answers it.
        status_code, reply = await api.api(
            "POST", f"/api/v1/panels/{panel['id']}/questions", {"body": second}, token=asker_token
        )
        assert status_code == 201, reply
        status_code, reply = await api.api(
            "POST",
            f"/api/v1/questions/{first_id}/vote",
            token=await token_of(pool, voter_user),
        )
        assert status_code == 200, reply
        status_code, reply = await api.api(
            "POST",
            f"/api/v1/questions/{first_id}/state",
            {"action": "answering"},
            token=await token_of(pool, fay),
        )
        assert status_code == 200, reply
        status_code, reply = await api.api(
            "POST",
            f"/api/v1/questions/{first_id}/answers",
            {"body": answer},
            token=await token_of(pool, sam),
        )
        assert status_code == 201, reply
    finally:
        await api.close()
    # Fay's page, connected, saw it all arrive live...
    on_fays_page = facilitator.locator(f"#question-{first_id}")
    await expect(
        facilitator.locator("[data-questions] > li").filter(has_text=second)
    ).to_have_count(1, timeout=LIVE_MS)
    await expect(on_fays_page.get_by_text(answer)).to_be_visible(timeout=LIVE_MS)
    await expect(on_fays_page.locator("[data-vote-count]")).to_have_text("1", timeout=LIVE_MS)
    await assert_stayed(facilitator)
    # ...Wendy's, away, none of it.
    await expect(here_now).to_have_text("1 here now")
    await expect(questions.filter(has_text=second)).to_have_count(0)
    await expect(on_page.locator("[data-vote-count]")).to_have_text("0")
    await expect(on_page.get_by_text(answer)).to_have_count(0)
    await expect(on_page.get_by_text("Answering now", exact=True)).to_have_count(0)

    # The connection comes back: the re-join brings the questions changed meanwhile.
    await reconnect(watcher)
    await expect(here_now).to_have_text("2 here now", timeout=LIVE_MS)
    await expect(questions.filter(has_text=second)).to_have_count(1, timeout=LIVE_MS)
    await expect(on_page.locator("[data-vote-count]")).to_have_text("1")
    await expect(on_page).to_contain_text("1 vote —")
    # A written answer marks the question answered (#23): no longer "Answering now".
    await expect(on_page.get_by_text("Answered", exact=True)).to_be_visible()
    await expect(on_page.get_by_text("Answering now", exact=True)).to_have_count(0)
    await expect(on_page.get_by_text(answer)).to_be_visible()
    await expect(on_page).to_contain_text("Answer from Dr Sam Speaker, Bristol City Council")
    await expect(announcer(watcher)).to_have_text(
        "1 new question and 1 new answer while you were away"
    )
    await expect(questions).to_have_count(2)
    await expect(questions.filter(has_text=first)).to_have_count(1)
    await expect(on_page.locator(".confer-answer")).to_have_count(1)
    await assert_stayed(watcher)


async def test_the_moderation_page_catches_up_its_counts_after_its_connection_drops(
    world, new_page, server, pool
):
    """A post awaiting approval that arrives while the moderation page's connection is down
    is counted when it reconnects (every join asks for the counts as they are now)."""
    conf, thread, fay, _, ola = await care_thread(world, posts=1)
    await pool.execute("UPDATE threads SET premoderated = true WHERE id = $1", thread["id"])
    wire = Wire(moderation := await new_page(user=fay))
    await moderation.goto(f"/c/{conf['slug']}/moderation")
    waiting = moderation.get_by_role("heading", name=re.compile(r"^Waiting for approval"))
    await expect(waiting).to_have_text(re.compile(r"^Waiting for approval\s+0$"))
    await wire.wait_for("presence", f"moderation:{conf['id']}")
    await stay(moderation)

    await cut_off(moderation, server)
    api = HttpClient(server)
    try:
        status_code, reply = await api.api(
            "POST",
            f"/api/v1/threads/{thread['id']}/posts",
            {"body": "Please approve me"},
            token=await token_of(pool, ola),
        )
        assert status_code == 201 and reply["status"] == "pending", reply
    finally:
        await api.close()
    await expect(waiting).to_have_text(re.compile(r"^Waiting for approval\s+0$"))

    await reconnect(moderation)
    await expect(waiting).to_have_text(re.compile(r"^Waiting for approval\s+1$"))
    await expect(moderation.locator("[data-moderation-live]")).to_have_text(
        "The queue changed while this page was not connected. Reload to review"
    )
    await expect(announcer(moderation)).to_have_text(
        "The queue changed while this page was not connected."
    )
    await assert_stayed(moderation)
