"""The private internals of aiohttp, python-engineio and python-socketio that Confer's fan-out
relies on (confer/live/fanout.py), checked by name so that a release that changes them fails
here, loudly, instead of silently slowing every broadcast or losing events. pyproject.toml pins
the ranges these were checked with; widen a pin only with this file passing."""

from __future__ import annotations

import asyncio
import inspect

import engineio
import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as eio_aiohttp

from confer.keys import sio_key
from confer.live import fanout


def test_the_library_classes_still_have_what_fanout_uses():
    problems = []
    if not isinstance(getattr(engineio.AsyncServer(async_mode="aiohttp"), "_async", None), dict):
        problems.append("engineio.AsyncServer._async is no longer a dict of drivers")
    if "websocket" not in engineio.AsyncServer(async_mode="aiohttp")._async:
        problems.append("engineio's aiohttp driver has no 'websocket' entry")
    params = list(inspect.signature(eio_aiohttp.WebSocket.__init__).parameters)
    if params[:3] != ["self", "handler", "server"]:
        problems.append(f"engineio aiohttp WebSocket.__init__ is now {params}")
    emit = inspect.signature(socketio.AsyncManager.emit).parameters
    for name in ("event", "data", "namespace", "room", "skip_sid", "callback", "to"):
        if name not in emit:
            problems.append(f"socketio.AsyncManager.emit lost its {name!r} parameter")
    for owner, names in (
        (socketio.AsyncManager, ("get_participants", "emit")),
        (socketio.AsyncRedisManager, ("_redis_connect", "_redis_listen_with_retries")),
        (engineio.async_socket.AsyncSocket, ("close", "send")),
        (engineio.AsyncServer, ("send_packet",)),
    ):
        for name in names:
            if not callable(getattr(owner, name, None)):
                problems.append(f"{owner.__module__}.{owner.__qualname__}.{name} is gone")
    if not inspect.isasyncgenfunction(socketio.AsyncRedisManager._redis_listen_with_retries):
        problems.append("AsyncRedisManager._redis_listen_with_retries is no longer an async gen")
    assert problems == []


async def test_a_connected_websocket_takes_the_direct_path(server):
    """On a real connection: engine.io's socket keeps a queue with waiting getters, aiohttp's
    response a writer with a transport and no compression, and so the fan-out writes frames
    straight onto idle sockets (fanout.idle_transport finds the transport)."""
    sio = server.app[sio_key]
    assert isinstance(sio.manager, fanout.FastEmitManager)
    assert sio.eio._async["websocket"] is fanout.PlainWebSocket
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(str(server.make_url("/")), transports=["websocket"], wait_timeout=10)
    try:
        [sock] = list(sio.eio.sockets.values())
        for _ in range(100):  # the writer task starts waiting on the queue
            if sock.queue._getters:
                break
            await asyncio.sleep(0.02)
        ws = sock.confer_ws
        assert isinstance(ws, web.WebSocketResponse)
        assert isinstance(sock.queue, asyncio.Queue) and sock.queue._getters
        assert ws._writer is not None and not ws._writer.compress
        assert ws._writer.transport is not None
        assert sock.upgraded and not sock.upgrading and not sock.closed
        assert fanout.idle_transport(sock) is ws._writer.transport
        assert fanout.overloaded(sock) is False
    finally:
        await client.disconnect()
