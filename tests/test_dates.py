"""Dates that read right everywhere (issue #23, item 1): a time range gives the end's date
whenever it is not the start's day (confer.timefmt.span), on the programme, session and panel
pages and in a transcript; the zone is named as people say it ("UK time"); the programme lists
a session under every day it is open; "Happening now" shows what is open and what opens next;
and every `<time datetime>` has at most three digits of a second's fractions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from yarl import URL

from confer import i18n
from confer.accounts import service as accounts
from confer.urls import url

SUN = datetime(2026, 12, 6, tzinfo=UTC)  # Sunday 6 December 2026 (GMT: UTC+0)
TIME_DATETIME = re.compile(r'<time datetime="([^"]*)"')
HTML_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)$")


def text_of(html: str) -> str:
    """The page's text, tags dropped and white space squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


async def _session(
    pool, conf: dict, title: str, kind: str, starts: datetime, ends: datetime
) -> int:
    return await pool.fetchval(
        "INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id",
        conf["id"], kind, title, starts, ends,
    )  # fmt: skip


async def _programme(world, pool) -> tuple[dict, dict[str, int]]:
    conf = await world.conference()
    h = timedelta(hours=1)
    ids = {
        "lunch": await _session(pool, conf, "Lunch talk", "discussion", SUN + 12 * h, SUN + 13 * h),
        "cafe": await _session(pool, conf, "Café", "discussion", SUN + 12 * h, SUN + 60 * h),
        "late": await _session(pool, conf, "Late night", "discussion", SUN + 22 * h, SUN + 25 * h),
        "panel": await _session(pool, conf, "Night panel", "panel", SUN + 47 * h, SUN + 48.5 * h),
    }
    return conf, ids


async def _signed_in(browser_factory, pool, settings, user: dict):
    b = await browser_factory()
    cookie = await accounts.start_login(pool, settings, user["id"])
    b.session.cookie_jar.update_cookies({"confer_session": cookie}, URL(b.url("/")))
    return b


async def test_a_range_gives_the_end_its_date_when_it_is_another_day(world, pool, browser_factory):
    conf, ids = await _programme(world, pool)
    b = await browser_factory()
    slug = conf["slug"]

    _r, page = await b.get(url("programme", slug=slug))
    text = text_of(page)
    assert "Sun 6 Dec, 12:00 GMT to 13:00 GMT" in text  # one day: the end is a time
    assert "Sun 6 Dec, 12:00 GMT to Tue 8 Dec, 12:00 GMT" in text
    assert "Sun 6 Dec, 22:00 GMT to Mon 7 Dec, 01:00 GMT" in text  # across midnight
    assert "Mon 7 Dec, 23:00 GMT to Tue 8 Dec, 00:30 GMT" in text
    assert "Times are shown in UK time." in text and "Europe/London" not in text
    # Each session under every day it is open: the café on Sunday, then Monday and Tuesday as
    # continuing; the late session on Sunday and Monday; the panel on Monday and Tuesday.
    days = re.split(r'<h2 class="govuk-heading-m">', page)[1:]
    heads = [text_of(d.split("</h2>")[0]).strip() for d in days]
    assert heads == ["Sunday 6 December 2026", "Monday 7 December 2026", "Tuesday 8 December 2026"]
    listed = [re.findall(r'<li class="confer-session" id="(session-[^"]+)"', d) for d in days]
    c, late, panel, lunch = ids["cafe"], ids["late"], ids["panel"], ids["lunch"]
    assert set(listed[0]) == {f"session-{lunch}", f"session-{c}", f"session-{late}"}
    assert listed[1] == [
        f"session-{c}-2026-12-07",
        f"session-{late}-2026-12-07",
        f"session-{panel}",
    ]
    assert listed[2] == [f"session-{c}-2026-12-08", f"session-{panel}-2026-12-08"]
    assert days[1].count("Continuing") == 2 and days[2].count("Continuing") == 2
    assert "Continuing" not in days[0]

    _r, page = await b.get(url("session", slug=slug, session_id=ids["late"]))
    assert (
        "Sunday 6 December 2026, 22:00 GMT to Monday 7 December 2026, 01:00 GMT (UK time)"
        in text_of(page)
    )
    _r, page = await b.get(url("panel", slug=slug, session_id=ids["panel"]))
    assert (
        "Monday 7 December 2026, 23:00 GMT to Tuesday 8 December 2026, 00:30 GMT (UK time)"
        in text_of(page)
    )
    _r, page = await b.get(url("session", slug=slug, session_id=ids["lunch"]))
    assert "Sunday 6 December 2026, 12:00 GMT to 13:00 GMT (UK time)" in text_of(page)

    # In Welsh: the names of days and months, "tan", and "amser y DU".
    b.session.cookie_jar.update_cookies({i18n.COOKIE: "cy"}, URL(b.url("/")))
    _r, page = await b.get(url("programme", slug=slug))
    text = text_of(page)
    assert "Sul 6 Rhag, 12:00 GMT tan Maw 8 Rhag, 12:00 GMT" in text, text
    assert "amser y DU" in text
    _r, page = await b.get(url("session", slug=slug, session_id=ids["late"]))
    assert "Dydd Sul 6 Rhagfyr 2026, 22:00 GMT tan Dydd Llun 7 Rhagfyr 2026, 01:00 GMT" in text_of(
        page
    )


async def test_a_transcript_gives_the_end_its_date(world, pool, browser_factory, settings):
    conf, _ids = await _programme(world, pool)
    org = await world.user("Olu Organiser")
    await world.member(conf, org, "organiser")
    b = await _signed_in(browser_factory, pool, settings, org)
    await b.ensure_csrf()
    form = {"format": "md", "csrf_token": b.csrf}
    async with b.session.post(b.url(url("export", slug=conf["slug"])), data=form) as r:
        assert r.status == 200
        md = await r.text()
    assert "Sunday 6 December 2026, 12:00 GMT to Tuesday 8 December 2026, 12:00 GMT" in md
    assert "Sunday 6 December 2026, 22:00 GMT to Monday 7 December 2026, 01:00 GMT" in md
    assert "Sunday 6 December 2026, 12:00 GMT to 13:00 GMT" in md
    assert "(UK time)" in md


async def test_happening_now_lists_what_is_open_and_what_opens_next(world, pool, browser_factory):
    conf = await world.conference(starts_in=timedelta(days=-2), lasts=timedelta(days=5))
    now = await pool.fetchval("SELECT now()")
    h = timedelta(hours=1)
    cafe = await _session(pool, conf, "Café", "discussion", now - 26 * h, now + 48 * h)
    soon = await _session(pool, conf, "Soon talk", "panel", now + 3 * h, now + 4 * h)
    later = await _session(pool, conf, "Later talk", "discussion", now + 5 * h, now + 6 * h)
    done = await _session(pool, conf, "Done talk", "discussion", now - 5 * h, now - 4 * h)
    b = await browser_factory()
    slug = conf["slug"]

    _r, home = await b.get(url("conference", slug=slug))
    assert f'href="{url("happening_now", slug=slug)}"' in home  # reachable from the home

    _r, page = await b.get(url("happening_now", slug=slug))
    open_now = page.split('data-happening="now"')[1].split("</ul>")[0]
    opens_next = page.split('data-happening="next"')[1].split("</ul>")[0]
    assert f'id="session-{cafe}"' in open_now  # open since yesterday: on its second day
    assert f'id="session-{soon}"' in opens_next
    for other in (later, done):
        assert f'session-{other}"' not in page
    assert f'session-{soon}"' not in open_now and f'session-{cafe}"' not in opens_next

    # The programme lists the café under today too, as continuing.
    today = now.astimezone(ZoneInfo("Europe/London")).date().isoformat()
    _r, page = await b.get(url("programme", slug=slug))
    assert f'id="session-{cafe}-{today}"' in page

    b.session.cookie_jar.update_cookies({i18n.COOKIE: "cy"}, URL(b.url("/")))
    _r, page = await b.get(url("happening_now", slug=slug))
    assert "Yn digwydd nawr" in page and f'id="session-{cafe}"' in page


async def test_time_datetime_has_at_most_three_digits_of_fractions(
    world, pool, browser_factory, settings
):
    conf = await world.conference()
    session = await world.session(conf)
    user = await world.user("Tam Timely")
    await world.member(conf, user)
    thread = await world.thread(session, user, title="Times", posts=3)
    await pool.execute(  # a post time with six digits of fractions, as PostgreSQL keeps them
        "UPDATE posts SET created_at = '2026-12-06T14:12:19.740389+00' WHERE thread_id = $1",
        thread["id"],
    )
    await pool.execute(
        "UPDATE threads SET last_post_at = '2026-12-06T14:12:19.740389+00' WHERE id = $1",
        thread["id"],
    )
    b = await _signed_in(browser_factory, pool, settings, user)
    pages = [
        url("thread", slug=conf["slug"], thread_id=thread["id"]),
        url("search", slug=conf["slug"]) + "?q=Post",
        url("session", slug=conf["slug"], session_id=session["id"]),
        url("programme", slug=conf["slug"]),
    ]
    for path in pages:
        _r, page = await b.get(path)
        values = TIME_DATETIME.findall(page)
        assert values, path
        assert all(HTML_TIME.match(v) for v in values), (path, values)
    _r, page = await b.get(pages[0])
    assert '<time datetime="2026-12-06T14:12:19.740+00:00">' in page


async def test_other_zones_are_named_by_their_abbreviation(world, pool, browser_factory):
    conf = await world.conference(timezone="America/New_York")
    await _session(
        pool, conf, "Winter", "discussion", SUN + timedelta(hours=17), SUN + timedelta(hours=30)
    )
    b = await browser_factory()
    _r, page = await b.get(url("programme", slug=conf["slug"]))
    text = text_of(page)
    assert "Sun 6 Dec, 12:00 EST to Mon 7 Dec, 01:00 EST" in text
    assert "Times are shown in E" in text and "America/New_York" not in text


def test_the_digest_email_gives_a_session_across_midnight_its_end_date():
    """Emails too (item 1): the digest's programme for tomorrow (confer.notifications.emails,
    what run_digest sends) keeps "09:30–10:30 GMT" within a day and names the end's date when
    the session runs past midnight, in English and in Welsh."""
    from confer.notifications.emails import programme_lines

    h = timedelta(hours=1)
    sessions = [
        {"title": "Opening plenary", "starts_at": SUN + 9.5 * h, "ends_at": SUN + 10.5 * h},
        {"title": "Late night", "starts_at": SUN + 22 * h, "ends_at": SUN + 25 * h},
    ]
    lines = programme_lines(sessions, "Europe/London")
    assert lines == [
        "09:30–10:30 GMT: Opening plenary",
        "Sun 6 Dec, 22:00 GMT to Mon 7 Dec, 01:00 GMT: Late night",
    ]
    with i18n.using("cy"):
        welsh = programme_lines(sessions, "Europe/London")
    assert welsh[0] == "09:30–10:30 GMT: Opening plenary"
    assert "7" in welsh[1] and "01:00 GMT" in welsh[1] and welsh[1] != lines[1], welsh
