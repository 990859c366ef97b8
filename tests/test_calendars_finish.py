"""Issue #24's last gaps ("In people's calendars"), each through a real server, PostgreSQL,
SMTP (aiosmtpd) and the socket: reminders on the notifications page and in the unread
count; the joining link's reveal time in the conference settings (form and JSON API); the
confirmation email (with the conference's .ics) when someone joins an open conference;
erasure and the data download for reminders; the joining-link actions in words in the
moderation log."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from confer import timefmt
from confer.calendars import reminders
from confer.keys import ctx_key
from tests.test_live import Client, _cookie
from tests.test_reminders import TZ, star

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url, mail_poll_seconds=0.2)


def _text(page: str) -> str:
    """The page's words, tags gone and spaces folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


# --- 1. reminders on the notifications page, in the unread count, markable as read -----------


async def test_reminders_are_on_the_notifications_page_in_the_readers_language_and_counted(
    world, pool, server, browser_factory
):
    c = await world.conference(timezone=TZ)
    await pool.execute(
        """UPDATE conferences SET bilingual = true,
               translations = '{"cy": {"title": "Cynhadledd Llifogydd"}}'::jsonb
           WHERE id = $1""",
        c["id"],
    )
    talk = await world.session(c, starts_in=timedelta(minutes=10), title="Flood plans")
    panel = await world.session(
        c, kind="panel", starts_in=timedelta(minutes=12), title="Ask the panel"
    )
    await pool.execute(
        """UPDATE sessions SET translations = '{"cy": {"title": "Cynlluniau llifogydd"}}'::jsonb
           WHERE id = $1""",
        talk["id"],
    )
    eira = await world.user("Eira Jones", email="eira@example.org")
    await world.member(c, eira)
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", eira["id"])
    await star(pool, eira, talk)
    await star(pool, eira, panel)
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
        assert await reminders.run_due(server.app[ctx_key]) == 2
        events = await client.wait_for("notification", count=2)
    finally:
        await client.sio.disconnect()
    # The live event's count includes the reminders themselves.
    assert sorted(e["unread"] for e in events) == [1, 2]

    starts = dict(
        await pool.fetch(
            "SELECT id, starts_at FROM sessions WHERE id = ANY($1::bigint[])",
            [talk["id"], panel["id"]],
        )
    )
    talk_at, panel_at = (timefmt.clock(starts[s["id"]], TZ) for s in (talk, panel))
    notes = dict(
        await pool.fetch(
            "SELECT session_id, id FROM notifications WHERE user_id = $1 AND kind = 'reminder'",
            eira["id"],
        )
    )

    # The page, in Welsh (her account's language), with both titles in Welsh where given.
    r, page = await b.get("/notifications")
    assert r.status == 200
    text = _text(page)
    assert f"Mae “Cynlluniau llifogydd” yn dechrau am {talk_at}" in text
    assert f"Mae “Ask the panel” yn dechrau am {panel_at}" in text
    assert "Cynhadledd Llifogydd" in text and "starts at" not in text
    assert "Hysbysiadau (2)" in text  # the header's unread count
    for note_id in notes.values():
        assert f'href="/notifications/{note_id}"' in page

    # Opening one marks it read and goes to its session; a panel's goes to the panel's page.
    r, _ = await b.get(f"/notifications/{notes[panel['id']]}", allow_redirects=False)
    assert r.status in (302, 303)
    assert r.headers["Location"] == f"/c/{c['slug']}/panels/{panel['id']}"
    status, data = await b.api("GET", "/api/v1/notifications")
    assert status == 200 and data["unread"] == 1
    by_id = {n["id"]: n for n in data["notifications"]}
    assert by_id[notes[panel["id"]]]["read"] is True
    talk_note = by_id[notes[talk["id"]]]
    assert talk_note["kind"] == "reminder" and talk_note["read"] is False
    assert talk_note["url"] == f"/c/{c['slug']}/sessions/{talk['id']}"

    # Marked read like the others (the JSON API's one path).
    status, data = await b.api("POST", f"/api/v1/notifications/{notes[talk['id']]}/read")
    assert status == 200 and data["read"] is True
    status, data = await b.api("GET", "/api/v1/notifications")
    assert data["unread"] == 0
    await pool.execute("UPDATE notifications SET read_at = NULL WHERE user_id = $1", eira["id"])

    # Left the conference: her reminders of its sessions are gone from the page and the count.
    await pool.execute(
        "UPDATE memberships SET status = 'left' WHERE conference_id = $1 AND user_id = $2",
        c["id"],
        eira["id"],
    )
    _, page = await b.get("/notifications")
    assert "yn dechrau am" not in page and "Hysbysiadau (" not in _text(page)
    status, data = await b.api("GET", "/api/v1/notifications")
    assert data["unread"] == 0 and data["notifications"] == []
    status, _ = await b.api("POST", f"/api/v1/notifications/{notes[talk['id']]}/read")
    assert status == 404

    # Back in: shown again; then a session deleted takes its reminder with it.
    await world.member(c, eira)
    status, data = await b.api("GET", "/api/v1/notifications")
    assert data["unread"] == 2
    await pool.execute("DELETE FROM sessions WHERE id = $1", panel["id"])
    status, data = await b.api("GET", "/api/v1/notifications")
    assert data["unread"] == 1
    assert [n["session_id"] for n in data["notifications"]] == [talk["id"]]
