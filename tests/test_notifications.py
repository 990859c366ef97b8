"""Notifications, follows and email preferences: a real server, PostgreSQL, SMTP and sockets."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Browser, World
from tests.test_live import Client, _cookie

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url)


@dataclass
class Scene:
    c: dict
    s: dict
    users: dict[str, dict]
    browsers: dict[str, Browser]
    thread_id: int = 0

    def b(self, who: str) -> Browser:
        return self.browsers[who]

    async def post(self, who: str, body: str, *, reply_to: int | None = None) -> dict:
        status, post = await self.b(who).api(
            "POST",
            f"/api/v1/threads/{self.thread_id}/posts",
            {"body": body, "reply_to": reply_to},
        )
        assert status == 201, post
        return post

    async def notes(self, who: str, **query: str) -> list[dict]:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        status, data = await self.b(who).api("GET", f"/api/v1/notifications?{qs}")
        assert status == 200, data
        return data["notifications"]

    async def unread(self, who: str) -> int:
        status, data = await self.b(who).api("GET", "/api/v1/notifications")
        assert status == 200, data
        return data["unread"]


NAMES = {
    "alice": "Alice Jones",
    "bob": "Bob Brown",
    "carol": "Carol White",
    "jane": "Cllr Jane Smith",
    "janet": "Cllr Jane",
}


@pytest.fixture
async def scene(world: World, browser_factory) -> Scene:
    """A live conference with an open discussion; Alice starts a thread (so follows it)."""
    c = await world.conference()
    s = await world.session(c, open_threads=True, lasts=timedelta(hours=5))
    users = {}
    browsers = {}
    for key, name in NAMES.items():
        u = await world.user(name=name, email=f"{key}@example.org")
        await world.member(c, u, "participant")
        users[key] = u
        browsers[key] = await browser_factory(u["email"])
    scene = Scene(c, s, users, browsers)
    status, thread = await scene.b("alice").api(
        "POST",
        f"/api/v1/sessions/{s['id']}/threads",
        {"title": "Potholes and how to fix them", "body": "Where shall we start?"},
    )
    assert status == 201, thread
    scene.thread_id = thread["id"]
    return scene


def kinds(notes: list[dict]) -> list[tuple[str, int]]:
    return [(n["kind"], n["post_id"]) for n in notes]


# --- who is told what ----------------------------------------------------------------------


async def test_mention_reply_and_follow_are_notified_once_each_with_mention_first(scene, world):
    outsider = await world.user(name="Dave Outsider")  # not a member: never notified
    first = await scene.post("bob", "Start with the worst roads.")
    # Bob posted, so he follows; Alice started the thread, so she follows.
    assert kinds(await scene.notes("alice")) == [("followed_post", first["id"])]
    assert await scene.notes("bob") == []
    reply = await scene.post(
        "carol",
        "I agree with @bob brown! And @Alice Jones, see carol@example.org. "
        "@Dave Outsider @Carol White (that is me).",
        reply_to=first["id"],
    )
    # Bob: mentioned and replied to -> one notification, a mention.
    assert kinds(await scene.notes("bob")) == [("mention", reply["id"])]
    # Alice: mentioned, and a follower with an unread notification -> the mention only.
    assert kinds(await scene.notes("alice")) == [
        ("mention", reply["id"]),
        ("followed_post", first["id"]),
    ]
    # Carol does not notify herself; the outsider is not a member.
    assert await scene.notes("carol") == []
    count = await world.pool.fetchval(
        "SELECT count(*) FROM notifications WHERE user_id = $1", outsider["id"]
    )
    assert count == 0
    # A reply alone is a reply.
    again = await scene.post("carol", "One more thought.", reply_to=first["id"])
    assert kinds(await scene.notes("bob"))[0] == ("reply", again["id"])
    note = (await scene.notes("bob"))[0]
    assert note["text"] == "Carol White replied to your post in “Potholes and how to fix them”"
    assert note["url"] == f"/c/{scene.c['slug']}/posts/{again['id']}"
    assert note["read"] is False


async def test_the_longest_member_name_wins_a_mention(scene):
    post = await scene.post("bob", "Thanks @cllr jane smith, and @Cllr Jane, welcome!")
    assert kinds(await scene.notes("jane")) == [("mention", post["id"])]
    assert kinds(await scene.notes("janet")) == [("mention", post["id"])]
    # Names end at a word boundary: "Cllr Jane Smithers" is "Cllr Jane" followed by "Smithers".
    smithers = await scene.post("bob", "Over to you, @Cllr Jane Smithers.")
    assert len(await scene.notes("jane")) == 1
    assert kinds(await scene.notes("janet"))[0] == ("mention", smithers["id"])
    only = await scene.post("bob", "@CLLR JANE SMITH what do you think?")
    assert kinds(await scene.notes("jane"))[0] == ("mention", only["id"])
    assert len(await scene.notes("janet")) == 2  # "Cllr Jane" lost to the longer name


async def test_a_mention_in_a_new_thread_notifies(scene):
    status, thread = await scene.b("bob").api(
        "POST",
        f"/api/v1/sessions/{scene.s['id']}/threads",
        {"title": "Street lighting", "body": "@Carol White, you asked about this."},
    )
    assert status == 201
    [note] = await scene.notes("carol")
    assert note["kind"] == "mention" and note["thread_id"] == thread["id"]


async def test_followed_posts_notify_once_until_read_and_unfollow_stops_them(scene):
    p1 = await scene.post("bob", "First")
    await scene.post("bob", "Second")  # Alice has not read the first: not told again
    assert kinds(await scene.notes("alice")) == [("followed_post", p1["id"])]
    [note] = await scene.notes("alice")
    assert note["newer_posts"] == 1
    status, _ = await scene.b("alice").api("POST", f"/api/v1/notifications/{note['id']}/read")
    assert status == 200
    p3 = await scene.post("bob", "Third")
    assert kinds(await scene.notes("alice", unread="true")) == [("followed_post", p3["id"])]
    # Reading the thread reads it too, and new posts notify again.
    await scene.b("alice").get(f"/c/{scene.c['slug']}/threads/{scene.thread_id}")
    assert await scene.notes("alice", unread="true") == []
    p4 = await scene.post("bob", "Fourth")
    assert kinds(await scene.notes("alice", unread="true")) == [("followed_post", p4["id"])]

    # Unfollow with the button on the thread page (a plain form, no JavaScript).
    a = scene.b("alice")
    _, page = await a.get(f"/c/{scene.c['slug']}/threads/{scene.thread_id}")
    assert ">Unfollow</span>" in page and "You are following this thread" in page
    r, _ = await a.post(
        f"/c/{scene.c['slug']}/threads/{scene.thread_id}/follow", {"following": "no", "page": "1"}
    )
    assert r.status == 303
    assert r.headers["Location"].endswith(f"/threads/{scene.thread_id}?page=1#follow")
    await a.api("POST", "/api/v1/notifications/read", {})
    await scene.post("bob", "Fifth")
    assert await scene.notes("alice", unread="true") == []
    # Posting again does not undo an explicit unfollow.
    await scene.post("alice", "I'll leave you to it.")
    await scene.post("bob", "Sixth")
    assert await scene.notes("alice", unread="true") == []
    _, page = await a.get(f"/c/{scene.c['slug']}/threads/{scene.thread_id}")
    assert "Follow this thread to be told" in page and "Unfollow" not in page
    # Following again (API) brings them back.
    status, body = await a.api("PUT", f"/api/v1/threads/{scene.thread_id}/follow")
    assert status == 200 and body == {"following": True}
    p7 = await scene.post("bob", "Seventh")
    assert kinds(await scene.notes("alice", unread="true")) == [("followed_post", p7["id"])]
    status, body = await a.api("DELETE", f"/api/v1/threads/{scene.thread_id}/follow")
    assert status == 200 and body == {"following": False}
    status, body = await a.api("GET", f"/api/v1/threads/{scene.thread_id}/follow")
    assert body == {"following": False}


async def test_a_non_member_cannot_follow(scene, world, browser_factory):
    stranger = await world.user(name="Sam Stranger")
    b = await browser_factory(stranger["email"])
    status, body = await b.api("PUT", f"/api/v1/threads/{scene.thread_id}/follow")
    assert status == 403, body
    _, page = await b.get(f"/c/{scene.c['slug']}/threads/{scene.thread_id}")
    assert "/follow" not in page


# --- reading them ---------------------------------------------------------------------------


def header_count(page: str) -> str:
    m = re.search(r"Notifications<span data-unread-count>([^<]*)</span>", page)
    assert m, "no Notifications link in the header"
    return "Notifications" + m.group(1)


async def test_unread_count_in_the_header_and_mark_all_read(scene):
    a = scene.b("alice")
    _, page = await a.get("/")
    assert header_count(page) == "Notifications"
    await scene.post("bob", "Hello @Alice Jones")
    await scene.post("carol", "And hello from me, @alice jones")
    _, page = await a.get("/")
    assert header_count(page) == "Notifications (2)"
    _, page = await a.get("/notifications")
    assert page.count('govuk-tag--blue">Unread') == 2
    assert "Bob Brown mentioned you in “Potholes and how to fix them”" in page
    r, _ = await a.post(
        "/notifications/read", {"upto": re.search(r'name="upto" value="(\d+)"', page)[1]}
    )
    assert r.status == 303
    _, page = await a.get("/notifications?done=read")
    assert header_count(page) == "Notifications" and "Unread" not in page
    assert await scene.unread("alice") == 0
    # Others' headers are their own.
    _, page = await scene.b("carol").get("/")
    assert header_count(page) == "Notifications"


async def test_the_thread_page_header_has_the_count_and_the_follow_state(scene):
    # The thread page reads both with its thread, not in the header's own query.
    thread = f"/c/{scene.c['slug']}/threads/{scene.thread_id}"
    await scene.post("bob", "Hello @Alice Jones")
    await scene.post("carol", "And hello from me, @alice jones")
    _, page = await scene.b("alice").get(thread)
    assert header_count(page) == "Notifications (2)"  # counted before this page marks them read
    assert "You are following this thread" in page  # she started it
    _, page = await scene.b("jane").get(thread)
    assert header_count(page) == "Notifications"
    assert "Follow this thread to be told" in page  # she has not posted in it
    _, page = await scene.b("alice").get(thread)
    assert header_count(page) == "Notifications"


async def test_opening_or_reading_the_post_marks_it_read(scene):
    a = scene.b("alice")
    post = await scene.post("bob", "@Alice Jones, have a look")
    [note] = await scene.notes("alice")
    r, _ = await a.get(f"/notifications/{note['id']}", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == f"/c/{scene.c['slug']}/posts/{post['id']}"
    assert await scene.unread("alice") == 0
    # Reading the thread also counts: the post is shown, so it has been seen.
    await scene.post("carol", "@Alice Jones and another")
    assert await scene.unread("alice") == 1
    r, page = await a.get(f"/c/{scene.c['slug']}/threads/{scene.thread_id}")
    assert r.status == 200
    assert await scene.unread("alice") == 0
    _, page = await a.get("/")
    assert header_count(page) == "Notifications"


async def test_pending_posts_notify_on_approval_and_hidden_posts_vanish(scene, world):
    fac = await world.user(name="Faye Facilitator")
    await world.member(scene.c, fac, "facilitator")
    await world.pool.execute(
        "UPDATE threads SET premoderated = true WHERE id = $1", scene.thread_id
    )
    pending = await scene.post("bob", "@Alice Jones: a thought for approval")
    assert pending["status"] == "pending"
    assert await scene.notes("alice") == []
    mod = Browser(scene.b("alice").server)
    try:
        await mod.sign_in(fac["email"])
        status, body = await mod.api(
            "POST", f"/api/v1/posts/{pending['id']}/moderation", {"action": "approve"}
        )
        assert status == 200, body
        assert kinds(await scene.notes("alice")) == [("mention", pending["id"])]
        assert await scene.unread("alice") == 1
        status, body = await mod.api(
            "POST",
            f"/api/v1/posts/{pending['id']}/moderation",
            {"action": "hide", "reason": "Off topic"},
        )
        assert status == 200, body
    finally:
        await mod.close()
    assert await scene.notes("alice") == []
    assert await scene.unread("alice") == 0


async def test_nobody_reads_or_marks_another_members_notifications(scene, browser_factory):
    await scene.post("bob", "Hi @Alice Jones")
    [note] = await scene.notes("alice")
    carol = scene.b("carol")
    for method, path in (
        ("GET", f"/api/v1/notifications/{note['id']}"),
        ("POST", f"/api/v1/notifications/{note['id']}/read"),
    ):
        status, body = await carol.api(method, path)
        assert status == 404, (path, body)
    r, _ = await carol.get(f"/notifications/{note['id']}", allow_redirects=False)
    assert r.status == 404
    status, body = await carol.api("POST", "/api/v1/notifications/read", {})
    assert status == 200 and body["marked"] == 0
    anonymous = await browser_factory()
    status, _ = await anonymous.api("GET", "/api/v1/notifications")
    assert status == 401
    r, _ = await anonymous.get("/notifications", allow_redirects=False)
    assert r.status in (302, 303) and "/login" in r.headers["Location"]
    assert await scene.unread("alice") == 1
    status, body = await scene.b("alice").api("GET", f"/api/v1/notifications/{note['id']}")
    assert status == 200 and body["id"] == note["id"]


# --- live -------------------------------------------------------------------------------


@pytest.fixture
async def sockets(server) -> AsyncIterator[Any]:
    made: list[Client] = []

    async def connect(browser: Browser) -> Client:
        c = Client()
        c.sio.on("notification", c._recorder("notification"))
        await c.sio.connect(
            str(server.make_url("/")),
            headers={"Cookie": f"confer_session={_cookie(browser)}"},
            transports=["websocket"],
            wait_timeout=10,
        )
        made.append(c)
        return c

    yield connect
    for c in made:
        if c.sio.connected:
            await c.sio.disconnect()


async def test_the_live_notification_reaches_only_its_recipient(scene, sockets):
    alice = await sockets(scene.b("alice"))
    carol = await sockets(scene.b("carol"))
    bob = await sockets(scene.b("bob"))
    post = await scene.post("bob", "Over to you, @Alice Jones.")
    [event] = await alice.wait_for("notification")
    assert event["kind"] == "mention" and event["post_id"] == post["id"]
    assert event["unread"] == 1
    assert event["text"] == "Bob Brown mentioned you in “Potholes and how to fix them”"
    assert event["url"] == f"/c/{scene.c['slug']}/posts/{post['id']}"
    await asyncio.sleep(0.5)
    assert "notification" not in carol.events and "notification" not in bob.events
    # A post by socket takes the same path.
    reply = await carol.sio.call(
        "post", {"thread_id": scene.thread_id, "body": "Yes @alice jones!"}, timeout=10
    )
    assert reply["ok"] is True
    events = await alice.wait_for("notification", 2)
    assert events[1]["unread"] == 2 and events[1]["actor"] == {"name": "Carol White"}


async def test_a_pending_post_is_announced_live_only_when_approved(scene, world, sockets):
    fac = await world.user(name="Faye Facilitator")
    await world.member(scene.c, fac, "facilitator")
    await world.pool.execute(
        "UPDATE memberships SET premoderated = true WHERE user_id = $1", scene.users["bob"]["id"]
    )
    alice = await sockets(scene.b("alice"))
    pending = await scene.post("bob", "@Alice Jones: pending")
    await asyncio.sleep(0.5)
    assert "notification" not in alice.events
    mod = Browser(scene.b("alice").server)
    try:
        await mod.sign_in(fac["email"])
        status, _ = await mod.api(
            "POST", f"/api/v1/posts/{pending['id']}/moderation", {"action": "approve"}
        )
        assert status == 200
    finally:
        await mod.close()
    [event] = await alice.wait_for("notification")
    assert event["post_id"] == pending["id"] and event["kind"] == "mention"


# --- email ------------------------------------------------------------------------------


async def test_each_email_preference_delivers_an_email_and_none_delivers_nothing(
    scene, mailbox, world
):
    a = scene.b("alice")
    _, page = await a.get("/notifications/settings")
    slug = scene.c["slug"]
    assert f'name="email-{slug}" type="radio" value="digest"' in page  # the default
    assert re.search(
        rf'id="email-{slug}" name="email-{slug}" type="radio" value="digest"[^>]*checked', page
    )
    r, _ = await a.post("/notifications/settings", {f"email-{slug}": "each"})
    assert r.status == 303
    _, page = await a.get("/notifications/settings?saved=1")
    assert (
        re.search(r'value="each"[^>]*checked', page)
        and "Your email choices have been saved" in page
    )
    status, body = await scene.b("carol").api(
        "PUT", f"/api/v1/conferences/{slug}/email-preference", {"email": "none"}
    )
    assert status == 200 and body == {"conference": slug, "email": "none"}
    status, body = await scene.b("carol").api(
        "PUT", f"/api/v1/conferences/{slug}/email-preference", {"email": "hourly"}
    )
    assert status == 400 and "email" in body["error"]["fields"]  # outside the documented enum

    post = await scene.post("bob", "Ideas, @Alice Jones and @Carol White?")
    [message] = await mailbox.wait_for("alice@example.org", 1, within=15)
    assert message["Subject"] == "Bob Brown mentioned you in “Potholes and how to fix them”"
    text = message.get_body(("plain",)).get_content()
    assert "Ideas, @Alice Jones and @Carol White?" in text
    assert f"/c/{slug}/posts/{post['id']}" in text
    assert "/notifications/settings" in text
    # Carol chose none, Jane has the default digest: nothing now. Give the sender time.
    await asyncio.sleep(1.5)
    assert mailbox.to("carol@example.org") == []
    assert mailbox.to("jane@example.org") == []
    assert await world.pool.fetchval("SELECT count(*) FROM outbox") == 1


async def test_the_account_page_links_to_email_choices(scene):
    _, page = await scene.b("alice").get("/account")
    assert 'href="/notifications/settings"' in page
