"""The participation report (/c/<slug>/report): exact figures through the real server, who
may see it, timezone bucketing, and charts that are accessible SVG with no script or style."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from confer.reports.charts import bar_chart
from tests.conftest import insert_post
from tests.test_markup import page_problems, parse


def at(text: str) -> datetime:
    """'2026-01-13 10:15' in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- reading the page -------------------------------------------------------------------


class _Tables(HTMLParser):
    """Every <table id=...>: its body rows, each a list of cell texts (th and td)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._in_body = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> dict[str, dict[str, list[str]]]:
    """{table id: {first cell (the row header): the other cells}}."""
    p = _Tables()
    p.feed(page)
    p.close()
    return {tid: {row[0]: row[1:] for row in rows} for tid, rows in p.tables.items()}


SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def svgs(page: str) -> list[str]:
    return SVG.findall(page)


# --- the fixture conference -------------------------------------------------------------


async def _post(world, thread: dict, author: dict, when: datetime, status: str = "visible") -> int:
    post_id = await insert_post(
        world.pool, thread["id"], author["id"], None, "Text", "<p>Text</p>", None, status
    )
    await world.pool.execute("UPDATE posts SET created_at = $2 WHERE id = $1", post_id, when)
    return post_id


async def _same_password_user(world, like: dict, name: str, organisation: str) -> dict:
    """A user who signs in with the same password as `like` (its hash copied, not recomputed)."""
    email = f"{uuid.uuid4().hex[:10]}@example.org"
    uid = await world.pool.fetchval(
        "INSERT INTO users (email, name, organisation, password_hash) "
        "SELECT $2, $3, $4, password_hash FROM users WHERE id = $1 RETURNING id",
        like["id"],
        email,
        name,
        organisation,
    )
    return {"id": uid, "email": email, "name": name}


async def _question(world, panel: dict, author: dict, status: str = "open", **extra: Any) -> int:
    return await world.pool.fetchval(
        """
        INSERT INTO questions (session_id, conference_id, author_id, body_md, body_html, status,
                               merged_into_id)
        VALUES ($1, $2, $3, 'Why?', '<p>Why?</p>', $4, $5)
        RETURNING id
        """,
        panel["id"],
        panel["conference"]["id"],
        author["id"],
        status,
        extra.get("merged_into"),
    )


async def _session_at(world, c: dict, kind: str, title: str, starts: str, ends: str) -> dict:
    s = await world.session(c, kind=kind, title=title)
    await world.pool.execute(
        "UPDATE sessions SET starts_at = $2, ends_at = $3 WHERE id = $1",
        s["id"],
        at(starts),
        at(ends),
    )
    return s


async def _conference_at(world, starts: str, ends: str, **kw: Any) -> dict:
    c = await world.conference(**kw)
    await world.pool.execute(
        "UPDATE conferences SET starts_at = $2, ends_at = $3 WHERE id = $1",
        c["id"],
        at(starts),
        at(ends),
    )
    return c


@pytest.fixture
async def fx(world) -> dict[str, Any]:
    return await build_conference(world)


async def build_conference(world) -> dict[str, Any]:
    """A three-day conference in London (GMT in January, so UTC hours are local hours).

    Members: organiser, facilitator, speaker, four active participants (one does nothing), an
    observer, a participant awaiting approval and a removed one. Posts in two sessions on two
    days, one hidden, one pending and one deleted; a panel with five questions; three
    moderation log rows.
    """
    c = await _conference_at(
        world, "2026-01-13 09:00", "2026-01-15 17:00", timezone="Europe/London"
    )
    people: dict[str, dict] = {}
    for key, role, org in [
        ("org", "organiser", "Leeds City Council"),
        ("fac", "facilitator", "Leeds City Council"),
        ("spk", "speaker", "Local Government Association"),
        ("p1", "participant", "York Council"),
        ("p2", "participant", "  leeds city council "),
        ("p3", "participant", ""),
        ("p4", "participant", ""),
        ("obs", "observer", "York Council"),
        ("pend", "participant", "Hull Council"),
        ("gone", "participant", "Hull Council"),
    ]:
        if people:  # one password hash is slow enough: the others share the first's
            u = await _same_password_user(world, people["org"], key.upper(), org)
        else:
            u = await world.user(name=key.upper(), organisation=org)
        people[key] = u
        await world.member(c, u, role)
    for key, status in (("pend", "pending"), ("gone", "removed")):
        await world.pool.execute(
            "UPDATE memberships SET status = $3 WHERE conference_id = $1 AND user_id = $2",
            c["id"],
            people[key]["id"],
            status,
        )
    p = people
    housing = await _session_at(
        world, c, "discussion", "Housing", "2026-01-13 10:00", "2026-01-13 12:00"
    )
    transport = await _session_at(
        world, c, "discussion", "Transport", "2026-01-14 10:00", "2026-01-14 12:00"
    )
    await _session_at(world, c, "break", "Lunch", "2026-01-14 12:00", "2026-01-14 13:00")
    panel = await _session_at(
        world, c, "panel", "Ask the panel", "2026-01-14 14:00", "2026-01-14 15:00"
    )
    rents = await world.thread(housing, p["fac"], title="Rents", posts=0)
    repairs = await world.thread(housing, p["fac"], title="Repairs", posts=0)
    buses = await world.thread(
        transport, p["org"], title='Buses <script>alert("x")</script>', posts=0
    )
    await _post(world, rents, p["p1"], at("2026-01-13 10:15"))
    await _post(world, rents, p["p2"], at("2026-01-13 10:40"))
    await _post(world, rents, p["fac"], at("2026-01-13 11:05"))
    hidden = await _post(world, rents, p["p1"], at("2026-01-13 11:20"), "hidden")
    await _post(world, repairs, p["p2"], at("2026-01-13 10:30"))
    await _post(world, repairs, p["p3"], at("2026-01-13 10:50"), "pending")
    await _post(world, buses, p["p1"], at("2026-01-14 10:05"))
    await _post(world, buses, p["org"], at("2026-01-14 10:10"))
    await _post(world, buses, p["spk"], at("2026-01-14 10:20"), "deleted")
    # Reading: the observer and p3 opened threads; so did the removed member (not counted).
    for who, thread in (("obs", rents), ("p3", repairs), ("gone", buses)):
        await world.pool.execute(
            "INSERT INTO read_state (user_id, thread_id, last_seq) VALUES ($1, $2, 1)",
            p[who]["id"],
            thread["id"],
        )
    q1 = await _question(world, panel, p["p1"])  # answered by a speaker's answer
    await _question(world, panel, p["p3"], "answered")  # marked answered
    dismissed = await _question(world, panel, p["p2"], "dismissed")
    await _question(world, panel, p["p4"], "pending")  # awaiting approval: not counted
    await _question(world, panel, p["p2"], "dismissed", merged_into=q1)  # merged: not counted
    await world.pool.execute(
        "INSERT INTO answers (question_id, speaker_id, body_md, body_html) "
        "VALUES ($1, $2, 'Because.', '<p>Because.</p>')",
        q1,
        p["spk"]["id"],
    )
    await world.pool.execute(
        "INSERT INTO question_votes (question_id, user_id) VALUES ($1, $2)", q1, p["spk"]["id"]
    )
    for action, target_type, target in (
        ("post.hide", "post", hidden),
        ("post.hide", "post", hidden),
        ("question.dismiss", "question", dismissed),
    ):
        await world.pool.execute(
            "INSERT INTO moderation_log (conference_id, actor_id, action, target_type, target_id) "
            "VALUES ($1, $2, $3, $4, $5)",
            c["id"],
            p["fac"]["id"],
            action,
            target_type,
            target,
        )
    return {"c": c, "people": people, "threads": (rents, repairs, buses)}


async def _report(browser_factory, fx) -> str:
    b = await browser_factory(fx["people"]["org"]["email"])
    r, text = await b.get(f"/c/{fx['c']['slug']}/report")
    assert r.status == 200, text[:2000]
    return text


# --- the figures ------------------------------------------------------------------------


async def test_registrations_count_members_by_role_and_status(browser_factory, fx):
    t = tables(await _report(browser_factory, fx))["table-registrations"]
    # Columns: Active, Awaiting approval, Waiting list, Declined, Removed, All
    assert t["Organisers"] == ["1", "0", "0", "0", "0", "1"]
    assert t["Facilitators"] == ["1", "0", "0", "0", "0", "1"]
    assert t["Speakers"] == ["1", "0", "0", "0", "0", "1"]
    assert t["Participants"] == ["4", "1", "0", "0", "1", "6"]
    assert t["Observers"] == ["1", "0", "0", "0", "0", "1"]
    assert t["All roles"] == ["8", "1", "0", "0", "1", "10"]


async def test_attendance_counts_visits_posts_questions_and_votes_of_active_members(
    browser_factory, fx
):
    page = await _report(browser_factory, fx)
    t = tables(page)["table-attendance"]
    # Columns: members, visited, posted, asked, voted, answered, attended, share
    assert t["Organisers"] == ["1", "0", "1", "0", "0", "0", "1", "100%"]
    assert t["Facilitators"] == ["1", "0", "1", "0", "0", "0", "1", "100%"]
    # The speaker only deleted a post; voted, and answered a question.
    assert t["Speakers"] == ["1", "0", "0", "0", "1", "1", "1", "100%"]
    assert t["Participants"] == ["4", "1", "2", "3", "0", "0", "3", "75%"]  # p3's is pending
    assert t["Observers"] == ["1", "1", "0", "0", "0", "0", "1", "100%"]
    assert t["All roles"] == ["8", "2", "4", "3", "1", "1", "7", "88%"]
    assert "Members who posted" in page


async def test_a_speaker_who_only_answered_a_question_has_attended(world, browser_factory, fx):
    c = fx["c"]
    panel = await world.pool.fetchval(
        "SELECT id FROM sessions WHERE conference_id = $1 AND kind = 'panel'", c["id"]
    )
    quiet = await world.user("Quiet Speaker")
    await world.member(c, quiet, "speaker")
    q = await world.pool.fetchval(
        "SELECT id FROM questions WHERE session_id = $1 AND status = 'answered'", panel
    )
    await world.pool.execute(
        "INSERT INTO answers (question_id, speaker_id, body_md, body_html) "
        "VALUES ($1, $2, 'Yes.', '<p>Yes.</p>')",
        q,
        quiet["id"],
    )
    t = tables(await _report(browser_factory, fx))
    assert t["table-attendance"]["Speakers"] == ["2", "0", "0", "0", "1", "2", "2", "100%"]
    assert t["table-register"]["Quiet Speaker"] == [
        "Speaker", "Yes", "0", "0", "0", "1", "0", "1",
    ]  # fmt: skip


async def test_the_attendance_register_lists_each_member_on_the_page_and_in_csv(
    browser_factory, fx
):
    page = await _report(browser_factory, fx)
    t = tables(page)["table-register"]
    # Columns: role, attended, posts, questions, votes, answers, threads read, sessions.
    # Active members only (PEND awaits approval, GONE was removed), by name.
    assert list(t) == [
        "FAC Leeds City Council", "OBS York Council", "ORG Leeds City Council",
        "P1 York Council", "P2 leeds city council", "P3", "P4",
        "SPK Local Government Association",
    ]  # fmt: skip
    # P1: two visible posts and one a facilitator hid (counted, as everywhere in the report).
    assert t["P1 York Council"] == ["Participant", "Yes", "3", "1", "0", "0", "0", "3"]
    assert t["P3"] == ["Participant", "Yes", "0", "1", "0", "0", "1", "2"]
    assert t["P4"] == ["Participant", "No", "0", "0", "0", "0", "0", "0"]
    assert t["SPK Local Government Association"] == [
        "Speaker", "Yes", "0", "0", "1", "1", "0", "1",
    ]  # fmt: skip
    assert f'href="/c/{fx["c"]["slug"]}/report/register.csv"' in page

    b = await browser_factory(fx["people"]["org"]["email"])
    r, text = await b.get(f"/c/{fx['c']['slug']}/report/register.csv")
    assert r.status == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attendance-register.csv" in r.headers["Content-Disposition"]
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == [
        "Name", "Organisation", "Role", "Attended", "Posts", "Questions asked", "Votes",
        "Answers", "Threads read", "Sessions attended", "Sessions",
    ]  # fmt: skip
    by_name = {row[0]: row[1:] for row in rows[1:]}
    assert len(by_name) == 8
    assert by_name["P1"] == [
        "York Council", "Participant", "Yes", "3", "1", "0", "0", "0", "3",
        "Ask the panel; Housing; Transport",
    ]  # fmt: skip
    assert by_name["P4"] == ["", "Participant", "No", "0", "0", "0", "0", "0", "0", ""]


async def test_facilitators_summaries_are_listed_under_their_sessions(world, browser_factory, fx):
    rents, _repairs, buses = fx["threads"]
    await world.pool.execute(
        "UPDATE threads SET summary_md = 'Rents **rose**', "
        "summary_html = '<p>Rents <strong>rose</strong></p>' WHERE id = $1",
        rents["id"],
    )
    page = await _report(browser_factory, fx)
    section = page[page.index('id="summaries"') : page.index('id="moderation"')]
    assert "Housing" in section and "<p>Rents <strong>rose</strong></p>" in section
    assert "Transport" not in section  # no summary there yet
    assert f'/threads/{rents["id"]}"' in section and f'/threads/{buses["id"]}"' not in section


async def test_organisations_are_distinct_non_empty_and_of_active_members(browser_factory, fx):
    t = tables(await _report(browser_factory, fx))["table-organisations"]
    # "  leeds city council " joins "Leeds City Council"; Hull's members are not active.
    assert t == {
        "Leeds City Council": ["3"],
        "York Council": ["2"],
        "Local Government Association": ["1"],
    }


async def test_posts_per_session_count_visible_and_hidden_not_pending_or_deleted(
    browser_factory, fx
):
    t = tables(await _report(browser_factory, fx))["table-sessions"]
    assert list(t) == ["Housing", "Transport", "Ask the panel"]  # programme order, no break
    assert t["Housing"][1:] == ["5", "1"]  # 4 visible + 1 hidden; the pending one is left out
    assert t["Transport"][1:] == ["2", "0"]  # the deleted post is left out
    assert t["Ask the panel"][1:] == ["0", "0"]


async def test_posts_per_day_and_busiest_hours(browser_factory, fx):
    page = await _report(browser_factory, fx)
    days = tables(page)["table-days"]
    assert days == {
        "Tuesday 13 January 2026": ["5"],
        "Wednesday 14 January 2026": ["2"],
        "Thursday 15 January 2026": ["0"],  # a conference day with no posts still shows
    }
    hours = tables(page)["table-hours"]
    assert len(hours) == 24
    assert hours["10:00 to 10:59"] == ["5"]
    assert hours["11:00 to 11:59"] == ["2"]
    assert sum(int(v[0]) for v in hours.values()) == 7


async def test_most_active_threads_rank_by_visible_posts(browser_factory, fx):
    page = await _report(browser_factory, fx)
    t = tables(page)["table-threads"]
    assert list(t) == ["Rents", 'Buses <script>alert("x")</script>', "Repairs"]
    assert t["Rents"] == ["Housing", "3"]  # the hidden post is not visible
    assert t['Buses <script>alert("x")</script>'] == ["Transport", "2"]
    assert t["Repairs"] == ["Housing", "1"]
    rents = fx["threads"][0]
    assert f'href="/c/{fx["c"]["slug"]}/threads/{rents["id"]}"' in page


async def test_questions_asked_and_answered_per_panel(browser_factory, fx):
    t = tables(await _report(browser_factory, fx))["table-questions"]
    # Columns: asked, answered, dismissed. Pending and merged questions are left out.
    assert t == {"Ask the panel": ["3", "2", "1"]}


async def test_moderation_counts_by_action(browser_factory, fx):
    t = tables(await _report(browser_factory, fx))["table-moderation"]
    assert t == {"Post: hide (post.hide)": ["2"], "Question: dismiss (question.dismiss)": ["1"]}


async def test_summary_gives_the_headline_figures(browser_factory, fx):
    page = await _report(browser_factory, fx)
    text = " ".join(page.split())
    assert 'Members who attended</dt><dd class="govuk-summary-list__value">7 (88%)' in text
    assert "7, of which 1 hidden by facilitators" in text
    assert "3 asked, 2 answered" in text


# --- timezones --------------------------------------------------------------------------


async def test_days_and_hours_are_those_of_the_conference_timezone(world, browser_factory):
    """New York in January is UTC-5. 03:30 UTC on Friday is 22:30 on Thursday there; 23:30 UTC
    on Thursday is still Thursday (18:30); 05:30 UTC on Friday is 00:30 on Friday."""
    c = await _conference_at(
        world, "2026-01-15 14:00", "2026-01-16 22:00", timezone="America/New_York"
    )
    org = await world.user()
    await world.member(c, org, "organiser")
    s = await _session_at(world, c, "discussion", "Late", "2026-01-15 14:00", "2026-01-16 22:00")
    t = await world.thread(s, org, posts=0)
    await _post(world, t, org, at("2026-01-16 03:30"))
    await _post(world, t, org, at("2026-01-15 23:30"))
    await _post(world, t, org, at("2026-01-16 05:30"))
    b = await browser_factory(org["email"])
    r, page = await b.get(f"/c/{c['slug']}/report")
    assert r.status == 200
    found = tables(page)
    # By UTC date these would be 1 on the 15th and 2 on the 16th.
    assert found["table-days"] == {
        "Thursday 15 January 2026": ["2"],
        "Friday 16 January 2026": ["1"],
    }
    hours = found["table-hours"]
    assert hours["22:00 to 22:59"] == ["1"]
    assert hours["18:00 to 18:59"] == ["1"]
    assert hours["00:00 to 00:59"] == ["1"]
    assert hours["03:00 to 03:59"] == ["0"] and hours["23:00 to 23:59"] == ["0"]
    assert "conference’s timezone (EST)" in page  # named as people say it (#23)


# --- who may see it ---------------------------------------------------------------------


async def test_only_organisers_and_admins_see_the_report(world, browser_factory, fx):
    slug = fx["c"]["slug"]
    path = f"/c/{slug}/report"
    p = fx["people"]
    for key in ("p1", "fac", "spk", "obs"):
        b = await browser_factory(p[key]["email"])
        r, _ = await b.get(path)
        assert r.status == 403, key
    anon = await browser_factory()
    r, _ = await anon.get(path, allow_redirects=False)
    assert r.status in (302, 303) and r.headers["Location"].startswith("/login"), r.headers
    assert "next=" in r.headers["Location"]
    other = await world.conference()
    other_org = await world.user()
    await world.member(other, other_org, "organiser")
    b = await browser_factory(other_org["email"])
    r, _ = await b.get(path)
    assert r.status in (403, 404)
    admin = await world.user(admin=True)
    b = await browser_factory(admin["email"])
    r, _ = await b.get(path)
    assert r.status == 200
    b = await browser_factory(p["org"]["email"])
    r, _ = await b.get(path)
    assert r.status == 200
    r, _ = await b.get("/c/no-such-conference/report")
    assert r.status == 404


async def test_organisers_see_a_draft_conference_report_and_others_do_not(world, browser_factory):
    c = await world.conference(published=False)
    org, part = await world.user(), await world.user()
    await world.member(c, org, "organiser")
    await world.member(c, part, "participant")
    b = await browser_factory(org["email"])
    r, page = await b.get(f"/c/{c['slug']}/report")
    assert r.status == 200 and "Participation report" in page
    b = await browser_factory(part["email"])
    r, _ = await b.get(f"/c/{c['slug']}/report")
    assert r.status == 404  # a draft does not reveal itself


async def test_the_report_link_is_in_the_sub_navigation_for_organisers_only(browser_factory, fx):
    slug = fx["c"]["slug"]
    link = f'href="/c/{slug}/report"'
    b = await browser_factory(fx["people"]["org"]["email"])
    _, page = await b.get(f"/c/{slug}")
    assert link in page
    _, page = await b.get(f"/c/{slug}/report")
    assert f'{link} aria-current="page">Report</a>' in page
    b = await browser_factory(fx["people"]["fac"]["email"])
    _, page = await b.get(f"/c/{slug}")
    assert link not in page


# --- the page and its charts ------------------------------------------------------------


async def test_the_page_has_one_h1_and_no_inline_script_or_style(browser_factory, fx):
    page = await _report(browser_factory, fx)
    assert page.count("<h1") == 1
    assert page_problems(page) == []
    # The hostile thread title is shown as text, never as markup.
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page or (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    )


async def test_every_chart_is_an_accessible_svg_followed_by_its_table(browser_factory, fx):
    page = await _report(browser_factory, fx)
    charts = svgs(page)
    assert len(charts) == 6
    for svg in charts:
        assert 'role="img"' in svg
        assert re.search(r"<title id=\"[^\"]+\">[^<]+</title>", svg)
        assert re.search(r"<desc id=\"[^\"]+\">[^<]+</desc>", svg)
        assert "<script" not in svg.lower() and "<style" not in svg.lower()
        for el in parse(svg).elements:
            names = [name for name, _ in el.attrs]
            assert not [n for n in names if n.startswith("on")], el
            assert "style" not in names, el
        # The chart is followed by its data table.
        after = page[page.index(svg) + len(svg) :]
        assert after.lstrip().startswith("</figure>")
        assert after.find("<table") < after.find("<svg") or "<svg" not in after
    hours = next(s for s in charts if "Posts by hour of the day" in s)
    assert "7 posts in all" in hours and "Highest: 10:00 to 10:59, with 5 posts" in hours


async def test_the_stylesheet_prints_charts_and_tables_without_navigation(browser_factory, fx):
    page = await _report(browser_factory, fx)
    assert 'data-report="participation"' in page
    b = await browser_factory()
    r, css = await b.get("/static/confer.css")
    assert r.status == 200
    printed = css[css.index("@media print") :]
    assert "body[data-report] nav" in printed and "body[data-report] form" in printed
    assert "break-inside: avoid" in printed and ".confer-chart" in printed


# --- charts.bar_chart on its own --------------------------------------------------------


def test_bar_chart_escapes_every_label_and_names_the_data():
    hostile = ["<script>alert(1)</script>", '" onmouseover="alert(1)', "A & B"]
    svg = bar_chart('Title <b>"x"</b>', hostile, [3, 1, 0], unit="posts", horizontal=True)
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&quot; onmouseover=&quot;" in svg and "A &amp; B" in svg
    elements = parse(svg).elements
    assert elements[0].tag == "svg" and elements[0].attr("role") == "img"
    for el in elements:
        assert not [n for n, _ in el.attrs if n.startswith("on") or n == "style"], el
    assert "4 posts in all" in svg and "Highest: &lt;script&gt;" in svg


def test_bar_chart_describes_empty_and_zero_data():
    assert "nothing to show yet" in bar_chart("Empty", [], [])
    assert "every one of the 2 bars is 0" in bar_chart("Zero", ["a", "b"], [0, 0])
    with pytest.raises(ValueError):
        bar_chart("Bad", ["a"], [1, 2])
