"""Every typed application and request key, in one place."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import asyncpg
import socketio
from aiohttp import web

from confer.policy import Actor
from confer.settings import Settings

if TYPE_CHECKING:
    from confer.context import Ctx
    from confer.exports.views import ExportGate
    from confer.live.hub import Hub
    from confer.metrics import Metrics
    from confer.ratelimit import Limiter
    from confer.routing import Route
    from confer.sso.client import Directory

settings_key = web.AppKey("settings", Settings)
pool_key = web.AppKey("pool", asyncpg.Pool)
hub_key: web.AppKey[Hub] = web.AppKey("hub")
ctx_key: web.AppKey[Ctx] = web.AppKey("ctx")
sio_key = web.AppKey("sio", socketio.AsyncServer)
# The Redis client shared by the rate limits and /readyz (only with REDIS_URL).
redis_key: web.AppKey[Any] = web.AppKey("redis")
# Every declared route (confer.routing), and the rate limit each limited one spends from:
# (method, canonical path) -> limit name (confer.ratelimit).
routes_key: web.AppKey[list[Route]] = web.AppKey("routes")
limits_key: web.AppKey[dict[tuple[str, str], str]] = web.AppKey("route_limits")
# Each API operation's compiled checks (confer.api.contract), by id of its declaration.
contracts_key: web.AppKey[dict[int, Any]] = web.AppKey("contracts")
limiter_key: web.AppKey[Limiter] = web.AppKey("limiter")
metrics_key: web.AppKey[Metrics] = web.AppKey("metrics")
# The networks that may read /metrics (METRICS_ALLOW, parsed).
metrics_networks_key = web.AppKey("metrics_networks", tuple)
# How many transcript exports may stream at once (confer.exports.views).
export_gate_key: web.AppKey[ExportGate] = web.AppKey("export_gate")
# Start-up (confer.startup): templates compiling in a thread, then the heap freeze.
precompiled_key = web.AppKey("precompiled", asyncio.Future)
heap_frozen_key = web.AppKey("heap_frozen", asyncio.Task)
# The sign-in providers' discovery documents and keys, per process (confer.sso.client).
sso_directory_key: web.AppKey[Directory] = web.AppKey("sso_directory")

actor_key = web.RequestKey("actor", Actor)
csrf_key = web.RequestKey("csrf", str)
login_id_key = web.RequestKey("login_id", int)
# True when the language came from the switch's cookie (confer.web.language_middleware).
language_chosen_key = web.RequestKey("language_chosen", bool)
