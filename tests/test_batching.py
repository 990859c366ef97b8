"""Lookups batched on their way to PostgreSQL (confer.db.Batcher): API tokens, sign-ins and
posting contexts arriving together go in one query, and each caller gets exactly its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import pytest

from confer.accounts import service as accounts
from confer.db import Batcher
from confer.policy import Actor
from confer.posts import queries as posts_q


async def test_lookups_waiting_for_a_query_go_together_in_order() -> None:
    batches: list[list[int]] = []

    async def run(keys: Sequence[int]) -> list[int]:
        batches.append(list(keys))
        await asyncio.sleep(0.01)
        return [k * 10 for k in keys]

    batcher: Batcher[int, int] = Batcher(run, in_flight=1, max_size=8)
    results = await asyncio.gather(*(batcher(k) for k in range(20)))
    assert results == [k * 10 for k in range(20)]
    # The first goes alone at once; the rest waited for it and went in batches of at most 8.
    assert batches == [[0], list(range(1, 9)), list(range(9, 17)), list(range(17, 20))]
    assert batcher.largest == 8
    # Under light load a lookup still goes at once, alone.
    assert await batcher(7) == 70
    assert batches[-1] == [7]


async def test_a_failed_query_fails_its_lookups_only() -> None:
    async def run(keys: Sequence[int]) -> list[int]:
        await asyncio.sleep(0.01)
        if 3 in keys:
            raise ValueError("bad key 3")
        return list(keys)

    batcher: Batcher[int, int] = Batcher(run, in_flight=1)
    first = asyncio.ensure_future(batcher(1))
    await asyncio.sleep(0)
    together = await asyncio.gather(batcher(2), batcher(3), return_exceptions=True)
    assert await first == 1
    assert [type(r) for r in together] == [ValueError, ValueError]
    assert await batcher(4) == 4  # and the batcher still works


async def test_a_query_answering_the_wrong_number_of_lookups_fails_them_all() -> None:
    async def run(keys: Sequence[int]) -> list[int]:
        return list(keys)[:-1]  # one short: nobody may be left waiting, or given another's

    batcher: Batcher[int, int] = Batcher(run)
    results = await asyncio.wait_for(
        asyncio.gather(batcher(1), batcher(2), return_exceptions=True), timeout=30
    )
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]


async def test_api_tokens_looked_up_together_each_get_their_own_user(world, settings) -> None:
    from confer.context import Ctx
    from confer.live.hub import Hub

    users = [await world.user(f"Writer {i}") for i in range(3)]
    tokens = []
    for u in users:
        token, token_id = await accounts.create_api_token(
            world.pool, Actor(user_id=u["id"], name=u["name"]), "bench"
        )
        tokens.append((token, token_id))
    revoked_user = users[2]
    await accounts.revoke_api_token(
        Ctx(pool=world.pool, settings=settings, hub=Hub()),
        Actor(user_id=revoked_user["id"], name="x"),
        tokens[2][1],
    )
    asked = [tokens[0][0], tokens[1][0], tokens[2][0], "cnf_not-a-token", tokens[0][0]]
    actors = await asyncio.gather(*(accounts.actor_from_api_token(world.pool, t) for t in asked))
    ids = [a.user_id if a is not None else None for a in actors]
    assert ids == [users[0]["id"], users[1]["id"], None, None, users[0]["id"]]
    assert actors[1] is not None and actors[1].name == "Writer 1"
    assert max(b.largest for b in world.pool.batchers.values()) > 1  # they did go together


async def test_sign_ins_looked_up_together_each_get_their_own_user(world, settings) -> None:
    users = [await world.user(f"Reader {i}") for i in range(3)]
    tokens = [await accounts.start_login(world.pool, settings, u["id"]) for u in users]
    await accounts.sign_out(world.pool, tokens[2])
    asked = [tokens[1], tokens[0], tokens[2], "not-a-sign-in", tokens[1]]
    found = await asyncio.gather(*(accounts.actor_from_login(world.pool, t) for t in asked))
    ids = [f[0].user_id if f is not None else None for f in found]
    assert ids == [users[1]["id"], users[0]["id"], None, None, users[1]["id"]]
    assert found[0] is not None and found[0][0].name == "Reader 1"


@pytest.mark.parametrize("together", [False, True])
async def test_posting_contexts_looked_up_together_match_one_at_a_time(world, together) -> None:
    c1, c2 = await world.conference(), await world.conference()
    s1, s2 = await world.session(c1), await world.session(c2)
    member, outsider = await world.user("Member"), await world.user("Outsider")
    await world.member(c1, member, "participant")
    t1, t2 = await world.thread(s1, member), await world.thread(s2, member)
    asks = [
        (t1["id"], member["id"], None, None),
        (t2["id"], member["id"], "k-1", None),
        (t1["id"], outsider["id"], None, None),
        (t2["id"] + 1000, member["id"], None, None),  # no such thread
    ]
    if together:
        rows = await asyncio.gather(*(posts_q.fetch_posting_context(world.pool, *a) for a in asks))
    else:
        rows = [await posts_q.fetch_posting_context(world.pool, *a) for a in asks]
    assert rows[3] is None
    found = [posts_q.split_context(r) for r in rows[:3]]  # type: ignore[arg-type]
    assert [(conf["id"], thread["id"]) for conf, thread, _, _ in found] == [
        (c1["id"], t1["id"]),
        (c2["id"], t2["id"]),
        (c1["id"], t1["id"]),
    ]
    members = [m["user_id"] if m else None for _, _, m, _ in found]
    assert members == [member["id"], None, None]  # a member of c1 only


def _write_args(thread: dict, author: dict, body: str, key: str | None) -> tuple:
    """WRITE_POST's parameters for a visible post (see posts_q.write_post)."""
    return ("visible", thread["id"], author["id"], thread["conference"]["id"], None, True,
            body, f"<p>{body}</p>", key, False, "en")  # fmt: skip


async def _open_threads(world, n: int):
    c = await world.conference()
    s = await world.session(c)
    u = await world.user("Writer")
    await world.member(c, u, "participant")
    return c, u, [await world.thread(s, u) for _ in range(n)]


async def test_posts_written_together_keep_each_threads_seqs_and_answer_their_own_caller(
    world, settings
) -> None:
    from confer.context import Ctx
    from confer.live.hub import Hub
    from confer.posts import service as posts

    c, u, threads = await _open_threads(world, 3)
    ctx = Ctx(pool=world.pool, settings=settings, hub=Hub())
    actor = Actor(user_id=u["id"], name=u["name"], via="token")
    # Interleaved across the threads, so a batch holds posts for all three.
    asks = [(threads[i % 3], f"post {i}") for i in range(30)]
    made = await asyncio.gather(
        *(posts.create_post(ctx, actor, c["slug"], t["id"], {"body": b}) for t, b in asks)
    )
    for (t, body), (post, created) in zip(asks, made, strict=True):
        assert created and post["html"] == f"<p>{body}</p>\n" and post["thread_id"] == t["id"]
        assert post["seq"] == await world.pool.fetchval(
            "SELECT seq FROM posts WHERE id = $1", post["id"]
        )
    for t in threads:
        rows = await world.pool.fetch(
            "SELECT seq, body_md FROM posts WHERE thread_id = $1 ORDER BY seq", t["id"]
        )
        assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
        # Posts by one writer to one thread keep the order they were sent in.
        mine = [r["body_md"] for r in rows if r["body_md"].startswith("post ")]
        assert mine == [b for th, b in asks if th is t]
    write_batchers = [
        b for run, b in world.pool.batchers.items() if run.__name__.startswith("_write_")
    ]
    assert max(b.largest for b in write_batchers) > 1  # they did go together


async def test_posts_written_together_fail_together_and_a_closed_thread_takes_none(
    world,
) -> None:
    c, u, (t1, t2, t3) = await _open_threads(world, 3)
    await world.pool.execute("UPDATE threads SET locked_at = now() WHERE id = $1", t2["id"])
    rows = await posts_q._write_posts(
        posts_q.WRITE_POST,
        world.pool,
        [
            _write_args(t3, u, "c", "k3"),
            _write_args(t2, u, "b", "k2"),
            _write_args(t1, u, "a", None),
        ],
    )
    # One row a post, in the order asked; the locked thread's post has none (and no seq).
    assert [r["body_md"] for r in rows] == ["c", None, "a"]
    assert rows[0]["seq"] == rows[2]["seq"] == 2  # after each thread's opening post
    last = {r["id"]: r["last_seq"] for r in await world.pool.fetch(
        "SELECT id, last_seq FROM threads WHERE id = ANY($1)", [t1["id"], t2["id"], t3["id"]]
    )}  # fmt: skip
    assert last == {t1["id"]: 2, t2["id"]: 1, t3["id"]: 2}
    # A repeated idempotency key fails the whole transaction: nothing of it is written...
    before = await world.pool.fetchval("SELECT count(*) FROM posts")
    with pytest.raises(asyncpg.UniqueViolationError):
        await posts_q._write_posts(
            posts_q.WRITE_POST, world.pool, [_write_args(t1, u, "d", None), _write_args(t3, u, "e", "k3")]
        )  # fmt: skip
    assert await world.pool.fetchval("SELECT count(*) FROM posts") == before
    assert await world.pool.fetchval("SELECT last_seq FROM threads WHERE id = $1", t1["id"]) == 2


async def test_a_repeated_key_among_posts_written_together_fails_only_its_own(world) -> None:
    c, u, (t1, t2) = await _open_threads(world, 2)
    asks = [_write_args(t1 if i % 2 else t2, u, f"p{i}", f"key-{i}") for i in range(8)]
    asks.append(_write_args(t2, u, "again", "key-3"))  # key-3 is another post's
    results = await asyncio.gather(
        *(
            posts_q.write_post(
                world.pool,
                status=a[0], thread_id=a[1], author_id=a[2], conference_id=a[3],
                reply_to_id=a[4], follow=a[5], body_md=a[6], body_html=a[7], key=a[8],
                names=[], positions=[],
            )
            for a in asks
        ),
        return_exceptions=True,
    )  # fmt: skip
    # Written again one by one, every post but the repeat is made once; the repeat alone
    # fails (create_post then answers with the first post), and no seq is skipped.
    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert len(failed) == 1 and isinstance(results[failed[0]], asyncpg.UniqueViolationError)
    assert asks[failed[0]][8] == "key-3"
    bodies = await world.pool.fetch(
        "SELECT body_md FROM posts WHERE idempotency_key IS NOT NULL ORDER BY id"
    )
    assert len(bodies) == 8 and len({r["body_md"] for r in bodies}) == 8
    for t in (t1, t2):
        seqs = await world.pool.fetch("SELECT seq FROM posts WHERE thread_id = $1", t["id"])
        assert sorted(r["seq"] for r in seqs) == list(range(1, len(seqs) + 1))
