"""The command line, run as a newcomer would: real processes, a real embedded data folder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "XDG_RUNTIME_DIR")}
    env.update(extra)
    return env


def _confer(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "confer", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    assert url.startswith("http://127.0.0.1:")
    req = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_serve_demo_on_embedded_postgres_with_cli_commands_beside_it(data_dir: Path):
    port = _free_port()
    env = _env(CONFER_DATA_DIR=str(data_dir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "confer", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line)
            if "Running on" in line:
                break
        text = "".join(out)
        assert "Running on" in text, text
        assert "participant@demo.confer.test" in text and "demo-participant-asks-questions" in text
        base = f"http://127.0.0.1:{port}"
        status, page = _get(f"{base}/c/councillors-connected")
        assert status == 200 and "Councillors connected" in page

        # The command line works while serve runs on the same embedded data folder.
        r = _confer(
            "user",
            "create",
            "--email",
            "new-admin@example.org",
            "--name",
            "New Admin",
            "--password",
            "a long enough password",
            "--admin",
            env=env,
        )
        assert r.returncode == 0, r.stderr
        r = _confer("token", "create", "--email", "new-admin@example.org", env=env)
        assert r.returncode == 0, r.stderr
        token = r.stdout.strip().splitlines()[-1]
        status, body = _get(f"{base}/api/v1/me", {"Authorization": f"Bearer {token}"})
        assert status == 200 and json.loads(body)["is_admin"] is True
        status, _ = _get(f"{base}/")
        assert status == 200  # the server still answers after the CLI processes exit
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()
    assert proc.returncode == 0


def test_demo_is_live_with_a_closed_and_an_upcoming_session(database_url: str):
    r = _confer("demo", env=_env(DATABASE_URL=database_url))
    assert r.returncode == 0, r.stderr
    r2 = _confer("demo", env=_env(DATABASE_URL=database_url))
    assert "already present" in r2.stdout

    async def check() -> None:
        con = await asyncpg.connect(database_url)
        try:
            state = await con.fetchval(
                "SELECT now() >= starts_at AND now() < ends_at FROM conferences "
                "WHERE slug = 'councillors-connected'"
            )
            assert state is True
            kinds = await con.fetch(
                "SELECT kind, count(*) FILTER (WHERE ends_at <= now()) AS closed, "
                "count(*) FILTER (WHERE starts_at > now()) AS upcoming, count(*) AS n "
                "FROM sessions GROUP BY kind"
            )
            by_kind = {k["kind"]: k for k in kinds}
            assert by_kind["discussion"]["n"] == 6  # five themes and the café
            assert by_kind["discussion"]["closed"] >= 1 and by_kind["discussion"]["upcoming"] >= 1
            assert by_kind["panel"]["n"] == 1 and by_kind["keynote"]["n"] == 1
            speakers = await con.fetchval("SELECT count(*) FROM session_speakers")
            assert speakers == 3
            roles = {r["role"] for r in await con.fetch("SELECT DISTINCT role FROM memberships")}
            assert roles == {"organiser", "facilitator", "speaker", "participant", "observer"}
        finally:
            await con.close()

    import asyncio

    asyncio.run(check())


def test_user_create_refuses_a_weak_password_naming_the_field(database_url: str):
    r = _confer(
        "user",
        "create",
        "--email",
        "a@example.org",
        "--name",
        "A",
        "--password",
        "password",
        env=_env(DATABASE_URL=database_url),
    )
    assert r.returncode == 1 and "password:" in r.stderr


def test_migrate_reports_an_up_to_date_database(database_url: str):
    r = _confer("migrate", env=_env(DATABASE_URL=database_url))
    assert r.returncode == 0 and "up to date" in r.stdout
