"""Searching a conference: ranking, filters, who finds hidden and pending posts, safe snippets,
pages, messages for queries that cannot be searched, and the JSON API."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import quote

from tests.conftest import insert_post

RESULT = re.compile(r'<li class="govuk-!-margin-bottom-6" id="result-(\d+)">')


async def _post(world, thread, author, body, *, status="visible", reason=None, ago=None) -> int:
    post_id = await insert_post(
        world.pool, thread["id"], author["id"], None, body, "<p>stored html</p>", None, status
    )
    if reason is not None:
        await world.pool.execute(
            "UPDATE posts SET hidden_reason = $2 WHERE id = $1", post_id, reason
        )
    if ago is not None:
        await world.pool.execute(
            "UPDATE posts SET created_at = now() - $2::interval WHERE id = $1", post_id, ago
        )
    return post_id


async def _world(world, **conference):
    c = await world.conference(**conference)
    s1 = await world.session(c, title="Engaging residents online")
    s2 = await world.session(c, title="Budgets and consultation")
    ann = await world.user(name="Ann Author", title="Cllr")
    bob = await world.user(name="Bob Writer")
    await world.member(c, ann, "participant")
    await world.member(c, bob, "participant")
    t1 = await world.thread(s1, ann, title="Using social media well", posts=0)
    t2 = await world.thread(s2, bob, title="Setting the budget", posts=0)
    return c, s1, s2, t1, t2, ann, bob


async def _api(b, c, query: str) -> tuple[int, dict]:
    return await b.api("GET", f"/api/v1/conferences/{c['slug']}/search?{query}")


def _ids(body: dict) -> list[int]:
    return [hit["id"] for hit in body["results"]]


# --- ranking -------------------------------------------------------------------------------


async def test_more_matches_rank_higher_and_stemming_finds_other_forms(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    once = await _post(world, t1, ann, "One councillor spoke about potholes and the weather.")
    many = await _post(
        world,
        t2,
        bob,
        "Every councillor agreed: a councillor must answer, and councillors should listen.",
        ago=timedelta(hours=1),  # older, so only its rank can put it first
    )
    await _post(world, t1, ann, "Nothing to see here about parks.")
    b = await browser_factory()
    status, body = await _api(b, c, "q=councillors")
    assert status == 200
    assert _ids(body) == [many, once]
    assert body["results"][0]["rank"] > body["results"][1]["rank"]


async def test_equal_rank_puts_the_newest_first(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    old = await _post(world, t1, ann, "Allotments matter.", ago=timedelta(days=1))
    new = await _post(world, t1, bob, "Allotments matter.")
    b = await browser_factory()
    _, body = await _api(b, c, "q=allotments")
    assert _ids(body) == [new, old]


async def test_phrases_or_and_minus_follow_web_search_syntax(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    phrase = await _post(world, t1, ann, "We use social media every day.")
    apart = await _post(world, t1, bob, "Media coverage of social care.")
    b = await browser_factory()
    _, body = await _api(b, c, "q=" + quote('"social media"'))
    assert _ids(body) == [phrase]
    _, body = await _api(b, c, "q=" + quote("social -coverage"))
    assert _ids(body) == [phrase]
    _, body = await _api(b, c, "q=" + quote("coverage or every"))
    assert sorted(_ids(body)) == sorted([phrase, apart])


# --- filters -------------------------------------------------------------------------------


async def test_filters_by_session_thread_and_author(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    t3 = await world.thread(s1, bob, title="Webcasting meetings", posts=0)
    a1 = await _post(world, t1, ann, "Flooding updates on the website.")
    b1 = await _post(world, t1, bob, "Flooding alerts by text message.")
    b3 = await _post(world, t3, bob, "Flooding questions during webcasts.")
    a2 = await _post(world, t2, ann, "Flooding defences cost money.")
    b = await browser_factory()
    _, body = await _api(b, c, "q=flooding")
    assert sorted(_ids(body)) == sorted([a1, b1, b3, a2])
    _, body = await _api(b, c, f"q=flooding&session_id={s1['id']}")
    assert sorted(_ids(body)) == sorted([a1, b1, b3])
    assert body["filters"] == {"session_id": s1["id"], "thread_id": None, "author_id": None}
    _, body = await _api(b, c, f"q=flooding&thread_id={t1['id']}")
    assert sorted(_ids(body)) == sorted([a1, b1])
    _, body = await _api(b, c, f"q=flooding&author_id={ann['id']}")
    assert sorted(_ids(body)) == sorted([a1, a2])
    _, body = await _api(b, c, f"q=flooding&session_id={s1['id']}&author_id={bob['id']}")
    assert sorted(_ids(body)) == sorted([b1, b3])
    # The page: the session is chosen in the dropdown, the thread and author filters are named.
    r, text = await b.get(
        f"/c/{c['slug']}/search?q=flooding&session_id={s1['id']}&thread_id={t1['id']}"
    )
    assert r.status == 200
    assert f'<option value="{s1["id"]}" selected>Engaging residents online</option>' in text
    assert "Only in the thread ‘Using social media well’" in text
    assert f'<input type="hidden" name="thread_id" value="{t1["id"]}">' in text
    assert sorted(int(i) for i in RESULT.findall(text)) == sorted([a1, b1])
    # Each result offers the same search narrowed to its thread, or to its author.
    _, text = await b.get(f"/c/{c['slug']}/search?q=flooding&session_id={s1['id']}")
    hrefs = {unescape(h) for h in re.findall(r'href="([^"]*)"', text)}
    assert f"/c/{c['slug']}/search?q=flooding&session_id={s1['id']}&thread_id={t3['id']}" in hrefs
    assert f"/c/{c['slug']}/search?q=flooding&session_id={s1['id']}&author_id={ann['id']}" in hrefs
    assert "Search only posts by Cllr Ann Author" in text


async def test_a_post_moved_to_another_session_is_found_in_its_new_session(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    post_id = await _post(world, t1, ann, "Potholes on the high street.")
    organiser = await world.user(name="Olive Organiser")
    await world.member(c, organiser, "organiser")
    o = await browser_factory(organiser["email"])
    status, _ = await o.api(
        "POST",
        f"/api/v1/posts/{post_id}/moderation",
        {"action": "move", "to_thread_id": t2["id"], "reason": "Belongs with the budget"},
    )
    assert status == 200
    _, body = await _api(o, c, f"q=potholes&session_id={s2['id']}")
    assert _ids(body) == [post_id] and body["results"][0]["session"]["id"] == s2["id"]
    _, body = await _api(o, c, f"q=potholes&session_id={s1['id']}")
    assert _ids(body) == []


async def test_bad_filter_ids_are_400_naming_the_field(world, browser_factory):
    c, *_ = await _world(world)
    b = await browser_factory()
    for name in ("session_id", "thread_id", "author_id"):
        status, body = await _api(b, c, f"q=budget&{name}=abc")
        assert status == 400, body
        assert name in body["error"]["fields"]
    r, text = await b.get(f"/c/{c['slug']}/search?q=budget&session_id=-1")
    assert r.status == 400 and "Session must be a number" in text


async def test_ids_from_another_conference_find_nothing_and_name_nothing(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    other = await world.conference()
    os_ = await world.session(other, title="Secret session title")
    stranger = await world.user(name="Sam Stranger")
    await world.member(other, stranger)
    ot = await world.thread(os_, stranger, title="Secret thread title", posts=0)
    await _post(world, ot, stranger, "Flooding in the other conference.")
    await _post(world, t1, ann, "Flooding here.")
    b = await browser_factory()
    for name, value in (
        ("session_id", os_["id"]),
        ("thread_id", ot["id"]),
        ("author_id", stranger["id"]),
    ):
        status, body = await _api(b, c, f"q=flooding&{name}={value}")
        assert status == 404, body
        assert "Secret" not in str(body) and "Stranger" not in str(body)
        r, text = await b.get(f"/c/{c['slug']}/search?q=flooding&{name}={value}")
        assert r.status == 404 and "Secret" not in text and "Stranger" not in text


# --- who finds what ------------------------------------------------------------------------


async def test_hidden_pending_and_deleted_posts_are_only_for_those_who_moderate_them(
    world, browser_factory
):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    visible = await _post(world, t1, ann, "Recycling collections are weekly.")
    hidden = await _post(
        world, t1, bob, "Recycling is a scam, says Bob.", status="hidden", reason="Personal attack"
    )
    pending = await _post(world, t1, bob, "Recycling bins for flats?", status="pending")
    await _post(world, t1, bob, "Recycling rant withdrawn.", status="deleted")
    other_hidden = await _post(
        world, t2, bob, "Recycling budget is wasted.", status="hidden", reason="Off-topic"
    )
    reader = await world.user(name="Rita Reader")
    await world.member(c, reader, "participant")
    fac1 = await world.user(name="Faye One")
    await world.member(c, fac1, "facilitator", sessions=[s1])
    fac2 = await world.user(name="Fred Two")
    await world.member(c, fac2, "facilitator", sessions=[s2])
    organiser = await world.user(name="Olive Organiser")
    await world.member(c, organiser, "organiser")

    anon = await browser_factory()
    _, body = await _api(anon, c, "q=recycling")
    assert _ids(body) == [visible]
    r, text = await anon.get(f"/c/{c['slug']}/search?q=recycling")
    assert RESULT.findall(text) == [str(visible)] and "scam" not in text

    rita = await browser_factory(reader["email"])
    _, body = await _api(rita, c, "q=recycling")
    assert _ids(body) == [visible]

    faye = await browser_factory(fac1["email"])
    _, body = await _api(faye, c, "q=recycling")
    assert sorted(_ids(body)) == sorted([visible, hidden, pending])
    by_id = {h["id"]: h for h in body["results"]}
    assert by_id[hidden]["status"] == "hidden"
    assert by_id[hidden]["hidden_reason"] == "Personal attack"
    assert by_id[pending]["status"] == "pending"
    _, text = await faye.get(f"/c/{c['slug']}/search?q=recycling")
    assert "Hidden by a facilitator: Personal attack" in text
    assert "Waiting for approval" in text and "withdrawn" not in text

    fred = await browser_factory(fac2["email"])
    _, body = await _api(fred, c, "q=recycling")
    assert sorted(_ids(body)) == sorted([visible, other_hidden])
    _, text = await fred.get(f"/c/{c['slug']}/search?q=recycling")
    assert "scam" not in text and "Waiting for approval" not in text

    olive = await browser_factory(organiser["email"])
    _, body = await _api(olive, c, "q=recycling")
    assert sorted(_ids(body)) == sorted([visible, hidden, pending, other_hidden])


async def test_members_only_conference_is_not_searchable_by_outsiders(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world, visibility="members")
    await _post(world, t1, ann, "Confidential flooding plans.")
    anon = await browser_factory()
    r, _ = await anon.get(f"/c/{c['slug']}/search?q=flooding", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith("/login")
    status, body = await _api(anon, c, "q=flooding")
    assert status == 401 and "Confidential" not in str(body)
    outsider = await world.user(name="Olly Outsider")
    o = await browser_factory(outsider["email"])
    r, text = await o.get(f"/c/{c['slug']}/search?q=flooding")
    assert r.status == 403 and "Confidential" not in text
    status, _ = await _api(o, c, "q=flooding")
    assert status == 403
    # Outsiders see no search box on the conference's public home page either.
    _, text = await o.get(f"/c/{c['slug']}")
    assert "Search this conference" not in text
    member = await browser_factory(ann["email"])
    status, body = await _api(member, c, "q=flooding")
    assert status == 200 and len(body["results"]) == 1


async def test_draft_conference_search_is_not_found(world, browser_factory):
    c = await world.conference(published=False)
    b = await browser_factory()
    r, _ = await b.get(f"/c/{c['slug']}/search?q=anything")
    assert r.status == 404
    status, _ = await _api(b, c, "q=anything")
    assert status == 404


# --- snippets ------------------------------------------------------------------------------


async def test_snippets_highlight_words_and_never_carry_markup_from_posts(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    bodies = [
        "Budget <script>alert('x')</script> talk",
        'Budget <img src=x onerror="alert(1)"> picture',
        "Budget \ue000sneaky\ue001 markers and a literal <mark>fake</mark> tag",
        "Budget & <b>bold</b> \"quotes\" 'apostrophes'",
        "Budget **plans** are on [our budget page](https://example.org/budget).",
    ]
    for body in bodies:
        await _post(world, t1, ann, body)
    b = await browser_factory()
    _, body = await _api(b, c, "q=budget")
    assert len(body["results"]) == 5
    for hit in body["results"]:
        snippet = hit["snippet_html"]
        assert "<mark>Budget</mark>" in snippet
        # The only tags in a snippet are our own <mark> pairs.
        assert set(re.findall(r"<[^>]*>", snippet)) == {"<mark>", "</mark>"}, snippet
        assert "\ue000" not in snippet and "\ue001" not in snippet
    joined = " ".join(h["snippet_html"] for h in body["results"])
    assert "fake" in joined and "<mark>fake" not in joined  # a post's own "<mark>" is not ours
    assert "sneaky" in joined and "<mark>sneaky" not in joined
    assert "&amp;" in joined and "&quot;quotes&quot;" in joined
    # Markdown is tidied for one line of text: no emphasis marks, a link shows as its text.
    assert "<mark>Budget</mark> plans are on our <mark>budget</mark> page." in joined
    _, text = await b.get(f"/c/{c['slug']}/search?q=budget")
    main = text.split('id="main-content"', 1)[1]
    assert "<script" not in main and "<img" not in main and 'onerror="' not in main
    assert main.count("<mark>Budget</mark>") == 5
    assert "stored html" not in main  # snippets come from the text, never the stored HTML


async def test_a_long_posts_snippet_shows_where_the_word_is(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    filler = "Nothing of note was said about the matter at hand. " * 300  # 15,600 characters
    await _post(world, t1, ann, filler + "At last, allotments were mentioned. " + filler)
    b = await browser_factory()
    _, body = await _api(b, c, "q=allotment")
    snippet = body["results"][0]["snippet_html"]
    assert "<mark>allotments</mark> were mentioned" in snippet and len(snippet) < 600


async def test_results_show_thread_session_author_and_local_time(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world, timezone="America/New_York")
    post_id = await _post(world, t1, ann, "Parking permits for residents.")
    b = await browser_factory()
    _, body = await _api(b, c, "q=parking")
    hit = body["results"][0]
    assert hit["thread"] == {
        "id": t1["id"],
        "title": "Using social media well",
        "url": f"/c/{c['slug']}/threads/{t1['id']}",
    }
    assert hit["session"]["title"] == "Engaging residents online"
    assert hit["author"] == {"id": ann["id"], "name": "Cllr Ann Author"}
    assert hit["created_at_text"].endswith(("EST", "EDT"))
    assert hit["url"] == f"/c/{c['slug']}/posts/{post_id}"
    _, text = await b.get(f"/c/{c['slug']}/search?q=parking")
    assert "Using social media well" in text and "Cllr Ann Author" in text
    assert hit["created_at_text"] in text


# --- pages and messages --------------------------------------------------------------------


async def test_pages_of_twenty_keep_the_query_and_filters(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    made = []
    for i in range(45):
        made.append(await _post(world, t1, ann, f"Libraries item {i}", ago=timedelta(minutes=i)))
    await _post(world, t2, ann, "Libraries elsewhere")
    b = await browser_factory()
    query = f"q=libraries&session_id={s1['id']}"
    _, body = await _api(b, c, query)
    assert body["total"] == 45 and body["pages"] == 3 and body["total_text"] == "45 results"
    assert _ids(body) == made[:20]  # equal rank: newest first
    assert body["previous"] is None
    assert body["next"] == (
        f"/api/v1/conferences/{c['slug']}/search?q=libraries&session_id={s1['id']}&page=2"
    )
    _, body3 = await _api(b, c, query + "&page=3")
    assert _ids(body3) == made[40:] and body3["next"] is None
    assert "page=2" in body3["previous"]
    r, text = await b.get(f"/c/{c['slug']}/search?{query}&page=2")
    assert r.status == 200
    assert RESULT.findall(text) == [str(i) for i in made[20:40]]
    assert "45 results for ‘libraries’" in text
    assert 'rel="next"' in text and 'rel="prev"' in text
    nxt = re.search(r'href="([^"]*)" rel="next"', text).group(1)
    assert unescape(nxt) == f"/c/{c['slug']}/search?q=libraries&session_id={s1['id']}&page=3"
    assert 'start="21"' in text
    assert 'value="libraries"' in text  # the query stays in the box


async def test_more_than_two_hundred_matches_are_capped_and_said_so(world, browser_factory, pool):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    await pool.execute(
        """
        INSERT INTO posts (thread_id, conference_id, seq, author_id, body_md, body_html,
                           created_at)
        SELECT $1, $2, g, $3, 'Transport note ' || g, '', now() - g * interval '1 second'
        FROM generate_series(1, 205) g
        """,
        t1["id"],
        c["id"],
        ann["id"],
    )
    b = await browser_factory()
    _, body = await _api(b, c, "q=transport")
    assert body["more_than_total"] is True and body["total"] == 200
    assert body["total_text"] == "More than 200 results" and body["pages"] == 10
    # The newest 200 are the ones ranked (all rank alike here): the oldest 5 are not shown.
    _, text = await b.get(f"/c/{c['slug']}/search?q=transport&page=10")
    assert "More than 200 results for ‘transport’" in text and 'rel="next"' not in text
    assert "best matches among the 200 most recent" in text
    assert len(RESULT.findall(text)) == 20 and "note 200<" in text
    assert "note 201<" not in text
    # Past the documented maximum: refused, naming the parameter (issue #21).
    status, body = await _api(b, c, "q=transport&page=11")
    assert status == 400 and list(body["error"]["fields"]) == ["page"]


async def test_empty_overlong_and_stop_word_queries_get_clear_messages(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    await _post(world, t1, ann, "The and of are everywhere, budget too.")
    b = await browser_factory()
    r, text = await b.get(f"/c/{c['slug']}/search")
    assert r.status == 200 and "There is a problem" not in text and 'id="results"' not in text
    r, text = await b.get(f"/c/{c['slug']}/search?q=+++")
    assert r.status == 422 and "Enter words to search for" in text and 'href="#q"' in text
    assert text.count("<title>Error:") == 1
    long = "budget " * 40
    r, text = await b.get(f"/c/{c['slug']}/search?q={quote(long)}")
    assert r.status == 422 and "200 characters or fewer" in text
    assert "budget budget" in text  # what was typed stays in the box
    status, body = await _api(b, c, "q=")
    assert status == 422 and "q" in body["error"]["fields"]
    status, body = await _api(b, c, f"q={quote(long)}")
    assert status == 422 and "200 characters" in body["error"]["fields"]["q"]
    status, body = await _api(b, c, "")  # no q at all: the document requires it
    assert status == 400 and "q" in body["error"]["fields"]
    status, body = await _api(b, c, "q=" + quote("the and of"))
    assert status == 200 and body["results"] == [] and "very common words" in body["notice"]
    r, text = await b.get(f"/c/{c['slug']}/search?q=the+and+of")
    assert r.status == 200 and "very common words" in text
    r, text = await b.get(f"/c/{c['slug']}/search?q=budget&page=two")
    assert r.status == 400
    status, body = await _api(b, c, "q=" + quote("zzzznothing"))
    assert status == 200 and body["results"] == [] and body["total_text"] == "0 results"
    r, text = await b.get(f"/c/{c['slug']}/search?q=zzzznothing")
    assert "0 results for ‘zzzznothing’" in text and "check the spelling" in text


async def test_the_conference_header_offers_a_search_box(world, browser_factory):
    c, *_ = await _world(world)
    b = await browser_factory()
    _, text = await b.get(f"/c/{c['slug']}/programme")
    form = re.search(r'<form method="get" action="([^"]*)" role="search"', text)
    assert form and form.group(1) == f"/c/{c['slug']}/search"
    assert '<label class="govuk-label govuk-label--s" for="conference-search">' in text
    assert "Search this conference</label>" in text


async def test_api_json_shape(world, browser_factory):
    c, s1, s2, t1, t2, ann, bob = await _world(world)
    await _post(world, t1, ann, "Scrutiny committees and webcasts.")
    b = await browser_factory()
    status, body = await _api(b, c, "q=scrutiny")
    assert status == 200
    assert set(body) == {
        "query",
        "page",
        "pages",
        "per_page",
        "total",
        "more_than_total",
        "total_text",
        "notice",
        "filters",
        "results",
        "next",
        "previous",
        "url",
    }
    assert body["query"] == "scrutiny" and body["page"] == 1 and body["per_page"] == 20
    assert body["url"] == f"/c/{c['slug']}/search?q=scrutiny"
    hit = body["results"][0]
    assert set(hit) == {
        "id",
        "url",
        "status",
        "hidden_reason",
        "lang",
        "thread",
        "session",
        "author",
        "created_at",
        "created_at_text",
        "rank",
        "snippet_html",
    }
    assert hit["snippet_html"].startswith("<mark>Scrutiny</mark> committees")
    status, doc = await b.api("GET", "/api/v1/openapi.json")
    assert "/api/v1/conferences/{slug}/search" in doc["paths"]
