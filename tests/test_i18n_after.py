"""Cymraeg and English after the fact: notifications, the daily digest, transcripts and the
participation report in the reader's (or the conference's) language, through a real server,
PostgreSQL and SMTP server.

A member's emails are in their own language (users.language), else the conference's
(conferences.language), else English; a transcript is in the conference's language, or in
either language of a bilingual conference, with its titles in that language."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel import Locale

from confer.notifications import digest
from confer.threads import queries as threads_q
from tests.conftest import World, insert_post

TZ = "Europe/London"
WELSH = Locale.parse("cy")


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url)


def plain(message: Any) -> str:
    """The text part on one line (the layout wraps it at 72 characters)."""
    return " ".join(message.get_body(("plain",)).get_content().split())


def welsh_day(d: date) -> str:
    """CLDR's Welsh name of the day and month, as Babel has them: 'Dydd Iau 3 Rhagfyr'."""
    weekday = WELSH.days["format"]["wide"][d.weekday()]
    month = WELSH.months["format"]["wide"][d.month]
    return f"{weekday} {d.day} {month}"


async def _language(pool, user: dict, code: str | None) -> None:
    await pool.execute("UPDATE users SET language = $2 WHERE id = $1", user["id"], code)


async def _conference_language(
    pool, c: dict, code: str, *, bilingual: bool = False, welsh: dict | None = None
) -> None:
    await pool.execute(
        "UPDATE conferences SET language = $2, bilingual = $3, translations = $4 WHERE id = $1",
        c["id"],
        code,
        bilingual,
        {"cy": welsh} if welsh else {},
    )


# --- the daily digest ----------------------------------------------------------------------


def _local(d: date, hm: str) -> datetime:
    h, m = map(int, hm.split(":"))
    return datetime(d.year, d.month, d.day, h, m, tzinfo=ZoneInfo(TZ))


async def test_the_digest_is_written_in_each_members_language(
    world, server, mailbox, pool, settings
):
    """One batch, three readers of a Welsh conference: Alice chose Welsh, Bob English, and
    Carol chose nothing (so the conference's language, Welsh). Their digests say the same
    things, each in its reader's language, with CLDR's Welsh names of days and months."""
    today = await pool.fetchval("SELECT (now() AT TIME ZONE $1)::date", TZ)
    day = today - timedelta(days=1)
    c = dict(
        await pool.fetchrow(
            """
            INSERT INTO conferences (slug, title, timezone, starts_at, ends_at, published_at,
                                     language)
            VALUES ('cynghorau', 'Cynghorau ar-lein', $1, $2, $3, now(), 'cy')
            RETURNING id, slug
            """,
            TZ,
            _local(day - timedelta(days=1), "09:00"),
            _local(today + timedelta(days=3), "17:00"),
        )
    )
    cafe = await pool.fetchval(
        "INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at) "
        "VALUES ($1, 'discussion', 'Y caffi', $2, $3) RETURNING id",
        c["id"],
        _local(day - timedelta(days=1), "09:00"),
        _local(today + timedelta(days=3), "17:00"),
    )
    await pool.execute(
        "INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at) "
        "VALUES ($1, 'keynote', 'Prif anerchiad y bore', $2, $3)",
        c["id"],
        _local(today, "09:30"),
        _local(today, "10:30"),
    )
    users = {}
    for key, name, language in (
        ("alice", "Alice Jones", "cy"),
        ("bob", "Bob Brown", "en"),
        ("carol", "Carol White", None),
        ("dan", "Dan Green", "en"),
    ):
        u = await world.user(name=name, email=f"{key}@example.org")
        await world.member(c, u, "participant")
        await _language(pool, u, language)
        await pool.execute(
            "UPDATE memberships SET email_notifications = 'digest' WHERE user_id = $1", u["id"]
        )
        users[key] = u
    bins = await threads_q.insert_thread(pool, c["id"], cafe, "Biniau", users["dan"]["id"])
    for key in ("alice", "bob", "carol"):
        await pool.execute(
            "INSERT INTO follows (user_id, thread_id, following) VALUES ($1, $2, true)",
            users[key]["id"],
            bins,
        )
    for hm, body in (("09:15", "Casgliadau ar ddydd Mawrth."), ("16:40", "Gwydr yn y blwch glas.")):
        post = await insert_post(pool, bins, users["dan"]["id"], None, body, body, None)
        await pool.execute("UPDATE posts SET created_at = $2 WHERE id = $1", post, _local(day, hm))

    result = await digest.run_digest(pool, settings, c["id"], day, batch_size=10)
    assert result.finished and result.emails == 4

    tomorrow = day + timedelta(days=1)
    for key in ("alice", "carol"):  # Welsh: her choice; Carol's conference's
        [message] = await mailbox.wait_for(f"{key}@example.org", 1, within=15)
        # (a long subject is folded on to the header's next line: hence strip())
        assert message["Subject"].strip() == (
            f"Cynghorau ar-lein: eich crynhoad dyddiol ar gyfer {welsh_day(day)}"
        ), message["Subject"]
        text = plain(message)
        assert (
            f"Dyma’r hyn a ddigwyddodd yn y gynhadledd Cynghorau ar-lein ({welsh_day(day)})."
            in text
        )
        assert "Negeseuon newydd yn y trafodaethau rydych chi’n eu dilyn:" in text
        assert "“Biniau”: 2 neges newydd" in text
        assert "Dan Green: Casgliadau ar ddydd Mawrth." in text
        assert f"Y rhaglen ar gyfer {welsh_day(tomorrow)} (amser y DU):" in text
        assert "Prif anerchiad y bore" in text
        for english in ("daily digest", "New posts", "new posts", "Read them", "programme"):
            assert english not in text, english
    [english] = await mailbox.wait_for("bob@example.org", 1, within=15)
    day_text = f"{day:%A} {day.day} {day:%B}"
    assert english["Subject"].strip() == f"Cynghorau ar-lein: your daily digest for {day_text}"
    assert "“Biniau”: 2 new posts" in plain(english)


# --- notifications --------------------------------------------------------------------------


@pytest.fixture
async def thread_scene(world: World, browser_factory, pool) -> dict[str, Any]:
    """An English conference: Alice reads in Welsh and wants an email for each notification;
    Bob (English) mentions her in a thread."""
    c = await world.conference()
    s = await world.session(c, open_threads=True, lasts=timedelta(hours=5))
    alice = await world.user(name="Alice Jones", email="alice@example.org")
    bob = await world.user(name="Bob Brown", email="bob@example.org")
    for u in (alice, bob):
        await world.member(c, u, "participant")
    await _language(pool, alice, "cy")
    await pool.execute(
        "UPDATE memberships SET email_notifications = 'each' WHERE user_id = $1", alice["id"]
    )
    thread = await world.thread(s, bob, title="Tyllau yn y ffordd", posts=1)
    b = await browser_factory(bob["email"])
    status, post = await b.api(
        "POST", f"/api/v1/threads/{thread['id']}/posts", {"body": "Syniadau, @Alice Jones?"}
    )
    assert status == 201, post
    return {"c": c, "alice": alice, "bob": bob, "post": post, "browser": browser_factory}


async def test_a_notification_email_is_in_its_recipients_language(thread_scene, mailbox):
    """Bob writes in English; the email to Alice is in Welsh, her language."""
    [message] = await mailbox.wait_for("alice@example.org", 1, within=15)
    assert message["Subject"].strip() == "Mae Bob Brown wedi eich crybwyll yn “Tyllau yn y ffordd”"
    text = plain(message)
    slug = thread_scene["c"]["slug"]
    assert (
        f"Mae Bob Brown wedi eich crybwyll yn “Tyllau yn y ffordd”, yn y gynhadledd "
        f"Conference {slug}:" in text
    )
    assert "Syniadau, @Alice Jones?" in text
    assert "Darllen y neges" in text
    assert (
        f"Rydych chi’n cael e-bost ar gyfer pob hysbysiad yn y gynhadledd Conference {slug}" in text
    )
    for english in ("mentioned you", "Read the post", "You get an email"):
        assert english not in text, english


async def test_the_notifications_page_and_api_speak_the_readers_language(thread_scene):
    """A notification stores its kind, not a sentence: Alice reads it in Welsh, and the same
    notification in English once she switches."""
    b = await thread_scene["browser"](thread_scene["alice"]["email"])
    r, page = await b.get("/notifications")
    assert r.status == 200
    assert '<html lang="cy"' in page
    assert '<h1 class="govuk-heading-xl">Hysbysiadau</h1>' in page
    assert "Mae Bob Brown wedi eich crybwyll yn “Tyllau yn y ffordd”" in page
    assert "Heb ei ddarllen" in page and "Marcio’r cyfan fel wedi’u darllen" in page
    assert "mentioned you" not in page and "Mark all as read" not in page
    status, data = await b.api("GET", "/api/v1/notifications")
    assert status == 200
    assert data["notifications"][0]["text"] == (
        "Mae Bob Brown wedi eich crybwyll yn “Tyllau yn y ffordd”"
    )
    _, settings_page = await b.get("/notifications/settings")
    assert "Hysbysiadau e-bost" in settings_page and "Crynhoad dyddiol" in settings_page

    r, _ = await b.post("/account/language", {"language": "en"})
    assert r.status in (200, 303)
    _, page = await b.get("/notifications")
    assert "Bob Brown mentioned you in “Tyllau yn y ffordd”" in page


# --- transcripts ----------------------------------------------------------------------------


async def _export_scene(world: World, pool) -> dict[str, Any]:
    c = await world.conference(timezone=TZ)
    s = await world.session(c, title="The café", lasts=timedelta(hours=3))
    panel = await world.session(c, kind="panel", title="Ask the panel", starts_in=timedelta(0))
    org = await world.user(name="Olive Organiser")
    alice = await world.user(name="Alice Adams")
    await world.member(c, org, "organiser")
    await world.member(c, alice, "participant")
    t = await world.thread(s, alice, title="Bins", posts=0)
    await pool.execute(
        "UPDATE threads SET summary_md = 'We agreed.', summary_html = '<p>We agreed.</p>' "
        "WHERE id = $1",
        t["id"],
    )
    first = await insert_post(pool, t["id"], alice["id"], None, "First", "<p>First</p>", None)
    await insert_post(pool, t["id"], org["id"], first, "Reply", "<p>Reply</p>", None)
    await pool.execute(
        "UPDATE posts SET status = 'hidden', hidden_reason = 'Oddi ar y pwnc' "
        "WHERE id = (SELECT id FROM posts WHERE thread_id = $1 AND seq = 2)",
        t["id"],
    )
    return {"c": c, "session": s, "panel": panel, "org": org}


async def _download(b, slug: str, data: dict[str, str]) -> tuple[int, str, Any]:
    await b.ensure_csrf()
    async with b.session.post(
        b.url(f"/c/{slug}/export"), data={**data, "csrf_token": b.csrf}, allow_redirects=False
    ) as r:
        return r.status, await r.text(), r.headers


async def test_a_welsh_conferences_transcript_is_in_welsh(world, pool, browser_factory):
    x = await _export_scene(world, pool)
    await _conference_language(pool, x["c"], "cy")
    b = await browser_factory(x["org"]["email"])  # reads in English: the export is Welsh
    status, html, _ = await _download(b, x["c"]["slug"], {"format": "html"})
    assert status == 200, html[:2000]
    assert '<html lang="cy">' in html
    starts = await pool.fetchval("SELECT starts_at FROM conferences WHERE id = $1", x["c"]["id"])
    local = starts.astimezone(ZoneInfo(TZ))
    assert WELSH.months["format"]["wide"][local.month] in html  # CLDR's Welsh month
    assert "Trafodaeth, " in html  # the session's kind
    assert "Crynodeb yr hwylusydd" in html
    assert "[wedi’i thynnu gan hwylusydd: Oddi ar y pwnc]" in html
    assert "mewn ateb i <a href=" in html
    assert "Ni ofynnwyd unrhyw gwestiynau." in html  # the panel has no questions
    for english in ("Facilitator summary", "removed by a facilitator", "in reply to", " to "):
        assert english not in html, english

    status, md, headers = await _download(
        b, x["c"]["slug"], {"format": "md", "moderation_log": "on"}
    )
    assert status == 200
    assert "> **Crynodeb yr hwylusydd**" in md and "*Trafodaeth, " in md
    assert "**#1 Alice Adams** (cyfranogwr), " in md  # her role, in Welsh
    assert "## Atodiad: log cymedroli" in md and "| Pryd | Pwy | Cam gweithredu | Rheswm |" in md
    for english in ("Appendix", "participant", "Facilitator summary", "Discussion"):
        assert english not in md, english
    assert "-transcript.md" in headers["Content-Disposition"]  # one language: no suffix


async def test_a_bilingual_conferences_transcript_in_each_language(world, pool, browser_factory):
    x = await _export_scene(world, pool)
    await _conference_language(
        pool,
        x["c"],
        "en",
        bilingual=True,
        welsh={"title": "Cynhadledd y cynghorau", "summary_md": "", "summary_html": ""},
    )
    await pool.execute(
        "UPDATE sessions SET translations = $2 WHERE id = $1",
        x["session"]["id"],
        {"cy": {"title": "Y caffi"}},
    )
    b = await browser_factory(x["org"]["email"])
    slug = x["c"]["slug"]
    _, page = await b.get(f"/c/{slug}/export")
    assert 'name="lang"' in page and '<option value="cy"' in page

    status, english, headers = await _download(b, slug, {"format": "html", "lang": "en"})
    assert status == 200
    assert '<html lang="en-GB">' in english
    assert f"<h1>Conference {slug}</h1>" in english and "<h2>The café</h2>" in english
    assert "Facilitator summary" in english and "Cynhadledd y cynghorau" not in english
    assert "-transcript-en.html" in headers["Content-Disposition"]

    status, welsh, headers = await _download(b, slug, {"format": "html", "lang": "cy"})
    assert status == 200
    assert '<html lang="cy">' in welsh
    assert "<h1>Cynhadledd y cynghorau</h1>" in welsh and "<h2>Y caffi</h2>" in welsh
    # The panel has no Welsh title: it is shown as written, marked as English.
    assert '<h2 lang="en-GB">Ask the panel</h2>' in welsh
    assert "Crynodeb yr hwylusydd" in welsh and "Facilitator summary" not in welsh
    assert "-transcript-cy.html" in headers["Content-Disposition"]

    status, data, _ = await _download(b, slug, {"format": "json", "lang": "cy"})
    doc = json.loads(data)
    assert doc["lang"] == "cy" and doc["conference"]["title"] == "Cynhadledd y cynghorau"
    assert doc["sessions"][0]["title"] == "Y caffi"

    # The default is the conference's own language.
    status, default, _ = await _download(b, slug, {"format": "md"})
    assert status == 200 and f"# Conference {slug}" in default


async def test_a_transcript_cannot_be_asked_for_in_a_language_the_conference_lacks(
    world, pool, browser_factory
):
    x = await _export_scene(world, pool)
    b = await browser_factory(x["org"]["email"])
    slug = x["c"]["slug"]
    _, page = await b.get(f"/c/{slug}/export")
    assert 'name="lang"' not in page  # one language: nothing to choose
    status, page, _ = await _download(b, slug, {"format": "html", "lang": "cy"})
    assert status == 422
    assert "This conference is written only in English" in page
    status, page, _ = await _download(b, slug, {"format": "html", "lang": "fr"})
    assert status == 422 and "Choose English or Welsh" in page


# --- the participation report ----------------------------------------------------------------


async def test_the_report_page_in_welsh(world, pool, browser_factory):
    x = await _export_scene(world, pool)
    await _language(pool, x["org"], "cy")
    b = await browser_factory(x["org"]["email"])
    r, page = await b.get(f"/c/{x['c']['slug']}/report")
    assert r.status == 200, page[:2000]
    assert '<html lang="cy"' in page
    assert '<h1 class="govuk-heading-xl">Adroddiad cyfranogiad</h1>' in page
    assert "Trefnwyr" in page and "Cyfranogwyr" in page  # role names
    assert "Negeseuon fesul diwrnod" in page  # a chart's title
    assert "Mae’r tabl ar ôl y siart yn rhoi pob gwerth." in page  # a chart's description
    first_day = await pool.fetchval(
        "SELECT (starts_at AT TIME ZONE timezone)::date FROM conferences WHERE id = $1",
        x["c"]["id"],
    )
    assert f"{welsh_day(first_day)} {first_day.year}" in page  # CLDR's Welsh day and month
    assert "Neges: cuddio" not in page  # nothing moderated through the log here
    for english in ("Participation report", "Organisers", "Posts per day", "gives every value"):
        assert english not in page, english
