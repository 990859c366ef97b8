"""Moderation through the pages, without JavaScript: tools render, forms act, people see the result."""

from __future__ import annotations


async def _setup(world):
    c = await world.conference()
    s = await world.session(c)
    fac = await world.user(name="Faye Facilitator")
    await world.member(c, fac, "facilitator")
    author = await world.user(name="Ann Author")
    reader = await world.user(name="Rita Reader")
    await world.member(c, author, "participant")
    await world.member(c, reader, "participant")
    t = await world.thread(s, author)
    return c, s, t, fac, author, reader


async def test_facilitator_hides_a_post_and_readers_see_the_reason_not_the_text(
    world, browser_factory, pool
):
    c, s, t, fac, author, reader = await _setup(world)
    post_id = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", t["id"])
    f = await browser_factory(fac["email"])
    _, text = await f.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Facilitator tools for this thread" in text and "Hide post" in text
    r, _ = await f.post(
        f"/c/{c['slug']}/posts/{post_id}/moderate",
        {"action": "hide", "reason_choice": "Personal attack", "reason": ""},
    )
    assert r.status == 303
    rd = await browser_factory(reader["email"])
    _, text = await rd.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Removed by a facilitator: Personal attack" in text and "Post number 1" not in text
    au = await browser_factory(author["email"])
    _, text = await au.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Post number 1" in text and "Removed by a facilitator: Personal attack" in text
    assert "Hide post" not in text  # participants get no moderation tools
    _, text = await f.get(f"/c/{c['slug']}/moderation")
    assert "post.hide" in text and "Personal attack" in text


async def test_member_reports_a_post_and_the_facilitator_resolves_it(world, browser_factory, pool):
    c, s, t, fac, author, reader = await _setup(world)
    post_id = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", t["id"])
    rd = await browser_factory(reader["email"])
    r, text = await rd.get(f"/c/{c['slug']}/posts/{post_id}/flag")
    assert r.status == 200 and "Why are you reporting it?" in text
    r, text = await rd.post(f"/c/{c['slug']}/posts/{post_id}/flag", {"reason": "other", "note": ""})
    assert r.status == 422 and 'href="#note"' in text
    r, _ = await rd.post(
        f"/c/{c['slug']}/posts/{post_id}/flag", {"reason": "disrespectful", "note": "rude"}
    )
    assert r.status == 303
    f = await browser_factory(fac["email"])
    _, text = await f.get(f"/c/{c['slug']}/moderation")
    assert "1 report" in text and "Disrespectful: rude" in text
    r, _ = await f.post(f"/c/{c['slug']}/posts/{post_id}/flags/resolve", {"outcome": "keep"})
    assert r.status == 303
    _, text = await f.get(f"/c/{c['slug']}/moderation")
    assert "No open reports." in text


async def test_locking_and_summarising_show_on_the_thread_page(world, browser_factory):
    c, s, t, fac, author, reader = await _setup(world)
    f = await browser_factory(fac["email"])
    r, text = await f.post(
        f"/c/{c['slug']}/threads/{t['id']}/moderate", {"action": "lock", "reason": ""}
    )
    assert r.status == 422 and "Enter reason" in text
    await f.post(
        f"/c/{c['slug']}/threads/{t['id']}/moderate",
        {"action": "lock", "reason": "Moved to the café"},
    )
    await f.post(
        f"/c/{c['slug']}/threads/{t['id']}/moderate",
        {"action": "summarise", "summary": "We **agreed** on three things."},
    )
    au = await browser_factory(author["email"])
    _, text = await au.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "A facilitator locked this thread: Moved to the café" in text
    assert "We <strong>agreed</strong> on three things." in text
    assert "data-composer" not in text
    r, text = await au.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "Can I still?"})
    assert r.status == 403 and "locked this thread" in text and "Can I still?" in text


async def test_pending_posts_show_to_their_author_as_awaiting_approval(
    world, browser_factory, pool
):
    c, s, t, fac, author, reader = await _setup(world)
    f = await browser_factory(fac["email"])
    await f.post(f"/c/{c['slug']}/threads/{t['id']}/moderate", {"action": "premoderate"})
    au = await browser_factory(author["email"])
    await au.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "Queued words"})
    _, text = await au.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Awaiting approval" in text and "Queued words" in text
    rd = await browser_factory(reader["email"])
    _, text = await rd.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Queued words" not in text
    _, text = await f.get(f"/c/{c['slug']}/moderation")
    assert "Queued words" in text
    post_id = await pool.fetchval("SELECT id FROM posts WHERE status = 'pending'")
    r, _ = await f.post(f"/c/{c['slug']}/posts/{post_id}/moderate", {"action": "approve"})
    assert r.status == 303
    _, text = await rd.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Queued words" in text


async def test_participants_cannot_open_the_moderation_page_or_act(world, browser_factory, pool):
    c, s, t, fac, author, reader = await _setup(world)
    post_id = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", t["id"])
    rd = await browser_factory(reader["email"])
    r, _ = await rd.get(f"/c/{c['slug']}/moderation")
    assert r.status == 403
    r, _ = await rd.post(
        f"/c/{c['slug']}/posts/{post_id}/moderate", {"action": "hide", "reason": "x"}
    )
    assert r.status == 403
    assert await pool.fetchval("SELECT status FROM posts WHERE id = $1", post_id) == "visible"
