"""Issue 18 (findings 1, 5, 7, 8, 10, 12, 13, 14): rights that hold on every path, on the real
server and PostgreSQL. Each test reproduces one finding and fails without its fix."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import CSRF_META, PASSWORD, insert_post

XSS_DIR = Path("/work/shared/data/xss")


# --- 14: the "Done" banner shows only Confer's own messages --------------------------------


async def test_the_done_banner_never_repeats_text_from_the_address(world, browser_factory):
    admin = await world.user("Ada Admin", admin=True)
    c = await world.conference()
    b = await browser_factory(admin["email"])
    planted = "Your account is suspended, call 0800 123 456"
    for path in (
        "/account",
        f"/c/{c['slug']}/manage",
        f"/c/{c['slug']}/members",
        f"/c/{c['slug']}/invitations",
        "/notifications",
        f"/c/{c['slug']}",
    ):
        r, page = await b.get(f"{path}?done={planted.replace(' ', '+')}&count=Call+0800")
        assert r.status == 200, (path, page[:500])
        assert "0800" not in page, path
        assert "govuk-notification-banner--success" not in page, path
    # Confer's own keys still show their messages.
    _, page = await b.get("/account?done=profile-saved")
    assert "Your profile has been saved." in page
    _, page = await b.get(f"/c/{c['slug']}/invitations?done=sent&count=3")
    assert "3 invitations sent." in page


async def test_saving_the_profile_redirects_with_a_key_not_a_sentence(world, browser_factory):
    u = await world.user()
    b = await browser_factory(u["email"])
    r, _ = await b.post(
        "/account/profile", {"name": "Pat Renamed", "title": "", "organisation": ""}
    )
    assert r.status == 303 and r.headers["Location"] == "/account?done=profile-saved"


# --- 8: leaving keeps one's role ------------------------------------------------------------


async def test_an_observer_who_leaves_and_registers_again_is_still_an_observer(
    world, browser_factory, pool
):
    c = await world.conference()
    s = await world.session(c)
    t = await world.thread(s, await world.user("Host"))
    watcher = await world.user("Olive Observer")
    await world.member(c, watcher, "observer")
    b = await browser_factory(watcher["email"])
    r, _ = await b.post(f"/c/{c['slug']}/leave", {})
    assert r.status == 303
    r, _ = await b.post(f"/c/{c['slug']}/join", {"accept_code_of_conduct": "on"})
    assert r.status == 303
    row = await pool.fetchrow(
        "SELECT role, status FROM memberships WHERE conference_id = $1 AND user_id = $2",
        c["id"],
        watcher["id"],
    )
    assert (row["role"], row["status"]) == ("observer", "active")
    status, _ = await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "I can post?"})
    assert status == 403
    assert (
        await pool.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", watcher["id"]) == 0
    )


# --- 7: muted means muted everywhere, answers too ----------------------------------------


async def test_a_muted_speaker_cannot_answer_panel_questions(world, browser_factory, pool):
    c = await world.conference()
    s = await world.session(c, kind="panel", title="Ask the panel")
    organiser = await world.user("Orla Organiser")
    speaker = await world.user("Jane Speaker")
    asker = await world.user("Sam Asker")
    await world.member(c, organiser, "organiser")
    await world.member(c, speaker, "speaker")
    await world.member(c, asker, "participant")
    await pool.execute(
        "INSERT INTO session_speakers (session_id, user_id) VALUES ($1, $2)", s["id"], speaker["id"]
    )
    ab = await browser_factory(asker["email"])
    status, q = await ab.api("POST", f"/api/v1/panels/{s['id']}/questions", {"body": "Why?"})
    assert status == 201, q
    qid = q["question"]["id"] if "question" in q else q["id"]
    ob = await browser_factory(organiser["email"])
    status, body = await ob.api(
        "POST",
        f"/api/v1/conferences/{c['slug']}/members/{speaker['id']}/moderation",
        {"action": "mute", "minutes": 30, "reason": "Cooling off"},
    )
    assert status == 200, body
    sb = await browser_factory(speaker["email"])
    status, body = await sb.api("POST", f"/api/v1/questions/{qid}/answers", {"body": "Because"})
    assert status == 403 and "muted" in body["error"]["message"]
    r, _ = await sb.post(f"/c/{c['slug']}/panels/{s['id']}/questions/{qid}/answers", {"body": "x"})
    assert r.status == 403
    assert await pool.fetchval("SELECT count(*) FROM answers") == 0
    # Unmuted, they answer again.
    status, _ = await ob.api(
        "POST",
        f"/api/v1/conferences/{c['slug']}/members/{speaker['id']}/moderation",
        {"action": "unmute"},
    )
    assert status == 200
    status, body = await sb.api("POST", f"/api/v1/questions/{qid}/answers", {"body": "Because"})
    assert status in (200, 201), body


# --- 13: a stranger's wrong passwords do not lock the owner out ------------------------------


class Device:
    """A browser at its own address, behind a trusted proxy (X-Forwarded-For)."""

    def __init__(self, server, address: str) -> None:
        self.server = server
        self.address = address
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def post(self, path: str, data: dict) -> tuple[int, str]:
        headers = {"X-Forwarded-For": self.address}
        async with self.http.get(self.server.make_url("/login"), headers=headers) as r:
            csrf = CSRF_META.search(await r.text()).group(1)
        async with self.http.post(
            self.server.make_url(path),
            data={**data, "csrf_token": csrf},
            headers=headers,
            allow_redirects=False,
        ) as r:
            return r.status, await r.text()

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def proxied(settings, aiohttp_server):
    from confer.app import create_app

    server = await aiohttp_server(
        create_app(settings.with_(trusted_proxies=("127.0.0.1",))), host="127.0.0.1"
    )
    made: list[Device] = []

    def device(address: str) -> Device:
        d = Device(server, address)
        made.append(d)
        return d

    yield device
    for d in made:
        await d.close()


async def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(world, proxied):
    owner = await world.user("Olu Owner")
    stranger = proxied("203.0.113.9")
    for _ in range(5):
        status, _ = await stranger.post("/login", {"email": owner["email"], "password": "guess"})
        assert status == 422
    status, text = await stranger.post("/login", {"email": owner["email"], "password": "guess"})
    assert status == 429  # the stranger's address is held back
    # The owner, on their own device elsewhere, signs in with their password at once.
    status, text = await proxied("198.51.100.7").post(
        "/login", {"email": owner["email"], "password": PASSWORD}
    )
    assert status == 303, text[:1000]


async def test_many_addresses_guessing_one_account_pause_password_sign_in_only(world, proxied):
    owner = await world.user("Olu Owner")
    # One address alone can never trip the per-account ceiling, however long it tries.
    lone = proxied("203.0.113.1")
    for _ in range(8):
        await lone.post("/login", {"email": owner["email"], "password": "guess"})
    status, _ = await proxied("198.51.100.7").post(
        "/login", {"email": owner["email"], "password": PASSWORD}
    )
    assert status == 303
    # Ten different networks guessing the same account pause its password sign-in...
    for i in range(10):
        status, _ = await proxied(f"2001:db8:{i}::1").post(
            "/login", {"email": owner["email"], "password": "guess"}
        )
        assert status == 422
    status, text = await proxied("198.51.100.8").post(
        "/login", {"email": owner["email"], "password": PASSWORD}
    )
    assert status == 429 and "link sent to your email" in text
    # ...while the emailed sign-in link is still there for the owner.
    status, text = await proxied("198.51.100.8").post("/login/email", {"email": owner["email"]})
    assert status in (200, 303), text[:1000]
    # Addresses in one IPv6 /64 count as one network.
    other = await world.user("Other Owner")
    for i in range(12):
        status, _ = await proxied(f"2001:db8:ffff::{i + 1}").post(
            "/login", {"email": other["email"], "password": "guess"}
        )
        assert status == (422 if i < 5 else 429)


# --- 1: erasure and enrolment ---------------------------------------------------------------


async def _invitation_token(pool, email: str) -> str:
    text = await pool.fetchval(
        "SELECT body_text FROM outbox WHERE lower(to_address) = lower($1) AND kind = 'invitation'"
        " ORDER BY id DESC LIMIT 1",
        email,
    )
    assert text, f"no invitation email to {email}"
    return re.search(r"/invitations/([A-Za-z0-9_\-]+)", text).group(1)


async def test_an_organiser_of_a_draft_cannot_enrol_or_erase_a_site_admin(
    world, browser_factory, pool
):
    admin = await world.user("Ada Admin", admin=True)
    draft = await world.conference(published=False)
    s1 = await world.session(draft, title="One")
    mallory = await world.user("Mallory Organiser")
    await world.member(draft, mallory, "organiser")
    m = await browser_factory(mallory["email"])

    # Giving the admin's address a role enrols nobody: it sends an invitation with the role.
    r, _ = await m.post(
        f"/c/{draft['slug']}/manage/roles",
        {"role_email": admin["email"], "role_role": "facilitator", "sessions": str(s1["id"]),
         # A draft asks before sending an invitation (issue #22).
         "role_confirm_draft": "on"},
    )  # fmt: skip
    assert r.status == 303
    answer_for_account = r.headers["Location"]
    assert (
        await pool.fetchval("SELECT count(*) FROM memberships WHERE user_id = $1", admin["id"]) == 0
    )
    invitation = await pool.fetchrow(
        "SELECT role, session_ids FROM invitations WHERE lower(email) = lower($1)", admin["email"]
    )
    assert (invitation["role"], invitation["session_ids"]) == ("facilitator", [s1["id"]])
    # ...and the answer is the same whether or not the address has an account.
    r, _ = await m.post(
        f"/c/{draft['slug']}/manage/roles",
        {"role_email": "nobody-here@example.org", "role_role": "facilitator",
         "role_confirm_draft": "on"},
    )  # fmt: skip
    assert (r.status, r.headers["Location"]) == (303, answer_for_account)
    _, page = await m.get(answer_for_account)
    assert "no account" not in page.lower() and "invitation" in page

    # Nothing to erase: the admin is not a member, and erasing accounts is not an organiser's act.
    for data in ({"requested": "on"}, {"requested": "on", "scope": "account"}):
        r, _ = await m.post(f"/c/{draft['slug']}/members/{admin['id']}/anonymise", data)
        assert r.status in (403, 404)
    row = await pool.fetchrow(
        "SELECT name, is_admin, erased_at FROM users WHERE id = $1", admin["id"]
    )
    assert (row["name"], row["is_admin"], row["erased_at"]) == ("Ada Admin", True, None)

    # Accepting gives exactly the role and sessions offered.
    a = await browser_factory(admin["email"])
    token = await _invitation_token(pool, admin["email"])
    r, text = await a.post(f"/invitations/{token}", {"accept_code_of_conduct": "on"})
    assert r.status == 303, text[:1000]
    member = await pool.fetchrow(
        "SELECT role, facilitates, status FROM memberships WHERE conference_id = $1 AND user_id = $2",
        draft["id"],
        admin["id"],
    )
    assert tuple(member) == ("facilitator", "sessions", "active")
    assert await pool.fetchval(
        "SELECT array_agg(session_id) FROM session_facilitators WHERE user_id = $1", admin["id"]
    ) == [s1["id"]]

    # Now a member, the organiser may anonymise them in this conference only, at their request.
    r, _ = await m.post(
        f"/c/{draft['slug']}/members/{admin['id']}/anonymise",
        {"requested": "on", "scope": "account"},
    )
    assert r.status == 403
    r, _ = await m.post(f"/c/{draft['slug']}/members/{admin['id']}/anonymise", {"requested": "on"})
    assert r.status == 303
    row = await pool.fetchrow(
        "SELECT name, is_admin, erased_at FROM users WHERE id = $1", admin["id"]
    )
    assert (row["name"], row["is_admin"], row["erased_at"]) == ("Ada Admin", True, None)
    signed_in_again = await browser_factory(admin["email"])  # their password still works
    r, _ = await signed_in_again.get("/account")
    assert r.url.path == "/account"


# --- 10: the Markdown transcript holds no live HTML ---------------------------------------


def _payloads() -> list[str]:
    seen: dict[str, None] = {}
    for path in sorted(XSS_DIR.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen.setdefault(line, None)
    return list(seen)


async def test_the_markdown_transcript_keeps_no_live_html(world, browser_factory, pool):
    from markdown_it import MarkdownIt

    from tests.test_markup import FORBIDDEN_IN_FRAGMENT, _attribute_problems, parse

    payloads = _payloads()
    assert len(payloads) > 800
    c = await world.conference()
    s = await world.session(c, title='<img src=x onerror="alert(1)">')
    organiser = await world.user("Orla Organiser")
    author = await world.user('<svg onload=alert(1)> "Cllr" <b>Bob</b>', organisation="<i>x</i>")
    await world.member(c, organiser, "organiser")
    await world.member(c, author, "participant")
    t = await world.thread(s, author, title="<script>alert(1)</script>", posts=0)
    async with pool.acquire() as con, con.transaction():
        for body in payloads:
            await insert_post(con, t["id"], author["id"], None, body, "<p>x</p>", None)
    # A code span and a fence keep what they show.
    code = "Use `<b>` for bold:\n\n```\n<i>also</i>\n```"
    await insert_post(pool, t["id"], author["id"], None, code, "<p>x</p>", None)

    b = await browser_factory(organiser["email"])
    r, md = await b.post(f"/c/{c['slug']}/export", {"format": "md"})
    assert r.status == 200 and "Use `<b>` for bold" in md and "```\n<i>also</i>\n```" in md

    rendered = MarkdownIt("commonmark", {"html": True}).render(md)
    problems = []
    for el in parse(rendered).elements:
        if el.tag in FORBIDDEN_IN_FRAGMENT:
            problems.append(f"<{el.tag}> element")
        problems += _attribute_problems(el)
    assert problems == [], f"{len(problems)} live: {problems[:20]}"
    # What was typed still reads as typed.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered


# --- 12: display names are never links in Confer's emails ------------------------------------

PHISHER = "Council IT: re-verify at https://evil.example/login or www.evil.example"


def _email_parts(message) -> tuple[str, str, str]:
    return (
        str(message["Subject"]),
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def _assert_no_foreign_links(part: str, base_url: str) -> None:
    assert "https://evil.example" not in part and "www.evil.example" not in part, part
    assert "evil.example" not in part.replace("\u2060", "") or "evil.\u2060example" in part
    for href in re.findall(r'href="([^"]*)"', part):
        assert href.startswith(base_url), href


async def test_display_names_are_never_links_in_emails(
    settings, aiohttp_server, mailbox, world, pool
):
    from confer.app import create_app
    from tests.conftest import Browser

    server = await aiohttp_server(
        create_app(settings.with_(smtp_url=mailbox.url)), host="127.0.0.1"
    )
    base = settings.base_url
    c = await world.conference()
    s = await world.session(c)
    alice = await world.user("Alice Jones", email="alice-12@example.org")
    phisher = await world.user(PHISHER)
    await world.member(c, alice, "participant")
    await world.member(c, phisher, "organiser")
    await pool.execute(
        "UPDATE memberships SET email_notifications = 'each' WHERE user_id = $1", alice["id"]
    )
    t = await world.thread(s, alice, title="Potholes")
    b = Browser(server)
    try:
        await b.sign_in(phisher["email"])
        status, body = await b.api(
            "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Over to you, @Alice Jones"}
        )
        assert status == 201, body
        r, text = await b.post(
            f"/c/{c['slug']}/invitations", {"emails": "bob-12@example.org", "role": "participant"}
        )
        assert r.status == 303, text[:1000]
    finally:
        await b.close()

    [notification] = await mailbox.wait_for("alice-12@example.org", 1, within=15)
    [invitation] = await mailbox.wait_for("bob-12@example.org", 1, within=15)
    for message in (notification, invitation):
        subject, text, html = _email_parts(message)
        for part in (subject, text, html):
            _assert_no_foreign_links(part, base)
        # It reads as written, and Confer's own link is still there.
        assert PHISHER in " ".join(text.replace("\u2060", "").split())
        assert re.search(rf'<a [^>]*href="{re.escape(base)}/', html)
    subject, text, _ = _email_parts(notification)
    assert subject.replace("\u2060", "").startswith(PHISHER)
    assert f"{base}/c/{c['slug']}/posts/" in text


# --- 5: downloads nobody reads cannot take the database pool -------------------------------


async def _export_and_never_read(server, cookie: str, csrf: str, slug: str) -> tuple:
    """Send an export request over a raw socket with a tiny receive buffer, and never read."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    body = f"format=md&csrf_token={csrf}".encode()
    writer.write(
        f"POST /c/{slug}/export HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    return reader, writer


async def test_exports_nobody_reads_leave_the_pool_to_everyone_else(
    settings, aiohttp_server, world, pool
):
    from confer.app import create_app
    from tests.conftest import Browser

    pool_size = 4
    server = await aiohttp_server(
        create_app(settings.with_(pool_max_size=pool_size)), host="127.0.0.1"
    )
    c = await world.conference()
    s = await world.session(c)
    organiser = await world.user("Orla Organiser")
    await world.member(c, organiser, "organiser")
    t = await world.thread(s, organiser, title="Long", posts=0)
    # About 12 MB of transcript: far more than the socket buffers between server and client.
    await pool.execute(
        """
        WITH t AS (
            UPDATE threads SET last_seq = 3000, post_count = 3000 WHERE id = $1
            RETURNING id, conference_id
        )
        INSERT INTO posts (thread_id, conference_id, seq, author_id, body_md, body_html)
        SELECT t.id, t.conference_id, g, $2, repeat('Budget line ' || g || '. ', 300), '<p>x</p>'
        FROM t, generate_series(1, 3000) AS g
        """,
        t["id"],
        organiser["id"],
    )
    b = Browser(server)
    held = []
    try:
        await b.sign_in(organiser["email"])
        cookie = "; ".join(f"{m.key}={m.value}" for m in b.session.cookie_jar)
        # Twice as many exports as the pool has connections, none of them ever read.
        for _ in range(pool_size * 2):
            held.append(await _export_and_never_read(server, cookie, b.csrf, c["slug"]))

        # Each export that got in has written its audit row; give the rest time to start.
        async def exports_started() -> int:
            return await pool.fetchval(
                "SELECT count(*) FROM audit_log WHERE action = 'transcript.export'"
            )

        for _ in range(200):
            if await exports_started() >= 1:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)
        # A database-backed page still answers (the timeout is only there to fail, not to time).
        async with asyncio.timeout(60):
            r, page = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
            assert r.status == 200 and "Long" in page
            status, body = await b.api("GET", f"/api/v1/threads/{t['id']}/posts")
            assert status == 200, body
    finally:
        for _, writer in held:
            writer.close()
        await b.close()
