"""Confer as deployed, for benchmarks: an operator-style PostgreSQL, redis-server, nginx with
the repository's docs/deploy/nginx-site.conf, and any number of `confer serve` processes.

The processes are the ones tests/test_deployment.py starts (tests/procs.py: Postgres, Redis,
Confer, and nginx with `site_conf`, which changes only the site's own values: names, ports,
the certificate, the upstream servers). PostgreSQL is Debian's (the newest
/usr/lib/postgresql/N) when installed, else the embedded package's binaries run as a standalone
server; either way run by its own system user, peer authentication on its socket, a password
over TCP, fsync on, and a role and database made as docs/deploy.md's SQL makes them. nginx runs
with its own -p/-c in a temporary folder and never touches /etc/nginx. Everything listens on
127.0.0.1 and is stopped by close(), whatever happened.

One Stack serves a whole run: the direct case (one Confer process, no proxy, no Redis) and the
deployed cases (nginx, Redis, N processes) use the same PostgreSQL, so their ratios compare
like with like.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import common

if str(common.ROOT) not in sys.path:
    sys.path.insert(0, str(common.ROOT))

# Shared with tests/test_deployment.py.
from tests.procs import (
    NGINX_MAIN,
    Confer,
    Nginx,
    Postgres,
    Redis,
    free_port,
    make_certificate,
    site_conf,
    wait_for_port,
)

ROLE_SQL = """CREATE ROLE confer LOGIN PASSWORD '{password}';
CREATE DATABASE confer OWNER confer ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE confer FROM PUBLIC;
"""


def missing_programs() -> list[str]:
    """What a deployed run needs and this machine lacks."""
    path = os.environ.get("PATH", "") + ":/usr/sbin"
    return [p for p in ("nginx", "redis-server", "openssl") if shutil.which(p, path=path) is None]


def debian_postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


class Stack:
    """PostgreSQL (started at once), then Redis, Confer processes and nginx on demand."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="cfs-", dir="/tmp"))
        binaries = debian_postgres_bin()
        self.postgres_kind = f"Debian PostgreSQL {binaries.parts[-2]}" if binaries else "embedded"
        self.pg = Postgres(
            binaries,
            os_user="postgres" if binaries else "embedded_postgres",
            auth=(
                "--auth-local=peer" if os.geteuid() == 0 else "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ),
        )
        self.redis: Redis | None = None
        self.nginx: Nginx | None = None
        self.confers: list[Confer] = []
        self.base_url = ""
        self._certificate: tuple[Path, Path] | None = None
        self.secret = "bench-" + uuid.uuid4().hex
        # As an operator's: fsync on; room for a 20-connection pool per process.
        self.pg.start("-c fsync=on -c full_page_writes=on -c max_connections=250")
        password = uuid.uuid4().hex
        sql = self.pg.root / "create.sql"
        sql.write_text(ROLE_SQL.format(password=password))
        sql.chmod(0o644)
        self.pg._run(
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.pg.root),
            "-p", str(self.pg.port), "-U", "postgres", "-d", "postgres", "-f", str(sql),
        )  # fmt: skip
        self.database_url = f"postgresql://confer:{password}@127.0.0.1:{self.pg.port}/confer"
        self.cli("migrate")

    # --- pieces ---------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        for key in ("REDIS_URL", "BASE_URL", "TRUSTED_PROXIES", "CONFER_DATA_DIR"):
            env.pop(key, None)
        env.update(DATABASE_URL=self.database_url, SECRET_KEY=self.secret, **extra)
        return env

    def cli(self, *args: str) -> str:
        """`python -m confer ...` from this checkout against the stack's database."""
        done = subprocess.run(
            [sys.executable, "-m", "confer", *args], cwd=common.ROOT, env=self.env(),
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"confer {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pg.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def redis_pid(self) -> int | None:
        return self.redis.proc.pid if self.redis and self.redis.proc else None

    @property
    def nginx_pid(self) -> int | None:
        return self.nginx.proc.pid if self.nginx and self.nginx.proc else None

    @property
    def confer_pids(self) -> list[int]:
        return [c.proc.pid for c in self.confers if c.proc is not None]

    def start_redis(self) -> str:
        if self.redis is None:
            self.redis = Redis()
            self.redis.start()
        return self.redis.url

    def certificate(self) -> tuple[Path, Path]:
        """One self-signed certificate for the run: nginx's and the direct-TLS case's."""
        if self._certificate is None:
            folder = self.tmp / "certificate"
            folder.mkdir()
            self._certificate = make_certificate(folder)
        return self._certificate

    def start_confers(
        self, n: int, *, behind_nginx: bool, redis: bool, tls: bool = False
    ) -> list[Confer]:
        """n `confer serve` processes (stopping any running); with `behind_nginx` they believe
        nginx's X-Forwarded-* and know their https address (set by start_nginx); with `tls`
        (and no nginx) each speaks HTTPS itself with the run's certificate
        (bench/confer_tls.py)."""
        self.stop_confers()
        command = None
        if tls:
            assert not behind_nginx, "TLS is nginx's behind nginx"
            command = [sys.executable, "-m", "bench.confer_tls", *map(str, self.certificate())]
        extra = {"RATE_LIMITS": "off", "PYTHONUNBUFFERED": "1"}
        ports = [free_port() for _ in range(n)]
        https_port = free_port()
        if behind_nginx:
            self.base_url = f"https://127.0.0.1:{https_port}"
            extra.update(BASE_URL=self.base_url, TRUSTED_PROXIES="127.0.0.1")
        elif tls:
            extra.update(BASE_URL=f"https://127.0.0.1:{ports[0]}")
        for port in ports:
            c = Confer(
                self.database_url,
                port=port,
                redis_url=self.start_redis() if redis else None,
                env={"SECRET_KEY": self.secret, **extra},
                command=command,
                cwd=str(common.ROOT),
            )
            self.confers.append(c)
            c.start(wait=False)
        for c in self.confers:
            wait_for_port(c.port, c.proc, timeout=120)
        if behind_nginx:
            self.start_nginx(https_port)
        else:
            self.base_url = self.confers[0].url
            if tls:
                self.base_url = self.base_url.replace("http://", "https://", 1)
        return self.confers

    def start_nginx(self, https_port: int) -> None:
        self.stop_nginx()
        prefix = self.tmp / f"nginx-{https_port}"
        (prefix / "tmp").mkdir(parents=True)
        (prefix / "sites-enabled").mkdir()
        cert, key = self.certificate()
        (prefix / "sites-enabled" / "confer").write_text(
            site_conf(
                https_port=https_port, http_port=free_port(), cert=cert, key=key,
                upstreams=[c.port for c in self.confers],
            )
        )  # fmt: skip
        # The tests' main file, with room for thousands of websockets (two descriptors each),
        # one worker a core as Debian's `worker_processes auto;`, and no access log per request.
        main = NGINX_MAIN.format(prefix=prefix)
        main = main.replace(
            "events { worker_connections 256; }",
            "worker_processes auto;\nworker_rlimit_nofile 65536;\n"
            "events { worker_connections 16384; }",
        )
        main = main.replace(f"access_log {prefix}/access.log confer_test;", "access_log off;")
        (prefix / "nginx.conf").write_text(main)
        self.nginx = Nginx(prefix)
        self.nginx.test_config()
        self.nginx.start(https_port)

    def connections(self) -> dict[int, int]:
        """Established TCP connections on each Confer process's port (its clients: sockets
        from nginx, or from the load tool directly), from /proc/net/tcp."""
        ports = {c.port: 0 for c in self.confers}
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                local, state = fields[1], fields[3]
                port = int(local.rsplit(":", 1)[1], 16)
                if state == "01" and port in ports:
                    ports[port] += 1
        return ports

    # --- stopping ---------------------------------------------------------------------------

    def stop_nginx(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
            self.nginx = None

    def stop_confers(self) -> None:
        self.stop_nginx()
        for c in self.confers:
            try:
                c.stop()
            except subprocess.TimeoutExpired:
                pass
            c.close()
        self.confers = []

    def confer_logs(self) -> str:
        return "\n".join(c.output()[-1500:] for c in self.confers)

    def close(self) -> None:
        self.stop_confers()
        if self.redis is not None:
            self.redis.close()
            self.redis = None
        try:
            self.pg.close()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def wait_up(url: str, within: float = 120) -> None:
    """Until `url` answers (any status), synchronously."""
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context):  # noqa: S310 (http(s) only)
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
