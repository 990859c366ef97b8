"""Redis's own ceiling: socket.io events through Confer's Redis manager as processes are added.

python-socketio's Redis manager has one channel: every emit by any process is published once
and delivered to every process, which unpickles it whether or not any of its sockets is in the
room. So with P processes and R events a second, Redis sends R x P messages and every process
pays for R events. This benchmark measures both costs without Confer's other work: P
subscriber processes, each a socket.io server with Confer's manager (confer.live.fanout.
FastRedisManager) and no sockets, and one publisher process emitting `post:new` events of a
post's size to a room at a steady rate through the same manager. It counts what every
subscriber received (lost = published x P - received) and takes CPU from the redis-server
process and from the subscribers (bench.common.CpuMeter) over the window:

- Redis CPU per event published (grows with P: one send per subscriber);
- a subscriber's CPU per event (the tax every process pays for every event of every room);
- the ceilings they imply: events/s at which Redis's one core is full, for each P, and at
  which one process spends all of its core on the channel alone.

    python -m bench redis [--rate 1000] [--seconds 10] [--subscribers 1,2,4,8] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import common

# A post:new as Confer sends it is ~1.2 KB of JSON (the rendered post and its author).
PAYLOAD = {
    "id": 0,
    "thread_id": 1,
    "seq": 0,
    "html": "<p>" + "We moved our bin collection updates to the council's channels. " * 16 + "</p>",
    "author": {"id": 7, "name": "Councillor Example", "organisation": "Example Council"},
    "created_at": "2026-12-06T21:00:00+00:00",
}


@dataclass(frozen=True)
class RedisConfig:
    rate: float = 1000.0  # events a second, published
    seconds: float = 10.0
    subscribers: tuple[int, ...] = (1, 2, 4, 8)


SMOKE = RedisConfig(rate=100.0, seconds=2.0, subscribers=(1, 2))


# --- the two kinds of child process -----------------------------------------------------------


def _manager(url: str) -> Any:
    import socketio

    from confer.live.fanout import FastRedisManager

    received = {"n": 0}

    class Counting(FastRedisManager):
        async def _handle_emit(self, message: dict[str, Any]) -> None:
            received["n"] += 1
            await super()._handle_emit(message)

    mgr = Counting(url)
    socketio.AsyncServer(client_manager=mgr, async_mode="aiohttp")
    return mgr, received


def _write(path: str, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(data), encoding="utf-8")


def _start_subscriber(redis_url: str, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.redis_ceiling", "--subscriber", redis_url, str(out)],
        cwd=common.ROOT,
        stdout=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=common.child_setup(1024),
    )


async def _subscriber(url: str, out: str) -> None:
    mgr, received = _manager(url)
    mgr.initialize()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    while not stop.is_set():  # the count so far, for the parent to wait on
        await asyncio.to_thread(_write, out, {"received": received["n"]})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)
    await asyncio.to_thread(_write, out, {"received": received["n"]})


async def _publisher(url: str, rate: float, seconds: float, start_us: int, out: str) -> None:
    mgr, _ = _manager(url)
    n = int(rate * seconds)
    lag: list[float] = []
    await asyncio.sleep(max(0.0, (start_us - common.now_us()) / 1e6))
    t0 = time.monotonic()
    for i in range(n):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            lag.append(-delay * 1000)
        await mgr.emit("post:new", {**PAYLOAD, "id": i, "seq": i}, room="thread:1", namespace="/")
    result = {"published": n, "seconds": time.monotonic() - t0, "late_ms_max": max(lag or [0])}
    await asyncio.to_thread(_write, out, result)


# --- one step: P subscribers -------------------------------------------------------------------


async def step(redis_url: str, redis_pid: int, subscribers: int, cfg: RedisConfig) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="cfr-", dir="/tmp"))
    subs: list[subprocess.Popen[bytes]] = []
    try:
        for k in range(subscribers):
            subs.append(await asyncio.to_thread(_start_subscriber, redis_url, tmp / f"s{k}.json"))
        for s in subs:
            assert s.stdout is not None
            line = await asyncio.to_thread(s.stdout.readline)
            if line.strip() != b"ready":
                raise RuntimeError("a subscriber did not start")
        await asyncio.sleep(0.5)  # their SUBSCRIBE reaches Redis
        meter = common.CpuMeter(server_pids=[s.pid for s in subs], extra={"redis": redis_pid})
        start_us = common.now_us() + 1_500_000
        pub = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.redis_ceiling", "--publisher", redis_url,
            str(cfg.rate), str(cfg.seconds), str(start_us), str(tmp / "p.json"),
            cwd=common.ROOT, start_new_session=True,
        )  # fmt: skip
        await asyncio.sleep(max(0.0, (start_us - common.now_us()) / 1e6))
        meter.begin()
        await asyncio.wait_for(pub.wait(), cfg.seconds + 120)
        if pub.returncode != 0:
            raise RuntimeError(f"the publisher exited with {pub.returncode}")
        published = json.loads((tmp / "p.json").read_text())
        # Until every subscriber has what was published, or 10 s more (then some were lost).
        n = published["published"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            counts = []
            for k in range(subscribers):
                with contextlib.suppress(OSError, ValueError):
                    counts.append(json.loads((tmp / f"s{k}.json").read_text())["received"])
            if len(counts) == subscribers and min(counts) >= n:
                break
            await asyncio.sleep(0.1)
        cpu = meter.end(0.0)
        for s in subs:
            s.send_signal(signal.SIGTERM)
        for s in subs:
            await asyncio.to_thread(s.wait, 30)
        received = [
            json.loads((tmp / f"s{k}.json").read_text())["received"] for k in range(subscribers)
        ]
    finally:
        for s in subs:
            if s.poll() is None:
                common.stop_group(s.pid, wait=2)
            if s.stdout is not None:
                s.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)
    redis_s = cpu["redis_cpu_seconds"]
    subs_s = cpu["server_cpu_seconds"]
    redis_us = 1e6 * redis_s / max(n, 1)
    sub_us = 1e6 * subs_s / max(n * subscribers, 1)
    return {
        "subscribers": subscribers,
        "published": n,
        "published_per_second": round(n / max(published["seconds"], 1e-6), 1),
        "publisher_late_ms_max": round(published["late_ms_max"], 1),
        "received": received,
        "lost": n * subscribers - sum(min(r, n) for r in received),
        "duplicated": sum(max(0, r - n) for r in received),
        "redis_cpu_us_per_event": round(redis_us, 2),
        "redis_cpu_us_per_delivery": round(1e6 * redis_s / max(n * subscribers, 1), 2),
        "subscriber_cpu_us_per_event": round(sub_us, 1),
        "redis_ceiling_events_per_second": round(1e6 / redis_us) if redis_us > 0 else None,
        "process_ceiling_events_per_second": round(1e6 / sub_us) if sub_us > 0 else None,
        "cpu": cpu,
    }


async def run(cfg: RedisConfig) -> dict[str, Any]:
    from bench.deployment import Redis

    record: dict[str, Any] = {
        "benchmark": "redis",
        "params": asdict(cfg),
        "machine": common.machine_facts(),
        "server_code": await asyncio.to_thread(common.git_state, common.ROOT),
        "payload_bytes": len(json.dumps(PAYLOAD)),
    }
    redis = Redis()
    redis.start()
    try:
        assert redis.proc is not None
        version = (
            await asyncio.to_thread(
                subprocess.run,
                [redis.binary, "--version"],
                capture_output=True,
                text=True,
                check=False,
            )
        ).stdout.strip()
        record["redis"] = version
        steps = []
        for p in cfg.subscribers:
            print(f"redis: {p} subscriber process(es), {cfg.rate:g} events/s", flush=True)
            steps.append(await step(redis.url, redis.proc.pid, p, cfg))
    finally:
        redis.close()
    record["results"] = {"steps": steps}
    return record


def print_record(record: dict[str, Any]) -> None:
    p = record["params"]
    print()
    print(
        f"redis: {p['rate']:g} post:new events/s of {record['payload_bytes']} B for "
        f"{p['seconds']:g} s through confer.live.fanout.FastRedisManager; {record['redis']}"
    )
    rows = [
        [s["subscribers"], s["published_per_second"], s["lost"], s["duplicated"],
         s["redis_cpu_us_per_event"], s["redis_cpu_us_per_delivery"],
         s["subscriber_cpu_us_per_event"], s["redis_ceiling_events_per_second"],
         s["process_ceiling_events_per_second"]]
        for s in record["results"]["steps"]
    ]  # fmt: skip
    print(
        common.table(
            rows,
            ["processes", "events/s", "lost", "dup", "Redis µs/event", "Redis µs/delivery",
             "process µs/event", "Redis ceiling ev/s", "process ceiling ev/s"],
        )
    )  # fmt: skip
    print(
        "ceilings: events/s at which redis-server's one core, or one process's core spent on the "
        "channel alone, would be full (1 s / CPU per event)"
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = RedisConfig()
    p.add_argument("--rate", type=float, default=d.rate, help="events published a second")
    p.add_argument("--seconds", type=float, default=d.seconds, help="publishing time per step")
    p.add_argument(
        "--subscribers",
        default=",".join(map(str, d.subscribers)),
        help="subscriber processes per step (e.g. 1,2,4,8)",
    )
    p.add_argument("--smoke", action="store_true", help="100 events/s for 2 s, 1 and 2 (CI)")


def defaults() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args([])


def main(args: argparse.Namespace) -> int:
    if args.smoke:
        cfg = SMOKE
    else:
        subs = tuple(int(x) for x in str(args.subscribers).split(",") if x.strip())
        cfg = RedisConfig(rate=args.rate, seconds=args.seconds, subscribers=subs)
    from bench.deployment import missing_programs

    if "redis-server" in missing_programs():
        raise SystemExit("python -m bench redis needs redis-server (apt-get install redis-server)")
    from bench.live import _stoppable

    record = asyncio.run(_stoppable(run(cfg)))
    print_record(record)
    path = common.write_record("redis-smoke" if args.smoke else "redis", record)
    print(f"record: {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--subscriber":
        asyncio.run(_subscriber(sys.argv[2], sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--publisher":
        a = sys.argv
        asyncio.run(_publisher(a[2], float(a[3]), float(a[4]), int(a[5]), a[6]))
    else:
        _p = argparse.ArgumentParser(prog="python -m bench.redis_ceiling")
        add_arguments(_p)
        sys.exit(main(_p.parse_args()))
