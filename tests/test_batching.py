"""Lookups batched on their way to PostgreSQL (confer.db.Batcher): API tokens, sign-ins and
posting contexts arriving together go in one query, and each caller gets exactly its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

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
        asyncio.gather(batcher(1), batcher(2), return_exceptions=True), timeout=5
    )
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]


async def test_api_tokens_looked_up_together_each_get_their_own_user(world) -> None:
    users = [await world.user(f"Writer {i}") for i in range(3)]
    tokens = []
    for u in users:
        token, token_id = await accounts.create_api_token(
            world.pool, Actor(user_id=u["id"], name=u["name"]), "bench"
        )
        tokens.append((token, token_id))
    revoked_user = users[2]
    await accounts.revoke_api_token(
        world.pool, Actor(user_id=revoked_user["id"], name="x"), tokens[2][1]
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
