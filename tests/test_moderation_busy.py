"""Issue #23, items 5 and 4 (delete): the moderation page on a busy day, and deleting your own
post asks first and can be undone for a while.

Real server, real PostgreSQL, pages read as a browser without JavaScript reads them."""

from __future__ import annotations

import re

from confer import i18n
from tests.conftest import World


async def _scene(world: World, title: str = "Budgets") -> tuple[dict, dict, dict, dict, dict]:
    c = await world.conference()
    s = await world.session(c)
    fac = await world.user(name="Sam Smith")
    await world.member(c, fac, "facilitator")
    author = await world.user(name="Pat Jones")
    await world.member(c, author, "participant")
    t = await world.thread(s, author, title=title)
    return c, s, t, fac, author


async def _reporters(world: World, c: dict, n: int) -> list[dict]:
    out = []
    for i in range(n):
        u = await world.user(name=f"Reporter {i}")
        await world.member(c, u, "participant")
        out.append(u)
    return out


async def _first_post(pool, thread_id: int) -> int:
    return await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1 ORDER BY seq", thread_id)


def _item(text: str, anchor: str) -> str:
    """One queue item of the moderation page (from its id to the next item or heading)."""
    start = text.index(f'id="{anchor}"')
    end = min(
        (i for i in (text.find("confer-queue-item", start + 1), text.find("<h2", start)) if i > 0),
        default=len(text),
    )
    return text[start:end]


# --- long posts folded ------------------------------------------------------------------


async def test_a_long_reported_post_is_folded_behind_show_all_so_keep_and_hide_stay_near(
    world, browser_factory, pool
):
    c, s, t, fac, author = await _scene(world)
    a = await browser_factory(author["email"])
    long_body = " ".join(f"word{i}" for i in range(1700))  # ~15,000 characters
    status, post = await a.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": long_body})
    assert status == 201, post
    short_id = await _first_post(pool, t["id"])
    (rep,) = await _reporters(world, c, 1)
    r = await browser_factory(rep["email"])
    for pid in (post["id"], short_id):
        status, _body = await r.api("POST", f"/api/v1/posts/{pid}/flags", {"reason": "spam"})
        assert status == 201
    f = await browser_factory(fac["email"])
    _, page = await f.get(f"/c/{c['slug']}/moderation")
    item = _item(page, f"flagged-{post['id']}")
    # The start of the post, then the whole of it inside a native <details> ("Show all").
    before_details = item[: item.index("<details")]
    assert "word0 word1" in before_details and "word1699" not in before_details
    assert "Show all of this post" in item and "word1699" in item
    # Keep and Hide come right after the post, not after 15,000 characters of it.
    visible = re.sub(r"<details.*?</details>", "", item, flags=re.DOTALL)
    assert visible.index("Keep the post") < 2500
    # A short post is shown whole, with nothing to open.
    short = _item(page, f"flagged-{short_id}")
    assert "Post number 1" in short and "<details" not in short


# --- the hide reason follows the reports ------------------------------------------------


def _selected(item: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)" selected>', item)


async def test_the_reason_for_hiding_defaults_to_what_the_reports_said(
    world, browser_factory, pool
):
    c, s, t, fac, author = await _scene(world)
    post_id = await _first_post(pool, t["id"])
    reporters = await _reporters(world, c, 3)
    for u, reason in zip(reporters, ("spam", "disrespectful", "spam"), strict=True):
        b = await browser_factory(u["email"])
        status, _body = await b.api("POST", f"/api/v1/posts/{post_id}/flags", {"reason": reason})
        assert status == 201
    f = await browser_factory(fac["email"])
    _, page = await f.get(f"/c/{c['slug']}/moderation")
    assert _selected(_item(page, f"flagged-{post_id}")) == ["Spam or advertising"]
    # Hiding with the suggested reason: that is the reason readers see.
    r, _ = await f.post(
        f"/c/{c['slug']}/posts/{post_id}/flags/resolve",
        {"outcome": "hide", "reason_choice": "Spam or advertising", "reason": ""},
    )
    assert r.status == 303
    assert await pool.fetchval("SELECT hidden_reason FROM posts WHERE id = $1", post_id) == (
        "Spam or advertising"
    )


async def test_reports_that_only_say_something_else_ask_the_facilitator_to_write_a_reason(
    world, browser_factory, pool
):
    c, s, t, fac, author = await _scene(world)
    post_id = await _first_post(pool, t["id"])
    (u,) = await _reporters(world, c, 1)
    b = await browser_factory(u["email"])
    status, _ = await b.api(
        "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "other", "note": "odd"}
    )
    assert status == 201
    f = await browser_factory(fac["email"])
    _, page = await f.get(f"/c/{c['slug']}/moderation")
    assert _selected(_item(page, f"flagged-{post_id}")) == ["other"]
    r, text = await f.post(
        f"/c/{c['slug']}/posts/{post_id}/flags/resolve",
        {"outcome": "hide", "reason_choice": "other", "reason": ""},
    )
    assert r.status == 422 and "Enter reason" in text
    # In Welsh, the suggestion is the Welsh reason.
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", fac["id"])
    (u2,) = await _reporters(world, c, 1)
    b2 = await browser_factory(u2["email"])
    await b2.api("POST", f"/api/v1/posts/{post_id}/flags", {"reason": "off_topic"})
    _, page = await f.get(f"/c/{c['slug']}/moderation")
    with i18n.using("cy"):
        welsh = i18n.gettext("Off-topic")
    assert welsh != "Off-topic"
    assert _selected(_item(page, f"flagged-{post_id}")) == [welsh]


# --- member controls by state -----------------------------------------------------------


def _row(page: str, user_id: int) -> str:
    start = page.index(f'id="member-{user_id}"')
    return page[start : page.index("</tr>", start)]


async def test_each_member_row_offers_only_the_actions_that_apply(world, browser_factory, pool):
    c, s, t, fac, author = await _scene(world)
    org = await world.user(name="Olive Organiser")
    await world.member(c, org, "organiser")
    o = await browser_factory(org["email"])
    path = f"/c/{c['slug']}/moderation"
    _, page = await o.get(path)
    row = _row(page, author["id"])
    assert 'value="mute"' in row and 'value="premoderate"' in row and 'value="remove"' in row
    assert 'value="unmute"' not in row and 'value="unpremoderate"' not in row

    r, _ = await o.post(
        f"/c/{c['slug']}/members/{author['id']}/moderate",
        {"action": "mute", "minutes": "30", "reason": "Cooling off"},
    )
    assert r.status == 303
    await o.post(f"/c/{c['slug']}/members/{author['id']}/moderate", {"action": "premoderate"})
    _, page = await o.get(path)
    row = _row(page, author["id"])
    assert 'value="unmute"' in row and 'value="unpremoderate"' in row
    assert 'value="mute"' not in row and 'value="premoderate"' not in row
    assert "Muted until" in row and "Posts wait for approval" in row

    # A mute that has run out is no mute: "Mute" is offered again.
    await pool.execute(
        "UPDATE memberships SET muted_until = now() - interval '1 minute' "
        "WHERE conference_id = $1 AND user_id = $2",
        c["id"],
        author["id"],
    )
    _, page = await o.get(path)
    row = _row(page, author["id"])
    assert 'value="mute"' in row and 'value="unmute"' not in row


# --- the log in plain words, in the reader's language ------------------------------------


async def test_the_log_reads_as_sentences_in_the_readers_language(world, browser_factory, pool):
    c, s, t, fac, author = await _scene(world)
    post_id = await _first_post(pool, t["id"])
    org = await world.user(name="Olive Organiser")
    await world.member(c, org, "organiser")
    f = await browser_factory(fac["email"])
    await f.post(
        f"/c/{c['slug']}/posts/{post_id}/moderate",
        {"action": "hide", "reason_choice": "Personal attack", "reason": ""},
    )
    await f.post(f"/c/{c['slug']}/threads/{t['id']}/moderate", {"action": "pin"})
    o = await browser_factory(org["email"])
    await o.post(
        f"/c/{c['slug']}/members/{author['id']}/moderate",
        {"action": "mute", "minutes": "30", "reason": "Cooling off"},
    )
    (u,) = await _reporters(world, c, 1)
    b = await browser_factory(u["email"])
    await f.post(f"/c/{c['slug']}/posts/{post_id}/moderate", {"action": "restore"})
    await b.api("POST", f"/api/v1/posts/{post_id}/flags", {"reason": "spam"})
    await f.post(f"/c/{c['slug']}/posts/{post_id}/flags/resolve", {"outcome": "keep"})

    sentences = {
        "hid": ("%(actor)s hid a post by %(name)s in “%(thread)s”", {"actor": "Sam Smith"}),
        "pin": ("%(actor)s pinned the thread “%(thread)s”", {"actor": "Sam Smith"}),
        "keep": (
            "%(actor)s kept a reported post by %(name)s in “%(thread)s”",
            {"actor": "Sam Smith"},
        ),
    }
    values = {"name": "Pat Jones", "thread": "Budgets"}
    _, page = await o.get(f"/c/{c['slug']}/moderation")
    log = page[page.index('id="log"') :]
    for msgid, extra in sentences.values():
        assert msgid % {**values, **extra} in log
    assert "Olive Organiser muted Pat Jones for 30 minutes" in log
    # No codes in the words people read.
    words = re.sub(r"<[^>]+>", " ", log)
    for code in ("post.hide", "flags.keep", "thread.pin", "member.mute", "(post "):
        assert code not in words

    # The same log in Welsh, for an organiser who reads Welsh.
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", org["id"])
    _, page = await o.get(f"/c/{c['slug']}/moderation")
    log = page[page.index('id="log"') :]
    with i18n.using("cy"):
        for msgid, extra in sentences.values():
            welsh = i18n.gettext(msgid) % {**values, **extra}
            assert welsh != msgid % {**values, **extra}
            assert welsh in log, welsh
        mute = i18n.ngettext(
            "%(actor)s muted %(name)s for %(num)d minute",
            "%(actor)s muted %(name)s for %(num)d minutes",
            30,
        ) % {"actor": "Olive Organiser", "name": "Pat Jones", "num": 30}
    assert "minutes" not in mute and mute in log


def test_every_logged_action_has_a_whole_sentence_in_both_languages():
    from confer.reports.service import ACTION_NAMES, log_sentence

    row = {
        "actor_name": "Sam Smith",
        "target_name": "Pat Jones",
        "thread_title": "Budgets",
        "session_title": "Housing",
        "details": {"minutes": 5, "seconds": 30},
    }
    for lang in ("en", "cy"):
        with i18n.using(lang):
            for code in ACTION_NAMES:
                text = log_sentence({**row, "action": code})
                assert "%(" not in text and code not in text and ": " not in text, (lang, text)
                assert "Sam Smith" in text or code == "post.auto_hide", (lang, text)


# --- a confirmation after every action, where the facilitator was -------------------------


async def test_after_each_action_the_facilitator_returns_where_they_were_with_a_banner(
    world, browser_factory, pool
):
    c, s, t, fac, author = await _scene(world)
    post_id = await _first_post(pool, t["id"])
    f = await browser_factory(fac["email"])
    thread = f"/c/{c['slug']}/threads/{t['id']}"

    for action, words in (
        ("pin", "The thread is pinned to the top of its session."),
        ("lock", "The thread is locked."),
        ("slow_mode", "Slow mode has been set."),
    ):
        form = {"action": action, "reason": "Moved to the café", "seconds": "30"}
        r, _ = await f.post(f"{thread}/moderate", form)
        assert r.status == 303
        where = r.headers["Location"]
        assert where.startswith(thread) and where.endswith("#done"), where
        _, page = await f.get(where)
        assert words in page and 'id="done"' in page

    # A post's action lands on the banner drawn beside the post.
    r, _ = await f.post(
        f"/c/{c['slug']}/posts/{post_id}/moderate",
        {"action": "hide", "reason_choice": "Personal attack", "reason": ""},
    )
    where = r.headers["Location"]
    assert where.startswith(thread) and where.endswith("#done"), where
    assert f"post={post_id}" in where, where
    _, page = await f.get(where)
    article = page[page.index(f'id="post-{post_id}"') :]
    article = article[: article.index("</article>")]
    assert "The post is hidden." in article

    # From the moderation page, back to it, with the banner.
    (u,) = await _reporters(world, c, 1)
    b = await browser_factory(u["email"])
    await f.post(f"/c/{c['slug']}/posts/{post_id}/moderate", {"action": "restore"})
    await b.api("POST", f"/api/v1/posts/{post_id}/flags", {"reason": "spam"})
    moderation = f"/c/{c['slug']}/moderation"
    async with f.session.post(
        f.url(f"/c/{c['slug']}/posts/{post_id}/flags/resolve"),
        data={"outcome": "keep", "csrf_token": f.csrf},
        headers={"Referer": f.url(moderation)},
        allow_redirects=False,
    ) as r:
        where = r.headers["Location"]
    assert where.startswith(f"{moderation}?done=flags-keep") and where.endswith("#done")
    _, page = await f.get(where)
    assert "The reports are closed and the post is kept." in page

    org = await world.user(name="Olive Organiser")
    await world.member(c, org, "organiser")
    o = await browser_factory(org["email"])
    r, _ = await o.post(f"/c/{c['slug']}/members/{author['id']}/moderate", {"action": "unmute"})
    _, page = await o.get(r.headers["Location"])
    assert "The member can post again." in page

    # The banner's words come from Confer's list only, and only for those who acted.
    reader = await browser_factory(u["email"])
    _, page = await reader.get(f"{thread}?done=post-hide&post={post_id}")
    assert "The post is hidden." not in page
    _, page = await f.get(f"{thread}?done=you-are-banned")
    assert 'id="done"' not in page


# --- Pinned labels ----------------------------------------------------------------------


async def test_a_pinned_thread_carries_a_pinned_tag_in_the_session_list_and_on_its_page(
    world, browser_factory
):
    c, s, t, fac, author = await _scene(world)
    other = await world.thread(s, author, title="Other thread")
    a = await browser_factory(author["email"])
    _, page = await a.get(f"/c/{c['slug']}/sessions/{s['id']}")
    assert "confer-pinned-tag" not in page
    f = await browser_factory(fac["email"])
    await f.post(f"/c/{c['slug']}/threads/{t['id']}/moderate", {"action": "pin"})
    _, page = await a.get(f"/c/{c['slug']}/sessions/{s['id']}")
    row = page[page.index(f'data-thread-id="{t["id"]}"') :]
    row = row[: row.index("</tr>")]
    assert "Pinned</strong>" in row
    other_row = page[page.index(f'data-thread-id="{other["id"]}"') :]
    assert "Pinned</strong>" not in other_row[: other_row.index("</tr>")]
    _, page = await a.get(f"/c/{c['slug']}/threads/{t['id']}")
    h1 = page[page.index("<h1") : page.index("</h1>")]
    assert "Pinned" in h1
    await _unpin(f, c, t)
    _, page = await a.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Pinned" not in page[page.index("<h1") : page.index("</h1>")]


async def _unpin(f, c: dict, t: dict) -> None:
    r, _ = await f.post(f"/c/{c['slug']}/threads/{t['id']}/moderate", {"action": "unpin"})
    assert r.status == 303


# --- deleting your own post asks first, and can be undone for a while ---------------------


async def test_deleting_asks_first_then_can_be_undone_then_is_final(world, browser_factory, pool):
    c, s, t, fac, author = await _scene(world)
    a = await browser_factory(author["email"])
    status, post = await a.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "My second thoughts"}
    )
    assert status == 201
    pid = post["id"]
    thread = f"/c/{c['slug']}/threads/{t['id']}"
    _, page = await a.get(thread)
    # "Delete" is a link to a question, not a button that deletes.
    assert f'href="/c/{c["slug"]}/posts/{pid}/delete"' in page
    r, page = await a.get(f"/c/{c['slug']}/posts/{pid}/delete")
    assert r.status == 200 and "Delete this post?" in page and "My second thoughts" in page
    assert "Yes, delete this post" in page and "10 minutes" in page
    assert await pool.fetchval("SELECT status FROM posts WHERE id = $1", pid) == "visible"
    count = await pool.fetchval("SELECT post_count FROM threads WHERE id = $1", t["id"])

    r, _ = await a.post(f"/c/{c['slug']}/posts/{pid}/delete")
    assert r.status == 303
    where = r.headers["Location"]
    assert "done=post-deleted" in where and where.endswith("#done")
    _, page = await a.get(where)
    assert "Your post has been deleted." in page and "My second thoughts" not in page
    assert f'action="/c/{c["slug"]}/posts/{pid}/undelete"' in page
    # Others never see the Undo, even with the same address.
    f = await browser_factory(fac["email"])
    _, page = await f.get(where)
    assert "/undelete" not in page

    r, _ = await a.post(f"/c/{c['slug']}/posts/{pid}/undelete")
    assert r.status == 303 and "done=post-restored" in r.headers["Location"]
    _, page = await a.get(r.headers["Location"])
    assert "My second thoughts" in page and "Your post is back." in page
    row = await pool.fetchrow("SELECT status, body_md FROM posts WHERE id = $1", pid)
    assert tuple(row) == ("visible", "My second thoughts")
    assert await pool.fetchval("SELECT post_count FROM threads WHERE id = $1", t["id"]) == count

    # Deleted again, and the window passes: no Undo, and undoing is refused.
    await a.post(f"/c/{c['slug']}/posts/{pid}/delete")
    await pool.execute(
        "UPDATE post_deletions SET undo_until = now() - interval '1 second' WHERE post_id = $1",
        pid,
    )
    _, page = await a.get(f"{thread}?done=post-deleted&post={pid}")
    assert "/undelete" not in page
    r, page = await a.post(f"/c/{c['slug']}/posts/{pid}/undelete")
    assert r.status == 409 and "restored for 10 minutes" in page
    assert await pool.fetchval("SELECT status FROM posts WHERE id = $1", pid) == "deleted"
    # Final: the next deletion anywhere purges the kept text.
    status, other = await a.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "x"})
    await a.api("DELETE", f"/api/v1/posts/{other['id']}")
    assert await pool.fetchval("SELECT count(*) FROM post_deletions WHERE post_id = $1", pid) == 0


async def test_undo_through_the_api_is_the_same_path_with_the_same_checks(
    world, browser_factory, pool
):
    c, s, t, fac, author = await _scene(world)
    a = await browser_factory(author["email"])
    status, post = await a.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "Oops"})
    pid = post["id"]
    status, body = await a.api("DELETE", f"/api/v1/posts/{pid}")
    assert status == 200 and body["status"] == "deleted"
    f = await browser_factory(fac["email"])
    status, body = await f.api("POST", f"/api/v1/posts/{pid}/undelete")
    assert status == 403, body  # only the author
    status, body = await a.api("POST", f"/api/v1/posts/{pid}/undelete")
    assert status == 200 and body["status"] == "visible" and "Oops" in body["html"]
    status, body = await a.api("POST", f"/api/v1/posts/{pid}/undelete")
    assert status == 409  # not deleted
    # In Welsh, the refusal after the window is Welsh.
    await a.api("DELETE", f"/api/v1/posts/{pid}")
    await pool.execute("UPDATE post_deletions SET undo_until = now() WHERE post_id = $1", pid)
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", author["id"])
    status, body = await a.api("POST", f"/api/v1/posts/{pid}/undelete")
    assert status == 409
    with i18n.using("cy"):
        expected = i18n.ngettext(
            "A deleted post can be restored for %(num)d minute after deleting it.",
            "A deleted post can be restored for %(num)d minutes after deleting it.",
            10,
        ) % {"num": 10}
    assert "restored" not in expected and expected in str(body)
