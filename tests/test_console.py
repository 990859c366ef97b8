"""The organiser's console (issue #22): its pages, the settings that were only in the
database, the programme builder, and local times across the UK's clock changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from confer.i18n import using
from confer.validate import Fields
from tests.conftest import World

# A conference across both of 2027's clock changes in the UK: forward on Sunday 28 March
# (01:00 GMT -> 02:00 BST), back on Sunday 31 October (02:00 BST -> 01:00 GMT).
STARTS = datetime(2027, 3, 26, 9, 0, tzinfo=UTC)
ENDS = datetime(2027, 11, 2, 17, 0, tzinfo=UTC)

CONSOLE = (
    ("/manage", "Details and dates"),
    ("/manage/programme", "Programme"),
    ("/manage/people", "People and roles"),
    ("/manage/registration", "Registration and capacity"),
    ("/manage/moderation", "Moderation"),
    ("/manage/panels", "Panels"),
    ("/manage/emails", "Emails"),
    ("/manage/exports", "Exports and reports"),
)


async def _organiser(world: World, browser_factory, pool, *, published: bool = False):
    c = await world.conference(published=published)
    await pool.execute(
        "UPDATE conferences SET starts_at = $2, ends_at = $3 WHERE id = $1", c["id"], STARTS, ENDS
    )
    org = await world.user(name="Olivia Organiser")
    await world.member(c, org, "organiser")
    b = await browser_factory(org["email"])
    return c, org, b


def _session(title: str, start: str, end: str, **extra: str) -> dict[str, str]:
    return {
        "session_kind": "discussion",
        "session_title": title,
        "session_starts_at": start,
        "session_ends_at": end,
        **{f"session_{k}": v for k, v in extra.items()},
    }


# --- times that cannot trap anyone ---------------------------------------------------------


async def test_a_time_the_clocks_skip_is_refused_with_the_time_to_use(world, browser_factory, pool):
    c, _org, b = await _organiser(world, browser_factory, pool)
    r, text = await b.post(
        f"/c/{c['slug']}/manage/sessions",
        _session("Night owls", "2027-03-28T01:30", "2027-03-28T02:30"),
    )
    assert r.status == 422, text[:3000]
    assert "01:30 does not exist on 28 March 2027 because UK clocks go forward: use 02:30" in text
    assert 'value="Night owls"' in text and 'value="2027-03-28T01:30"' in text
    assert not await pool.fetchval(
        "SELECT count(*) FROM sessions WHERE conference_id = $1", c["id"]
    )


async def test_a_time_that_happens_twice_is_its_first_occurrence_shown_with_its_zone(
    world, browser_factory, pool
):
    c, _org, b = await _organiser(world, browser_factory, pool)
    r, text = await b.post(
        f"/c/{c['slug']}/manage/sessions",
        _session("Clocks go back", "2027-10-31T01:30", "2027-10-31T03:00"),
        follow=True,
    )
    assert r.status == 200, text[:3000]
    starts = await pool.fetchval("SELECT starts_at FROM sessions WHERE conference_id = $1", c["id"])
    assert starts == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 01:30 BST, the first
    assert "01:30 BST" in text and "03:00 GMT" in text
    # The form says how such a time is read.
    assert "a time that happens twice is read as the first of the two" in text


@pytest.mark.parametrize(
    "start",
    [
        "garbage",
        "2027-02-30T10:00",
        "0001-01-01T00:00",
        "9999-12-31T23:59",
        "2027-03-28T01:30+99:00",
        "2027-03-28T25:00",
        "\u0661\u0662:00",
        "2027-03-28T01:30:00.5Z[Europe/London]",
        "x" * 40,
    ],
)
async def test_no_time_typed_into_the_session_form_makes_a_server_error(
    world, browser_factory, pool, start
):
    c, _org, b = await _organiser(world, browser_factory, pool)
    r, text = await b.post(
        f"/c/{c['slug']}/manage/sessions", _session("Odd", start, "2027-03-28T04:00")
    )
    assert r.status == 422, text[:2000]
    assert "There is a problem" in text


def test_the_validator_refuses_skipped_times_and_reads_repeated_ones_as_the_first():
    with using("en"):
        f = Fields()
        assert f.local_datetime("t", "2027-03-28T01:30", "Europe/London", required=None,
                                invalid="bad") is None  # fmt: skip
        assert "use 02:30" in f.errors["t"]
        f = Fields()
        at = f.local_datetime("t", "2027-10-31T01:30", "Europe/London", required=None,
                              invalid="bad")  # fmt: skip
        assert at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC) and not f.errors
        # Another zone's gap: New York skips 02:00-03:00 on 14 March 2027.
        f = Fields()
        f.local_datetime("t", "2027-03-14T02:15", "America/New_York", required=None,
                         invalid="bad")  # fmt: skip
        assert f.errors["t"] == (
            "02:15 does not exist on 14 March 2027 in America/New_York because the clocks go "
            "forward: use 03:15"
        )
    with using("cy"):
        f = Fields()
        f.local_datetime("t", "2027-03-28T01:30", "Europe/London", required=None, invalid="x")
        assert "02:30" in f.errors["t"] and "Mawrth 2027" in f.errors["t"]


async def test_the_session_that_ends_when_it_starts_in_real_time_is_refused(
    world, browser_factory, pool
):
    """01:30-02:30 across the change forward was one instant: the database refused it (500)."""
    c, _org, b = await _organiser(world, browser_factory, pool)
    r, text = await b.post(
        f"/c/{c['slug']}/manage/sessions",
        _session("One instant", "2027-03-28T00:30", "2027-03-28T02:30"),
    )
    # 00:30 GMT to 02:30 BST is one hour: accepted, and stored as such.
    assert r.status == 303, text[:2000]
    row = await pool.fetchrow("SELECT starts_at, ends_at FROM sessions WHERE conference_id = $1",
                              c["id"])  # fmt: skip
    assert (row["ends_at"] - row["starts_at"]).total_seconds() == 3600


# --- the console's pages -------------------------------------------------------------------


async def test_every_console_page_shows_the_navigation_to_organisers_only(
    world, browser_factory, pool
):
    c, _org, b = await _organiser(world, browser_factory, pool)
    for path, title in CONSOLE:
        r, text = await b.get(f"/c/{c['slug']}{path}")
        assert r.status == 200, (path, text[:2000])
        assert f'aria-current="page">{title}</a>' in text, path
        for other, _t in CONSOLE:
            assert f'href="/c/{c["slug"]}{other}"' in text
    participant = await world.user()
    await world.member(c, participant)
    await pool.execute("UPDATE conferences SET published_at = now() WHERE id = $1", c["id"])
    p = await browser_factory(participant["email"])
    for path, _title in CONSOLE:
        r, _text = await p.get(f"/c/{c['slug']}{path}")
        assert r.status == 403, path


async def test_moderation_settings_are_checked_kept_when_wrong_saved_and_logged(
    world, browser_factory, pool
):
    c, org, b = await _organiser(world, browser_factory, pool)
    path = f"/c/{c['slug']}/manage/moderation"
    r, text = await b.post(path, {"flag_threshold": "0", "premoderate_first_posts": "two"})
    assert r.status == 422
    assert "The number of reports that hides a post must be a whole number from 1 to 100" in text
    assert "The number of first posts that wait for approval must be a whole number" in text
    assert 'value="two"' in text and 'value="0"' in text
    r, text = await b.post(path, {"flag_threshold": "2", "premoderate_first_posts": "3"})
    assert r.status == 303
    row = await pool.fetchrow(
        "SELECT flag_threshold, premoderate_first_posts FROM conferences WHERE id = $1", c["id"]
    )
    assert tuple(row) == (2, 3)
    log = await pool.fetch(
        "SELECT action, target_type, actor_id, details FROM moderation_log"
        " WHERE conference_id = $1 ORDER BY id",
        c["id"],
    )
    assert [(r["action"], r["target_type"], r["actor_id"]) for r in log] == [
        ("conference.flag_threshold", "conference", org["id"]),
        ("conference.premoderate_first_posts", "conference", org["id"]),
    ]
    assert json.loads(log[0]["details"]) == {"from": 3, "to": 2}
    # The moderation page's log reads them as sentences.
    r, text = await b.get(f"/c/{c['slug']}/moderation")
    assert "Olivia Organiser set the number of reports that hides a post to 2" in text
    # Saving the same values again writes nothing more.
    await b.post(path, {"flag_threshold": "2", "premoderate_first_posts": "3"})
    assert (
        await pool.fetchval("SELECT count(*) FROM moderation_log WHERE conference_id = $1", c["id"])
        == 2
    )


async def test_the_reports_setting_from_the_console_decides_when_a_post_is_hidden(
    world, browser_factory, pool
):
    """The organiser's number is the one the flag service reads."""
    c, _org, b = await _organiser(world, browser_factory, pool, published=True)
    await pool.execute(
        "UPDATE conferences SET starts_at = now() - interval '1 hour' WHERE id = $1", c["id"]
    )
    r, _text = await b.post(
        f"/c/{c['slug']}/manage/moderation", {"flag_threshold": "1", "premoderate_first_posts": "0"}
    )
    assert r.status == 303
    s = await world.session(c)
    author = await world.user()
    await world.member(c, author)
    t = await world.thread(s, author)
    post_id = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", t["id"])
    reporter = await world.user()
    await world.member(c, reporter)
    rb = await browser_factory(reporter["email"])
    r, text = await rb.post(f"/c/{c['slug']}/posts/{post_id}/flag", {"reason": "spam"})
    assert r.status in (200, 303), text[:2000]
    assert await pool.fetchval("SELECT status FROM posts WHERE id = $1", post_id) == "hidden"


async def test_panel_settings_are_set_from_a_page_and_logged(world, browser_factory, pool):
    c, _org, b = await _organiser(world, browser_factory, pool)
    panel = await pool.fetchval(
        "INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at)"
        " VALUES ($1, 'panel', 'Budget panel', '2027-04-01 09:00+00', '2027-04-01 10:00+00')"
        " RETURNING id",
        c["id"],
    )
    r, text = await b.get(f"/c/{c['slug']}/manage/panels")
    assert "Budget panel" in text and "No: questions show at once" in text
    path = f"/c/{c['slug']}/manage/panels/{panel}"
    r, text = await b.post(
        path, {"questions_premoderated": "on", "answers_until": "2027-04-01T10:30"}
    )
    assert r.status == 422
    assert "Answers can only stay open after the panel ends" in text
    assert 'value="2027-04-01T10:30"' in text
    # Typed ticks are kept too.
    assert (
        'id="questions_premoderated" name="questions_premoderated" type="checkbox" value="on" checked'
        in text
    )
    r, text = await b.post(
        path,
        {"questions_premoderated": "on", "questions_in_advance": "on",
         "answers_until": "2027-04-02T12:00"},
    )  # fmt: skip
    assert r.status == 303
    row = await pool.fetchrow(
        "SELECT questions_premoderated, questions_in_advance, answers_until FROM sessions"
        " WHERE id = $1",
        panel,
    )
    assert row["questions_premoderated"] and row["questions_in_advance"]
    assert row["answers_until"] == datetime(2027, 4, 2, 11, 0, tzinfo=UTC)  # 12:00 BST
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM moderation_log WHERE session_id = $1 AND action ="
            " 'session.panel_settings'",
            panel,
        )
        == 1
    )
    # Unticking turns them off; emptying the time closes answers with the panel.
    r, _text = await b.post(path, {"answers_until": ""})
    row = await pool.fetchrow(
        "SELECT questions_premoderated, questions_in_advance, answers_until FROM sessions"
        " WHERE id = $1",
        panel,
    )
    assert tuple(row) == (False, False, None)
    # A discussion session is not a panel.
    s = await world.session(c)
    r, _text = await b.get(f"/c/{c['slug']}/manage/panels/{s['id']}")
    assert r.status == 404


async def test_registration_and_capacity_have_their_own_page(world, browser_factory, pool):
    c, _org, b = await _organiser(world, browser_factory, pool)
    path = f"/c/{c['slug']}/manage/registration"
    r, text = await b.post(path, {"registration": "approval", "capacity": "lots"})
    assert r.status == 422 and 'value="lots"' in text
    assert "Capacity must be a whole number of places" in text
    r, _text = await b.post(path, {"registration": "approval", "capacity": "40"})
    assert r.status == 303
    row = await pool.fetchrow("SELECT registration, capacity FROM conferences WHERE id = $1",
                              c["id"])  # fmt: skip
    assert tuple(row) == ("approval", 40)
    # The details form leaves them as they are.
    r, text = await b.get(f"/c/{c['slug']}/manage")
    assert 'name="capacity"' not in text


async def test_facilitators_may_be_allowed_to_export_from_the_exports_page(
    world, browser_factory, pool
):
    c, _org, b = await _organiser(world, browser_factory, pool)
    r, text = await b.get(f"/c/{c['slug']}/manage/exports")
    assert f'href="/c/{c["slug"]}/export"' in text and f'href="/c/{c["slug"]}/report"' in text
    await b.post(f"/c/{c['slug']}/manage/exports", {"facilitators_may_export": "on"})
    assert await pool.fetchval("SELECT facilitators_may_export FROM conferences WHERE id = $1",
                               c["id"])  # fmt: skip
    await b.post(f"/c/{c['slug']}/manage/exports", {})
    assert not await pool.fetchval(
        "SELECT facilitators_may_export FROM conferences WHERE id = $1", c["id"]
    )


# --- the programme builder -----------------------------------------------------------------


async def test_a_discussion_is_added_with_its_opening_thread_in_one_submission(
    world, browser_factory, pool
):
    c, org, b = await _organiser(world, browser_factory, pool)
    r, text = await b.post(
        f"/c/{c['slug']}/manage/sessions",
        _session("Housing", "2027-04-01T10:00", "2027-04-01T11:00",
                 thread_title="", thread_body="What would **you** build first?"),
        follow=True,
    )  # fmt: skip
    assert r.status == 200 and "The session has been added." in text
    thread = await pool.fetchrow(
        "SELECT t.title, p.body_html, p.author_id, p.status FROM threads t"
        " JOIN posts p ON p.thread_id = t.id JOIN sessions s ON s.id = t.session_id"
        " WHERE s.conference_id = $1",
        c["id"],
    )
    assert thread["title"] == "Housing"  # the session's title when none is given
    assert "<strong>you</strong>" in thread["body_html"]
    assert thread["author_id"] == org["id"] and thread["status"] == "visible"
    assert "This session has no thread yet" not in text


async def test_a_discussion_without_a_thread_prompts_for_one(world, browser_factory, pool):
    c, _org, b = await _organiser(world, browser_factory, pool)
    r, text = await b.post(
        f"/c/{c['slug']}/manage/sessions",
        _session("Quiet", "2027-04-01T10:00", "2027-04-01T11:00"),
        follow=True,
    )
    sid = await pool.fetchval("SELECT id FROM sessions WHERE conference_id = $1", c["id"])
    assert "This session has no thread yet:" in text
    assert f'href="/c/{c["slug"]}/sessions/{sid}#new-thread">open one</a>' in text


async def test_a_bad_opening_post_saves_nothing_and_keeps_what_was_typed(
    world, browser_factory, pool
):
    c, _org, b = await _organiser(world, browser_factory, pool)
    r, text = await b.post(
        f"/c/{c['slug']}/manage/sessions",
        {**_session("Panel talk", "2027-04-01T10:00", "2027-04-01T11:00",
                    thread_title="Opening", thread_body="Hello"),
         "session_kind": "panel"},
    )  # fmt: skip
    assert r.status == 422
    assert "Only a discussion session has threads" in text
    assert 'value="Opening"' in text and ">Hello</textarea>" in text
    assert not await pool.fetchval(
        "SELECT count(*) FROM sessions WHERE conference_id = $1", c["id"]
    )


async def test_the_add_form_answers_a_script_with_the_new_list(world, browser_factory, pool):
    c, _org, b = await _organiser(world, browser_factory, pool)
    await b.ensure_csrf()
    url = b.url(f"/c/{c['slug']}/manage/sessions")
    form = {**_session("Fetched", "2027-04-01T10:00", "2027-04-01T11:00"), "csrf_token": b.csrf}
    async with b.session.post(url, data=form, headers={"Accept": "application/json"}) as r:
        assert r.status == 200
        data = await r.json()
    assert "Fetched" in data["html"] and data["message"] == "The session has been added."
    # The next session's times follow on.
    assert 'value="2027-04-01T11:00"' in data["html"] and 'value="2027-04-01T12:00"' in data["html"]
    form["session_title"] = ""
    async with b.session.post(url, data=form, headers={"Accept": "application/json"}) as r:
        assert r.status == 422
        data = await r.json()
    assert "Enter title" in data["html"] and "There is a problem" in data["html"]


async def test_a_session_and_a_day_are_copied_at_the_same_wall_times(world, browser_factory, pool):
    c, _org, b = await _organiser(world, browser_factory, pool)
    for title, start, end in (
        ("Morning", "2027-03-27T09:30", "2027-03-27T10:30"),
        ("Afternoon", "2027-03-27T14:00", "2027-03-27T15:00"),
    ):
        r, _text = await b.post(f"/c/{c['slug']}/manage/sessions", _session(title, start, end))
        assert r.status == 303
    # Saturday 27 March is GMT; Monday 29 March is BST: same wall times, an hour earlier in UTC.
    r, text = await b.post(
        f"/c/{c['slug']}/manage/programme/duplicate-day",
        {"from_date": "2027-03-27", "to_date": "2027-03-29"},
        follow=True,
    )
    assert "2 sessions have been copied to the new day." in text
    rows = await pool.fetch(
        "SELECT title, starts_at FROM sessions WHERE conference_id = $1 AND starts_at > $2"
        " ORDER BY starts_at",
        c["id"],
        datetime(2027, 3, 28, tzinfo=UTC),
    )
    assert [(r["title"], r["starts_at"]) for r in rows] == [
        ("Morning", datetime(2027, 3, 29, 8, 30, tzinfo=UTC)),
        ("Afternoon", datetime(2027, 3, 29, 13, 0, tzinfo=UTC)),
    ]
    # A day outside the conference is refused, with the typed date kept.
    r, text = await b.post(
        f"/c/{c['slug']}/manage/programme/duplicate-day",
        {"from_date": "2027-03-27", "to_date": "2028-01-01"},
    )
    assert r.status == 422 and "The copy must be inside the conference" in text
    assert 'value="2028-01-01"' in text
    morning = rows[0]
    sid = await pool.fetchval(
        "SELECT id FROM sessions WHERE conference_id = $1 AND starts_at = $2",
        c["id"],
        morning["starts_at"],
    )
    r, _text = await b.post(
        f"/c/{c['slug']}/manage/sessions/{sid}/duplicate", {"date": "2027-04-05"}
    )
    assert r.status == 303
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM sessions WHERE conference_id = $1 AND starts_at = $2",
            c["id"],
            datetime(2027, 4, 5, 8, 30, tzinfo=UTC),
        )
        == 1
    )
    r, text = await b.post(f"/c/{c['slug']}/manage/sessions/{sid}/duplicate", {"date": "soon"})
    assert r.status == 422 and "Enter a real date" in text


async def test_several_sessions_are_added_from_lines_all_or_none(world, browser_factory, pool):
    c, _org, b = await _organiser(world, browser_factory, pool)
    path = f"/c/{c['slug']}/manage/programme/sessions"
    lines = (
        "Day 1 | 09:30-10:00 | Keynote | Opening keynote\n"
        "Day 3 | 01:30-02:30 | Discussion | Night shift\n"
        "Day 2 | 11:00-10:00 | Panel | Backwards\n"
        "Day 2 | 10:00 | Break | No end\n"
        "2027-03-27 | 13:00-14:00 | Egwyl | Cinio\n"
    )
    r, text = await b.post(path, {"lines": lines})
    assert r.status == 422, text[:2000]
    # Day 3 is Sunday 28 March: its 01:30 does not exist.
    assert "Line 2: 01:30 does not exist on 28 March 2027 because UK clocks go forward" in text
    assert "Line 3: End must be after the start" in text
    assert "Line 4: write it as: Day 1 | 09:30-10:00 | Discussion | Title" in text
    assert "Opening keynote\nDay 3 | 01:30-02:30" in text  # what was typed, kept
    assert not await pool.fetchval(
        "SELECT count(*) FROM sessions WHERE conference_id = $1", c["id"]
    )
    good = (
        "\n".join(lines.splitlines()[i] for i in (0, 4))
        + "\nDay 2 | 9.00 to Day 4 17:00 | discussion | Café"
    )
    r, text = await b.post(path, {"lines": good}, follow=True)
    assert "3 sessions have been added." in text
    rows = await pool.fetch(
        "SELECT kind, title, starts_at FROM sessions WHERE conference_id = $1 ORDER BY starts_at",
        c["id"],
    )
    assert [(r["kind"], r["title"], r["starts_at"]) for r in rows] == [
        ("keynote", "Opening keynote", datetime(2027, 3, 26, 9, 30, tzinfo=UTC)),
        ("discussion", "Café", datetime(2027, 3, 27, 9, 0, tzinfo=UTC)),
        ("break", "Cinio", datetime(2027, 3, 27, 13, 0, tzinfo=UTC)),
    ]
    # The café runs from Saturday 09:00 GMT to Monday 17:00 BST.
    assert await pool.fetchval(
        "SELECT ends_at FROM sessions WHERE conference_id = $1 AND title = 'Café'", c["id"]
    ) == datetime(2027, 3, 29, 16, 0, tzinfo=UTC)


DEMO_LINES = """\
Day 1 | 09:00-09:30 | Keynote | Opening keynote: why social media matters for local democracy
Day 1 | 09:30-10:30 | Discussion | What councils and councillors are doing with social media
Day 1 | 10:00-Day 2 09:00 | Discussion | Connecting communities to local public services
Day 1 | 10:00-Day 3 09:00 | Discussion | Empowerment, engagement and improvement
Day 1 | 10:30-Day 2 09:00 | Panel | Ask the panel: social media for councillors
Day 2 | 09:00-Day 3 09:00 | Discussion | The risks of these new ways of communicating
Day 3 | 09:00-Day 4 08:00 | Discussion | How councils and councillors can get started
Day 2 | 12:00-13:00 | Break | Lunch"""


async def test_the_demo_programme_with_roles_and_invitations_from_an_empty_site(
    world, browser_factory, pool
):
    """confer/demo.py's three-day programme, set up through the console from an empty site:
    the submissions, typed fields (text boxes typed or pasted into) and other choices (ticks
    and selects changed from what the form shows) it takes. The issue counted about 17
    submissions and 60 typed fields before; "done when" asks for at most a third (5)."""
    admin = await world.user(admin=True)
    b = await browser_factory(admin["email"])
    submissions, typed, choices = 0, 0, 0

    async def submit(path: str, data: dict, fields: int, chosen: int = 0) -> str:
        nonlocal submissions, typed, choices
        submissions += 1
        typed += fields
        choices += chosen
        r, text = await b.post(path, data, follow=True)
        assert r.status == 200 and "There is a problem" not in text, text[:3000]
        return text

    # 1. The conference with its programme: slug, title, start, end and the pasted lines
    # (the time zone and who can read it are the form's defaults).
    await submit("/admin/conferences", {
        "slug": "connected-2027", "title": "Councillors connected", "timezone": "Europe/London",
        "starts_at": "2027-05-11T09:00", "ends_at": "2027-05-14T09:00", "visibility": "public",
        "programme": DEMO_LINES,
    }, 5)  # fmt: skip
    c = "/c/connected-2027"
    # 2. The café with its opening post: title, start, end, first post; the posting window
    # and "participants may start threads" chosen.
    await submit(f"{c}/manage/sessions", {
        "session_kind": "discussion", "session_title": "Conference café",
        "session_starts_at": "2027-05-11T09:00", "session_ends_at": "2027-05-14T09:00",
        "session_posting_window": "conference", "session_participants_start_threads": "on",
        "session_thread_body": "Start your own thread on anything related to the conference.",
    }, 4, 2)  # fmt: skip
    panel = await pool.fetchval("SELECT id FROM sessions WHERE kind = 'panel'")
    # 3. The facilitator (the role form's first choice), sent although still a draft.
    await submit(f"{c}/manage/roles", {"role_email": "faisal@example.org",
                                       "role_role": "facilitator",
                                       "role_confirm_draft": "on"}, 1, 1)  # fmt: skip
    # 4. Three speakers on the panel in one: the addresses pasted, "Speaker", the panel and
    # the draft's tick.
    await submit(f"{c}/manage/roles", {
        "role_email": "Jane Smith <jane@example.org>; priya@example.org\ntom@example.org",
        "role_role": "speaker", "sessions": str(panel), "role_confirm_draft": "on",
    }, 1, 3)  # fmt: skip
    # 5. The participants' invitations, publishing the conference with them.
    await submit(f"{c}/invitations", {
        "emails": "sam@example.org\nalex@example.org", "role": "participant",
        "publish": "yes"}, 1)  # fmt: skip

    assert await pool.fetchval("SELECT count(*) FROM sessions") == 9
    assert await pool.fetchval("SELECT count(*) FROM invitations") == 6
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM invitations WHERE role = 'speaker' AND session_ids = ARRAY[$1::bigint]",
            panel,
        )
        == 3
    )
    assert await pool.fetchval("SELECT published_at IS NOT NULL FROM conferences")
    # The figures for the closing note: 5 submissions, 12 typed fields (the
    # programme's eight lines and the three speakers' addresses pasted in one each) and 6
    # other choices, against about 17 submissions and 60 typed fields before.
    assert (submissions, typed, choices) == (5, 12, 6)


NEW_CONFERENCE = {
    "slug": "connected-2027", "title": "Councillors connected", "timezone": "Europe/London",
    "starts_at": "2027-05-11T09:00", "ends_at": "2027-05-14T09:00", "visibility": "public",
    "organisers": "olive@example.org",
}  # fmt: skip


async def test_a_new_conference_with_bad_programme_lines_keeps_everything_and_creates_nothing(
    world, browser_factory, pool, mailbox
):
    admin = await world.user(admin=True)
    b = await browser_factory(admin["email"])
    programme = (
        "Day 1 | 09:00-09:30 | Keynote | Opening keynote\n"
        "Day 6 | 09:00-10:00 | Discussion | After the end\n"
        "Day 2 | 10:00-11:00 | Workshop | Not a kind"
    )
    r, text = await b.post("/admin/conferences", {**NEW_CONFERENCE, "programme": programme})
    assert r.status == 422, text[:2000]
    assert 'href="#programme"' in text
    assert "Line 2: the conference has days 1 to 4" in text
    assert "Line 3: the kind must be Discussion, Panel, Keynote or Break" in text
    assert "Opening keynote\nDay 6 | 09:00-10:00 | Discussion | After the end\n" in text
    assert 'value="connected-2027"' in text and 'value="Councillors connected"' in text
    assert 'value="2027-05-11T09:00"' in text and "olive@example.org</textarea>" in text
    for table in ("conferences", "sessions", "invitations", "memberships", "outbox"):
        assert not await pool.fetchval(f"SELECT count(*) FROM {table}"), table
    # Corrected, the same form creates the conference with its programme in one go.
    good = programme.replace("Day 6", "Day 3").replace("Workshop", "Panel")
    r, text = await b.post("/admin/conferences", {**NEW_CONFERENCE, "programme": good}, follow=True)
    assert r.status == 200 and "The conference has been created as a draft." in text
    rows = await pool.fetch("SELECT kind, title, starts_at FROM sessions ORDER BY starts_at")
    assert [(r["kind"], r["title"], r["starts_at"]) for r in rows] == [
        ("keynote", "Opening keynote", datetime(2027, 5, 11, 8, 0, tzinfo=UTC)),
        ("panel", "Not a kind", datetime(2027, 5, 12, 9, 0, tzinfo=UTC)),
        ("discussion", "After the end", datetime(2027, 5, 13, 8, 0, tzinfo=UTC)),
    ]


async def test_a_role_given_to_several_addresses_with_one_bad(world, browser_factory, pool):
    """Members get the role at once, the others an invitation carrying it, all with the same
    sessions; the bad address comes back in the box with its reason."""
    c, _org, b = await _organiser(world, browser_factory, pool, published=True)
    panel = await pool.fetchval(
        "INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at)"
        " VALUES ($1, 'panel', 'Ask the panel', $2, $3) RETURNING id",
        c["id"], datetime(2027, 4, 1, 9, 0, tzinfo=UTC), datetime(2027, 4, 1, 10, 0, tzinfo=UTC),
    )  # fmt: skip
    member = await world.user(name="Mo Member")
    await world.member(c, member, "participant")
    pasted = f"Smith, Jane <jane@example.org>; jo@@example; {member['email']}\npat@example.org"
    r, text = await b.post(
        f"/c/{c['slug']}/manage/roles",
        {"role_email": pasted, "role_role": "speaker", "sessions": str(panel)},
    )
    assert r.status == 200, text[:3000]
    assert "1 address could not be read as an email address: correct it below" in text
    assert "“jo@@example”" in text and ">jo@@example</textarea>" in text
    assert "1 member has been given the role." in text
    assert "2 invitations with the role are on their way" in text
    # The role and panel stay chosen for the corrected address.
    assert f'value="{panel}" checked' in text
    assert await pool.fetchval(
        "SELECT role FROM memberships WHERE conference_id = $1 AND user_id = $2",
        c["id"], member["id"],
    ) == "speaker"  # fmt: skip
    assert (
        await pool.fetchval("SELECT count(*) FROM session_speakers WHERE session_id = $1", panel)
        == 1
    )
    rows = await pool.fetch("SELECT email, role, session_ids FROM invitations ORDER BY email")
    assert [(r["email"], r["role"], list(r["session_ids"])) for r in rows] == [
        ("jane@example.org", "speaker", [panel]),
        ("pat@example.org", "speaker", [panel]),
    ]
    # Only bad addresses: nothing done, each listed.
    r, text = await b.post(
        f"/c/{c['slug']}/manage/roles", {"role_email": "x@@y, nobody", "role_role": "speaker"}
    )
    assert r.status == 422 and "2 addresses could not be read as email addresses" in text
    assert await pool.fetchval("SELECT count(*) FROM invitations") == 2


async def test_a_thread_that_cannot_start_leaves_the_session_and_a_prompt(
    world, browser_factory, pool
):
    """After the conference has closed nobody posts, organisers included: the session is still
    added, and the programme says its thread is missing."""
    c, _org, b = await _organiser(world, browser_factory, pool)
    await pool.execute(
        "UPDATE conferences SET starts_at = now() - interval '3 days',"
        " ends_at = now() - interval '1 day' WHERE id = $1",
        c["id"],
    )
    day = await pool.fetchval(
        "SELECT to_char((now() - interval '2 days') AT TIME ZONE 'Europe/London', 'YYYY-MM-DD')"
    )
    r, text = await b.post(
        f"/c/{c['slug']}/manage/sessions",
        _session("Looking back", f"{day}T10:00", f"{day}T11:00", thread_body="How did it go?"),
        follow=True,
    )
    assert r.status == 200, text[:2000]
    assert "its opening thread could not be started" in text
    assert "This session has no thread yet:" in text
    assert (
        await pool.fetchval("SELECT count(*) FROM sessions WHERE conference_id = $1", c["id"]) == 1
    )
    assert not await pool.fetchval("SELECT count(*) FROM threads WHERE conference_id = $1", c["id"])
