"""Confer deployed as docs/deploy.md tells a council's IT to, and tested as deployed.

One deployment for the module (`deployment`), made in this order, each phase timed on stdout:

1. the wheel of this checkout (`pip wheel --no-deps`), installed into a fresh venv (its
   dependencies come from the package index): what runs below is the installed package, not
   this checkout;
2. Debian's PostgreSQL (the newest `/usr/lib/postgresql/N`), started as an operator's is: run
   by the `postgres` system user, peer authentication on its socket, passwords over TCP; the
   role and database made by running docs/deploy.md's SQL block as it is (only the password
   is the test's);
3. the environment file of docs/deploy.md's block (its keys, the test's values; no SMTP_URL,
   so email is only logged), mode 0600; `confer migrate` and the first admin
   (`confer user create --admin`) run from the venv with that file, as the docs say;
4. redis-server, and two `confer serve` processes from the venv with that file and their
   own ports (as `confer@PORT` would run them);
5. Debian's nginx with the repository's docs/deploy/nginx-site.conf, in which `site_conf`
   changes only the site's own values: server_name, the listen ports (443 and 80 become
   127.0.0.1 and free ports), the certificate (a self-signed one made here with openssl), and
   the upstream's `server` lines. nginx runs with a prefix in the temporary folder (its own
   main file wraps the site file as Debian's /etc/nginx/nginx.conf does), never touching
   /etc/nginx; its access log also records which Confer process answered each request.

The tests then go through nginx (HTTPS on its port), in order: the systemd units parse; the
redirect, HSTS, /dev/outbox and sticky sessions by cookie; two people in Chromium on pages
served by different processes, a post arriving live, a python-socketio client over a
websocket, and SIGTERM of one process while readers are on it; an upgrade (a new additive
migration, `confer migrate` twice at once, a rolling restart); and PostgreSQL stopped and
started again under /readyz. No verdict depends on a duration: every wait is for a condition,
with a generous limit. Every process is stopped at the end, whatever happened.

Run alone: `python -m pytest tests/test_deployment.py` (marker `deploy`); it needs Debian's
nginx, redis-server, PostgreSQL and chromium, openssl, and the package index for the venv.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
import socketio
from playwright.async_api import Browser, async_playwright, expect

from tests.browser.conftest import CHROMIUM_ARGS, TIMEOUT_MS
from tests.browser.helpers import sign_in
from tests.browser.test_live_journeys import (
    LIVE_MS,
    article,
    assert_stayed,
    composer,
    connection_status,
    open_live,
    post_button,
)
from tests.conftest import PASSWORD, World
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

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
UNITS = ROOT / "docs" / "deploy"

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.skipif(
        shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") is None,
        reason="Debian's nginx is not installed (apt-get install nginx; the README's test "
        "command installs it)",
    ),
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="redis-server is not installed (apt-get install redis-server; the README's test "
        "command installs it)",
    ),
]

# The async tests share the module's loop, where Chromium and the HTTP client live.
MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
ADMIN_EMAIL = "it-team@example.gov.uk"
WAIT = 30  # seconds to wait for a condition; generous, never a verdict on speed


CAPTURE: list = []  # pytest's capture manager, to show the timings without -s


def phase(name: str, started: float) -> float:
    """Print how long a phase took (for the report; nothing is asserted on it)."""
    now = time.monotonic()
    line = f"[deployment] {name}: {now - started:.1f} s"
    if CAPTURE:
        with CAPTURE[0].global_and_fixture_disabled():
            print(line, flush=True)
    else:
        print(line, flush=True)
    return now


# --- what the docs say, read from them ---------------------------------------------------


def doc_block(name: str) -> str:
    """The fenced block that follows `<!-- deploy-test: NAME -->` in docs/deploy.md."""
    text = DEPLOY_DOC.read_text()
    m = re.search(rf"<!-- deploy-test: {name} -->\s*```[a-z]*\n(.*?)```", text, re.S)
    assert m, f"docs/deploy.md has no block marked <!-- deploy-test: {name} -->"
    return m.group(1)


def env_file_values(block: str) -> dict[str, str]:
    """KEY=VALUE lines (values may be single-quoted, as systemd and sh both read them)."""
    values = {}
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key] = value[1:-1] if value[:1] == value[-1:] == "'" else value
    return values


# --- the deployment ----------------------------------------------------------------------


def debian_postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        pytest.fail(
            "Debian's PostgreSQL is not installed (apt-get install postgresql; the README's "
            "test command installs it)",
            pytrace=False,
        )
    return found[-1].parent


@dataclass
class Deployment:
    venv: Path
    env_file: Path
    env: dict[str, str]
    database_url: str
    base_url: str
    http_port: int
    pg: Postgres
    nginx: Nginx
    confers: list[Confer]
    admin_output: str

    def upstream_of(self, confer: Confer) -> str:
        return f"127.0.0.1:{confer.port}"

    def cli(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.Popen:
        """A `confer` command from the venv, with the environment file read as docs/deploy.md
        step 4 reads it (`set -a && . confer.env && exec confer ...`)."""
        script = f"set -a && . {self.env_file} && exec {self.venv}/bin/confer " + " ".join(
            f"'{a}'" for a in args
        )
        return subprocess.Popen(
            ["sh", "-c", script],
            env={**clean_env(), **(extra or {})},
            cwd=self.env_file.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_cli_python(self, code: str) -> str:
        # Not from the checkout's folder: `python -c` would import this checkout's confer.
        python = str(self.venv / "bin" / "python")
        return run([python, "-c", code], env=clean_env(), cwd=self.env_file.parent).strip()

    def run_cli(self, *args: str, extra: dict[str, str] | None = None) -> str:
        proc = self.cli(*args, extra=extra)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"confer {' '.join(args)} failed:\n{out}{err}"
        return out


def clean_env() -> dict[str, str]:
    """The environment a service starts with: none of this checkout's Python settings."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "XDG_RUNTIME_DIR", "PYTEST_CURRENT_TEST"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BASE_URL", "SMTP_URL", "PORT"):
        env.pop(key, None)
    return env


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    return done.stdout


def build_and_install(tmp: Path) -> Path:
    """The wheel of this checkout, installed into a fresh venv; returns the venv."""
    # A copy without build leftovers: setuptools' build/ folder keeps files deleted since.
    src = tmp / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", "var", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
            ".ruff_cache", "node_modules", ".node", "results", ".vnu",
        ),
    )  # fmt: skip
    wheels = tmp / "wheels"
    t = time.monotonic()
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(src)])
    (wheel,) = wheels.glob("*.whl")
    t = phase(f"  pip wheel ({wheel.name})", t)
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    t = phase("  python -m venv", t)
    run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], env=clean_env())
    phase("  pip install (dependencies from the package index)", t)
    where = run(
        [str(venv / "bin" / "python"), "-c", "import confer; print(confer.__file__)"],
        env=clean_env(),
        cwd=tmp,
    )
    assert str(venv) in where, f"the venv imports confer from elsewhere: {where}"
    return venv


@pytest.fixture(scope="module")
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None and not CAPTURE:
        CAPTURE.append(capture)
    started = t0 = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="cdeploy-", dir="/tmp"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, True)

        venv = build_and_install(tmp)
        t = phase("wheel built and installed into a fresh venv", t0)

        # PostgreSQL as Debian runs it: the postgres system user, peer on the socket.
        pg = Postgres(
            debian_postgres_bin(),
            os_user="postgres",
            auth=(
                "--auth-local=peer" if os.geteuid() == 0 else "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ),
        )
        stack.callback(pg.close)
        pg.start()
        db_password = uuid.uuid4().hex
        sql = doc_block("database").replace("CHANGE-ME", db_password)
        assert db_password in sql, "the docs' SQL has no CHANGE-ME password to replace"
        sql_file = pg.root / "create.sql"
        sql_file.write_text(sql)
        sql_file.chmod(0o644)
        pg._run(
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(pg.root), "-p", str(pg.port),
            "-U", "postgres", "-d", "postgres", "-f", str(sql_file),
        )  # fmt: skip
        database_url = f"postgresql://confer:{db_password}@127.0.0.1:{pg.port}/confer"
        t = phase("PostgreSQL started, role and database made as documented", t)

        redis = Redis()
        stack.callback(redis.close)
        redis.start()

        https_port, http_port = free_port(), free_port()
        base_url = f"https://127.0.0.1:{https_port}"
        ours = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "SECRET_KEY": "deployment-test-" + uuid.uuid4().hex,
            "BASE_URL": base_url,
            "TRUSTED_PROXIES": "127.0.0.1",
            "MAIL_FROM": "Confer test <events@example.gov.uk>",
        }
        documented = env_file_values(doc_block("environment"))
        # The docs' file, with the test's values; no SMTP_URL (no mail server here).
        assert set(documented) - {"SMTP_URL"} == set(ours), (
            f"the environment file in docs/deploy.md has {sorted(documented)}; "
            f"this test sets {sorted(ours)}"
        )
        env_file = tmp / "confer.env"
        env_file.touch(mode=0o600)
        env_file.write_text("".join(f"{k}='{v}'\n" for k, v in ours.items()))

        # `confer migrate` and the first admin, as the docs run them: the environment file
        # read by sh (as systemd reads it), the venv's command.
        d = Deployment(
            venv=venv,
            env_file=env_file,
            env=ours,
            database_url=database_url,
            base_url=base_url,
            http_port=0,
            pg=pg,
            nginx=Nginx(tmp / "nginx"),
            confers=[],
            admin_output="",
        )
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        migrated = d.run_cli("migrate")
        d.admin_output = d.run_cli(
            "user", "create", "--admin", "--email", ADMIN_EMAIL, "--name", "Ida Admin",
            extra={"CONFER_PASSWORD": PASSWORD},
        )  # fmt: skip
        print(migrated.strip(), "/", d.admin_output.strip())
        t = phase("confer migrate and the first admin", t)

        confers = []
        for _ in range(2):
            c = Confer(
                database_url,
                redis_url=redis.url,
                # As confer@PORT runs it: only the environment file and PORT (and no limit on
                # posts: the rolling restart below posts without a pause).
                env={**ours, "RATE_LIMITS": "post=off,post@address=off", "PYTHONPATH": ""},
                command=[str(venv / "bin" / "confer")],
                cwd=str(tmp),
            )
            stack.callback(c.close)
            confers.append(c)
        for c in confers:
            c.start(wait=False)
        for c in confers:
            wait_for_port(c.port, c.proc, timeout=60)
        t = phase("redis-server and two confer serve processes", t)

        prefix = tmp / "nginx"
        (prefix / "tmp").mkdir(parents=True)
        (prefix / "sites-enabled").mkdir()
        cert, key = make_certificate(prefix)
        (prefix / "sites-enabled" / "confer").write_text(
            site_conf(
                https_port=https_port,
                http_port=http_port,
                cert=cert,
                key=key,
                upstreams=[c.port for c in confers],
            )
        )
        (prefix / "nginx.conf").write_text(NGINX_MAIN.format(prefix=prefix))
        nginx = Nginx(prefix)
        nginx.test_config()
        stack.callback(nginx.stop)
        nginx.start(https_port)
        wait_for_port(http_port, nginx.proc)
        phase("nginx -t and nginx started", t)
        phase("deployment ready", started)

        d.http_port, d.nginx, d.confers = http_port, nginx, confers
        yield d
        for c in confers:
            if c.proc is not None and c.proc.poll() is None:
                assert c.stop() == 0, c.output()[-3000:]


def insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest_asyncio.fixture(loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=insecure()), cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        yield session


async def wait_until(check, what: str, within: float = WAIT) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within} s for {what}")
        await asyncio.sleep(0.2)


async def served_by(d: Deployment, http: aiohttp.ClientSession, lb: str) -> Confer:
    """Which Confer process nginx sends a request with the sticky cookie `lb` to."""
    marker = f"/healthz?probe={uuid.uuid4().hex}"
    async with http.get(d.base_url + marker, headers={"Cookie": f"confer_lb={lb}"}) as r:
        await r.read()
    # nginx writes the line once the answer is sent: it may come a moment after the answer.
    found: list[str] = []

    async def logged() -> bool:
        found[:] = [line for line in d.nginx.access_log() if marker in line]
        return bool(found)

    await wait_until(logged, "nginx to log the request")
    return next(c for c in d.confers if f"up={d.upstream_of(c)}" in found[0])


# --- the tests ---------------------------------------------------------------------------


def test_the_systemd_units_parse() -> None:
    verify = shutil.which("systemd-analyze")
    if verify is None:
        pytest.skip("systemd-analyze is not installed, so the unit files are not checked")
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for unit in sorted(UNITS.glob("*.service")):
            # The instance of the template, and a command that exists on this machine.
            name = unit.name.replace("@.", "@8081.")
            text = unit.read_text().replace("/opt/confer/venv/bin/confer", sys.executable)
            (Path(tmp) / name).write_text(text)
            names.append(name)
        assert {"confer@8081.service", "confer-migrate.service"} <= set(names)
        done = subprocess.run(
            [verify, "verify", "--man=no", *names],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
    # systemd only warns (and exits 0) about a setting it cannot parse: any word is a failure.
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@MODULE_LOOP
async def test_the_proxy_redirects_sets_hsts_and_hides_the_dev_outbox(
    deployment: Deployment, http: aiohttp.ClientSession
) -> None:
    d = deployment
    assert "site admin" in d.admin_output
    # The wheel's copy runs: its pages come with their styles.
    async with http.get(d.base_url + "/healthz") as r:
        assert r.status == 200
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
        # A first visit gets the sticky cookie; it is Secure and HttpOnly.
        cookie = r.headers["Set-Cookie"]
        assert re.match(r"confer_lb=[0-9a-f]{32}; Path=/; Secure; HttpOnly; SameSite=Lax", cookie)
    async with http.get(d.base_url + "/login", headers={"Cookie": "confer_lb=x"}) as r:
        page = await r.text()
        assert r.status == 200
        assert not [c for c in r.headers.getall("Set-Cookie", []) if c.startswith("confer_lb=")]
    css = re.search(r'href="(/static/[^"?]+\.css(?:\?v=[0-9a-f]+)?)"', page)
    assert css, "the sign-in page links no stylesheet"
    async with http.get(d.base_url + css.group(1)) as r:
        assert r.status == 200 and len(await r.read()) > 1000
        # Versioned (?v=hash): kept by caches for a year, through the proxy too.
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    # /dev/outbox never answers through the proxy (no SMTP_URL here: email is only logged).
    async with http.get(d.base_url + "/dev/outbox") as r:
        assert r.status == 404
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000"  # `always`
    # Nor /metrics, which each process answers to this machine on its own port.
    async with http.get(d.base_url + "/metrics") as r:
        assert r.status == 404
    async with http.get(f"http://127.0.0.1:{d.confers[0].port}/metrics") as r:
        assert r.status == 200 and "confer_http_requests_total" in await r.text()
    # An emailed link's secret stays out of nginx's access log (Confer redacts its own).
    secret = uuid.uuid4().hex
    for path in (f"/account/reset/{secret}", f"/login?next=/invitations/{secret}"):
        async with http.get(d.base_url + path) as r:
            await r.read()
    await served_by(d, http, "after-secrets")  # nginx has written the lines before this one
    assert not [line for line in d.nginx.access_log() if secret in line]

    # Plain HTTP only redirects, keeping the path and query.
    async with http.get(
        f"http://127.0.0.1:{d.http_port}/c/some-conference?page=2", allow_redirects=False
    ) as r:
        assert r.status == 301
        assert r.headers["Location"] == "https://127.0.0.1/c/some-conference?page=2"

    # Sticky by cookie, not by address: from this one address, different browsers (cookies)
    # reach both processes, and one cookie always reaches the same process.
    seen = {(await served_by(d, http, f"browser-{i}")).port for i in range(16)}
    assert seen == {c.port for c in d.confers}
    first = await served_by(d, http, "browser-0")
    for _ in range(5):
        assert await served_by(d, http, "browser-0") is first


@pytest_asyncio.fixture(loop_scope="module")
async def chromium() -> AsyncIterator[Browser]:
    chromium_path = shutil.which("chromium")
    assert chromium_path, "Chromium is not installed (apt-get install chromium)"
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@MODULE_LOOP
async def test_live_posts_through_nginx_survive_sigterm_of_a_process(
    deployment: Deployment, http: aiohttp.ClientSession, chromium: Browser
) -> None:
    d = deployment
    t = time.monotonic()
    pool = await asyncpg.create_pool(d.database_url, min_size=1, max_size=2)
    clients: list[socketio.AsyncClient] = []
    contexts = []
    try:
        world = World(pool)
        admin = dict(await pool.fetchrow("SELECT id, email, name FROM users WHERE is_admin"))
        assert admin["email"] == ADMIN_EMAIL
        reader_user = await world.user("Rhys Reader", organisation="Powys County Council")
        conf = await world.conference()
        session = await world.session(conf, title="Digital services")
        await world.member(conf, admin, "organiser")
        await world.member(conf, reader_user)
        thread = await world.thread(session, reader_user, title="Shared platforms", posts=1)
        url = f"/c/{conf['slug']}/threads/{thread['id']}"
        from confer.accounts import service as accounts
        from confer.policy import Actor

        token, _ = await accounts.create_api_token(
            pool, Actor(user_id=reader_user["id"], name=reader_user["name"], via="cli"), "t"
        )

        # Sticky keys (cookie values) by the process nginx sends them to: the poster's on
        # process one; the reader's and the socket.io client's (a key of its own, so that
        # nginx's log tells its requests apart) on process two.
        one, two = d.confers
        keys: dict[int, list[str]] = {one.port: [], two.port: []}
        for i in range(64):
            keys[(await served_by(d, http, f"key-{i}")).port].append(f"key-{i}")
            if len(keys[one.port]) >= 1 and len(keys[two.port]) >= 2:
                break
        key_one, (key_two, key_client) = keys[one.port][0], keys[two.port][:2]

        async def page_with(lb: str):
            context = await chromium.new_context(base_url=d.base_url, ignore_https_errors=True)
            contexts.append(context)
            context.set_default_timeout(TIMEOUT_MS)
            await context.add_cookies([{"name": "confer_lb", "value": lb, "url": d.base_url}])
            return await context.new_page()

        poster, reader = await page_with(key_one), await page_with(key_two)
        await sign_in(poster, ADMIN_EMAIL)  # the admin made by `confer user create --admin`
        await sign_in(reader, reader_user["email"])
        await open_live(poster, url)
        await open_live(reader, url)

        # A python-socketio client over a websocket only, on the reader's process too.
        received: list[dict] = []  # post:new events
        missed: list[dict] = []  # posts in join acknowledgements
        client = socketio.AsyncClient(ssl_verify=False, reconnection_delay_max=2)
        clients.append(client)
        joined = asyncio.Event()

        @client.on("post:new")
        async def on_post(data: dict) -> None:
            received.append(data)

        @client.event
        async def connect() -> None:
            seqs = [p["seq"] for p in received + missed]
            after = max([0, *seqs]) - 20 if seqs else 0

            def ack(reply: dict) -> None:
                assert reply["ok"], reply
                missed.extend(reply["missed"])
                joined.set()

            joined.clear()
            await client.emit(
                "join", {"room": f"thread:{thread['id']}", "after": max(after, 0)}, callback=ack
            )

        await client.connect(
            d.base_url,
            transports=["websocket"],
            auth={"token": token},
            headers={"Cookie": f"confer_lb={key_client}", "Origin": d.base_url},
            wait_timeout=15,
        )
        assert client.transport() == "websocket"
        await asyncio.wait_for(joined.wait(), WAIT)
        t = phase("people signed in, pages and the socket.io client live", t)

        async def post(text: str) -> None:
            await composer(poster).fill(text)
            await post_button(poster).click()
            await expect(article(poster, text)).to_have_count(1)

        # 1. A post on process one reaches the reader on process two, live.
        await post("First, before anything goes wrong.")
        await expect(article(reader, "First, before")).to_have_count(1, timeout=LIVE_MS)
        await wait_until(
            lambda: _has(received, "First, before"), "the socket.io client to get the post"
        )
        await assert_stayed(reader)

        # Which process served what (nginx's log names the upstream of each request): the
        # reader's page and its live connection went to process two, the poster's to one.
        log = d.nginx.access_log()
        assert any(
            "/socket.io/" in line and f"lb={key_two}" in line and f"up={d.upstream_of(two)}" in line
            for line in log
        )
        assert any(
            "/socket.io/" in line and f"lb={key_one}" in line and f"up={d.upstream_of(one)}" in line
            for line in log
        )
        # No live connection was refused (a wrong origin is a 400).
        assert not any("/socket.io/" in line and line.startswith("400 ") for line in log)

        # 2. SIGTERM to process two while the reader cannot reconnect yet: a post made while
        # it is away reaches it once it reconnects, through nginx, to process one.
        await reader.route("**/socket.io/**", lambda route: route.abort())
        assert await asyncio.to_thread(two.stop) == 0, two.output()[-3000:]
        await expect(connection_status(reader)).to_have_text("Reconnecting…", timeout=LIVE_MS)
        # nginx logs a websocket when it closes: the client's, upgraded (101) on process two.
        await wait_until(
            lambda: _logged(
                d, "101 ", "transport=websocket", f"up={d.upstream_of(two)}", f"lb={key_client}"
            ),
            "the python-socketio client's websocket through nginx (101) in nginx's log",
        )
        await post("Second, while process two is down.")
        await reader.unroute("**/socket.io/**")
        await expect(connection_status(reader)).to_be_hidden(timeout=2 * LIVE_MS + 5_000)
        await expect(article(reader, "Second, while")).to_have_count(1, timeout=LIVE_MS)
        await post("Third, after the reader came back.")
        await expect(article(reader, "Third, after")).to_have_count(1, timeout=LIVE_MS)
        for text in ("Post number 1", "First, before", "Second, while", "Third, after"):
            await expect(article(reader, text)).to_have_count(1)
        await assert_stayed(reader)
        log = d.nginx.access_log()
        last = [line for line in log if "/socket.io/" in line and f"lb={key_two}" in line][-1]
        # nginx logs a request when it ends: the reader's requests since, not its websocket.
        upstream = re.search(r" up=(.*) lb=", last)
        assert upstream and upstream.group(1).endswith(d.upstream_of(one)), last

        # The socket.io client reconnected too and has every post once (rejoining asks for a
        # few it had: each is shown once by its id, as docs/live.md says).
        await wait_until(lambda: _has(received + missed, "Third, after"), "the client to catch up")
        ids = await pool.fetch("SELECT id FROM posts WHERE thread_id = $1", thread["id"])
        assert {p["id"] for p in received + missed} == {r["id"] for r in ids}
        live_ids = [p["id"] for p in received]
        assert len(live_ids) == len(set(live_ids)), "a post:new event came twice"
        assert (
            await pool.fetchval("SELECT count(*) FROM posts WHERE thread_id = $1", thread["id"])
            == 4
        )
        phase("live posts, SIGTERM and catch-up through nginx", t)
    finally:
        for client in clients:
            if client.connected:
                await client.disconnect()
        for context in contexts:
            await context.close()
        await pool.close()


async def _logged(d: Deployment, *parts: str) -> bool:
    return any(all(p in line for p in parts) for line in d.nginx.access_log())


async def _has(posts: list[dict], text: str) -> bool:
    return any(text in p["html"] for p in posts)


UPGRADE_MIGRATION = """\
-- An upgrade's migration, as migrations are: additive only.
CREATE TABLE deploy_test_upgrade (id bigint PRIMARY KEY);
ALTER TABLE posts ADD COLUMN deploy_test_note text;
"""


@MODULE_LOOP
async def test_an_upgrade_migrates_once_and_restarts_one_process_at_a_time(
    deployment: Deployment, http: aiohttp.ClientSession
) -> None:
    """docs/deploy.md step 9: the new version's files installed, `confer migrate` (here twice
    at once, as two units starting together would), then each process restarted in turn
    while nginx sends its clients to the other, and writers post through nginx (with its
    upstream keepalive) all the while: no post gets a 5xx, none is lost or stored twice."""
    d = deployment
    t = time.monotonic()
    for c in d.confers:  # the previous test stopped one: systemd would have restarted it
        if c.proc is None or c.proc.poll() is not None:
            await asyncio.to_thread(c.start)

    async def ready(c: Confer, status: int) -> bool:
        try:
            async with http.get(f"{c.url}/readyz") as r:
                return r.status == status
        except aiohttp.ClientError:
            return False

    for c in d.confers:
        await wait_until(lambda c=c: ready(c, 200), f"process on {c.port} to be ready")

    # "pip install" of the new version: its migration folder has one more file.
    folder = Path(
        d.run_cli_python("from confer import resources; print(resources.path('migrations'))")
    )
    assert str(d.venv) in str(folder)
    (folder / "9000_deploy_test_upgrade.sql").write_text(UPGRADE_MIGRATION)
    # The running (old) processes see that the database is behind their files.
    for c in d.confers:
        await wait_until(lambda c=c: ready(c, 503), f"/readyz on {c.port} to say 503")

    first, second = d.cli("migrate"), d.cli("migrate")
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    said = sorted(out.strip() for out, _ in outputs)
    assert said[0].startswith("Applied 1 migration(s): 9000_deploy_test_upgrade"), said
    assert said[1].startswith("The database is up to date"), said
    con = await asyncpg.connect(d.database_url)
    try:
        assert (
            await con.fetchval(
                "SELECT count(*) FROM schema_migrations WHERE version = '9000_deploy_test_upgrade'"
            )
            == 1
        )
        assert await con.fetchval("SELECT to_regclass('deploy_test_upgrade') IS NOT NULL")
    finally:
        await con.close()
    for c in d.confers:
        await wait_until(lambda c=c: ready(c, 200), f"/readyz on {c.port} to say 200 again")

    # The rolling restart: one process at a time; nginx answers from the other meanwhile,
    # for the clients of the stopped one too (a key of each process's, found first).
    key_of: dict[int, str] = {}
    for i in range(64):
        key_of.setdefault((await served_by(d, http, f"restart-{i}")).port, f"restart-{i}")
        if len(key_of) == len(d.confers):
            break
    # Meanwhile writers post through nginx without a pause, half of them on each process's
    # sticky key: nginx keeps its connections to Confer open between requests (upstream
    # keepalive), and never passes a POST on to another process once it has sent it, so a
    # stopping process must not close a connection nginx may be sending a request down
    # (confer.serving's drain). Every post is answered, none with a 5xx, and each is stored
    # once.
    writers = await _restart_writers(d, http, list(key_of.values()))
    try:
        for c in d.confers:
            await writers.wait_for_more("posts before the restart of " + str(c.port))
            assert await asyncio.to_thread(c.stop) == 0, c.output()[-3000:]
            await writers.wait_for_more(f"posts while {c.port} is stopped")
            for key in key_of.values():
                async with http.get(
                    d.base_url + "/readyz", headers={"Cookie": f"confer_lb={key}"}
                ) as r:
                    assert r.status == 200, f"{r.status} from nginx while {c.port} restarts"
            await asyncio.to_thread(c.start)
            await wait_until(lambda c=c: ready(c, 200), f"process on {c.port} to be back")
            await writers.wait_for_more(f"posts after {c.port} is back")
    finally:
        answers = await writers.stop()
    bad = [a for a in answers if a[1] != 201]
    assert not bad, f"{len(bad)} of {len(answers)} posts were not accepted: {bad[:5]}"
    stored = await writers.stored()
    sent = [key for key, _ in answers]
    assert sorted(stored) == sorted(sent), "a post was lost or stored twice"
    phase(f"an upgrade: migrations once, then a rolling restart ({len(sent)} posts meanwhile)", t)


class _Writers:
    """Writers posting through nginx's API without a pause until stopped; their answers."""

    # Enough that, with the drain off (SHUTDOWN_DRAIN=0), nginx sent a POST down a closing
    # connection (502) in each of two runs; with 3 a key, in one of two.
    WRITERS_PER_KEY = 6

    def __init__(
        self, d: Deployment, http: aiohttp.ClientSession, keys: list[str], token: str, thread: int
    ) -> None:
        self.d, self.http, self.token, self.thread = d, http, token, thread
        self.answers: list[tuple[str, int | str]] = []  # (idempotency key, status or error)
        self.stopping = False
        self.tasks = [
            asyncio.create_task(self._write(f"{key}-{n}", key))
            for key in keys
            for n in range(self.WRITERS_PER_KEY)
        ]

    async def _write(self, name: str, lb: str) -> None:
        n = 0
        while not self.stopping:
            n += 1
            key = f"{name}-{n}"
            try:
                async with self.http.post(
                    f"{self.d.base_url}/api/v1/threads/{self.thread}/posts",
                    json={
                        "body": f"Post {key} during the rolling restart.",
                        "idempotency_key": key,
                    },
                    headers={"Authorization": f"Bearer {self.token}", "Cookie": f"confer_lb={lb}"},
                ) as r:
                    await r.read()
                    self.answers.append((key, r.status))
            except aiohttp.ClientError as e:
                self.answers.append((key, repr(e)))

    async def wait_for_more(self, what: str, count: int = 20) -> None:
        """Until `count` more answers have come (the writers are running meanwhile)."""
        target = len(self.answers) + count

        async def enough() -> bool:
            return len(self.answers) >= target

        await wait_until(enough, what)

    async def stop(self) -> list[tuple[str, int | str]]:
        self.stopping = True
        await asyncio.gather(*self.tasks)
        return self.answers

    async def stored(self) -> list[str]:
        con = await asyncpg.connect(self.d.database_url)
        try:
            rows = await con.fetch(
                "SELECT idempotency_key FROM posts WHERE thread_id = $1 AND idempotency_key LIKE 'restart-%'",
                self.thread,
            )
        finally:
            await con.close()
        return [r["idempotency_key"] for r in rows]


async def _restart_writers(d: Deployment, http: aiohttp.ClientSession, keys: list[str]) -> _Writers:
    pool = await asyncpg.create_pool(d.database_url, min_size=1, max_size=2)
    try:
        world = World(pool)
        writer = await world.user("Wyn Writer", organisation="Ceredigion County Council")
        conf = await world.conference()
        session = await world.session(conf, title="Rolling restarts")
        await world.member(conf, writer)
        thread = await world.thread(session, writer, title="Posts during a restart", posts=1)
        from confer.accounts import service as accounts
        from confer.policy import Actor

        token, _ = await accounts.create_api_token(
            pool, Actor(user_id=writer["id"], name=writer["name"], via="cli"), "restart"
        )
    finally:
        await pool.close()
    return _Writers(d, http, keys, token, thread["id"])


@MODULE_LOOP
async def test_readyz_through_nginx_follows_postgresql(
    deployment: Deployment, http: aiohttp.ClientSession
) -> None:
    d = deployment
    t = time.monotonic()

    async def ready_is(status: int) -> bool:
        try:
            async with http.get(d.base_url + "/readyz") as r:
                return r.status == status
        except aiohttp.ClientError:
            return False

    await wait_until(lambda: ready_is(200), "/readyz to answer 200")
    d.pg.stop()
    await wait_until(lambda: ready_is(503), "/readyz to answer 503 with PostgreSQL stopped")
    d.pg.start()
    await wait_until(lambda: ready_is(200), "/readyz to answer 200 with PostgreSQL back")
    phase("/readyz through a PostgreSQL stop and start", t)
