"""Files: one 50 MB file uploaded through the JSON API (multipart, streamed), downloaded again,
and a file over the limit sent without Content-Length (the server must count and stop it):
throughput and the server's peak memory (VmHWM, reset before each step).

`--clamd` starts a real clamd (tests/clamd.py: a test signature database) and sets
CLAMD_SOCKET, so the upload's time includes the scan. Targets (issue 25, not asserted): the
server's peak memory does not grow with the file's size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg

from bench import common
from bench.export import reset_peak

BOUNDARY = "ConferBenchBoundary"
PIECE = 256 * 1024


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mb", type=int, default=50, help="the file's size in megabytes")
    p.add_argument("--clamd", action="store_true", help="scan with a real clamd (tests/clamd.py)")
    p.add_argument("--smoke", action="store_true", help="a 4 MB file, for CI")


def defaults() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args([])


def _head() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\nBench file\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        'filename="bench.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()


TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


async def _body(size: int) -> AsyncIterator[bytes]:
    """A multipart body holding a PDF-looking file of `size` bytes, made as it is sent."""
    yield _head()
    yield b"%PDF-1.4\n"
    left = size - 9
    while left > 0:
        n = min(PIECE, left)
        yield os.urandom(n)
        left -= n
    yield TAIL


async def _load(dsn: str) -> int:
    con = await asyncpg.connect(dsn)
    try:
        now = await con.fetchval("SELECT now()")
        cid = await con.fetchval(
            """INSERT INTO conferences (slug, title, timezone, starts_at, ends_at, published_at)
               VALUES ('bench-files', 'Files benchmark', 'Europe/London', $1, $2, now())
               RETURNING id""",
            now - timedelta(hours=1),
            now + timedelta(days=1),
        )
        return await con.fetchval(
            """INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at)
               VALUES ($1, 'panel', 'Slides', $2, $3) RETURNING id""",
            cid,
            now - timedelta(hours=1),
            now + timedelta(hours=3),
        )
    finally:
        await con.close()


async def _upload(
    server: common.Server, token: str, session_id: int, size: int, *, declare: bool
) -> tuple[int, dict[str, Any], float]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    if declare:
        headers["Content-Length"] = str(len(_head()) + size + len(TAIL))
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/api/v1/sessions/{session_id}/files",
            data=_body(size),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=900),
        ) as r,
    ):
        body = await r.json(content_type=None)
        return r.status, body, time.monotonic() - started


async def run(size_mb: int, with_clamd: bool) -> dict[str, Any]:
    size = size_mb * 1024 * 1024
    clamd = None
    extra = {"RATE_LIMITS": "off", "FILES_MEMBER_QUOTA_MB": str(4 * size_mb + 10)}
    if with_clamd:
        sys.path.insert(0, str(common.ROOT))
        from tests.clamd import Clamd

        clamd = Clamd()
        await asyncio.to_thread(clamd.start)
        extra["CLAMD_SOCKET"] = clamd.socket
    server = common.Server(extra_env=extra)
    record: dict[str, Any] = {
        "benchmark": "files",
        "file_mb": size_mb,
        "clamd": with_clamd,
        "machine": common.machine_facts(),
        "results": [],
    }
    try:
        server.start(demo=False)
        async with aiohttp.ClientSession() as http:
            await common.wait_until_up(http, server, 60)
        session_id = await _load(server.dsn)
        server.cli("user", "create", "--email", "bench@example.org", "--name", "Bench",
                   "--password", "bench files password", "--admin")  # fmt: skip
        token = server.cli("token", "create", "--email", "bench@example.org").strip()
        token = token.splitlines()[-1]
        record["server_rss_idle_mb"] = common.rss_mb(server.pid)["rss_mb"]

        reset_peak(server.pid)
        status, made, seconds = await _upload(server, token, session_id, size, declare=True)
        if status != 201:
            raise RuntimeError(f"upload answered {status}: {made}")
        record["results"].append(_row("upload", size, seconds, server, made["scan_state"]))

        reset_peak(server.pid)
        started = time.monotonic()
        got = 0
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.url + made["url"], headers={"Authorization": f"Bearer {token}"}) as r,
        ):
            r.raise_for_status()
            async for chunk in r.content.iter_chunked(1 << 16):
                got += len(chunk)
        assert got == size, (got, size)
        record["results"].append(_row("download", size, time.monotonic() - started, server, ""))

        # Over the limit, and without Content-Length: refused while streaming, never held.
        over = size + size // 5
        server_limit = int(server.env.get("FILE_MAX_MB", "50")) * 1024 * 1024
        if over > server_limit:
            reset_peak(server.pid)
            status, _, seconds = await _upload(server, token, session_id, over, declare=False)
            row = _row("over the limit", over, seconds, server, str(status))
            record["results"].append(row)
    finally:
        server.stop()
        if clamd is not None:
            clamd.close()
    return record


def _row(step: str, size: int, seconds: float, server: common.Server, note: str) -> dict:
    memory = common.rss_mb(server.pid)
    return {
        "step": step,
        "bytes": size,
        "seconds": round(seconds, 2),
        "mb_per_s": round(size / 1024 / 1024 / seconds, 1) if seconds else None,
        "server_peak_mb": memory["hwm_mb"],
        "server_rss_mb": memory["rss_mb"],
        "note": note,
    }


def main(args: argparse.Namespace) -> int:
    size_mb = 4 if args.smoke else args.mb
    if args.smoke:
        os.environ["FILE_MAX_MB"] = "4"  # so that the over-the-limit step runs quickly too
    record = asyncio.run(run(size_mb, args.clamd))
    rows = [
        (r["step"], f"{r['bytes'] / 1024 / 1024:.0f}", r["seconds"], r["mb_per_s"],
         r["server_peak_mb"], r["note"])
        for r in record["results"]
    ]  # fmt: skip
    scanner = "with clamd" if record["clamd"] else "no scanner"
    print(f"Files: {size_mb} MB ({scanner}); server idle {record['server_rss_idle_mb']} MB")
    print(common.table(rows, ("step", "MB", "seconds", "MB/s", "server peak MB", "state")))
    path = common.write_record("files-smoke" if args.smoke else "files", record)
    print(f"record: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(defaults()))
