"""Cymraeg and English, the core (confer.i18n), against a real server: which language a page
is in (Accept-Language, then the reader's cookie, then a signed-in member's account), the
language switch that works without JavaScript, the pseudo-locale only when it is turned on,
Welsh plurals and dates."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from babel.messages.pofile import read_po
from yarl import URL

from confer import i18n, timefmt
from confer.settings import Settings
from tests.test_catalogues import LOCALE

WELSH_BROWSER = "cy-GB,cy;q=0.9,en;q=0.8"
HTML_LANG = re.compile(r'<html lang="([^"]*)"')
# The switch's link to the other language: <a ... href="/language/cy?next=..." hreflang="cy" ...>
SWITCH = re.compile(r'<a [^>]*href="([^"]*)"[^>]*hreflang="([^"]*)"[^>]*>([^<]*)</a>')


def page_lang(text: str) -> str:
    m = HTML_LANG.search(text)
    assert m, text[:500]
    return m.group(1)


def switch_link(text: str, name: str) -> tuple[str, str]:
    """The switch's link named `name` ("Cymraeg", "English"): its href and hreflang."""
    for href, hreflang, label in SWITCH.findall(text):
        if label.strip() == name:
            return html.unescape(href), hreflang
    raise AssertionError(f"no language switch link {name!r} on the page")


async def user_language(pool: Any, user: dict) -> str | None:
    return await pool.fetchval("SELECT language FROM users WHERE id = $1", user["id"])


# --- which language a page is in --------------------------------------------------------


async def test_a_page_is_english_unless_asked_otherwise(browser_factory):
    b = await browser_factory()
    r, text = await b.get("/login")
    assert r.status == 200
    assert page_lang(text) == "en-GB"
    assert ">Sign in<" in text or "Sign in</" in text
    assert switch_link(text, "Cymraeg") == ("/language/cy?next=/login", "cy")


async def test_accept_language_picks_welsh(browser_factory):
    b = await browser_factory()
    r, text = await b.get("/login", headers={"Accept-Language": WELSH_BROWSER})
    assert r.status == 200
    assert page_lang(text) == "cy"
    assert "Mewngofnodi" in text  # Sign in
    # The switch now offers English, named in English and marked as English.
    href, hreflang = switch_link(text, "English")
    assert href.startswith("/language/en?") and hreflang == "en-GB"
    assert '<span aria-current="true">Cymraeg</span>' in text


async def test_the_readers_cookie_beats_accept_language(browser_factory):
    b = await browser_factory()
    _r, text = await b.get(
        "/login", headers={"Accept-Language": WELSH_BROWSER}, cookies={i18n.COOKIE: "en"}
    )
    assert page_lang(text) == "en-GB"
    _r, text = await b.get(
        "/login", headers={"Accept-Language": "en-GB,en;q=0.9"}, cookies={i18n.COOKIE: "cy"}
    )
    assert page_lang(text) == "cy"
    # A cookie naming no language Confer offers is ignored.
    _r, text = await b.get(
        "/login", headers={"Accept-Language": WELSH_BROWSER}, cookies={i18n.COOKIE: "fr"}
    )
    assert page_lang(text) == "cy"


async def test_a_members_account_language_applies_where_the_browser_has_not_chosen(
    browser_factory, world, pool
):
    welsh = await world.user("Siân Jones")
    english = await world.user("Sam Smith")
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", welsh["id"])
    await pool.execute("UPDATE users SET language = 'en' WHERE id = $1", english["id"])

    b = await browser_factory(welsh["email"])
    _r, text = await b.get("/account")
    assert page_lang(text) == "cy"
    assert "Wedi mewngofnodi fel Siân Jones" in text  # Signed in as

    # The account beats the browser's Accept-Language.
    b = await browser_factory(english["email"])
    _r, text = await b.get("/account", headers={"Accept-Language": WELSH_BROWSER})
    assert page_lang(text) == "en-GB"
    assert "Signed in as Sam Smith" in text

    # The switch's cookie is this browser's own choice, and comes first: the switch always
    # works where it was clicked, even when it could not write to the account.
    _r, text = await b.get("/account", cookies={i18n.COOKIE: "cy"})
    assert page_lang(text) == "cy"

    # A member who has never chosen follows the cookie, like anyone else.
    undecided = await world.user("Alex Brown")
    b = await browser_factory(undecided["email"])
    _r, text = await b.get("/account", cookies={i18n.COOKIE: "cy"})
    assert page_lang(text) == "cy"


# --- the switch, without JavaScript --------------------------------------------------------


async def test_the_switch_link_sets_the_cookie_and_comes_back_to_the_same_page(browser_factory):
    b = await browser_factory()
    # A query whose meaning needs its escapes: `next` is one value holding ? and &.
    here = "/login?next=%2Fnotifications%3Fpage%3D2%26filter%3Dall"
    _r, text = await b.get(here)
    href, hreflang = switch_link(text, "Cymraeg")
    assert hreflang == "cy" and href.startswith("/language/cy?next=")

    r, _text = await b.get(href, allow_redirects=False)
    assert r.status in (302, 303), r.status
    back = URL(r.headers["Location"])  # the same page, its query kept
    assert (back.path, dict(back.query)) == ("/login", {"next": "/notifications?page=2&filter=all"})
    cookie = r.cookies[i18n.COOKIE]
    assert cookie.value == "cy" and cookie["path"] == "/" and cookie["httponly"]
    assert cookie["samesite"] == "Lax"

    # Following it as a browser does: the same page, now Welsh, and remembered after.
    r, text = await b.get(href)
    assert r.url.path_qs == URL(here).path_qs
    assert page_lang(text) == "cy"
    _r, text = await b.get("/register")
    assert page_lang(text) == "cy"

    # And back to English the same way.
    href, hreflang = switch_link(text, "English")
    assert hreflang == "en-GB"
    r, text = await b.get(href)
    assert str(r.url).endswith("/register")
    assert page_lang(text) == "en-GB"


@pytest.mark.parametrize(
    "next_",
    [
        "//evil.example",
        "https://evil.example",
        "https://evil.example/login",
        "/\\evil.example",
        "/\t/evil.example",
        "evil.example",
        "",
    ],
)
async def test_the_switch_never_sends_the_reader_off_site(browser_factory, next_):
    b = await browser_factory()
    r, _text = await b.get("/language/cy", params={"next": next_}, allow_redirects=False)
    assert r.status in (302, 303)
    assert r.headers["Location"] == "/"
    assert r.cookies[i18n.COOKIE].value == "cy"


async def test_the_switch_changes_a_members_account_only_from_confers_own_pages(
    browser_factory, world, pool
):
    """A GET that writes: another site's link (Sec-Fetch-Site: cross-site) must not change the
    member's account language; the switch on Confer's own page (same-origin) does, and so
    their emails come in it too."""
    member = await world.user("Rhys Evans")
    b = await browser_factory(member["email"])

    r, _text = await b.get(
        "/language/cy?next=/account",
        headers={"Sec-Fetch-Site": "cross-site"},
        allow_redirects=False,
    )
    assert r.status in (302, 303)
    assert await user_language(pool, member) is None
    r, _text = await b.get(
        "/language/cy?next=/account",
        headers={"Sec-Fetch-Site": "same-site"},
        allow_redirects=False,
    )
    assert await user_language(pool, member) is None

    r, _text = await b.get(
        "/language/cy?next=/account",
        headers={"Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    )
    assert r.status in (302, 303) and r.headers["Location"] == "/account"
    assert await user_language(pool, member) == "cy"

    # Once chosen on the account, a cross-site link cannot change it back either.
    await b.get("/language/en", headers={"Sec-Fetch-Site": "cross-site"}, allow_redirects=False)
    assert await user_language(pool, member) == "cy"


async def test_the_account_page_sets_the_language(browser_factory, world, pool):
    member = await world.user("Ffion Hughes")
    b = await browser_factory(member["email"])
    r, _text = await b.post("/account/language", {"language": "cy"})
    assert r.status == 303, r.status
    assert await user_language(pool, member) == "cy"
    assert r.cookies[i18n.COOKIE].value == "cy"

    r, text = await b.post("/account/language", {"language": "fr"})
    assert r.status == 422, r.status
    assert await user_language(pool, member) == "cy"
    assert page_lang(text) == "cy"
    assert "Dewiswch Gymraeg neu Saesneg" in text  # Choose Cymraeg or English


# --- the pseudo-locale --------------------------------------------------------------------


async def test_the_pseudo_locale_is_not_offered_unless_turned_on(browser_factory):
    b = await browser_factory()
    r, _text = await b.get("/language/qps?next=/login", allow_redirects=False)
    assert r.status == 404
    assert i18n.COOKIE not in r.cookies
    _r, text = await b.get("/login", cookies={i18n.COOKIE: "qps"})
    assert i18n.PSEUDO_OPEN not in text
    assert page_lang(text) == "en-GB"


@pytest.fixture
async def pseudo_server(settings: Settings, aiohttp_server: Any) -> TestServer:
    """A server with PSEUDO_LOCALE on (Settings.pseudo_locale)."""
    from confer.app import create_app

    return await aiohttp_server(create_app(settings.with_(pseudo_locale=True)), host="127.0.0.1")


async def test_the_pseudo_locale_when_turned_on(pseudo_server):
    import aiohttp

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        base = str(pseudo_server.make_url("/language/qps"))
        async with s.get(base, params={"next": "/login"}, allow_redirects=False) as r:
            assert r.status in (302, 303)
            assert r.headers["Location"] == "/login"
            assert r.cookies[i18n.COOKIE].value == "qps"
        async with s.get(str(pseudo_server.make_url("/login"))) as r:
            text = await r.text()
    assert "⟦Šîğñ îñ⟧" in text  # "Sign in", accented and marked
    assert page_lang(text) == "en-GB"


# --- units: negotiation, plurals, dates ---------------------------------------------------


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (WELSH_BROWSER, "cy"),
        ("cy", "cy"),
        ("CY-gb", "cy"),
        ("cy-Latn-GB", "cy"),
        ("en-GB,en;q=0.9,cy;q=0.8", "en"),
        ("en, cy", "en"),  # equal q: the header's order
        ("en;q=0.5, cy;q=0.9", "cy"),  # by q, not by order
        ("fr-FR,fr;q=0.9,cy;q=0.5", "cy"),  # the first one Confer offers
        ("fr-FR,fr;q=0.9", None),
        ("cy;q=0, en;q=0", None),  # q=0 means "not this"
        ("cy;q=nonsense, en;q=0.1", "en"),  # a malformed q counts as 0
        ("*", None),
        ("", None),
        (" , ;q=1", None),
    ],
)
def test_negotiate(header: str, chosen: str | None):
    assert i18n.negotiate(header) == chosen


def test_negotiate_offers_only_what_it_is_given():
    assert i18n.negotiate("qps, cy;q=0.5") == "cy"
    assert i18n.negotiate("qps, cy;q=0.5", i18n.languages(pseudo=True)) == "qps"


POST_S, POST_P = "%(num)d post", "%(num)d posts"
ENGLISH_WORD = re.compile(r"\bposts?\b", re.IGNORECASE)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 6, 20])
def test_welsh_plural_forms_of_posts(n: int):
    """Each count takes its own Welsh form (zero, one, two, few, many, other): a Welsh
    sentence with the number in it, never the English word."""
    with i18n.using("cy"):
        text = i18n.ngettext(POST_S, POST_P, n) % {"num": n}
    assert text.strip(), n
    assert str(n) in text, text
    assert not ENGLISH_WORD.search(text), f"{n}: {text!r} is English"
    with i18n.using("en"):
        assert i18n.ngettext(POST_S, POST_P, n) % {"num": n} == (
            f"{n} post" if n == 1 else f"{n} posts"
        )


def test_the_welsh_catalogue_holds_six_forms_of_posts():
    with (LOCALE / "cy" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        cy = read_po(f, locale="cy")
    message = cy.get(POST_S)
    assert message is not None, f"{POST_S!r} is not in the Welsh catalogue"
    assert message.id == (POST_S, POST_P)
    assert len(message.string) == 6 and not message.fuzzy, message.string
    for form in message.string:
        assert "%(num)d" in form and not ENGLISH_WORD.search(form), message.string


def test_dates_in_welsh():
    sunday = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    summer = datetime(2027, 7, 1, 9, 30, tzinfo=UTC)
    with i18n.using("cy"):
        assert timefmt.when(sunday, "Europe/London") == "Dydd Sul 6 Rhagfyr 2026, 12:00 GMT"
        assert timefmt.day(sunday, "Europe/London") == "Dydd Sul 6 Rhagfyr 2026"
        assert timefmt.short(sunday, "Europe/London") == "Sul 6 Rhag, 12:00 GMT"
        assert timefmt.when(summer, "Europe/London") == "Dydd Iau 1 Gorffennaf 2027, 10:30 BST"
    with i18n.using("en"):
        assert timefmt.when(sunday, "Europe/London") == "Sunday 6 December 2026, 12:00 GMT"
    # The language is the running task's: outside the block it is back to the default.
    assert i18n.lang() == i18n.DEFAULT


async def test_a_welsh_page_shows_dates_in_welsh(browser_factory, world):
    """Dates on a real page, in the reader's language (the programme's session times)."""
    conf = await world.conference()
    await world.session(conf, title="Tai")
    b = await browser_factory()
    _r, text = await b.get(f"/c/{conf['slug']}/programme", cookies={i18n.COOKIE: "cy"})
    days = "Dydd (Llun|Mawrth|Mercher|Iau|Gwener|Sadwrn|Sul)"
    months = (
        "(Ionawr|Chwefror|Mawrth|Ebrill|Mai|Mehefin|Gorffennaf|Awst|Medi|Hydref|Tachwedd|Rhagfyr)"
    )
    assert re.search(rf"{days} \d+ {months} \d{{4}}", text), "no Welsh date on the programme"
    english = "(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|December|January)"
    assert not re.search(english, text), re.search(english, text)


async def test_an_erased_members_stand_in_name_is_in_the_readers_language(
    browser_factory, world, pool
):
    """An erased account keeps the stored name "Former participant" (confer.accounts.rights);
    pages show it in the reader's words, wherever a name is read from a row."""
    conf = await world.conference()
    session = await world.session(conf)
    gone = await world.user("Pat Gone")
    await world.member(conf, gone, "participant")
    thread = await world.thread(session, gone, title="Tai fforddiadwy", posts=1)
    await pool.execute("UPDATE users SET name = 'Former participant' WHERE id = $1", gone["id"])
    b = await browser_factory()
    _r, text = await b.get(f"/c/{conf['slug']}/threads/{thread['id']}", cookies={i18n.COOKIE: "cy"})
    assert "Cyn-gyfranogwr" in text
    assert "Former participant" not in text
    _r, text = await b.get(f"/c/{conf['slug']}/threads/{thread['id']}")
    assert "Former participant" in text
