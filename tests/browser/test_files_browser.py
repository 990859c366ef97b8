"""Files in Chromium (issue #25): an organiser uploads slides with the progress bar, a speaker
uploads a picture without JavaScript (and is asked for its text alternative first), a member
adds a file to their post; a real clamd checks every file; axe on the pages that changed."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from playwright.async_api import expect

from confer.settings import Settings
from tests.browser.helpers import SESSION_LOOP, Audits
from tests.clamd import PDF, Clamd

pytestmark = [pytest.mark.browser, SESSION_LOOP]


@pytest.fixture
def settings(database_url: str, clamd: Clamd) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret",
        base_url="http://127.0.0.1",
        rate_limits="off",
        clamd_socket=clamd.socket,
    )


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


async def test_slides_and_pictures_are_uploaded_checked_and_shown(world, new_page, pool):
    c = await world.conference()
    panel = await world.session(c, kind="panel", title="Budgets panel")
    talk = await world.session(c, kind="discussion", title="Open discussion",
                               starts_in=timedelta(hours=-1))  # fmt: skip
    organiser = await world.user("Olivia Organiser")
    speaker = await world.user("Sunil Speaker")
    member = await world.user("Asha Patel")
    await world.member(c, organiser, "organiser")
    await world.member(c, speaker, "speaker")
    await world.member(c, member, "participant")
    await pool.execute(
        "INSERT INTO session_speakers (session_id, user_id) VALUES ($1, $2)",
        panel["id"],
        speaker["id"],
    )
    await pool.execute("UPDATE conferences SET post_files_enabled = true WHERE id = $1", c["id"])
    thread = await world.thread(talk, member)
    post_id = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread["id"])
    audits = Audits()

    # The organiser, with JavaScript: the progress bar, then the page listing the slides.
    page = await new_page(user=organiser)
    await page.goto(f"/c/{c['slug']}/sessions/{panel['id']}")
    await page.get_by_label("Title").first.fill("Budget slides")
    await page.get_by_label("File", exact=True).set_input_files(
        {"name": "slides.pdf", "mimeType": "application/pdf", "buffer": PDF * 2000}
    )
    await page.get_by_role("button", name="Upload file").click()
    await expect(page.get_by_role("link", name="Budget slides")).to_be_visible()
    assert await pool.fetchval("SELECT scan_state FROM files WHERE title = 'Budget slides'") == (
        "clean"
    )
    await audits.check(page, "session page with papers and slides")
    # A picture without its text alternative: the form comes back with the error (the page as
    # the server wrote it, put in place by confer.js).
    await page.get_by_label("Title").first.fill("A picture")
    await page.get_by_label("File", exact=True).set_input_files(
        {"name": "board.png", "mimeType": "image/png", "buffer": _png()}
    )
    await page.get_by_role("button", name="Upload file").click()
    await expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a text alternative")
    await expect(page.get_by_label("Title").first).to_have_value("A picture")
    await audits.check(page, "session page with an upload error")
    await page.goto(f"/c/{c['slug']}/manage/moderation")
    await expect(page.get_by_role("heading", name="Files in posts")).to_be_visible()
    await audits.check(page, "manage page with the files setting")

    # The speaker, without JavaScript: a picture needs its text alternative.
    page = await new_page(js=False, user=speaker)
    await page.goto(f"/c/{c['slug']}/panels/{panel['id']}")
    await page.get_by_label("Title").first.fill("Our noticeboard")
    await page.get_by_label("File", exact=True).set_input_files(
        {"name": "board.png", "mimeType": "image/png", "buffer": _png()}
    )
    await page.get_by_role("button", name="Upload file").click()
    summary = page.locator(".govuk-error-summary")
    await expect(summary).to_contain_text("Enter a text alternative")
    await page.get_by_label("Text alternative (for pictures)").fill("A noticeboard of posters")
    await page.get_by_label("File", exact=True).set_input_files(
        {"name": "board.png", "mimeType": "image/png", "buffer": _png()}
    )
    await page.get_by_role("button", name="Upload file").click()
    await expect(page.get_by_role("img", name="A noticeboard of posters")).to_be_visible()
    page = await new_page(user=speaker)  # axe needs JavaScript
    await page.goto(f"/c/{c['slug']}/panels/{panel['id']}")
    await audits.check(page, "panel page with a picture")

    # A member adds a file to their own post.
    page = await new_page(user=member)
    await page.goto(f"/c/{c['slug']}/threads/{thread['id']}")
    await page.get_by_role("link", name="Add a file to your post").click()
    await audits.check(page, "files on your post")
    await page.get_by_label("File", exact=True).set_input_files(
        {"name": "notes.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await page.get_by_role("button", name="Upload file").click()
    await expect(page.get_by_role("link", name="notes.pdf")).to_be_visible()
    await page.goto(f"/c/{c['slug']}/threads/{thread['id']}")
    await expect(
        page.locator(f"#post-{post_id}").get_by_role("link", name="notes.pdf")
    ).to_be_visible()
    audits.assert_clean()
