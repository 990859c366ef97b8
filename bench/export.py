"""Transcript export: a conference of N posts (default 100,000) exported as JSON and Markdown,
through `confer export` (wall time, peak memory of the process) and through the HTTP API of a
running server (wall time, the server's memory before and its peak after).

Targets (issue 7, not asserted): 100,000 posts in <= 5 s with <= 100 MB peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from bench import common

WORDS = (
    "council residents social media ward engagement services online councillor community "
    "respect policy budget consultation library transport housing planning"
).split()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--posts", type=int, default=100_000, help="posts in the conference")
    p.add_argument("--smoke", action="store_true", help="2,000 posts, for CI")


def defaults() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args([])


async def load(dsn: str, posts: int) -> None:
    """A conference of 5 sessions x 20 threads, its posts loaded with COPY."""
    con = await asyncpg.connect(dsn)
    try:
        now = await con.fetchval("SELECT now()")
        cid = await con.fetchval(
            """INSERT INTO conferences (slug, title, timezone, starts_at, ends_at, published_at)
               VALUES ('bench-export', 'Export benchmark', 'Europe/London', $1, $2, now())
               RETURNING id""",
            now - timedelta(days=2),
            now + timedelta(days=1),
        )
        users = [
            r["id"]
            for r in await con.fetch(
                """INSERT INTO users (email, name, organisation)
               SELECT 'bench' || g || '@example.org', 'Member ' || g, 'Council ' || (g % 40)
               FROM generate_series(1, 200) g RETURNING id"""
            )
        ]
        await con.executemany(
            "INSERT INTO memberships (conference_id, user_id, role) VALUES ($1, $2, 'participant')",
            [(cid, u) for u in users],
        )
        threads = []
        for s in range(5):
            sid = await con.fetchval(
                """INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at)
                   VALUES ($1, 'discussion', $2, $3, $4) RETURNING id""",
                cid,
                f"Session {s + 1}",
                now - timedelta(days=2) + timedelta(hours=s),
                now + timedelta(hours=20),
            )
            for t in range(20):
                threads.append(
                    await con.fetchval(
                        "INSERT INTO threads (conference_id, session_id, title) "
                        "VALUES ($1, $2, $3) RETURNING id",
                        cid,
                        sid,
                        f"Thread {s + 1}.{t + 1}",
                    )
                )
        rng = random.Random(7)
        per = posts // len(threads)
        base = datetime.now(UTC) - timedelta(days=1)
        records = []
        for i, tid in enumerate(threads):
            count = per + (1 if i < posts % len(threads) else 0)
            for seq in range(1, count + 1):
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 60)))
                records.append(
                    (
                        tid,
                        cid,
                        seq,
                        rng.choice(users),
                        text,
                        f"<p>{text}</p>\n",
                        "visible",
                        base + timedelta(seconds=len(records)),
                    )
                )
        await con.copy_records_to_table(
            "posts",
            records=records,
            columns=[
                "thread_id",
                "conference_id",
                "seq",
                "author_id",
                "body_md",
                "body_html",
                "status",
                "created_at",
            ],
        )
        await con.execute(
            """UPDATE threads t SET last_seq = x.n, post_count = x.n, last_post_at = now()
               FROM (SELECT thread_id, count(*) AS n FROM posts GROUP BY thread_id) x
               WHERE x.thread_id = t.id"""
        )
        await con.execute("ANALYZE posts")
    finally:
        await con.close()


def cli_export(server: common.Server, dsn: str, fmt: str, out: str) -> dict[str, Any]:
    """Wall time and peak memory of `confer export`.

    The peak is the child's own VmHWM, read from /proc until it exits: getrusage's ru_maxrss
    survives execve, so a child of this (large) benchmark process would report our peak."""
    env = dict(server.env, DATABASE_URL=dsn)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "confer", "export", "bench-export", "--format", fmt, "-o", out],
        cwd=server.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak = 0.0
    while proc.poll() is None:
        hwm = common.rss_mb(proc.pid)["hwm_mb"]
        peak = max(peak, hwm or 0.0)
        time.sleep(0.02)
    seconds = time.monotonic() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(err or "export failed")
    return {
        "path": "cli",
        "format": fmt,
        "seconds": round(seconds, 2),
        "peak_mb": peak,
        "bytes": os.path.getsize(out),
    }


def reset_peak(pid: int) -> None:
    """Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        pass


async def http_export(server: common.Server, token: str, fmt: str) -> dict[str, Any]:
    reset_peak(server.pid)
    before = common.rss_mb(server.pid)
    started = time.monotonic()
    size = 0
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.url}/api/v1/conferences/bench-export/exports",
            json={"format": fmt},
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=300),
        ) as r:
            r.raise_for_status()
            async for chunk in r.content.iter_chunked(1 << 16):
                size += len(chunk)
    seconds = time.monotonic() - started
    after = common.rss_mb(server.pid)
    return {
        "path": "http",
        "format": fmt,
        "seconds": round(seconds, 2),
        "server_rss_before_mb": before["rss_mb"],
        "server_peak_mb": after["hwm_mb"],
        "bytes": size,
    }


async def run(posts: int) -> dict[str, Any]:
    server = common.Server()
    record: dict[str, Any] = {
        "benchmark": "export",
        "posts": posts,
        "machine": common.machine_facts(),
        "results": [],
    }
    try:
        server.start(demo=False)
        async with aiohttp.ClientSession() as http:
            await common.wait_until_up(http, server, 60)
        assert server.tmp is not None
        dsn = f"postgresql://postgres@/postgres?host={server.tmp / 'd' / 'pg'}"
        started = time.monotonic()
        await load(dsn, posts)
        record["load_seconds"] = round(time.monotonic() - started, 1)
        server.cli(
            "user",
            "create",
            "--email",
            "bench@example.org",
            "--name",
            "Bench",
            "--password",
            "bench export password",
            "--admin",
        )
        token = (
            server.cli("token", "create", "--email", "bench@example.org").strip().splitlines()[-1]
        )
        out = str(server.tmp / "transcript")
        for fmt in ("json", "md"):
            record["results"].append(cli_export(server, dsn, fmt, f"{out}.{fmt}"))
        for fmt in ("json", "md"):
            record["results"].append(await http_export(server, token, fmt))
        doc = json.loads(await asyncio.to_thread(_read, f"{out}.json"))
        record["exported_posts"] = sum(
            len(t["posts"]) for s in doc["sessions"] for t in s["threads"]
        )
    finally:
        server.stop()
    return record


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def main(args: argparse.Namespace) -> int:
    posts = 2_000 if args.smoke else args.posts
    record = asyncio.run(run(posts))
    rows = [
        (
            r["path"],
            r["format"],
            r["seconds"],
            r.get("peak_mb", r.get("server_peak_mb")),
            r.get("server_rss_before_mb", ""),
            f"{r['bytes'] / 1e6:.1f}",
        )
        for r in record["results"]
    ]
    print(f"Export of {record['exported_posts']:,} posts (loaded in {record['load_seconds']} s)")
    print(
        common.table(rows, ("path", "format", "seconds", "peak MB", "server MB before", "MB out"))
    )
    path = common.write_record("export-smoke" if args.smoke else "export", record)
    print(f"record: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(defaults()))
