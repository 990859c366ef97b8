"""Calendars (#24) through the real server: .ics files that parse and round-trip with the
icalendar library, a VTIMEZONE, times right across the clocks going back in Europe/London,
stable UIDs, SEQUENCE raised on a move, STATUS:CANCELLED after a delete, the personal feed at a
secret address (replaced: the old one 404s; never in a log), stars and "My programme", and the
joining link: who may see it (a table), and nowhere public."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from icalendar import Calendar

from confer import i18n, observe
from confer.app import create_app
from confer.calendars.service import may_see_joining_link
from confer.policy import Membership
from confer.web import AccessLog
from tests.conftest import PASSWORD

LINK = "https://meet.example.org/j/council-panel-7781"


async def _programme_conference(world, pool, *, organiser: dict) -> dict:
    """A conference across the last Sunday of October 2026 (clocks go back at 02:00 BST)."""
    c = await world.conference()
    await pool.execute(
        "UPDATE conferences SET starts_at = $2, ends_at = $3 WHERE id = $1",
        c["id"],
        datetime(2026, 10, 23, 8, tzinfo=UTC),
        datetime(2026, 10, 28, 18, tzinfo=UTC),
    )
    await world.member(c, organiser, "organiser")
    return c


async def _add_session(b, c: dict, title: str, starts: str, ends: str) -> int:
    r, text = await b.post(
        f"/c/{c['slug']}/manage/sessions",
        {
            "session_kind": "discussion",
            "session_title": title,
            "session_starts_at": starts,
            "session_ends_at": ends,
        },
    )
    assert r.status == 303, text[:2000]
    return await b.pool.fetchval(
        "SELECT id FROM sessions WHERE conference_id = $1 AND title = $2", c["id"], title
    )


def _edit(c: dict, sid: int, title: str, starts: str, ends: str, **more: str) -> dict:
    return {
        "kind": "discussion",
        "title": title,
        "starts_at": starts,
        "ends_at": ends,
        "posting_window": "session",
        **more,
    }


async def _ics(b, path: str) -> Calendar:
    r, text = await b.get(path)
    assert r.status == 200, text[:500]
    assert r.content_type == "text/calendar"
    cal = Calendar.from_ical(text)
    # Round trip: what icalendar writes back parses to the same calendar.
    assert Calendar.from_ical(cal.to_ical()) == cal
    return cal


def _events(cal: Calendar) -> dict[str, object]:
    return {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}


@pytest.fixture
async def setup(world, pool, browser_factory):
    org = await world.user("Olive Organiser")
    c = await _programme_conference(world, pool, organiser=org)
    b = await browser_factory(org["email"])
    b.pool = pool
    before = await _add_session(b, c, "Before the change", "2026-10-24T10:00", "2026-10-24T11:00")
    after = await _add_session(b, c, "After the change", "2026-10-26T10:00", "2026-10-26T11:00")
    return {"org": org, "c": c, "b": b, "before": before, "after": after}


# --- the files ----------------------------------------------------------------------------


async def test_programme_file_has_a_vtimezone_and_times_right_across_the_clocks_changing(setup):
    c, b = setup["c"], setup["b"]
    cal = await _ics(b, f"/c/{c['slug']}/programme.ics")
    [tz] = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/London"
    events = _events(cal)
    before = events["Before the change"].start
    after = events["After the change"].start
    # 10:00 on the programme on both sides: BST (UTC+1) before, GMT after.
    assert (before.hour, str(before.tzinfo)) == (10, "Europe/London")
    assert (after.hour, str(after.tzinfo)) == (10, "Europe/London")
    assert before.astimezone(UTC) == datetime(2026, 10, 24, 9, tzinfo=UTC)
    assert after.astimezone(UTC) == datetime(2026, 10, 26, 10, tzinfo=UTC)
    assert b"TZID=Europe/London:20261024T100000" in cal.to_ical()
    # The programme page shows the same instants.
    _, page = await b.get(f"/c/{c['slug']}/programme")
    for e in events.values():
        assert f'datetime="{e.start.astimezone(UTC).isoformat()}"' in page
    # The calendar's zone is the one the icalendar library's VTIMEZONE describes: a client that
    # only reads the VTIMEZONE (not the IANA name) still gets 09:00Z and 10:00Z.
    offsets = {str(s["TZNAME"]) for s in tz.walk() if s.name in ("STANDARD", "DAYLIGHT")}
    assert {"GMT", "BST"} <= offsets


async def test_one_session_file_and_the_urls_back_to_the_session_page(setup):
    c, b = setup["c"], setup["b"]
    cal = await _ics(b, f"/c/{c['slug']}/sessions/{setup['after']}/calendar.ics")
    [event] = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == "After the change"
    assert str(event["URL"]).endswith(f"/c/{c['slug']}/sessions/{setup['after']}")
    assert str(event["STATUS"]) == "CONFIRMED"
    assert cal.walk("VTIMEZONE")


async def test_a_moved_session_keeps_its_uid_and_raises_its_sequence(setup):
    c, b = setup["c"], setup["b"]
    path = f"/c/{c['slug']}/sessions/{setup['before']}/calendar.ics"
    [first] = (await _ics(b, path)).walk("VEVENT")
    assert int(first["SEQUENCE"]) == 0
    r, text = await b.post(
        f"/c/{c['slug']}/manage/sessions/{setup['before']}",
        _edit(c, setup["before"], "Before the change", "2026-10-27T14:00", "2026-10-27T15:00"),
    )
    assert r.status == 303, text[:2000]
    [moved] = (await _ics(b, path)).walk("VEVENT")
    assert str(moved["UID"]) == str(first["UID"])
    assert int(moved["SEQUENCE"]) == 1
    assert moved.start.astimezone(UTC) == datetime(2026, 10, 27, 14, tzinfo=UTC)


async def test_a_deleted_session_stays_in_calendars_as_cancelled(setup, world, browser_factory):
    c, b = setup["c"], setup["b"]
    pat = await world.user("Pat Participant")
    await world.member(c, pat, "participant")
    pb = await browser_factory(pat["email"])
    r, _ = await pb.post(
        f"/c/{c['slug']}/sessions/{setup['after']}/star", {"starred": "yes", "back": "session"}
    )
    assert r.status == 303
    token = await _new_feed(pb, scope="starred")
    [uid] = [str(e["UID"]) for e in (await _ics(pb, _feed_path(token))).walk("VEVENT")]

    r, _ = await b.post(f"/c/{c['slug']}/manage/sessions/{setup['after']}/delete")
    assert r.status == 303
    for cal in (await _ics(pb, _feed_path(token)), await _ics(b, f"/c/{c['slug']}/programme.ics")):
        gone = _events(cal)["After the change"]
        assert str(gone["UID"]) == uid
        assert str(gone["STATUS"]) == "CANCELLED"
        assert int(gone["SEQUENCE"]) == 1


# --- the personal feed ------------------------------------------------------------------


def _feed_path(token: str) -> str:
    return f"/calendar/{token}.ics"


async def _new_feed(b, *, scope: str = "starred") -> str:
    r, text = await b.post("/account/calendar", {"scope": scope})
    assert r.status == 200, text[:2000]
    address = re.search(r'<code id="feed-address">([^<]+)</code>', text).group(1)
    return re.fullmatch(r"https?://[^/]+/calendar/(cal_[A-Za-z0-9_-]+)\.ics", address).group(1)


async def test_a_replaced_or_turned_off_feed_address_answers_404(setup, pool):
    b = setup["b"]
    old = await _new_feed(b, scope="all")
    assert len(_events(await _ics(b, _feed_path(old)))) == 2  # every session, as organiser
    # Only the SHA-256 is kept.
    stored = await pool.fetchval(
        "SELECT token_hash FROM calendar_feeds WHERE user_id = $1", setup["org"]["id"]
    )
    assert stored == hashlib.sha256(old.encode()).digest()
    _, page = await b.get("/account/calendar")
    assert old not in page  # shown once, in the answer to the POST only

    new = await _new_feed(b, scope="all")
    anon = aiohttp.ClientSession()
    try:
        async with anon.get(b.url(_feed_path(old))) as r:
            assert r.status == 404
        async with anon.get(b.url(_feed_path(new))) as r:
            assert r.status == 200 and r.headers["Cache-Control"] == "private, no-store"
        r, _ = await b.post("/account/calendar/revoke")
        assert r.status == 303
        async with anon.get(b.url(_feed_path(new))) as r:
            assert r.status == 404
    finally:
        await anon.close()


async def test_the_feed_scope_starred_or_every_session_of_my_conferences(setup, world):
    c, b = setup["c"], setup["b"]
    token = await _new_feed(b, scope="starred")
    assert _events(await _ics(b, _feed_path(token))) == {}
    r, _ = await b.post(
        f"/c/{c['slug']}/sessions/{setup['before']}/star", {"starred": "yes", "back": "programme"}
    )
    assert r.status == 303 and r.headers["Location"].endswith(f"#session-{setup['before']}")
    assert set(_events(await _ics(b, _feed_path(token)))) == {"Before the change"}
    r, _ = await b.post("/account/calendar/scope", {"scope": "all"})
    assert r.status == 303
    assert set(_events(await _ics(b, _feed_path(token)))) == {
        "Before the change",
        "After the change",
    }


async def test_the_feed_address_never_reaches_the_access_log(settings, aiohttp_server, world):
    """The feed route's `{token}` parameter is found by confer.observe: the access log (the
    real AccessLog, at INFO) writes the path as /calendar/[redacted].ics."""
    app = create_app(settings)
    server = await aiohttp_server(app, host="127.0.0.1", access_log_class=AccessLog)
    assert "/calendar/{token}.ics" in observe.secret_route_patterns()
    lines: list[str] = []

    class Stream:
        def write(self, text: str) -> None:
            lines.extend(text.splitlines())

        def flush(self) -> None:
            pass

    root = logging.getLogger()
    saved = root.level
    try:
        observe.configure("INFO", "text", Stream())
        async with aiohttp.ClientSession() as http:
            token = "cal_" + "s3cr3t" * 4
            async with http.get(str(server.make_url(_feed_path(token)))) as r:
                assert r.status == 404
            logging.getLogger("confer.test").warning("someone pasted %s", _feed_path(token))
    finally:
        root.removeHandler(observe._handler)  # type: ignore[arg-type]
        observe._handler = None
        root.setLevel(saved)
    text = "\n".join(lines)
    assert "/calendar/[redacted].ics" in text and "aiohttp.access" in text, text
    assert token not in text


# --- stars and "My programme" -------------------------------------------------------------


async def test_stars_and_my_programme_with_the_members_own_time_zone(setup, world, browser_factory):
    c = setup["c"]
    pat = await world.user("Pat Participant")
    await world.member(c, pat, "participant")
    pb = await browser_factory(pat["email"])
    _, page = await pb.get(f"/c/{c['slug']}/sessions/{setup['after']}")
    assert "Add to my programme" in page
    r, _ = await pb.post(
        f"/c/{c['slug']}/sessions/{setup['after']}/star", {"starred": "yes", "back": "session"}
    )
    assert r.headers["Location"] == f"/c/{c['slug']}/sessions/{setup['after']}"
    _, page = await pb.get(f"/c/{c['slug']}/sessions/{setup['after']}")
    assert "Remove from my programme" in page
    _, mine = await pb.get("/my-programme")
    assert "After the change" in mine and "Before the change" not in mine
    assert "Monday 26 October 2026, 10:00 GMT" in mine
    r, text = await pb.post("/my-programme/timezone", {"timezone": "Mars/Olympus"})
    assert r.status == 422 and "Enter a time zone like" in text and 'value="Mars/Olympus"' in text
    r, _ = await pb.post("/my-programme/timezone", {"timezone": "America/New_York"})
    assert r.status == 303
    _, mine = await pb.get("/my-programme")
    assert "Monday 26 October 2026, 06:00 EDT" in mine  # New York's clocks change a week later
    r, _ = await pb.post(
        f"/c/{c['slug']}/sessions/{setup['after']}/star", {"starred": "no", "back": "my_programme"}
    )
    assert r.headers["Location"] == "/my-programme"
    _, mine = await pb.get("/my-programme")
    assert "After the change" not in mine


async def test_stars_need_a_sign_in(setup, browser_factory):
    anon = await browser_factory()
    r, _ = await anon.post(
        f"/c/{setup['c']['slug']}/sessions/{setup['after']}/star", {"starred": "yes"}
    )
    assert r.status == 303 and r.headers["Location"].startswith("/login")
    r, _ = await anon.get("/my-programme", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith("/login")


# --- the joining link -------------------------------------------------------------------

NOW = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
STARTS = datetime(2026, 10, 26, 10, 0, tzinfo=UTC)
ENDS = STARTS + timedelta(hours=1)


def _m(role: str = "participant", status: str = "active", conference_id: int = 1) -> Membership:
    return Membership(conference_id=conference_id, user_id=9, role=role, status=status)  # type: ignore[arg-type]


# who, minutes before the start (negative: after it), in the feed?, sees the link?
JOINING_TABLE = [
    ("anonymous", None, 5, False, False),
    ("anonymous in a feed", None, 5, True, False),
    ("observer of another conference", _m("observer", conference_id=2), 5, False, False),
    ("participant of another conference", _m(conference_id=2), 5, True, False),
    ("waitlisted", _m(status="waitlisted"), 5, False, False),
    ("waitlisted, in a feed", _m(status="waitlisted"), 5, True, False),
    ("pending approval", _m(status="pending"), 5, False, False),
    ("removed", _m(status="removed"), 5, False, False),
    ("participant, an hour before", _m(), 60, False, False),
    ("participant, 16 minutes before", _m(), 16, False, False),
    ("participant, 15 minutes before", _m(), 15, False, True),
    ("participant, during", _m(), -30, False, True),
    ("participant, after the end", _m(), -60, False, False),
    ("participant, in the feed, a day before", _m(), 1440, True, True),
    ("observer, 5 minutes before", _m("observer"), 5, False, True),
    ("observer, an hour before", _m("observer"), 60, False, False),
    ("speaker, 5 minutes before", _m("speaker"), 5, False, True),
    ("organiser, a day before", _m("organiser"), 1440, False, True),
    ("waitlisted organiser", _m("organiser", status="waitlisted"), 5, False, False),
]


@pytest.mark.parametrize(
    ("who", "member", "minutes_before", "in_feed", "sees"),
    JOINING_TABLE,
    ids=[row[0] for row in JOINING_TABLE],
)
def test_who_may_see_the_joining_link(who, member, minutes_before, in_feed, sees):
    assert (
        may_see_joining_link(
            member,
            conference_id=1,
            starts_at=STARTS,
            ends_at=ENDS,
            reveal_minutes=15,
            now=STARTS - timedelta(minutes=minutes_before),
            in_feed=in_feed,
        )
        is sees
    )


async def test_the_joining_link_is_checked_and_its_changes_logged_without_it(setup, pool):
    c, b = setup["c"], setup["b"]
    path = f"/c/{c['slug']}/manage/sessions/{setup['after']}"
    times = ("2026-10-26T10:00", "2026-10-26T11:00")
    for bad, message in (
        ("http://meet.example.org/j/1", "starting with https://"),
        ("javascript:alert(1)", "starting with https://"),
        ("https://meet.example.org/" + "x" * 2000, "2,000 characters or fewer"),
    ):
        r, text = await b.post(path, _edit(c, 0, "After the change", *times, joining_url=bad))
        assert r.status == 422, bad
        assert message in text and 'id="joining_url-error"' in text
        assert 'href="#joining_url"' in text  # the error summary names the field
    r, _ = await b.post(path, _edit(c, 0, "After the change", *times, joining_url=LINK))
    assert r.status == 303
    _, form = await b.get(path)
    assert f'value="{LINK}"' in form
    r, _ = await b.post(path, _edit(c, 0, "After the change", *times, joining_url=""))
    assert r.status == 303
    log = await pool.fetch(
        "SELECT action, target_type, target_id, details::text AS details, reason"
        " FROM moderation_log WHERE conference_id = $1 ORDER BY id",
        c["id"],
    )
    assert [(r["action"], r["target_type"], r["target_id"]) for r in log] == [
        ("session.joining_link_added", "session", setup["after"]),
        ("session.joining_link_removed", "session", setup["after"]),
    ]
    assert all(LINK not in r["details"] and LINK not in r["reason"] for r in log)
    # The log's appendix to a transcript says it changed, without the link.
    async with b.session.post(
        b.url(f"/c/{c['slug']}/export"),
        data={"format": "json", "moderation_log": "on", "csrf_token": b.csrf},
    ) as r:
        doc = json.loads(await r.text())
    assert "session.joining_link_added" in json.dumps(doc["moderation_log"])
    assert LINK not in json.dumps(doc)
    _, moderation = await b.get(f"/c/{c['slug']}/moderation")
    assert "session.joining_link_added" in moderation and LINK not in moderation


async def test_the_joining_link_is_in_no_public_page_file_search_or_transcript(
    setup, world, pool, browser_factory
):
    c, b, sid = setup["c"], setup["b"], setup["after"]
    pat = await world.user("Pat Participant")
    await world.member(c, pat, "participant")
    # A session happening now, with a link, a thread and a post that search finds.
    await pool.execute(
        "UPDATE conferences SET starts_at = now() - interval '1 day',"
        " ends_at = now() + interval '1 day' WHERE id = $1",
        c["id"],
    )
    await pool.execute(
        "UPDATE sessions SET starts_at = now() - interval '5 minutes',"
        " ends_at = now() + interval '1 hour', joining_url = $2 WHERE id = $1",
        sid,
        LINK,
    )
    await world.thread({"id": sid, "conference": c}, pat, title="Meeting links")
    slug = c["slug"]
    anon = await browser_factory()
    public = [
        f"/c/{slug}",
        f"/c/{slug}/programme",
        f"/c/{slug}/sessions/{sid}",
        f"/c/{slug}/programme.ics",
        f"/c/{slug}/sessions/{sid}/calendar.ics",
        f"/api/v1/conferences/{slug}",
        f"/c/{slug}/search?q=post",
        f"/api/v1/conferences/{slug}/search?q=post",
    ]
    for path in public:
        r, text = await anon.get(path)
        assert r.status == 200, path
        assert LINK not in text, path
    # The organiser's transcript (every format) and report.
    for fmt in ("json", "md", "html", "csv"):
        async with b.session.post(
            b.url(f"/c/{slug}/export"),
            data={"format": fmt, "moderation_log": "on", "csrf_token": b.csrf},
        ) as r:
            body = await r.text()
            assert r.status == 200, body[:500]
        assert "Post number 1" in body and LINK not in body, fmt
    r, report = await b.get(f"/c/{slug}/report")
    assert r.status == 200 and LINK not in report
    # ...but the participant sees it on the page, and has it in their own feed.
    pb = await browser_factory(pat["email"])
    _, page = await pb.get(f"/c/{slug}/sessions/{sid}")
    assert f'href="{LINK}"' in page
    await pb.post(f"/c/{slug}/sessions/{sid}/star", {"starred": "yes"})
    token = await _new_feed(pb)
    [event] = (await _ics(pb, _feed_path(token))).walk("VEVENT")
    assert str(event["LOCATION"]) == LINK and LINK in str(event["DESCRIPTION"])
    for path in public:  # signed in as a member: the public files still leave it out
        if path.endswith(".ics"):
            _, text = await pb.get(path)
            assert LINK not in text, path


async def test_the_feed_is_written_in_the_members_language(setup, world, pool, browser_factory):
    c = setup["c"]
    pat = await world.user("Pat Participant")
    await world.member(c, pat, "participant")
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", pat["id"])
    await pool.execute("UPDATE sessions SET joining_url = $2 WHERE id = $1", setup["after"], LINK)
    pb = await browser_factory(pat["email"])
    await pb.post(f"/c/{c['slug']}/sessions/{setup['after']}/star", {"starred": "yes"})
    token = await _new_feed(pb)
    cal = await _ics(pb, _feed_path(token))
    with i18n.using("cy"):
        assert str(cal["X-WR-CALNAME"]) == i18n._("My programme (Confer)")
        welsh = i18n._("Join online: %(url)s") % {"url": LINK}
    assert welsh != f"Join online: {LINK}"
    [event] = cal.walk("VEVENT")
    assert welsh in str(event["DESCRIPTION"])


def test_the_new_messages_are_in_welsh():
    """The calendars' messages have their Welsh (a sample: the full check is Catalog.check())."""
    for msgid in (
        "Add to my programme",
        "Remove from my programme",
        "Calendar feed",
        "Join the session online",
        "Enter the joining link as a web address starting with https://",
    ):
        with i18n.using("cy"):
            assert i18n._(msgid) != msgid, msgid


async def test_erasing_an_account_stops_its_feed_and_forgets_its_stars(
    setup, pool, browser_factory
):
    c, b = setup["c"], setup["b"]
    r, _ = await b.post(f"/c/{c['slug']}/sessions/{setup['before']}/star", {"starred": "yes"})
    token = await _new_feed(b)
    _, data = await b.post("/account/data")
    mine = json.loads(data)
    assert [s["title"] for s in mine["starred_sessions"]] == ["Before the change"]
    assert mine["calendar_feed"][0]["address_active"] is True
    assert token not in data
    r, _ = await b.post("/account/delete", {"password": PASSWORD})
    assert r.status == 303
    anon = await browser_factory()
    r, _ = await anon.get(_feed_path(token))
    assert r.status == 404
    uid = setup["org"]["id"]
    for table in ("session_stars", "calendar_feeds"):
        assert await pool.fetchval(f"SELECT count(*) FROM {table} WHERE user_id = $1", uid) == 0


async def test_a_panels_page_shows_its_joining_link_to_members_only(world, pool, browser_factory):
    c = await world.conference()
    panel = await world.session(c, kind="panel", title="Question time")
    await pool.execute("UPDATE sessions SET joining_url = $2 WHERE id = $1", panel["id"], LINK)
    pat = await world.user("Pat Participant")
    await world.member(c, pat, "participant")
    path = f"/c/{c['slug']}/panels/{panel['id']}"
    anon = await browser_factory()
    r, text = await anon.get(path)
    assert r.status == 200 and LINK not in text
    pb = await browser_factory(pat["email"])
    _, text = await pb.get(path)
    assert f'href="{LINK}"' in text
    r, _ = await pb.post(
        f"/c/{c['slug']}/sessions/{panel['id']}/star", {"starred": "yes", "back": "panel"}
    )
    assert r.headers["Location"] == path
