"""Fan-out: deliver one event to every local socket of a room cheaply.

Measured (docs/performance.md): writing one pre-built websocket frame straight onto each idle
socket's transport costs ~17-33 µs of server CPU a delivery, against ~125 µs through engine.io's
per-socket queue and writer task (a Task and a timer per message on Python 3.11).

python-socketio's AsyncManager.emit encodes a room broadcast once, but then creates one
asyncio task per recipient and waits for them all; at 2,000 sockets that is 2,000 tasks a
post. Here the encoded engine.io packet is put straight onto each socket's (unbounded,
non-blocking) send queue in one loop: no task per recipient, the same wire protocol.

The Redis manager is composed so that events from other processes take the same path:
AsyncPubSubManager delivers locally through super().emit(), which resolves to FastEmit.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import packet

log = logging.getLogger(__name__)


class PlainWebSocket(eio_aiohttp.WebSocket):
    """engine.io's aiohttp websocket without permessage-deflate, remembered on its socket.

    engine.io creates WebSocketResponse() with compress=True, so every browser negotiates
    permessage-deflate: each broadcast is then compressed once per recipient, and each socket
    keeps ~0.2 MB of zlib state. Our frames are small JSON; we send them plain.
    """

    async def __call__(self, environ: dict) -> web.WebSocketResponse:
        self._sock = web.WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False
        )
        await self._sock.prepare(environ["aiohttp.request"])
        self.environ = environ
        eio_socket = getattr(self.handler, "__self__", None)  # engineio AsyncSocket
        if eio_socket is not None:
            eio_socket.confer_ws = self._sock
        await self.handler(self)
        return self._sock


def use_plain_websockets(sio: socketio.AsyncServer) -> None:
    sio.eio._async = dict(sio.eio._async, websocket=PlainWebSocket)


def text_frame(text: str) -> bytes:
    """One unmasked, uncompressed websocket text frame (RFC 6455 §5.2), built once per event."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x81, n) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def idle_transport(eio_socket: Any) -> Any:
    """The socket's transport if a frame may be written straight onto it, else None.

    Only when engine.io's writer task is idle — waiting on an empty queue — can nothing be
    queued ahead of the frame, so writing directly keeps the order of events.
    """
    ws = getattr(eio_socket, "confer_ws", None)
    if ws is None or eio_socket.closed or not eio_socket.upgraded or eio_socket.upgrading:
        return None
    queue = eio_socket.queue
    if not queue.empty() or not queue._getters:
        return None
    writer = ws._writer
    if writer is None or writer.compress:
        return None
    transport = writer.transport
    return None if transport is None or transport.is_closing() else transport


# A socket that stops reading cannot make the server hold its backlog without bound: past
# either limit it is dropped (it reconnects and catches up by seq when it reads again).
MAX_BUFFERED_BYTES = 1 << 20  # unsent bytes in the socket's transport
MAX_QUEUED_PACKETS = 500  # packets waiting in engine.io's queue for its writer task


def overloaded(eio_socket: Any) -> bool:
    """True if the client has stopped reading and its backlog passed a limit."""
    if eio_socket.queue.qsize() > MAX_QUEUED_PACKETS:
        return True
    ws = getattr(eio_socket, "confer_ws", None)
    writer = getattr(ws, "_writer", None)
    transport = getattr(writer, "transport", None)
    return transport is not None and transport.get_write_buffer_size() > MAX_BUFFERED_BYTES


def drop(eio_socket: Any) -> None:
    """Cut a slow reader's connection: engine.io then closes the socket as for any lost client."""
    eio_socket.confer_dropped = True
    ws = getattr(eio_socket, "confer_ws", None)
    writer = getattr(ws, "_writer", None)
    transport = getattr(writer, "transport", None)
    if transport is not None:
        transport.abort()
    else:  # long-polling: no connection to cut, so close the engine.io session itself
        task = asyncio.ensure_future(eio_socket.close(wait=False, abort=True))
        _closing.add(task)
        task.add_done_callback(_closing.discard)


_closing: set[asyncio.Future[Any]] = set()


# The room named in an eviction's close_room message: no socket is ever in it, so a process
# that did not know evictions would close nothing.
EVICT_ROOM = "confer:evict"

Evictor = Callable[[dict[str, Any]], Awaitable[None]]


class FastEmitManager(socketio.AsyncManager):
    metrics: Any = None  # the app's confer.metrics.Metrics: deliveries are counted per emit
    # Set by confer.live.server: applies an eviction (confer.live.evict) to this process's
    # sockets.
    on_evict: Evictor | None = None

    async def evict(self, order: dict[str, Any]) -> None:
        """Apply an eviction here (one process: nothing to forward)."""
        if self.on_evict is not None:
            await self.on_evict(order)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
            return
        if isinstance(data, tuple):
            data = list(data)
        elif data is not None:
            data = [data]
        else:
            data = []
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *data]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, p)
            for p in (encoded if isinstance(encoded, list) else [encoded])
        ]
        raw = [text_frame(f.encode()) for f in frames]
        eio = self.server.eio
        send = eio.send_packet
        sockets = eio.sockets
        delivered = 0
        # Copy: a socket may leave the room while we send.
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip:
                continue
            eio_socket = sockets.get(eio_sid)
            if eio_socket is None or eio_socket.closed or getattr(eio_socket, "confer_dropped", 0):
                continue
            if overloaded(eio_socket):
                log.warning("dropping socket %s: it stopped reading", eio_sid)
                drop(eio_socket)
                continue
            delivered += 1
            transport = idle_transport(eio_socket)
            if transport is not None:
                for data in raw:
                    transport.write(data)
                continue
            for frame in frames:
                await send(eio_sid, frame)
        if delivered and self.metrics is not None:
            self.metrics.deliveries.inc(delivered)


async def close_all(eio: Any, code: int, reason: bytes) -> None:
    """Close every socket of this process at the transport, with a websocket close code.

    Clients then reconnect by themselves and catch up by seq. (A socket.io DISCONNECT packet
    would tell them not to come back: the client does not reconnect after "io server
    disconnect".) Long-polling sessions are ended; their next poll fails and they reconnect.
    """

    async def close(eio_socket: Any) -> None:
        ws = getattr(eio_socket, "confer_ws", None)
        if ws is not None and not ws.closed:
            await ws.close(code=code, message=reason)
        else:
            await eio_socket.close(wait=False, abort=True)

    tasks = [asyncio.ensure_future(close(s)) for s in list(eio.sockets.values())]
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=5)
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception() is not None:
            log.warning("could not close a socket: %r", task.exception())


REDIS_RETRY_MAX = 2.0  # seconds between attempts to subscribe again (python-socketio: up to 60)


class FastRedisManager(socketio.AsyncRedisManager, FastEmitManager):
    """Cross-process rooms over Redis, delivering locally through FastEmitManager.

    While Redis is away, events published by other processes never arrive here, and Redis
    keeps no backlog. So once this process subscribes again after losing Redis, it closes its
    sockets (close code 1012, "service restart"): every client reconnects and catches up by seq.
    """

    async def evict(self, order: dict[str, Any]) -> None:
        """Apply an eviction here, then on every other process. It travels on socket.io's
        own channel as a `close_room` message (python-socketio forwards `disconnect`,
        `leave_room` and `close_room` only for a known sid or a whole room, not "the sockets
        of this account"), so each process applies it before any event published after it."""
        message = {
            "method": "close_room",
            "room": EVICT_ROOM,
            "namespace": "/",
            "host_id": self.host_id,
            "confer_evict": order,
        }
        await self._handle_close_room(message)
        await self._publish(message)

    async def _handle_close_room(self, message: dict[str, Any]) -> None:
        order = message.get("confer_evict")
        if order is None:
            await super()._handle_close_room(message)
        elif self.on_evict is not None:
            try:
                await self.on_evict(order)
            except Exception:  # the listener must go on carrying events
                log.exception("could not apply eviction %r", order)

    async def _redis_listen_with_retries(self) -> Any:
        retry_sleep = 0.5
        subscribed = lost = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    retry_sleep = 0.5
                    if lost:
                        lost = False
                        log.warning("subscribed to Redis again: closing sockets so they catch up")
                        await close_all(self.server.eio, 1012, b"Reconnect to catch up")
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:
                log.warning("lost Redis (%r); subscribing again in %.1f s", exc, retry_sleep)
                subscribed = False
                lost = True
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, REDIS_RETRY_MAX)
