"""Files on sessions and posts (issue #25): stored in PostgreSQL in chunks, scanned by a real
clamd (tests/clamd.py) before anyone can fetch them, served safely, within their limits."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from confer.accounts import service as accounts
from confer.app import create_app
from confer.policy import Actor
from confer.settings import Settings
from tests.clamd import EICAR, PDF, Clamd

SCHEMA = Path(__file__).parent.parent / "docs" / "transcript.schema.json"


@pytest.fixture
def scanned(settings: Settings, clamd: Clamd) -> Settings:
    if not clamd.ping():  # a test that stopped it starts it again for the next
        clamd.start()
    return settings.with_(clamd_socket=clamd.socket, files_scan_retry_seconds=0.2)


async def _server(aiohttp_server: Any, settings: Settings) -> Any:
    return await aiohttp_server(create_app(settings), host="127.0.0.1")


async def _token(pool: Any, user: dict) -> str:
    token, _ = await accounts.create_api_token(
        pool, Actor(user_id=user["id"], name=user["name"]), "t"
    )
    return token


class Client:
    """A signed-in browser without JavaScript, sending multipart forms as a browser does: the
    fields in the order of the form (the CSRF token first, the file last)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def get(self, path: str) -> tuple[aiohttp.ClientResponse, bytes]:
        async with self.session.get(self.base + path) as r:
            body = await r.read()
        import re

        if m := re.search(rb'<meta name="csrf-token" content="([^"]*)">', body):
            self.csrf = m.group(1).decode()
        return r, body

    async def sign_in(self, email: str) -> None:
        await self.get("/login")
        async with self.session.post(
            self.base + "/login",
            data={
                "csrf_token": self.csrf,
                "email": email,
                "password": "correct horse battery staple",
            },
            allow_redirects=False,
        ) as r:
            assert r.status == 303, await r.text()
        await self.get("/")

    async def upload(
        self,
        path: str,
        content: bytes,
        filename: str,
        *,
        title: str = "A paper",
        alt: str = "",
        csrf: bool = True,
    ) -> tuple[aiohttp.ClientResponse, str]:
        form = aiohttp.FormData()
        if csrf:
            form.add_field("csrf_token", self.csrf)
        form.add_field("title", title)
        form.add_field("alt", alt)
        form.add_field("file", content, filename=filename, content_type="application/octet-stream")
        async with self.session.post(self.base + path, data=form, allow_redirects=False) as r:
            return r, await r.text()

    async def close(self) -> None:
        await self.session.close()


@pytest.fixture
async def clients() -> AsyncIterator[Any]:
    made: list[Client] = []

    async def make(server: Any, email: str | None = None) -> Client:
        c = Client(str(server.make_url("")).rstrip("/"))
        made.append(c)
        if email:
            await c.sign_in(email)
        else:
            await c.get("/")
        return c

    yield make
    for c in made:
        await c.close()


async def _setup(world: Any, *, visibility: str = "public") -> dict:
    c = await world.conference(visibility=visibility)
    s = await world.session(c, kind="panel", title="Budgets panel")
    organiser = await world.user("Olive Organiser")
    await world.member(c, organiser, "organiser")
    return {"c": c, "s": s, "organiser": organiser}


def _files_path(w: dict) -> str:
    return f"/c/{w['c']['slug']}/sessions/{w['s']['id']}/files"


async def _wait_state(pool: Any, file_id: int, state: str) -> None:
    async with asyncio.timeout(60):
        while (  # noqa: ASYNC110 - the state is in the database, written by the server's task
            await pool.fetchval("SELECT scan_state FROM files WHERE id = $1", file_id)
        ) != state:
            await asyncio.sleep(0.05)


async def test_a_paper_uploaded_through_the_form_is_scanned_and_served_as_an_attachment(
    world, pool, scanned, aiohttp_server, clients
):
    w = await _setup(world)
    server = await _server(aiohttp_server, scanned)
    org = await clients(server, w["organiser"]["email"])
    r, text = await org.upload(_files_path(w), PDF * 100, "../../etc/Budget 2027.pdf")
    assert r.status == 303, text[:3000]
    row = await pool.fetchrow("SELECT * FROM files")
    assert row["scan_state"] == "clean"
    assert row["content_type"] == "application/pdf" and row["filename"] == "Budget 2027.pdf"
    assert row["size"] == len(PDF) * 100

    r, page = await org.get(f"/c/{w['c']['slug']}/sessions/{w['s']['id']}")
    assert b"Papers and slides" in page and b"A paper" in page
    # The panel page and the programme's entry list it too.
    r, panel = await org.get(f"/c/{w['c']['slug']}/panels/{w['s']['id']}")
    assert b"A paper" in panel
    r, programme = await org.get(f"/c/{w['c']['slug']}/programme")
    assert b"A paper" in programme

    reader = await clients(server)
    r, body = await reader.get(f"/c/{w['c']['slug']}/files/{row['id']}/Budget%202027.pdf")
    assert r.status == 200 and body == PDF * 100
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r.headers["Content-Security-Policy"]
    assert "script-src" not in r.headers["Content-Security-Policy"]


async def test_the_eicar_file_is_refused_and_recorded_for_moderators(
    world, pool, scanned, aiohttp_server, clients
):
    w = await _setup(world)
    server = await _server(aiohttp_server, scanned)
    org = await clients(server, w["organiser"]["email"])
    r, text = await org.upload(_files_path(w), EICAR, "notes.txt", title="Notes")
    assert r.status == 422
    assert "the virus scanner found a virus in it" in text
    row = await pool.fetchrow("SELECT * FROM files")
    assert row["scan_state"] == "infected" and "UNOFFICIAL" in row["scan_result"]
    assert await pool.fetchval("SELECT count(*) FROM file_chunks") == 0
    log = await pool.fetchrow("SELECT * FROM moderation_log WHERE target_type = 'file'")
    assert log["action"] == "file.infected" and log["target_id"] == row["id"]
    r, page = await org.get(f"/c/{w['c']['slug']}/moderation")
    assert b"virus" in page
    reader = await clients(server)
    r, _ = await reader.get(f"/c/{w['c']['slug']}/files/{row['id']}/notes.txt")
    assert r.status == 404


async def test_files_wait_while_the_scanner_is_away_and_are_scanned_when_it_returns(
    world, pool, scanned, clamd, aiohttp_server, clients
):
    w = await _setup(world)
    server = await _server(aiohttp_server, scanned)
    org = await clients(server, w["organiser"]["email"])
    clamd.stop()
    r, text = await org.upload(_files_path(w), PDF, "slides.pdf", title="Slides")
    assert r.status == 303, text[:3000]
    r, text = await org.upload(_files_path(w), EICAR, "bad.txt", title="Bad")
    assert r.status == 303, text[:3000]
    good, bad = [r["id"] for r in await pool.fetch("SELECT id FROM files ORDER BY id")]
    assert await pool.fetchval("SELECT scan_state FROM files WHERE id = $1", good) == "pending"
    reader = await clients(server)
    r, body = await reader.get(f"/c/{w['c']['slug']}/files/{good}/slides.pdf")
    assert r.status == 409 and PDF not in body
    r, page = await org.get(f"/c/{w['c']['slug']}/sessions/{w['s']['id']}")
    assert b"Being checked for viruses" in page

    await asyncio.get_running_loop().run_in_executor(None, clamd.start)
    await _wait_state(pool, good, "clean")
    await _wait_state(pool, bad, "infected")
    r, body = await reader.get(f"/c/{w['c']['slug']}/files/{good}/slides.pdf")
    assert r.status == 200 and body == PDF
    assert await pool.fetchval(
        "SELECT count(*) FROM moderation_log WHERE target_type = 'file' AND target_id = $1", bad
    )


def _jpeg_with_gps() -> bytes:
    im = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    gps = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (3.0, 10.0, 0.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    im.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the GPS is really there
    return data


async def test_a_photo_is_served_without_its_gps_location_and_needs_a_text_alternative(
    world, pool, scanned, aiohttp_server, clients
):
    w = await _setup(world)
    server = await _server(aiohttp_server, scanned)
    org = await clients(server, w["organiser"]["email"])
    photo = _jpeg_with_gps()
    r, text = await org.upload(_files_path(w), photo, "noticeboard.jpg", title="Noticeboard")
    assert r.status == 422 and "Enter a text alternative" in text
    assert 'value="Noticeboard"' in text  # what was typed comes back
    r, text = await org.upload(
        _files_path(w), photo, "noticeboard.jpg", title="Noticeboard", alt="A noticeboard"
    )
    assert r.status == 303, text[:3000]
    file_id = await pool.fetchval("SELECT id FROM files")
    r, body = await org.get(f"/c/{w['c']['slug']}/files/{file_id}/noticeboard.jpg")
    assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert r.headers["Content-Disposition"].startswith("inline;")
    served = Image.open(io.BytesIO(body))
    assert served.size == (64, 48)
    assert not served.getexif().get_ifd(0x8825) and 0x010F not in served.getexif()
    assert b"Camera maker" not in body
    r, page = await org.get(f"/c/{w['c']['slug']}/sessions/{w['s']['id']}")
    assert b'alt="A noticeboard"' in page


async def test_an_svg_with_a_script_is_refused(world, pool, scanned, aiohttp_server, clients):
    w = await _setup(world)
    server = await _server(aiohttp_server, scanned)
    org = await clients(server, w["organiser"]["email"])
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    r, text = await org.upload(_files_path(w), svg, "logo.png", title="Logo", alt="Logo")
    assert r.status == 422 and "SVG images cannot be uploaded" in text
    html = b"<!doctype html><script>alert(1)</script>"
    r, text = await org.upload(_files_path(w), html, "page.txt", title="Page")
    assert r.status == 422 and "This type of file cannot be uploaded here" in text
    assert await pool.fetchval("SELECT count(*) FROM files") == 0


async def test_an_upload_over_the_limit_is_refused_with_413_before_it_is_sent_whole(
    world, pool, settings, aiohttp_server
):
    """The server answers 413 from Content-Length while the client has sent only the start of
    the body: it cannot have read it."""
    w = await _setup(world)
    server = await _server(aiohttp_server, settings.with_(file_max_bytes=1024 * 1024))
    token = await _token(pool, w["organiser"])
    declared = 50 * 1024 * 1024
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    head = (
        f"POST /api/v1/sessions/{w['s']['id']}/files HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: multipart/form-data; boundary=XyZ\r\n"
        f"Content-Length: {declared}\r\n\r\n"
        '--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nBig\r\n'
        '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    writer.write(head + PDF + b"\0" * 65536)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 60)
    assert b" 413 " in status_line
    headers = (await reader.readuntil(b"\r\n\r\n")).decode()
    length = int(
        next(h for h in headers.split("\r\n") if h.lower().startswith("content-length")).split(":")[
            1
        ]
    )
    body = json.loads(await reader.readexactly(length))
    assert body["error"]["code"] == "too_large" and "smaller than 1 MB" in body["error"]["message"]
    writer.close()
    assert await pool.fetchval("SELECT count(*) FROM files") == 0


async def test_a_multipart_body_with_a_malformed_part_header_is_a_400(
    world, pool, settings, aiohttp_server
):
    """Found by Schemathesis: a part whose header holds a control character made aiohttp's
    multipart reader raise an HTTP parsing error, answered 500."""
    w = await _setup(world)
    server = await _server(aiohttp_server, settings)
    token = await _token(pool, w["organiser"])
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="\x16\x11bad"\r\n\r\n1\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
        + PDF
        + b"\r\n--XyZ--\r\n"
    )
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"http://127.0.0.1:{server.port}/api/v1/sessions/{w['s']['id']}/files",
            data=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "multipart/form-data; boundary=XyZ",
            },
        ) as r:
            assert r.status == 400, await r.text()
            assert (await r.json())["error"]["message"] == "The form could not be read."
    assert await pool.fetchval("SELECT count(*) FROM files") == 0


async def test_a_chunked_upload_is_stopped_at_the_limit(world, pool, settings, aiohttp_server):
    """Without Content-Length, the limit is kept while streaming: 413, nothing stored."""
    w = await _setup(world)
    server = await _server(aiohttp_server, settings.with_(file_max_bytes=1024 * 1024))
    token = await _token(pool, w["organiser"])

    async def body() -> AsyncIterator[bytes]:
        yield b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nBig\r\n'
        yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n\r\n'
        yield PDF
        for _ in range(40):
            yield b"\0" * 65536
        yield b"\r\n--XyZ--\r\n"

    async with (
        aiohttp.ClientSession() as http,
        http.post(
            str(server.make_url(f"/api/v1/sessions/{w['s']['id']}/files")),
            data=body(),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "multipart/form-data; boundary=XyZ",
            },
        ) as r,
    ):
        assert r.status == 413
    assert await pool.fetchval("SELECT count(*) FROM files") == 0
    assert await pool.fetchval("SELECT count(*) FROM file_chunks") == 0


async def test_members_only_files_are_404_to_outsiders(
    world, pool, settings, aiohttp_server, clients
):
    w = await _setup(world, visibility="members")
    member = await world.user("Mo Member")
    await world.member(w["c"], member, "participant")
    outsider = await world.user("Oscar Outsider")
    server = await _server(aiohttp_server, settings)
    org = await clients(server, w["organiser"]["email"])
    r, text = await org.upload(_files_path(w), PDF, "minutes.pdf", title="Minutes")
    assert r.status == 303, text[:3000]
    file_id = await pool.fetchval("SELECT id FROM files")
    path = f"/c/{w['c']['slug']}/files/{file_id}/minutes.pdf"
    for who in (outsider["email"], None):
        r, body = await (await clients(server, who)).get(path)
        assert r.status == 404 and PDF not in body
    r, body = await (await clients(server, member["email"])).get(path)
    assert r.status == 200 and body == PDF


async def test_without_a_scanner_files_are_served_with_a_note_to_organisers(
    world, pool, settings, aiohttp_server, clients
):
    w = await _setup(world)
    participant = await world.user("Pat Participant")
    await world.member(w["c"], participant, "participant")
    server = await _server(aiohttp_server, settings)
    org = await clients(server, w["organiser"]["email"])
    r, _ = await org.upload(_files_path(w), PDF, "a.pdf", title="Agenda")
    assert await pool.fetchval("SELECT scan_state FROM files") == "unscanned"
    session_page = f"/c/{w['c']['slug']}/sessions/{w['s']['id']}"
    r, page = await org.get(session_page)
    assert b"Not scanned for viruses" in page
    other = await clients(server, participant["email"])
    r, page = await other.get(session_page)
    assert b"Agenda" in page and b"Not scanned for viruses" not in page
    # A participant may not add papers to a session that is not theirs.
    r, text = await other.upload(_files_path(w), PDF, "b.pdf", title="Mine")
    assert r.status == 403


async def test_files_stored_without_a_scanner_are_scanned_once_one_is_configured(
    world, pool, settings, scanned, aiohttp_server, clients
):
    """A site that starts without CLAMD_SOCKET (the demo) and configures it later: the files
    stored unscanned are held, then scanned, and an infected one is refused after all."""
    w = await _setup(world)
    server = await _server(aiohttp_server, settings)  # no scanner
    org = await clients(server, w["organiser"]["email"])
    await org.upload(_files_path(w), PDF, "a.pdf", title="Agenda")
    await org.upload(_files_path(w), EICAR, "b.txt", title="Notes")
    good, bad = [r["id"] for r in await pool.fetch("SELECT id FROM files ORDER BY id")]
    assert await pool.fetchval("SELECT count(*) FROM files WHERE scan_state = 'unscanned'") == 2
    await server.close()

    server = await _server(aiohttp_server, scanned)  # restarted with CLAMD_SOCKET
    await _wait_state(pool, good, "clean")
    await _wait_state(pool, bad, "infected")
    reader = await clients(server)
    r, body = await reader.get(f"/c/{w['c']['slug']}/files/{good}/a.pdf")
    assert r.status == 200 and body == PDF
    r, _ = await reader.get(f"/c/{w['c']['slug']}/files/{bad}/b.txt")
    assert r.status == 404


async def test_a_speaker_adds_slides_to_their_own_session_and_the_form_needs_its_token(
    world, pool, settings, aiohttp_server, clients
):
    w = await _setup(world)
    speaker = await world.user("Sam Speaker")
    await world.member(w["c"], speaker, "speaker")
    await pool.execute(
        "INSERT INTO session_speakers (session_id, user_id) VALUES ($1, $2)",
        w["s"]["id"],
        speaker["id"],
    )
    server = await _server(aiohttp_server, settings)
    sam = await clients(server, speaker["email"])
    r, _ = await sam.upload(_files_path(w), PDF, "s.pdf", title="Slides", csrf=False)
    assert r.status == 403
    assert await pool.fetchval("SELECT count(*) FROM files") == 0
    r, text = await sam.upload(_files_path(w), PDF, "s.pdf", title="Slides")
    assert r.status == 303, text[:3000]


async def test_the_api_uploads_and_lists_files_and_keeps_the_member_quota(
    world, pool, settings, aiohttp_server
):
    w = await _setup(world)
    server = await _server(aiohttp_server, settings.with_(files_member_quota_bytes=1024 * 1024))
    token = await _token(pool, w["organiser"])
    headers = {"Authorization": f"Bearer {token}"}
    url = str(server.make_url(f"/api/v1/sessions/{w['s']['id']}/files"))
    async with aiohttp.ClientSession(headers=headers) as http:
        form = aiohttp.FormData()
        form.add_field("title", "Workbook")
        form.add_field("file", PDF + b"\0" * (700 * 1024), filename="workbook.pdf")
        async with http.post(url, data=form) as r:
            assert r.status == 201, await r.text()
            made = await r.json()
        assert made["kind"] == "pdf" and made["scan_state"] == "unscanned"
        async with http.get(url) as r:
            listed = (await r.json())["files"]
        assert [f["id"] for f in listed] == [made["id"]]
        async with http.get(str(server.make_url(made["url"]))) as r:
            assert r.status == 200 and (await r.read()).startswith(PDF)
        form = aiohttp.FormData()
        form.add_field("title", "Second")
        form.add_field("file", PDF + b"\0" * (700 * 1024), filename="second.pdf")
        async with http.post(url, data=form) as r:
            assert r.status == 413
            error = (await r.json())["error"]
        assert "You have used your space for files" in error["message"]
        async with http.get(str(server.make_url("/api/v1/openapi.json"))) as r:
            doc = await r.json()
        assert (
            "multipart/form-data"
            in doc["paths"]["/api/v1/sessions/{session_id}/files"]["post"]["requestBody"]["content"]
        )
        async with http.post(str(server.make_url("/account/files"))) as r:  # the member's own
            assert r.status == 200 and r.headers["Content-Type"] == "application/zip"
            assert b"workbook.pdf" in await r.read()
        async with http.delete(str(server.make_url(f"/api/v1/files/{made['id']}"))) as r:
            assert r.status == 200
    assert await pool.fetchval("SELECT count(*) FROM file_chunks") == 0


async def test_files_in_posts_follow_the_conference_setting_and_hide_with_their_post(
    world, pool, settings, aiohttp_server, clients
):
    w = await _setup(world)
    s = await world.session(w["c"], kind="discussion", title="Talk")
    author = await world.user("Ann Author")
    reader_user = await world.user("Rita Reader")
    await world.member(w["c"], author, "participant")
    await world.member(w["c"], reader_user, "participant")
    t = await world.thread(s, author)
    post_id = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", t["id"])
    server = await _server(aiohttp_server, settings)
    slug = w["c"]["slug"]
    ann = await clients(server, author["email"])
    path = f"/c/{slug}/posts/{post_id}/files"
    r, _ = await ann.upload(path, PDF, "policy.pdf", title="Policy")
    assert r.status == 403  # off by default

    org = await clients(server, w["organiser"]["email"])
    r, page = await org.get(f"/c/{slug}/manage/moderation")
    assert b"Files in posts" in page
    form = {"csrf_token": org.csrf, "post_files_enabled": "on", "post_file_max_mb": "abc",
            "post_files_max": "1", "kind_pdf": "on"}  # fmt: skip
    async with org.session.post(org.base + f"/c/{slug}/manage/files", data=form) as r:
        assert r.status == 422 and "whole number of megabytes" in await r.text()
    form["post_file_max_mb"] = "5"
    async with org.session.post(
        org.base + f"/c/{slug}/manage/files", data=form, allow_redirects=False
    ) as r:
        assert r.status == 303
    row = await pool.fetchrow("SELECT * FROM conferences WHERE id = $1", w["c"]["id"])
    assert row["post_files_enabled"] and row["post_file_kinds"] == ["pdf"]

    await ann.get(path)
    r, text = await ann.upload(path, _jpeg_with_gps(), "p.jpg", alt="A photo")
    assert r.status == 422 and "PDF documents" in text  # pictures are not allowed here
    r, text = await ann.upload(path, PDF, "policy.pdf", title="")
    assert r.status == 303, text[:3000]
    assert await pool.fetchval("SELECT title FROM files") == "policy.pdf"
    r, text = await ann.upload(path, PDF, "second.pdf", title="Second")
    assert r.status == 422 and "A post can have up to 1 file." in text
    # A file changes the post: a locked thread refuses it as it refuses an edit (time box,
    # locks, mute: confer.posts.service.check_change).
    await pool.execute(
        "UPDATE threads SET locked_at = now(), lock_reason = 'Agreed' WHERE id = $1", t["id"]
    )
    r, text = await ann.upload(path, PDF, "third.pdf", title="Third")
    assert r.status == 403 and "locked this thread" in text, text[:2000]
    await pool.execute(
        "UPDATE threads SET locked_at = NULL, lock_reason = NULL WHERE id = $1", t["id"]
    )

    rita = await clients(server, reader_user["email"])
    r, page = await rita.get(f"/c/{slug}/threads/{t['id']}")
    assert b"policy.pdf" in page
    file_id = await pool.fetchval("SELECT id FROM files")
    r, body = await rita.get(f"/c/{slug}/files/{file_id}/policy.pdf")
    assert r.status == 200 and body == PDF
    await pool.execute("UPDATE posts SET status = 'hidden' WHERE id = $1", post_id)
    r, page = await rita.get(f"/c/{slug}/threads/{t['id']}")
    assert b"policy.pdf" not in page
    r, body = await rita.get(f"/c/{slug}/files/{file_id}/policy.pdf")
    assert r.status == 404


async def test_transcripts_name_files_and_the_zip_bundles_them(world, pool, settings):
    import zipfile

    import jsonschema

    from confer.context import Ctx
    from confer.exports import service as exports
    from confer.files import service as files
    from confer.live.hub import Hub

    w = await _setup(world)
    ctx = Ctx(pool=pool, settings=settings, hub=Hub())
    organiser = Actor(user_id=w["organiser"]["id"], name="Olive Organiser")
    slug = w["c"]["slug"]

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        yield data

    photo = _jpeg_with_gps()
    await files.upload(ctx, organiser, slug, session_id=w["s"]["id"],
                       fields={"title": "Paper"}, incoming=files.Incoming("paper.pdf", chunks(PDF)))  # fmt: skip
    await files.upload(ctx, organiser, slug, session_id=w["s"]["id"],
                       fields={"title": "Board", "alt": "A noticeboard"},
                       incoming=files.Incoming("board.jpg", chunks(photo)))  # fmt: skip
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM files ORDER BY id")]

    place, req = await exports.start(
        pool, organiser, slug, {"format": "html", "bundle_files": "on"}
    )
    assert exports.filename(place, req).endswith(".zip")
    with await exports.spool_zip(pool, place, req) as spooled, zipfile.ZipFile(spooled) as zf:
        names = zf.namelist()
        html = zf.read(names[0]).decode()
        assert zf.read(f"files/{ids[0]}-paper.pdf") == PDF
        assert zf.read(f"files/{ids[1]}-board.jpg").startswith(b"\xff\xd8")
    assert names[0].endswith("-transcript.html")
    assert f'<img src="files/{ids[1]}-board.jpg" alt="A noticeboard">' in html
    assert f'<a href="files/{ids[0]}-paper.pdf">Paper</a>' in html

    place, req = await exports.start(pool, organiser, slug, {"format": "json"})
    text = "".join([chunk async for chunk in exports.stream(pool, place, req)])
    data = json.loads(text)
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(data, schema)
    assert [f["title"] for f in data["sessions"][0]["files"]] == ["Paper", "Board"]


async def test_the_data_download_lists_a_members_files_erasure_deletes_them_and_the_report_counts_them(
    world, pool, settings
):
    from confer.accounts import rights
    from confer.context import Ctx
    from confer.files import service as files
    from confer.live.hub import Hub
    from confer.reports import service as reports

    w = await _setup(world)
    ctx = Ctx(pool=pool, settings=settings, hub=Hub())
    organiser = Actor(user_id=w["organiser"]["id"], name="Olive Organiser")
    slug = w["c"]["slug"]

    async def chunks() -> AsyncIterator[bytes]:
        yield PDF

    await files.upload(ctx, organiser, slug, session_id=w["s"]["id"],
                       fields={"title": "Paper"}, incoming=files.Incoming("paper.pdf", chunks()))  # fmt: skip
    report = await reports.participation(ctx, organiser, slug)
    assert report.totals["session_files"] == 1 and report.totals["file_bytes"] == len(PDF)
    import zipfile

    with await files.my_files_zip(ctx, organiser) as spooled, zipfile.ZipFile(spooled) as zf:
        file_id = await pool.fetchval("SELECT id FROM files")
        assert zf.read(f"{slug}/{file_id}-paper.pdf") == PDF
    mine = await rights.my_data(ctx, organiser)
    assert [f["title"] for f in mine["files"]] == ["Paper"]
    assert mine["files"][0]["url"].endswith("/paper.pdf")
    await rights.delete_account(ctx, organiser, {"password": "correct horse battery staple"})
    assert await pool.fetchval("SELECT count(*) FROM files") == 0
    assert await pool.fetchval("SELECT count(*) FROM file_chunks") == 0


async def test_a_moved_post_keeps_its_files(world, pool, settings):
    from confer.context import Ctx
    from confer.files import service as files
    from confer.live.hub import Hub
    from confer.moderation import service as moderation

    w = await _setup(world)
    s = await world.session(w["c"], kind="discussion", title="Talk")
    author = await world.user("Ann Author")
    await world.member(w["c"], author, "participant")
    first, second = await world.thread(s, author), await world.thread(s, author, title="Other")
    post_id = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", first["id"])
    await pool.execute(
        "UPDATE conferences SET post_files_enabled = true WHERE id = $1", w["c"]["id"]
    )
    ctx = Ctx(pool=pool, settings=settings, hub=Hub())

    async def chunks() -> AsyncIterator[bytes]:
        yield PDF

    await files.upload(ctx, Actor(user_id=author["id"], name="Ann Author"), w["c"]["slug"],
                       post_id=post_id, fields={}, incoming=files.Incoming("a.pdf", chunks()))  # fmt: skip
    organiser = Actor(user_id=w["organiser"]["id"], name="Olive Organiser")
    await moderation.moderate_post(ctx, organiser, post_id, "move", {"to_thread_id": second["id"]})
    assert await pool.fetchval("SELECT thread_id FROM posts WHERE id = $1", post_id) == second["id"]
    place_files = await pool.fetch("SELECT post_id FROM files")
    assert [r["post_id"] for r in place_files] == [post_id]
