"""Issue #24's last gaps ("In people's calendars"), each through a real server, PostgreSQL,
SMTP (aiosmtpd) and the socket: reminders on the notifications page and in the unread
count; the joining link's reveal time in the conference settings (form and JSON API); the
confirmation email (with the conference's .ics) when someone joins an open conference;
erasure and the data download for reminders; the joining-link actions in words in the
moderation log."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import icalendar
import pytest

from confer import i18n, timefmt
from confer.calendars import reminders
from confer.keys import ctx_key
from confer.reports.service import action_label
from tests.conftest import PASSWORD
from tests.test_calendars import LINK, _edit, setup  # noqa: F401 (a fixture)
from tests.test_data_rights import _post_form
from tests.test_live import Client, _cookie
from tests.test_registration import make_conference
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


# --- 2. the joining link's reveal time: the settings form and the JSON API, one service ------


def _local(days: int) -> str:
    return f"2030-06-{1 + days:02d}T09:00"


async def test_the_joining_link_reveal_time_is_a_conference_setting_in_the_form_and_the_api(
    world, pool, browser_factory
):
    from confer.accounts import service as accounts
    from confer.policy import Actor

    admin = await world.user("Ada Admin", admin=True)
    token, _ = await accounts.create_api_token(
        pool, Actor(user_id=admin["id"], name=admin["name"]), "t"
    )
    api = await browser_factory()
    base = {"title": "Flood resilience", "starts_at": _local(0), "ends_at": _local(2)}

    # Created with it, and without it (the default).
    status, body = await api.api(
        "POST",
        "/api/v1/conferences",
        {**base, "slug": "reveal-one", "joining_reveal_minutes": 60},
        token=token,
    )
    assert status == 201, body
    assert body["joining_reveal_minutes"] == 60
    status, body = await api.api(
        "POST", "/api/v1/conferences", {**base, "slug": "reveal-two"}, token=token
    )
    assert status == 201 and body["joining_reveal_minutes"] == 15

    # Bad values: refused naming the field (the form's sentences: the form's test); nothing saved.
    for value, _words in (
        (1441, "between 0 and 1,440 minutes"),
        (-5, "whole number of minutes"),
        ("soon", "whole number of minutes"),
        (None, "Enter how many minutes before a session its joining link is shown"),
    ):
        status, body = await api.api(
            "PUT",
            "/api/v1/conferences/reveal-one",
            {**base, "joining_reveal_minutes": value},
            token=token,
        )
        # Outside the documented schema (0 to 1,440, a whole number): the contract's 400.
        assert status == 400, body
        assert "joining_reveal_minutes" in body["error"]["fields"]
    reveal = "SELECT joining_reveal_minutes FROM conferences WHERE slug = $1"
    assert await pool.fetchval(reveal, "reveal-one") == 60
    # Left out of an update: unchanged; 0 is allowed (shown from the start).
    status, body = await api.api("PUT", "/api/v1/conferences/reveal-one", base, token=token)
    assert status == 200 and body["joining_reveal_minutes"] == 60
    status, body = await api.api(
        "PUT", "/api/v1/conferences/reveal-one", {**base, "joining_reveal_minutes": 0}, token=token
    )
    assert status == 200 and body["joining_reveal_minutes"] == 0
    assert await pool.fetchval(reveal, "reveal-one") == 0

    # Documented in the OpenAPI document (input and output).
    status, doc = await api.api("GET", "/api/v1/openapi.json")
    put = doc["paths"]["/api/v1/conferences/{slug}"]["put"]
    schema = put["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["joining_reveal_minutes"]["maximum"] == 1440
    assert "joining_reveal_minutes" in doc["components"]["schemas"]["Conference"]["properties"]

    # The organiser's settings form: shown with its value, bad input named, values kept.
    b = await browser_factory(admin["email"])
    r, page = await b.get("/c/reveal-one/manage")
    assert r.status == 200
    assert re.search(r'name="joining_reveal_minutes" type="text" value="0"', page)
    form = {
        "title": "Flood resilience (renamed)",
        "timezone": "Europe/London",
        "starts_at": _local(0),
        "ends_at": _local(2),
        "visibility": "public",
        "registration": "open",
        "language": "en",
        "joining_reveal_minutes": "",
    }
    r, page = await b.post("/c/reveal-one/manage", form)
    assert r.status == 422
    assert "Enter how many minutes before a session its joining link is shown" in page
    assert 'value="Flood resilience (renamed)"' in page
    r, page = await b.post("/c/reveal-one/manage", {**form, "joining_reveal_minutes": "2000"})
    assert r.status == 422 and "between 0 and 1,440 minutes" in page
    r, _ = await b.post("/c/reveal-one/manage", {**form, "joining_reveal_minutes": "90"})
    assert r.status == 303
    assert await pool.fetchval(reveal, "reveal-one") == 90
    _, page = await b.get("/c/reveal-one/manage")
    assert 'name="joining_reveal_minutes" type="text" value="90"' in page

    # In Welsh for a Welsh-speaking organiser.
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", admin["id"])
    r, page = await b.post("/c/reveal-one/manage", {**form, "joining_reveal_minutes": "x"})
    assert r.status == 422
    with i18n.using("cy"):
        welsh = i18n._(
            "The time the joining link is shown must be a whole number of minutes, like 15"
        )
    assert welsh != "The time the joining link is shown must be a whole number of minutes, like 15"
    assert welsh in page


# --- 3. joining an open conference: a confirmation with the conference's .ics ---------------


def _ics(message) -> icalendar.Calendar:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "conference.ics"
    return icalendar.Calendar.from_ical(part.get_content())


def _plain(message) -> str:
    return " ".join(message.get_body(("plain",)).get_content().split())


async def test_joining_an_open_conference_sends_one_confirmation_with_the_programme(
    world, pool, server, browser_factory, mailbox
):
    c = await make_conference(world, pool, capacity=2, timezone=TZ)
    opening = await world.session(c, starts_in=timedelta(days=1), title="Opening")
    closing = await world.session(c, starts_in=timedelta(days=1, hours=3), title="Closing")
    slug = c["slug"]
    title = f"Conference {slug}"

    # An English member by the form, twice (a double submission): one email.
    jane = await world.user("Jane Smith", email="jane@example.org")
    jb = await browser_factory(jane["email"])
    for _attempt in range(2):
        r, _ = await jb.post(f"/c/{slug}/join", {"accept_code_of_conduct": "on"})
        assert r.status == 303
    [message] = await mailbox.wait_for("jane@example.org")
    assert message["Subject"] == f"You have joined {title}"
    text = _plain(message)
    starts, ends = await pool.fetchrow(
        "SELECT starts_at, ends_at FROM conferences WHERE id = $1", c["id"]
    )
    assert f"from {timefmt.when(starts, TZ)} to {timefmt.when(ends, TZ)}" in text
    assert f"http://127.0.0.1/c/{slug}/programme" in text
    assert "Add to calendar" in text and "http://127.0.0.1/account/calendar" in text
    cal = _ics(message)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {
        f"session-{opening['id']}@127.0.0.1",
        f"session-{closing['id']}@127.0.0.1",
    }
    assert str(events[f"session-{closing['id']}@127.0.0.1"]["SUMMARY"]) == "Closing"

    # A Welsh member over the JSON API: in Welsh, with the same programme attached.
    eira = await world.user("Eira Jones", email="eira@example.org")
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", eira["id"])
    eb = await browser_factory(eira["email"])
    status, body = await eb.api("POST", f"/api/v1/conferences/{slug}/join", {
        "accept_code_of_conduct": True
    })  # fmt: skip
    assert status in (200, 201), body
    [welsh] = await mailbox.wait_for("eira@example.org")
    with i18n.using("cy"):
        subject = i18n._("You have joined %(title)s") % {"title": title}
        welsh_starts = timefmt.when(starts, TZ)
    assert subject != f"You have joined {title}" and welsh["Subject"] == subject
    assert welsh_starts in _plain(welsh) and "You have joined" not in _plain(welsh)
    assert len(list(_ics(welsh).walk("VEVENT"))) == 2

    # The conference is full now: the waitlist gets no confirmation of a place.
    ann = await world.user("Ann Waits", email="ann@example.org")
    ab = await browser_factory(ann["email"])
    r, _ = await ab.post(f"/c/{slug}/join", {"accept_code_of_conduct": "on"})
    assert r.status == 303
    rows = await pool.fetch(
        "SELECT to_address, dedupe_key FROM outbox WHERE kind = 'registration_joined' ORDER BY id"
    )
    assert [r["to_address"] for r in rows] == ["jane@example.org", "eira@example.org"]
    assert rows[0]["dedupe_key"] == f"joined:{c['id']}:{jane['id']}"


# --- 4. data rights: reminders in the download, gone with an erased account ------------------


async def test_the_data_download_has_reminder_choices_and_erasure_removes_reminders(
    world, pool, server, browser_factory
):
    c = await world.conference(timezone=TZ)
    soon = await world.session(c, starts_in=timedelta(minutes=10), title="Flood plans")
    later = await world.session(c, starts_in=timedelta(days=1), title="Budgets")
    pat = await world.user("Pat Member", email="pat@example.org")
    other = await world.user("Olu Other", email="olu@example.org")
    for u in (pat, other):
        await world.member(c, u)
    await pool.execute("UPDATE users SET reminder_minutes = 60 WHERE id = $1", pat["id"])
    await star(pool, pat, soon, 15)
    await star(pool, pat, later)
    await star(pool, other, soon)
    assert await reminders.run_due(server.app[ctx_key]) == 2

    b = await browser_factory(pat["email"])
    status, text, _ = await _post_form(b, "/account/data", {})
    assert status == 200
    data = json.loads(text)
    assert data["reminder_preference"] == [{"default_minutes_before": 60}]
    assert {(s["title"], s["reminder_minutes_before"]) for s in data["starred_sessions"]} == {
        ("Flood plans", 15),
        ("Budgets", None),
    }
    [made] = data["session_reminders"]
    assert (made["title"], made["minutes_before"]) == ("Flood plans", 15)
    assert "Olu Other" not in text

    status, text, _ = await _post_form(b, "/account/delete", {"password": PASSWORD})
    assert status == 303, text[:500]

    async def left(user: dict) -> tuple[int, int, int, int]:
        return (
            await pool.fetchval(
                "SELECT count(*) FROM session_reminders WHERE user_id = $1", user["id"]
            ),
            await pool.fetchval(
                "SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'reminder'",
                user["id"],
            ),
            await pool.fetchval(
                "SELECT count(*) FROM session_stars WHERE user_id = $1", user["id"]
            ),
            await pool.fetchval(
                "SELECT count(*) FROM outbox WHERE user_id = $1 AND kind = 'reminder'", user["id"]
            ),
        )

    assert await left(pat) == (0, 0, 0, 0)
    assert (
        await pool.fetchval("SELECT reminder_minutes FROM users WHERE id = $1", pat["id"]) == 15
    )  # the default again: their choice is theirs
    assert await left(other) == (1, 1, 1, 1)  # nobody else's


# --- 5. the joining link's actions in words in the moderation log and the report -------------


async def test_joining_link_actions_have_words_on_the_moderation_page_and_in_the_report(
    setup,  # noqa: F811 (tests.test_calendars' fixture: an organiser and two sessions)
    pool,
):
    c, b = setup["c"], setup["b"]
    path = f"/c/{c['slug']}/manage/sessions/{setup['after']}"
    times = ("2026-10-26T10:00", "2026-10-26T11:00")
    for link in (LINK, LINK + "-moved", ""):
        r, _ = await b.post(path, _edit(c, 0, "After the change", *times, joining_url=link))
        assert r.status == 303
    words = {
        "session.joining_link_added": "Session: joining link added",
        "session.joining_link_changed": "Session: joining link changed",
        "session.joining_link_removed": "Session: joining link removed",
    }
    r, page = await b.get(f"/c/{c['slug']}/report")
    assert r.status == 200
    for code, label in words.items():
        assert label in page and code in page, code
        assert action_label(code) == label
    assert LINK not in page
    # The moderation page's log says each in a sentence (issue #23), the code only as data.
    r, page = await b.get(f"/c/{c['slug']}/moderation")
    assert r.status == 200
    for code in words:
        assert f'data-action="{code}"' in page, code
    log = page[page.index('id="log"') :]
    for sentence in ("added a joining link to", "changed the joining link of",
                     "removed the joining link from"):  # fmt: skip
        assert sentence in log, sentence
    assert LINK not in page

    # In the organiser's language.
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", setup["org"]["id"])
    _, page = await b.get(f"/c/{c['slug']}/report")
    with i18n.using("cy"):
        welsh = [action_label(code) for code in words]
    assert all(w not in words.values() for w in welsh)
    assert all(w in page for w in welsh)
    _, page = await b.get(f"/c/{c['slug']}/moderation")
    assert "Ychwanegodd" in page and "added a joining link" not in page
