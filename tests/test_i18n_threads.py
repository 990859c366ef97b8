"""Threads, posts, search and sockets in Cymraeg and English (issue #20).

A reader who chose Welsh reads thread pages, counts and socket errors in Welsh; every post
keeps its author's interface language and is marked with it on a page in the other language;
Welsh posts are found by their Welsh words; a post's kept HTML is never served to a reader of
the other language.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import socketio
from yarl import URL

from confer import i18n
from confer.context import Ctx
from confer.fragments import PostFragments
from confer.live.hub import Hub
from confer.policy import Actor
from confer.posts import service as posts
from tests.conftest import World, insert_post


async def _thread(world: World):
    c = await world.conference()
    s = await world.session(c)
    fac = await world.user(name="Faye Facilitator")
    await world.member(c, fac, "facilitator")
    t = await world.thread(s, fac)
    u = await world.user(name="Siân Jones")
    await world.member(c, u, "participant")
    return c, s, t, u


def _welsh(b: Any) -> None:
    """The reader chooses Welsh (the language switch's cookie)."""
    b.session.cookie_jar.update_cookies({i18n.COOKIE: "cy"}, URL(b.url("/")))


def _articles(text: str) -> dict[int, str]:
    return {
        int(m.group(1)): m.group(0)
        for m in re.finditer(r'<article[^>]*data-post-id="(\d+)".*?</article>', text, re.DOTALL)
    }


def _cy(singular: str, plural: str, n: int) -> str:
    with i18n.using("cy"):
        return i18n.ngettext(singular, plural, n) % {"num": n}


async def test_a_thread_and_its_session_read_in_welsh_with_the_count_in_each_plural_form(
    world, browser_factory, pool
):
    c, s, t, u = await _thread(world)
    b = await browser_factory(u["email"])
    _welsh(b)
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert '<html lang="cy"' in text
    assert "Ychwanegu eich neges" in text and "Eich neges" in text  # the composer
    assert "Add your post" not in text and "Your post" not in text
    assert ">Ateb<" in text or ">Ateb<span" in text  # each post's Reply
    for n in (0, 1, 2, 3, 6, 20):
        await pool.execute("UPDATE threads SET post_count = $2 WHERE id = $1", t["id"], n)
        _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
        phrase = _cy("%(num)d post", "%(num)d posts", n)
        assert f'<span data-count-text="posts">{phrase}</span>' in text, n
        assert f"<span hidden data-post-count>{n}</span>" in text
        _, session_page = await b.get(f"/c/{c['slug']}/sessions/{s['id']}")
        assert f'<span data-count-text="posts">{phrase}</span>' in session_page, n
        assert "Trafodaethau" in session_page and "Sesiwn drafod" in session_page
    # The Welsh forms really differ by number where Welsh does (search's "result").
    assert _cy("%(num)s result", "%(num)s results", 2) == "2 ganlyniad"
    assert _cy("%(num)s result", "%(num)s results", 3) == "3 chanlyniad"
    assert _cy("%(num)s result", "%(num)s results", 20) == "20 canlyniad"
    # English readers still read English.
    english = await browser_factory(u["email"])
    _, text = await english.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert '<span data-count-text="posts">20 posts</span>' in text and "Add your post" in text


async def test_a_welsh_post_keeps_its_language_and_is_marked_on_an_english_page(
    world, browser_factory, pool
):
    c, _, t, u = await _thread(world)
    writer = await browser_factory(u["email"])
    _welsh(writer)
    r, _ = await writer.post(
        f"/c/{c['slug']}/threads/{t['id']}/posts",
        {"body": "Diolch am y drafodaeth hon.", "idempotency_key": "cy-1"},
    )
    assert r.status == 303
    welsh_id = await pool.fetchval("SELECT id FROM posts WHERE idempotency_key = 'cy-1'")
    assert await pool.fetchval("SELECT lang FROM posts WHERE id = $1", welsh_id) == "cy"
    english_id = await pool.fetchval(
        "SELECT id FROM posts WHERE thread_id = $1 AND seq = 1", t["id"]
    )
    assert await pool.fetchval("SELECT lang FROM posts WHERE id = $1", english_id) == "en"

    reader = await browser_factory()  # English
    _, text = await reader.get(f"/c/{c['slug']}/threads/{t['id']}")
    articles = _articles(text)
    assert 'class="confer-prose confer-post__body" lang="cy"' in articles[welsh_id]
    assert 'lang="' not in articles[english_id].split("confer-post__body")[1].split(">")[0]
    welsh_reader = await browser_factory()
    _welsh(welsh_reader)
    _, text = await welsh_reader.get(f"/c/{c['slug']}/threads/{t['id']}")
    articles = _articles(text)
    assert 'class="confer-prose confer-post__body" lang="en-GB"' in articles[english_id]
    assert 'confer-post__body">' in articles[welsh_id]  # no mark: the page's own language

    # An edit keeps the post's language, whatever the language of the page it came from.
    english_writer = await browser_factory(u["email"])
    r, _ = await english_writer.post(
        f"/c/{c['slug']}/posts/{welsh_id}/edit", {"body": "Diolch yn fawr am y drafodaeth."}
    )
    assert r.status == 303
    row = await pool.fetchrow("SELECT lang, body_md FROM posts WHERE id = $1", welsh_id)
    assert row["lang"] == "cy" and row["body_md"].startswith("Diolch yn fawr")


async def test_posts_written_together_each_keep_their_authors_language(world, settings, pool):
    """Posts arriving at the same moment are written in one batch (confer.db.Batcher), in a
    task of its own: each post's language is its request's, carried into the batch."""
    c, _, t, u = await _thread(world)
    other = await world.user(name="Tom Evans")
    await world.member(c, other, "participant")
    ctx = Ctx(pool=pool, settings=settings, hub=Hub())

    async def write(user: dict, code: str, n: int) -> int:
        actor = Actor(user_id=user["id"], name=user["name"], via="cookie")
        with i18n.using(code):
            post, _ = await posts.create_post(
                ctx, actor, c["slug"], t["id"], {"body": f"{code} {n}", "idempotency_key": f"{n}"}
            )
        return post["id"]

    ids = await asyncio.gather(
        *[write(u if n % 2 else other, "cy" if n % 2 else "en", n) for n in range(8)]
    )
    rows = await pool.fetch("SELECT id, lang, body_md FROM posts WHERE id = ANY($1)", ids)
    assert len(rows) == 8
    assert all(r["lang"] == r["body_md"].split()[0] for r in rows)
    # The pseudo-locale's posts are English.
    with i18n.using(i18n.PSEUDO):
        assert posts.post_lang() == "en"


async def test_socket_errors_come_in_the_connections_language(world, server, browser_factory, pool):
    c, _, t, u = await _thread(world)
    clients: list[socketio.AsyncClient] = []

    async def connect(headers: dict[str, str]) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(
            str(server.make_url("/")), headers=headers, transports=["websocket"], wait_timeout=10
        )
        clients.append(sio)
        return sio

    try:
        by_cookie = await connect({"Cookie": f"{i18n.COOKIE}=cy"})
        ack = await by_cookie.call("join", {"room": "thread:999999999"}, timeout=10)
        assert ack["ok"] is False
        assert ack["error"]["message"] == "Nid oes trafodaeth o’r fath."
        ack = await by_cookie.call("join", {}, timeout=10)
        assert ack["error"]["message"] == "Dywedwch pa ystafell."
        assert ack["error"]["fields"] == {"room": "Gofynnol"}

        by_header = await connect({"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"})
        ack = await by_header.call("nonsense", {}, timeout=10)
        assert ack["error"]["message"] == "Nid oes digwyddiad 'nonsense'."

        english = await connect({})
        ack = await english.call("join", {"room": "thread:999999999"}, timeout=10)
        assert ack["error"]["message"] == "No such thread."

        # A member's account language, with no language chosen in this browser: a refusal
        # from the posting service itself, in Welsh; a choice made with the switch's cookie
        # comes first (as for pages: confer.web.language_middleware).
        await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", u["id"])
        b = await browser_factory(u["email"])
        cookie = next(k.value for k in b.session.cookie_jar if k.key == "confer_session")
        member = await connect({"Cookie": f"confer_session={cookie}"})
        ack = await member.call(
            "post", {"thread_id": t["id"], "body": "Helo", "reply_to": "abc"}, timeout=10
        )
        assert ack["ok"] is False
        assert ack["error"]["fields"] == {"reply_to": "Rhaid i ‘Ateb i’ fod yn rif neges"}
        ack = await member.call("post", {"body": "Helo"}, timeout=10)
        assert ack["error"]["message"] == "Dywedwch pa drafodaeth."
        chose_english = await connect({"Cookie": f"confer_session={cookie}; {i18n.COOKIE}=en"})
        ack = await chose_english.call("post", {"body": "Helo"}, timeout=10)
        assert ack["error"]["message"] == "Say which thread."
    finally:
        for sio in clients:
            if sio.connected:
                await sio.disconnect()


async def test_welsh_posts_are_found_by_their_welsh_words(world, browser_factory, pool):
    c, _, t, u = await _thread(world)
    writer = await browser_factory(u["email"])
    _welsh(writer)
    wanted = "Mae’r cynllun ar gael i bawb sydd am ymuno â’r gwasanaeth."
    other = "Dyma’r cyngor sydd ar gael gan y gwasanaeth iechyd."
    for key, body in (("w1", wanted), ("w2", other)):
        r, _ = await writer.post(
            f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": body, "idempotency_key": key}
        )
        assert r.status == 303
    ids = {
        r["idempotency_key"]: r["id"]
        for r in await pool.fetch("SELECT id, idempotency_key FROM posts WHERE lang = 'cy'")
    }
    # The premise: English reads "am" (and "i") as stop words, so "sydd am" is "sydd" to it,
    # which both posts have; and "am" alone is nothing at all.
    assert await pool.fetchval(
        "SELECT to_tsvector('english', $1) @@ websearch_to_tsquery('english', 'sydd am')", other
    )
    assert await pool.fetchval("SELECT numnode(websearch_to_tsquery('english', 'am'))") == 0

    reader = await browser_factory()
    for query, expected in (("sydd am", ["w1"]), ("am", ["w1"]), ("gwasanaeth", ["w1", "w2"])):
        r, body = await reader.api(
            "GET", f"/api/v1/conferences/{c['slug']}/search?q={query.replace(' ', '+')}"
        )
        assert r == 200, body
        found = sorted(h["id"] for h in body["results"])
        assert found == sorted(ids[k] for k in expected), query
        assert body["notice"] is None
    # A Welsh reader's page, with the snippet marked as Welsh where the page is English.
    _, text = await reader.get(f"/c/{c['slug']}/search?q=sydd+am")
    assert "1 result for ‘sydd am’" in text
    assert 'lang="cy"><mark>' in text or 'lang="cy">Mae' in text
    welsh_reader = await browser_factory()
    _welsh(welsh_reader)
    _, text = await welsh_reader.get(f"/c/{c['slug']}/search?q=sydd+am")
    assert "1 canlyniad ar gyfer ‘sydd am’" in text
    # English posts are still found by their stems.
    await insert_post(pool, t["id"], u["id"], None, "Our policies on care.", "<p>x</p>", None)
    r, body = await reader.api("GET", f"/api/v1/conferences/{c['slug']}/search?q=policy")
    assert len(body["results"]) == 1


async def test_kept_post_html_is_never_served_to_a_reader_of_the_other_language(
    world, browser_factory, pool
):
    c, _, t, u = await _thread(world)
    first = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", t["id"])
    await pool.execute("UPDATE posts SET edited_at = now() WHERE id = $1", first)
    english, welsh = await browser_factory(), await browser_factory()
    _welsh(welsh)
    for _ in range(2):  # the second round is served from the kept fragments
        _, text = await english.get(f"/c/{c['slug']}/threads/{t['id']}")
        post = _articles(text)[first]
        assert "(edited)" in post and "(golygwyd)" not in post
        _, text = await welsh.get(f"/c/{c['slug']}/threads/{t['id']}")
        post = _articles(text)[first]
        assert "(golygwyd)" in post and "(edited)" not in post


def test_fragments_are_kept_per_language():
    fragments = PostFragments()
    post = {
        "id": 1, "thread_id": 1, "seq": 1, "status": "visible", "created_at": None,
        "edited_at": None, "pinned_at": None, "hidden_reason": None, "placeholder": None,
        "body_html": "<p>x</p>", "author_name": "A", "author_title": "", "author_role": "",
        "author_organisation": "", "reply_to_id": None, "reply_to_name": None, "mine": False,
        "lang": "en",
    }  # fmt: skip
    conference = {"slug": "c", "timezone": "Europe/London"}

    def macro(p: Any) -> str:
        return i18n.gettext("Reply")

    for code, text in (("en", "Reply"), ("cy", "Ateb"), ("en", "Reply"), ("cy", "Ateb")):
        with i18n.using(code):
            html = fragments(macro, [post], conference, 1, 1, True, True, False)
        assert html == text, code
    assert fragments.hits == 2 and fragments.misses == 2
