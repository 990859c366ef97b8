"""Prometheus metrics at /metrics (prometheus-client), one registry per app.

Counted as things happen (a few hundred nanoseconds each): HTTP requests by route pattern
(never the raw path: no tokens, no unbounded label values), method and status, and their
duration; live deliveries (one per event per socket, counted once per emit by the fan-out);
outbox delivery failures. Read when scraped, at no cost in between: sockets connected, the
database pool's connections in use, the outbox backlog (one count over a partial index).

/metrics answers only connecting addresses in METRICS_ALLOW (default loopback) — the peer of
the TCP connection, never X-Forwarded-For: behind a reverse proxy that peer is the proxy, so
the proxy must not pass /metrics on (docs/deploy.md, "Logs and metrics"). Others get 404.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from confer.keys import metrics_key, metrics_networks_key, pool_key, settings_key, sio_key
from confer.proxies import came_through_proxy

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no route: a 404 or 405 of the router itself
# Page times run from a millisecond to seconds (an export, a slow database).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

OUTBOX_BACKLOG = "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "confer_http_requests",
            "HTTP requests answered, by route pattern, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "confer_http_request_duration_seconds",
            "Time to answer an HTTP request, by route pattern (websockets not included).",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.deliveries = Counter(
            "confer_live_deliveries",
            "Live events handed to sockets of this process (one per event per socket).",
            registry=self.registry,
        )
        self.outbox_failures = Counter(
            "confer_outbox_failures",
            "Email delivery attempts that failed: retry (to be tried again) or failed (given up).",
            ["outcome"],
            registry=self.registry,
        )
        self.outbox_failures.labels("retry")
        self.outbox_failures.labels("failed")
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[str, Any] = {}
        self.scraped: _Scraped = _Scraped()
        self.registry.register(self.scraped)

    def observe(self, request: web.Request, status: int, seconds: float) -> None:
        """Count one answered request (called by the request middleware)."""
        try:
            resource = request.match_info.route.resource
        except AttributeError:
            resource = None
        route = resource.canonical if resource is not None else UNMATCHED
        method = request.method if request.method in METHODS else "other"
        key = (route, method, status)
        counter = self._counted.get(key)
        if counter is None:
            counter = self._counted[key] = self.requests.labels(route, method, str(status))
        counter.inc()
        if status != 101:  # a websocket's "duration" is the whole connection
            timer = self._timed.get(route)
            if timer is None:
                timer = self._timed[route] = self.duration.labels(route)
            timer.observe(seconds)


class _Scraped(Collector):
    """Gauges read when /metrics is asked for."""

    def __init__(self) -> None:
        self.app: web.Application | None = None
        self.outbox_backlog: int | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        app = self.app
        if app is None:
            return
        sio = app.get(sio_key)
        if sio is not None:
            sockets = sum(1 for s in list(sio.eio.sockets.values()) if not s.closed)
            yield GaugeMetricFamily(
                "confer_sockets_connected", "socket.io connections open on this process.", sockets
            )
        pool = app.get(pool_key)
        if pool is not None:
            size = pool.get_size()
            yield GaugeMetricFamily(
                "confer_db_pool_in_use",
                "Database connections of this process's pool in use.",
                size - pool.get_idle_size(),
            )
            yield GaugeMetricFamily(
                "confer_db_pool_size", "Database connections open in this process's pool.", size
            )
            yield GaugeMetricFamily(
                "confer_db_pool_max", "The most connections the pool may open.", pool.get_max_size()
            )
        if self.outbox_backlog is not None:
            yield GaugeMetricFamily(
                "confer_outbox_backlog",
                "Emails queued and neither sent nor given up (all processes).",
                self.outbox_backlog,
            )


def allowed(address: str | None, networks: tuple[ipaddress._BaseNetwork, ...]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in n for n in networks if n.version == ip.version)


async def show_metrics(request: web.Request) -> web.Response:
    """The metrics, to an allowed connecting address only (request.remote, not a header), and
    never through a proxy: behind a local nginx every visitor connects from 127.0.0.1."""
    app = request.app
    if came_through_proxy(request) or not allowed(request.remote, app[metrics_networks_key]):
        raise web.HTTPNotFound()
    metrics = app[metrics_key]
    pool = app.get(pool_key)
    if pool is not None:
        try:
            metrics.scraped.outbox_backlog = await pool.fetchval(OUTBOX_BACKLOG)
        except Exception:  # the database is away: the other metrics still answer
            metrics.scraped.outbox_backlog = None
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application, metrics: Metrics) -> Metrics:
    metrics.scraped.app = app
    app[metrics_key] = metrics
    app[metrics_networks_key] = tuple(
        ipaddress.ip_network(n, strict=False) for n in app[settings_key].metrics_allow
    )
    app.router.add_get("/metrics", show_metrics, name="metrics")
    return metrics
