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

from tests.browser.helpers import SESSION_LOOP
from tests.browser.test_i18n_pages import seed

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


async def test_every_page_type_is_valid_html(world, new_page, server, tmp_path):
    s = await seed(world)
    await _with_files(world, s)
    files: dict[str, str] = {}
    for user, pages in s["pages"]:
        page = await new_page(user=user)
        who = user["name"] if user else "anonymous"
        for label, path, status in pages:
            response = await page.goto(path)
            assert response is not None, (label, path)
            assert status is None or response.status == status, (label, path, response.status)
            name = f"{len(files):02d}.html"
            (tmp_path / name).write_text(await response.text(), encoding="utf-8")
            files[name] = f"{label} ({path}, as {who})"
    errors = nu_errors(sorted(tmp_path.glob("*.html")))
    report = [
        f"{files.get(Path(e['url']).name, e['url'])}: line {e.get('lastLine')}: {e['message']}"
        f"\n    {e.get('extract', '').strip()}"
        for e in errors
    ]
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
