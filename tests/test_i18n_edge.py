"""Cymraeg at the HTTP edge: validation, the JSON API's errors, rate limits, the CSRF refusal,
emailed links in the account's language, the account's language setting and registration.

A real server on 127.0.0.1, real PostgreSQL, a real SMTP server for the emails."""

from __future__ import annotations

import re
from typing import Any

import pytest
from yarl import URL

from confer import i18n
from confer.accounts import service as accounts
from confer.policy import Actor
from confer.validate import Fields
from tests.conftest import PASSWORD


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url, mail_poll_seconds=0.5, rate_limits="post=1/60")


def in_welsh(browser: Any) -> Any:
    """The reader chose Cymraeg with the switch (its cookie)."""
    browser.session.cookie_jar.update_cookies({i18n.COOKIE: "cy"}, URL(browser.url("/")))
    return browser


def text_of(message: Any) -> str:
    return message.get_body(("plain",)).get_content()


async def _token(pool, user: dict) -> str:
    token, _ = await accounts.create_api_token(
        pool, Actor(user_id=user["id"], name=user["name"]), "t"
    )
    return token


async def _set_language(pool, user: dict, code: str | None) -> None:
    await pool.execute("UPDATE users SET language = $2 WHERE id = $1", user["id"], code)


def test_validation_messages_are_whole_sentences_in_the_current_language():
    f = Fields()
    with i18n.using("cy"):
        f.text("title", "x" * 201, required="Enter title", too_long="Title must be %(max)s "
               "characters or fewer", max_len=200)  # fmt: skip
        f.text("name", "", required="Enter display name", too_long="x")
        f.text("bio", "a\x00b", required=None, too_long="x")
        f.email("email", "not an address")
    assert f.errors == {
        "title": "Rhaid i’r teitl fod yn 200 nod neu lai",
        "name": "Rhowch enw arddangos",
        "bio": "Tynnwch y nod NUL",
        "email": "Rhowch gyfeiriad e-bost yn y fformat cywir, fel enw@enghraifft.org",
    }
    g = Fields()
    g.text("body", "x" * 20_001, required="Enter your post",
           too_long="Your post must be %(max)s characters or fewer", max_len=20_000)  # fmt: skip
    assert g.errors == {"body": "Your post must be 20,000 characters or fewer"}


async def test_a_form_error_page_in_welsh_names_the_field_and_keeps_what_was_typed(
    browser_factory,
):
    b = in_welsh(await browser_factory())
    r, text = await b.post(
        "/register",
        {"email": "eirlys@example.org", "name": "", "organisation": "Cyngor Gwynedd",
         "password": PASSWORD},
    )  # fmt: skip
    assert r.status == 422, text[:2000]
    assert '<html lang="cy"' in text
    assert "<title>Gwall: Creu cyfrif" in text
    assert "Mae problem wedi codi" in text
    assert '<a href="#name">Rhowch enw arddangos</a>' in text
    assert '<span class="govuk-visually-hidden">Gwall:</span> Rhowch enw arddangos' in text
    assert 'value="eirlys@example.org"' in text and 'value="Cyngor Gwynedd"' in text
    assert "Enter display name" not in text and "There is a problem" not in text


async def test_the_api_answers_in_the_language_of_the_tokens_account(world, browser_factory, pool):
    c = await world.conference()
    s = await world.session(c)
    u = await world.user("Gwen Hughes")
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    await _set_language(pool, u, "cy")
    token = await _token(pool, u)
    b = await browser_factory()
    status, body = await b.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "   "}, token=token
    )
    assert status == 422, body
    assert body["error"]["code"] == "invalid"
    assert body["error"]["message"] == "Mae angen cywiro rhai meysydd"
    assert body["error"]["fields"] == {"body": "Rhowch eich neges"}
    # The same request from an English account is in English.
    v = await world.user("Pat Example")
    await world.member(c, v, "participant")
    status, body = await b.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": ""}, token=await _token(pool, v)
    )
    assert status == 422 and body["error"]["fields"] == {"body": "Enter your post"}


async def test_a_rate_limit_speaks_welsh(world, browser_factory, pool):
    c = await world.conference()
    s = await world.session(c)
    u = await world.user("Dafydd Rees")
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    await _set_language(pool, u, "cy")
    token = await _token(pool, u)
    b = await browser_factory()
    path = f"/api/v1/threads/{t['id']}/posts"
    status, body = await b.api("POST", path, {"body": "Bore da"}, token=token)
    assert status == 201, body
    status, body = await b.api("POST", path, {"body": "Bore da eto"}, token=token)
    assert status == 429, body
    message = body["error"]["message"]
    assert re.fullmatch(
        r"Rydych chi’n postio’n gyflym iawn\. Arhoswch \d+ (eiliad|munud) cyn postio eto; "
        r"mae eich testun wedi’i gadw\.",
        message,
    ), message


async def test_the_csrf_refusal_page_in_welsh(browser_factory):
    b = in_welsh(await browser_factory())
    await b.get("/login")
    r, text = await b.post("/login", {"email": "a@example.org", "password": "x"}, csrf=False)
    assert r.status == 403
    assert '<html lang="cy"' in text
    assert "Rhowch gynnig arall arni" in text
    assert "Mae’r ffurflen hon wedi dod i ben neu cafodd ei hanfon o safle arall." in text
    assert "This form has expired" not in text


async def test_password_reset_email_is_in_the_accounts_language(
    world, browser_factory, mailbox, pool
):
    welsh = await world.user("Siân Jones")
    await _set_language(pool, welsh, "cy")
    b = await browser_factory()  # asked from an English page: the account's language wins
    r, text = await b.post("/account/reset", {"email": welsh["email"]})
    assert r.status == 200 and "Check your email" in text
    [message] = await mailbox.wait_for(welsh["email"])
    assert message["Subject"] == "Ailosod eich cyfrinair Confer"
    body = text_of(message)
    assert body.startswith("Helo Siân Jones,")
    assert f"Cawsom gais i ailosod y cyfrinair ar gyfer eich cyfrif Confer ({welsh['email']})" in (
        " ".join(body.split())
    )
    assert "Mae’r ddolen yn gweithio unwaith ac yn dod i ben ymhen 1 awr" in " ".join(body.split())
    assert "Gan dîm Confer" in body
    html = message.get_body(("html",)).get_content()
    assert '<html lang="cy">' in html and "Dewiswch gyfrinair newydd" in html
    assert "Hello" not in body and "reset" not in body.replace("/account/reset/", "")

    # An account with no language of its own gets the language of the page that asked.
    unset = await world.user("Alex Morgan")
    await _set_language(pool, unset, None)
    cy_page = in_welsh(await browser_factory())
    r, text = await cy_page.post("/account/reset", {"email": unset["email"]})
    assert r.status == 200 and "Edrychwch ar eich e-bost" in text
    [message] = await mailbox.wait_for(unset["email"])
    assert message["Subject"] == "Ailosod eich cyfrinair Confer"

    # An English account asked for from a Welsh page: English.
    english = await world.user("Sam Taylor")
    await _set_language(pool, english, "en")
    r, _ = await cy_page.post("/account/reset", {"email": english["email"]})
    [message] = await mailbox.wait_for(english["email"])
    assert message["Subject"] == "Reset your Confer password"
    assert text_of(message).startswith("Hello Sam Taylor,")


async def test_the_account_language_setting_is_saved_and_used_for_pages(
    world, browser_factory, pool
):
    u = await world.user("Rhian Evans")
    b = await browser_factory(u["email"])
    r, text = await b.get("/account")
    assert r.status == 200
    assert 'action="/account/language"' in text
    assert '<label class="govuk-label govuk-radios__label" for="language" lang="cy">Cymraeg</label>' in text  # fmt: skip
    assert 'for="language-en" lang="en-GB">English</label>' in text
    r, _ = await b.post("/account/language", {"language": "cy"})
    assert r.status == 303 and r.headers["Location"] == "/account?done=language-saved"
    assert await pool.fetchval("SELECT language FROM users WHERE id = $1", u["id"]) == "cy"

    # Another device, with no language cookie: the account's language.
    other = await browser_factory(u["email"])
    r, text = await other.get("/account?done=language-saved")
    assert '<html lang="cy"' in text
    assert '<h1 class="govuk-heading-l">Eich cyfrif</h1>' in text
    assert "Mae eich iaith wedi cael ei chadw." in text
    assert re.search(r'value="cy" checked>', text)
    # A bad choice is refused, naming the field, in the account's language.
    r, text = await other.post("/account/language", {"language": "fr"})
    assert r.status == 422
    assert '<span class="govuk-visually-hidden">Gwall:</span> Dewiswch Gymraeg neu Saesneg' in text


@pytest.mark.parametrize(("cookie", "stored"), [("cy", "cy"), (None, "en")])
async def test_registration_stores_the_pages_language(browser_factory, pool, cookie, stored):
    b = await browser_factory()
    if cookie:
        in_welsh(b)
    email = f"new-{cookie or 'en'}@example.org"
    r, text = await b.post("/register", {"email": email, "name": "Newydd", "password": PASSWORD})
    assert r.status == 303, text[:2000]
    assert await pool.fetchval("SELECT language FROM users WHERE email = $1", email) == stored


async def test_accounts_made_outside_a_page_have_no_language(world, pool):
    u = await world.user()
    assert await pool.fetchval("SELECT language FROM users WHERE id = $1", u["id"]) is None
