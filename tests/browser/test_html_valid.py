"""Every type of page is valid HTML (#23): the W3C Nu HTML checker over the HTML the server
sends, for every page type and role of the seeded world of test_i18n_pages.py.

The checker is npm's vnu-jar, installed by tests/system-packages.sh (part of the README's test
command) into tests/.vnu and run with the machine's Java, once over all the pages. Any error
fails the test with the list, page by page.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from confer.keys import ctx_key
from confer.posts import service as posts
from tests.browser.helpers import SESSION_LOOP
from tests.browser.test_i18n_pages import seed
from tests.browser.test_notices_pages import ALL_KINDS, actor, every_notice

pytestmark = [pytest.mark.browser, SESSION_LOOP]

VNU = Path(__file__).resolve().parent.parent / ".vnu/node_modules/vnu-jar/build/dist/vnu.jar"


def nu_errors(files: list[Path]) -> list[dict]:
    """The checker's errors over `files`, in one run (JSON on stderr)."""
    java = shutil.which("java")
    assert java, "the Nu HTML checker needs Java (tests/system-packages.txt)"
    assert VNU.is_file(), f"{VNU} is missing: run sh tests/system-packages.sh"
    run = subprocess.run(
        [java, "-jar", str(VNU), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(run.stderr or '{"messages": []}')
    return [m for m in report["messages"] if m.get("type") in ("error", "non-document-error")]


async def test_the_checker_finds_an_error():
    """The test below could not pass by never looking: a div in a ul is reported."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "bad.html"
        bad.write_text(
            '<!DOCTYPE html><html lang="en"><title>x</title><ul><div>no</div></ul>'
            '<time datetime="2026-12-06T14:12:19.740389+00:00">then</time></html>'
        )
        errors = nu_errors([bad])
    assert any("ul" in e["message"] for e in errors), errors
    assert any("datetime" in e["message"] for e in errors), errors


def report_of(files: dict[str, str], tmp_path: Path) -> list[str]:
    errors = nu_errors(sorted(tmp_path.glob("*.html")))
    return [
        f"{files.get(Path(e['url']).name, e['url'])}: line {e.get('lastLine')}: {e['message']}"
        f"\n    {e.get('extract', '').strip()}"
        for e in errors
    ]


async def test_every_page_type_is_valid_html(world, new_page, server, tmp_path):
    s = await seed(world)
    await _with_files(world, s)
    files: dict[str, str] = {}
    # Pages outside the pseudo-locale's seed (their text is not Confer's to translate): the
    # accessibility statement, rendered from docs/accessibility.md.
    extra = [(None, [("accessibility statement", "/accessibility", 200)])]
    for user, pages in [*s["pages"], *extra]:
        page = await new_page(user=user)
        who = user["name"] if user else "anonymous"
        for label, path, status in pages:
            response = await page.goto(path)
            assert response is not None, (label, path)
            assert status is None or response.status == status, (label, path, response.status)
            name = f"{len(files):02d}.html"
            (tmp_path / name).write_text(await response.text(), encoding="utf-8")
            files[name] = f"{label} ({path}, as {who})"
    report = report_of(files, tmp_path)
    assert not report, f"{len(report)} HTML errors:\n" + "\n".join(report)


async def test_notices_confirmations_and_error_summaries_are_valid_html(
    world, new_page, server, tmp_path
):
    """The states #23 added: notifications of every kind, "Delete this post?", the banner with
    "Undo" and the one after it, the green banners after a facilitator's action and after
    saving, and error summaries, all now first in <main> (base.html's `notices` block)."""
    s = await every_notice(world, server)
    ctx = server.app[ctx_key]
    c = f"/c/{s['slug']}"
    thread = f"{c}/threads/{s['thread']['id']}"
    bobs = s["bobs_post"]
    hers = await world.pool.fetchval(
        "SELECT id FROM posts WHERE thread_id = $1 AND author_id = $2",
        s["thread"]["id"], s["alice"]["id"],
    )  # fmt: skip
    files: dict[str, str] = {}

    def keep(label: str, html: str) -> None:
        name = f"{len(files):02d}.html"
        (tmp_path / name).write_text(html, encoding="utf-8")
        files[name] = label

    async def get(page, label: str, path: str, status: int = 200) -> str:
        response = await page.goto(path)
        assert response is not None and response.status == status, (label, path, response)
        html = await response.text()
        keep(f"{label} ({path})", html)
        return html

    async def posted(page, label: str, button: str, status: int) -> None:
        """The page the server sends back for a form sent with a mistake."""
        async with page.expect_response(lambda r: r.request.method == "POST") as sent:
            await page.get_by_role("button", name=button, exact=True).click()
        response = await sent.value
        assert response.status == status, (label, response.status)
        keep(f"{label} (POST {response.url})", await response.text())

    alice = await new_page(js=False, user=s["alice"])
    html = await get(alice, "notifications of every kind", "/notifications")
    assert html.count('class="confer-notification ') == len(ALL_KINDS), html
    await get(alice, "notifications, marked read", "/notifications?done=read")

    bob = await new_page(js=False, user=s["bob"])
    await get(bob, "delete this post?", f"{c}/posts/{bobs}/delete")
    await posts.delete_post(ctx, actor(s["bob"]), bobs)
    html = await get(bob, "undo banner", f"{thread}?page=1&done=post-deleted&post={bobs}")
    assert "Undo" in html
    await posts.undo_delete(ctx, actor(s["bob"]), bobs)
    await get(bob, "post brought back", f"{thread}?page=1&done=post-restored&post={bobs}")
    await get(bob, "profile saved", "/account?done=profile-saved")
    await get(bob, "thread, report sent", f"{thread}?flagged=1")
    await bob.goto(thread)
    await posted(bob, "thread, empty post", "Post", 422)
    await bob.goto("/account")
    await bob.get_by_label("Display name").fill("")
    await posted(bob, "account, no name", "Save profile", 422)

    fac = await new_page(js=False, user=s["fac"])
    await get(fac, "thread pinned", f"{thread}?done=thread-pin")
    await get(fac, "post hidden", f"{thread}?page=1&done=post-hide&post={hers}")
    await get(fac, "moderation, reports closed", f"{c}/moderation?done=flags-keep")

    report = report_of(files, tmp_path)
    assert not report, f"{len(report)} HTML errors:\n" + "\n".join(report)


async def _with_files(world, s) -> None:
    """Files (issue #25) on the seeded world: a picture and a paper on the panel, files in
    posts allowed, and the page of files on the participant's post."""
    pool, conf = world.pool, s["conf"]
    await pool.execute("UPDATE conferences SET post_files_enabled = true WHERE id = $1", conf["id"])
    panel = await pool.fetchval(
        "SELECT id FROM sessions WHERE conference_id = $1 AND kind = 'panel'", conf["id"]
    )
    for title, alt, name, kind, ctype in (
        ("Slides", "", "slides.pdf", "pdf", "application/pdf"),
        ("Noticeboard", "A noticeboard", "board.png", "image", "image/png"),
    ):
        await pool.execute(
            """
            INSERT INTO files (conference_id, uploader_id, session_id, title, alt, filename,
                               content_type, kind, size, chunks, sha256, scan_state)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, '', 'clean')
            """,
            conf["id"], s["participant"]["id"], panel, title, alt, name, kind and ctype, kind,
        )  # fmt: skip
    post = await pool.fetchval(
        "SELECT id FROM posts WHERE author_id = $1 AND status = 'visible' ORDER BY id LIMIT 1",
        s["participant"]["id"],
    )
    c = f"/c/{conf['slug']}"
    for user, pages in s["pages"]:
        if user is not None and user["id"] == s["participant"]["id"]:
            pages.append(("files on your post", f"{c}/posts/{post}/files", 200))
