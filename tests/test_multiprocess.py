"""Several processes: two real Confer servers, one PostgreSQL, one real redis-server."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import aiohttp
import pytest
import socketio

from confer.accounts import service as accounts
from confer.policy import Actor
from tests.conftest import PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


@pytest.fixture
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: apt-get install redis-server (.ci/run does)"
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="crd-")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _serve(database_url: str, redis_url: str | None, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(DATABASE_URL=database_url, SECRET_KEY="shared-secret", PORT=str(port))
    env["RATE_LIMITS"] = "off"
    if redis_url:
        env["REDIS_URL"] = redis_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "confer", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_port(port, proc)
    return proc


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=20)


async def _fixture_thread(world) -> tuple[dict, dict, dict]:
    c = await world.conference()
    s = await world.session(c)
    u = await world.user(name="Two Process")
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    return c, t, u


async def test_a_post_through_process_b_reaches_a_reader_on_process_a(
    world, database_url, redis_url, pool
):
    c, t, u = await _fixture_thread(world)
    token, _ = await accounts.create_api_token(pool, Actor(user_id=u["id"], name="x"), "t")
    port_a, port_b = _free_port(), _free_port()
    a, b = _serve(database_url, redis_url, port_a), _serve(database_url, redis_url, port_b)
    reader = socketio.AsyncClient(reconnection=False)
    got: list[dict] = []
    arrived = asyncio.Event()

    @reader.on("post:new")
    async def on_post(data: dict) -> None:
        got.append(data)
        arrived.set()

    try:
        await reader.connect(
            f"http://127.0.0.1:{port_a}", transports=["websocket"], wait_timeout=10
        )
        ack = await reader.call("join", {"room": f"thread:{t['id']}"}, timeout=10)
        assert ack["ok"] is True
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"http://127.0.0.1:{port_b}/api/v1/threads/{t['id']}/posts",
                json={"body": "across processes"},
                headers={"Authorization": f"Bearer {token}"},
            ) as r:
                assert r.status == 201
                post = await r.json()
        await asyncio.wait_for(arrived.wait(), 10)
        assert got[0]["id"] == post["id"] and got[0]["html"] == "<p>across processes</p>\n"
        await asyncio.sleep(0.5)
        assert len(got) == 1  # delivered once, not once per process
    finally:
        await reader.disconnect()
        assert _stop(a) == 0
        assert _stop(b) == 0


async def test_signing_out_on_one_process_disconnects_sockets_on_another(
    world, database_url, redis_url
):
    c, t, u = await _fixture_thread(world)
    port_a, port_b = _free_port(), _free_port()
    a, b = _serve(database_url, redis_url, port_a), _serve(database_url, redis_url, port_b)
    client = socketio.AsyncClient(reconnection=False)
    try:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(f"http://127.0.0.1:{port_b}/login") as r:
                text = await r.text()
            csrf = text.split('name="csrf-token" content="')[1].split('"')[0]
            async with http.post(
                f"http://127.0.0.1:{port_b}/login",
                allow_redirects=False,
                data={"email": u["email"], "password": PASSWORD, "csrf_token": csrf},
            ) as r:
                assert r.status == 303
            session_cookie = next(k.value for k in jar if k.key == "confer_session")
            await client.connect(
                f"http://127.0.0.1:{port_a}",
                headers={"Cookie": f"confer_session={session_cookie}"},
                transports=["websocket"],
                wait_timeout=10,
            )
            assert client.connected
            async with http.post(
                f"http://127.0.0.1:{port_b}/logout",
                data={"csrf_token": csrf},
                allow_redirects=False,
            ) as r:
                assert r.status == 303
        for _ in range(100):
            if not client.connected:
                break
            await asyncio.sleep(0.1)
        assert not client.connected
    finally:
        if client.connected:
            await client.disconnect()
        _stop(a)
        _stop(b)


async def test_sigterm_closes_sockets_and_exits_cleanly(world, database_url):
    c, t, u = await _fixture_thread(world)
    port = _free_port()
    proc = _serve(database_url, None, port)
    client = socketio.AsyncClient(reconnection=False)
    disconnected = asyncio.Event()

    @client.on("disconnect")
    async def gone(*_: object) -> None:
        disconnected.set()

    await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"], wait_timeout=10)
    assert (await client.call("join", {"room": f"thread:{t['id']}"}, timeout=10))["ok"]
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(disconnected.wait(), 15)
    assert await asyncio.to_thread(proc.wait, 20) == 0
    assert time.monotonic() - started < 15


async def test_here_now_counts_readers_on_every_process(world, database_url, redis_url):
    """Two readers of one thread, one on each process: both are told "2 here"."""
    c, t, u = await _fixture_thread(world)
    port_a, port_b = _free_port(), _free_port()
    a, b = _serve(database_url, redis_url, port_a), _serve(database_url, redis_url, port_b)
    room = f"thread:{t['id']}"
    readers = [socketio.AsyncClient(reconnection=False) for _ in range(2)]
    counts: list[list[int]] = [[], []]
    changed = asyncio.Event()

    def recorder(i: int):
        def record(data: dict) -> None:
            counts[i].append(data["count"])
            changed.set()

        return record

    for i, reader in enumerate(readers):
        reader.on("presence", recorder(i))

    async def until(i: int, count: int) -> None:
        while not counts[i] or counts[i][-1] != count:
            changed.clear()
            await changed.wait()

    try:
        await readers[0].connect(f"http://127.0.0.1:{port_a}", transports=["websocket"])
        ack = await readers[0].call("join", {"room": room}, timeout=10)
        assert ack["present"] == 1
        await readers[1].connect(f"http://127.0.0.1:{port_b}", transports=["websocket"])
        ack = await readers[1].call("join", {"room": room}, timeout=10)
        assert ack["present"] == 2  # counted across processes, not only process B's one
        await asyncio.wait_for(until(0, 2), 10)
        await readers[1].disconnect()
        await asyncio.wait_for(until(0, 1), 10)
    finally:
        for reader in readers:
            await reader.disconnect()
        assert _stop(a) == 0
        assert _stop(b) == 0
