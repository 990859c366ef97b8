"""Bilingual conferences (issue #20): a conference's main language, and its title, summary,
code of conduct and sessions in the other language too; readers see their language, falling
back to the other one marked with its `lang`. Forms and JSON API go through the same service."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from tests.conftest import World

WELSH = {"Accept-Language": "cy"}
ENGLISH = {"Accept-Language": "en-GB"}


def _dt(days: int = 0, hours: int = 0) -> str:
    d = datetime(2030, 6, 1, 9, 0) + timedelta(days=days, hours=hours)
    return d.strftime("%Y-%m-%dT%H:%M")


def _h1(page: str) -> str:
    m = re.search(r"<h1[^>]*>.*?</h1>", page, re.S)
    assert m, page[:2000]
    return m.group(0)


async def _bilingual_conference_by_form(b, slug: str) -> None:
    r, text = await b.post(
        "/admin/conferences",
        {
            "slug": slug,
            "title": "Councillors connected",
            "summary": "Three **days** online",
            "code_of_conduct": "Be kind",
            "timezone": "Europe/London",
            "starts_at": _dt(0),
            "ends_at": _dt(3),
            "visibility": "public",
            "language": "en",
            "bilingual": "on",
            "translation_title": "Cynghorwyr mewn cysylltiad",
            "translation_summary": "Tri **diwrnod** ar-lein<script>alert(1)</script>",
            "translation_code_of_conduct": "Byddwch yn garedig",
        },
    )
    assert r.status == 303, text[:3000]


async def test_organiser_makes_a_bilingual_conference_through_the_forms_and_readers_see_theirs(
    world: World, browser_factory, pool
):
    admin = await world.user(admin=True)
    b = await browser_factory(admin["email"])
    await _bilingual_conference_by_form(b, "bilingual-form")
    row = await pool.fetchrow(
        "SELECT language, bilingual, translations FROM conferences WHERE slug = 'bilingual-form'"
    )
    assert row["language"] == "en" and row["bilingual"] is True
    cy = row["translations"]["cy"]
    assert cy["title"] == "Cynghorwyr mewn cysylltiad"
    assert cy["summary_md"].startswith("Tri **diwrnod**")
    # Rendered and sanitised as the main summary is.
    assert "<strong>diwrnod</strong>" in cy["summary_html"] and "<script" not in cy["summary_html"]
    assert cy["code_of_conduct_html"].strip() == "<p>Byddwch yn garedig</p>"

    # Two sessions through the manage page's add form: one with its description in Welsh, one
    # whose Welsh description is missing.
    for title, title_cy, desc, desc_cy, hour in (
        ("Opening keynote", "Prif anerchiad agoriadol", "Welcome to all", "Croeso i bawb", 0),
        ("Getting started", "Dechrau arni", "First steps and training", "", 2),
    ):
        r, text = await b.post(
            "/c/bilingual-form/manage/sessions",
            {
                "session_kind": "discussion",
                "session_title": title,
                "session_description": desc,
                "session_translation_title": title_cy,
                "session_translation_description": desc_cy,
                "session_starts_at": _dt(0, hour),
                "session_ends_at": _dt(0, hour + 1),
            },
        )
        assert r.status == 303, text[:3000]
    r, _ = await b.post("/c/bilingual-form/manage/publish", {"published": "yes"})
    assert r.status == 303

    reader = await browser_factory()
    _, page = await reader.get("/c/bilingual-form", headers=WELSH)
    assert '<html lang="cy"' in page
    assert "Cynghorwyr mewn cysylltiad" in _h1(page) and "lang=" not in _h1(page)
    assert "<strong>diwrnod</strong>" in page and "Three <strong>days</strong>" not in page
    _, page = await reader.get("/c/bilingual-form/programme", headers=WELSH)
    assert "Prif anerchiad agoriadol" in page and "Dechrau arni" in page
    assert "Opening keynote" not in page and "Getting started" not in page
    assert "<p>Croeso i bawb</p>" in page and "Welcome to all" not in page
    # The missing Welsh description: the English one, marked as English.
    assert re.search(r'<div[^>]*lang="en-GB"[^>]*>\s*<p>First steps and training</p>', page)

    _, page = await reader.get("/c/bilingual-form", headers=ENGLISH)
    assert '<html lang="en-GB"' in page
    assert "Councillors connected" in _h1(page) and "Cynghorwyr" not in page
    _, page = await reader.get("/c/bilingual-form/programme", headers=ENGLISH)
    assert "Opening keynote" in page and "Getting started" in page
    assert "Prif anerchiad" not in page and "Croeso i bawb" not in page

    # The settings form shows the texts as written, whatever the reader's language.
    _, page = await b.get("/c/bilingual-form/manage", headers=WELSH)
    assert 'value="Councillors connected"' in page
    assert 'value="Cynghorwyr mewn cysylltiad"' in page
    session_id = await pool.fetchval("SELECT id FROM sessions WHERE title = 'Opening keynote'")
    _, page = await b.get(f"/c/bilingual-form/manage/sessions/{session_id}", headers=WELSH)
    assert 'value="Opening keynote"' in page and 'value="Prif anerchiad agoriadol"' in page
    assert "Teitl y sesiwn yn Gymraeg" in page  # the form in Welsh


async def test_the_welsh_title_is_checked_like_the_main_one_and_the_text_kept(
    world: World, browser_factory, pool
):
    admin = await world.user(admin=True)
    b = await browser_factory(admin["email"])
    long_title = " ".join(["Cynhadledd"] * 20)  # 219 characters
    form = {
        "slug": "too-long-cy",
        "title": "Kept English title",
        "timezone": "Europe/London",
        "starts_at": _dt(0),
        "ends_at": _dt(3),
        "language": "en",
        "bilingual": "on",
        "translation_title": long_title,
        "translation_summary": "Crynodeb a gedwir",
    }
    r, text = await b.post("/admin/conferences", form)
    assert r.status == 422
    assert 'href="#translation_title"' in text
    assert "The title in Welsh must be 200 characters or fewer" in text
    assert f'value="{long_title}"' in text and "Crynodeb a gedwir" in text
    assert 'value="Kept English title"' in text
    # A bilingual conference needs its title in the other language; in Welsh, so says Confer.
    await b.get("/language/cy?next=/")
    r, text = await b.post("/admin/conferences", {**form, "translation_title": ""})
    assert r.status == 422 and "Rhowch y teitl yn Gymraeg" in text
    assert await pool.fetchval("SELECT count(*) FROM conferences") == 0


async def test_bilingual_conference_and_sessions_through_the_json_api(
    world: World, browser_factory, pool
):
    admin = await world.user(admin=True)
    b = await browser_factory(admin["email"])
    status, body = await b.api(
        "POST",
        "/api/v1/conferences",
        {
            "slug": "bilingual-api",
            "title": "Cynghorwyr mewn cysylltiad",
            "summary": "Tri diwrnod",
            "timezone": "Europe/London",
            "starts_at": _dt(0),
            "ends_at": _dt(3),
            "language": "cy",
            "bilingual": True,
            "translations": {"en": {"title": "Councillors connected", "summary": "*Three* days"}},
        },
    )
    assert status == 201, body
    assert (body["language"], body["bilingual"], body["title"]) == (
        "cy",
        True,
        "Cynghorwyr mewn cysylltiad",
    )
    assert body["translations"]["en"]["title"] == "Councillors connected"
    assert "<em>Three</em>" in body["translations"]["en"]["summary_html"]

    # Translations in the main language are refused, naming the field.
    status, err = await b.api(
        "POST",
        "/api/v1/conferences/bilingual-api/sessions",
        {
            "kind": "discussion",
            "title": "Dechrau arni",
            "starts_at": _dt(1),
            "ends_at": _dt(1, 1),
            "translations": {"cy": {"title": "Dechrau arni"}},
        },
    )
    assert status == 422 and "translations" in err["error"]["fields"]
    status, session = await b.api(
        "POST",
        "/api/v1/conferences/bilingual-api/sessions",
        {
            "kind": "discussion",
            "title": "Dechrau arni",
            "description": "Camau cyntaf",
            "starts_at": _dt(1),
            "ends_at": _dt(1, 1),
            "translations": {"en": {"title": "Getting started"}},
        },
    )
    assert status == 201, session
    assert session["title"] == "Dechrau arni"
    assert session["translations"] == {"en": {"title": "Getting started"}}
    status, session = await b.api(
        "PUT",
        f"/api/v1/sessions/{session['id']}",
        {
            "kind": "discussion",
            "title": "Dechrau arni",
            "starts_at": _dt(1),
            "ends_at": _dt(1, 1),
            "translations": {"en": {"title": "How to start", "description": "First steps"}},
        },
    )
    assert status == 200, session
    assert session["translations"]["en"]["title"] == "How to start"
    assert "<p>First steps</p>" in session["translations"]["en"]["description_html"]

    # The same checks as the form: the title in English is required for a bilingual one.
    update = {
        "title": "Cynghorwyr mewn cysylltiad",
        "timezone": "Europe/London",
        "starts_at": _dt(0),
        "ends_at": _dt(3),
        "language": "cy",
        "bilingual": True,
        "translations": {"en": {"summary": "No title"}},
    }
    status, err = await b.api("PUT", "/api/v1/conferences/bilingual-api", update)
    assert status == 422
    assert err["error"]["fields"] == {"translation_title": "Enter the title in English"}
    update["translations"] = {"en": {"title": "Councillors connected, again"}}
    status, body = await b.api("PUT", "/api/v1/conferences/bilingual-api", update)
    assert status == 200 and body["translations"]["en"]["title"] == "Councillors connected, again"

    status, body = await b.api("GET", "/api/v1/conferences/bilingual-api", headers=ENGLISH)
    assert body["title"] == "Cynghorwyr mewn cysylltiad"  # as written; the other in translations
    assert [s["translations"]["en"]["title"] for s in body["sessions"]] == ["How to start"]

    # Read in English: the English title and session title, marked with nothing.
    await b.post("/c/bilingual-api/manage/publish", {"published": "yes"})
    reader = await browser_factory()
    _, page = await reader.get("/c/bilingual-api/programme", headers=ENGLISH)
    assert "Councillors connected, again" in page and "How to start" in page
    assert "Dechrau arni" not in page


async def test_a_welsh_conference_on_an_english_page_is_marked_welsh(world: World, browser_factory):
    admin = await world.user(admin=True)
    b = await browser_factory(admin["email"])
    r, text = await b.post(
        "/admin/conferences",
        {
            "slug": "cynhadledd",
            "title": "Cynhadledd y cynghorau",
            "summary": "Croeso i bawb",
            "timezone": "Europe/London",
            "starts_at": _dt(0),
            "ends_at": _dt(3),
            "language": "cy",
        },
    )
    assert r.status == 303, text[:3000]
    await b.post("/c/cynhadledd/manage/publish", {"published": "yes"})
    reader = await browser_factory()
    _, page = await reader.get("/c/cynhadledd", headers=ENGLISH)
    assert '<html lang="en-GB"' in page
    assert re.search(r'<h1[^>]*lang="cy"[^>]*>Cynhadledd y cynghorau</h1>', page)
    assert re.search(r'<a [^>]*lang="cy">Cynhadledd y cynghorau</a>', page)  # the header
    assert re.search(r'<div class="confer-prose" lang="cy"><p>Croeso i bawb</p>', page)
    # On a Welsh page the same texts need no mark.
    _, page = await reader.get("/c/cynhadledd", headers=WELSH)
    assert 'lang="cy">Cynhadledd' not in page and "Cynhadledd y cynghorau" in _h1(page)


async def test_the_demo_conference_is_bilingual(pool, browser_factory):
    from confer.demo import SLUG, load_demo

    await load_demo(pool)
    reader = await browser_factory()
    _, page = await reader.get(f"/c/{SLUG}/programme", headers=WELSH)
    assert "Caffi’r gynhadledd" in page and "Conference café" not in page
    assert "Cynghorwyr mewn cysylltiad" in page
    _, page = await reader.get(f"/c/{SLUG}", headers=WELSH)
    assert "<strong>adeiladol ac yn barchus</strong>" not in page  # the code is on the join page
    assert "Cynhadledd ar-lein dros dri diwrnod" in page
