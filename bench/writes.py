"""Writes through the JSON API: W concurrent writers post into a few open threads.

Each writer is a different member with their own API token (made in bulk in SQL, stored
hashed as confer.accounts.service does) and posts with `POST /api/v1/threads/{id}/posts`
(`{"body", "idempotency_key"}`), one post after another, for a fixed time. Writers run in
load-worker processes (aiohttp, SCHED_BATCH), apart from this process and the server.
Afterwards SQL checks that every accepted post exists exactly once and that every thread's
seq is still gap-free.

Target (issue "Performance", not asserted): >= 1,000 posts/s accepted with 50 writers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench import common, scale
from bench.live import _stoppable

SLUG = "bench-writes"
TARGET_POSTS_PER_SECOND = 1000
BODY = (
    "Writer {c}, post {n}. We moved our **bin collection** updates to the council's social "
    "channels last spring, and missed-collection calls fell by a third. The trick was answering "
    "every reply within a working day: https://example.org/councils/social-media-guide"
)


@dataclass(frozen=True)
class WritesConfig:
    writers: int = 50
    threads: int = 5
    seconds: float = 20.0
    processes: int = 2  # load-worker processes
    profile: bool = False  # py-spy the server while the writers write
    server_root: str | None = None  # run the server from another checkout (before/after)


SMOKE = WritesConfig(writers=4, threads=2, seconds=2.0, processes=1)


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = WritesConfig()
    p.add_argument("--writers", type=int, default=d.writers, help="concurrent writers (members)")
    p.add_argument("--threads", type=int, default=d.threads, help="open threads written into")
    p.add_argument("--seconds", type=float, default=d.seconds, help="how long they write")
    p.add_argument("--load-processes", type=int, default=d.processes, help="load-worker processes")
    p.add_argument(
        "--processes",
        metavar="N[,M]",
        help="also write through nginx + Redis + N Confer processes (and x1) on an "
        "operator-style PostgreSQL, beside one process direct; print the ratios",
    )
    p.add_argument("--profile", action="store_true", help="py-spy the server (pip install py-spy)")
    p.add_argument("--server-root", help="run `python -m confer` from this checkout")
    p.add_argument("--smoke", action="store_true", help="4 writers for 2 s (CI)")


def defaults() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args([])


def text(rng: Any) -> str:
    return "An earlier post in this thread, loaded by the writes benchmark."


async def verify(dsn: str, conference_id: int, run: str, accepted: dict[int, str]) -> dict:
    """Every accepted post (id -> idempotency key) exists once, with its key; nothing else was
    made under this run's keys; every thread's seqs are 1..last_seq with no gap or repeat."""
    con = await asyncpg.connect(dsn)
    try:
        rows = await con.fetch(
            "SELECT id, idempotency_key FROM posts WHERE conference_id = $1 "
            "AND idempotency_key LIKE $2",
            conference_id,
            f"{run}-%",
        )
        seqs = await con.fetch(
            """SELECT t.id, t.last_seq, count(p.id) AS n, count(DISTINCT p.seq) AS distinct_seqs,
                      coalesce(max(p.seq), 0) AS max_seq
               FROM threads t LEFT JOIN posts p ON p.thread_id = t.id
               WHERE t.conference_id = $1 GROUP BY t.id""",
            conference_id,
        )
    finally:
        await con.close()
    found: dict[int, str] = {r["id"]: r["idempotency_key"] for r in rows}
    keys = [r["idempotency_key"] for r in rows]
    missing = [i for i in accepted if i not in found]
    wrong_key = [i for i, k in accepted.items() if i in found and found[i] != k]
    gaps = [
        r["id"] for r in seqs if not (r["n"] == r["distinct_seqs"] == r["max_seq"] == r["last_seq"])
    ]
    return {
        "accepted": len(accepted),
        "in_database": len(rows),
        "missing": len(missing),
        "wrong_key": len(wrong_key),
        "duplicated_keys": len(keys) - len(set(keys)),
        "not_acknowledged": len(set(found) - set(accepted)),
        "threads_with_seq_gaps": len(gaps),
        "ok": not missing and not wrong_key and len(keys) == len(set(keys)) and not gaps,
    }


async def run(cfg: WritesConfig) -> dict[str, Any]:
    # The rate limiter (confer.ratelimit) is a policy, not a capacity: 50 writers on one
    # address would be refused within seconds, so this server runs without it.
    root = Path(cfg.server_root) if cfg.server_root else common.ROOT
    server = common.Server(root=root, extra_env={"RATE_LIMITS": "off"})
    record: dict[str, Any] = {
        "benchmark": "writes",
        "params": asdict(cfg),
        "machine": common.machine_facts(),
        "target": {"posts_per_second": TARGET_POSTS_PER_SECOND},
    }
    record["server_code"] = await asyncio.to_thread(common.git_state, server.root)
    try:
        server.start(demo=False)
        async with aiohttp.ClientSession() as http:
            await common.wait_until_up(http, server, 120)
            world = await common.load_conference(
                server.dsn,
                slug=SLUG,
                title="Writes benchmark",
                # A conference already under way: with only a few posts in the database,
                # PostgreSQL's cached plans look posts up by sequential scan (cheapest for a
                # one-page table) until autovacuum next analyses it, and a post's cost grows
                # with every post written (docs/performance.md, "History": plans on a tiny table).
                posts=cfg.threads * 1000,
                text=text,
                sessions=1,
                threads_per_session=cfg.threads,
                members=cfg.writers,
            )
            tokens = await common.make_credentials(server.dsn, world["user_ids"], "api")
            threads = world["thread_ids"]
            # Open for posts by the database clock, as the server will judge it.
            for tid in threads:
                auth = {"Authorization": f"Bearer {tokens[0]}"}
                async with http.get(f"{server.url}/api/v1/threads/{tid}", headers=auth) as r:
                    state = (await r.json())["posting_state"]
                if state != "open":
                    raise RuntimeError(f"thread {tid} is {state}, not open")
        run_id = f"bw-{uuid.uuid4().hex[:8]}"
        clients = [
            {
                "method": "POST",
                "path": f"/api/v1/threads/{threads[c % len(threads)]}/posts",
                "headers": {"Authorization": f"Bearer {tokens[c]}"},
                "json": {"body": BODY, "idempotency_key": f"{run_id}-{c}-{{n}}"},
                "ok": [201],
                "capture": "id",
            }
            for c in range(cfg.writers)
        ]
        meter = common.CpuMeter(server)
        mem_before = common.rss_mb(server.pid)
        profiler = common.Profiler(server, cfg.seconds) if cfg.profile else None
        load = await common.http_load(
            server.url,
            clients,
            seconds=cfg.seconds,
            processes=cfg.processes,
            on_start=lambda: (meter.begin(), profiler and profiler.start()),
        )
        cpu = meter.end(load["cpu_seconds"])
        if profiler:
            record["profile"] = await profiler.finish("writes")
        mem_after = common.rss_mb(server.pid)
        accepted = {
            int(row[5]): f"{run_id}-{row[0]}-{row[1]}"
            for row in load["rows"]
            if row[4] == 201 and row[5] is not None
        }
        check = await verify(server.dsn, world["conference_id"], run_id, accepted)
    finally:
        server.stop()
    figures = common.load_figures(load["rows"], cfg.seconds, ok=[201])
    record["results"] = {
        "accepted_per_second": figures["per_second"],
        "accepted": figures["ok"],
        "requests_in_window": figures["requests"],
        "latency_ms": figures["latency_ms"],
        "statuses": figures["statuses"],
        "client_errors": load["errors"],
        "error_samples": load["error_samples"],
        "completed_after_window": figures["after_window"],
        "verify": check,
        "cpu": cpu,
        "cpu_ms_per_post": common.cpu_ms_per(cpu, figures["requests"]),
        "load_tool": {"processes": load["processes"], "start_late_ms": load["late_ms"]},
        "server_memory_mb": {
            "before": mem_before["rss_mb"],
            "after": mem_after["rss_mb"],
            "peak": mem_after["hwm_mb"],
        },
        "loadavg_after": common.loadavg(),
    }
    return record


def print_record(record: dict[str, Any]) -> None:
    p, r = record["params"], record["results"]
    lat, cpu = r["latency_ms"], r["cpu"]
    print(
        f"writes: {p['writers']} writers into {p['threads']} threads for {p['seconds']:g} s "
        f"({p['processes']} load processes)"
    )
    print(
        common.table(
            [[r["accepted_per_second"], r["accepted"], lat["p50"], lat["p95"], lat["p99"],
              lat["max"], r["statuses"]]],
            ["accepted posts/s", "accepted", "p50 ms", "p95 ms", "p99 ms", "max ms", "statuses"],
        )
    )  # fmt: skip
    v = r["verify"]
    print(
        f"verify: {v['in_database']} in the database for {v['accepted']} accepted; missing "
        f"{v['missing']}, duplicated keys {v['duplicated_keys']}, made but not acknowledged "
        f"{v['not_acknowledged']}, threads with seq gaps {v['threads_with_seq_gaps']} -> "
        f"{'OK' if v['ok'] else 'FAILED'}"
    )
    per = r["cpu_ms_per_post"]
    print(
        f"CPU (cores over {cpu['window_seconds']} s): server {cpu['server_cores']}, PostgreSQL "
        f"{cpu['postgres_cores']}, load workers {cpu['load_workers_cores']}, other "
        f"{cpu['other_cores']} (machine {cpu['machine_cores']}); a post: server "
        f"{per['server']} ms, PostgreSQL {per['postgres']} ms"
    )
    if r["error_samples"] or r["client_errors"]:
        print(f"errors: {r['client_errors']} {r['error_samples']}")
    print_profile(record.get("profile"))


def print_profile(prof: dict[str, Any] | None) -> None:
    if prof:
        print(f"server profile ({prof['samples']} samples, raw: {prof['raw']}), inclusive:")
        for name, pct in prof["inclusive_pct"][:25]:
            print(f"  {pct:5.1f}%  {name}")


def main(args: argparse.Namespace) -> int:
    cfg = (
        SMOKE
        if args.smoke
        else WritesConfig(
            writers=args.writers,
            threads=args.threads,
            seconds=args.seconds,
            processes=args.load_processes,
        )
    )
    root = os.path.abspath(args.server_root) if getattr(args, "server_root", None) else None
    cfg = replace(cfg, profile=args.profile, server_root=root)
    processes = scale.parse_processes(getattr(args, "processes", None))
    if processes:
        if missing := scale.have_programs():
            raise SystemExit(f"--processes needs {', '.join(missing)} (apt-get install them)")
        record = asyncio.run(_stoppable(scale.run_writes_scale(cfg, processes)))
        scale.print_writes(record)
        scale.write("writes-smoke" if args.smoke else "writes-scale", record)
        return 0 if record["results"]["verify"]["ok"] else 1
    record = asyncio.run(run(cfg))
    print_record(record)
    path = common.write_record("writes-smoke" if args.smoke else "writes", record)
    print(f"record: {path.relative_to(common.ROOT)}")
    return 0 if record["results"]["verify"]["ok"] else 1


if __name__ == "__main__":
    _p = argparse.ArgumentParser(prog="python -m bench.writes")
    add_arguments(_p)
    sys.exit(main(_p.parse_args()))
