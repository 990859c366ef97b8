"""Issue 18 (findings 1, 5, 7, 8, 10, 12, 13, 14): rights that hold on every path, on the real
server and PostgreSQL. Each test reproduces one finding and fails without its fix."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.conftest import CSRF_META, PASSWORD

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
