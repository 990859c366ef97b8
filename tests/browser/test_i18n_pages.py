"""Every type of page in Chromium, in the pseudo-locale and in Welsh (issue #20).

(a) In the pseudo-locale every message Confer writes comes out accented inside ⟦ ⟧, so any
    visible text (or aria-label, title, alt, placeholder, button value) that is outside the
    markers, is not what members wrote (every seeded text's every word starts with Ü·), is not
    in a <time>, and is not just digits and punctuation, is English that never passed through
    the catalogues. The test lists it, page by page.
(b) axe-core on the same pages in Welsh: no serious or critical violation (a `lang` wrong on
    the page or on its parts shows up here, as do Welsh labels that no longer match).
(c) The language switch with JavaScript off: a plain link, remembered on the next page.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect

from confer import i18n
from confer.settings import Settings
from tests.browser.helpers import IMPACTS, SESSION_LOOP, Audits
from tests.conftest import insert_post

pytestmark = [pytest.mark.browser, SESSION_LOOP]

MARK = "Ü·"  # every word members "wrote" in the seeded world starts with it


def marked(text: str) -> str:
    """'Housing strategy' → 'Ü·Housing Ü·strategy'."""
    return " ".join(MARK + word for word in text.split())


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The browser fixtures' settings with the pseudo-locale on (PSEUDO_LOCALE=1)."""
    return settings.with_(pseudo_locale=True)


async def seed(world: Any) -> dict[str, Any]:
    """A demo-like conference: sessions of each kind, threads and posts, a panel with
    questions, a member with notifications, a moderation queue, invitations, a registration
    request; every text a person wrote is marked()."""
    pool = world.pool
    organiser = await world.user(marked("Olivia Organiser"), admin=True)
    speaker = await world.user(
        marked("Sam Speaker"), title=marked("Dr"), organisation=marked("Bristol City Council")
    )
    participant = await world.user(marked("Asha Patel"), organisation=marked("Leeds Council"))
    applicant = await world.user(marked("Rhys Jones"))
    conf = await world.conference(visibility="public")
    await pool.execute(
        "UPDATE conferences SET title = $2, summary_md = $3, summary_html = $4 WHERE id = $1",
        conf["id"],
        marked("Housing Summit"),
        marked("Three days on housing"),
        f"<p>{marked('Three days on housing')}</p>",
    )
    discussion = await world.session(
        conf, title=marked("Temporary accommodation"), open_threads=True
    )
    panel = await world.session(conf, kind="panel", title=marked("Money panel"))
    keynote = await world.session(
        conf, kind="keynote", title=marked("Opening keynote"), starts_in=timedelta(hours=4)
    )
    brk = await world.session(
        conf, kind="break", title=marked("Lunch"), starts_in=timedelta(hours=6)
    )
    closed = await world.session(
        conf, title=marked("Yesterday"), starts_in=timedelta(hours=-5), lasts=timedelta(hours=1)
    )
    for sess in (discussion, panel, keynote, brk, closed):
        await pool.execute(
            "UPDATE sessions SET description_md = $2, description_html = $3 WHERE id = $1",
            sess["id"],
            marked("About this session"),
            f"<p>{marked('About this session')}</p>",
        )
    await world.member(conf, organiser, "organiser")
    await world.member(conf, speaker, "speaker")
    await world.member(conf, participant)
    for i, sess in enumerate((discussion, panel, keynote)):
        await pool.execute(
            "INSERT INTO session_speakers (session_id, user_id, position) VALUES ($1, $2, $3)",
            sess["id"],
            speaker["id"],
            i,
        )
    await pool.execute(
        "UPDATE users SET bio = $2 WHERE id = $1", speaker["id"], marked("Leads the team")
    )
    thread = await world.thread(discussion, speaker, title=marked("Waiting lists"), posts=0)
    await world.thread(closed, speaker, title=marked("Welcome"), posts=0)
    posts = []
    for author, body in (
        (speaker, "How long are your waiting lists"),
        (participant, "About two years here"),
        (speaker, "Thank you for sharing"),
    ):
        text = marked(body)
        posts.append(
            await insert_post(pool, thread["id"], author["id"], None, text, f"<p>{text}</p>", None)
        )
    # Notifications for the participant (a reply to them), and a flag in the moderation queue.
    await pool.execute(
        """
        INSERT INTO notifications (user_id, kind, post_id, thread_id, conference_id, actor_id)
        VALUES ($1, 'reply', $2, $3, $4, $5)
        """,
        participant["id"],
        posts[2],
        thread["id"],
        conf["id"],
        speaker["id"],
    )
    await pool.execute(
        """
        INSERT INTO flags (post_id, conference_id, flagger_id, reason, note)
        VALUES ($1, $2, $3, 'off_topic', $4)
        """,
        posts[0],
        conf["id"],
        participant["id"],
        marked("Not about housing"),
    )
    # A panel with questions, one answered.
    for body, status in (("Where will the money come from", "open"), ("Who decides", "answered")):
        text = marked(body)
        await pool.execute(
            """
            INSERT INTO questions (session_id, conference_id, author_id, body_md, body_html,
                                   status, vote_count)
            VALUES ($1, $2, $3, $4, $5, $6, 0)
            """,
            panel["id"],
            conf["id"],
            participant["id"],
            text,
            f"<p>{text}</p>",
            status,
        )
    # An invitation waiting, and a member asking to join.
    await pool.execute(
        """
        INSERT INTO invitations (conference_id, email, name, role, token_hash, invited_by,
                                 expires_at)
        VALUES ($1, 'invited@example.org', $2, 'participant', $3, $4, now() + interval '7 days')
        """,
        conf["id"],
        marked("Ivy Invited"),
        secrets.token_bytes(32),
        organiser["id"],
    )
    await pool.execute(
        """
        INSERT INTO memberships (conference_id, user_id, role, status)
        VALUES ($1, $2, 'participant', 'pending')
        ON CONFLICT DO NOTHING
        """,
        conf["id"],
        applicant["id"],
    )
    c = f"/c/{conf['slug']}"
    anonymous = [
        ("home", "/", 200),
        ("sign in", "/login", 200),
        ("register", "/register", 200),
        ("password reset request", "/account/reset", 200),
        ("password reset, link not valid", "/account/reset/not-a-token", None),
        ("email sign-in request", "/login/email", 200),
        ("invitation, link not valid", "/invitations/not-a-token", None),
        ("provider sign-in, none waiting to be linked", "/account/sso/link", 404),
        ("conference home", c, 200),
        ("programme", f"{c}/programme", 200),
        ("speakers", f"{c}/speakers", 200),
        ("session (anonymous)", f"{c}/sessions/{discussion['id']}", 200),
        ("thread (anonymous)", f"{c}/threads/{thread['id']}", 200),
        ("search results", f"{c}/search?q=waiting", 200),
        ("search, nothing found", f"{c}/search?q=zebra", 200),
        ("404", "/c/no-such-conference", 404),
    ]
    member = [
        ("discussion session", f"{c}/sessions/{discussion['id']}", 200),
        ("keynote session", f"{c}/sessions/{keynote['id']}", 200),
        ("break", f"{c}/sessions/{brk['id']}", 200),
        ("closed session", f"{c}/sessions/{closed['id']}", 200),
        ("thread with composer", f"{c}/threads/{thread['id']}", 200),
        ("edit a post", f"{c}/posts/{posts[1]}/edit", 200),
        ("panel with questions", f"{c}/panels/{panel['id']}", 200),
        ("notifications", "/notifications", 200),
        ("notification settings", "/notifications/settings", 200),
        ("account", "/account", 200),
        ("leave the conference", f"{c}/leave", 200),
        ("403", f"{c}/moderation", 403),
    ]
    organising = [
        ("new conference", "/admin/conferences/new", 200),
        ("who can create conferences", "/admin/people", 200),
        ("manage", f"{c}/manage", 200),
        # The organiser's console (issue #22).
        ("console: programme", f"{c}/manage/programme", 200),
        ("console: people and roles", f"{c}/manage/people", 200),
        ("console: registration", f"{c}/manage/registration", 200),
        ("console: moderation", f"{c}/manage/moderation", 200),
        ("console: panels", f"{c}/manage/panels", 200),
        ("console: a panel's questions", f"{c}/manage/panels/{panel['id']}", 200),
        ("console: emails", f"{c}/manage/emails", 200),
        ("console: exports", f"{c}/manage/exports", 200),
        ("edit a session", f"{c}/manage/sessions/{discussion['id']}", 200),
        ("members and requests", f"{c}/members", 200),
        ("invitations", f"{c}/invitations", 200),
        ("moderation queue", f"{c}/moderation", 200),
        ("export", f"{c}/export", 200),
        ("report", f"{c}/report", 200),
        ("panel (organiser)", f"{c}/panels/{panel['id']}", 200),
    ]
    return {
        "pages": [(None, anonymous), (participant, member), (organiser, organising)],
        "conf": conf,
        "participant": participant,
    }


async def open_as(new_page: Any, server: Any, user: dict | None, code: str) -> Page:
    """A page in a fresh context, signed in as `user`, reading in `code` (the switch's cookie)."""
    page = await new_page(user=user)
    base = str(server.make_url("/")).rstrip("/")
    await page.context.add_cookies([{"name": i18n.COOKIE, "value": code, "url": base}])
    return page


# Visible text nodes (not in <script>/<style>, in an element with a box: visually-hidden text
# counts, it is read aloud) in document order, each with whether it is inside a <time> or a
# <mark> (a search hit's highlight of what a member wrote), and the attributes people meet.
COLLECT = """() => {
  const shown = (el) => el && el.getClientRects().length > 0 &&
      getComputedStyle(el).visibility !== "hidden";
  const nodes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest("script, style, template, noscript")) continue;
    if (!shown(el)) continue;
    nodes.push({text: n.nodeValue, skip: !!el.closest("time, mark"),
                where: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")});
  }
  nodes.push({text: document.title, skip: false, where: "title"});
  const attrs = [];
  for (const el of document.querySelectorAll("[aria-label], [title], [alt], [placeholder], " +
      "input[type=submit][value], input[type=button][value], input[type=reset][value]")) {
    if (el.closest("head")) continue;
    for (const a of ["aria-label", "title", "alt", "placeholder", "value"]) {
      if (a === "value" && el.tagName !== "INPUT") continue;
      const v = el.getAttribute(a);
      if (v) attrs.push({text: v, where: el.tagName.toLowerCase() + "[" + a + "]"});
    }
  }
  return {nodes, attrs};
}"""

WORD = re.compile(r"[^\W\d_]")  # a letter: anything with one is a word someone must translate
USER_WORD = re.compile(rf"\S*{re.escape(MARK)}\S*")
# A member's initials (the speakers' and panels' badges) are the first letters of their seeded
# words: all the marker's letter.
INITIALS = re.compile(rf"(?<!\S){re.escape(MARK[0])}+(?!\S)")
EMAIL = re.compile(r"\S+@\S+\.\S+")
# A web address (the formatting help's example link) is not words to translate.
WEB_ADDRESS = re.compile(r"https?://[^\s)\]]+")
# Names that are the same in every language: the product, and each language's own name
# in the switch (written in that language on purpose: "Cymraeg" on an English page).
# And the calendar's names: dates come from Babel in the reader's language (CLDR, tested in
# tests/test_i18n.py), which in the pseudo-locale is English; as are the zones' names.
_EN = i18n.babel_locale("en")
ALLOWED = {
    "Confer",
    *i18n.LANGUAGES.values(),
    *(n for width in ("wide", "abbreviated") for n in _EN.days["format"][width].values()),
    *(n for width in ("wide", "abbreviated") for n in _EN.months["format"][width].values()),
    "GMT",
    "BST",
    "UTC",
}
ZONE = re.compile(r"\b[A-Z][a-z]+/[A-Za-z_]+\b")  # Europe/London: a code, as written


def leftover(text: str) -> str:
    """What of `text` no one wrote (seeded user words, email addresses) and Confer did not
    translate: empty when nothing is left that has a letter in it."""
    text = USER_WORD.sub(" ", WEB_ADDRESS.sub(" ", text))
    text = ZONE.sub(" ", EMAIL.sub(" ", INITIALS.sub(" ", text)))
    words = [w for w in text.split() if WORD.search(w) and w.strip(".,:;!?()[]") not in ALLOWED]
    return " ".join(words)


def untranslated(found: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The English on a page in the pseudo-locale: text outside ⟦ ⟧ (followed across text
    nodes, since a message may hold a link), and attributes not wholly inside them."""
    problems: list[str] = []
    depth = 0
    for node in found["nodes"]:
        outside = []
        for ch in node["text"]:
            if ch == i18n.PSEUDO_OPEN:
                depth += 1
            elif ch == i18n.PSEUDO_CLOSE:
                depth = max(0, depth - 1)
            elif depth == 0:
                outside.append(ch)
        if node["where"] == "title":
            depth = 0
        if node["skip"]:
            continue
        if rest := leftover("".join(outside)):
            problems.append(f"{node['where']}: {rest!r}   (in {node['text'].strip()[:80]!r})")
    for attr in found["attrs"]:
        text = re.sub(r"⟦[^⟦⟧]*⟧", " ", attr["text"])
        text = re.sub(r"⟦[^⟦⟧]*⟧", " ", text)  # one message inside another
        if rest := leftover(text):
            problems.append(f"{attr['where']}: {rest!r}   (in {attr['text'][:80]!r})")
    return problems


async def test_untranslated_finds_english_and_spares_the_rest():
    """The walker's judgement on its own: English is found, whether alone, beside a message
    or in an attribute; messages (also one holding a link), members' words, email addresses,
    numbers, the product's and the languages' names are not."""
    nodes = [
        {"text": "⟦Šîğñ îñ⟧", "skip": False, "where": "a"},
        {"text": "⟦Ŗéåđ ţĥé ", "skip": False, "where": "p"},
        {"text": "çöđé öƒ çöñđûçţ", "skip": False, "where": "a"},
        {"text": " ƒîŕšţ.⟧ Posted by ", "skip": False, "where": "p"},
        {"text": f"{MARK}Asha {MARK}Patel", "skip": False, "where": "span"},
        {"text": "24 Nov, 16:00 GMT", "skip": True, "where": "time"},
        {"text": "Confer · 12 · invited@example.org · Cymraeg", "skip": False, "where": "p"},
        {"text": "3 here now", "skip": False, "where": "span"},
    ]
    attrs = [
        {"text": "⟦Ļåñğûåğé⟧", "where": "nav[aria-label]"},
        {"text": "Close", "where": "button[aria-label]"},
    ]
    found = [p.split("   (")[0] for p in untranslated({"nodes": nodes, "attrs": attrs})]
    assert found == ["p: 'Posted by'", "span: 'here now'", "button[aria-label]: 'Close'"]


async def visit(page: Page, label: str, path: str, status: int | None) -> None:
    response = await page.goto(path)
    assert response is not None, label
    if status is not None:
        assert response.status == status, (label, path, response.status)


async def test_every_page_type_in_the_pseudo_locale_has_no_untranslated_text(
    world, new_page, server
):
    s = await seed(world)
    report: list[str] = []
    for user, pages in s["pages"]:
        page = await open_as(new_page, server, user, i18n.PSEUDO)
        for label, path, status in pages:
            await visit(page, label, path, status)
            await expect(page.locator("html")).to_have_attribute("lang", "en-GB")
            found = await page.evaluate(COLLECT)
            assert any(i18n.PSEUDO_OPEN in n["text"] for n in found["nodes"]), (
                f"{label}: not in the pseudo-locale at all (is PSEUDO_LOCALE on?)"
            )
            if problems := untranslated(found):
                report.append(f"--- {label} ({path}): {len(problems)}")
                report.extend(f"    {p}" for p in problems)
    assert not report, "English that did not pass through the catalogues:\n" + "\n".join(report)


async def test_every_page_type_in_welsh_has_no_axe_violation(world, new_page, server):
    s = await seed(world)
    audits = Audits(blocking=IMPACTS)  # the issue: "no violation", whatever its impact
    for user, pages in s["pages"]:
        page = await open_as(new_page, server, user, "cy")
        for label, path, status in pages:
            await visit(page, label, path, status)
            await expect(page.locator("html")).to_have_attribute("lang", "cy")
            await audits.check(page, f"cy: {label}")
    audits.assert_clean()


async def test_the_language_switch_without_javascript(world, new_page):
    s = await seed(world)
    c = f"/c/{s['conf']['slug']}"
    page = await new_page(js=False)
    await page.goto(f"{c}/programme")
    await expect(page.locator("html")).to_have_attribute("lang", "en-GB")

    await page.get_by_role("link", name="Cymraeg").click()
    await expect(page).to_have_url(re.compile(re.escape(f"{c}/programme") + "$"))
    await expect(page.locator("html")).to_have_attribute("lang", "cy")
    await expect(page.get_by_role("link", name="English")).to_have_attribute("hreflang", "en-GB")
    await expect(page.get_by_role("link", name="Mewngofnodi")).to_be_visible()  # Sign in

    # Remembered on the next page, reached by an ordinary link.
    await page.get_by_role("link", name="Mewngofnodi").click()
    await expect(page).to_have_url(re.compile(r"/login"))
    await expect(page.locator("html")).to_have_attribute("lang", "cy")
    await expect(page.get_by_role("button", name="Mewngofnodi")).to_be_visible()

    # And back.
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en-GB")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
