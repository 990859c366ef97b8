"""Speaker panels: asking, voting (under concurrency), merging, states, answers, windows, live."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from confer.context import Ctx
from confer.errors import Closed, Forbidden
from confer.live.hub import Hub
from confer.panels import service as panels
from confer.policy import Actor
from tests.test_live import Client


async def _panel(world, *, starts_in=timedelta(hours=-1), lasts=timedelta(hours=2), **extra):
    c = await world.conference()
    s = await world.session(
        c, kind="panel", starts_in=starts_in, lasts=lasts, title="Ask the panel"
    )
    if extra:
        sets = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(extra))
        await world.pool.execute(
            f"UPDATE sessions SET {sets} WHERE id = $1", s["id"], *extra.values()
        )
    fac = await world.user(name="Faye")
    speaker = await world.user(name="Jane Smith", title="Cllr")
    asker = await world.user(name="Sam")
    await world.member(c, fac, "facilitator")
    await world.member(c, speaker, "speaker")
    await world.member(c, asker, "participant")
    await world.pool.execute(
        "INSERT INTO session_speakers (session_id, user_id) VALUES ($1, $2)", s["id"], speaker["id"]
    )
    return c, s, fac, speaker, asker


def _actor(u) -> Actor:
    return Actor(user_id=u["id"], name=u["name"], via="cookie")


def _ctx(pool, settings) -> Ctx:
    return Ctx(pool=pool, settings=settings, hub=Hub())


async def test_member_asks_and_others_vote_once_each_with_withdrawal(world, browser_factory, pool):
    c, s, fac, speaker, asker = await _panel(world)
    a = await browser_factory(asker["email"])
    r, _ = await a.post(
        f"/c/{c['slug']}/panels/{s['id']}/questions", {"body": "How do you handle abuse online?"}
    )
    assert r.status == 303
    qid = await pool.fetchval("SELECT id FROM questions")
    status, _ = await a.api("POST", f"/api/v1/questions/{qid}/vote")
    assert status == 403  # not for your own question
    voter = await world.user()
    await world.member(c, voter, "participant")
    v = await browser_factory(voter["email"])
    status, body = await v.api("POST", f"/api/v1/questions/{qid}/vote")
    assert status == 200 and body["vote_count"] == 1
    status, body = await v.api("POST", f"/api/v1/questions/{qid}/vote")
    assert body["vote_count"] == 1  # one vote each
    status, body = await v.api("DELETE", f"/api/v1/questions/{qid}/vote")
    assert body["vote_count"] == 0
    status, listing = await v.api("GET", f"/api/v1/panels/{s['id']}/questions")
    assert listing["questions"][0]["vote_count"] == 0 and listing["questions"][0]["voted"] is False


async def test_fifty_members_voting_at_once_count_fifty(world, settings, pool):
    c, s, fac, speaker, asker = await _panel(world)
    ctx = _ctx(pool, settings)
    q, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "Popular?"})
    voters = []
    for i in range(50):
        u = {
            "id": await pool.fetchval(
                "INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id",
                f"v{i}@example.org",
                f"V{i}",
            ),
            "name": f"V{i}",
        }
        await world.member(c, u, "participant")
        voters.append(u)
    await asyncio.gather(*[panels.vote(ctx, _actor(u), q["id"]) for u in voters])
    assert await pool.fetchval("SELECT vote_count FROM questions WHERE id = $1", q["id"]) == 50
    assert await pool.fetchval("SELECT count(*) FROM question_votes") == 50


async def test_one_member_voting_twice_at_once_counts_once(world, settings, pool):
    c, s, fac, speaker, asker = await _panel(world)
    ctx = _ctx(pool, settings)
    q, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "Twice?"})
    voter = await world.user()
    await world.member(c, voter, "participant")
    await asyncio.gather(*[panels.vote(ctx, _actor(voter), q["id"]) for _ in range(10)])
    assert await pool.fetchval("SELECT vote_count FROM questions WHERE id = $1", q["id"]) == 1


async def test_merging_combines_votes_without_counting_anyone_twice(world, settings, pool):
    c, s, fac, speaker, asker = await _panel(world)
    ctx = _ctx(pool, settings)
    other = await world.user(name="Other asker")
    await world.member(c, other, "participant")
    kept, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "Original"})
    dup, _ = await panels.ask(ctx, _actor(other), c["slug"], s["id"], {"body": "Duplicate"})
    users = []
    for _ in range(3):
        u = await world.user()
        await world.member(c, u, "participant")
        users.append(u)
    both, only_dup, only_kept = users
    for u in (both, only_kept):
        await panels.vote(ctx, _actor(u), kept["id"])
    for u in (both, only_dup):
        await panels.vote(ctx, _actor(u), dup["id"])
    # kept: both, only_kept (2). dup: both, only_dup (2), asked by `other`.
    result = await panels.change_state(ctx, _actor(fac), dup["id"], "merge", {"into": kept["id"]})
    assert result["status"] == "dismissed" and result["merged_into_id"] == kept["id"]
    # kept now: both, only_kept, only_dup, and other (who asked the duplicate) = 4
    assert await pool.fetchval("SELECT vote_count FROM questions WHERE id = $1", kept["id"]) == 4
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM question_votes WHERE question_id = $1", kept["id"]
        )
        == 4
    )


async def test_pre_moderated_questions_wait_for_approval(world, settings, pool, browser_factory):
    c, s, fac, speaker, asker = await _panel(world, questions_premoderated=True)
    ctx = _ctx(pool, settings)
    q, _ = await panels.ask(
        ctx, _actor(asker), c["slug"], s["id"], {"body": "Hidden until approved"}
    )
    assert q["status"] == "pending"
    reader = await world.user()
    await world.member(c, reader, "participant")
    rb = await browser_factory(reader["email"])
    _, text = await rb.get(f"/c/{c['slug']}/panels/{s['id']}")
    assert "Hidden until approved" not in text
    ab = await browser_factory(asker["email"])
    _, text = await ab.get(f"/c/{c['slug']}/panels/{s['id']}")
    assert "Hidden until approved" in text and "Awaiting approval" in text
    await panels.change_state(ctx, _actor(fac), q["id"], "approve", {})
    _, text = await rb.get(f"/c/{c['slug']}/panels/{s['id']}")
    assert "Hidden until approved" in text


async def test_state_transitions_and_who_may_make_them(world, settings, pool):
    c, s, fac, speaker, asker = await _panel(world)
    ctx = _ctx(pool, settings)
    q, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "States?"})
    q2, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "Another"})
    for who in (asker, speaker):
        with pytest.raises(Forbidden):
            await panels.change_state(ctx, _actor(who), q["id"], "answering", {})
    assert (await panels.change_state(ctx, _actor(fac), q["id"], "answering", {}))[
        "status"
    ] == "answering"
    await panels.change_state(ctx, _actor(fac), q2["id"], "answering", {})
    assert await pool.fetchval("SELECT status FROM questions WHERE id = $1", q["id"]) == "open"
    assert (await panels.change_state(ctx, _actor(fac), q2["id"], "answered", {}))[
        "status"
    ] == "answered"
    from confer.errors import Invalid

    with pytest.raises(Invalid) as e:
        await panels.change_state(ctx, _actor(fac), q["id"], "dismiss", {})
    assert "reason" in e.value.fields
    done = await panels.change_state(ctx, _actor(fac), q["id"], "dismiss", {"reason": "Off topic"})
    assert done["status"] == "dismissed" and done["dismiss_reason"] == "Off topic"
    with pytest.raises(Invalid):
        await panels.change_state(ctx, _actor(fac), q["id"], "approve", {})
    log = await pool.fetch("SELECT action FROM moderation_log ORDER BY id")
    assert [r["action"] for r in log] == [
        "question.answering",
        "question.answering",
        "question.answered",
        "question.dismiss",
    ]


async def test_only_the_panels_speakers_answer(world, settings, pool):
    c, s, fac, speaker, asker = await _panel(world)
    ctx = _ctx(pool, settings)
    q, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "Answer me"})
    other_speaker = await world.user()
    await world.member(c, other_speaker, "speaker")  # a speaker, but not on this panel
    for who in (asker, fac, other_speaker):
        with pytest.raises(Forbidden):
            await panels.answer(ctx, _actor(who), q["id"], {"body": "Not mine to answer"})
    a1 = await panels.answer(ctx, _actor(speaker), q["id"], {"body": "We use **moderation**."})
    assert a1["answers"][0]["html"] == "<p>We use <strong>moderation</strong>.</p>\n"
    assert a1["answers"][0]["speaker"]["name"] == "Jane Smith"


async def test_the_panels_time_window_is_enforced(world, settings, pool):
    c, s, fac, speaker, asker = await _panel(world, starts_in=timedelta(hours=2))
    ctx = _ctx(pool, settings)
    with pytest.raises(Closed) as e:
        await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "Too early"})
    assert "Questions open at" in e.value.message
    await pool.execute("UPDATE sessions SET questions_in_advance = true WHERE id = $1", s["id"])
    q, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "In advance"})
    with pytest.raises(Closed):  # speakers answer once the panel starts
        await panels.answer(ctx, _actor(speaker), q["id"], {"body": "Not yet"})
    await pool.execute(
        "UPDATE sessions SET starts_at = now() - interval '2 hours', ends_at = now() - interval '1 minute',"
        " answers_until = now() + interval '1 day' WHERE id = $1",
        s["id"],
    )
    with pytest.raises(Closed):
        await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "Too late"})
    with pytest.raises(Closed):
        voter = await world.user()
        await world.member(c, voter, "participant")
        await panels.vote(ctx, _actor(voter), q["id"])
    answered = await panels.answer(ctx, _actor(speaker), q["id"], {"body": "Answered afterwards"})
    assert answered["answers"][0]["html"] == "<p>Answered afterwards</p>\n"


async def test_observers_read_but_cannot_ask_or_vote(world, settings, pool):
    c, s, fac, speaker, asker = await _panel(world)
    ctx = _ctx(pool, settings)
    q, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "Observers?"})
    obs = await world.user()
    await world.member(c, obs, "observer")
    with pytest.raises(Forbidden):
        await panels.ask(ctx, _actor(obs), c["slug"], s["id"], {"body": "x"})
    with pytest.raises(Forbidden):
        await panels.vote(ctx, _actor(obs), q["id"])
    panel = await panels.load(ctx, _actor(obs), c["slug"], s["id"])
    assert [x["id"] for x in await panels.questions(ctx, panel)] == [q["id"]]


async def test_bad_input_names_the_field_and_keeps_the_text(world, browser_factory, pool):
    c, s, fac, speaker, asker = await _panel(world)
    a = await browser_factory(asker["email"])
    long = "x" * 501
    r, text = await a.post(f"/c/{c['slug']}/panels/{s['id']}/questions", {"body": long})
    assert r.status == 422 and "500 characters or fewer" in text and long in text
    status, body = await a.api("POST", f"/api/v1/panels/{s['id']}/questions", {"body": ""})
    assert status == 422 and body["error"]["fields"] == {"body": "Enter your question"}
    status, _ = await a.api("POST", "/api/v1/questions/999999/vote")
    assert status == 404


async def test_asking_voting_and_answering_reach_a_second_client_live(
    world, browser_factory, server, pool
):
    c, s, fac, speaker, asker = await _panel(world)
    watcher = Client()
    await watcher.sio.connect(str(server.make_url("/")), transports=["websocket"], wait_timeout=10)
    try:
        ack = await watcher.sio.call("join", {"room": f"panel:{s['id']}"}, timeout=10)
        assert ack["ok"] is True
        for name in ("question:new", "question:updated", "question:answering"):
            watcher.sio.on(name, watcher._recorder(name))
        a = await browser_factory(asker["email"])
        writer = Client()
        cookie = next(k.value for k in a.session.cookie_jar if k.key == "confer_session")
        await writer.sio.connect(
            str(server.make_url("/")),
            headers={"Cookie": f"confer_session={cookie}"},
            transports=["websocket"],
            wait_timeout=10,
        )
        reply = await writer.sio.call(
            "ask", {"session_id": s["id"], "body": "Live question"}, timeout=10
        )
        assert reply["ok"] is True
        qid = reply["question"]["id"]
        new = await watcher.wait_for("question:new")
        assert new[0]["html"] == "<p>Live question</p>\n"
        voter = await world.user()
        await world.member(c, voter, "participant")
        vb = await browser_factory(voter["email"])
        await vb.api("POST", f"/api/v1/questions/{qid}/vote")
        updated = await watcher.wait_for("question:updated")
        assert updated[-1]["vote_count"] == 1
        fb = await browser_factory(fac["email"])
        await fb.api("POST", f"/api/v1/questions/{qid}/state", {"action": "answering"})
        answering = await watcher.wait_for("question:answering")
        assert answering[0]["id"] == qid
        sb = await browser_factory(speaker["email"])
        await sb.api("POST", f"/api/v1/questions/{qid}/answers", {"body": "Here is my answer"})
        await watcher.wait_for("question:updated", 3)
        assert (
            watcher.events["question:updated"][-1]["answers"][0]["html"]
            == "<p>Here is my answer</p>\n"
        )
        await writer.sio.disconnect()
    finally:
        await watcher.sio.disconnect()


async def test_a_panel_join_catches_up_on_the_questions_changed_since(
    world, browser_factory, server, pool, settings, monkeypatch
):
    """Votes, answers and changes of state have no seq: each change to a question takes its
    panel's next change number, and a panel page that joins (or rejoins after its connection
    dropped) asks for the questions changed after the last number it saw, as its reader may
    see them, with their answers."""
    from confer.live import server as live_server

    c, s, fac, speaker, asker = await _panel(world)
    ctx = _ctx(pool, settings)
    reader = await world.user()
    await world.member(c, reader, "participant")
    first, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "First"})  # 1
    second, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "Second"})  # 2
    page_seen = await pool.fetchval(
        "SELECT last_change FROM question_changes WHERE session_id = $1", s["id"]
    )
    assert page_seen == 2
    await panels.vote(ctx, _actor(reader), first["id"])  # 3
    await panels.answer(ctx, _actor(speaker), first["id"], {"body": "An answer"})  # 4 (or more)
    await pool.execute("UPDATE sessions SET questions_premoderated = true WHERE id = $1", s["id"])
    waiting, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "Waiting"})

    async def join(who: dict | None, **data) -> dict:
        client = Client()
        headers = {}
        if who is not None:
            b = await browser_factory(who["email"])
            cookie = next(k.value for k in b.session.cookie_jar if k.key == "confer_session")
            headers = {"Cookie": f"confer_session={cookie}"}
        await client.sio.connect(
            str(server.make_url("/")), headers=headers, transports=["websocket"], wait_timeout=10
        )
        try:
            return await client.sio.call("join", {"room": f"panel:{s['id']}", **data}, timeout=10)
        finally:
            await client.sio.disconnect()

    ack = await join(reader)
    assert ack["ok"] is True and "questions" not in ack
    ack = await join(reader, since=page_seen)
    (only,) = ack["questions"]  # the second did not change; the waiting one is not theirs to see
    assert only["id"] == first["id"] and only["vote_count"] == 1 and only["voted"] is True
    assert [a["html"] for a in only["answers"]] == ["<p>An answer</p>\n"]
    assert only["change_seq"] > page_seen
    ack = await join(reader, since=only["change_seq"])
    assert ack["questions"] == []
    ack = await join(asker, since=page_seen)
    assert {q["id"]: q["status"] for q in ack["questions"]} == {
        first["id"]: "answered",  # a written answer answers it (issue #23)
        waiting["id"]: "pending",
    }
    assert [q["mine"] for q in ack["questions"]] == [True, True]
    ack = await join(None, since=0)  # anonymous, public conference: everything, but pending
    assert [q["id"] for q in ack["questions"]] == [second["id"], first["id"]]
    # The page starts from the number it was drawn at.
    b = await browser_factory(reader["email"])
    _, html = await b.get(f"/c/{c['slug']}/panels/{s['id']}")
    last = await pool.fetchval(
        "SELECT last_change FROM question_changes WHERE session_id = $1", s["id"]
    )
    assert f'data-last-change-seq="{last}"' in html
    monkeypatch.setattr(live_server, "CATCH_UP_LIMIT", 2)
    ack = await join(fac, since=0)  # three questions for a facilitator: too many now
    assert ack["ok"] is True and ack.get("reload") is True and "questions" not in ack


async def test_question_change_numbers_are_given_one_at_a_time(world, pool, settings):
    """Fifty votes at once on two questions each take the panel's next change number (none
    lost under concurrency: the counter ends at 2 questions + 50 votes), and the counts stay
    right."""
    c, s, fac, speaker, asker = await _panel(world)
    ctx = _ctx(pool, settings)
    a, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "A"})
    b, _ = await panels.ask(ctx, _actor(asker), c["slug"], s["id"], {"body": "B"})
    voters = []
    for _ in range(25):
        u = await world.user()
        await world.member(c, u, "participant")
        voters.append(u)
    await asyncio.gather(*(panels.vote(ctx, _actor(u), q["id"]) for u in voters for q in (a, b)))
    rows = await pool.fetch(
        "SELECT id, vote_count, change_seq FROM questions WHERE session_id = $1", s["id"]
    )
    assert sorted(r["vote_count"] for r in rows) == [25, 25]
    assert max(r["change_seq"] for r in rows) == 52
    seen = await pool.fetchval(
        "SELECT last_change FROM question_changes WHERE session_id = $1", s["id"]
    )
    assert seen == 52


async def test_panel_page_renders_for_each_role(world, browser_factory):
    c, s, fac, speaker, asker = await _panel(world)
    for who, expected in ((asker, "Ask question"), (speaker, "Speakers"), (fac, "Speakers")):
        b = await browser_factory(who["email"])
        r, text = await b.get(f"/c/{c['slug']}/panels/{s['id']}")
        assert r.status == 200 and expected in text
    anon = await browser_factory()
    r, text = await anon.get(f"/c/{c['slug']}/panels/{s['id']}")
    assert r.status == 200 and "Ask question" not in text
