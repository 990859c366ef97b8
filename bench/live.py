"""Live fan-out: N socket.io clients in one thread, posts at a steady rate, delivery latency.

Design: the server is the thing measured, so the load tool must stay off the critical path.
Clients are the official socket.io-client (the version the browser runs) in several Node
processes, each holding its share of websocket-only connections; a client's `post:new`
handler only stores (client, post id, CLOCK_MONOTONIC µs) in typed arrays. Posts are made by
this process through the JSON API with aiohttp, each on its own task on an absolute schedule,
so a slow response never delays the next post. Latency is receipt time (Node) minus the time
just before the HTTP request was issued (Python), on the same monotonic clock. The figures
also report how late the load tool itself ran (the post schedule lag and each worker's
event-loop delay) so that a slow load tool shows up instead of passing for a slow server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import sys
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp

from bench import common
from bench.common import now_us

DEMO_SLUG = "councillors-connected"
ORGANISER = "organiser@demo.confer.test"
WORKER_JS = common.BENCH_DIR / "live_client.cjs"
CURVE_SVG = common.ROOT / "docs" / "perf-live-curve.svg"
CURVE_CLIENTS = (100, 500, 1000, 2000)
CTX = ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")
TARGETS = {"p99_ms": {500: 100, 2000: 150}, "memory_mb_at_1000": 150}

POST_BODY = (
    "Benchmark post {i} of {n}. We moved our **bin collection** updates to the council's "
    "social channels last spring, and the number of missed-collection calls fell by a third. "
    "The key was answering every reply within a working day: see "
    "https://example.org/councils/social-media-guide for the guide we followed."
)


@dataclass(frozen=True)
class LiveConfig:
    clients: int = 500
    rate: float = 10.0
    seconds: float = 60.0
    workers: int = 4
    grace: float = 5.0  # deliveries later than this after the last post count as lost
    drain: float = 60.0  # ... but are waited for this long, to tell late from never
    concurrency: int = 25  # connections being opened at once, per worker
    deflate: bool = True  # clients offer permessage-deflate, as browsers do
    anonymous: bool = False  # clients connect with the organiser's API token unless set
    settle_timeout: float = 120.0
    connect_timeout: float | None = None  # default grows with clients²
    database_url: str | None = None
    server_root: str | None = None  # run the server from another checkout (A/B experiments)
    profile: bool = False  # py-spy the server during the posting phase
    worker_sched: str = "batch"  # "batch": Node workers never preempt the server on wake-up

    @property
    def posts(self) -> int:
        return max(1, round(self.rate * self.seconds))


SMOKE = LiveConfig(
    clients=20, rate=2.0, seconds=2.5, workers=2, grace=2.0, drain=5.0, settle_timeout=10
)
POST_NUMBER = re.compile(r"Benchmark post (\d+) of")


# --- Node workers ------------------------------------------------------------------------------


class WorkerError(RuntimeError):
    pass


class Worker:
    def __init__(self, index: int, proc: asyncio.subprocess.Process, results: Path, err: Path):
        self.index = index
        self.proc = proc
        self.results_path = results
        self.err_path = err
        self.records = 0
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if msg.get("type") == "progress":
                self.records = msg["records"]
            else:
                await self.messages.put(msg)
        await self.messages.put({"type": "exit"})

    async def expect(self, kind: str, within: float) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerError(f"worker {self.index}: no '{kind}' within {within:.0f} s")
            try:
                msg = await asyncio.wait_for(self.messages.get(), left)
            except TimeoutError:
                continue
            if msg["type"] == kind:
                return msg
            if msg["type"] in ("error", "exit"):
                raise WorkerError(
                    f"worker {self.index}: {msg.get('message', 'exited')}\n{self.stderr_tail()}"
                )

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        if self.proc.returncode is None:
            self.proc.stdin.write(command.encode() + b"\n")

    def stderr_tail(self) -> str:
        try:
            return self.err_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        self.reader.cancel()
        if self.proc.returncode is None:
            common.stop_group(self.proc.pid, wait=3)


async def start_worker(
    index: int, clients: int, cfg: LiveConfig, url: str, token: str | None, room: str,
    modules: Path, tmp: Path, max_seconds: float, extra: dict[str, Any] | None = None,
) -> Worker:  # fmt: skip
    """extra: more of the worker's config (lbCookie, insecure: see live_client.cjs)."""
    results = tmp / f"worker{index}.json"
    err = tmp / f"worker{index}.err"
    config = {
        "worker": index,
        "clients": clients,
        "url": url,
        "token": token,
        "room": room,
        "nodeModules": str(modules),
        "concurrency": cfg.concurrency,
        "deflate": cfg.deflate,
        "expectedPosts": cfg.posts,
        "resultsPath": str(results),
        "maxSeconds": max_seconds,
        "timeoutMs": int(1000 * min(max_seconds, 600)),  # to connect, and for the join's ack
        **(extra or {}),
    }
    node = shutil.which("node") or "node"
    err_fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        proc = await asyncio.create_subprocess_exec(
            node,
            str(WORKER_JS),
            env={**os.environ, "CFB_WORKER_CONFIG": json.dumps(config)},  # not argv: ps shows it
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err_fd,
            start_new_session=True,
            preexec_fn=common.child_setup(clients + 1024, cfg.worker_sched),
        )
    finally:
        os.close(err_fd)
    return Worker(index, proc, results, err)


def load_results(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths]


# --- setup through the CLI and the JSON API ---------------------------------------------------


async def make_thread(http: aiohttp.ClientSession, base: str, token: str) -> int:
    """A fresh thread in the demo's café (open for the whole conference), by the organiser."""
    auth = {"Authorization": f"Bearer {token}"}
    async with http.get(f"{base}/api/v1/conferences/{DEMO_SLUG}", headers=auth) as r:
        r.raise_for_status()
        conference = await r.json()
    cafe = [s for s in conference["sessions"] if s["posting_window"] == "conference"]
    if not cafe:
        raise RuntimeError("the demo conference has no café session")
    body = {
        "title": f"Benchmark thread {common.timestamp()}",
        "body": "Posts in this thread are made by `python -m bench live`.",
        "idempotency_key": f"bench-thread-{uuid.uuid4()}",
    }
    url = f"{base}/api/v1/sessions/{cafe[0]['id']}/threads"
    async with http.post(url, json=body, headers=auth) as r:
        data = await r.json()
        if r.status != 201:
            raise RuntimeError(f"could not create the thread ({r.status}): {data}")
    return int(data["id"])


async def list_thread(
    http: aiohttp.ClientSession, url: str, auth: dict[str, str]
) -> dict[int, int]:
    """Post number -> post id for every benchmark post in the thread (from its text)."""
    found: dict[int, int] = {}
    after = 0
    while True:
        async with http.get(url, params={"after": after, "limit": 500}, headers=auth) as r:
            r.raise_for_status()
            page = await r.json()
        for post in page["posts"]:
            m = POST_NUMBER.search(post["html"] or "")
            if m:
                found[int(m.group(1))] = int(post["id"])
        if not page["more"]:
            return found
        after = page["last_seq"]


async def settle(
    server_pid: int | list[int], workers: list[Worker], within: float
) -> tuple[float, bool]:
    """Wait until the join storm is over: server CPU under 10% and no presence for 1 s."""
    pids = server_pid if isinstance(server_pid, list) else [server_pid]

    def cpu_now() -> float:
        return sum(common.proc_cpu_seconds(p) or 0.0 for p in pids)

    t0 = time.monotonic()
    prev_cpu, prev_t = cpu_now(), time.monotonic()
    while time.monotonic() - t0 < within:
        await asyncio.sleep(1.0)
        cpu, t = cpu_now(), time.monotonic()
        busy = (cpu - prev_cpu) / (t - prev_t)
        prev_cpu, prev_t = cpu, t
        for w in workers:
            w.send("idle")
        idle = [await w.expect("idle", 10) for w in workers]
        quiet = all(m["sinceLastPresence"] is None or m["sinceLastPresence"] > 1.0 for m in idle)
        if busy < 0.10 and quiet:
            return time.monotonic() - t0, True
    return time.monotonic() - t0, False


# --- profiling ----------------------------------------------------------------------------------


async def start_profiler(pid: int, seconds: float, out: Path) -> asyncio.subprocess.Process | None:
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        print("--profile: py-spy is not installed (pip install py-spy); skipping", flush=True)
        return None
    return await asyncio.create_subprocess_exec(
        py_spy, "record", "--pid", str(pid), "--duration", str(math.ceil(seconds)),
        "--rate", "200", "--nonblocking", "--format", "raw", "--output", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def keep_profile(path: Path, clients: int) -> dict[str, Any] | None:
    """Copy py-spy's collapsed stacks under bench/results/ and summarise them."""
    if not path.exists():
        return None
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    saved = common.RESULTS_DIR / f"live-{clients}-profile-{common.timestamp()}.txt"
    shutil.copy(path, saved)
    profile = summarise_profile(path)
    profile["raw"] = str(saved.relative_to(common.ROOT))
    return profile


def summarise_profile(path: Path, top: int = 20) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    self_samples: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        # "func (path:line)" -> "func (file)" so that lines of one function add up
        names = [f.split(":")[0] + ")" if "(" in f else f for f in frames]
        self_samples[names[-1]] = self_samples.get(names[-1], 0) + n
        for name in set(names):
            incl[name] = incl.get(name, 0) + n

    def top_of(d: dict[str, int]) -> list[list[Any]]:
        rows = sorted(d.items(), key=lambda kv: -kv[1])[:top]
        return [[name, round(100 * v / max(total, 1), 1)] for name, v in rows]

    return {"samples": total, "self_pct": top_of(self_samples), "inclusive_pct": top_of(incl)}


# --- one run ------------------------------------------------------------------------------------


async def run_live(cfg: LiveConfig, *, quiet: bool = False) -> dict[str, Any]:
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    modules = await asyncio.to_thread(common.ensure_socket_io_client)
    sio_version = json.loads(
        (modules / "socket.io-client" / "package.json").read_text(encoding="utf-8")
    )["version"]
    facts = common.machine_facts()
    facts["socket.io-client"] = sio_version
    server = common.Server(
        nofile=cfg.clients * 2 + 4096,
        database_url=cfg.database_url,
        root=Path(cfg.server_root) if cfg.server_root else common.ROOT,
        # One organiser posts 10 a second: far past the per-member posting limit.
        extra_env={"RATE_LIMITS": "off"},
    )
    workers: list[Worker] = []
    profiler = None
    n_workers = max(1, min(cfg.workers, cfg.clients))
    # Each join is announced to the whole room, so joining costs O(N²) frames: allow for it.
    connect_budget = cfg.connect_timeout or 120 + 3e-4 * cfg.clients**2
    max_seconds = connect_budget + cfg.settle_timeout + cfg.seconds + cfg.drain + cfg.grace + 180
    record: dict[str, Any] = {"benchmark": "live", "machine": facts, "params": asdict(cfg)}
    record["server_code"] = await asyncio.to_thread(common.git_state, server.root)
    record["params"].pop("database_url")
    record["params"]["posts"] = cfg.posts
    record["params"]["workers"] = n_workers
    try:
        say(f"live: starting a server ({'DATABASE_URL' if cfg.database_url else 'embedded'})")
        server.start(demo=True)
        timeout = aiohttp.ClientTimeout(total=max(60, cfg.drain + cfg.grace))
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
            await common.wait_until_up(http, server, 120, f"/api/v1/conferences/{DEMO_SLUG}")
            out = await asyncio.to_thread(server.cli, "token", "create", "--email", ORGANISER)
            token = out.strip().splitlines()[-1]
            thread_id = await make_thread(http, server.url, token)
            room = f"thread:{thread_id}"
            mem_before = common.rss_mb(server.pid)
            assert server.tmp is not None

            # Connect and join.
            say(f"live: connecting {cfg.clients} clients in {n_workers} Node workers")
            q, extra = divmod(cfg.clients, n_workers)
            t_connect = time.monotonic()
            client_token = None if cfg.anonymous else token
            for i in range(n_workers):
                k = q + (i < extra)
                w = await start_worker(
                    i, k, cfg, server.url, client_token, room, modules, server.tmp, max_seconds
                )
                workers.append(w)
            offsets = []
            for w in workers:
                msg = await w.expect("clock", 30)
                offsets.append((now_us() - msg["us"]) / 1000)
            if max(abs(o) for o in offsets) > 1000:
                raise RuntimeError(f"Node's monotonic clock differs from Python's: {offsets} ms")
            ready = [await w.expect("ready", connect_budget) for w in workers]
            connect_s = time.monotonic() - t_connect
            joined = sum(m["joined"] for m in ready)
            failed = sum(m["failed"] for m in ready)
            say(f"live: {joined} joined, {failed} failed in {connect_s:.1f} s; settling")
            if joined == 0:
                raise RuntimeError(f"no client could join: {ready[0]['errors']}")
            settle_s, settled = await settle(server.pid, workers, cfg.settle_timeout)
            mem_connected = common.rss_mb(server.pid)

            # Post at a steady rate.
            say(f"live: posting {cfg.posts} posts at {cfg.rate:g}/s")
            url = f"{server.url}/api/v1/threads/{thread_id}/posts"
            auth = {"Authorization": f"Bearer {token}"}
            send_us: dict[int, int] = {}  # post number -> CLOCK_MONOTONIC µs just before sending
            id_of: dict[int, int] = {}  # post number -> post id (from the response)
            http_ms: list[float] = []
            post_errors: list[str] = []
            lag_ms: list[float] = []
            run_id = uuid.uuid4().hex[:8]

            async def post_one(i: int) -> None:
                body = {
                    "body": POST_BODY.format(i=i, n=cfg.posts),
                    "idempotency_key": f"bench-{run_id}-{i}",
                }
                send_us[i] = now_us()
                try:
                    async with http.post(url, json=body, headers=auth) as r:
                        data = await r.json()
                        if r.status != 201:
                            post_errors.append(f"{r.status}: {str(data)[:200]}")
                            return
                except (aiohttp.ClientError, TimeoutError) as e:
                    post_errors.append(f"{type(e).__name__}: {e}")
                    return
                http_ms.append((now_us() - send_us[i]) / 1000)
                id_of[i] = int(data["id"])

            cpu0 = {
                "machine": common.machine_busy_seconds(),
                "server": common.cpu_sample(server.pid),
                "bench": common.self_cpu_seconds(),
                **common.proc_status(server.pid, *CTX),
            }
            load0 = common.loadavg()
            for w in workers:
                w.send("start")
            if cfg.profile:
                prof_path = server.tmp / "profile.txt"
                profiler = await start_profiler(server.pid, cfg.seconds, prof_path)
            t0 = time.monotonic()
            tasks = []
            for i in range(cfg.posts):
                delay = t0 + i / cfg.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                lag_ms.append(max(0.0, -delay) * 1000)
                tasks.append(asyncio.create_task(post_one(i)))
            t_last = time.monotonic()
            grace_end_us = now_us() + int(cfg.grace * 1e6)
            drain_end = t_last + max(cfg.grace, cfg.drain)
            post_s = t_last - t0 + 1 / cfg.rate

            # Wait for the responses and the deliveries: anything that has not arrived
            # `grace` seconds after the last post counts as lost; waiting on up to `drain`
            # seconds tells late deliveries (a backlog) from ones that never come.
            await asyncio.wait(tasks, timeout=max(0.1, drain_end - time.monotonic()))
            for t in tasks:
                t.cancel()
            expected_now = joined * len(id_of)
            while time.monotonic() < drain_end:
                if sum(w.records for w in workers) >= expected_now:
                    await asyncio.sleep(0.5)  # let late duplicates show
                    break
                await asyncio.sleep(0.1)
            t_end = time.monotonic()
            cpu1 = {
                "machine": common.machine_busy_seconds(),
                "server": common.cpu_sample(server.pid),
                "bench": common.self_cpu_seconds(),
                **common.proc_status(server.pid, *CTX),
            }
            load1 = common.loadavg()
            mem_end = common.rss_mb(server.pid)
            for w in workers:
                w.send("finish")
            listed = await list_thread(http, url, auth)
            for w in workers:
                await w.expect("done", 120)
            results = await asyncio.to_thread(load_results, [w.results_path for w in workers])
            profile = None
            if profiler is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(profiler.wait(), 30)
                profile = await asyncio.to_thread(keep_profile, prof_path, cfg.clients)
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("live: interrupted; stopping the workers and the server", flush=True)
        raise
    except BaseException:
        server_died = server.proc is not None and server.proc.poll() is not None
        log = server.keep_log(f"live-{cfg.clients}")
        if log is not None:
            code = f" (the server exited with {server.proc.returncode})" if server_died else ""  # type: ignore[union-attr]
            print(f"live: run failed{code}; server log: {log.relative_to(common.ROOT)}")
            for w in workers:
                if tail := w.stderr_tail():
                    print(f"worker {w.index} stderr: {tail}")
        raise
    finally:
        if profiler is not None and profiler.returncode is None:
            common.stop_group(profiler.pid, wait=2)
        for w in workers:
            w.stop()
        server.stop()

    # --- figures ---------------------------------------------------------------------------
    # Posts whose response was lost still count: the thread's listing maps number -> id.
    for number, post_id in listed.items():
        id_of.setdefault(number, post_id)
    created = {post_id: send_us[n] for n, post_id in id_of.items() if n in send_us}
    latencies: list[float] = []
    first_ms: list[float] = []
    spread_ms: list[float] = []
    received = late = 0
    for post_id, t_send in created.items():
        times: list[float] = []
        for r in results:
            times.extend(r["posts"].get(str(post_id), ()))
        received += len(times)
        late += sum(1 for t in times if t > grace_end_us)
        latencies.extend((t - t_send) / 1000 for t in times)
        if times:
            first_ms.append((min(times) - t_send) / 1000)
            spread_ms.append((max(times) - min(times)) / 1000)
    expected = joined * len(created)
    created_keys = {str(k) for k in created}
    unexpected = sum(
        len(v) for r in results for k, v in r["posts"].items() if k not in created_keys
    )
    duplicates = sum(r["duplicates"] for r in results)
    server_cpu = common.cpu_between(cpu0["server"], cpu1["server"])  # with its render workers
    ours = server_cpu + (cpu1["bench"] - cpu0["bench"])
    ours += sum(r["cpuSeconds"] for r in results)
    busy = cpu1["machine"] - cpu0["machine"]
    window = t_end - t0
    record["results"] = {
        "clients_joined": joined,
        "clients_failed": failed,
        "connect_errors": sorted({e for m in ready for e in m["errors"]})[:5],
        "websocket_extensions": ready[0].get("extensions"),
        "connect_join_seconds": round(connect_s, 1),
        "settle_seconds": round(settle_s, 1),
        "settled": settled,
        "posts_sent": cfg.posts,
        "posts_created": len(created),
        "posts_in_thread": len(listed),
        "post_errors": post_errors[:10],
        "posting_seconds": round(post_s, 1),
        "latency_ms": common.summary(latencies),
        "first_delivery_ms": common.summary(first_ms),
        "fanout_spread_ms": common.summary(spread_ms),
        "http_post_ms": common.summary(http_ms),
        "server_cpu": {
            "ms_per_post": round(1000 * server_cpu / max(len(created), 1), 1),
            "us_per_delivery": round(1e6 * server_cpu / max(received, 1), 1),
            "share_of_one_core": round(server_cpu / max(window, 0.001), 2),
            "context_switches": {k: cpu1.get(k, 0) - cpu0.get(k, 0) for k in CTX},
        },
        "deliveries": {
            "expected": expected,
            "received": received - late,
            "lost": expected - received + late,
            "late": late,
            "never": expected - received,
            "duplicated": duplicates,
            "unexpected": unexpected,
            "disconnects": sum(r["disconnects"] for r in results),
        },
        "server_memory_mb": {
            "before_connect": mem_before["rss_mb"],
            "after_connect": mem_connected["rss_mb"],
            "end": mem_end["rss_mb"],
            "peak": mem_end["hwm_mb"],
        },
        "load_tool": {
            "post_schedule_lag_ms": common.summary(lag_ms),
            "worker_event_loop_delay_ms": {
                "p99_max": round(max(r["eventLoopDelayMs"]["p99"] for r in results), 1),
                "max": round(max(r["eventLoopDelayMs"]["max"] for r in results), 1),
            },
            "worker_rss_mb": [r["rssMb"] for r in results],
            "clock_offset_ms": [round(o, 2) for o in offsets],
        },
        "noise": {
            "loadavg_before": load0,
            "loadavg_after": load1,
            "cpu_seconds": {
                "machine_busy": round(busy, 1),
                "server": round(server_cpu, 1),
                "node_workers": round(sum(r["cpuSeconds"] for r in results), 1),
                "bench_process": round(cpu1["bench"] - cpu0["bench"], 1),
                "other_incl_postgres": round(busy - ours, 1),
            },
            "window_seconds": round(window, 1),
        },
    }
    if profile is not None:
        record["results"]["profile"] = profile
    return record


# --- presentation --------------------------------------------------------------------------------


def print_record(record: dict[str, Any]) -> None:
    p, r = record["params"], record["results"]
    d, m, n = r["deliveries"], r["server_memory_mb"], r["noise"]
    print()
    print(
        f"live: {r['clients_joined']}/{p['clients']} clients joined, {p['rate']:g} posts/s for "
        f"{p['seconds']:g} s ({r['posts_created']}/{p['posts']} posts made), "
        f"{p['workers']} Node workers, socket.io-client {record['machine']['socket.io-client']}, "
        f"websocket extensions: {r['websocket_extensions'] or 'none'}"
    )
    rows = []
    for label, key in (
        ("post -> post:new (every client)", "latency_ms"),
        ("post -> first client", "first_delivery_ms"),
        ("fan-out spread (first -> last client)", "fanout_spread_ms"),
        ("HTTP POST response", "http_post_ms"),
    ):
        s = r[key]
        rows.append([label, s["p50"], s["p95"], s["p99"], s["max"], s["n"]])
    print(common.table(rows, ["latency, ms", "p50", "p95", "p99", "max", "n"]))
    print()
    g = p["grace"]
    cols = ["deliveries expected", f"received in {g:g} s", "lost", "(late)", "(never)"]
    cols += ["duplicated", "unexpected", "sockets dropped"]
    keys = ("expected", "received", "lost", "late", "never", "duplicated", "unexpected")
    print(common.table([[*(d[k] for k in keys), d["disconnects"]]], cols))
    print()
    print(
        common.table(
            [[m["before_connect"], m["after_connect"], m["end"], m["peak"]]],
            ["server RSS MB: before connect", "after connect", "end", "peak"],
        )
    )
    sc = r["server_cpu"]
    print(
        f"server CPU: {sc['ms_per_post']} ms a post, {sc['us_per_delivery']} µs a delivery, "
        f"{sc['share_of_one_core']:.0%} of one core; context switches {sc['context_switches']}"
    )
    lt = r["load_tool"]
    cpu = n["cpu_seconds"]
    print()
    print(
        f"connect + join: {r['connect_join_seconds']} s, settle: {r['settle_seconds']} s"
        f"{'' if r['settled'] else ' (did not settle)'}; failed clients: {r['clients_failed']}"
        f"{' ' + str(r['connect_errors']) if r['connect_errors'] else ''}"
    )
    print(
        f"load tool: post schedule lag p99 {lt['post_schedule_lag_ms']['p99']} ms, "
        f"worker event-loop delay p99 {lt['worker_event_loop_delay_ms']['p99_max']} ms "
        f"(max {lt['worker_event_loop_delay_ms']['max']} ms)"
    )
    print(
        f"noise: loadavg {n['loadavg_before']} -> {n['loadavg_after']}; CPU s over "
        f"{n['window_seconds']} s: machine {cpu['machine_busy']}, server {cpu['server']}, "
        f"Node {cpu['node_workers']}, bench {cpu['bench_process']}, "
        f"other (incl. PostgreSQL) {cpu['other_incl_postgres']}"
    )
    if r["post_errors"]:
        print(f"post errors: {r['post_errors'][:3]}")
    prof = r.get("profile")
    if prof:
        print(f"\nserver profile ({prof['samples']} samples, raw: {prof['raw']}), self time:")
        for name, pct in prof["self_pct"][:12]:
            print(f"  {pct:5.1f}%  {name}")


# --- the curve --------------------------------------------------------------------------------


def curve_svg(
    points: list[dict[str, Any]],
    subtitle: str,
    compare: tuple[str, list[dict[str, Any]]] | None = None,
    label: str = "",
) -> str:
    """p50 and p99 delivery latency against clients, as a hand-written SVG (log latency axis).

    `compare` = (label, points of another curve record) adds that run in green.
    """
    others = compare[1] if compare else []
    w, h = 760, 500
    left, right, top, bottom = 78, 70, 104, 60
    pw, ph = w - left - right, h - top - bottom
    xs = sorted({pt["clients"] for pt in [*points, *others]})
    ys = [v for pt in [*points, *others] for v in (pt["p50"], pt["p99"]) if v]
    x_max = max([*xs, 2000])
    lo = 10 ** math.floor(math.log10(min([*ys, 10.0])))
    hi = 10 ** math.ceil(math.log10(max([*ys, 200.0])))
    ink, blue, red, grey, green = "#0b0c0c", "#1d70b8", "#d4351c", "#505a5f", "#00703c"

    def x(v: float) -> float:
        return round(left + pw * v / x_max, 1)

    def y(v: float) -> float:
        frac = (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return round(top + ph * (1 - frac), 1)

    def line(x1: float, y1: float, x2: float, y2: float, stroke: str, extra: str = "") -> str:
        return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{stroke}"{extra}/>'

    def text(tx: float, ty: float, s: str, extra: str = "") -> str:
        return f'<text x="{tx}" y="{ty}"{extra}>{s}</text>'

    def ms(v: float) -> str:
        return f"{v / 1000:g} s" if v >= 1000 else f"{v:g} ms"

    desc = "; ".join(f"{p['clients']} clients: p50 {p['p50']}, p99 {p['p99']} ms" for p in points)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
        f'height="{h}" role="img" aria-labelledby="t d" font-family="system-ui, sans-serif" '
        'font-size="13">',
        '<title id="t">Live post-to-delivery latency against clients in one thread</title>',
        f'<desc id="d">{desc}</desc>',
        f'<rect width="{w}" height="{h}" fill="#fff"/>',
        text(left, 24, "Post-to-delivery latency, one thread (python -m bench live --curve)",
             ' font-size="16" font-weight="bold"'),
        text(left, 44, subtitle, f' fill="{grey}"'),
    ]  # fmt: skip
    decade = lo
    while decade <= hi:
        for k in (1, 2, 5):
            v = decade * k
            if v > hi:
                break
            major = k == 1
            out.append(line(left, y(v), left + pw, y(v), "#dddddd" if major else "#f3f2f1"))
            if major or (hi / lo) <= 1000:
                out.append(text(left - 8, y(v) + 4, ms(v), ' text-anchor="end"'))
        decade *= 10
    for c in sorted(set(xs)):
        out.append(line(x(c), top + ph, x(c), top + ph + 5, ink))
        out.append(text(x(c), top + ph + 20, str(c), ' text-anchor="middle"'))
    out.append(line(left, top + ph, left + pw, top + ph, ink))
    out.append(line(left, top, left, top + ph, ink))
    out.append(text(left + pw / 2, h - 14, "clients in the thread", ' text-anchor="middle"'))
    out.append(
        f'<text transform="translate(16 {top + ph / 2}) rotate(-90)" text-anchor="middle">'
        "latency (log scale)</text>"
    )
    for clients, target in TARGETS["p99_ms"].items():
        cx, cy = x(clients), y(target)
        out.append(
            f'<path d="M{cx} {cy - 6}l6 6l-6 6l-6 -6z" fill="none" stroke="{red}" '
            'stroke-width="2"/>'
        )
        at_edge = cx > left + pw - 150
        anchor = ' text-anchor="end"' if at_edge else ""
        tx = cx - 9 if at_edge else cx + 9
        out.append(text(tx, cy + 18, f"p99 target {target} ms", f' fill="{red}"{anchor}'))
    dashed = ' stroke-dasharray="6 3"'
    series = [(points, "p50", blue, "", 18), (points, "p99", ink, dashed, -9)]
    series += [(others, "p50", green, "", 18), (others, "p99", green, dashed, -9)]
    for pts_of, key, colour, dash, dy in series:
        pts = [(x(pt["clients"]), y(pt[key]), pt[key]) for pt in pts_of if pt[key]]
        if not pts:
            continue
        d = " ".join(f"{'L' if i else 'M'}{px} {py}" for i, (px, py, _) in enumerate(pts))
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>')
        for px, py, v in pts:
            out.append(f'<circle cx="{px}" cy="{py}" r="4" fill="{colour}"/>')
            shown = f"{v:.0f} ms" if v < 1000 else f"{v / 1000:.1f} s"
            if px - left < 60:  # keep clear of the axis labels
                out.append(text(px + 8, py + dy, shown, f' fill="{colour}"'))
            else:
                out.append(text(px - 6, py + dy, shown, f' fill="{colour}" text-anchor="end"'))
    # Legend: one row under the subtitle.
    lx, ly = left, 66
    keys = [("p50", blue, ""), ("p99", ink, dashed)]
    if compare:
        keys += [("p50", green, ""), ("p99", green, dashed)]
    for i, (key, colour, dash) in enumerate(keys):
        name = f"{key} {compare[0] if i >= 2 else label}".strip() if compare else key
        width = 40 + 7 * len(name)
        if lx + width > w - 20:  # wrap onto a second row
            lx, ly = left, ly + 18
        out.append(line(lx, ly, lx + 24, ly, colour, f' stroke-width="2.5"{dash}'))
        out.append(text(lx + 30, ly + 4, name))
        lx += width
    if lx + 80 > w - 20:
        lx, ly = left, ly + 18
    out.append(f'<path d="M{lx + 12} {ly - 6}l6 6l-6 6l-6 -6z" fill="none" stroke="{red}"/>')
    out.append(text(lx + 26, ly + 4, "target", f' fill="{red}"'))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(common.ROOT))
    except ValueError:
        return str(path)


def load_compare(path: str | None, label: str) -> tuple[str, list[dict[str, Any]]] | None:
    if not path:
        return None
    return (label, json.loads(Path(path).read_text(encoding="utf-8"))["points"])


async def run_curve(
    base: LiveConfig,
    clients: list[int],
    svg: Path = CURVE_SVG,
    compare: tuple[str, list[dict[str, Any]]] | None = None,
    label: str = "",
) -> dict[str, Any]:
    points = []
    runs = []
    for n in clients:
        print(f"\n=== curve: {n} clients ===", flush=True)
        rec = await run_live(replace(base, clients=n))
        print_record(rec)
        path = common.write_record(f"live-{n}", rec)
        print(f"record: {path.relative_to(common.ROOT)}")
        r = rec["results"]
        points.append(
            {
                "clients": n,
                "p50": r["latency_ms"]["p50"],
                "p95": r["latency_ms"]["p95"],
                "p99": r["latency_ms"]["p99"],
                "max": r["latency_ms"]["max"],
                "lost": r["deliveries"]["lost"],
                "duplicated": r["deliveries"]["duplicated"],
                "rss_after_connect_mb": r["server_memory_mb"]["after_connect"],
                "rss_end_mb": r["server_memory_mb"]["end"],
                "record": str(path.relative_to(common.ROOT)),
            }
        )
        runs.append(rec)
    facts = runs[-1]["machine"]
    subtitle = (
        f"{base.rate:g} posts/s for {base.seconds:g} s per point; {facts['nproc']} cores "
        f"({facts['cpu_model']}), shared with other jobs; {common.timestamp()[:8]}"
    )
    await asyncio.to_thread(write_text, svg, curve_svg(points, subtitle, compare, label))
    print()
    print(
        common.table(
            [[p["clients"], p["p50"], p["p95"], p["p99"], p["max"], p["lost"], p["duplicated"],
              p["rss_after_connect_mb"], p["rss_end_mb"]] for p in points],
            ["clients", "p50 ms", "p95 ms", "p99 ms", "max ms", "lost", "dup", "RSS conn MB",
             "RSS end MB"],
        )
    )  # fmt: skip
    print(f"chart: {rel(svg)}")
    return {
        "benchmark": "live-curve",
        "machine": facts,
        "params": {**asdict(base), "clients": clients},
        "points": points,
        "chart": rel(svg),
        "label": label,
    }


# --- command line -----------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = LiveConfig()
    arg = p.add_argument
    arg("--clients", type=int, help=f"socket clients (default {d.clients})")
    arg("--rate", type=float, help=f"posts per second (default {d.rate:g})")
    arg("--seconds", type=float, help=f"posting time (default {d.seconds:g}; 20 with --curve)")
    arg("--workers", type=int, default=d.workers, help="Node worker processes")
    arg("--grace", type=float, default=d.grace, help="later deliveries count as lost")
    arg("--drain", type=float, default=d.drain, help="but wait this long to tell late from never")
    arg("--concurrency", type=int, default=d.concurrency, help="connects at once per worker")
    arg("--connect-timeout", type=float, help="seconds allowed to connect and join everyone")
    arg("--no-deflate", action="store_true", help="clients do not offer permessage-deflate")
    arg("--anonymous", action="store_true", help="clients connect without a token")
    arg(
        "--worker-sched",
        choices=("batch", "normal"),
        default=d.worker_sched,
        help="scheduling policy of the Node workers (batch: never preempt the server)",
    )
    arg("--profile", action="store_true", help="py-spy the server while posting")
    arg("--server-root", help="run `python -m confer` from this checkout (before/after tests)")
    arg("--curve", action="store_true", help="100..2000 clients; draw docs/perf-live-curve.svg")
    arg("--curve-clients", default=",".join(map(str, CURVE_CLIENTS)), help="curve points")
    arg("--chart", help=f"where --curve draws its SVG (default {rel(CURVE_SVG)})")
    arg("--label", default="", help="name of this run in the chart's legend")
    arg("--compare", metavar="RECORD", help="also draw a live-curve-*.json record, in green")
    arg("--compare-label", default="", help="name of the --compare run in the legend")
    arg(
        "--reference",
        action="store_true",
        help="also run a bare python-socketio server in the same run; print Confer's ratios to it",
    )
    arg(
        "--processes",
        metavar="N[,M]",
        help="also run through nginx + Redis + N Confer processes (e.g. 2,3) on an "
        "operator-style PostgreSQL, beside one process direct; print the ratios",
    )
    arg("--smoke", action="store_true", help="a few seconds, 20 clients, 5 posts (for CI)")


def config_from(args: argparse.Namespace) -> LiveConfig:
    if getattr(args, "smoke", False):
        base = SMOKE
    else:
        base = LiveConfig(
            workers=args.workers, grace=args.grace, drain=args.drain, concurrency=args.concurrency,
            seconds=20.0 if args.curve else LiveConfig.seconds,
        )  # fmt: skip
    changes: dict[str, Any] = {
        "deflate": not args.no_deflate,
        "worker_sched": args.worker_sched,
        "anonymous": args.anonymous,
        "profile": args.profile,
        "connect_timeout": args.connect_timeout,
        "server_root": os.path.abspath(args.server_root) if args.server_root else None,
        "database_url": os.environ.get("DATABASE_URL") or None,
    }
    for name in ("clients", "rate", "seconds"):
        if getattr(args, name, None) is not None:
            changes[name] = getattr(args, name)
    return replace(base, **changes)


async def _stoppable(coro: Any) -> Any:
    """SIGTERM cancels the run like Ctrl-C does, so every `finally` stops its processes."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await coro
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def main(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    processes = scale.parse_processes(getattr(args, "processes", None))
    if getattr(args, "reference", False) or processes:
        if processes and (missing := scale.have_programs()):
            raise SystemExit(f"--processes needs {', '.join(missing)} (apt-get install them)")
        record = asyncio.run(
            _stoppable(scale.run_live_scale(cfg, reference=args.reference, processes=processes))
        )
        scale.print_live(record)
        scale.write("live-smoke" if args.smoke else "live-scale", record)
        return 0
    if args.curve:
        clients = [int(c) for c in args.curve_clients.split(",") if c.strip()]
        svg = Path(args.chart) if args.chart else CURVE_SVG
        if args.smoke:  # keep the published chart; draw the smoke one among the results
            clients, svg = [5, 20], common.RESULTS_DIR / "live-curve-smoke.svg"
        compare = load_compare(args.compare, args.compare_label)
        record = asyncio.run(_stoppable(run_curve(cfg, clients, svg, compare, args.label)))
        path = common.write_record("live-curve", record)
    else:
        record = asyncio.run(_stoppable(run_live(cfg)))
        print_record(record)
        name = "live-smoke" if args.smoke else f"live-{cfg.clients}"
        path = common.write_record(name, record)
    print(f"record: {path.relative_to(common.ROOT)}")
    return 0


from bench import scale  # noqa: E402  (it imports this module's pieces)


def defaults() -> argparse.Namespace:
    """The arguments `python -m bench all` uses."""
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args([])


if __name__ == "__main__":
    sys.exit(main(defaults()))
