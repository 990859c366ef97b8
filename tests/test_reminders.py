"""Reminders of starred sessions (issue #24): through a real SMTP server (aiosmtpd), in the
member's language, exactly once (twice run, two loops at once, two processes, a restart),
never when not due; the preference forms; and the conference's .ics on invitations and
registration confirmations."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from confer import db, i18n, timefmt
from confer.calendars import reminders
from confer.context import Ctx
from confer.keys import ctx_key
from confer.live.hub import Hub
from confer.mail import sender
from tests.test_invitations import invite, organiser_of
from tests.test_live import Client, _cookie
from tests.test_registration import make_conference

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TZ = "Europe/London"
REPO = str(Path(__file__).resolve().parents[1])


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url, mail_poll_seconds=0.2)


def plain(message: Any) -> str:
    return " ".join(message.get_body(("plain",)).get_content().split())


async def star(pool, user: dict, session: dict, minutes: int | None = None) -> None:
    await pool.execute(
        "INSERT INTO session_stars (user_id, session_id, reminder_minutes) VALUES ($1, $2, $3)",
        user["id"],
        session["id"],
        minutes,
    )


async def scene(world, *, members: int = 1, starts_in: timedelta = timedelta(minutes=10)):
    """A published conference, a session starting in 10 minutes, members who starred it."""
    c = await world.conference(timezone=TZ)
    s = await world.session(c, starts_in=starts_in, title="Flood plans")
    users = []
    for i in range(members):
        u = await world.user(f"Member {i}", email=f"member{i}@example.org")
        await world.member(c, u)
        await star(world.pool, u, s)
        users.append(u)
    return c, s, users


async def counts(pool) -> tuple[int, int, int]:
    return (
        await pool.fetchval("SELECT count(*) FROM session_reminders"),
        await pool.fetchval("SELECT count(*) FROM notifications WHERE kind = 'reminder'"),
        await pool.fetchval("SELECT count(*) FROM outbox WHERE kind = 'reminder'"),
    )


async def deliver_all(ctx: Ctx) -> None:
    """Send everything queued (the real sender, to the real SMTP server)."""
    await sender.deliver_due(ctx)
    left = await ctx.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
    )
    assert left == 0


# --- one reminder, in Welsh, by email and live -------------------------------------------------


async def test_a_welsh_member_gets_one_reminder_email_and_one_live_notification(
    world, pool, server, browser_factory, mailbox
):
    c, s, _ = await scene(world, members=0)
    eira = await world.user("Eira Jones", email="eira@example.org")
    await world.member(c, eira)
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", eira["id"])
    await star(pool, eira, s)
    b = await browser_factory(eira["email"])
    client = Client()
    client.sio.on("notification", client._recorder("notification"))
    await client.sio.connect(
        str(server.make_url("/")),
        headers={"Cookie": f"confer_session={_cookie(b)}"},
        transports=["websocket"],
        wait_timeout=10,
    )
    try:
        ctx = server.app[ctx_key]
        await reminders.run_due(ctx)
        [event] = await client.wait_for("notification")
    finally:
        await client.sio.disconnect()
    starts_at = await pool.fetchval("SELECT starts_at FROM sessions WHERE id = $1", s["id"])
    with i18n.using("cy"):
        welsh_day = timefmt.day(starts_at, TZ)
    clock = timefmt.clock(starts_at, TZ)
    assert event["kind"] == "reminder" and event["session_id"] == s["id"]
    assert event["text"] == f"Mae “Flood plans” yn dechrau am {clock}"
    assert event["url"] == f"/c/{c['slug']}/sessions/{s['id']}"

    [message] = await mailbox.wait_for("eira@example.org")
    assert message["Subject"] == f"Nodyn atgoffa: mae “Flood plans” yn dechrau am {clock}"
    text = plain(message)
    assert f"Mae “Flood plans” yn dechrau am {clock}, {welsh_day}." in text
    assert welsh_day.startswith("Dydd ")  # a Welsh date, from Babel's Welsh names
    assert "starts at" not in text and "You starred" not in text
    assert f"http://127.0.0.1/c/{c['slug']}/sessions/{s['id']}" in text

    # Again: nothing more.
    assert await reminders.run_due(ctx) == 0
    await deliver_all(ctx)
    assert len(mailbox.to("eira@example.org")) == 1
    assert await counts(pool) == (1, 1, 1)


# --- exactly once: two loops at once, then a restart ----------------------------------------


async def _loop(ctx: Ctx, passes: int) -> asyncio.Task:
    """The reminder loop (with the outbox sender) as the app runs them, until `passes` passes."""
    stop = asyncio.Event()

    async def on_pass(n: int) -> None:
        await sender.deliver_due(ctx)
        if n >= passes:
            stop.set()

    return asyncio.create_task(reminders.run(ctx, stop, poll=0.05, on_pass=on_pass))


async def test_two_loops_at_once_and_a_restart_send_each_reminder_once(
    world, pool, settings, mailbox, database_url
):
    _, _, users = await scene(world, members=12)
    pools = [await db.create_pool(database_url, max_size=3) for _ in range(3)]
    try:
        first, second, after_restart = (Ctx(p, settings, Hub()) for p in pools)
        # Two loops at once, each with its own connections, as two processes would be.
        made = await asyncio.gather(
            reminders.run_due(first, batch=2), reminders.run_due(second, batch=2)
        )
        assert sum(made) == 12
        await asyncio.gather(await _loop(first, 3), await _loop(second, 3))
        assert await counts(pool) == (12, 12, 12)
        for u in users:
            [message] = await mailbox.wait_for(u["email"])
            assert "Flood plans" in message["Subject"]
        # A restart: the loop and the sender start again, and remember nothing but the
        # database.
        await (await _loop(after_restart, 3))
        await deliver_all(after_restart)
        assert await counts(pool) == (12, 12, 12)
        assert len(mailbox.messages) == 12
        assert {m["X-Envelope-To"] for m in mailbox.messages} == {u["email"] for u in users}
    finally:
        for p in pools:
            await p.close()


async def test_stopped_before_sending_then_restarted_sends_once(world, pool, settings, mailbox):
    _, _, [u] = await scene(world)
    ctx = Ctx(pool, settings, Hub())
    assert await reminders.run_due(ctx) == 1  # made and queued; then the process stops
    assert mailbox.messages == []
    await (await _loop(ctx, 2))  # restarted: the loop makes nothing, the sender sends it
    assert len(mailbox.to(u["email"])) == 1
    assert await counts(pool) == (1, 1, 1)


SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys, time
    from confer import db
    from confer.calendars import reminders
    from confer.context import Ctx
    from confer.live.hub import Hub
    from confer.settings import Settings

    async def main():
        url, go = sys.argv[1], sys.argv[2]
        pool = await db.create_pool(url, max_size=2)
        ctx = Ctx(pool, Settings(database_url=url, secret_key="x",
                                 base_url="http://127.0.0.1"), Hub())
        print("ready", flush=True)
        while not os.path.exists(go):
            await asyncio.sleep(0.01)
        made = 0
        for _ in range(3):
            made += await reminders.run_due(ctx, batch=1)
        await pool.close()
        print(made, flush=True)

    asyncio.run(main())
    """
)


async def test_two_processes_make_each_reminder_once(world, pool, settings, mailbox, database_url):
    _, _, users = await scene(world, members=20)
    with tempfile.TemporaryDirectory() as tmp:
        go = Path(tmp) / "go"
        env = {**os.environ, "PYTHONPATH": REPO}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                SCRIPT,
                database_url,
                str(go),
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            for _ in range(2)
        ]
        try:
            for p in procs:
                assert await asyncio.wait_for(p.stdout.readline(), 60) == b"ready\n"
            await asyncio.to_thread(go.touch)  # both start together
            outs = [(await asyncio.wait_for(p.communicate(), 60))[0].decode() for p in procs]
        finally:
            for p in procs:
                if p.returncode is None:
                    p.kill()
    assert [p.returncode for p in procs] == [0, 0]
    made = [int(out.split()[-1]) for out in outs]
    assert sum(made) == 20
    assert await counts(pool) == (20, 20, 20)
    await deliver_all(Ctx(pool, settings, Hub()))
    assert sorted(m["X-Envelope-To"] for m in mailbox.messages) == sorted(u["email"] for u in users)


# --- when there is no reminder ----------------------------------------------------------------


async def test_no_reminder_when_cancelled_moved_away_left_or_not_wanted(
    world, pool, settings, mailbox
):
    ctx = Ctx(pool, settings, Hub())
    c = await world.conference(timezone=TZ)
    member = await world.user("Pat Member", email="pat@example.org")
    await world.member(c, member)

    async def starred(title: str, starts_in: timedelta, minutes: int | None = None) -> dict:
        s = await world.session(c, starts_in=starts_in, title=title)
        await star(pool, member, s, minutes)
        return s

    cancelled = await starred("Cancelled", timedelta(minutes=10))
    row = await pool.fetchrow("SELECT * FROM sessions WHERE id = $1", cancelled["id"])
    await pool.execute(
        "INSERT INTO cancelled_sessions (session_id, conference_id, title, starts_at, ends_at, "
        "sequence) VALUES ($1, $2, $3, $4, $5, $6)",
        row["id"], c["id"], row["title"], row["starts_at"], row["ends_at"], row["sequence"] + 1,
    )  # fmt: skip
    await pool.execute("DELETE FROM sessions WHERE id = $1", cancelled["id"])
    moved = await starred("Moved", timedelta(minutes=10))
    await pool.execute(
        "UPDATE sessions SET starts_at = starts_at + interval '3 hours', "
        "ends_at = ends_at + interval '3 hours', sequence = sequence + 1 WHERE id = $1",
        moved["id"],
    )
    await starred("Not yet", timedelta(minutes=30))  # the member's default is 15
    await starred("Turned off", timedelta(minutes=10), minutes=0)
    await starred("Already started", timedelta(minutes=-5))
    hour = await starred("An hour ahead", timedelta(minutes=40), minutes=60)
    assert await reminders.run_due(ctx) == 1
    assert await pool.fetchval("SELECT session_id FROM session_reminders") == hour["id"]

    # "None" as the member's default: nothing for a star without its own choice.
    await pool.execute("UPDATE users SET reminder_minutes = 0 WHERE id = $1", member["id"])
    await starred("Default none", timedelta(minutes=5))
    assert await reminders.run_due(ctx) == 0

    # A member who left gets nothing, even for a star with its own choice.
    await pool.execute("UPDATE users SET reminder_minutes = 15 WHERE id = $1", member["id"])
    await pool.execute(
        "UPDATE memberships SET status = 'left' WHERE conference_id = $1 AND user_id = $2",
        c["id"],
        member["id"],
    )
    assert await reminders.run_due(ctx) == 0
    await deliver_all(ctx)
    assert [m["Subject"] for m in mailbox.messages] == [
        "Reminder: “An hour ahead” starts at "
        + timefmt.clock(
            await pool.fetchval("SELECT starts_at FROM sessions WHERE id = $1", hour["id"]), TZ
        )
    ]


async def test_a_session_moved_later_is_reminded_of_again_for_its_new_time(
    world, pool, settings, mailbox
):
    ctx = Ctx(pool, settings, Hub())
    _, s, [u] = await scene(world)
    assert await reminders.run_due(ctx) == 1
    await pool.execute(
        "UPDATE sessions SET starts_at = starts_at + interval '3 minutes', "
        "ends_at = ends_at + interval '3 minutes', sequence = sequence + 1 WHERE id = $1",
        s["id"],
    )
    assert await reminders.run_due(ctx) == 1
    assert await reminders.run_due(ctx) == 0
    await deliver_all(ctx)
    times = [
        timefmt.clock(r["starts_at"], TZ)
        for r in await pool.fetch("SELECT starts_at FROM session_reminders ORDER BY starts_at")
    ]
    subjects = sorted(m["Subject"] for m in mailbox.to(u["email"]))
    assert subjects == sorted(f"Reminder: “Flood plans” starts at {t}" for t in times)


# --- choosing -------------------------------------------------------------------------------------


async def test_the_reminder_choices_forms(world, pool, browser_factory):
    c, s, [u] = await scene(world)
    b = await browser_factory(u["email"])
    _, page = await b.get("/notifications/settings")
    assert "Reminders of starred sessions" in page
    assert 'name="reminder" type="radio" value="15" checked' in page
    r, page = await b.post("/notifications/reminders", {"reminder": "7"})
    assert r.status == 422 and "Select when you want to be reminded" in page
    assert 'href="#reminder"' in page
    r, _ = await b.post("/notifications/reminders", {"reminder": "60"})
    assert r.status == 303
    assert await pool.fetchval("SELECT reminder_minutes FROM users WHERE id = $1", u["id"]) == 60
    _, page = await b.get("/notifications/settings")
    assert 'value="60" checked' in page

    base = f"/c/{c['slug']}/sessions/{s['id']}/reminder"
    r, _ = await b.post(base, {"reminder": "none"})
    assert r.status == 303 and r.headers["Location"].endswith(f"/sessions/{s['id']}#reminder")
    stars = "SELECT reminder_minutes FROM session_stars WHERE user_id = $1 AND session_id = $2"
    assert await pool.fetchval(stars, u["id"], s["id"]) == 0
    r, _ = await b.post(base, {"reminder": "default"})
    assert r.status == 303 and await pool.fetchval(stars, u["id"], s["id"]) is None
    other = await world.session(c, title="Not starred")
    r, _ = await b.post(f"/c/{c['slug']}/sessions/{other['id']}/reminder", {"reminder": "15"})
    assert r.status == 404

    # In Welsh.
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", u["id"])
    _, page = await b.get("/notifications/settings")
    assert "Nodiadau atgoffa ar gyfer sesiynau â seren" in page
    assert "1 awr cyn" in page


# --- the conference's .ics ---------------------------------------------------------------------


def calendar_of(message: Any) -> icalendar.Calendar:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "PUBLISH"
    assert part.get_filename() == "conference.ics"
    return icalendar.Calendar.from_ical(part.get_content())


async def test_an_invitation_and_an_approval_carry_the_conference_ics(
    world, pool, server, browser_factory, mailbox
):
    c = await make_conference(world, pool, registration="approval")
    first = await world.session(c, starts_in=timedelta(days=1), title="Opening")
    second = await world.session(c, starts_in=timedelta(days=1, hours=3), title="Closing")
    await pool.execute("UPDATE sessions SET sequence = 2 WHERE id = $1", second["id"])
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])
    r, _ = await invite(ob, c, emails="jane.smith@kent.gov.uk")
    assert r.status == 303
    [message] = await mailbox.wait_for("jane.smith@kent.gov.uk")
    cal = calendar_of(message)
    events = {e["UID"]: e for e in cal.walk("VEVENT")}
    assert set(events) == {f"session-{first['id']}@127.0.0.1", f"session-{second['id']}@127.0.0.1"}
    closing = events[f"session-{second['id']}@127.0.0.1"]
    assert str(closing["SUMMARY"]) == "Closing" and closing["SEQUENCE"] == 2
    assert closing["DTSTART"].params["TZID"] == TZ
    assert closing["URL"] == f"http://127.0.0.1/c/{c['slug']}/sessions/{second['id']}"
    starts = await pool.fetchval("SELECT starts_at FROM sessions WHERE id = $1", second["id"])
    assert closing.decoded("DTSTART") == starts.replace(microsecond=0)  # to the second
    assert "invited you" in plain(message)  # the email itself is unchanged

    # A request to join, approved: the confirmation carries the programme too.
    ann = await world.user("Ann Asker", email="ann@example.org")
    ab = await browser_factory(ann["email"])
    r, _ = await ab.post(f"/c/{c['slug']}/join", {"accept_code_of_conduct": "on"})
    assert r.status == 303
    r, _ = await ob.post(f"/c/{c['slug']}/members/{ann['id']}/decide", {"decision": "approve"})
    assert r.status == 303
    [confirmation] = await mailbox.wait_for("ann@example.org")
    assert "confirmed" in confirmation["Subject"]
    assert len(list(calendar_of(confirmation).walk("VEVENT"))) == 2
