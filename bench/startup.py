"""Start-up: `confer serve` on an existing embedded data folder, from exec to the first 200 on /.

The real command line (the `confer` script installed beside this Python, else `python -m
confer`) in a subprocess, with CONFER_DATA_DIR pointing at a temporary folder and no
DATABASE_URL, so it starts the embedded PostgreSQL itself. The first start on the empty folder
(initdb, every migration) is timed once, for information; then the server is stopped (SIGINT:
it stops its PostgreSQL too) and started again on the now existing folder, several times.
Time is measured from just before exec to the first 200 answer on `/` (polled every 5 ms).

Target (issue "Performance", not asserted): <= 3 s on an existing folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp

from bench import common

TARGET_SECONDS = 3.0


@dataclass(frozen=True)
class StartupConfig:
    runs: int = 5
    server_root: str | None = None


SMOKE = StartupConfig(runs=1)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", type=int, default=StartupConfig.runs, help="warm starts timed")
    p.add_argument("--server-root", help="run Confer from this checkout (python -m confer)")
    p.add_argument("--smoke", action="store_true", help="one warm start (CI)")


def defaults() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args([])


def command(root: Path) -> list[str]:
    """The `confer` script of this Python (not a shim on PATH) when the installed package is
    this checkout (`pip install -e .`), else `python -m confer` run from the checkout."""
    script = Path(sys.executable).parent / "confer"
    probe = subprocess.run(
        [sys.executable, "-c", "import confer; print(confer.__file__)"],
        cwd="/", capture_output=True, text=True, check=False,
    )  # fmt: skip
    installed = Path(probe.stdout.strip()).resolve() if probe.returncode == 0 else None
    if script.exists() and installed == (root / "confer" / "__init__.py").resolve():
        return [str(script)]
    return [sys.executable, "-m", "confer"]


async def first_200(url: str, proc: subprocess.Popen[bytes], within: float) -> float:
    """Poll `url` every 5 ms; return the monotonic time of the first 200."""
    deadline = time.monotonic() + within
    timeout = aiohttp.ClientTimeout(total=5)
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"confer serve exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(url) as r:
                    await r.read()
                    if r.status == 200:
                        return time.monotonic()
            await asyncio.sleep(0.005)
    raise RuntimeError(f"no 200 from {url} within {within:.0f} s")


def stop(proc: subprocess.Popen[bytes], data: Path) -> float:
    """SIGINT, as Ctrl-C; wait for the server and its PostgreSQL to be gone. Returns seconds."""
    t0 = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        common.stop_group(proc.pid, signal.SIGKILL, wait=2)
    pid_file = data / "pg" / "postmaster.pid"
    deadline = time.monotonic() + 20
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_file.exists():  # PostgreSQL left behind: stop it, as Server.stop does
        with contextlib.suppress(OSError, ValueError, IndexError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
            time.sleep(2)
    return time.monotonic() - t0


def spawn(
    cmd: list[str], root: Path, env: dict[str, str], port: int, log: Path
) -> tuple[float, subprocess.Popen[bytes]]:
    """Exec `confer serve`; return the monotonic time just before, and the process."""
    args = [*cmd, "serve", "--host", common.HOST, "--port", str(port)]
    with open(log, "ab") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            args, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=common.child_setup(4096),
        )  # fmt: skip
    return t0, proc


async def start_once(
    cmd: list[str], root: Path, env: dict[str, str], port: int, log: Path
) -> tuple[float, float, subprocess.Popen[bytes]]:
    """(seconds to the first 200, the server's own CPU seconds by then, the process)."""
    t0, proc = spawn(cmd, root, env, port, log)
    try:
        t1 = await first_200(f"http://{common.HOST}:{port}/", proc, 180)
    except BaseException:
        stop(proc, Path(env["CONFER_DATA_DIR"]))
        raise
    return t1 - t0, common.proc_cpu_seconds(proc.pid) or 0.0, proc


async def run(cfg: StartupConfig) -> dict[str, Any]:
    root = Path(cfg.server_root) if cfg.server_root else common.ROOT
    cmd = command(root)
    tmp = Path(tempfile.mkdtemp(prefix="cfs-", dir="/tmp"))
    data = tmp / "d"
    env = dict(os.environ)
    for name in ("DATABASE_URL", "XDG_RUNTIME_DIR", "BASE_URL", "REDIS_URL"):
        env.pop(name, None)
    env.update(CONFER_DATA_DIR=str(data), SECRET_KEY="bench-" + os.urandom(16).hex())
    log = tmp / "server.log"
    record: dict[str, Any] = {
        "benchmark": "startup",
        "params": asdict(cfg),
        "command": [Path(cmd[0]).name, *cmd[1:], "serve", "--host", common.HOST, "--port", "N"],
        "machine": common.machine_facts(),
        "target_seconds": TARGET_SECONDS,
    }
    record["server_code"] = await asyncio.to_thread(common.git_state, root)
    warm: list[float] = []
    cpu: list[float] = []
    stops: list[float] = []
    try:
        cold, cold_cpu, proc = await start_once(cmd, root, env, common.free_port(), log)
        rss_cold = common.rss_mb(proc.pid)
        stops.append(await asyncio.to_thread(stop, proc, data))
        rss = rss_cold
        for _ in range(cfg.runs):
            seconds, cpu_s, proc = await start_once(cmd, root, env, common.free_port(), log)
            warm.append(seconds)
            cpu.append(cpu_s)
            rss = common.rss_mb(proc.pid)
            stops.append(await asyncio.to_thread(stop, proc, data))
    except BaseException:
        print(log.read_text(errors="replace")[-3000:] if log.exists() else "", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record["results"] = {
        "cold_first_start_seconds": round(cold, 2),
        "cold_server_cpu_seconds": round(cold_cpu, 2),
        # The Confer process's own CPU time (user + system) up to its first 200: what the
        # start costs whatever else the machine is doing (not PostgreSQL's start, not waits).
        "warm_server_cpu_seconds": {
            "min": round(min(cpu), 2),
            "median": round(statistics.median(cpu), 2),
            "max": round(max(cpu), 2),
        },
        "warm_seconds": [round(s, 2) for s in warm],
        "warm": {
            "min": round(min(warm), 2),
            "median": round(statistics.median(warm), 2),
            "max": round(max(warm), 2),
        },
        "stop_seconds_max": round(max(stops), 2),
        "server_rss_after_start_mb": {"cold": rss_cold["rss_mb"], "warm": rss["rss_mb"]},
        "server_peak_after_start_mb": {"cold": rss_cold["hwm_mb"], "warm": rss["hwm_mb"]},
        "loadavg_after": common.loadavg(),
    }
    return record


def print_record(record: dict[str, Any]) -> None:
    r = record["results"]
    print(f"startup: `{' '.join(record['command'])}`, exec -> first 200 on /")
    print(
        common.table(
            [["existing folder", len(r["warm_seconds"]), r["warm"]["min"], r["warm"]["median"],
              r["warm"]["max"], r["warm_server_cpu_seconds"]["median"]],
             ["first start (initdb + migrations)", 1, "", r["cold_first_start_seconds"], "",
              r["cold_server_cpu_seconds"]]],
            ["start", "runs", "min s", "median s", "max s", "server CPU s (median)"],
        )
    )  # fmt: skip
    print(
        f"server RSS just after start: {r['server_rss_after_start_mb']['warm']} MB "
        f"(peak {r['server_peak_after_start_mb']['warm']} MB); slowest stop "
        f"{r['stop_seconds_max']} s"
    )


def main(args: argparse.Namespace) -> int:
    root = os.path.abspath(args.server_root) if getattr(args, "server_root", None) else None
    cfg = replace(SMOKE if args.smoke else StartupConfig(runs=max(1, args.runs)), server_root=root)
    record = asyncio.run(run(cfg))
    print_record(record)
    path = common.write_record("startup-smoke" if args.smoke else "startup", record)
    print(f"record: {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    _p = argparse.ArgumentParser(prog="python -m bench.startup")
    add_arguments(_p)
    sys.exit(main(_p.parse_args()))
