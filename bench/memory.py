"""Server memory with N socket.io clients connected (default 1,000), joined to a thread room.

One Confer process (`python -m confer serve --demo`, embedded PostgreSQL). Clients are the
official socket.io-client in Node workers (bench/live.py's, websocket transport, offering
permessage-deflate as browsers do), all with the organiser's API token, all joined to one
thread's room. Memory is read from /proc at four moments: the server just started (after a
few page views), once the clients have connected and the join storm has settled, after a few
posts have been fanned out to every client, and the server's peak (VmHWM). "Server" is the
Confer process and any children it has (it has none today: the embedded PostgreSQL is
started as its own daemon), reported as VmRSS/VmHWM and as PSS; PostgreSQL (postmaster and
backends) is reported separately, as summed RSS (counts shared buffers once per process)
and PSS (shared pages divided among the processes that map them).

Target (issue "Performance", not asserted): <= 150 MB in all for the server with 1,000
sockets connected.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp

from bench import common, live

TARGET_MB = 150


@dataclass(frozen=True)
class MemoryConfig:
    clients: int = 1000
    workers: int = 4  # Node processes
    posts: int = 10
    rate: float = 5.0  # posts a second
    deflate: bool = True
    server_root: str | None = None


SMOKE = MemoryConfig(clients=20, workers=1, posts=2)


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = MemoryConfig()
    arg = p.add_argument
    arg("--clients", type=int, default=d.clients, help="socket.io clients connected")
    arg("--workers", type=int, default=d.workers, help="Node worker processes")
    arg("--posts", type=int, default=d.posts, help="posts fanned out after connecting")
    arg("--no-deflate", action="store_true", help="clients do not offer permessage-deflate")
    arg("--server-root", help="run `python -m confer` from this checkout")
    arg("--smoke", action="store_true", help="20 clients, 2 posts (CI)")


def defaults() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args([])


def snapshot(server: common.Server) -> dict[str, Any]:
    own = common.rss_mb(server.pid)
    tree = common.tree_memory(server.pid)
    pg = common.tree_memory(server.postmaster_pid())
    try:
        fds = len(os.listdir(f"/proc/{server.pid}/fd"))
    except OSError:
        fds = None
    return {
        "server_rss_mb": own["rss_mb"],
        "server_hwm_mb": own["hwm_mb"],
        "server_pss_mb": common.pss_mb(server.pid),
        "server_tree": tree,
        "server_open_files": fds,
        "postgres": pg,
    }


async def run(cfg: MemoryConfig) -> dict[str, Any]:
    modules = await asyncio.to_thread(common.ensure_socket_io_client)
    root = Path(cfg.server_root) if cfg.server_root else common.ROOT
    server = common.Server(nofile=cfg.clients * 2 + 4096, root=root)
    n_workers = max(1, min(cfg.workers, cfg.clients))
    lcfg = live.LiveConfig(
        clients=cfg.clients, rate=cfg.rate, seconds=cfg.posts / cfg.rate, workers=n_workers,
        deflate=cfg.deflate,
    )  # fmt: skip
    connect_budget = 120 + 3e-4 * cfg.clients**2
    max_seconds = connect_budget + 600
    record: dict[str, Any] = {
        "benchmark": "memory",
        "params": asdict(cfg),
        "machine": common.machine_facts(),
        "target_mb": TARGET_MB,
    }
    record["server_code"] = await asyncio.to_thread(common.git_state, server.root)
    workers: list[live.Worker] = []
    memory: dict[str, Any] = {}
    try:
        server.start(demo=True)
        async with aiohttp.ClientSession() as http:
            await common.wait_until_up(http, server, 120, f"/api/v1/conferences/{live.DEMO_SLUG}")
            out = await asyncio.to_thread(server.cli, "token", "create", "--email", live.ORGANISER)
            token = out.strip().splitlines()[-1]
            thread_id = await live.make_thread(http, server.url, token)
            for path in ("/", f"/c/{live.DEMO_SLUG}", f"/c/{live.DEMO_SLUG}/threads/{thread_id}"):
                for _ in range(3):  # a server that has served a few pages
                    async with http.get(server.url + path) as r:
                        await r.read()
            await asyncio.sleep(1)
            memory["started"] = snapshot(server)

            assert server.tmp is not None
            t0 = time.monotonic()
            q, extra = divmod(cfg.clients, n_workers)
            room = f"thread:{thread_id}"
            for i in range(n_workers):
                n = q + (i < extra)
                w = await live.start_worker(
                    i, n, lcfg, server.url, token, room, modules, server.tmp, max_seconds
                )
                workers.append(w)
            for w in workers:
                await w.expect("clock", 30)
            ready = [await w.expect("ready", connect_budget) for w in workers]
            joined = sum(m["joined"] for m in ready)
            failed = sum(m["failed"] for m in ready)
            connect_s = time.monotonic() - t0
            settle_s, settled = await live.settle(server.pid, workers, 120)
            memory["connected"] = snapshot(server)

            for w in workers:
                w.send("start")
            url = f"{server.url}/api/v1/threads/{thread_id}/posts"
            auth = {"Authorization": f"Bearer {token}"}
            run_id = uuid.uuid4().hex[:8]
            made = 0
            for i in range(cfg.posts):
                body = {
                    "body": live.POST_BODY.format(i=i, n=cfg.posts),
                    "idempotency_key": f"bench-memory-{run_id}-{i}",
                }
                async with http.post(url, json=body, headers=auth) as r:
                    made += r.status == 201
                    await r.read()
                await asyncio.sleep(1 / cfg.rate)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # the workers report progress every 250 ms
                if sum(w.records for w in workers) >= joined * made:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(1)
            memory["after_posts"] = snapshot(server)
            for w in workers:
                w.send("finish")
            for w in workers:
                await w.expect("done", 120)
            results = await asyncio.to_thread(live.load_results, [w.results_path for w in workers])
    finally:
        for w in workers:
            w.stop()
        server.stop()
    received = sum(sum(len(t) for t in r["posts"].values()) for r in results)
    record["results"] = {
        "clients_joined": joined,
        "clients_failed": failed,
        "websocket_extensions": ready[0].get("extensions"),
        "connect_join_seconds": round(connect_s, 1),
        "settle_seconds": round(settle_s, 1),
        "settled": settled,
        "posts_made": made,
        "deliveries": {"expected": joined * made, "received": received},
        "disconnects": sum(r["disconnects"] for r in results),
        "memory": memory,
        "node_workers_rss_mb": [r["rssMb"] for r in results],
        "loadavg_after": common.loadavg(),
    }
    return record


def print_record(record: dict[str, Any]) -> None:
    p, r = record["params"], record["results"]
    print(
        f"memory: {r['clients_joined']}/{p['clients']} clients joined in "
        f"{r['connect_join_seconds']} s (websocket extensions: "
        f"{r['websocket_extensions'] or 'none'}); {r['posts_made']} posts, "
        f"{r['deliveries']['received']}/{r['deliveries']['expected']} deliveries"
    )
    rows = []
    for moment, m in r["memory"].items():
        rows.append(
            [moment, m["server_rss_mb"], m["server_hwm_mb"], m["server_pss_mb"],
             m["server_tree"]["processes"], m["server_tree"]["rss_mb"], m["server_open_files"],
             m["postgres"]["processes"], m["postgres"]["rss_mb"], m["postgres"]["pss_mb"]]
        )  # fmt: skip
    print(
        common.table(
            rows,
            ["moment", "server RSS MB", "peak (HWM)", "PSS", "server procs", "tree RSS MB",
             "open files", "PG procs", "PG RSS sum MB", "PG PSS MB"],
        )
    )  # fmt: skip
    print("(PostgreSQL is a separate daemon, not part of the server's process tree.)")


def config_from(args: argparse.Namespace) -> MemoryConfig:
    root = os.path.abspath(args.server_root) if getattr(args, "server_root", None) else None
    if args.smoke:
        return replace(SMOKE, server_root=root)
    return MemoryConfig(
        clients=args.clients,
        workers=args.workers,
        posts=args.posts,
        deflate=not args.no_deflate,
        server_root=root,
    )


def main(args: argparse.Namespace) -> int:
    record = asyncio.run(live._stoppable(run(config_from(args))))
    print_record(record)
    path = common.write_record("memory-smoke" if args.smoke else "memory", record)
    print(f"record: {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    _p = argparse.ArgumentParser(prog="python -m bench.memory")
    add_arguments(_p)
    sys.exit(main(_p.parse_args()))
