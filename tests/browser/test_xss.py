"""Stored XSS, judged by a real browser: payloads from tests/data/xss go into every text a
person controls, through the real forms and the JSON API, and every page that shows them is
opened in Chromium with JavaScript on (live updates included). No script of theirs may run.

How "no script ran" is known (`Tripwire`):
- Each payload is armed: its alert()/prompt()/confirm() calls become `__xss_hit(N)`, N naming
  the payload. An init script defines `__xss_hit` and replaces alert, confirm, prompt and
  print, and both report to Python through an exposed function, which survives navigation.
  `page.on("dialog")` catches any dialog that still opens.
- The first line of defence is escaping and sanitising, so every page's DOM is inspected:
  no <script> but our own /static/ files, no on* attribute on any element, no javascript:
  URL, no frames, objects or embeds — anywhere in the document, user content included.
- The second line is the CSP. Its violations (`securitypolicyviolation`, and Chromium's
  console messages) are recorded apart: they are not failures in themselves — a blocked
  inline script is the CSP doing its job — but any markup that reached the page to cause one
  also fails the DOM check. They are printed with the results.
- `test_the_tripwire_fires_when_a_payload_is_rendered_raw` proves the detectors work: the
  same tripwire on a page that renders payloads raw (no escaping, no CSP) must fire, and an
  inline handler forced into a real Confer page must be blocked by the CSP and be reported.

Payloads are stored before the checks, and each test asserts how many were stored, so no
test can pass by storing nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect
from yarl import URL

from confer.accounts import service as accounts
from confer.policy import Actor
from tests.browser.helpers import SESSION_LOOP
from tests.conftest import PASSWORD, Browser, World
from tests.test_markup import XSS_DIR, XSS_FILES, load_payloads, page_problems

pytestmark = [pytest.mark.browser, SESSION_LOOP]

LIVE_MS = 15_000
SETTLE_MS = 60  # after a page loads: time for onfocus/ontoggle/onerror handlers to fire
PARALLEL = 3  # pages loading at once when many addresses are checked

# --- the payloads --------------------------------------------------------------------------

QUICK = load_payloads(XSS_DIR / "xss_payloads_quick.txt")
POLYGLOTS = load_payloads(XSS_DIR / "XSS_Polyglots.txt")
_REST = sorted({p for f in XSS_FILES for p in load_payloads(f)} - set(QUICK) - set(POLYGLOTS))
SAMPLE_SEED = 2026  # a fixed sample, so that a failure can be reproduced
SAMPLE = random.Random(SAMPLE_SEED).sample(_REST, 200)
# Payloads from the lists that target escaping bugs in particular contexts.
CONTEXTS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'\"><svg/onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    '" autofocus onfocus="alert(1)',
    "' autofocus onfocus='alert(1)",
    "<details open ontoggle=alert(1)>",
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">INJECTX</a>',
    "`;alert(1);`",
    "${alert(1)}",
]

REGISTRY: dict[int, str] = {}  # armed number -> the payload as it was in the list
_CALL = re.compile(r"\b(?:alert|prompt|confirm)\s*(?:\((?:[^()]|\([^()]*\))*\)|`[^`]*`)")


def arm(payload: str) -> str:
    """The payload with its dialog calls replaced by `__xss_hit(N)`."""
    n = len(REGISTRY) + 1
    REGISTRY[n] = payload
    return _CALL.sub(f"__xss_hit({n})", payload)


def payloads(sources: Iterable[str], *, max_len: int, limit: int | None = None) -> list[str]:
    """Armed, unique, fitting the field (stored text is stripped; NUL is refused by design)."""
    out: list[str] = []
    seen: set[str] = set()
    for p in sources:
        p = p.strip()
        if not p or "\x00" in p or p in seen:
            continue
        armed = arm(p)
        if len(armed) > max_len:
            continue
        seen.add(p)
        out.append(armed)
        if limit is not None and len(out) >= limit:
            break
    return out


CORE = [*CONTEXTS, *QUICK, *POLYGLOTS]


# --- the tripwire --------------------------------------------------------------------------

INIT_JS = """
(() => {
  const report = (kind, detail) => {
    try { window.__xss_report(kind, String(detail), location.pathname); } catch (e) {}
  };
  window.__xss_hit = (n) => report("hit", n);
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = (...args) => {
      report("hit", `${name}(${String(args[0])})`);
      return name === "prompt" ? null : false;
    };
  }
  document.addEventListener("securitypolicyviolation", (e) =>
    report("csp", `${e.violatedDirective} ${e.blockedURI} ${e.sample || ""}`), true);
})();
"""

# Everything in the document that could run script, user content included.
DOM_JS = """
() => {
  const out = [];
  const urlAttrs = ["href", "src", "action", "formaction", "xlink:href", "data", "srcdoc",
                    "background", "poster", "ping", "lowsrc", "dynsrc", "codebase"];
  const frames = ["iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal"];
  for (const el of document.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    if (tag === "script" && el.getAttribute("type") === "application/json"
        && el.id === "confer-messages" && el.closest("head") !== null) {
      // confer.js's messages (base.html): data in the head, never run.
    } else if (tag === "script") {
      const src = el.getAttribute("src") || "";
      if (!src.startsWith("/static/") || el.textContent.trim()) {
        out.push(`<script src="${src}">${el.textContent.slice(0, 80)}`);
      }
    }
    if (frames.includes(tag)) out.push(`<${tag}>`);
    if (tag === "meta" && (el.getAttribute("http-equiv") || "").toLowerCase() === "refresh") {
      out.push("<meta http-equiv=refresh>");
    }
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      if (name.startsWith("on")) out.push(`<${tag} ${name}="${a.value.slice(0, 80)}">`);
      if (urlAttrs.includes(name)) {
        const v = a.value.replace(/[\\u0000-\\u0020\\u007f-\\u009f]/g, "").toLowerCase();
        if (v.startsWith("javascript:") || v.startsWith("vbscript:")
            || (v.startsWith("data:") && tag !== "img")) {
          out.push(`<${tag} ${name}="${a.value.slice(0, 80)}">`);
        }
      }
    }
  }
  return out;
}
"""


@dataclass
class Tripwire:
    """Watches pages: script that ran (a failure), CSP violations (recorded), DOM checks."""

    problems: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)
    checked: int = 0

    async def watch(self, page: Page, *, live: bool = True) -> Page:
        """Install the tripwire. `live=False` keeps the page off socket.io: pages opened only
        to be inspected need no live connection (the watchers test the live path)."""

        async def report(source: Any, kind: str, detail: str, path: str) -> None:
            if kind == "hit":
                self.hits.append(detail)
                self.problems.append(f"script ran on {path}: {self.explain(detail)}")
            else:
                self.csp.append(f"{path}: {detail}")

        async def on_dialog(dialog: Any) -> None:
            self.problems.append(f"a {dialog.type} opened on {page.url}: {dialog.message!r}")
            await dialog.dismiss()

        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text:
                self.csp.append(f"{page.url}: {message.text[:160]}")

        def on_error(error: Any) -> None:
            self.problems.append(f"a script error on {page.url}: {error}")

        await page.expose_binding("__xss_report", report)
        await page.add_init_script(INIT_JS)
        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", on_error)
        if not live:
            # Only the live connection's own requests (`/socket.io/?EIO=…`), not the socket.io
            # client's file under /static/vendor/socket.io/: confer.js loads and finds no server.
            await page.route(re.compile(r"/socket\.io/\?"), lambda route: route.abort())
        return page

    @staticmethod
    def explain(detail: str) -> str:
        if detail.isdigit() and int(detail) in REGISTRY:
            return f"payload #{detail} {REGISTRY[int(detail)]!r}"
        return detail

    async def check(self, page: Page, label: str) -> None:
        """What is on the page now: nothing that could run script."""
        await page.wait_for_timeout(SETTLE_MS)
        for found in await page.evaluate(DOM_JS):
            self.problems.append(f"{label} ({page.url}): {found}")
        self.checked += 1

    async def visit(self, page: Page, path: str, label: str | None = None) -> str:
        response = await page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        await self.check(page, label or path)
        return await page.content()

    async def visit_many(self, pages: list[Page], paths: list[str]) -> None:
        """Visit every path, spread over `pages` loading side by side."""

        async def walk(page: Page, share: list[str]) -> None:
            for path in share:
                await self.visit(page, path)

        await asyncio.gather(*(walk(p, paths[i :: len(pages)]) for i, p in enumerate(pages)))

    def assert_clean(self, what: str) -> None:
        summary = (
            f"{what}: {self.checked} page views checked; {len(self.csp)} CSP violation(s) "
            "blocked (second line of defence)"
        )
        print(summary)
        for line in self.csp[:20]:
            print("  CSP:", line)
        assert self.checked > 0
        assert not self.problems, f"{summary}\n{len(self.problems)} problem(s):\n" + "\n".join(
            self.problems[:100]
        )


# --- helpers -----------------------------------------------------------------------------


def _actor(user: dict) -> Actor:
    return Actor(user_id=user["id"], name=user["name"], email=user["email"], via="cli")


async def token_of(pool: asyncpg.Pool, user: dict) -> str:
    token, _ = await accounts.create_api_token(pool, _actor(user), "xss")
    return token


async def signed_in(server: TestServer, user: dict, made: list[Browser]) -> Browser:
    b = Browser(server)
    made.append(b)
    await b.sign_in(user["email"])
    return b


async def open_live(page: Page, path: str) -> None:
    """Open a thread or panel page and wait for its live connection to join the room."""
    await page.goto(path)
    await expect(page.get_by_text(re.compile(r"^\d+ here now$"))).to_be_visible(timeout=LIVE_MS)


async def inspectors(new_page: Any, trip: Tripwire, user: dict | None = None) -> list[Page]:
    """Pages, each in its own context (signed in as `user`), for visiting many addresses."""
    return [await trip.watch(await new_page(user=user), live=False) for _ in range(PARALLEL)]


def route_exists(server: TestServer, name: str) -> bool:
    return name in server.app.router.named_resources()


@pytest.fixture
def settings(settings):
    # Hundreds of posts from one member in a minute: the rate limits would refuse them.
    return settings.with_(rate_limits="off")


@pytest_asyncio.fixture(loop_scope="session")
async def browsers():
    made: list[Browser] = []
    yield made
    for b in made:
        await b.close()


# --- the detectors themselves ----------------------------------------------------------------

RAW_PAGE = "/__xss_raw_for_the_self_check"


async def test_the_tripwire_fires_when_a_payload_is_rendered_raw(world, new_page, server):
    """A deliberately unescaped page (no CSP) set off the tripwire, a dialog from an
    un-armed page is caught, and an inline handler forced into a real Confer page is blocked
    by its CSP, reported as a violation, and found by the DOM check."""
    armed = [arm('<img src=x onerror="alert(1)">'), arm("<svg onload=alert(1)>"),
             arm("<script>alert(document.domain)</script>")]  # fmt: skip
    numbers = [re.search(r"__xss_hit\((\d+)\)", a).group(1) for a in armed]  # type: ignore[union-attr]
    page = await new_page()
    trip = Tripwire()
    await trip.watch(page)
    await page.route(
        f"**{RAW_PAGE}",
        lambda route: route.fulfill(
            content_type="text/html",
            body="<!doctype html><title>raw</title><body>" + "".join(armed) + "</body>",
        ),
    )
    await page.goto(str(server.make_url(RAW_PAGE)))
    await page.wait_for_timeout(300)
    assert sorted(trip.hits) == sorted(numbers), trip.hits
    await trip.check(page, "raw page")
    assert any("onerror" in p for p in trip.problems) and any("<script" in p for p in trip.problems)

    # Without the init script, alert opens a dialog: page.on("dialog") catches it.
    bare = await new_page()
    dialogs: list[str] = []

    async def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    bare.on("dialog", on_dialog)
    await bare.set_content("<script>alert('raw')</script>")
    assert dialogs == ["raw"]

    # A real Confer page: its CSP blocks an inline handler, and the violation is reported.
    confer_page = await new_page()
    real = Tripwire()
    await real.watch(confer_page)
    await confer_page.goto("/")
    n = arm("<img src=x onerror=alert(1)>")
    await confer_page.evaluate("(html) => document.body.insertAdjacentHTML('beforeend', html)", n)
    await confer_page.wait_for_timeout(300)
    assert real.hits == [], "the CSP should have blocked the inline handler"
    assert any("script-src" in v for v in real.csp), real.csp
    await real.check(confer_page, "Confer page with a forced inline handler")
    assert any("onerror" in p for p in real.problems), real.problems


# --- posts, thread titles, summaries, lock and hide reasons, flag notes ---------------------


async def test_posts_titles_and_moderation_texts_run_no_script(
    world: World, new_page, server, pool, browsers
):
    admin = await world.user("Ada Admin", admin=True)
    poster = await world.user("Pat Poster")
    reader = await world.user("Rita Reader")
    c = await world.conference()
    s = await world.session(c, title="Open discussion", open_threads=True)
    for u, role in ((admin, "organiser"), (poster, "participant"), (reader, "participant")):
        await world.member(c, u, role)
    t = await world.thread(s, admin, title="Where payloads are posted", posts=1)
    slug, tid = c["slug"], t["id"]
    poster_token, admin_token, reader_token = [
        await token_of(pool, u) for u in (poster, admin, reader)
    ]
    form = await signed_in(server, poster, browsers)
    trip = Tripwire()

    # Live pages open before anything is posted: confer.js inserts what arrives.
    watcher = await trip.watch(await new_page(user=reader))
    await open_live(watcher, f"/c/{slug}/threads/{tid}")
    home = await trip.watch(await new_page(user=reader))
    await home.goto(f"/c/{slug}")

    bodies = payloads([*CORE, *SAMPLE], max_len=20_000)
    for i, body in enumerate(bodies):
        if i % 10 == 0:  # some through the form, the rest through the JSON API
            r, text = await form.post(f"/c/{slug}/threads/{tid}/posts", {"body": body})
            assert r.status == 303, (body, text[:300])
        else:
            status, reply = await form.api(
                "POST", f"/api/v1/threads/{tid}/posts", {"body": body}, token=poster_token
            )
            assert status == 201, (body, reply)
    ids = [r["id"] for r in await pool.fetch(
        "SELECT id FROM posts WHERE thread_id = $1 AND author_id = $2 ORDER BY seq",
        tid, poster["id"],
    )]  # fmt: skip
    assert len(ids) == len(bodies) >= 250
    await expect(watcher.locator("article.confer-post")).to_have_count(
        len(bodies) + 1, timeout=60_000
    )
    await trip.check(watcher, "thread, posts inserted live")
    await trip.check(home, "conference home, activity inserted live")

    # Facilitation texts: hide reasons (readers see them), flag notes, summaries.
    reasons = payloads(CORE, max_len=500, limit=40)
    for post_id, reason in zip(ids, reasons, strict=False):
        status, reply = await form.api(
            "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "hide", "reason": reason},
            token=admin_token,
        )  # fmt: skip
        assert status == 200, (reason, reply)
    notes = payloads(CORE, max_len=1000, limit=40)
    for post_id, note in zip(ids[len(reasons) :], notes, strict=False):
        status, reply = await form.api(
            "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "other", "note": note},
            token=reader_token,
        )  # fmt: skip
        assert status == 201, (note, reply)
    summaries = payloads(CORE, max_len=20_000, limit=15)
    for summary in summaries:
        status, reply = await form.api(
            "POST", f"/api/v1/threads/{tid}/moderation", {"action": "summarise", "summary": summary},
            token=admin_token,
        )  # fmt: skip
        assert status == 200, (summary, reply)
    assert await pool.fetchval(
        "SELECT count(*) FROM posts WHERE thread_id = $1 AND status = 'hidden'", tid
    ) == len(reasons)
    assert await pool.fetchval("SELECT count(*) FROM flags WHERE note <> ''") == len(notes)
    await trip.check(watcher, "thread after live hides and summaries")

    # Thread titles, each locked with a reason.
    titles = payloads(CORE, max_len=200, limit=30)
    lock_reasons = payloads(CORE, max_len=500, limit=len(titles))
    titled = []
    for title, reason in zip(titles, lock_reasons, strict=False):
        r, text = await form.post(
            f"/c/{slug}/sessions/{s['id']}/threads", {"title": title, "body": "x"}
        )
        assert r.status == 303, (title, text[:300])
        thread_id = int(re.search(r"/threads/(\d+)", r.headers["Location"]).group(1))  # type: ignore[union-attr]
        titled.append(thread_id)
        status, reply = await form.api(
            "POST", f"/api/v1/threads/{thread_id}/moderation", {"action": "lock", "reason": reason},
            token=admin_token,
        )  # fmt: skip
        assert status == 200, (reason, reply)
    assert len(titled) == len(titles) == 30

    # Every page that shows them, as a reader and as the organiser (who sees hidden posts,
    # the moderation tools, summaries' history and the log).
    as_reader = await inspectors(new_page, trip, reader)
    as_admin = await inspectors(new_page, trip, admin)
    pages = -(-(len(bodies) + 1) // 50)
    thread_pages = [f"/c/{slug}/threads/{tid}?page={n}" for n in range(1, pages + 1)]
    # Staff pages 1 and 2 hold the hidden and the reported posts.
    await trip.visit_many(
        as_admin, [*thread_pages[:2], f"/c/{slug}/moderation", f"/c/{slug}/report"]
    )
    await trip.visit_many(
        as_reader,
        [
            *thread_pages,
            f"/c/{slug}/sessions/{s['id']}",
            f"/c/{slug}",
            *[f"/c/{slug}/threads/{thread_id}" for thread_id in titled],
            *[f"/c/{slug}/search?q={word}" for word in ("alert", "script", "onerror", "svg")],
            *[f"/c/{slug}/search?q=x&thread_id={thread_id}" for thread_id in titled[:10]],
        ],
    )
    trip.assert_clean("posts, titles, summaries, reasons and notes")


# --- people: display name, title, organisation, bio --------------------------------------------


async def test_names_titles_organisations_and_bios_run_no_script(
    world: World, new_page, server, pool, browsers, settings
):
    admin = await world.user("Ada Admin")
    c = await world.conference()
    s = await world.session(c, title="Open discussion")
    panel = await world.session(c, kind="panel", title="The panel")
    await world.member(c, admin, "organiser")
    t = await world.thread(s, admin, title="Introductions", posts=1)
    slug = c["slug"]
    organiser = await signed_in(server, admin, browsers)
    trip = Tripwire()
    watcher = await trip.watch(await new_page(user=admin))
    await open_live(watcher, f"/c/{slug}/threads/{t['id']}")

    names = payloads(CORE, max_len=100, limit=30)
    titles = payloads(reversed(CORE), max_len=100, limit=len(names))
    organisations = payloads(CORE[5:] + CORE, max_len=200, limit=len(names))
    bios = payloads(SAMPLE, max_len=2000, limit=len(names))
    people = []
    for i, name in enumerate(names):
        email = f"person{i}-{uuid.uuid4().hex[:6]}@example.org"
        b = Browser(server)
        browsers.append(b)
        if i < 3:  # the registration form takes name, title and organisation too
            r, text = await b.post(
                "/register",
                {"email": email, "name": name, "title": titles[i],
                 "organisation": organisations[i], "password": PASSWORD},
            )  # fmt: skip
            assert r.status == 303, (name, text[:300])
        else:  # quicker than hashing a password each time: an account, signed in directly
            user_id = await pool.fetchval(
                "INSERT INTO users (email, name) VALUES ($1, 'New person') RETURNING id", email
            )
            login = await accounts.start_login(pool, settings, user_id)
            b.session.cookie_jar.update_cookies(
                {"confer_session": login}, URL(str(server.make_url("/")))
            )
        profile = {
            "name": name,
            "title": titles[i],
            "organisation": organisations[i],
            "bio": bios[i],
        }
        r, text = await b.post("/account/profile", profile)
        assert r.status == 303, (profile, text[:300])
        r, text = await b.post(f"/c/{slug}/join", {"accept_code_of_conduct": "yes"})
        assert r.status == 303, text[:300]
        if i % 2 == 0:  # half of them speak on the panel
            r, text = await organiser.post(
                f"/c/{slug}/manage/roles",
                {"role_email": email, "role_role": "speaker", "sessions": str(panel["id"])},
            )
            assert r.status == 303, text[:300]
        r, text = await b.post(f"/c/{slug}/threads/{t['id']}/posts", {"body": "Hello"})
        assert r.status == 303, text[:300]
        r, text = await b.post(f"/c/{slug}/panels/{panel['id']}/questions", {"body": "A question"})
        assert r.status == 303, text[:300]
        people.append(await pool.fetchval("SELECT id FROM users WHERE email = $1", email))
    assert len(people) == len(names) >= 30
    assert await pool.fetchval(
        "SELECT count(*) FROM users WHERE id = ANY($1) AND bio <> '' AND name <> ''", people
    ) == len(names)
    await expect(watcher.locator("article.confer-post")).to_have_count(
        len(names) + 1, timeout=LIVE_MS
    )
    await trip.check(watcher, "thread, authors inserted live")

    as_admin = await inspectors(new_page, trip, admin)
    await trip.visit_many(
        as_admin,
        [
            f"/c/{slug}/threads/{t['id']}",
            f"/c/{slug}/speakers",
            f"/c/{slug}/programme",
            f"/c/{slug}/panels/{panel['id']}",
            f"/c/{slug}/manage",
            f"/c/{slug}/moderation",
            f"/c/{slug}/report",
            *[f"/c/{slug}/search?q=hello&author_id={user_id}" for user_id in people[:8]],
        ],
    )
    for user_id in people[:6]:
        own = await trip.watch(await new_page(user={"id": user_id}), live=False)
        await trip.visit(own, "/account")
    trip.assert_clean("names, titles, organisations and bios")


# --- conferences and sessions: titles, summaries, codes of conduct, descriptions ---------------


async def test_conference_and_session_texts_run_no_script(
    world: World, new_page, server, pool, browsers
):
    admin = await world.user("Ada Admin", admin=True)
    visitor = await world.user("Vic Visitor")
    b = await signed_in(server, admin, browsers)
    titles = payloads(CORE, max_len=200, limit=12)
    summaries = payloads(SAMPLE, max_len=20_000, limit=len(titles))
    conducts = payloads(reversed(CORE), max_len=20_000, limit=len(titles))
    slugs = []
    for i, title in enumerate(titles):
        slug = f"xss-{i}-{uuid.uuid4().hex[:6]}"
        r, text = await b.post(
            "/admin/conferences",
            {"slug": slug, "title": title, "summary": summaries[i], "code_of_conduct": conducts[i],
             "timezone": "Europe/London", "starts_at": "2030-01-01T09:00",
             "ends_at": "2030-01-03T17:00", "visibility": "public"},
        )  # fmt: skip
        assert r.status == 303, (title, text[:300])
        r, _ = await b.post(f"/c/{slug}/manage/publish", {"published": "yes"})
        assert r.status == 303
        slugs.append(slug)
    assert await pool.fetchval(
        "SELECT count(*) FROM conferences WHERE slug = ANY($1) AND published_at IS NOT NULL", slugs
    ) == len(titles)

    # Sessions of the first conference: titles and descriptions, discussions and panels.
    first = slugs[0]
    session_titles = payloads(reversed(CORE), max_len=200, limit=12)
    descriptions = payloads(CORE, max_len=20_000, limit=len(session_titles))
    for i, title in enumerate(session_titles):
        r, text = await b.post(
            f"/c/{first}/manage/sessions",
            {"session_kind": "panel" if i % 3 == 0 else "discussion", "session_title": title,
             "session_description": descriptions[i],
             "session_starts_at": f"2030-01-0{1 + i % 3}T10:00",
             "session_ends_at": f"2030-01-0{1 + i % 3}T11:00"},
        )  # fmt: skip
        assert r.status == 303, (title, text[:300])
    sessions = await pool.fetch(
        "SELECT s.id, s.kind FROM sessions s JOIN conferences c ON c.id = s.conference_id"
        " WHERE c.slug = $1 ORDER BY s.id",
        first,
    )
    assert len(sessions) == len(session_titles)
    await pool.execute(  # a speaker, so that the panels show on the speakers page
        "INSERT INTO session_speakers (session_id, user_id, position)"
        " SELECT id, $1, 0 FROM sessions WHERE id = ANY($2) AND kind = 'panel'",
        visitor["id"], [r["id"] for r in sessions],
    )  # fmt: skip

    trip = Tripwire()
    as_admin = await inspectors(new_page, trip, admin)
    as_visitor = await inspectors(new_page, trip, visitor)
    anonymous = await inspectors(new_page, trip)
    await trip.visit_many(anonymous, ["/", *[f"/c/{slug}" for slug in slugs]])
    await trip.visit_many(as_visitor, [f"/c/{slug}/join" for slug in slugs])
    await trip.visit_many(
        as_visitor,
        [
            f"/c/{first}/{'panels' if r['kind'] == 'panel' else 'sessions'}/{r['id']}"
            for r in sessions
        ],
    )
    await trip.visit_many(
        as_admin,
        [
            "/",
            *[f"/c/{slug}/manage" for slug in slugs],
            *[f"/c/{first}/{path}" for path in ("programme", "speakers", "report")],
            *[f"/c/{first}/manage/sessions/{r['id']}" for r in sessions],
        ],
    )
    trip.assert_clean("conference titles, summaries, codes of conduct and sessions")


# --- panels: questions, answers, dismissal reasons ------------------------------------------


async def test_questions_answers_and_dismissals_run_no_script(
    world: World, new_page, server, pool, browsers
):
    admin = await world.user("Ada Admin")
    speaker = await world.user("Sid Speaker")
    askers = [await world.user(f"Asker {i}") for i in range(3)]
    c = await world.conference()
    panel = await world.session(c, kind="panel", title="The panel")
    await world.member(c, admin, "organiser")
    await world.member(c, speaker, "speaker")
    for u in askers:
        await world.member(c, u, "participant")
    await pool.execute(
        "INSERT INTO session_speakers (session_id, user_id, position) VALUES ($1, $2, 0)",
        panel["id"], speaker["id"],
    )  # fmt: skip
    slug, pid = c["slug"], panel["id"]
    api = Browser(server)
    browsers.append(api)
    tokens = [await token_of(pool, u) for u in askers]
    admin_token, speaker_token = await token_of(pool, admin), await token_of(pool, speaker)
    trip = Tripwire()
    watcher = await trip.watch(await new_page(user=askers[0]))
    await open_live(watcher, f"/c/{slug}/panels/{pid}")

    questions = payloads([*CORE, *SAMPLE], max_len=500, limit=90)
    ids = []
    for i, body in enumerate(questions):
        status, reply = await api.api(
            "POST", f"/api/v1/panels/{pid}/questions", {"body": body}, token=tokens[i % 3]
        )
        assert status == 201, (body, reply)
        ids.append(reply["id"])
    answers = payloads(reversed(CORE), max_len=20_000, limit=30)
    for question_id, body in zip(ids, answers, strict=False):
        status, reply = await api.api(
            "POST", f"/api/v1/questions/{question_id}/answers", {"body": body}, token=speaker_token
        )
        assert status == 201, (body, reply)
    reasons = payloads(CORE, max_len=500, limit=20)
    for question_id, reason in zip(ids[len(answers) :], reasons, strict=False):
        status, reply = await api.api(
            "POST", f"/api/v1/questions/{question_id}/state",
            {"action": "dismiss", "reason": reason}, token=admin_token,
        )  # fmt: skip
        assert status == 200, (reason, reply)
    assert await pool.fetchval("SELECT count(*) FROM questions WHERE session_id = $1", pid) == len(
        questions
    )
    assert await pool.fetchval("SELECT count(*) FROM answers") == len(answers)
    assert await pool.fetchval(
        "SELECT count(*) FROM questions WHERE status = 'dismissed' AND session_id = $1", pid
    ) == len(reasons)
    await expect(watcher.locator("[id^=question-]")).to_have_count(len(questions), timeout=LIVE_MS)
    await trip.check(watcher, "panel, questions and answers inserted live")

    views = [f"/c/{slug}/panels/{pid}", f"/c/{slug}/panels/{pid}?sort=new"]
    for user in (askers[0], askers[1], speaker):  # asker, another member, the speaker
        page = await trip.watch(await new_page(user=user), live=False)
        for path in views:
            await trip.visit(page, path)
    await trip.visit_many(
        await inspectors(new_page, trip, admin),
        [*views, f"/c/{slug}/moderation", f"/c/{slug}/report"],
    )
    trip.assert_clean("questions, answers and dismissal reasons")


# --- the search query ----------------------------------------------------------------------


async def test_search_queries_run_no_script(world: World, new_page, server):
    if not route_exists(server, "search"):
        pytest.skip("Confer has no search page yet (/c/{slug}/search)")
    reader = await world.user("Rita Reader")
    c = await world.conference()
    s = await world.session(c)
    await world.member(c, reader, "participant")
    await world.thread(s, reader, title="Alert levels", posts=3)
    trip = Tripwire()
    pages = await inspectors(new_page, trip, reader)
    queries = payloads([*CORE, *SAMPLE], max_len=200, limit=60)

    async def search(page: Page, share: list[str]) -> None:
        for q in share:
            await trip.visit(page, f"/c/{c['slug']}/search?q={quote(q, safe='')}", f"search {q!r}")
            # The query is kept in the search box, exactly as typed.
            assert await page.get_by_label("Search this conference").input_value() == q

    await asyncio.gather(*(search(p, queries[i :: len(pages)]) for i, p in enumerate(pages)))
    assert len(queries) == 60
    trip.assert_clean("search queries")


# --- invitation names --------------------------------------------------------------------


async def test_invitation_names_run_no_script(world: World, new_page, server, pool, browsers):
    if not route_exists(server, "invitations"):
        pytest.skip("Confer has no invitations yet (/c/{slug}/invitations)")
    admin = await world.user("Ada Admin")
    c = await world.conference(starts_in=timedelta(days=2))
    await world.member(c, admin, "organiser")
    slug = c["slug"]
    names = payloads(CORE, max_len=100, limit=40)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email"])
    for i, name in enumerate(names):
        writer.writerow([name, f"invitee{i}@example.org"])
    api = Browser(server)
    browsers.append(api)
    status, reply = await api.api(
        "POST", f"/api/v1/conferences/{slug}/invitations",
        {"csv": out.getvalue(), "role": "participant"}, token=await token_of(pool, admin),
    )  # fmt: skip
    assert status == 201, reply
    assert len(reply["invited"]) == len(names), reply
    stored = await pool.fetch(
        "SELECT name FROM invitations WHERE conference_id = $1 ORDER BY id", c["id"]
    )
    assert len(stored) == len(names) and all(r["name"] for r in stored)
    mails = await pool.fetch(
        "SELECT body_text, body_html FROM outbox WHERE kind LIKE '%invitation%' ORDER BY id"
    )
    links = sorted(
        {m for r in mails for m in re.findall(r"/invitations/([A-Za-z0-9_-]{20,})", r["body_text"])}
    )
    assert len(links) == len(names), (len(links), len(mails))
    # The emails' HTML carries no script either (inline styles are how email is styled).
    problems = [
        p for r in mails for p in page_problems(r["body_html"] or "") if " has style=" not in p
    ]
    assert not problems, problems

    trip = Tripwire()
    as_admin = await trip.watch(await new_page(user=admin), live=False)
    await trip.visit(as_admin, f"/c/{slug}/invitations")
    await trip.visit_many(
        await inspectors(new_page, trip), [f"/invitations/{token}" for token in links]
    )
    response = await as_admin.goto("/dev/outbox")
    if response is not None and response.status == 200:  # only where mail is not really sent
        await trip.check(as_admin, "/dev/outbox")
    trip.assert_clean("invitation names")
