"""axe-core, with JavaScript on, on the page states #23 added (item 7): the notifications page
showing a notification of every kind, the "Delete this post?" page, the "Undo" banner after
deleting, and the banner after undoing; at a desktop width and at 320 px.

Every notification is made the way Confer makes it: by the service functions the forms, the
JSON API and the sockets call (a reply, a mention and a post in a followed thread through
confer.posts.service; the reminder by confer.calendars.reminders' own pass; the question
answered and dismissed through confer.panels.service; hidden, restored, muted, unmuted and
removed through confer.moderation.service). `every_notice` is shared with the Nu HTML checker
(tests/browser/test_html_valid.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from confer.calendars import reminders
from confer.calendars import service as calendars
from confer.keys import ctx_key
from confer.moderation import service as moderation
from confer.notifications import notices
from confer.panels import service as panels
from confer.policy import Actor
from confer.posts import service as posts
from tests.browser.helpers import IMPACTS, SESSION_LOOP, Audits

pytestmark = [pytest.mark.browser, SESSION_LOOP]

# Every kind a notification can have (migrations/0026_notices.sql's CHECK).
ALL_KINDS = {"mention", "reply", "followed_post", "reminder", *notices.KINDS}


def actor(user: dict) -> Actor:
    return Actor(user_id=user["id"], name=user["name"], via="cookie")


async def every_notice(world: Any, server: Any) -> dict[str, Any]:
    """A live conference where Alice has been sent a notification of every kind, and Bob has
    a post of his own to delete. Returns the people, the conference and Bob's post."""
    ctx = server.app[ctx_key]
    pool = world.pool
    conf = await world.conference()
    slug = conf["slug"]
    talk = await world.session(conf, title="Roads", lasts=timedelta(hours=4))
    panel = await world.session(conf, kind="panel", title="Ask the panel", lasts=timedelta(hours=4))
    soon = await world.session(
        conf, kind="keynote", title="Opening keynote", starts_in=timedelta(minutes=10)
    )
    people = {}
    for key, name, role in (
        ("fac", "Faye Facilitator", "facilitator"),
        ("speaker", "Jane Smith", "speaker"),
        ("alice", "Alice Jones", "participant"),
        ("bob", "Bob Brown", "participant"),
    ):
        people[key] = await world.user(name)
        await world.member(conf, people[key], role)
    alice, bob, fac = people["alice"], people["bob"], people["fac"]
    await pool.execute(
        "INSERT INTO session_speakers (session_id, user_id) VALUES ($1, $2)",
        panel["id"], people["speaker"]["id"],
    )  # fmt: skip
    thread = await world.thread(talk, fac, title="Potholes")

    async def post(who: dict, body: str, reply_to: int | None = None) -> int:
        data = {"body": body, "idempotency_key": str(uuid.uuid4())}
        if reply_to is not None:
            data["reply_to"] = reply_to
        made, created = await posts.create_post(ctx, actor(who), slug, thread["id"], data)
        assert created
        return made["id"]

    # Alice posts (so she follows the thread); Bob posts in it, replies to her, mentions her.
    hers = await post(alice, "The council never listens.")
    await post(bob, "Ours fixed three this week.")
    await post(bob, "Which roads?", reply_to=hers)
    await post(bob, "@Alice Jones have you tried the app?")
    bobs = await post(bob, "A post Bob will delete.")
    # A reminder: she starred a session that starts in ten minutes (her default is 15).
    await calendars.star(ctx, actor(alice), slug, soon["id"], True)
    assert await reminders.run_due(ctx) == 1
    # Her question answered by the speaker, her other one dismissed with a reason.
    asked = []
    for body in ("How will potholes be fixed?", "What about the weather?"):
        q, _created = await panels.ask(
            ctx,
            actor(alice),
            slug,
            panel["id"],
            {"body": body, "idempotency_key": str(uuid.uuid4())},
        )
        asked.append(q["id"])
    await panels.change_state(ctx, actor(fac), asked[0], "answering", {})
    await panels.answer(ctx, actor(people["speaker"]), asked[0], {"body": "By the end of May."})
    await panels.change_state(ctx, actor(fac), asked[1], "dismiss", {"reason": "Off topic"})
    # Her post hidden with a reason, then restored.
    await moderation.moderate_post(ctx, actor(fac), hers, "hide", {"reason": "Spam"})
    await moderation.moderate_post(ctx, actor(fac), hers, "restore", {})
    # Muted for half an hour with a reason, and unmuted.
    who = alice["id"]
    await moderation.moderate_member(
        ctx, actor(fac), slug, who, "mute", {"minutes": "30", "reason": "Cooling off"}
    )
    await moderation.moderate_member(ctx, actor(fac), slug, who, "unmute", {})
    # Removed from another conference (a removed member no longer sees the notices of the
    # conference she was removed from, only that she was).
    other = await world.conference()
    await world.member(other, fac, "facilitator")
    await world.member(other, alice)
    await moderation.moderate_member(
        ctx, actor(fac), other["slug"], who, "remove", {"reason": "Repeated personal attacks"}
    )

    kinds = {
        r["kind"]
        for r in await pool.fetch("SELECT kind FROM notifications WHERE user_id = $1", who)
    }
    assert kinds == ALL_KINDS, kinds
    return {**people, "conf": conf, "slug": slug, "thread": thread, "bobs_post": bobs}


# What the notifications page says for each kind (confer.notifications: service.describe,
# notices.text, calendars.reminders).
LISTED = [
    "Bob Brown posted in “Potholes”, a thread you follow",
    "Bob Brown replied to your post in “Potholes”",
    "Bob Brown mentioned you in “Potholes”",
    "Opening keynote",
    "Jane Smith answered your question in “Ask the panel”",
    "Your question in “Ask the panel” was dismissed. The reason: Off topic",
    "A facilitator hid your post in “Potholes”. The reason: Spam",
    "A facilitator restored your post in “Potholes”",
    re.compile(r"A facilitator muted you in “Conference conf-\w+” until .+The reason: Cooling off"),
    "A facilitator unmuted you in “Conference conf-\\w+”. You can post again.",
    "You were removed from “Conference conf-\\w+”. The reason: Repeated personal attacks",
]


@pytest.mark.parametrize("width", [1280, 320], ids=["desktop", "320px"])
async def test_notices_and_deleting_a_post_have_no_axe_violations(world, new_page, server, width):
    s = await every_notice(world, server)
    audits = Audits(IMPACTS)  # nothing at all, not only nothing serious

    alice = await new_page(user=s["alice"])
    await alice.set_viewport_size({"width": width, "height": 800 if width > 320 else 640})
    await alice.goto("/notifications")
    items = alice.locator("[data-notifications] > li")
    await expect(items).to_have_count(len(ALL_KINDS))
    for text in LISTED:
        pattern = text if isinstance(text, re.Pattern) else re.compile(text)
        await expect(items.filter(has_text=pattern)).to_have_count(1)
    await expect(items.get_by_text("Unread", exact=True)).to_have_count(len(ALL_KINDS))
    await audits.check(alice, f"notifications of every kind {width}px")
    await alice.get_by_role("button", name="Mark all as read").click()
    await expect(alice.get_by_text("Your notifications are marked as read.")).to_be_visible()
    await audits.check(alice, f"notifications, all read {width}px")

    # Bob deletes his own post: the question first, then the banner with "Undo", then back.
    bob = await new_page(user=s["bob"])
    await bob.set_viewport_size({"width": width, "height": 800 if width > 320 else 640})
    await bob.goto(f"/c/{s['slug']}/threads/{s['thread']['id']}")
    mine = bob.locator(f"#post-{s['bobs_post']}")
    await mine.get_by_role("link", name="Delete your post").click()
    await expect(bob.get_by_role("heading", level=1, name="Delete this post?")).to_be_visible()
    await audits.check(bob, f"delete this post? {width}px")
    await bob.get_by_role("button", name="Yes, delete this post").click()
    banner = bob.locator(".govuk-notification-banner", has_text="Your post has been deleted.")
    undo = banner.get_by_role("button", name="Undo the deletion of your post")
    await expect(undo).to_be_visible()
    await expect(banner).to_be_in_viewport()
    await audits.check(bob, f"undo banner after deleting {width}px")
    await undo.click()
    await expect(bob.get_by_text("Your post is back.")).to_be_visible()
    await expect(bob.locator(f"#post-{s['bobs_post']}")).to_contain_text("A post Bob will delete.")
    await audits.check(bob, f"post brought back {width}px")
    audits.assert_clean()
