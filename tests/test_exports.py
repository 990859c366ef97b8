"""Transcripts: every format's content and order, hidden posts and the moderation log, CSV
formula injection, who may export what, the audit trail, the command line, and streaming a
long thread.

One fixture conference (`record`): a later discussion session created first (so that creation
order differs from programme order), an opening discussion with a facilitator summary, a
reply chain, a hidden post, a deleted post and a pending post, and a panel with an answered
and a dismissed question and votes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from yarl import URL

from confer.accounts import service as accounts
from confer.context import Ctx
from confer.exports.writers import CsvWriter
from confer.live.hub import Hub
from confer.moderation import service as moderation
from confer.panels import service as panels
from confer.policy import Actor
from confer.posts import service as posts
from tests.conftest import Browser, insert_post

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "transcript.schema.json").read_text())
TZ = "America/New_York"  # not UTC, so that local and UTC times differ

HIDDEN_TEXT = "Xyzzy is an insulting remark about a colleague"
HIDDEN_REASON = "Personal attack"
DELETED_TEXT = "Plover words I regret writing"
PENDING_TEXT = "Plugh awaits approval forever"
LINK = "https://www.gov.uk/guidance/local-government"


async def _user(pool, name: str, *, title: str = "", organisation: str = "") -> dict:
    """A person written straight into the database (no password hashing: fast)."""
    email = f"{uuid.uuid4().hex[:12]}@example.org"
    uid = await pool.fetchval(
        "INSERT INTO users (email, name, title, organisation, password_hash) "
        "VALUES ($1, $2, $3, $4, '!') RETURNING id",
        email,
        name,
        title,
        organisation,
    )
    return {"id": uid, "email": email, "name": name}


async def _browser(browser_factory, pool, settings, user: dict) -> Browser:
    """A browser signed in as `user` by a sign-in session row (no password check)."""
    b = await browser_factory()
    cookie = await accounts.start_login(pool, settings, user["id"])
    b.session.cookie_jar.update_cookies({"confer_session": cookie}, URL(b.url("/")))
    return b


def _actor(u: dict) -> Actor:
    return Actor(user_id=u["id"], name=u["name"], via="cookie")


@dataclass
class Record:
    slug: str
    conference: dict
    session_a: dict  # the opening discussion (programme: first)
    panel: dict  # programme: second
    session_b: dict  # the later discussion (programme: third, created first)
    thread_budget: int
    thread_roads: int
    thread_later: int
    posts: dict[str, int]
    people: dict[str, dict]


@pytest.fixture
async def record(world, pool, settings) -> Record:
    ctx = Ctx(pool=pool, settings=settings, hub=Hub())
    c = await world.conference(timezone=TZ)
    # Created first, starts last: creation order is not programme order.
    sb = await world.session(
        c, starts_in=timedelta(hours=5), lasts=timedelta(hours=1), title="Later discussion"
    )
    sa = await world.session(
        c, starts_in=timedelta(hours=-1), lasts=timedelta(hours=3), title="Opening discussion"
    )
    panel = await world.session(
        c,
        kind="panel",
        starts_in=timedelta(minutes=-30),
        lasts=timedelta(hours=2),
        title="Ask the panel",
    )
    org = await _user(pool, name="Olive Organiser")
    fac = await _user(pool, name="Fay Facilitator")
    alice = await _user(
        pool, name="Alice Adams", title="Cllr", organisation="Northshire County Council"
    )
    bob = await _user(pool, name="Bob Brown", organisation="Southdale Borough Council")
    speaker = await _user(pool, name="Jane Smith", title="Cllr", organisation="LGA")
    await world.member(c, org, "organiser")
    await world.member(c, fac, "facilitator", sessions=[sa])
    await world.member(c, alice, "participant")
    await world.member(c, bob, "participant")
    await world.member(c, speaker, "speaker")
    await pool.execute(
        "INSERT INTO session_speakers (session_id, user_id) VALUES ($1, $2)",
        panel["id"],
        speaker["id"],
    )

    later = await world.thread(sb, bob, title="Planning for next year", posts=0)
    p_later = await insert_post(
        pool,
        later["id"],
        bob["id"],
        None,
        "Next year we meet in person",
        "<p>Next year we meet in person</p>",
        None,
    )

    budget = await world.thread(sa, org, title="Budgets & priorities", posts=0)
    await pool.execute(
        "UPDATE threads SET summary_md = $2, summary_html = $3 WHERE id = $1",
        budget["id"],
        "We agreed to pool procurement.",
        "<p>We agreed to pool procurement.</p>",
    )

    async def post(author: dict, body: str, reply_to: int | None = None, status="visible"):
        html = f'<p>{body} <a href="{LINK}">{LINK}</a></p>' if LINK in body else f"<p>{body}</p>"
        return await insert_post(
            pool, budget["id"], author["id"], reply_to, body, html, None, status
        )

    p1 = await post(alice, "Opening point about budgets")  # seq 1
    p2 = await post(bob, "Replying to the budget point", reply_to=p1)  # seq 2
    p3 = await post(bob, HIDDEN_TEXT)  # seq 3, hidden below
    p4 = await post(alice, DELETED_TEXT)  # seq 4, deleted below
    p5 = await post(bob, PENDING_TEXT, status="pending")  # seq 5, never exported
    p6 = await post(alice, f"Final thoughts, see {LINK}", reply_to=p2)  # seq 6
    await moderation.moderate_post(ctx, _actor(org), p3, "hide", {"reason": HIDDEN_REASON})
    await posts.delete_post(ctx, _actor(alice), p4)

    roads = await world.thread(sa, alice, title="Roads and bridges", posts=0)
    p_roads = await insert_post(
        pool,
        roads["id"],
        alice["id"],
        None,
        "Potholes cost us dearly",
        "<p>Potholes cost us dearly</p>",
        None,
    )

    q1, _ = await panels.ask(
        ctx, _actor(alice), c["slug"], panel["id"], {"body": "How do you fund libraries?"}
    )
    q2, _ = await panels.ask(
        ctx, _actor(bob), c["slug"], panel["id"], {"body": "What is your favourite film?"}
    )
    await panels.vote(ctx, _actor(bob), q1["id"])
    await panels.vote(ctx, _actor(fac), q1["id"])
    await panels.vote(ctx, _actor(alice), q2["id"])
    await panels.answer(
        ctx, _actor(speaker), q1["id"], {"body": "Through a shared services model."}
    )
    # The written answer marks q1 answered (#23): no separate step.
    await panels.change_state(ctx, _actor(org), q2["id"], "dismiss", {"reason": "Off topic"})

    return Record(
        slug=c["slug"],
        conference=c,
        session_a=sa,
        panel=panel,
        session_b=sb,
        thread_budget=budget["id"],
        thread_roads=roads["id"],
        thread_later=later["id"],
        posts={
            "p1": p1,
            "p2": p2,
            "p3": p3,
            "p4": p4,
            "p5": p5,
            "p6": p6,
            "roads": p_roads,
            "later": p_later,
        },
        people={"org": org, "fac": fac, "alice": alice, "bob": bob, "speaker": speaker},
    )


async def _download(
    b: Browser, slug: str, data: dict[str, Any], *, api: bool = False
) -> tuple[int, str, Any]:
    """POST an export (the form, or the JSON API with the cookie and CSRF header)."""
    await b.ensure_csrf()
    if api:
        # The API takes booleans as JSON's true (its document), where a form sends "on".
        data = {k: True if v == "on" else v for k, v in data.items()}
        kw: dict[str, Any] = {"json": data, "headers": {"X-CSRF-Token": b.csrf}}
        url = b.url(f"/api/v1/conferences/{slug}/exports")
    else:
        form = {k: str(v) for k, v in data.items() if v is not None}
        kw = {"data": {**form, "csrf_token": b.csrf}}
        url = b.url(f"/c/{slug}/export")
    async with b.session.post(url, allow_redirects=False, **kw) as r:
        return r.status, await r.text(), r.headers


async def _export(b: Browser, slug: str, **data: Any) -> str:
    status, text, headers = await _download(b, slug, data)
    assert status == 200, text[:2000]
    assert "attachment" in headers["Content-Disposition"]
    return text


def _in_order(text: str, *parts: str) -> None:
    at = [text.find(p) for p in parts]
    assert all(i >= 0 for i in at), [p for p, i in zip(parts, at, strict=True) if i < 0]
    assert at == sorted(at), list(zip(parts, at, strict=True))


def _validate(doc: Any) -> None:
    v = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    v.validate(doc)


# --- 1. each format's content and order ------------------------------------------------


async def test_markdown_transcript_in_programme_order(record, browser_factory, pool, settings):
    b = await _browser(browser_factory, pool, settings, record.people["org"])
    md = await _export(b, record.slug, format="md")
    _in_order(
        md,
        f"# Conference {record.slug}",
        "## Opening discussion",
        "### Budgets & priorities",
        "> **Facilitator summary**",
        "> We agreed to pool procurement.",
        "**#1 Cllr Alice Adams** (Northshire County Council, participant)",
        "Opening point about budgets",
        "**#2 Bob Brown** (Southdale Borough Council, participant)",
        "in reply to #1",
        "Replying to the budget point",
        "**#3 Bob Brown**",
        f"[removed by a facilitator: {HIDDEN_REASON}]",
        "**#4 Cllr Alice Adams**",
        "[deleted by its author]",
        "**#6 Cllr Alice Adams**",
        "in reply to #2",
        "Final thoughts",
        "### Roads and bridges",
        "Potholes cost us dearly",
        "## Ask the panel",
        "**Q (2 votes, answered)** Alice Adams: How do you fund libraries?",
        "Answer from Cllr Jane Smith",
        "Through a shared services model.",
        "**Q (1 vote, dismissed: Off topic)** Bob Brown: What is your favourite film?",
        "## Later discussion",
        "### Planning for next year",
        "Next year we meet in person",
    )
    assert "**#5" not in md and PENDING_TEXT not in md
    assert HIDDEN_TEXT not in md and DELETED_TEXT not in md
    assert "Appendix: moderation log" not in md


async def test_html_transcript_is_one_self_contained_file(record, browser_factory, pool, settings):
    b = await _browser(browser_factory, pool, settings, record.people["org"])
    status, page, headers = await _download(b, record.slug, {"format": "html"})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert re.search(r"<style>[^<]*break-before:\s*page", page)
    assert "page-break-before: always" in page
    assert "<script" not in page.lower()
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    assert not re.search(r"\ssrc\s*=", page, re.I)
    for href in re.findall(r'href\s*=\s*["\']([^"\']*)', page, re.I):
        # Only anchors within the file, and the link someone wrote in a post.
        assert href.startswith("#") or href == LINK, href
    assert LINK in page
    # One section a session, in programme order; each after the first starts a new page.
    sections = re.findall(r'<section class="session">\s*<h2>([^<]*)</h2>', page)
    assert sections == ["Opening discussion", "Ask the panel", "Later discussion"]
    assert "Budgets &amp; priorities" in page and "Budgets & priorities" not in page
    assert "<p>We agreed to pool procurement.</p>" in page
    _in_order(
        page,
        "Opening point about budgets",
        f'in reply to <a href="#post-{record.posts["p1"]}">#1</a>',
        "Replying to the budget point",
        f"[removed by a facilitator: {HIDDEN_REASON}]",
        "[deleted by its author]",
        "Final thoughts",
        "How do you fund libraries?",
        "Through a shared services model.",
        "What is your favourite film?",
        "Next year we meet in person",
    )
    assert HIDDEN_TEXT not in page and PENDING_TEXT not in page and DELETED_TEXT not in page


async def test_csv_transcript_one_row_per_post_with_both_times(
    record, browser_factory, pool, settings
):
    b = await _browser(browser_factory, pool, settings, record.people["org"])
    text = await _export(b, record.slug, format="csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CsvWriter.HEADER
    body = [dict(zip(CsvWriter.HEADER, r, strict=True)) for r in rows[1:]]
    p = record.posts
    expected = [p["p1"], p["p2"], p["p3"], p["p4"], p["p6"], p["roads"], p["later"]]
    assert [int(r["post_id"]) for r in body] == expected  # no pending post; programme order
    assert [r["seq"] for r in body[:5]] == ["1", "2", "3", "4", "6"]
    by_id = {int(r["post_id"]): r for r in body}
    first = by_id[p["p1"]]
    created = await pool.fetchval("SELECT created_at FROM posts WHERE id = $1", p["p1"])
    local = created.astimezone(ZoneInfo(TZ))
    assert first["time_local"] == local.strftime("%Y-%m-%d %H:%M:%S %Z")
    assert first["time_local"].endswith(("EST", "EDT"))
    assert first["time_utc"] == created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert first["conference"] == f"Conference {record.slug}"
    assert first["session"] == "Opening discussion"
    assert first["thread"] == "Budgets & priorities"
    assert (
        first["author_name"],
        first["author_title"],
        first["author_organisation"],
        first["author_role"],
    ) == ("Alice Adams", "Cllr", "Northshire County Council", "participant")
    assert first["status"] == "visible" and first["text"] == "Opening point about budgets"
    assert by_id[p["p2"]]["reply_to_seq"] == "1" and first["reply_to_seq"] == ""
    assert by_id[p["p6"]]["reply_to_seq"] == "2"
    assert by_id[p["p3"]]["status"] == "hidden"
    assert by_id[p["p3"]]["text"] == f"[removed by a facilitator: {HIDDEN_REASON}]"
    assert by_id[p["p4"]]["status"] == "deleted"
    assert by_id[p["p4"]]["text"] == "[deleted by its author]"
    assert by_id[p["later"]]["session"] == "Later discussion"
    assert HIDDEN_TEXT not in text and PENDING_TEXT not in text


async def test_json_transcript_validates_against_the_schema(
    record, browser_factory, pool, settings
):
    b = await _browser(browser_factory, pool, settings, record.people["org"])
    doc = json.loads(await _export(b, record.slug, format="json"))
    _validate(doc)
    assert doc["format"] == "confer-transcript" and doc["version"] == 1
    assert doc["include_hidden"] is False and "moderation_log" not in doc
    assert doc["conference"]["slug"] == record.slug and doc["conference"]["timezone"] == TZ
    assert [s["title"] for s in doc["sessions"]] == [
        "Opening discussion",
        "Ask the panel",
        "Later discussion",
    ]
    opening = doc["sessions"][0]
    assert [t["title"] for t in opening["threads"]] == ["Budgets & priorities", "Roads and bridges"]
    budget = opening["threads"][0]
    assert budget["summary"] == "We agreed to pool procurement."
    assert [p["seq"] for p in budget["posts"]] == [1, 2, 3, 4, 6]
    by_seq = {p["seq"]: p for p in budget["posts"]}
    assert by_seq[2]["reply_to_seq"] == 1 and by_seq[6]["reply_to_seq"] == 2
    assert by_seq[1]["author"] == {
        "name": "Alice Adams",
        "title": "Cllr",
        "organisation": "Northshire County Council",
        "role": "participant",
    }
    assert by_seq[3]["status"] == "hidden" and by_seq[3]["note"] is None
    assert by_seq[3]["text"] == f"[removed by a facilitator: {HIDDEN_REASON}]"
    assert by_seq[4]["text"] == "[deleted by its author]"
    panel = doc["sessions"][1]
    assert panel["kind"] == "panel" and panel["threads"] == []
    questions = {q["text"]: q for q in panel["questions"]}
    libraries = questions["How do you fund libraries?"]
    assert libraries["status"] == "answered" and libraries["votes"] == 2
    assert libraries["author"] == "Alice Adams"
    assert [(a["speaker"], a["text"]) for a in libraries["answers"]] == [
        ("Cllr Jane Smith", "Through a shared services model.")
    ]
    film = questions["What is your favourite film?"]
    assert film["status"] == "dismissed" and film["dismiss_reason"] == "Off topic"
    assert film["votes"] == 1 and film["answers"] == []
    assert [q["votes"] for q in panel["questions"]] == [2, 1]
    later = doc["sessions"][2]
    assert later["questions"] == [] and later["threads"][0]["title"] == "Planning for next year"
    raw = json.dumps(doc)
    assert HIDDEN_TEXT not in raw and PENDING_TEXT not in raw


async def test_a_thread_or_a_session_alone(record, browser_factory, pool, settings):
    b = await _browser(browser_factory, pool, settings, record.people["org"])
    doc = json.loads(await _export(b, record.slug, format="json", thread_id=record.thread_roads))
    _validate(doc)
    assert [s["title"] for s in doc["sessions"]] == ["Opening discussion"]
    assert [t["title"] for t in doc["sessions"][0]["threads"]] == ["Roads and bridges"]
    doc = json.loads(await _export(b, record.slug, format="json", session_id=record.panel["id"]))
    _validate(doc)
    assert [s["title"] for s in doc["sessions"]] == ["Ask the panel"]
    assert len(doc["sessions"][0]["questions"]) == 2


# --- 2. hidden posts and the moderation log ---------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json"])
async def test_hidden_posts_only_when_an_organiser_asks(
    record, browser_factory, fmt, pool, settings
):
    b = await _browser(browser_factory, pool, settings, record.people["org"])
    plain = await _export(b, record.slug, format=fmt)
    assert HIDDEN_TEXT not in plain and "Xyzzy" not in plain
    assert "Appendix: moderation log" not in plain and "moderation_log" not in plain
    full = await _export(b, record.slug, format=fmt, include_hidden="on", moderation_log="on")
    assert HIDDEN_TEXT in full
    assert PENDING_TEXT not in full
    if fmt == "json":
        doc = json.loads(full)
        _validate(doc)
        assert doc["include_hidden"] is True
        hidden = doc["sessions"][0]["threads"][0]["posts"][2]
        assert hidden["text"] == HIDDEN_TEXT
        assert hidden["note"] == f"hidden by a facilitator: {HIDDEN_REASON}"
        log = doc["moderation_log"]
        assert {(r["action"], r["reason"]) for r in log} >= {
            ("post.hide", HIDDEN_REASON),
            ("question.dismiss", "Off topic"),
        }
        assert all(r["actor"] == "Olive Organiser" for r in log)
    elif fmt == "csv":
        row = next(r for r in csv.reader(io.StringIO(full)) if r[-1] == HIDDEN_TEXT)
        assert row[12] == "hidden"
    else:
        assert f"hidden by a facilitator: {HIDDEN_REASON}" in full
        assert "Appendix: moderation log" in full
        appendix = full[full.index("Appendix: moderation log") :]
        assert "post.hide" in appendix and HIDDEN_REASON in appendix
        assert "question.dismiss" in appendix and "Off topic" in appendix


# --- 3. CSV formula injection -----------------------------------------------------------


async def test_csv_cells_that_would_be_formulas_are_defused(world, browser_factory, pool, settings):
    c = await world.conference()
    s = await world.session(c, title="=cmd|' /C calc'!A0")
    org = await _user(pool, name="Olive Organiser")
    evil = await _user(pool, name="@SUM(A1)", organisation="+44 Council", title="-Cllr")
    await world.member(c, org, "organiser")
    await world.member(c, evil, "participant")
    t = await world.thread(s, evil, title='=HYPERLINK("http://evil.example","x")', posts=0)
    bodies = ["+1+1", "-2", "@SUM(A1)", "=1+2", "\tpadded", "plain text", "a=b"]
    for body in bodies:
        await insert_post(pool, t["id"], evil["id"], None, body, f"<p>{body}</p>", None)
    b = await _browser(browser_factory, pool, settings, org)
    text = await _export(b, c["slug"], format="csv")
    rows = [dict(zip(CsvWriter.HEADER, r, strict=True)) for r in csv.reader(io.StringIO(text))]
    rows = rows[1:]
    assert [r["text"] for r in rows] == [
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
        "'=1+2",
        "'\tpadded",
        "plain text",
        "a=b",
    ]
    for r in rows:
        assert r["thread"] == '\'=HYPERLINK("http://evil.example","x")'
        assert r["session"] == "'=cmd|' /C calc'!A0"
        assert r["author_name"] == "'@SUM(A1)"
        assert r["author_organisation"] == "'+44 Council"
        assert r["author_title"] == "'-Cllr"
        for cell in r.values():
            assert not cell or cell[0] not in "=+-@\t\r", cell


# --- 4. permissions ---------------------------------------------------------------------


async def test_who_may_export_what(record, world, browser_factory, pool, settings):
    slug = record.slug
    sa, sb = record.session_a["id"], record.session_b["id"]
    audits = "SELECT count(*) FROM audit_log WHERE action = 'transcript.export'"

    participant = await _browser(browser_factory, pool, settings, record.people["alice"])
    for api in (False, True):
        status, text, _ = await _download(participant, slug, {"format": "md"}, api=api)
        assert status == 403, text[:500]
        assert "Opening point" not in text

    fac = await _browser(browser_factory, pool, settings, record.people["fac"])
    for api in (False, True):
        status, text, _ = await _download(fac, slug, {"format": "md", "session_id": sa}, api=api)
        assert status == 403, text[:500]
        assert "not allowed facilitators" in text
    assert await pool.fetchval(audits) == 0  # refusals are not exports

    await pool.execute(
        "UPDATE conferences SET facilitators_may_export = true WHERE id = $1",
        record.conference["id"],
    )
    for api in (False, True):
        status, text, _ = await _download(fac, slug, {"format": "md", "session_id": sa}, api=api)
        assert status == 200, text[:500]
        assert "## Opening discussion" in text and "## Later discussion" not in text
        status, text, _ = await _download(
            fac, slug, {"format": "md", "thread_id": record.thread_budget}, api=api
        )
        assert status == 200 and "Budgets & priorities" in text
        status, text, _ = await _download(fac, slug, {"format": "md", "session_id": sb}, api=api)
        assert status == 403, text[:500]
        status, text, _ = await _download(
            fac, slug, {"format": "md", "thread_id": record.thread_later}, api=api
        )
        assert status == 403, text[:500]
        status, text, _ = await _download(
            fac, slug, {"format": "md", "session_id": sa, "include_hidden": "on"}, api=api
        )
        assert status == 403 and HIDDEN_TEXT not in text
        status, text, _ = await _download(
            fac, slug, {"format": "md", "session_id": sa, "moderation_log": "on"}, api=api
        )
        assert status == 403
        status, text, _ = await _download(fac, slug, {"format": "md"}, api=api)
        assert status == 422, text[:500]
        assert "Choose one of the sessions you facilitate" in text
    status, body = await fac.api("POST", f"/api/v1/conferences/{slug}/exports", {"format": "md"})
    assert status == 422 and "session_id" in body["error"]["fields"]
    assert await pool.fetchval(audits) == 4  # session A and its thread, by form and by API

    org = await _browser(browser_factory, pool, settings, record.people["org"])
    for api in (False, True):
        status, text, _ = await _download(
            org,
            slug,
            {"format": "md", "include_hidden": "on", "moderation_log": "on"},
            api=api,
        )
        assert status == 200 and HIDDEN_TEXT in text and "## Later discussion" in text
        for data in ({"session_id": sb}, {"thread_id": record.thread_later}):
            status, text, _ = await _download(org, slug, {"format": "csv", **data}, api=api)
            assert status == 200 and "Next year we meet in person" in text

    # Ids from another conference are not found, even for an organiser.
    other = await world.conference()
    other_session = await world.session(other, title="Elsewhere")
    other_thread = await world.thread(other_session, record.people["org"], title="Elsewhere")
    for api in (False, True):
        for data in ({"thread_id": other_thread["id"]}, {"session_id": other_session["id"]}):
            status, text, _ = await _download(org, slug, {"format": "md", **data}, api=api)
            assert status == 404, (data, text[:500])
        # A thread of this conference with a session it is not in.
        status, _, _ = await _download(
            org,
            slug,
            {"format": "md", "session_id": sb, "thread_id": record.thread_budget},
            api=api,
        )
        assert status == 404
    status, body = await org.api("POST", f"/api/v1/conferences/{slug}/exports", {"format": "pdf"})
    assert status == 400 and "format" in body["error"]["fields"]  # outside the enum


# --- 5. the audit trail ------------------------------------------------------------------


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "XDG_RUNTIME_DIR")}
    env["DATABASE_URL"] = database_url
    return env


async def _confer(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "confer", *args],
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_every_export_writes_an_audit_row(
    record, browser_factory, pool, database_url, settings
):
    org = record.people["org"]
    b = await _browser(browser_factory, pool, settings, org)
    await _export(b, record.slug, format="csv", session_id=record.session_a["id"])
    status, _, _ = await _download(
        b, record.slug, {"format": "json", "include_hidden": True}, api=True
    )
    assert status == 200
    rows = await pool.fetch(
        "SELECT actor_id, actor_label, conference_id, action, details FROM audit_log ORDER BY id"
    )
    assert [(r["actor_id"], r["action"], r["conference_id"]) for r in rows] == [
        (org["id"], "transcript.export", record.conference["id"]),
        (org["id"], "transcript.export", record.conference["id"]),
    ]
    first, second = (json.loads(r["details"]) for r in rows)
    assert first["format"] == "csv" and first["session_id"] == record.session_a["id"]
    assert first["include_hidden"] is False
    assert second["format"] == "json" and second["include_hidden"] is True

    out = await _confer(database_url, "export", record.slug, "--format", "md")
    assert out.returncode == 0, out.stderr
    assert "## Opening discussion" in out.stdout and HIDDEN_TEXT not in out.stdout
    row = await pool.fetchrow("SELECT * FROM audit_log ORDER BY id DESC LIMIT 1")
    assert row["actor_id"] is None and row["actor_label"] == "command line"
    assert row["action"] == "transcript.export"
    assert json.loads(row["details"])["format"] == "md"
    assert row["conference_id"] == record.conference["id"]


# --- 6. the command line ----------------------------------------------------------------


async def test_cli_export_writes_a_schema_valid_file(record, database_url, tmp_path, pool):
    target = tmp_path / "transcript.json"
    out = await _confer(
        database_url,
        "export",
        record.slug,
        "--format",
        "json",
        "-o",
        str(target),
        "--include-hidden",
        "--moderation-log",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(target.read_text(encoding="utf-8"))
    _validate(doc)
    assert [s["title"] for s in doc["sessions"]] == [
        "Opening discussion",
        "Ask the panel",
        "Later discussion",
    ]
    assert doc["include_hidden"] is True and doc["moderation_log"]
    assert "Wrote 7 posts" in out.stderr

    out = await _confer(
        database_url,
        "export",
        record.slug,
        "--session",
        str(record.session_b["id"]),
        "--format",
        "csv",
    )
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert len(rows) == 2 and rows[1][-1] == "Next year we meet in person"

    missing = tmp_path / "missing.json"
    out = await _confer(
        database_url, "export", "no-such-conference", "--format", "json", "-o", str(missing)
    )
    assert out.returncode != 0
    assert out.stderr.strip() and "Traceback" not in out.stderr
    assert not missing.exists()
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 2  # the two exports


# --- 7. streaming a long thread ---------------------------------------------------------


async def test_a_two_thousand_post_thread_streams_in_order(world, browser_factory, pool, settings):
    c = await world.conference()
    s = await world.session(c, title="Marathon")
    org = await _user(pool, name="Olive Organiser")
    await world.member(c, org, "organiser")
    t = await world.thread(s, org, title="The long one", posts=0)
    await pool.execute(
        """
        WITH t AS (
            UPDATE threads SET last_seq = last_seq + 2000, post_count = post_count + 2000,
                               last_post_at = now()
            WHERE id = $1 RETURNING id, conference_id, last_seq - 2000 AS base
        )
        INSERT INTO posts (thread_id, conference_id, seq, author_id, body_md, body_html,
                           created_at)
        SELECT t.id, t.conference_id, t.base + g, $2, 'Bulk post ' || g,
               '<p>Bulk post ' || g || '</p>', now() - interval '1 hour' + g * interval '1 ms'
        FROM t, generate_series(1, 2000) AS g
        """,
        t["id"],
        org["id"],
    )
    assert await pool.fetchval("SELECT last_seq FROM threads WHERE id = $1", t["id"]) == 2000
    b = await _browser(browser_factory, pool, settings, org)
    status, text, headers = await _download(
        b, c["slug"], {"format": "json", "thread_id": t["id"]}, api=True
    )
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    # Written to a temporary file (1 MiB in memory at most, the rest on disk) and then sent:
    # memory stays flat and no database connection waits on the client (issue 18).
    assert int(headers["Content-Length"]) == len(text.encode())
    doc = json.loads(text)
    _validate(doc)
    got = doc["sessions"][0]["threads"][0]["posts"]
    assert [p["seq"] for p in got] == list(range(1, 2001))
    assert [p["text"] for p in got] == [f"Bulk post {i}" for i in range(1, 2001)]
    times = [datetime.fromisoformat(p["created_at"]) for p in got]
    assert times == sorted(times)


def test_the_markdown_moderation_table_survives_a_pipe_in_a_name_and_a_line_break_in_a_reason():
    """Issue #22: `|` in a name or a line break in a reason must not break the table."""
    from datetime import UTC, datetime

    from markdown_it import MarkdownIt

    from confer.exports.writers import MarkdownWriter

    conference = {
        "title": "C", "timezone": "Europe/London", "language": "en", "bilingual": False,
        "translations": {}, "slug": "c",
    }  # fmt: skip
    writer = MarkdownWriter(conference, include_hidden=True)
    row = {
        "created_at": datetime(2027, 3, 23, 10, tzinfo=UTC),
        "actor_name": "Sam | Smith",
        "action": "post.hide",
        "target_type": "post",
        "target_id": 7,
        "reason": "Off topic\n| Name | not a row |\r\nsecond line",
    }
    md = writer.appendix([row])
    html = MarkdownIt("commonmark").enable("table").render(md)
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    assert body.count("<tr>") == 1 and body.count("<td>") == 4, md
    cells = [c.split("</td>")[0] for c in body.split("<td>")[1:]]
    assert cells[1] == "Sam | Smith"
    assert cells[3] == "Off topic | Name | not a row | second line"
