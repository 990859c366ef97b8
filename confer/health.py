"""/healthz and /readyz, for load balancers and orchestrators: cheap, unauthenticated, JSON.

- /healthz: the process is up and its event loop answers. Nothing else is asked.
- /readyz: this process can serve: PostgreSQL answers and has every migration this copy of
  Confer ships (so a process of a newer release waits for `confer migrate`), and Redis answers
  when REDIS_URL is set. 200 when all hold, else 503 with Retry-After and which check failed.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from confer import db
from confer.keys import pool_key, redis_key

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds each check may take before it counts as failed
RETRY_AFTER = "5"


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def _database(app: web.Application) -> str:
    pool = app.get(pool_key)
    if pool is None:
        return "starting"
    async with pool.acquire(timeout=CHECK_TIMEOUT) as con:
        pending = await db.pending_migrations(con)
    return f"{len(pending)} migration(s) not applied: run confer migrate" if pending else "ok"


async def _redis(app: web.Application) -> str:
    await app[redis_key].ping()
    return "ok"


async def readyz(request: web.Request) -> web.Response:
    checks = {"database": _database(request.app)}
    if redis_key in request.app:
        checks["redis"] = _redis(request.app)
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = await asyncio.wait_for(check, CHECK_TIMEOUT)
        except Exception as e:  # any failure means "not ready": say which, and why, briefly
            results[name] = f"unavailable: {type(e).__name__}"
    ready = all(r == "ok" for r in results.values())
    return web.json_response(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
        headers={"Cache-Control": "no-store", **({} if ready else {"Retry-After": RETRY_AFTER})},
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/readyz", readyz, name="readyz")
