"""A pathological 20,000-character post never blocks the event loop for more than 100 ms.

markdown-it-py is pure Python: 20,000 `[` take seconds to render. In a worker thread that still
stalled the event loop by 100-250 ms, because some single C calls in the renderer (regular
expressions over the whole text, on `*a` or `**_` runs) hold the GIL that long; Confer now
renders in worker processes (confer.markup). This test runs the server in the test's own event
loop with a probe task that records the longest gap between its ticks while such posts are
written, broadcast to a live reader, and read back as a page and through the API.
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from typing import Any

import pytest
import socketio

from confer import markup
from confer.accounts import service as accounts
from confer.markup import RENDER_PROCESSES, render_sync
from confer.policy import Actor

LIMIT = 20_000
MID = 1_000  # long enough to leave the event loop, short enough to have once gone to a thread
MAX_LAG = 0.100  # seconds
TICK = 0.005


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
# The slowest of those (~100 ms of pure Python) several times at once: rendered in threads,
# they kept the GIL from the event loop for 60-130 ms (the hand-overs went to the threads).
PATHOLOGICAL |= {f"brackets ({MID}, copy {i})": "[" * (MID - i) for i in range(1, 4)}


class LagProbe:
    """Ticks every 5 ms on the event loop and records every gap between ticks over 20 ms.

    A gap is the loop's fault when this process was busy through it — its CPU time over the gap
    (every thread: the loop's own work, or a worker thread holding the GIL) is at least half the
    gap. A gap in which the process barely ran is the machine's: other processes had the CPU
    (the test machine's two cores are shared), and no code of Confer's could shorten it.
    """

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.started = 0.0
        self.marks: list[tuple[float, str]] = []
        self.gaps: list[tuple[float, float, float]] = []  # (when, how long, CPU used meanwhile)
        self.collections: list[tuple[int, float]] = []  # (generation, how long) over 10 ms
        self._collecting = 0.0

    @property
    def worst(self) -> float:
        """The longest gap the process itself caused."""
        return max((gap for _, gap, cpu in self.gaps if cpu >= 0.5 * gap), default=0.0)

    def mark(self, what: str) -> None:
        self.marks.append((asyncio.get_running_loop().time() - self.started, what))

    def report(self) -> str:
        gaps = ", ".join(
            f"{g * 1000:.0f} ms (CPU {c * 1000:.0f} ms) at {t:.2f} s" for t, g, c in self.gaps
        )
        marks = ", ".join(f"{what} at {t:.2f} s" for t, what in self.marks)
        collections = ", ".join(f"gen {g} {d * 1000:.0f} ms" for g, d in self.collections)
        return (
            f"worst {self.worst * 1000:.0f} ms; gaps: {gaps or 'none'}; {marks}; "
            f"garbage collections over 10 ms: {collections or 'none'}"
        )

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collecting = time.perf_counter()
        elif (took := time.perf_counter() - self._collecting) > 0.010:
            self.collections.append((info["generation"], took))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last, last_cpu = loop.time(), time.process_time()
        while True:
            await asyncio.sleep(TICK)
            now, cpu = loop.time(), time.process_time()
            gap = now - last - TICK
            if gap > 0.020:
                self.gaps.append((now - self.started, gap, cpu - last_cpu))
            last, last_cpu = now, cpu

    def __enter__(self) -> LagProbe:
        self.started = asyncio.get_running_loop().time()
        self.task = asyncio.get_running_loop().create_task(self._run())
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self.task is not None
        self.task.cancel()
        gc.callbacks.remove(self._on_gc)


@pytest.mark.parametrize("name", ["brackets"])
def test_the_input_is_pathological(name: str) -> None:
    """Without the worker thread the loop would stall for this long: far over the limit."""
    started = time.perf_counter()
    render_sync(PATHOLOGICAL[name])
    assert time.perf_counter() - started > 5 * MAX_LAG


async def test_pathological_posts_never_block_the_event_loop(server, world, browser_factory):
    assert all(len(body) <= LIMIT for body in PATHOLOGICAL.values())
    c = await world.conference()
    s = await world.session(c)
    u = await world.user()
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    token, _ = await accounts.create_api_token(world.pool, Actor(user_id=u["id"], name="x"), "t")
    b = await browser_factory(u["email"])
    # Jinja compiles a template on its first use (~150 ms for the thread page, on the loop):
    # a cost paid once per process and unrelated to what was posted, so it is paid here first.
    r, _ = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert r.status == 200
    # Likewise the render processes start on the first render after the server starts.
    status, _ = await b.api(
        "POST", f"/api/v1/threads/{t['id']}/posts", {"body": "*Hello*, world."}, token=token
    )
    assert status == 201

    reader = socketio.AsyncClient(reconnection=False)
    arrived: list[dict] = []
    reader.on("post:new", arrived.append)
    await reader.connect(str(server.make_url("/")), transports=["websocket"], wait_timeout=10)
    assert (await reader.call("join", {"room": f"thread:{t['id']}"}, timeout=10))["ok"]

    async def post(name: str, body: str) -> tuple[str, int, Any]:
        status, data = await b.api(
            "POST",
            f"/api/v1/threads/{t['id']}/posts",
            {"body": body, "idempotency_key": f"lag-{name}"},
            token=token,
        )
        return name, status, data

    # Start the render processes before measuring. Starting them forks this process once,
    # holding the GIL meanwhile: ~10 ms for a server, but up to ~300 ms for this test process
    # after a thousand tests (it is that big), which is not what this test is about.
    loop = asyncio.get_running_loop()
    await asyncio.gather(
        *(
            loop.run_in_executor(markup._pool(), render_sync, "warm")
            for _ in range(RENDER_PROCESSES)
        )
    )
    # And set aside what the test process already holds from the tests before this one
    # (millions of objects by then): a full garbage collection over it, which the posts'
    # allocations can trigger at any moment, holds the GIL for 100-500 ms. A server's heap
    # is a small fraction of that; its own collections still count, as do the render's.
    gc.collect()
    gc.freeze()
    try:
        with LagProbe() as probe:
            started = time.monotonic()
            results = await asyncio.gather(*(post(n, body) for n, body in PATHOLOGICAL.items()))
            took = time.monotonic() - started
            probe.mark("posted")
            for _ in range(200):
                if len(arrived) >= len(PATHOLOGICAL):
                    break
                await asyncio.sleep(0.05)
            probe.mark("page")
            r, page = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
            probe.mark("api")
            status, listing = await b.api("GET", f"/api/v1/threads/{t['id']}/posts", token=token)
            probe.mark("done")
    finally:
        gc.unfreeze()
        await reader.disconnect()

    assert [(n, code) for n, code, _ in results] == [(n, 201) for n in PATHOLOGICAL]
    assert len(arrived) == len(PATHOLOGICAL)
    assert r.status == 200 and status == 200
    assert len(listing["posts"]) == len(PATHOLOGICAL) + 2
    print(f"\n{len(PATHOLOGICAL)} pathological posts in {took:.2f} s; {probe.report()}")
    assert took > 1.0  # the rendering really happened while the probe was ticking
    assert probe.worst < MAX_LAG, probe.report()


async def test_a_warm_server_keeps_its_startup_heap_out_of_full_collections(
    settings, aiohttp_server
) -> None:
    """`confer serve` freezes what the server built while starting (confer.app), so that a full
    garbage collection no longer walks ~80 MB of modules and templates (~40 ms of event loop
    each time, measured). Garbage made afterwards is still collected."""
    from confer.app import _frozen_key, create_app, freeze_startup_heap

    app = create_app(settings)
    app.on_startup.append(freeze_startup_heap)
    assert gc.get_freeze_count() == 0
    try:
        await aiohttp_server(app, host="127.0.0.1")
        await app[_frozen_key]
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
