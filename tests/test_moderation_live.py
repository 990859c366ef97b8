"""Moderation, live: what reaches which socket. Readers in a thread room get the public view
(a placeholder, never hidden text; nothing while a post awaits approval); an author's own
socket gets their whole post; reports reach only the moderation rooms, and a facilitator of
chosen sessions hears only of those. "Never reaches" is checked after a later event has
arrived on the same socket, since events reach a socket in the order they were sent.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.test_moderation import ANON, Kit, ModClient, kit_fixture  # noqa: F401  (the fixture)


def _mentions(client: ModClient, post_id: int) -> list[tuple[str, Any]]:
    """Every event this client received that carries the post `post_id`."""
    return [
        (name, data)
        for name, items in client.events.items()
        for data in items
        if isinstance(data, dict) and post_id in (data.get("id"), data.get("post_id"))
    ]


async def _barrier(kit: Kit, client: ModClient, rooms: int = 1) -> None:
    """A facilitator posts in thread A; wait until `client` has heard it in `rooms` rooms."""
    before = len(client.got("post:new"))
    status, _ = await kit.post_as(kit.fac, kit.ta, "A facilitator's note")
    assert status == 201
    await client.wait_for("post:new", before + rooms)


async def test_readers_hear_of_a_hidden_post_without_its_text_and_its_author_hears_all(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Secret words here")
    reader = await kit.socket(kit.ben)
    anon = await kit.socket(ANON)
    for client in (reader, anon):
        assert (await client.join(f"thread:{kit.ta['id']}"))["ok"] is True
    author = await kit.socket(kit.ann)  # in no thread room: hears through its own user room
    mod = await kit.socket(kit.fac)
    assert (await mod.join(f"moderation:{kit.c['id']}"))["ok"] is True

    ack = await mod.moderate(action="hide", post_id=post_id, reason="Personal information")
    assert ack["ok"] is True and ack["result"]["hidden_reason"] == "Personal information"
    for client in (reader, anon):
        (event,) = await client.wait_for("post:updated")
        assert event["id"] == post_id and event["status"] == "hidden" and event["html"] == ""
        assert event["placeholder"] == "Removed by a facilitator: Personal information"
        assert "Secret words" not in json.dumps(event)
    (own,) = await author.wait_for("post:updated")
    assert own["id"] == post_id and own["html"] == "<p>Secret words here</p>\n"
    assert own["hidden_reason"] == "Personal information" and own["placeholder"] is None
    (seen,) = await mod.wait_for("post:updated")
    assert "Secret words here" in seen["html"] and seen["status"] == "hidden"


async def test_readers_hear_of_locks_and_of_posts_moved_between_threads(kit):
    reader = await kit.socket(kit.ben)
    for thread in (kit.ta, kit.tb):
        assert (await reader.join(f"thread:{thread['id']}"))["ok"] is True
    mod = await kit.socket(kit.fac)
    ack = await mod.moderate(action="lock", thread_id=kit.ta["id"], reason="Taking a break")
    assert ack["ok"] is True
    (event,) = await reader.wait_for("thread:updated")
    assert event["thread_id"] == kit.ta["id"] and event["change"] == "lock"
    assert event["posting_state"] == "locked" and event["lock_reason"] == "Taking a break"

    post_id = await kit.add_post(kit.ta, kit.ann, "Wrong place")
    seq = (await kit.post_row(post_id))["seq"]
    ack = await mod.moderate(action="move", post_id=post_id, to_thread_id=kit.tb["id"])
    assert ack["ok"] is True
    (gone,) = await reader.wait_for("post:removed")
    assert gone == {
        "id": post_id,
        "thread_id": kit.ta["id"],
        "moved_to": kit.tb["id"],
        "status": "moved",
        "seq": seq,
    }
    (arrived,) = await reader.wait_for("post:new")
    assert arrived["id"] == post_id and arrived["thread_id"] == kit.tb["id"]


async def test_a_post_awaiting_approval_reaches_moderators_and_the_thread_only_once_approved(kit):
    tid = kit.ta["id"]
    await kit.pool.execute("UPDATE threads SET premoderated = true WHERE id = $1", tid)
    reader = await kit.socket(kit.ben)
    assert (await reader.join(f"thread:{tid}"))["ok"] is True
    assert (await reader.join(f"conference:{kit.c['id']}"))["ok"] is True
    mod = await kit.socket(kit.fac)
    assert (await mod.join(f"moderation:{kit.c['id']}"))["ok"] is True

    status, post = await kit.post_as(kit.ann, kit.ta, "Awaiting words")
    assert status == 201 and post["status"] == "pending"
    (queued,) = await mod.wait_for("post:updated")
    assert queued["id"] == post["id"] and queued["status"] == "pending"
    assert "Awaiting words" in queued["html"]
    await _barrier(kit, reader, rooms=2)  # the thread room and the conference room
    assert _mentions(reader, post["id"]) == []

    ack = await mod.moderate(action="approve", post_id=post["id"])
    assert ack["ok"] is True
    got = await reader.wait_for("post:new", 4)
    approved = [e for e in got if e["id"] == post["id"]]
    assert len(approved) == 2  # in the thread room, and as activity in the conference room
    assert all("Awaiting words" in e["html"] and e["status"] == "visible" for e in approved)
    assert {e.get("thread_title") for e in approved} == {None, "Thread A1"}


async def test_editing_or_deleting_a_post_awaiting_approval_tells_nobody_in_the_thread(kit):
    tid = kit.ta["id"]
    await kit.pool.execute("UPDATE threads SET premoderated = true WHERE id = $1", tid)
    reader = await kit.socket(kit.ben)
    assert (await reader.join(f"thread:{tid}"))["ok"] is True
    author = await kit.socket(kit.ann)
    _, post = await kit.post_as(kit.ann, kit.ta, "First thoughts")
    assert post["status"] == "pending"
    status, _ = await kit.api(kit.ann, "PATCH", f"/api/v1/posts/{post['id']}", {"body": "Edited"})
    assert status == 200
    status, _ = await kit.api(kit.ann, "DELETE", f"/api/v1/posts/{post['id']}")
    assert status == 200
    await _barrier(kit, reader)
    assert _mentions(reader, post["id"]) == []
    # The author's own socket follows along.
    own = await author.wait_for("post:updated", 3)
    assert [(e["id"], e["status"]) for e in own] == [(post["id"], "pending")] * 2 + [
        (post["id"], "deleted")
    ]
    assert "Edited" in own[1]["html"]


async def test_reports_reach_the_moderation_room_and_no_participant_can_join_it(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Reportable")
    reader = await kit.socket(kit.ben)
    assert (await reader.join(f"thread:{kit.ta['id']}"))["ok"] is True
    ack = await reader.join(f"moderation:{kit.c['id']}")
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    ack = await (await kit.socket(ANON)).join(f"moderation:{kit.c['id']}")
    assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
    mod = await kit.socket(kit.fac)
    assert (await mod.join(f"moderation:{kit.c['id']}"))["ok"] is True

    ack = await (await kit.socket(kit.cat)).flag(post_id=post_id, reason="disrespectful", note="")
    assert ack == {"ok": True, "result": {"post_id": post_id, "flags": 1, "hidden": False}}
    (event,) = await mod.wait_for("flag:new")
    assert event == {
        "post_id": post_id,
        "thread_id": kit.ta["id"],
        "session_id": kit.sa["id"],
        "reason": "disrespectful",
        "reason_text": "Disrespectful",
        "count": 1,
        "hidden": False,
    }
    await _barrier(kit, reader)
    assert reader.got("flag:new") == []


async def test_a_facilitator_of_session_a_hears_of_reports_in_session_a_only(kit):
    in_a = await kit.add_post(kit.ta, kit.ann, "In A")
    in_b = await kit.add_post(kit.tb, kit.ann, "In B")
    scoped = await kit.socket(kit.fac_a)
    assert (await scoped.join(f"moderation:{kit.c['id']}"))["ok"] is True
    wide = await kit.socket(kit.fac)
    assert (await wide.join(f"moderation:{kit.c['id']}"))["ok"] is True
    for post_id in (in_b, in_a):  # B's first: had it reached the scoped socket, it would lead
        status, _ = await kit.api(
            kit.ben, "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "spam"}
        )
        assert status == 201
    assert [e["post_id"] for e in await wide.wait_for("flag:new", 2)] == [in_b, in_a]
    await scoped.wait_for("flag:new")
    assert [e["post_id"] for e in scoped.got("flag:new")] == [in_a]


async def test_removing_a_member_over_the_socket_disconnects_them_and_stops_their_posts(kit):
    target = await kit.add_post(kit.ta, kit.ann, "Reportable")
    member = await kit.socket(kit.ben)
    assert (await member.join(f"thread:{kit.ta['id']}"))["ok"] is True
    mod = await kit.socket(kit.fac)
    ack = await mod.moderate(action="remove", user_id=kit.ben.id, conference=kit.slug)
    assert ack["ok"] is False and "reason" in ack["error"]["fields"]
    assert member.sio.connected
    ack = await mod.moderate(
        action="remove", user_id=kit.ben.id, conference=kit.slug, reason="Repeated abuse"
    )
    assert ack == {
        "ok": True,
        "result": {"user_id": kit.ben.id, "action": "remove", "reason": "Repeated abuse"},
    }
    (error,) = await member.wait_for("error")
    assert error["code"] == "signed_out"
    for _ in range(50):
        if not member.sio.connected:
            break
        await asyncio.sleep(0.1)
    assert not member.sio.connected

    status, body = await kit.post_as(kit.ben, kit.ta, "Still here?")
    assert status == 403
    status, _ = await kit.api(kit.ben, "POST", f"/api/v1/posts/{target}/flags", {"reason": "spam"})
    assert status == 403
    again = await kit.socket(kit.ben, fresh=True)
    ack = await again.post(thread_id=kit.ta["id"], body="By socket, then?")
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    status = await kit.pool.fetchval(
        "SELECT status FROM memberships WHERE conference_id = $1 AND user_id = $2",
        kit.c["id"],
        kit.ben.id,
    )
    assert status == "removed"
    (entry,) = await kit.log()
    assert (entry["action"], entry["target_id"], entry["reason"], entry["actor_id"]) == (
        "member.remove",
        kit.ben.id,
        "Repeated abuse",
        kit.fac.id,
    )
