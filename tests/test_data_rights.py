"""Data rights: a member downloads everything Confer holds about them, deletes their account,
or asks an organiser to anonymise them. Erasure is checked by scanning every text, varchar and
jsonb column of every table for the member's email, name and organisation, while the
conference record (the transcript) still reads correctly."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import socketio
from yarl import URL

from confer.accounts import service as accounts
from confer.context import Ctx
from confer.live.hub import Hub
from confer.mail import outbox
from confer.panels import service as panels
from confer.policy import Actor
from tests.conftest import PASSWORD, Browser, insert_post

NAME = "Zebedee Quibble"
EMAIL = "quibble-7f3@example.org"
ORGANISATION = "Quibbleshire District Council"
NEEDLES = (NAME, EMAIL, ORGANISATION, "Zebedee", "Quibble")

FIRST_POST = "My first point about budgets"
SECOND_POST = "Thanks, and one more thing on procurement"
OTHER_POST = "I agree with the first point"
QUESTION = "How will you fund rural bus routes?"
OTHER_QUESTION = "What about libraries?"


def _actor(u: dict) -> Actor:
    return Actor(user_id=u["id"], name=u["name"], via="cookie")


async def _user(pool, name: str) -> dict:
    """A person written straight into the database (no password hashing: fast)."""
    email = f"{uuid.uuid4().hex[:12]}@example.org"
    uid = await pool.fetchval(
        "INSERT INTO users (email, name, password_hash) VALUES ($1, $2, '!') RETURNING id",
        email,
        name,
    )
    return {"id": uid, "email": email, "name": name}


async def _browser(browser_factory, pool, settings, user: dict) -> Browser:
    """A browser signed in as `user` by a sign-in session row (no password check)."""
    b = await browser_factory()
    cookie = await accounts.start_login(pool, settings, user["id"])
    b.session.cookie_jar.update_cookies({"confer_session": cookie}, URL(b.url("/")))
    return b


def _cookie(b: Browser) -> str:
    return next(c.value for c in b.session.cookie_jar if c.key == "confer_session")


@dataclass
class Scene:
    conference: dict
    session: dict
    panel: dict
    thread: int
    member: dict  # the person whose data it is
    org: dict
    other: dict
    posts: dict[str, int]
    questions: dict[str, int]
    token: str


async def _scene(world, pool, settings, *, role: str = "participant") -> Scene:
    ctx = Ctx(pool=pool, settings=settings, hub=Hub())
    c = await world.conference()
    sa = await world.session(c, title="Opening discussion", lasts=timedelta(hours=3))
    panel = await world.session(c, kind="panel", title="Ask the panel")
    org = await _user(pool, "Olive Organiser")
    other = await _user(pool, "Pat Other")
    member = await world.user(name=NAME, email=EMAIL, title="Cllr", organisation=ORGANISATION)
    await pool.execute(
        "UPDATE users SET bio = $2 WHERE id = $1",
        member["id"],
        f"{NAME} represents {ORGANISATION}.",
    )
    await world.member(c, org, "organiser")
    await world.member(c, other, "participant")
    await world.member(c, member, role, sessions=[sa] if role == "facilitator" else None)
    # A second conference they belong to, for the memberships list.
    c2 = await world.conference()
    await world.member(c2, member, "participant")

    t = await world.thread(sa, org, title="Budgets", posts=0)
    p1 = await insert_post(
        pool, t["id"], member["id"], None, FIRST_POST, f"<p>{FIRST_POST}</p>", None
    )
    p2 = await insert_post(pool, t["id"], other["id"], p1, OTHER_POST, f"<p>{OTHER_POST}</p>", None)
    p3 = await insert_post(
        pool, t["id"], member["id"], p2, SECOND_POST, f"<p>{SECOND_POST}</p>", None
    )
    await pool.execute(
        "INSERT INTO post_revisions (post_id, body_md, body_html, replaced_by) "
        "VALUES ($1, 'An earlier draft', '<p>An earlier draft</p>', $2)",
        p1,
        member["id"],
    )
    await pool.execute(
        "INSERT INTO read_state (user_id, thread_id, last_seq) VALUES ($1, $2, 3)",
        member["id"],
        t["id"],
    )
    await pool.execute(
        "INSERT INTO flags (post_id, conference_id, flagger_id, reason, note) "
        "VALUES ($1, $2, $3, 'other', 'Pat is rude to me, Zebedee')",
        p2,
        c["id"],
        member["id"],
    )
    q1, _ = await panels.ask(ctx, _actor(member), c["slug"], panel["id"], {"body": QUESTION})
    q2, _ = await panels.ask(ctx, _actor(other), c["slug"], panel["id"], {"body": OTHER_QUESTION})
    await panels.vote(ctx, _actor(member), q2["id"])
    await panels.vote(ctx, _actor(other), q1["id"])
    token, _ = await accounts.create_api_token(pool, _actor(member), "my script")
    # What joining and staying in touch leave behind: an invitation to their address, emails
    # to them (sent and waiting), a sign-in link request, notifications and follows.
    await pool.execute(
        "INSERT INTO invitations (conference_id, email, name, role, token_hash, expires_at) "
        "VALUES ($1, $2, $3, 'participant', '\\x01', now() + interval '1 day')",
        c2["id"],
        EMAIL.upper(),
        NAME,
    )
    async with pool.acquire() as con:
        for kind in ("invitation", "notification"):
            await outbox.enqueue(
                con, kind=kind, to=EMAIL, to_name=NAME, subject=f"Hello {NAME}", text=NAME
            )
        await con.execute("UPDATE outbox SET sent_at = now() WHERE kind = 'invitation'")
    await pool.execute(
        "INSERT INTO email_link_requests (purpose, email, address) VALUES ('sign_in', $1, '::1')",
        EMAIL,
    )
    await pool.execute(
        "INSERT INTO follows (user_id, thread_id, following) VALUES ($1, $2, true)",
        member["id"],
        t["id"],
    )
    return Scene(
        conference=c,
        session=sa,
        panel=panel,
        thread=t["id"],
        member=member,
        org=org,
        other=other,
        posts={"p1": p1, "p2": p2, "p3": p3},
        questions={"q1": q1["id"], "q2": q2["id"]},
        token=token,
    )


@pytest.fixture
async def scene(world, pool, settings) -> Scene:
    return await _scene(world, pool, settings)


async def _traces(pool) -> list[str]:
    """Every (table.column: needle) where a text, varchar or jsonb column still holds one of
    the member's identifying values."""
    columns = await pool.fetch(
        """
        SELECT c.table_name, c.column_name
        FROM information_schema.columns c
        JOIN information_schema.tables t
          ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
          AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')
        ORDER BY 1, 2
        """
    )
    assert len(columns) > 40  # the scan sees the whole schema
    found = []
    for col in columns:
        table, column = col["table_name"], col["column_name"]
        for needle in NEEDLES:
            n = await pool.fetchval(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE $1',
                f"%{needle}%",
            )
            if n:
                found.append(f"{table}.{column}: {needle}")
    return found


async def _post_form(b: Browser, path: str, data: dict[str, str]) -> tuple[int, str, Any]:
    await b.ensure_csrf()
    async with b.session.post(
        b.url(path), data={**data, "csrf_token": b.csrf}, allow_redirects=False
    ) as r:
        return r.status, await r.text(), r.headers


async def _transcript(b: Browser, slug: str, fmt: str) -> str:
    status, text, _ = await _post_form(b, f"/c/{slug}/export", {"format": fmt})
    assert status == 200, text[:1000]
    return text


async def _check_erased(pool, browser_factory, settings, scene: Scene) -> None:
    """Nothing identifies the member any more, and the record still reads correctly."""
    traces = await _traces(pool)
    assert traces == [], traces
    uid = scene.member["id"]
    for table, column in (
        ("logins", "user_id"),
        ("api_tokens", "user_id"),
        ("read_state", "user_id"),
    ):
        assert await pool.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", uid) == 0
    assert await pool.fetchval("SELECT count(*) FROM post_revisions") == 0
    user = await pool.fetchrow("SELECT * FROM users WHERE id = $1", uid)
    assert user["name"] == "Former participant" and user["password_hash"] is None
    assert user["erased_at"] is not None
    # The conference record keeps their words, attributed to "Former participant".
    org = await _browser(browser_factory, pool, settings, scene.org)
    md = await _transcript(org, scene.conference["slug"], "md")
    first = md.index(FIRST_POST)
    assert "**#1 Former participant**" in md[:first]
    assert "**#2 Pat Other** (participant)" in md and OTHER_POST in md
    assert md.index("**#3 Former participant**") < md.index(SECOND_POST)
    assert "in reply to #2" in md
    assert f"Former participant: {QUESTION}" in md
    doc = json.loads(await _transcript(org, scene.conference["slug"], "json"))
    posts = doc["sessions"][0]["threads"][0]["posts"]
    assert [(p["author"]["name"], p["author"]["organisation"]) for p in posts] == [
        ("Former participant", ""),
        ("Pat Other", ""),
        ("Former participant", ""),
    ]
    assert [p["text"] for p in posts] == [FIRST_POST, OTHER_POST, SECOND_POST]
    for needle in NEEDLES:
        assert needle not in md and needle not in json.dumps(doc)


async def _wait_disconnected(client: socketio.AsyncClient) -> None:
    for _ in range(50):
        if not client.connected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the socket is still connected")


async def _socket(server, cookie: str) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        str(server.make_url("/")),
        headers={"Cookie": f"confer_session={cookie}"},
        transports=["websocket"],
        wait_timeout=10,
    )
    return sio


# --- 1. download ------------------------------------------------------------------------


async def test_a_member_downloads_all_their_data(scene, browser_factory, pool):
    b = await browser_factory(EMAIL)
    status, text, headers = await _post_form(b, "/account/data", {})
    assert status == 200, text[:1000]
    assert headers["Content-Type"].startswith("application/json")
    assert "attachment" in headers["Content-Disposition"]
    data = json.loads(text)
    assert data["format"] == "confer-personal-data"
    profile = data["profile"]
    assert (profile["email"], profile["name"], profile["title"], profile["organisation"]) == (
        EMAIL,
        NAME,
        "Cllr",
        ORGANISATION,
    )
    assert profile["id"] == scene.member["id"] and ORGANISATION in profile["bio"]
    memberships = {m["slug"]: m["role"] for m in data["memberships"]}
    assert memberships[scene.conference["slug"]] == "participant" and len(memberships) == 2
    assert [(p["id"], p["body_md"], p["seq"]) for p in data["posts"]] == [
        (scene.posts["p1"], FIRST_POST, 1),
        (scene.posts["p3"], SECOND_POST, 3),
    ]
    assert all(p["thread"] == "Budgets" for p in data["posts"])
    assert [r["body_md"] for r in data["post_revisions"]] == ["An earlier draft"]
    assert [(q["id"], q["body_md"], q["vote_count"]) for q in data["questions"]] == [
        (scene.questions["q1"], QUESTION, 1)
    ]
    assert [v["question_id"] for v in data["votes"]] == [scene.questions["q2"]]
    assert [r["note"] for r in data["reports_made"]] == ["Pat is rude to me, Zebedee"]
    assert [t["name"] for t in data["api_tokens"]] == ["my script"]
    assert len(data["sign_in_sessions"]) == 1 and data["threads_read"][0]["last_seq"] == 3
    # Nobody else's data, and no secrets.
    assert OTHER_POST not in text and OTHER_QUESTION not in text and "Pat Other" not in text
    assert "password_hash" not in text and "argon2" not in text and "token_hash" not in text
    rows = await pool.fetch("SELECT * FROM audit_log")
    assert [(r["actor_id"], r["subject_user_id"], r["action"]) for r in rows] == [
        (scene.member["id"], scene.member["id"], "data.download")
    ]


async def test_only_a_signed_in_member_downloads_data(scene, browser_factory, pool):
    b = await browser_factory()
    status, text, _ = await _post_form(b, "/account/data", {})
    assert status in (302, 303) and EMAIL not in text
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 0


# --- 2. deleting one's own account ------------------------------------------------------


async def test_a_member_deletes_their_account_and_nothing_identifies_them(
    scene, server, browser_factory, pool, settings
):
    uid = scene.member["id"]
    # A mistyped sign-in, from another browser, leaves a throttle row with their email.
    typo = await browser_factory()
    r, _ = await typo.post("/login", {"email": EMAIL.upper(), "password": "not my password"})
    assert r.status == 422
    b = await browser_factory(EMAIL)
    old_cookie = _cookie(b)
    sock = await _socket(server, old_cookie)
    try:
        # They download their data first, as people do before leaving.
        status, _, _ = await _post_form(b, "/account/data", {})
        assert status == 200
        assert await _traces(pool)  # the scan does find them while they are here

        # The wrong password changes nothing.
        status, text, _ = await _post_form(b, "/account/delete", {"password": "wrong password"})
        assert status == 422 and "Your password is not right" in text
        user = await pool.fetchrow("SELECT * FROM users WHERE id = $1", uid)
        assert (user["email"], user["name"], user["erased_at"]) == (EMAIL, NAME, None)
        assert await pool.fetchval("SELECT count(*) FROM logins WHERE user_id = $1", uid) == 1
        assert sock.connected
        assert (
            await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'account.erase'")
            == 0
        )

        # The right one erases them, signs them out and closes their sockets.
        status, text, headers = await _post_form(b, "/account/delete", {"password": PASSWORD})
        assert status == 303, text[:1000]
        assert headers["Location"] == "/?deleted=1"
        await _wait_disconnected(sock)
    finally:
        await sock.disconnect()
    r, _ = await b.get("/account")
    assert r.url.path == "/login"
    stale = await browser_factory()
    stale.session.cookie_jar.update_cookies({"confer_session": old_cookie}, URL(b.url("/")))
    r, _ = await stale.get("/account")
    assert r.url.path == "/login"
    status, _ = await stale.api("GET", "/api/v1/me", token=scene.token)
    assert status == 401

    audit = await pool.fetch("SELECT * FROM audit_log WHERE action = 'account.erase'")
    assert [(a["actor_id"], a["subject_user_id"]) for a in audit] == [(uid, uid)]
    assert json.loads(audit[0]["details"]) == {"by": "self"}

    await _check_erased(pool, browser_factory, settings, scene)

    # They cannot sign in again, by their old email or the erased one.
    again = await browser_factory()
    r, _ = await again.post("/login", {"email": EMAIL, "password": PASSWORD})
    assert r.status == 422
    r, _ = await again.post("/login", {"email": f"erased-{uid}@invalid", "password": PASSWORD})
    assert r.status == 422
    assert await pool.fetchval("SELECT count(*) FROM logins WHERE user_id = $1", uid) == 0


# --- 3. an organiser anonymises a member in their conference; a site admin erases -------------


async def test_an_organiser_anonymises_a_member_in_their_conference_only(
    world, server, browser_factory, pool, settings
):
    # The member facilitates the opening session, and exported it while they did.
    scene = await _scene(world, pool, settings, role="facilitator")
    slug = scene.conference["slug"]
    uid = scene.member["id"]
    await pool.execute(
        "UPDATE conferences SET facilitators_may_export = true WHERE id = $1",
        scene.conference["id"],
    )
    fac = await _browser(browser_factory, pool, settings, scene.member)
    status, text, _ = await _post_form(
        fac, f"/c/{slug}/export", {"format": "md", "session_id": str(scene.session["id"])}
    )
    assert status == 200 and FIRST_POST in text
    sock = await _socket(server, _cookie(fac))
    path = f"/c/{slug}/members/{uid}/anonymise"

    try:
        # A participant may not; an organiser of another conference reaches nobody here.
        participant = await _browser(browser_factory, pool, settings, scene.other)
        status, _, _ = await _post_form(participant, path, {"requested": "on"})
        assert status == 403
        stranger = await _user(pool, "Sam Stranger")
        elsewhere = await world.conference()
        await world.member(elsewhere, stranger, "organiser")
        s = await _browser(browser_factory, pool, settings, stranger)
        status, _, _ = await _post_form(
            s, f"/c/{elsewhere['slug']}/members/{uid}/anonymise", {"requested": "on"}
        )
        assert status == 404
        status, _, _ = await _post_form(s, path, {"requested": "on"})
        assert status in (403, 404)

        # The organiser must confirm that the member asked, and may not erase the account.
        org = await _browser(browser_factory, pool, settings, scene.org)
        status, text, _ = await _post_form(org, path, {})
        assert status == 422, text[:1000]
        assert "Confirm that the member asked for this" in text
        status, text, _ = await _post_form(org, path, {"requested": "on", "scope": "account"})
        assert status == 403, text[:1000]
        assert await pool.fetchval("SELECT name FROM users WHERE id = $1", uid) == NAME
        assert sock.connected
        assert (
            await pool.fetchval("SELECT count(*) FROM audit_log WHERE subject_user_id = $1", uid)
            == 0
        )

        status, text, headers = await _post_form(org, path, {"requested": "on"})
        assert status == 303, text[:1000]
        assert headers["Location"].startswith(f"/c/{slug}/manage/people?done=anonymised")
        await _wait_disconnected(sock)
    finally:
        await sock.disconnect()

    audit = await pool.fetch("SELECT * FROM audit_log WHERE subject_user_id = $1", uid)
    assert [(a["action"], a["actor_id"], a["conference_id"]) for a in audit] == [
        ("member.anonymise", scene.org["id"], scene.conference["id"])
    ]
    # Their account is theirs still: name, password, sign-ins, their other conference.
    user = await pool.fetchrow("SELECT * FROM users WHERE id = $1", uid)
    assert (user["name"], user["email"], user["erased_at"]) == (NAME, EMAIL, None)
    assert user["password_hash"]
    r, page = await fac.get("/account")
    assert r.url.path == "/account" and NAME in page
    assert await pool.fetchval(
        "SELECT array_agg(conference_id) FROM memberships WHERE user_id = $1", uid
    ) != [scene.conference["id"]]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM memberships WHERE user_id = $1 AND conference_id = $2",
            uid,
            scene.conference["id"],
        )
        == 0
    )
    # In this conference nothing is theirs any more: their words read as "Former participant".
    for table, column in (
        ("posts", "author_id"),
        ("questions", "author_id"),
        ("question_votes", "user_id"),
        ("flags", "flagger_id"),
        ("read_state", "user_id"),
        ("follows", "user_id"),
        ("session_facilitators", "user_id"),
    ):
        assert await pool.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", uid) == 0
    md = await _transcript(org, slug, "md")
    assert NAME not in md and ORGANISATION not in md
    assert md.index("**#1 Former participant**") < md.index(FIRST_POST)
    assert f"Former participant: {QUESTION}" in md


async def test_a_site_admin_erases_a_whole_account(world, server, browser_factory, pool, settings):
    scene = await _scene(world, pool, settings)
    slug = scene.conference["slug"]
    uid = scene.member["id"]
    admin = await _user(pool, "Ada Admin")
    await pool.execute("UPDATE users SET is_admin = true WHERE id = $1", admin["id"])
    member = await _browser(browser_factory, pool, settings, scene.member)
    sock = await _socket(server, _cookie(member))
    try:
        a = await _browser(browser_factory, pool, settings, admin)
        status, text, headers = await _post_form(
            a, f"/c/{slug}/members/{uid}/anonymise", {"requested": "on", "scope": "account"}
        )
        assert status == 303, text[:1000]
        assert headers["Location"].startswith(f"/c/{slug}/manage/people?done=erased")
        await _wait_disconnected(sock)
    finally:
        await sock.disconnect()
    audit = await pool.fetch("SELECT * FROM audit_log WHERE action = 'account.erase'")
    assert [(a["actor_id"], a["subject_user_id"]) for a in audit] == [(admin["id"], uid)]
    assert json.loads(audit[0]["details"]) == {"by": "admin"}
    r, _ = await member.get("/account")
    assert r.url.path == "/login"
    await _check_erased(pool, browser_factory, settings, scene)
