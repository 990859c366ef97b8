"""Registration, invitations, the conference's pages and panels in Welsh (issue #20): the pages
read the reader's language (cookie confer_lang), and registration emails are written in their
recipient's: the account's language where it has one, else the conference's
(conferences.language). Real server, real database; emails are read from the outbox."""

from __future__ import annotations

from typing import Any

from yarl import URL

from tests.conftest import Browser
from tests.test_panels import _panel
from tests.test_registration import make_conference


def welsh(b: Browser) -> Browser:
    """The reader chose Cymraeg (the language switch's cookie)."""
    b.session.cookie_jar.update_cookies({"confer_lang": "cy"}, URL(b.url("/")))
    return b


async def emails_to(pool, address: str) -> list[Any]:
    return await pool.fetch(
        "SELECT subject, body_text, body_html FROM outbox WHERE lower(to_address) = lower($1) "
        "ORDER BY id",
        address,
    )


def text_of(row: Any) -> str:
    """The plain-text part, its wrapped lines joined up again."""
    return " ".join(row["body_text"].split())


async def organiser_of(world, c: dict) -> dict:
    o = await world.user("Olive Organiser")
    await world.member(c, o, "organiser")
    return o


# --- pages ---------------------------------------------------------------------------------


async def test_conference_and_join_pages_in_welsh_show_status_and_buttons(
    world, pool, browser_factory
):
    c = await make_conference(world, pool, capacity=2)
    slug = c["slug"]
    pat = await world.user("Pat")
    b = welsh(await browser_factory(pat["email"]))

    r, page = await b.get(f"/c/{slug}")
    assert r.status == 200
    assert '<html lang="cy"' in page
    assert "Ymuno â’r gynhadledd hon" in page  # the button
    assert "2 le ar ôl." in page  # Welsh plural: "two" form (dau + soft mutation)
    assert "Join this conference" not in page and "places left" not in page

    r, page = await b.get(f"/c/{slug}/join")
    assert r.status == 200
    assert f"Ymuno â’r gynhadledd: Conference {slug}" in page  # the heading
    assert "Cod ymddygiad" in page and "Rwy’n derbyn y cod ymddygiad" in page
    assert ">Ymuno â’r gynhadledd" in page  # the form's button
    assert "I accept the code of conduct" not in page

    # Submitting without accepting: the error is Welsh too.
    r, page = await b.post(f"/c/{slug}/join", {})
    assert r.status == 422
    assert "Cadarnhewch eich bod yn derbyn y cod ymddygiad" in page

    r, _ = await b.post(f"/c/{slug}/join", {"accept_code_of_conduct": "on"})
    assert r.status == 303
    _, page = await b.get(r.headers["Location"])
    assert "Rydych yn gyfranogwr" in page  # the role as shown, translated
    assert "Rydych wedi ymuno â’r gynhadledd." in page
    assert "Gadael y gynhadledd hon" in page

    # Full: the next person is offered the waitlist, and once on it is told their place.
    sam = await world.user("Sam")
    await world.member(c, await world.user("Other"), "participant")
    s = welsh(await browser_factory(sam["email"]))
    _, page = await s.get(f"/c/{slug}")
    assert "Ymuno â’r rhestr aros" in page
    r, _ = await s.post(f"/c/{slug}/join", {"accept_code_of_conduct": "on"})
    assert r.status == 303
    _, page = await s.get(f"/c/{slug}")
    assert "Rydych yn rhif 1 ar y rhestr aros." in page
    assert "Gadael y rhestr aros" in page

    # The JSON API's message reads the same language.
    status, body = await s.api("GET", f"/api/v1/conferences/{slug}/registration")
    assert status == 200 and body["status"] == "waitlisted"
    assert body["message"] == "Mae’r gynhadledd yn llawn. Rydych yn rhif 1 ar y rhestr aros."

    # Without the cookie, the same pages are English, word for word as before.
    e = await browser_factory(sam["email"])
    _, page = await e.get(f"/c/{slug}")
    assert "You are number 1 on the waitlist." in page and "Leave the waitlist" in page


async def test_panel_page_in_welsh_counts_votes_with_welsh_plurals(world, pool, browser_factory):
    c, s, fac, speaker, asker = await _panel(world)
    counts = {"Un": 1, "Dau": 2, "Tri": 3, "Chwech": 6, "Deg": 10}
    for body, votes in counts.items():
        await pool.execute(
            "INSERT INTO questions (session_id, conference_id, author_id, body_md, body_html, "
            "status, vote_count) VALUES ($1, $2, $3, $4, $5, 'open', $6)",
            s["id"],
            c["id"],
            asker["id"],
            body,
            f"<p>{body}</p>",
            votes,
        )
    path = f"/c/{c['slug']}/panels/{s['id']}"
    b = welsh(await browser_factory(asker["email"]))
    r, page = await b.get(path)
    assert r.status == 200
    assert "Gofyn cwestiwn i’r panel" in page and ">Gofyn cwestiwn<" in page.replace("\n", "")
    assert "Cwestiynau" in page and "Trefnu yn ôl:" in page
    # Each count in its Welsh plural form: one, two, few, many, other.
    assert "<strong data-vote-count>1</strong> bleidlais" in page
    assert "<strong data-vote-count>2</strong> bleidlais" in page
    assert "<strong data-vote-count>3</strong> pleidlais" in page
    assert "<strong data-vote-count>6</strong> phleidlais" in page
    assert "<strong data-vote-count>10</strong> pleidlais" in page
    assert "gofynnwyd gan Sam" in page
    assert " votes" not in page and "asked by" not in page

    _, english = await (await browser_factory(asker["email"])).get(path)
    assert "<strong data-vote-count>1</strong> vote\n" in english
    assert "<strong data-vote-count>6</strong> votes" in english
    assert "asked by Sam" in english


# --- emails --------------------------------------------------------------------------------


async def test_invitation_to_an_address_without_an_account_follows_a_welsh_conference(
    world, pool, browser_factory
):
    c = await make_conference(world, pool, registration="invite")
    await pool.execute("UPDATE conferences SET language = 'cy' WHERE id = $1", c["id"])
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])  # the organiser reads English
    r, page = await ob.post(
        f"/c/{c['slug']}/invitations", {"emails": "newydd@example.cymru", "role": "speaker"}
    )
    assert r.status == 303, page

    [email] = await emails_to(pool, "newydd@example.cymru")
    assert email["subject"] == f"Rydych wedi’ch gwahodd i Conference {c['slug']}"
    text = text_of(email)
    assert (
        f"Mae Olive Organiser wedi’ch gwahodd i ymuno â’r gynhadledd Conference {c['slug']} "
        "fel siaradwr." in text
    )
    assert "Cynhelir y gynhadledd ar-lein o " in text
    assert "Derbyn y gwahoddiad" in text and "Derbyn y gwahoddiad" in email["body_html"]
    assert "Mae’r ddolen yn gweithio unwaith ac yn dod i ben ar " in text
    assert "You are invited" not in text and "invited you" not in text

    # The organiser's own page stays in their language.
    _, page = await ob.get(r.headers["Location"])
    assert "Sent invitations" in page


async def test_invitation_to_a_welsh_account_is_welsh_even_for_an_english_conference(
    world, pool, browser_factory
):
    c = await make_conference(world, pool, registration="invite")  # language 'en'
    o = await organiser_of(world, c)
    cymro = await world.user("Dafydd", email="dafydd@example.cymru")
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", cymro["id"])
    ob = await browser_factory(o["email"])
    r, page = await ob.post(
        f"/c/{c['slug']}/invitations",
        {"emails": "DAFYDD@example.cymru, jo@example.org", "role": "observer"},
    )
    assert r.status == 303, page

    [cy] = await emails_to(pool, "dafydd@example.cymru")
    assert cy["subject"] == f"Rydych wedi’ch gwahodd i Conference {c['slug']}"
    assert "fel sylwedydd (gallwch ddarllen ond nid postio)." in text_of(cy)

    # The same batch, to an address without an account: the conference's language.
    [en] = await emails_to(pool, "jo@example.org")
    assert en["subject"] == f"You are invited to Conference {c['slug']}"
    assert (
        f"Olive Organiser invited you to join Conference {c['slug']} as an observer (you can "
        "read but not post)." in text_of(en)
    )
    assert "The link works once and expires on " in text_of(en)


async def test_a_decision_is_emailed_in_the_members_language(world, pool, browser_factory):
    c = await make_conference(world, pool, registration="approval")
    # A bilingual conference: the Welsh email names it by its Welsh title.
    await pool.execute(
        "UPDATE conferences SET bilingual = true, translations = $2 WHERE id = $1",
        c["id"],
        {"cy": {"title": "Cynhadledd y Cymry"}},
    )
    o = await organiser_of(world, c)
    cymro = await world.user("Dafydd", email="dafydd@example.cymru")
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", cymro["id"])
    d = await browser_factory(cymro["email"])
    r, _ = await d.post(f"/c/{c['slug']}/join", {"accept_code_of_conduct": "on"})
    assert r.status == 303
    _, page = await d.get(f"/c/{c['slug']}")  # their account's language: Welsh
    assert "Mae eich cais yn aros am gymeradwyaeth." in page

    ob = await browser_factory(o["email"])
    r, _ = await ob.post(
        f"/c/{c['slug']}/members/{cymro['id']}/decide",
        {"decision": "approve", f"message-{cymro['id']}": "Croeso!"},
    )
    assert r.status == 303
    [email] = await emails_to(pool, "dafydd@example.cymru")
    assert email["subject"] == "Mae eich lle yn Cynhadledd y Cymry wedi’i gadarnhau"
    text = text_of(email)
    assert "Mae’r trefnwyr wedi cymeradwyo eich cais" in text
    assert "Eu neges: Croeso!" in text and "Mynd i’r gynhadledd" in text
