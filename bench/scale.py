"""Scale-out, measured in one run: `python -m bench live --reference --processes 2,3` and
`python -m bench writes --processes 2`.

Every case of a run uses the same operator-style PostgreSQL (bench/deployment.py) and the same
load tool, one after another:

- reference (live only, with --reference): a bare python-socketio server
  (bench/reference_server.py: no database, no rendering) under the same Node clients;
- direct: one Confer process, no proxy, no Redis: what `python -m bench live` measures;
- direct TLS (live, with --processes): the same process speaking HTTPS itself with aiohttp's
  ssl_context and the run's certificate (bench/confer_tls.py), so that the cost of encryption
  and the cost of the proxy and Redis are told apart: nginx+redis / direct TLS compares
  like with like, TLS on both sides;
- nginx+redis xN: nginx with the repository's site file (TLS, sticky sessions by cookie),
  python-socketio's Redis manager (REDIS_URL) and N Confer processes. Each client carries a
  sticky-session cookie of its own, as a browser gets from nginx, so clients spread over the
  processes; the spread is read from each process's established connections.

Absolute figures move 3x between machines and with whatever else the machine runs; the
ratios between cases of one run are the figures that travel. CPU is counted per process tree
(bench.common.CpuMeter: Confer processes, PostgreSQL, nginx, redis-server) over the posting
window and divided by the deliveries (live) or the accepted posts (writes).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import common
from bench.common import now_us
from bench.live import (
    ORGANISER,
    POST_BODY,
    LiveConfig,
    Worker,
    load_results,
    make_thread,
    settle,
    start_worker,
)

COMPONENTS = ("server", "nginx", "redis", "postgres")
DIRECT = "direct (1 process)"
DIRECT_TLS = "direct TLS (1 process, HTTPS itself)"
TARGETS = {
    "reference_p99_ratio": 0.25,  # Confer's p99 / the bare server's, at most
    "deployed_cpu_per_delivery_ratio": 1.5,  # nginx+Redis+N processes / direct, at most
    "writes_2_processes_ratio": 1.0,  # posts/s with 2 processes / 1 process, at least
}


def parse_processes(value: str | None) -> list[int]:
    """ "2" or "2,3" -> [2] or [2, 3]."""
    if not value:
        return []
    out = sorted({int(v) for v in str(value).split(",") if v.strip()})
    if any(n < 1 for n in out):
        raise SystemExit("--processes takes counts of 1 or more (e.g. 2 or 2,3)")
    return out


@dataclass
class Target:
    """Where one case's clients connect and its posts go, and which processes it costs."""

    name: str
    client_url: str
    post_url: str
    room: str
    post_json: Any  # callable: post number -> JSON body
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    worker_extra: dict[str, Any] = field(default_factory=dict)
    meter: common.CpuMeter = field(default_factory=common.CpuMeter)
    connections: Any = None  # callable -> {port: established connections}
    processes: int = 1
    database_url: str | None = None  # PostgreSQL's commits, rows and WAL per post
    redis_url: str | None = None  # Redis's PUBLISH commands per post


async def counters(target: Target) -> dict[str, float]:
    """Cumulative counts: Redis PUBLISHes; PostgreSQL commits, rows written, WAL bytes."""
    out: dict[str, float] = {}
    if target.redis_url:
        import redis.asyncio as aioredis

        client = aioredis.from_url(target.redis_url)
        try:
            stats = await client.info("commandstats")
            out["redis_publish"] = stats.get("cmdstat_publish", {}).get("calls", 0)
        finally:
            await client.aclose()
    if target.database_url:
        import asyncpg

        con = await asyncpg.connect(target.database_url)
        try:
            await con.execute("SELECT pg_stat_clear_snapshot()")
            row = await con.fetchrow(
                "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted AS rows, "
                "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS wal "
                "FROM pg_stat_database WHERE datname = current_database()"
            )
        finally:
            await con.close()
        out.update(pg_commits=row["xact_commit"], pg_rows=row["rows"], pg_wal_bytes=row["wal"])
    return out


# --- one fan-out case ----------------------------------------------------------------------


async def run_fanout(
    target: Target, cfg: LiveConfig, modules: Path, tmp: Path, say: Any
) -> dict[str, Any]:
    """cfg.clients Node clients joined to target.room; cfg.rate posts/s for cfg.seconds."""
    n_workers = max(1, min(cfg.workers, cfg.clients))
    connect_budget = cfg.connect_timeout or 120 + 3e-4 * cfg.clients**2
    max_seconds = connect_budget + cfg.settle_timeout + cfg.seconds + cfg.drain + 180
    workers: list[Worker] = []
    say(f"  {target.name}: connecting {cfg.clients} clients")
    server_pids = [p for p in target.meter.server_pids if p]
    rss_before = rss_of(server_pids)
    try:
        q, extra = divmod(cfg.clients, n_workers)
        for i in range(n_workers):
            workers.append(
                await start_worker(
                    i, q + (i < extra), cfg, target.client_url, target.token, target.room,
                    modules, tmp, max_seconds, {**target.worker_extra, "lbCookie": (
                        f"{target.worker_extra['lbCookie']}{i}"
                        if "lbCookie" in target.worker_extra else None)},
                )
            )  # fmt: skip
        for w in workers:
            await w.expect("clock", 30)
        ready = [await w.expect("ready", connect_budget) for w in workers]
        joined = sum(m["joined"] for m in ready)
        if joined == 0:
            raise RuntimeError(f"{target.name}: no client could join: {ready[0]['errors']}")
        await settle(server_pids, workers, cfg.settle_timeout)
        spread = target.connections() if target.connections else None
        rss_connected = rss_of(server_pids)

        send_us: dict[int, int] = {}
        id_of: dict[int, int] = {}
        errors: list[str] = []
        timeout = aiohttp.ClientTimeout(total=max(60, cfg.drain))
        connector = aiohttp.TCPConnector(limit=100, ssl=False)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:

            async def post_one(i: int) -> None:
                send_us[i] = now_us()
                try:
                    async with http.post(
                        target.post_url, json=target.post_json(i), headers=target.headers
                    ) as r:
                        data = await r.json(content_type=None)
                        if r.status != 201:
                            errors.append(f"{r.status}: {str(data)[:200]}")
                            return
                except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                    errors.append(f"{type(e).__name__}: {e}")
                    return
                id_of[i] = int(data["id"])

            counts0 = await counters(target)
            target.meter.begin()
            for w in workers:
                w.send("start")
            t0 = time.monotonic()
            tasks = []
            for i in range(cfg.posts):
                delay = t0 + i / cfg.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(post_one(i)))
            grace_end_us = now_us() + int(cfg.grace * 1e6)
            drain_end = time.monotonic() + max(cfg.grace, cfg.drain)
            await asyncio.wait(tasks, timeout=max(0.1, drain_end - time.monotonic()))
            for t in tasks:
                t.cancel()
            while time.monotonic() < drain_end:
                if sum(w.records for w in workers) >= joined * len(id_of):
                    await asyncio.sleep(0.5)  # let late duplicates show
                    break
                await asyncio.sleep(0.1)
            # The Node workers report their CPU only when they finish: "other" includes it.
            cpu = target.meter.end(0.0)
        for w in workers:
            w.send("finish")
        for w in workers:
            await w.expect("done", 120)
        results = await asyncio.to_thread(load_results, [w.results_path for w in workers])
        await asyncio.sleep(1.2)  # PostgreSQL's backends report their statistics within 1 s
        counts1 = await counters(target)
    finally:
        for w in workers:
            w.stop()
    per_post_counts = {
        k: round(float(counts1[k] - counts0[k]) / max(len(id_of), 1), 2) for k in counts1
    }

    created = {post_id: send_us[n] for n, post_id in id_of.items()}
    latencies: list[float] = []
    received = late = 0
    for post_id, t_send in created.items():
        times = [t for r in results for t in r["posts"].get(str(post_id), ())]
        received += len(times)
        late += sum(1 for t in times if t > grace_end_us)
        latencies.extend((t - t_send) / 1000 for t in times)
    expected = joined * len(created)
    keys = {str(k) for k in created}
    unexpected = sum(len(v) for r in results for k, v in r["posts"].items() if k not in keys)
    per_delivery = {
        c: round(1e6 * cpu.get(f"{c}_cpu_seconds", 0.0) / max(received, 1), 1) for c in COMPONENTS
    }
    per_post = {
        c: round(1e3 * cpu.get(f"{c}_cpu_seconds", 0.0) / max(len(created), 1), 2)
        for c in COMPONENTS
    }
    return {
        "case": target.name,
        "processes": target.processes,
        "clients_joined": joined,
        "clients_failed": sum(m["failed"] for m in ready),
        "spread": sorted(spread.values(), reverse=True) if spread else None,
        "posts_created": len(created),
        "post_errors": errors[:5],
        "latency_ms": common.summary(latencies),
        "deliveries": {
            "expected": expected,
            "received": received - late,
            "lost": expected - received + late,
            "late": late,
            "duplicated": sum(r["duplicates"] for r in results),
            "unexpected": unexpected,
            "disconnects": sum(r["disconnects"] for r in results),
        },
        "cpu_us_per_delivery": per_delivery,
        "cpu_us_per_delivery_total": round(sum(per_delivery.values()), 1),
        "cpu_us_per_delivery_without_postgres": round(
            sum(v for c, v in per_delivery.items() if c != "postgres"), 1
        ),
        "cpu_ms_per_post": per_post,
        "per_post": per_post_counts,
        "server_rss_mb_before_connect": rss_before,
        "server_rss_mb_connected": rss_connected,
        "kb_per_socket": round(1024 * (rss_connected - rss_before) / max(joined, 1), 1),
        "cpu": cpu,
        "node_cpu_seconds": round(sum(r["cpuSeconds"] for r in results), 2),
        "server_rss_mb": None,
    }


# --- the live run ----------------------------------------------------------------------------


def start_reference() -> tuple[subprocess.Popen[bytes], str]:
    port = common.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.reference_server", str(port)], cwd=common.ROOT,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=common.child_setup(65536),
    )  # fmt: skip
    return proc, f"http://{common.HOST}:{port}"


def rss_of(pids: list[int]) -> float:
    return round(sum(common.rss_mb(p)["rss_mb"] or 0.0 for p in pids), 1)


async def run_live_scale(
    cfg: LiveConfig, *, reference: bool, processes: list[int], say: Any = print
) -> dict[str, Any]:
    from bench.deployment import Stack, wait_up

    modules = await asyncio.to_thread(common.ensure_socket_io_client)
    facts = common.machine_facts()
    record: dict[str, Any] = {
        "benchmark": "live",
        "variant": "scale",
        "machine": facts,
        "params": {**asdict(cfg), "posts": cfg.posts, "reference": reference},
        "targets": TARGETS,
        "server_code": await asyncio.to_thread(common.git_state, common.ROOT),
    }
    record["params"]["processes"] = processes
    record["params"].pop("database_url", None)
    cases: list[dict[str, Any]] = []
    stack = await asyncio.to_thread(Stack)
    record["postgres"] = stack.postgres_kind
    tmp = stack.tmp
    ref_proc = None
    try:
        await asyncio.to_thread(stack.cli, "demo")
        token = await asyncio.to_thread(stack.cli, "token", "create", "--email", ORGANISER)
        token = token.strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        run_id = uuid.uuid4().hex[:8]

        def confer_json(i: int) -> dict[str, Any]:
            return {
                "body": POST_BODY.format(i=i, n=cfg.posts),
                "idempotency_key": f"bench-{run_id}-{len(cases)}-{i}",
            }

        if reference:
            say("live --reference: the bare python-socketio server")
            ref_proc, ref_url = start_reference()
            await asyncio.to_thread(wait_up, ref_url + "/healthz", 60)
            target = Target(
                name="reference (bare python-socketio)",
                client_url=ref_url,
                post_url=ref_url + "/post",
                room="thread:1",
                post_json=lambda i: {"room": "thread:1", "body": POST_BODY.format(i=i, n=0)},
                meter=common.CpuMeter(server_pids=[ref_proc.pid]),
            )
            case = await run_fanout(target, cfg, modules, tmp, say)
            case["server_rss_mb"] = rss_of([ref_proc.pid])
            cases.append(case)
            common.stop_group(ref_proc.pid)
            ref_proc = None

        # n = 0: direct (plain HTTP); -1: direct over TLS; n > 0: nginx, Redis, n processes.
        for n in [0, *([-1] if processes else []), *processes]:
            deployed, tls = n > 0, n < 0
            name = f"nginx+redis x{n}" if deployed else (DIRECT_TLS if tls else DIRECT)
            say(f"live: {name}")
            await asyncio.to_thread(
                stack.start_confers, max(n, 1), behind_nginx=deployed, redis=deployed, tls=tls
            )
            await asyncio.to_thread(wait_up, stack.base_url + "/healthz", 120)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as http:
                thread_id = await make_thread(http, stack.base_url, token)
            extra: dict[str, Any] = {}
            if deployed:
                extra = {"insecure": True, "lbCookie": f"c{len(cases)}w"}
            elif tls:
                extra = {"insecure": True}
            target = Target(
                name=name,
                client_url=stack.base_url,
                post_url=f"{stack.base_url}/api/v1/threads/{thread_id}/posts",
                room=f"thread:{thread_id}",
                post_json=confer_json,
                headers=auth,
                token=token,
                worker_extra=extra,
                meter=common.CpuMeter(
                    server_pids=stack.confer_pids,
                    postgres_pid=stack.postmaster_pid(),
                    extra={"nginx": stack.nginx_pid, "redis": stack.redis_pid},
                ),
                connections=stack.connections,
                processes=max(n, 1),
                database_url=stack.database_url,
                redis_url=stack.redis.url if deployed and stack.redis else None,
            )
            case = await run_fanout(target, cfg, modules, tmp, say)
            case["server_rss_mb"] = rss_of(stack.confer_pids)
            cases.append(case)
    except BaseException:
        logs = stack.confer_logs()
        if logs:
            print(f"live: run failed; Confer's log tails:\n{logs[-3000:]}", flush=True)
        raise
    finally:
        if ref_proc is not None:
            common.stop_group(ref_proc.pid)
        await asyncio.to_thread(stack.close)
    record["results"] = {"cases": cases, "ratios": live_ratios(cases)}
    return record


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def live_ratios(cases: list[dict[str, Any]]) -> dict[str, Any]:
    by = {c["case"]: c for c in cases}
    direct = by.get(DIRECT)
    direct_tls = by.get(DIRECT_TLS)
    ref = next((c for c in cases if c["case"].startswith("reference")), None)
    out: dict[str, Any] = {}
    if direct and ref:
        out["confer_vs_reference"] = {
            "p99": _ratio(direct["latency_ms"]["p99"], ref["latency_ms"]["p99"]),
            "p50": _ratio(direct["latency_ms"]["p50"], ref["latency_ms"]["p50"]),
            "cpu_per_delivery_server": _ratio(
                direct["cpu_us_per_delivery"]["server"], ref["cpu_us_per_delivery"]["server"]
            ),
            "cpu_per_delivery_with_postgres": _ratio(
                direct["cpu_us_per_delivery_total"], ref["cpu_us_per_delivery_total"]
            ),
        }
    if direct and direct_tls:
        out[DIRECT_TLS] = {
            "cpu_per_delivery": _ratio(
                direct_tls["cpu_us_per_delivery"]["server"], direct["cpu_us_per_delivery"]["server"]
            ),
            "p99": _ratio(direct_tls["latency_ms"]["p99"], direct["latency_ms"]["p99"]),
        }
    if direct:
        base = direct["cpu_us_per_delivery"]["server"]
        tls_base = direct_tls["cpu_us_per_delivery"]["server"] if direct_tls else None
        for c in cases:
            if not c["case"].startswith("nginx"):
                continue
            per = c["cpu_us_per_delivery"]
            out[c["case"]] = {
                "cpu_per_delivery": _ratio(c["cpu_us_per_delivery_without_postgres"], base),
                "of_which_confer": _ratio(per["server"], base),
                "of_which_nginx": _ratio(per["nginx"], base),
                "of_which_redis": _ratio(per["redis"], base),
                "p99": _ratio(c["latency_ms"]["p99"], direct["latency_ms"]["p99"]),
                # The same, against one process encrypting itself: the proxy's and Redis's
                # own cost, with TLS on both sides.
                "cpu_per_delivery_vs_tls": _ratio(
                    c["cpu_us_per_delivery_without_postgres"], tls_base
                ),
                "of_which_confer_vs_tls": _ratio(per["server"], tls_base),
                "of_which_nginx_vs_tls": _ratio(per["nginx"], tls_base),
                "of_which_redis_vs_tls": _ratio(per["redis"], tls_base),
                "p99_vs_tls": _ratio(
                    c["latency_ms"]["p99"], direct_tls["latency_ms"]["p99"] if direct_tls else None
                ),
            }
    return out


def print_live(record: dict[str, Any]) -> None:
    p, r = record["params"], record["results"]
    print()
    print(
        f"live (scale-out): {p['clients']} clients, {p['rate']:g} posts/s for {p['seconds']:g} s "
        f"per case; PostgreSQL: {record['postgres']}; {record['machine']['nproc']} cores, "
        f"loadavg at start {record['machine']['loadavg_at_start']}"
    )
    rows = []
    for c in r["cases"]:
        d, lat, per = c["deliveries"], c["latency_ms"], c["cpu_us_per_delivery"]
        rows.append([
            c["case"], c["clients_joined"], "/".join(map(str, c["spread"] or [])) or "-",
            lat["p50"], lat["p99"], d["expected"], d["lost"], d["duplicated"],
            per["server"], per["nginx"], per["redis"], per["postgres"],
            c["cpu_us_per_delivery_without_postgres"], c["server_rss_mb"],
        ])  # fmt: skip
    print(
        common.table(
            rows,
            ["case", "joined", "conns/process", "p50 ms", "p99 ms", "expected", "lost", "dup",
             "µs/deliv server", "nginx", "redis", "postgres", "total w/o PG", "RSS MB"],
        )
    )  # fmt: skip
    for c in r["cases"]:
        pp = c.get("per_post") or {}
        if pp:
            print(
                f"{c['case']}: a post made {pp.get('redis_publish', 0)} Redis PUBLISHes, "
                f"{pp.get('pg_commits')} PostgreSQL commits, {pp.get('pg_rows')} rows, "
                f"{pp.get('pg_wal_bytes')} B of WAL; memory {c['kb_per_socket']} KB a socket"
            )
    ratios = r["ratios"]
    ref = ratios.get("confer_vs_reference")
    if ref:
        t = TARGETS["reference_p99_ratio"]
        print(
            f"Confer / bare python-socketio: p99 {ref['p99']}x (target <= {t}x), p50 "
            f"{ref['p50']}x; server CPU a delivery {ref['cpu_per_delivery_server']}x "
            f"({ref['cpu_per_delivery_with_postgres']}x with PostgreSQL)"
        )
    tls = ratios.get(DIRECT_TLS)
    if tls:
        print(
            f"direct TLS / direct: CPU a delivery {tls['cpu_per_delivery']}x (encryption in "
            f"Confer's own process), p99 {tls['p99']}x"
        )
    for name, v in ratios.items():
        if name.startswith("nginx"):
            t = TARGETS["deployed_cpu_per_delivery_ratio"]
            print(
                f"{name} / direct: CPU a delivery {v['cpu_per_delivery']}x (target <= {t}x; "
                f"Confer {v['of_which_confer']}x + nginx {v['of_which_nginx']}x + Redis "
                f"{v['of_which_redis']}x), p99 {v['p99']}x"
            )
            if v.get("cpu_per_delivery_vs_tls") is not None:
                print(
                    f"{name} / direct TLS: CPU a delivery {v['cpu_per_delivery_vs_tls']}x "
                    f"(Confer {v['of_which_confer_vs_tls']}x + nginx "
                    f"{v['of_which_nginx_vs_tls']}x + Redis {v['of_which_redis_vs_tls']}x), "
                    f"p99 {v['p99_vs_tls']}x"
                )


# --- the writes run ---------------------------------------------------------------------------


async def run_writes_scale(cfg: Any, processes: list[int], say: Any = print) -> dict[str, Any]:
    """cfg: bench.writes.WritesConfig. Cases: direct (1 process), nginx+redis x1, and
    nginx+redis xN for each N in `processes`, on one PostgreSQL and one conference."""
    from bench.deployment import Stack, wait_up
    from bench.writes import BODY, SLUG, text, verify

    record: dict[str, Any] = {
        "benchmark": "writes",
        "variant": "scale",
        "params": {**asdict(cfg), "confer_processes": processes},
        "machine": common.machine_facts(),
        "targets": TARGETS,
        "server_code": await asyncio.to_thread(common.git_state, common.ROOT),
    }
    stack = await asyncio.to_thread(Stack)
    record["postgres"] = stack.postgres_kind
    cases = []
    try:
        dsn = stack.database_url
        world = await common.load_conference(
            dsn, slug=SLUG, title="Writes benchmark", posts=cfg.threads * 1000, text=text,
            sessions=1, threads_per_session=cfg.threads, members=cfg.writers,
        )  # fmt: skip
        tokens = await common.make_credentials(dsn, world["user_ids"], "api")
        threads = world["thread_ids"]
        plan = [(0, "direct (1 process)")] + [
            (n, f"nginx+redis x{n}") for n in sorted({1, *processes})
        ]
        for n, name in plan:
            deployed = n > 0
            say(f"writes: {name}")
            await asyncio.to_thread(
                stack.start_confers, max(n, 1), behind_nginx=deployed, redis=deployed
            )
            await asyncio.to_thread(wait_up, stack.base_url + "/healthz", 120)
            run_id = f"bw-{uuid.uuid4().hex[:8]}"
            clients = [
                {
                    "method": "POST",
                    "path": f"/api/v1/threads/{threads[c % len(threads)]}/posts",
                    "headers": {
                        "Authorization": f"Bearer {tokens[c]}",
                        # Each writer its own sticky-session cookie, as each browser has.
                        **({"Cookie": f"confer_lb=w{run_id}-{c}"} if deployed else {}),
                    },
                    "json": {"body": BODY, "idempotency_key": f"{run_id}-{c}-{{n}}"},
                    "ok": [201],
                    "capture": "id",
                }
                for c in range(cfg.writers)
            ]
            meter = common.CpuMeter(
                server_pids=stack.confer_pids,
                postgres_pid=stack.postmaster_pid(),
                extra={"nginx": stack.nginx_pid, "redis": stack.redis_pid},
            )
            # A warm-up, not measured: each process's first posts prepare its statements.
            warm = [
                {
                    **c,
                    "json": {
                        **c["json"],
                        "idempotency_key": f"warm-{c['json']['idempotency_key']}",
                    },
                }
                for c in clients
            ]
            await common.http_load(
                stack.base_url, warm, seconds=min(5.0, cfg.seconds / 2),
                processes=cfg.processes,
            )  # fmt: skip
            spread: dict[int, int] = {}

            async def sample_spread(into: dict[int, int]) -> None:
                await asyncio.sleep(2.5 + cfg.seconds / 2)  # mid-window (the load starts in 2.5 s)
                into.update(stack.connections())

            sampler = asyncio.create_task(sample_spread(spread))
            load = await common.http_load(
                stack.base_url, clients, seconds=cfg.seconds, processes=cfg.processes,
                on_start=meter.begin,
            )  # fmt: skip
            cpu = meter.end(load["cpu_seconds"])
            await sampler
            accepted = {
                int(row[5]): f"{run_id}-{row[0]}-{row[1]}"
                for row in load["rows"]
                if row[4] == 201 and row[5] is not None
            }
            check = await verify(dsn, world["conference_id"], run_id, accepted)
            figures = common.load_figures(load["rows"], cfg.seconds, ok=[201])
            count = max(figures["requests"], 1)
            per_post = {
                c: round(1e3 * cpu.get(f"{c}_cpu_seconds", 0.0) / count, 3) for c in COMPONENTS
            }
            cases.append(
                {
                    "case": name,
                    "processes": max(n, 1),
                    "accepted_per_second": figures["per_second"],
                    "accepted": figures["ok"],
                    "latency_ms": figures["latency_ms"],
                    "statuses": figures["statuses"],
                    "client_errors": load["errors"],
                    "error_samples": load["error_samples"],
                    "verify": check,
                    "cpu": cpu,
                    "cpu_ms_per_post": per_post,
                    "cpu_ms_per_post_without_postgres": round(
                        sum(v for c, v in per_post.items() if c != "postgres"), 3
                    ),
                    "spread": sorted(spread.values(), reverse=True),
                }
            )
    except BaseException:
        logs = stack.confer_logs()
        if logs:
            print(f"writes: run failed; Confer's log tails:\n{logs[-3000:]}", flush=True)
        raise
    finally:
        await asyncio.to_thread(stack.close)
    direct = cases[0]
    ratios: dict[str, Any] = {}
    one = next((c for c in cases if c["case"] == "nginx+redis x1"), None)
    for c in cases[1:]:
        ratios[c["case"]] = {
            "posts_per_second": _ratio(c["accepted_per_second"], direct["accepted_per_second"]),
            "posts_per_second_vs_x1": _ratio(
                c["accepted_per_second"], one["accepted_per_second"] if one else None
            ),
            "cpu_per_post": _ratio(
                c["cpu_ms_per_post_without_postgres"], direct["cpu_ms_per_post"]["server"]
            ),
            "of_which_nginx": _ratio(
                c["cpu_ms_per_post"]["nginx"], direct["cpu_ms_per_post"]["server"]
            ),
            "of_which_redis": _ratio(
                c["cpu_ms_per_post"]["redis"], direct["cpu_ms_per_post"]["server"]
            ),
        }
    record["results"] = {
        "cases": cases,
        "ratios": ratios,
        "verify": {
            "ok": all(c["verify"]["ok"] for c in cases),
            "accepted": sum(c["verify"]["accepted"] for c in cases),
            "missing": sum(c["verify"]["missing"] for c in cases),
        },
    }
    return record


def print_writes(record: dict[str, Any]) -> None:
    p, r = record["params"], record["results"]
    print()
    print(
        f"writes (scale-out): {p['writers']} writers into {p['threads']} threads for "
        f"{p['seconds']:g} s per case; PostgreSQL: {record['postgres']}"
    )
    rows = []
    for c in r["cases"]:
        lat, per, v = c["latency_ms"], c["cpu_ms_per_post"], c["verify"]
        rows.append([
            c["case"], "/".join(map(str, c["spread"])), c["accepted_per_second"], lat["p50"],
            lat["p99"], per["server"], per["nginx"], per["redis"], per["postgres"],
            "OK" if v["ok"] else f"FAILED {v}",
        ])  # fmt: skip
    print(
        common.table(
            rows,
            ["case", "conns/process", "posts/s", "p50 ms", "p99 ms", "ms/post server", "nginx",
             "redis", "postgres", "verify"],
        )
    )  # fmt: skip
    for name, v in r["ratios"].items():
        print(
            f"{name} / direct: posts/s {v['posts_per_second']}x (vs nginx+redis x1 "
            f"{v['posts_per_second_vs_x1']}x); CPU a post {v['cpu_per_post']}x (nginx "
            f"{v['of_which_nginx']}x, Redis {v['of_which_redis']}x)"
        )


def write(name: str, record: dict[str, Any]) -> Path:
    path = common.write_record(name, record)
    print(f"record: {path.relative_to(common.ROOT)}")
    return path


def have_programs() -> list[str]:
    from bench.deployment import missing_programs

    return missing_programs()
