"""Notices people see (issue #23): a question answered or dismissed, muted and unmuted,
removed, a post hidden and restored — stored as notifications, listed (in Welsh for a Welsh
member), counted unread, sent live, emailed on "each", told to nobody else; the join form's
email choice; the panel right after an answer. Real server, PostgreSQL and socket.io."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest

from tests import test_notifications
from tests.conftest import Browser, World
from tests.sockets import Listener, session_cookie

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

# The socket.io clients of test_notifications.py, one per signed-in browser.
sockets = test_notifications.sockets


async def _people(world: World, browser_factory) -> dict[str, Any]:
    c = await world.conference()
    panel = await world.session(c, kind="panel", title="Ask the panel", lasts=timedelta(hours=4))
    talk = await world.session(c, open_threads=True, title="Roads", lasts=timedelta(hours=4))
    people: dict[str, Any] = {"c": c, "panel": panel, "talk": talk}
    for key, name, role in (
        ("fac", "Faye Facilitator", "facilitator"),
        ("speaker", "Jane Smith", "speaker"),
        ("alice", "Alice Jones", "participant"),
        ("bob", "Bob Brown", "participant"),
    ):
        u = await world.user(name=name, email=f"{key}@example.org")
        await world.member(c, u, role)
        people[key] = u
        people[f"{key}_b"] = await browser_factory(u["email"])
    await world.pool.execute(
        "INSERT INTO session_speakers (session_id, user_id) VALUES ($1, $2)",
        panel["id"],
        people["speaker"]["id"],
    )
    return people


async def _ask(b: Browser, panel_id: int, body: str) -> int:
    status, q = await b.api("POST", f"/api/v1/panels/{panel_id}/questions", {"body": body})
    assert status == 201, q
    return q["id"]


async def _notes(b: Browser) -> tuple[list[dict], int]:
    status, data = await b.api("GET", "/api/v1/notifications")
    assert status == 200, data
    return data["notifications"], data["unread"]


async def test_each_notice_is_stored_listed_counted_sent_live_and_emailed(
    world, browser_factory, sockets, pool
):
    p = await _people(world, browser_factory)
    c, alice_b, bob_b, fac_b = p["c"], p["alice_b"], p["bob_b"], p["fac_b"]
    alice, bob = p["alice"], p["bob"]
    await pool.execute(
        "UPDATE memberships SET email_notifications = 'each' WHERE user_id = ANY($1::bigint[])",
        [alice["id"], bob["id"]],
    )
    alice_live = await sockets(alice_b)
    bob_live = await sockets(bob_b)
    expected: list[tuple[str, str]] = []  # (kind, text), oldest first

    async def told(kind: str, text: str) -> dict:
        """Alice has it: stored, listed first, counted, sent live with its count."""
        expected.append((kind, text))
        notes, unread = await _notes(alice_b)
        assert [(n["kind"], n["text"]) for n in notes] == list(reversed(expected))
        assert unread == len(expected)
        events = await alice_live.wait_for("notification", len(expected))
        assert (events[-1]["kind"], events[-1]["text"]) == (kind, text)
        assert events[-1]["unread"] == len(expected)
        return notes[0]

    # A speaker answers Alice's question: she is told, with a link to the answer.
    q1 = await _ask(alice_b, p["panel"]["id"], "How will potholes be fixed?")
    q2 = await _ask(alice_b, p["panel"]["id"], "What about the weather?")
    status, _ = await fac_b.api("POST", f"/api/v1/questions/{q1}/state", {"action": "answering"})
    assert status == 200
    status, answered = await p["speaker_b"].api(
        "POST", f"/api/v1/questions/{q1}/answers", {"body": "By the end of the month."}
    )
    assert status == 201 or status == 200, answered
    note = await told("question_answered", "Jane Smith answered your question in “Ask the panel”")
    assert note["url"] == (
        f"/c/{c['slug']}/panels/{p['panel']['id']}#answer-{answered['answer_id']}"
    )
    # A facilitator dismisses her other one, with a reason.
    status, _ = await fac_b.api(
        "POST", f"/api/v1/questions/{q2}/state", {"action": "dismiss", "reason": "Off topic"}
    )
    assert status == 200
    await told(
        "question_dismissed",
        "Your question in “Ask the panel” was dismissed. The reason: Off topic",
    )
    # Her post hidden, with the public reason, then restored.
    status, thread = await alice_b.api(
        "POST",
        f"/api/v1/sessions/{p['talk']['id']}/threads",
        {"title": "Potholes", "body": "The council never listens."},
    )
    assert status == 201, thread
    post_id = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread["id"])
    status, _ = await fac_b.api(
        "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "hide", "reason": "Spam"}
    )
    assert status == 200
    note = await told("post_hidden", "A facilitator hid your post in “Potholes”. The reason: Spam")
    assert note["url"] == f"/c/{c['slug']}/posts/{post_id}"
    status, _ = await fac_b.api(
        "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "restore"}
    )
    assert status == 200
    await told("post_restored", "A facilitator restored your post in “Potholes”")
    # Muted (until a time, with the reason), then unmuted.
    members = f"/api/v1/conferences/{c['slug']}/members/{alice['id']}/moderation"
    status, _ = await fac_b.api(
        "POST", members, {"action": "mute", "minutes": "30", "reason": "Cooling off"}
    )
    assert status == 200
    until = await pool.fetchval(
        "SELECT until FROM notifications WHERE user_id = $1 AND kind = 'muted'", alice["id"]
    )
    assert until is not None
    notes, _ = await _notes(alice_b)
    assert notes[0]["until"] == until.isoformat()
    muted_text = notes[0]["text"]
    assert re.fullmatch(
        rf"A facilitator muted you in “Conference {c['slug']}” until "
        r".+ \d\d:\d\d (GMT|BST)\. The reason: Cooling off",
        muted_text,
    ), muted_text
    await told("muted", muted_text)
    status, _ = await fac_b.api("POST", members, {"action": "unmute"})
    assert status == 200
    await told(
        "unmuted", f"A facilitator unmuted you in “Conference {c['slug']}”. You can post again."
    )

    # Nobody else was told; Bob (also on "each") has no notification, event or email.
    await asyncio.sleep(0.5)
    assert await _notes(bob_b) == ([], 0)
    assert "notification" not in bob_live.events
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM notifications WHERE user_id <> $1 AND kind NOT IN "
            "('mention', 'reply', 'followed_post')",
            alice["id"],
        )
        == 0
    )

    # A Welsh member reads them in Welsh.
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", alice["id"])
    _, page = await alice_b.get("/notifications")
    text = re.sub(r"<[^>]+>", "", page)
    assert "Mae Jane Smith wedi ateb eich cwestiwn yn “Ask the panel”" in text
    assert "Cafodd eich cwestiwn yn “Ask the panel” ei ddiystyru. Y rheswm: Off topic" in text
    assert "Mae hwylusydd wedi cuddio eich neges yn “Potholes”. Y rheswm: Spam" in text
    assert "Mae hwylusydd wedi adfer eich neges yn “Potholes”" in text
    assert "Mae hwylusydd wedi eich tawelu yn" in text
    assert "Mae hwylusydd wedi eich dad-dawelu yn" in text
    await pool.execute("UPDATE users SET language = NULL WHERE id = $1", alice["id"])

    # Removed: she is no longer a member, yet still reads it (as text, without a link).
    status, _ = await fac_b.api("POST", members, {"action": "remove", "reason": "Repeated abuse"})
    assert status == 200
    expected.append(
        ("removed", f"You were removed from “Conference {c['slug']}”. The reason: Repeated abuse")
    )
    # The conference's other notifications go with her membership (as they always have).
    notes, unread = await _notes(alice_b)
    assert [(n["kind"], n["text"]) for n in notes] == [expected[-1]]
    assert unread == 1
    assert notes[0]["url"] is None and notes[0]["open_url"] is None
    _, page = await alice_b.get("/notifications")
    assert expected[-1][1] in re.sub(r"<[^>]+>", "", page)
    assert f'href="/notifications/{notes[0]["id"]}"' not in page
    _, page = await alice_b.get("/")
    assert await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE user_id = $1", alice["id"]
    ) == len(expected)
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", alice["id"])
    _, page = await alice_b.get("/notifications")
    assert f"Cawsoch eich tynnu o “Conference {c['slug']}”. Y rheswm: Repeated abuse" in page

    # Each one emailed to her (she chose "each"), through the outbox; none to Bob.
    subjects = [
        r["subject"]
        for r in await pool.fetch(
            "SELECT subject FROM outbox WHERE user_id = $1 AND kind = 'notification' ORDER BY id",
            alice["id"],
        )
    ]
    assert subjects == [text for _kind, text in expected]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE user_id = $1 AND kind = 'notification'", bob["id"]
        )
        == 0
    )


async def test_the_join_form_asks_how_to_hear_by_email_and_saves_it(world, browser_factory, pool):
    c = await world.conference()
    u = await world.user(name="Nia Newcomer")
    b = await browser_factory(u["email"])
    join = f"/c/{c['slug']}/join"
    _, page = await b.get(join)
    assert "How do you want to hear about replies by email?" in page
    assert re.search(r'name="email" type="radio" value="digest" checked', page)  # as today
    # A bad value is an error naming the field; nothing is joined.
    r, page = await b.post(join, {"accept_code_of_conduct": "on", "email": "hourly"})
    assert r.status == 422
    assert 'href="#email"' in page and "Select how you want to hear by email" in page
    assert await pool.fetchval("SELECT count(*) FROM memberships WHERE user_id = $1", u["id"]) == 0
    r, _ = await b.post(join, {"accept_code_of_conduct": "on", "email": "each"})
    assert r.status == 303
    chosen = await pool.fetchval(
        "SELECT email_notifications FROM memberships WHERE user_id = $1 AND status = 'active'",
        u["id"],
    )
    assert chosen == "each"


async def test_after_an_answer_the_question_reads_answered_and_the_answering_one_is_first(
    world, browser_factory
):
    p = await _people(world, browser_factory)
    slug, panel_id = p["c"]["slug"], p["panel"]["id"]
    first = await _ask(p["alice_b"], panel_id, "Oldest question")
    second = await _ask(p["alice_b"], panel_id, "Popular question")
    await p["bob_b"].api("POST", f"/api/v1/questions/{second}/vote")
    status, _ = await p["fac_b"].api(
        "POST", f"/api/v1/questions/{first}/state", {"action": "answering"}
    )
    assert status == 200

    def order(page: str) -> list[int]:
        return [int(x) for x in re.findall(r'data-question-id="(\d+)"', page)]

    _, page = await p["bob_b"].get(f"/c/{slug}/panels/{panel_id}")
    assert order(page) == [first, second]  # answering now, ahead of more votes
    _, page = await p["bob_b"].get(f"/c/{slug}/panels/{panel_id}?sort=new")
    assert order(page) == [first, second]
    status, _ = await p["speaker_b"].api(
        "POST", f"/api/v1/questions/{first}/answers", {"body": "Here is the answer."}
    )
    assert status in (200, 201)
    _, page = await p["bob_b"].get(f"/c/{slug}/panels/{panel_id}")
    item = page[page.index(f'id="question-{first}"') :].split("</li>", 1)[0]
    assert 'data-status="answered"' in item and "Answered" in item
    assert "Answering now" not in page


class _Removed(Listener):
    NAMES = ("notification", "error", "disconnect")


async def test_a_removed_member_hears_of_it_live_before_the_sockets_close(
    world, browser_factory, server
):
    p = await _people(world, browser_factory)
    c, alice = p["c"], p["alice"]
    sock = _Removed()
    await sock.sio.connect(
        str(server.make_url("/")),
        headers={"Cookie": f"confer_session={session_cookie(p['alice_b'])}"},
        transports=["websocket"],
        wait_timeout=10,
    )
    try:
        status, _ = await p["fac_b"].api(
            "POST",
            f"/api/v1/conferences/{c['slug']}/members/{alice['id']}/moderation",
            {"action": "remove", "reason": "Repeated abuse"},
        )
        assert status == 200
        await sock.until("disconnect")
        assert not sock.sio.connected
        names = [name for name, _data in sock.events]
        assert names == ["notification", "error", "disconnect"], names
        note = sock.names("notification")[0]
        assert note["kind"] == "removed" and note["unread"] == 1
        assert note["text"] == (
            f"You were removed from “Conference {c['slug']}”. The reason: Repeated abuse"
        )
        assert sock.names("error")[0]["code"] == "signed_out"
    finally:
        if sock.sio.connected:
            await sock.sio.disconnect()
