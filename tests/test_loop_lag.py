"""Rendering never blocks the event loop: proved by where it runs, not by how long it takes.

markdown-it-py is pure Python: 20,000 `[` take seconds to render, and some single C calls in the
renderer hold the GIL for 100 ms or more, so Confer renders anything that is not short and plain
in worker processes (confer.markup). These tests make no assertion on a duration: they check
that every pathological input takes the worker path, and, with a renderer made deliberately slow
(it sleeps two seconds wherever it runs), that the server goes on answering meanwhile and that
the rendering happened in another process. How long the event loop really waits is measured by
the benchmarks (bench/), not here.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import weakref

import pytest
import socketio

from confer import markup
from confer.accounts import service as accounts
from confer.markup import renders_inline
from confer.policy import Actor
from tests import slow_render

LIMIT = 20_000
MID = 1_000  # long enough to leave the event loop, short enough to have once gone to a thread


def _cap(text: str) -> str:
    return text[:LIMIT]


PATHOLOGICAL = {
    "brackets": "[" * LIMIT,
    "nested quotes": ">" * LIMIT,
    "nested lists": _cap("".join("  " * i + "- item\n" for i in range(400)) * 10),
    "emphasis runs": _cap("*a" * LIMIT),
    "stars": "*" * LIMIT,
    "backticks": _cap("`a``" * LIMIT),
    "link openers": _cap("[a](" * LIMIT),
    "reference flood": _cap(
        "".join(f"[r{i}]: http://example.org/{i}\n" for i in range(400)) + "\n" + "[r1][r2]" * LIMIT
    ),
    "mixed emphasis": _cap("**_" * LIMIT),
}
# The same at 1,000 characters, which until 2026-11-25 rendered in worker threads.
PATHOLOGICAL |= {f"{name} ({MID})": body[:MID] for name, body in list(PATHOLOGICAL.items())}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_every_pathological_input_is_rendered_in_a_worker(name: str) -> None:
    """Only short, plain text renders on the event loop; each of these goes to a worker."""
    assert len(PATHOLOGICAL[name]) <= LIMIT
    assert not renders_inline(PATHOLOGICAL[name])


async def test_a_slow_render_never_stops_the_server_answering(
    server, world, browser_factory, monkeypatch
):
    """Posts whose rendering takes two seconds each (in a worker process) while the same server
    answers other requests: every one of those is answered before the first post is, which
    could not happen if the rendering held the event loop. The rendered HTML says which
    process rendered it: never the server's."""
    c = await world.conference()
    s = await world.session(c)
    u = await world.user()
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    token, _ = await accounts.create_api_token(world.pool, Actor(user_id=u["id"], name="x"), "t")
    b = await browser_factory(u["email"])
    reader = socketio.AsyncClient(reconnection=False)
    arrived: list[dict] = []
    reader.on("post:new", arrived.append)
    await reader.connect(str(server.make_url("/")), transports=["websocket"], wait_timeout=10)
    assert (await reader.call("join", {"room": f"thread:{t['id']}"}, timeout=10))["ok"]

    # Start the worker processes with the real renderer's module loaded, then swap in the slow
    # one: the workers are "spawn"ed, so they import it by name (tests.slow_render).
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(markup._pool(), os.getpid)
    monkeypatch.setattr(markup, "render_sync", slow_render.slow_render)
    bodies = {name: PATHOLOGICAL[name] for name in ("brackets", "emphasis runs", "stars")}
    events: list[str] = []

    async def post(name: str, body: str) -> int:
        status, _ = await b.api(
            "POST",
            f"/api/v1/threads/{t['id']}/posts",
            {"body": body, "idempotency_key": f"slow-{name}"},
            token=token,
        )
        events.append(f"post {name}")
        return status

    async def meanwhile() -> None:
        # Ten requests one after another, each a page read from the database and rendered.
        for i in range(10):
            r, _ = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
            assert r.status == 200
            events.append(f"page {i}")

    try:
        posting = [asyncio.create_task(post(n, body)) for n, body in bodies.items()]
        await asyncio.sleep(0)  # the posts are sent first
        await meanwhile()
        statuses = await asyncio.gather(*posting)
        for _ in range(100):
            if len(arrived) >= len(bodies):
                break
            await asyncio.sleep(0.1)
    finally:
        await reader.disconnect()

    assert statuses == [201] * len(bodies)
    first_post = min(i for i, e in enumerate(events) if e.startswith("post"))
    assert events[:first_post] == [f"page {i}" for i in range(10)], events
    assert len(arrived) == len(bodies)
    html = [
        p["body_html"]
        for p in await world.pool.fetch(
            "SELECT body_html FROM posts WHERE thread_id = $1 AND idempotency_key LIKE 'slow-%'",
            t["id"],
        )
    ]
    pids = {int(m) for h in html for m in re.findall(r"<!-- pid (\d+) -->", h)}
    assert len(pids) >= 1 and len(html) == len(bodies)
    assert os.getpid() not in pids  # the server runs in this test's process and event loop


async def test_a_warm_server_keeps_its_startup_heap_out_of_full_collections(
    settings, aiohttp_server
) -> None:
    """`confer serve` freezes what the server built while starting (confer.startup), so that a full
    garbage collection no longer walks ~80 MB of modules and templates (~40 ms of event loop
    each time, measured). Garbage made afterwards is still collected."""
    from confer.app import create_app
    from confer.keys import heap_frozen_key
    from confer.startup import freeze_startup_heap

    app = create_app(settings)
    app.on_startup.append(freeze_startup_heap)
    assert gc.get_freeze_count() == 0
    try:
        await aiohttp_server(app, host="127.0.0.1")
        await app[heap_frozen_key]
        assert gc.get_freeze_count() > 10_000

        class Cycle:
            pass

        made = Cycle()
        made.me = made  # type: ignore[attr-defined]
        probe = weakref.ref(made)
        del made
        gc.collect()
        assert probe() is None
    finally:
        gc.unfreeze()  # this is a test process: give its heap back to the collector
