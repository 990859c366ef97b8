"""`confer serve`'s server loop: aiohttp's AppRunner, with a drain before a graceful stop.

Behind nginx with upstream keepalive (docs/deploy/nginx-site.conf), nginx keeps idle
connections to each process and sends later requests down them. If a stopping process closed
such a connection just as nginx sent a request on it, nginx would answer 502 — and it never
passes a POST on to another process. So on SIGTERM (or SIGINT) Confer, before aiohttp's own
graceful shutdown:

1. stops listening: nginx's new connections are refused and go to another process at once;
2. closes its live sockets as "going away" (their clients reconnect, to another process);
3. keeps serving the connections already open for up to `drain` seconds, answering every
   request with `Connection: close`, so nginx drops each connection after its answer and
   never reuses it; a connection left idle is closed by nginx itself once its
   `keepalive_timeout` (4 s in the repository's file, below the drain) has passed;
4. stops as soon as no connection is open, or when the drain is over, and only then lets
   aiohttp close what is left and finish the requests in flight (`shutdown_timeout`).

`drain=0` is aiohttp's own behaviour: idle connections are closed at once.
"""

from __future__ import annotations

import asyncio
import signal
import ssl
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

DRAIN_POLL_SECONDS = 0.05

draining_key = web.AppKey("draining", asyncio.Event)


async def _close_when_draining(request: web.Request, response: web.StreamResponse) -> None:
    """During the drain, every answer tells the client (nginx) to drop the connection."""
    if request.app[draining_key].is_set() and not isinstance(response, web.WebSocketResponse):
        response.force_close()
        # aiohttp has already chosen the headers when this hook runs: say it explicitly, so
        # nginx does not put the connection back in its keepalive cache.
        response.headers["Connection"] = "close"


def run(
    app: web.Application,
    *,
    host: str,
    port: int,
    drain: float,
    shutdown_timeout: float,
    access_log_class: Any,
    print: Callable[[str], None],
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Serve `app` on host:port until SIGTERM or SIGINT, then drain and stop (see above).
    ssl_context: HTTPS without a proxy (only the benchmarks' direct-TLS case uses it)."""
    app[draining_key] = asyncio.Event()
    app.on_response_prepare.append(_close_when_draining)
    asyncio.run(
        _serve(
            app,
            host=host,
            port=port,
            drain=drain,
            shutdown_timeout=shutdown_timeout,
            access_log_class=access_log_class,
            print=print,
            ssl_context=ssl_context,
        )
    )


async def _serve(
    app: web.Application,
    *,
    host: str,
    port: int,
    drain: float,
    shutdown_timeout: float,
    access_log_class: Any,
    print: Callable[[str], None],
    ssl_context: ssl.SSLContext | None,
) -> None:
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log_class=access_log_class,
        shutdown_timeout=shutdown_timeout,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        await site.start()
        print(f"======== Running on {site.name} ========\n(Press CTRL+C to quit)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        if drain > 0:
            app[draining_key].set()
            await site.stop()  # no new connections
            print(
                f"Confer is stopping: refusing new connections, answering open ones with "
                f"Connection: close for up to {drain:g} s"
            )
            await _going_away(app)
            await _drained(runner, drain)
        print("Confer is stopping: finishing the requests in flight")
    finally:
        await runner.cleanup()


async def _going_away(app: web.Application) -> None:
    from confer.keys import sio_key

    if sio_key in app:
        from confer.live.server import going_away

        await going_away(app)


async def _drained(runner: web.AppRunner, drain: float) -> None:
    """Wait until no connection is open, or `drain` seconds."""
    deadline = time.monotonic() + drain
    server = runner.server
    # aiohttp has no event for "a connection closed": look a few times a second.
    while server is not None and server.connections and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(DRAIN_POLL_SECONDS)
