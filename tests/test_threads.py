"""Threads and posts: starting threads, posting, the time box, roles, idempotency,
editing and deleting, replies, pagination and what is new to a reader."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from confer.context import Ctx
from confer.errors import Closed, Forbidden
from confer.live.hub import Hub
from confer.policy import Actor
from confer.posts import service as posts
from confer.settings import Settings
from tests.conftest import World


async def _live_thread(world: World, *, role: str = "participant", **session_kw):
    c = await world.conference()
    s = await world.session(c, **session_kw)
    staff = await world.user(name="Faye Facilitator")
    await world.member(c, staff, "facilitator")
    t = await world.thread(s, staff)
    u = await world.user(name="Sam Taylor", title="Cllr", organisation="Bristol City Council")
    await world.member(c, u, role)
    return c, s, t, u


async def test_participant_posts_without_javascript_and_is_taken_to_the_post(
    world, browser_factory, pool
):
    c, _, t, u = await _live_thread(world)
    b = await browser_factory(u["email"])
    r, _ = await b.post(
        f"/c/{c['slug']}/threads/{t['id']}/posts",
        {"body": "Hello **all**", "idempotency_key": "k1"},
    )
    assert r.status == 303
    post_id = await pool.fetchval("SELECT id FROM posts WHERE author_id = $1", u["id"])
    assert r.headers["Location"].endswith(f"#post-{post_id}")
    _, text = await b.get(r.headers["Location"])
    assert f'id="post-{post_id}"' in text
    assert "Hello <strong>all</strong>" in text
    assert "Cllr Sam Taylor" in text and "Bristol City Council" in text


async def test_a_retried_submission_never_duplicates(world, browser_factory, pool):
    c, _, t, u = await _live_thread(world)
    b = await browser_factory(u["email"])
    form = {"body": "Only once please", "idempotency_key": "same-key"}
    r1, _ = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", form)
    r2, _ = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", form)
    assert r1.headers["Location"] == r2.headers["Location"]
    assert await pool.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", u["id"]) == 1


async def test_concurrent_retries_with_one_key_make_one_post(world, settings, pool):
    c, _, t, u = await _live_thread(world)
    ctx = Ctx(pool=pool, settings=settings, hub=Hub())
    actor = Actor(user_id=u["id"], name=u["name"], via="cookie")
    results = await asyncio.gather(
        *[
            posts.create_post(
                ctx, actor, c["slug"], t["id"], {"body": "x", "idempotency_key": "dup"}
            )
            for _ in range(10)
        ]
    )
    assert len({p["id"] for p, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert await pool.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", u["id"]) == 1


async def test_a_thread_locked_between_the_check_and_the_write_takes_no_post(
    world, settings, pool, monkeypatch
):
    """The write re-checks the time box under the thread's lock: a lock (or close) that lands
    after create_post read the thread as open refuses the post and uses no seq."""
    from confer.posts import queries as posts_q

    c, _, t, u = await _live_thread(world)
    ctx = Ctx(pool=pool, settings=settings, hub=Hub())
    actor = Actor(user_id=u["id"], name=u["name"], via="cookie")
    real_write = posts_q.write_post

    async def lock_first(con, **kw):
        await pool.execute(
            "UPDATE threads SET locked_at = now(), lock_reason = 'Cooling off' WHERE id = $1",
            t["id"],
        )
        return await real_write(con, **kw)

    monkeypatch.setattr(posts_q, "write_post", lock_first)
    last_seq = await pool.fetchval("SELECT last_seq FROM threads WHERE id = $1", t["id"])
    with pytest.raises(Closed) as refused:
        await posts.create_post(ctx, actor, c["slug"], t["id"], {"body": "Just in time?"})
    assert "Cooling off" in refused.value.message
    assert await pool.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", u["id"]) == 0
    assert await pool.fetchval("SELECT last_seq FROM threads WHERE id = $1", t["id"]) == last_seq


async def test_concurrent_posts_get_gap_free_ordered_seqs(world, settings, pool):
    c, _, t, u = await _live_thread(world)
    ctx = Ctx(pool=pool, settings=settings, hub=Hub())
    actor = Actor(user_id=u["id"], name=u["name"], via="cookie")
    await asyncio.gather(
        *[posts.create_post(ctx, actor, c["slug"], t["id"], {"body": f"p{i}"}) for i in range(30)]
    )
    seqs = [
        r["seq"]
        for r in await pool.fetch(
            "SELECT seq FROM posts WHERE thread_id = $1 ORDER BY seq", t["id"]
        )
    ]
    assert seqs == list(range(1, 32))
    assert await pool.fetchval("SELECT post_count FROM threads WHERE id = $1", t["id"]) == 31


async def test_refused_post_keeps_its_text_in_the_form(world, browser_factory):
    c, _, t, u = await _live_thread(world)
    b = await browser_factory(u["email"])
    long_text = "word " * 4001  # 20,005 characters
    r, text = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": long_text})
    assert r.status == 413
    assert "20,000 characters or fewer" in text
    assert long_text.strip() in text
    r, text = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "   "})
    assert r.status == 422 and "Enter your post" in text


@pytest.mark.parametrize(
    ("starts_in", "lasts", "expected"),
    [
        (timedelta(seconds=5), timedelta(hours=1), "opens for posts at"),
        (timedelta(hours=-2), timedelta(hours=1, minutes=59, seconds=58), "closed for posts at"),
    ],
)
async def test_posting_is_refused_outside_the_session_window_with_the_time(
    world, browser_factory, pool, starts_in, lasts, expected
):
    c, _, t, u = await _live_thread(world, starts_in=starts_in, lasts=lasts)
    b = await browser_factory(u["email"])
    r, text = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "Too soon or late"})
    assert r.status == 403
    assert expected in text and "(UK time)" in text
    assert "Too soon or late" in text  # kept for the person
    assert await pool.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", u["id"]) == 0


async def test_posting_window_boundaries_follow_the_database_clock(world, settings, pool):
    """Open at starts_at exactly; closed at ends_at exactly (half-open window)."""
    c, s, t, u = await _live_thread(world)
    ctx = Ctx(pool=pool, settings=settings, hub=Hub())
    actor = Actor(user_id=u["id"], name=u["name"], via="cookie")

    async def post_at(offset_start: str, offset_end: str) -> bool:
        # now() is fixed for a transaction; move the window relative to it.
        await pool.execute(
            f"UPDATE sessions SET starts_at = now() + interval '{offset_start}', "
            f"ends_at = now() + interval '{offset_end}' WHERE id = $1",
            s["id"],
        )
        try:
            await posts.create_post(ctx, actor, c["slug"], t["id"], {"body": "boundary"})
        except Closed:
            return False
        return True

    assert await post_at("-1 hour", "1 hour")
    assert not await post_at("1 second", "1 hour")
    assert not await post_at("-1 hour", "-1 microsecond")


async def test_whole_conference_window_keeps_a_thread_open_after_its_session(
    world, browser_factory
):
    c, _, t, u = await _live_thread(
        world, starts_in=timedelta(hours=-3), lasts=timedelta(hours=1), window="conference"
    )
    b = await browser_factory(u["email"])
    r, _ = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "Still open"})
    assert r.status == 303


async def test_closed_conference_is_a_read_only_archive(world, browser_factory, pool):
    c, _, t, u = await _live_thread(world, window="conference")
    await pool.execute(
        "UPDATE conferences SET starts_at = now() - interval '4 days', ends_at = now() - interval '1 hour' "
        "WHERE id = $1",
        c["id"],
    )
    b = await browser_factory(u["email"])
    r, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert r.status == 200 and "Post number 1" in text
    assert "data-composer" not in text and "closed for posts at" in text
    r, _ = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "late"})
    assert r.status == 403


async def test_observer_reads_but_cannot_post(world, browser_factory, pool):
    c, _, t, u = await _live_thread(world, role="observer")
    b = await browser_factory(u["email"])
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "You are an observer" in text and "data-composer" not in text
    r, text = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "Can I?"})
    assert r.status == 403 and "Observers can read but not post" in text
    assert await pool.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", u["id"]) == 0


async def test_non_member_cannot_post_and_is_told_to_join(world, browser_factory):
    c, _, t, _ = await _live_thread(world)
    outsider = await world.user()
    b = await browser_factory(outsider["email"])
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Join this conference" in text
    r, text = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "hi"})
    assert r.status == 403 and "Join this conference to take part" in text


async def test_who_may_start_threads(world, browser_factory, pool):
    c = await world.conference()
    closed_to_participants = await world.session(c, open_threads=False)
    cafe = await world.session(c, open_threads=True, window="conference")
    panel = await world.session(c, kind="panel")
    participant = await world.user()
    facilitator = await world.user()
    scoped = await world.user()
    observer = await world.user()
    await world.member(c, participant, "participant")
    await world.member(c, facilitator, "facilitator")
    await world.member(c, scoped, "facilitator", sessions=[cafe])
    await world.member(c, observer, "observer")

    async def start(user, session) -> int:
        b = await browser_factory(user["email"])
        r, _ = await b.post(
            f"/c/{c['slug']}/sessions/{session['id']}/threads", {"title": "New", "body": "Opening"}
        )
        return r.status

    assert await start(participant, closed_to_participants) == 403
    assert await start(participant, cafe) == 303
    assert await start(facilitator, closed_to_participants) == 303
    assert await start(scoped, closed_to_participants) == 403
    assert await start(observer, cafe) == 403
    assert await start(facilitator, panel) == 403  # panels hold questions, not threads
    assert await pool.fetchval("SELECT count(*) FROM threads") == 2


async def test_facilitators_may_prepare_threads_before_their_session_opens(
    world, browser_factory, pool
):
    c = await world.conference()
    later = await world.session(c, starts_in=timedelta(hours=5), open_threads=True)
    fac, participant = await world.user(), await world.user()
    await world.member(c, fac, "facilitator")
    await world.member(c, participant, "participant")
    f = await browser_factory(fac["email"])
    r, _ = await f.post(
        f"/c/{c['slug']}/sessions/{later['id']}/threads", {"title": "Ready", "body": "Prepared"}
    )
    assert r.status == 303
    p = await browser_factory(participant["email"])
    r, text = await p.post(
        f"/c/{c['slug']}/sessions/{later['id']}/threads", {"title": "Early", "body": "x"}
    )
    assert r.status == 403 and "This session opens at" in text
    assert 'value="Early"' in text


async def test_session_page_lists_threads_with_counts_and_what_is_new(world, browser_factory):
    c, s, t, u = await _live_thread(world)
    b = await browser_factory(u["email"])
    _, text = await b.get(f"/c/{c['slug']}/sessions/{s['id']}")
    assert "A thread" in text and "data-post-count>1<" in text
    await b.get(f"/c/{c['slug']}/threads/{t['id']}")  # read it
    other = await world.user()
    await world.member(t["conference"], other, "participant")
    o = await browser_factory(other["email"])
    for i in range(2):
        await o.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": f"new {i}"})
    _, text = await b.get(f"/c/{c['slug']}/sessions/{s['id']}")
    assert "2 new" in text


async def test_posts_new_since_the_last_visit_are_marked(world, browser_factory):
    c, _, t, u = await _live_thread(world)
    b = await browser_factory(u["email"])
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    first_visit_new = text.count("confer-post--new")
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert text.count("confer-post--new") == 0
    other = await world.user()
    await world.member(t["conference"], other, "participant")
    o = await browser_factory(other["email"])
    await o.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "fresh news"})
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert text.count("confer-post--new") == 1
    assert first_visit_new == 1


async def test_thread_pages_by_fifty_with_stable_permalinks(world, browser_factory):
    c = await world.conference()
    s = await world.session(c)
    author = await world.user()
    await world.member(c, author, "participant")
    t = await world.thread(s, author, posts=120)
    b = await browser_factory()
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}?page=2")
    seqs = [int(x) for x in re.findall(r'data-seq="(\d+)"', text)]
    assert seqs == list(range(51, 101))
    assert 'aria-label="Page 3"' in text
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}?page=3")
    assert [int(x) for x in re.findall(r'data-seq="(\d+)"', text)] == list(range(101, 121))
    post_75 = re.search(
        r'id="post-(\d+)" data-seq="75"',
        (await b.get(f"/c/{c['slug']}/threads/{t['id']}?page=2"))[1],
    ).group(1)
    r, _ = await b.get(f"/c/{c['slug']}/posts/{post_75}", allow_redirects=False)
    assert r.headers["Location"] == f"/c/{c['slug']}/threads/{t['id']}?page=2#post-{post_75}"


async def test_reply_links_to_the_earlier_post(world, browser_factory, pool):
    c, _, t, u = await _live_thread(world)
    first = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1 AND seq = 1", t["id"])
    b = await browser_factory(u["email"])
    r, _ = await b.post(
        f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "I agree", "reply_to": str(first)}
    )
    assert r.status == 303
    _, text = await b.get(r.headers["Location"])
    assert (
        f'In reply to <a class="govuk-link" href="/c/{c["slug"]}/posts/{first}">Faye Facilitator</a>'
        in text
    )
    # a reply to a post of another thread is refused, naming the field
    other = await world.thread(t["session"], u)
    other_post = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", other["id"])
    status, body = await b.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "x", "reply_to": other_post}
    )
    assert status == 422 and "reply_to" in body["error"]["fields"]


async def test_author_edits_within_the_window_and_revisions_are_kept(world, browser_factory, pool):
    c, _, t, u = await _live_thread(world)
    b = await browser_factory(u["email"])
    await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "Frist"})
    post_id = await pool.fetchval("SELECT id FROM posts WHERE author_id = $1", u["id"])
    r, _ = await b.post(f"/c/{c['slug']}/posts/{post_id}/edit", {"body": "First"})
    assert r.status == 303
    row = await pool.fetchrow("SELECT body_md, edited_at FROM posts WHERE id = $1", post_id)
    assert row["body_md"] == "First" and row["edited_at"] is not None
    assert (
        await pool.fetchval("SELECT body_md FROM post_revisions WHERE post_id = $1", post_id)
        == "Frist"
    )
    await pool.execute(
        "UPDATE posts SET created_at = now() - interval '16 minutes' WHERE id = $1", post_id
    )
    r, text = await b.post(f"/c/{c['slug']}/posts/{post_id}/edit", {"body": "Too late"})
    assert r.status == 403 and "15 minutes" in text and "Too late" in text


async def test_only_the_author_edits_or_deletes(world, browser_factory, pool):
    c, _, t, u = await _live_thread(world)
    post_id = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", t["id"])
    b = await browser_factory(u["email"])
    r, _ = await b.post(f"/c/{c['slug']}/posts/{post_id}/edit", {"body": "hijack"})
    assert r.status == 403
    r, _ = await b.post(f"/c/{c['slug']}/posts/{post_id}/delete")
    assert r.status == 403
    assert (
        await pool.fetchval("SELECT body_md FROM posts WHERE id = $1", post_id) == "Post number 1"
    )


async def test_deleting_leaves_a_placeholder_and_removes_the_text(world, browser_factory, pool):
    c, _, t, u = await _live_thread(world)
    b = await browser_factory(u["email"])
    await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "My phone number is 0123"})
    post_id = await pool.fetchval("SELECT id FROM posts WHERE author_id = $1", u["id"])
    r, _ = await b.post(f"/c/{c['slug']}/posts/{post_id}/delete")
    assert r.status == 303
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "This post was deleted by its author." in text and "0123" not in text
    assert await pool.fetchval("SELECT count(*) FROM posts WHERE body_md LIKE '%0123%'") == 0
    assert await pool.fetchval("SELECT post_count FROM threads WHERE id = $1", t["id"]) == 1


async def test_markdown_is_rendered_once_on_write_and_stored_beside_the_source(
    world, browser_factory, pool
):
    c, _, t, u = await _live_thread(world)
    b = await browser_factory(u["email"])
    await b.post(
        f"/c/{c['slug']}/threads/{t['id']}/posts",
        {"body": "See https://www.local.gov.uk and <script>alert(1)</script>"},
    )
    row = await pool.fetchrow("SELECT body_md, body_html FROM posts WHERE author_id = $1", u["id"])
    assert "<script>" in row["body_md"]
    assert "<script>" not in row["body_html"] and "&lt;script&gt;" in row["body_html"]
    assert 'href="https://www.local.gov.uk" rel="nofollow ugc noopener"' in row["body_html"]


async def test_muted_member_cannot_post(world, settings, pool):
    c, _, t, u = await _live_thread(world)
    await pool.execute(
        "UPDATE memberships SET muted_until = now() + interval '1 hour' WHERE user_id = $1", u["id"]
    )
    ctx = Ctx(pool=pool, settings=Settings(database_url=settings.database_url), hub=Hub())
    with pytest.raises(Forbidden):
        await posts.create_post(
            ctx, Actor(user_id=u["id"], name="x"), c["slug"], t["id"], {"body": "hi"}
        )


async def test_kept_post_html_is_never_another_readers_or_out_of_date(world, browser_factory, pool):
    """Thread pages keep each post's HTML for the next reader (confer.fragments): the author
    still sees their Edit link, the anonymous no Report link, an edit and a hide show at once,
    and "New" follows each reader's own place in the thread."""
    c, _, t, author = await _live_thread(world)
    reader = await world.user(name="Rita Reader")
    await world.member(c, reader, "participant")
    staff = await pool.fetchrow(
        "SELECT u.email FROM users u JOIN memberships m ON m.user_id = u.id "
        "WHERE m.conference_id = $1 AND m.role = 'facilitator'",
        c["id"],
    )
    url = f"/c/{c['slug']}/threads/{t['id']}?page=1"
    a = await browser_factory(author["email"])
    await a.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "Bins on **Tuesday**"})
    post_id = await pool.fetchval("SELECT id FROM posts WHERE author_id = $1", author["id"])

    def article(text: str) -> str:
        """The post's whole <article>, opening tag included."""
        start = text.rindex("<article", 0, text.index(f'id="post-{post_id}"'))
        return text[start : text.index("</article>", start)]

    r = await browser_factory(reader["email"])
    _, seen = await r.get(url)
    assert "Report" in article(seen) and "Edit" not in article(seen)
    assert "confer-post--new" in article(seen)
    _, again = await r.get(url)  # now read: the same post, no longer new
    assert "confer-post--new" not in article(again)
    _, own = await a.get(url)
    assert "Edit" in article(own) and "Report" not in article(own)
    anonymous = await browser_factory()
    _, public = await anonymous.get(url)
    assert "Report" not in article(public) and "Reply" not in article(public)

    await a.post(f"/c/{c['slug']}/posts/{post_id}/edit", {"body": "Bins on **Wednesday**"})
    _, edited = await r.get(url)
    assert "Wednesday" in article(edited) and "Tuesday" not in article(edited)

    f = await browser_factory(staff["email"])
    await f.post(
        f"/c/{c['slug']}/posts/{post_id}/moderate",
        {"action": "hide", "reason_choice": "Off topic", "reason": ""},
    )
    _, hidden = await r.get(url)
    assert "Wednesday" not in article(hidden)
    assert "Removed by a facilitator: Off topic" in article(hidden)
