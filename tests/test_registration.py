"""Registration: open, by approval, by invitation only; capacity and the waitlist (under 50
simultaneous registrations), leaving, removal, raised capacity, and the emails each sends,
received by a real SMTP server."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest

from confer.accounts.service import API_TOKEN_PREFIX, hash_token, new_token
from tests.conftest import Browser


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url, mail_poll_seconds=0.5)


async def make_conference(
    world, pool, *, registration: str = "open", capacity: int | None = None, **kw: Any
) -> dict:
    c = await world.conference(**kw)
    await pool.execute(
        "UPDATE conferences SET registration = $2, capacity = $3 WHERE id = $1",
        c["id"],
        registration,
        capacity,
    )
    return c


async def token_for(pool, user: dict) -> str:
    token = new_token(API_TOKEN_PREFIX)
    await pool.execute(
        "INSERT INTO api_tokens (user_id, name, token_hash) VALUES ($1, 'tests', $2)",
        user["id"],
        hash_token(token),
    )
    return token


async def quick_users(pool, n: int, prefix: str = "person") -> list[dict]:
    """Users with API tokens, made directly (no password hashing: fifty would be slow)."""
    users = []
    for i in range(n):
        email = f"{prefix}{i}@example.org"
        uid = await pool.fetchval(
            "INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id", email, f"Person {i}"
        )
        user = {"id": uid, "email": email, "name": f"Person {i}"}
        user["token"] = await token_for(pool, user)
        users.append(user)
    return users


async def membership(pool, c: dict, user: dict) -> Any:
    return await pool.fetchrow(
        "SELECT role, status, waitlist_position FROM memberships "
        "WHERE conference_id = $1 AND user_id = $2",
        c["id"],
        user["id"],
    )


def body_of(message: Any) -> str:
    """The plain-text part, its wrapped lines joined up again."""
    return " ".join(message.get_body(("plain",)).get_content().split())


async def join(b: Browser, c: dict) -> tuple[int, str]:
    r, text = await b.post(f"/c/{c['slug']}/join", {"accept_code_of_conduct": "on"})
    return r.status, text


# --- open registration and the waitlist ---------------------------------------------------


async def test_open_registration_gives_places_then_the_waitlist_with_positions(
    world, pool, browser_factory
):
    c = await make_conference(world, pool, capacity=1)
    organiser, facilitator = await world.user(), await world.user()
    await world.member(c, organiser, "organiser")
    await world.member(c, facilitator, "facilitator")  # staff take no place
    first, second, third = await world.user("First"), await world.user(), await world.user()

    b1 = await browser_factory(first["email"])
    _, page = await b1.get(f"/c/{c['slug']}")
    assert "Join this conference" in page and "1 place left" in page
    assert (await join(b1, c))[0] == 303
    assert dict(await membership(pool, c, first)) == {
        "role": "participant", "status": "active", "waitlist_position": None,
    }  # fmt: skip
    _, page = await b1.get(f"/c/{c['slug']}?joined=1")
    assert "You are a participant" in page and "You have joined the conference" in page
    assert "Leave this conference" in page

    b2 = await browser_factory(second["email"])
    _, page = await b2.get(f"/c/{c['slug']}")
    assert "This conference is full" in page and "Join the waitlist" in page
    r, page = await b2.get(f"/c/{c['slug']}/join")
    assert '<h1 class="govuk-heading-l">Join the waitlist for' in page
    assert "you will be given a place automatically" in page
    assert (await join(b2, c))[0] == 303
    _, page = await b2.get(f"/c/{c['slug']}")
    assert "You are number 1 on the waitlist" in page and "Leave the waitlist" in page

    b3 = await browser_factory(third["email"])
    assert (await join(b3, c))[0] == 303
    _, page = await b3.get(f"/c/{c['slug']}")
    assert "You are number 2 on the waitlist" in page
    assert (await membership(pool, c, third))["waitlist_position"] == 2
    # Joining twice changes nothing.
    assert (await join(b3, c))[0] == 303
    assert (await membership(pool, c, third))["waitlist_position"] == 2
    # The waitlisted may not read a members-only conference's threads or post.
    assert (await membership(pool, c, second))["status"] == "waitlisted"


async def test_fifty_simultaneous_registrations_for_ten_places(world, pool, browser_factory):
    c = await make_conference(world, pool, capacity=10)
    organiser = await world.user()
    await world.member(c, organiser, "organiser")
    people = await quick_users(pool, 50)
    clients = [await browser_factory() for _ in people]

    async def register(b: Browser, person: dict) -> tuple[int, Any]:
        return await b.api(
            "POST",
            f"/api/v1/conferences/{c['slug']}/registration",
            {"accept_code_of_conduct": True},
            token=person["token"],
        )

    answers = await asyncio.gather(*(register(b, p) for b, p in zip(clients, people, strict=True)))
    assert all(status == 200 for status, _ in answers), answers
    rows = await pool.fetch(
        "SELECT user_id, status, waitlist_position, registered_at FROM memberships "
        "WHERE conference_id = $1 AND role = 'participant' ORDER BY registered_at",
        c["id"],
    )
    assert len(rows) == 50
    active = [r for r in rows if r["status"] == "active"]
    waiting = [r for r in rows if r["status"] == "waitlisted"]
    assert len(active) == 10 and len(waiting) == 40
    # Arrival order: the first ten served have the places, then positions 1..40 in order.
    assert all(r["status"] == "active" for r in rows[:10])
    assert [r["waitlist_position"] for r in rows[10:]] == list(range(1, 41))
    # Each answer told its caller what the database holds.
    by_user = {r["user_id"]: r for r in rows}
    for person, (_, body) in zip(people, answers, strict=True):
        row = by_user[person["id"]]
        assert body["status"] == row["status"]
        assert body["waitlist_position"] == row["waitlist_position"]
        if row["status"] == "waitlisted":
            assert f"You are number {row['waitlist_position']} on the waitlist" in body["message"]
    assert organiser["id"] not in by_user  # the organiser took no place


async def test_leaving_gives_the_place_to_the_next_on_the_waitlist_with_one_email(
    world, pool, browser_factory, mailbox
):
    c = await make_conference(world, pool, capacity=1)
    holder = await world.user("Holder")
    waiting = [await world.user(f"Waiting {i}") for i in range(3)]
    browsers = []
    for u in [holder, *waiting]:
        b = await browser_factory(u["email"])
        assert (await join(b, c))[0] == 303
        browsers.append(b)
    h = browsers[0]

    r, page = await h.get(f"/c/{c['slug']}/leave")
    assert r.status == 200 and "Yes, leave the conference" in page
    assert "Your place will go to the next person on the waitlist" in page
    r, _ = await h.post(f"/c/{c['slug']}/leave", {})
    assert r.status == 303 and r.headers["Location"] == f"/c/{c['slug']}?done=left"
    _, page = await h.get(r.headers["Location"])
    assert "You have left the conference" in page and "Join the waitlist" in page
    assert (await membership(pool, c, holder))["status"] == "left"
    assert (await membership(pool, c, waiting[0]))["status"] == "active"
    assert [(await membership(pool, c, w))["waitlist_position"] for w in waiting[1:]] == [1, 2]

    [message] = await mailbox.wait_for(waiting[0]["email"])
    assert message["Subject"] == f"A place has come up at Conference {c['slug']}"
    assert f"http://127.0.0.1/c/{c['slug']}" in body_of(message)
    _, page = await browsers[1].get(f"/c/{c['slug']}")
    assert "You are a participant" in page
    _, page = await browsers[2].get(f"/c/{c['slug']}")
    assert "You are number 1 on the waitlist" in page

    # Leaving again is refused clearly; the promotion email went once.
    r, page = await h.post(f"/c/{c['slug']}/leave", {})
    assert r.status == 409 and "not registered" in page
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE kind = 'waitlist_promoted' AND to_address = $1",
            waiting[0]["email"],
        )
        == 1
    )
    assert mailbox.to(waiting[1]["email"]) == []
    # The holder had only the confirmation of the place they took (issue #24), nothing else.
    confirmations = await mailbox.wait_for(holder["email"])
    assert [m["Subject"] for m in confirmations] == [f"You have joined Conference {c['slug']}"]

    # Coming back means the end of the queue.
    assert (await join(h, c))[0] == 303
    assert (await membership(pool, c, holder))["waitlist_position"] == 3


async def test_leaving_the_waitlist_closes_up_the_positions(world, pool, browser_factory):
    c = await make_conference(world, pool, capacity=1)
    people = [await world.user() for _ in range(4)]
    browsers = [await browser_factory(p["email"]) for p in people]
    for b in browsers:
        await join(b, c)
    r, page = await browsers[2].get(f"/c/{c['slug']}/leave")
    assert "Leave the waitlist for" in page and "You are number 2 on the waitlist" in page
    await browsers[2].post(f"/c/{c['slug']}/leave", {})
    assert (await membership(pool, c, people[2]))["waitlist_position"] is None
    assert (await membership(pool, c, people[1]))["waitlist_position"] == 1
    assert (await membership(pool, c, people[3]))["waitlist_position"] == 2
    assert (await membership(pool, c, people[0]))["status"] == "active"  # nobody promoted


async def test_removal_by_a_moderator_promotes_the_next(world, pool, browser_factory, mailbox):
    c = await make_conference(world, pool, capacity=2)
    organiser = await world.user()
    await world.member(c, organiser, "organiser")
    people = [await world.user(f"P{i}") for i in range(4)]
    for p in people:
        await join(await browser_factory(p["email"]), c)
    o = await browser_factory(organiser["email"])
    r, _ = await o.post(
        f"/c/{c['slug']}/members/{people[0]['id']}/moderate",
        {"action": "remove", "reason": "Repeated personal attacks"},
    )
    assert r.status == 303
    assert (await membership(pool, c, people[0]))["status"] == "removed"
    assert (await membership(pool, c, people[2]))["status"] == "active"
    assert (await membership(pool, c, people[3]))["waitlist_position"] == 1
    [message] = await mailbox.wait_for(people[2]["email"])
    assert "A place has come up" in message["Subject"]
    # Removing someone who was waiting closes up the waitlist and promotes nobody.
    extra = await world.user()
    await join(await browser_factory(extra["email"]), c)
    assert (await membership(pool, c, extra))["waitlist_position"] == 2
    await o.post(
        f"/c/{c['slug']}/members/{people[3]['id']}/moderate",
        {"action": "remove", "reason": "Asked to be removed"},
    )
    assert (await membership(pool, c, extra))["waitlist_position"] == 1
    assert (await membership(pool, c, people[3]))["waitlist_position"] is None
    # A removed member cannot simply register again.
    removed = await browser_factory(people[0]["email"])
    status, page = await join(removed, c)
    assert status == 403 and "removed from this conference" in page


async def test_raising_the_capacity_promotes_as_many_as_fit(world, pool, browser_factory, mailbox):
    c = await make_conference(world, pool, capacity=1)
    organiser = await world.user()
    await world.member(c, organiser, "organiser")
    people = [await world.user(f"P{i}") for i in range(4)]
    for p in people:
        await join(await browser_factory(p["email"]), c)
    o = await browser_factory(organiser["email"])
    _, page = await o.get(f"/c/{c['slug']}/manage/registration")
    assert 'name="capacity"' in page and 'value="1"' in page
    # The console's registration page (issue #22).
    path = f"/c/{c['slug']}/manage/registration"
    data = {"registration": "open", "capacity": "ten"}
    r, page = await o.post(path, data)
    assert r.status == 422 and "Capacity must be a whole number" in page and 'value="ten"' in page
    data["capacity"] = "3"
    r, _ = await o.post(path, data)
    assert r.status == 303
    assert [(await membership(pool, c, p))["status"] for p in people] == [
        "active", "active", "active", "waitlisted",
    ]  # fmt: skip
    assert (await membership(pool, c, people[3]))["waitlist_position"] == 1
    for p in people[1:3]:
        [message] = await mailbox.wait_for(p["email"])
        assert "A place has come up" in message["Subject"]
    # Emptying the capacity means no limit: everyone waiting gets a place.
    data["capacity"] = ""
    assert (await o.post(path, data))[0].status == 303
    assert (await membership(pool, c, people[3]))["status"] == "active"
    assert await pool.fetchval("SELECT capacity FROM conferences WHERE id = $1", c["id"]) is None


# --- approval -----------------------------------------------------------------------------


async def test_approval_requests_are_approved_or_declined_with_emails(
    world, pool, browser_factory, mailbox
):
    c = await make_conference(world, pool, registration="approval", capacity=1)
    organiser = await world.user("Olive Organiser")
    await world.member(c, organiser, "organiser")
    ann, ben, cat = await world.user("Ann"), await world.user("Ben"), await world.user("Cat")
    a = await browser_factory(ann["email"])
    _, page = await a.get(f"/c/{c['slug']}")
    assert "Request a place" in page and "organisers approve each request" in page
    r, page = await a.get(f"/c/{c['slug']}/join")
    assert "Request a place at" in page
    assert (await join(a, c))[0] == 303
    _, page = await a.get(f"/c/{c['slug']}")
    assert "Your request is awaiting approval" in page and "Withdraw your request" in page
    assert (await membership(pool, c, ann))["status"] == "pending"
    b = await browser_factory(ben["email"])
    await join(b, c)
    cb = await browser_factory(cat["email"])
    await join(cb, c)

    o = await browser_factory(organiser["email"])
    _, page = await o.get(f"/c/{c['slug']}/manage")
    assert f'href="/c/{c["slug"]}/members"' in page
    _, page = await o.get(f"/c/{c['slug']}/members")
    assert page.index("Ann") < page.index("Ben") < page.index("Cat")  # in the order they asked
    assert "Message to Ann (optional)" in page

    too_long = "x" * 2001
    r, page = await o.post(
        f"/c/{c['slug']}/members/{ann['id']}/decide",
        {"decision": "approve", f"message-{ann['id']}": too_long},
    )
    assert r.status == 422 and "Message must be 2,000 characters or fewer" in page
    assert too_long in page  # the text is kept
    r, _ = await o.post(
        f"/c/{c['slug']}/members/{ann['id']}/decide",
        {"decision": "approve", f"message-{ann['id']}": "Welcome, see you there."},
    )
    assert r.status == 303 and r.headers["Location"].endswith("/members?done=active")
    assert (await membership(pool, c, ann))["status"] == "active"
    [message] = await mailbox.wait_for(ann["email"])
    assert message["Subject"] == f"Your place at Conference {c['slug']} is confirmed"
    assert "Welcome, see you there." in body_of(message)

    # Approved when full: the waitlist, and the email says which place in it.
    r, _ = await o.post(f"/c/{c['slug']}/members/{ben['id']}/decide", {"decision": "approve"})
    assert (await membership(pool, c, ben))["waitlist_position"] == 1
    [message] = await mailbox.wait_for(ben["email"])
    assert "waitlist" in message["Subject"] and "number 1 on the waitlist" in body_of(message)

    r, _ = await o.post(
        f"/c/{c['slug']}/members/{cat['id']}/decide",
        {"decision": "decline", f"message-{cat['id']}": "This one is for councillors only."},
    )
    assert r.status == 303 and (await membership(pool, c, cat))["status"] == "declined"
    [message] = await mailbox.wait_for(cat["email"])
    assert "This one is for councillors only." in body_of(message)
    _, page = await cb.get(f"/c/{c['slug']}")
    assert "Your request to join this conference was declined" in page
    status, page = await join(cb, c)
    assert status == 403 and "declined" in page
    # Deciding twice is refused clearly.
    r, page = await o.post(f"/c/{c['slug']}/members/{cat['id']}/decide", {"decision": "approve"})
    assert r.status == 409 and "already been decided" in page


async def test_organisers_hear_of_each_request_unless_they_chose_no_emails(
    world, pool, browser_factory, mailbox
):
    c = await make_conference(world, pool, registration="approval")
    olive, omar = await world.user("Olive Organiser"), await world.user("Omar Organiser")
    await world.member(c, olive, "organiser")
    await world.member(c, omar, "organiser")
    await pool.execute(
        "UPDATE memberships SET email_notifications = 'none' WHERE user_id = $1", omar["id"]
    )
    fay = await world.user("Fay Facilitator")
    await world.member(c, fay, "facilitator")
    ann, ben = await world.user("Ann Smith"), await world.user("Ben Jones")
    a = await browser_factory(ann["email"])
    assert (await join(a, c))[0] == 303
    assert (await join(a, c))[0] == 303  # a second submission asks nothing new
    [message] = await mailbox.wait_for(olive["email"])
    assert message["Subject"] == f"Ann Smith asks to join Conference {c['slug']}"
    text = body_of(message)
    assert "Ann Smith asked for a place" in text
    assert f"/c/{c['slug']}/members" in text
    # Withdrawn and asked again: a new request, a new email.
    assert (await a.post(f"/c/{c['slug']}/leave", {}))[0].status == 303
    assert (await join(a, c))[0] == 303
    b = await browser_factory(ben["email"])
    assert (await join(b, c))[0] == 303
    messages = await mailbox.wait_for(olive["email"], count=3)
    assert sorted(m["Subject"].split(" asks")[0] for m in messages) == ["Ann Smith"] * 2 + [
        "Ben Jones"
    ]
    told = await pool.fetch("SELECT DISTINCT to_address FROM outbox WHERE kind = 'join_request'")
    assert [r["to_address"] for r in told] == [olive["email"]]  # not Omar, nor the facilitator
    # An open conference asks nobody.
    open_c = await make_conference(world, pool, registration="open")
    await world.member(open_c, olive, "organiser")
    assert (await join(a, open_c))[0] == 303
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE kind = 'join_request'") == 3


async def test_registration_over_the_api_reports_status_and_position(world, pool, browser_factory):
    c = await make_conference(world, pool, capacity=1)
    first, second = await quick_users(pool, 2)
    b = await browser_factory()
    base = f"/api/v1/conferences/{c['slug']}/registration"
    status, body = await b.api("GET", base, token=first["token"])
    assert (status, body["status"]) == (200, None)
    status, body = await b.api("POST", base, {}, token=first["token"])
    assert status == 400 and "accept_code_of_conduct" in body["error"]["fields"]
    status, body = await b.api("POST", base, {"accept_code_of_conduct": True}, token=first["token"])
    assert (status, body["status"], body["role"]) == (200, "active", "participant")
    status, body = await b.api(
        "POST", base, {"accept_code_of_conduct": True}, token=second["token"]
    )
    assert (body["status"], body["waitlist_position"]) == ("waitlisted", 1)
    # The older endpoint takes the same path.
    status, body = await b.api(
        "POST", f"/api/v1/conferences/{c['slug']}/join", {"accept_code_of_conduct": True},
        token=second["token"],
    )  # fmt: skip
    assert (status, body["status"]) == (200, "waitlisted")
    status, body = await b.api("DELETE", base, token=first["token"])
    assert (status, body["status"]) == (200, "left")
    status, body = await b.api("GET", base, token=second["token"])
    assert (body["status"], body["waitlist_position"]) == ("active", None)
    status, body = await b.api("DELETE", base, token=first["token"])
    assert (
        status == 409 and body["error"]["message"] == "You are not registered for this conference."
    )


async def test_invitation_only_and_closed_conferences_refuse_registration(
    world, pool, browser_factory
):
    c = await make_conference(world, pool, registration="invite")
    user = (await quick_users(pool, 1))[0]
    person = await world.user()
    b = await browser_factory(person["email"])
    _, page = await b.get(f"/c/{c['slug']}")
    assert "by invitation only" in page and "Join this conference" not in page
    _, page = await b.get(f"/c/{c['slug']}/join")
    assert "by invitation only" in page and "I accept the code of conduct" not in page
    status, page = await join(b, c)
    assert status == 403 and "invitation only" in page
    status, body = await b.api(
        "POST", f"/api/v1/conferences/{c['slug']}/registration",
        {"accept_code_of_conduct": True}, token=user["token"],
    )  # fmt: skip
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert "by invitation only" in body["error"]["message"]

    closed = await make_conference(
        world, pool, starts_in=timedelta(days=-3), lasts=timedelta(days=1)
    )
    status, body = await b.api(
        "POST", f"/api/v1/conferences/{closed['slug']}/registration",
        {"accept_code_of_conduct": True}, token=user["token"],
    )  # fmt: skip
    assert status == 409 and "closed" in body["error"]["message"]
    draft = await make_conference(world, pool, published=False)
    status, body = await b.api(
        "POST", f"/api/v1/conferences/{draft['slug']}/registration",
        {"accept_code_of_conduct": True}, token=user["token"],
    )  # fmt: skip
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_only_organisers_see_and_decide_requests(world, pool, browser_factory):
    c = await make_conference(world, pool, registration="approval")
    organiser, participant, requester = await quick_users(pool, 3)
    await world.member(c, organiser, "organiser")
    await world.member(c, participant, "participant")
    b = await browser_factory()
    await b.api(
        "POST", f"/api/v1/conferences/{c['slug']}/registration",
        {"accept_code_of_conduct": True}, token=requester["token"],
    )  # fmt: skip
    base = f"/api/v1/conferences/{c['slug']}/registrations"
    status, body = await b.api("GET", base, token=participant["token"])
    assert status == 403
    assert body["error"]["message"] == "Only the conference's organisers can see requests to join."
    status, body = await b.api(
        "POST", f"{base}/{requester['id']}/approve", {}, token=participant["token"]
    )
    assert status == 403 and "approve or decline" in body["error"]["message"]
    assert (await membership(pool, c, requester))["status"] == "pending"
    status, body = await b.api(
        "GET", base.replace(c["slug"], "no-such-conference"), token=organiser["token"]
    )
    assert status == 404 and body["error"]["code"] == "not_found"

    status, body = await b.api("GET", base, token=organiser["token"])
    assert status == 200 and [p["user_id"] for p in body["pending"]] == [requester["id"]]
    status, body = await b.api(
        "POST", f"{base}/{participant['id']}/approve", {}, token=organiser["token"]
    )
    assert status == 409  # not a request: already a member
    status, body = await b.api(
        "POST", f"{base}/{requester['id']}/decline", {"message": "Sorry"}, token=organiser["token"]
    )
    assert (status, body["status"]) == (200, "declined")

    pb = await browser_factory()
    pb.session.headers["Authorization"] = f"Bearer {participant['token']}"
    r, page = await pb.get(f"/c/{c['slug']}/members")
    assert r.status == 403 and "Only the conference&#39;s organisers can see requests" in page


async def test_organisers_and_staff_do_not_take_places(world, pool, browser_factory):
    c = await make_conference(world, pool, capacity=1)
    for role in ("organiser", "facilitator", "speaker"):
        await world.member(c, await world.user(), role)
    p = await world.user()
    b = await browser_factory(p["email"])
    await join(b, c)
    assert (await membership(pool, c, p))["status"] == "active"
    o = await browser_factory()
    _, page = await o.get(f"/c/{c['slug']}")
    assert "This conference is full" in page
    assert re.search(r"Sign in</a> or <a[^>]*>create an account</a> to join the waitlist", page)


async def test_a_new_conference_takes_its_registration_mode_and_capacity(
    world, pool, browser_factory
):
    admin = await world.user(admin=True)
    b = await browser_factory(admin["email"])
    _, page = await b.get("/admin/conferences/new")
    assert "How people join" in page and 'name="capacity"' in page
    data = {
        "slug": "by-approval-2030",
        "title": "By approval",
        "timezone": "Europe/London",
        "starts_at": "2030-03-01T09:00",
        "ends_at": "2030-03-03T17:00",
        "visibility": "public",
        "registration": "approval",
        "capacity": "0",
    }
    r, page = await b.post("/admin/conferences", data)
    assert r.status == 422 and "Capacity must be between 1 and 1,000,000" in page
    assert '<option value="approval" selected>' in page
    data["capacity"] = "40"
    r, _ = await b.post("/admin/conferences", data)
    assert r.status == 303
    row = await pool.fetchrow(
        "SELECT registration, capacity FROM conferences WHERE slug = 'by-approval-2030'"
    )
    assert tuple(row) == ("approval", 40)
    _, page = await b.get("/c/by-approval-2030/manage")
    assert "Organisers approve each request to join, with 40 places" in page
