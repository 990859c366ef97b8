"""Operating Confer: /healthz and /readyz for load balancers, Redis checked at start, the
development outbox never reachable through a proxy, and the embedded database's warning.
(PostgreSQL stopping under a running server, and /readyz answering 503 then 200, is in
tests/test_faults.py, which owns a PostgreSQL it can stop.)"""

from __future__ import annotations

import logging

import aiohttp
import pytest

from confer.app import create_app
from confer.errors import StartupError
from tests.conftest import Browser
from tests.procs import Redis, free_port


async def test_healthz_and_readyz_answer_without_a_sign_in(server):
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/healthz")) as r:
            assert r.status == 200 and await r.json() == {"status": "ok"}
            assert r.headers["Cache-Control"] == "no-store"
        # A stale sign-in cookie costs nothing: no lookup happens before the check.
        async with http.get(
            server.make_url("/readyz"), headers={"Cookie": "confer_session=stale"}
        ) as r:
            assert r.status == 200
            assert await r.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readyz_is_503_while_migrations_are_missing(server, pool):
    # As if a newer release's process started before `confer migrate` ran.
    deleted = await pool.execute(
        "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)"
    )
    assert deleted == "DELETE 1"
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/readyz")) as r:
            body = await r.json()
            assert r.status == 503 and r.headers["Retry-After"] == "5"
            assert body["status"] == "unavailable"
            assert body["checks"]["database"] == ("1 migration(s) not applied: run confer migrate")
        async with http.get(server.make_url("/healthz")) as r:
            assert r.status == 200  # alive, only not ready


@pytest.fixture
def redis():
    server = Redis()
    server.start()
    yield server
    server.close()


async def test_readyz_follows_redis_when_redis_url_is_set(settings, aiohttp_server, redis):
    srv = await aiohttp_server(create_app(settings.with_(redis_url=redis.url)), host="127.0.0.1")
    async with aiohttp.ClientSession() as http:
        async with http.get(srv.make_url("/readyz")) as r:
            assert r.status == 200
            assert (await r.json())["checks"] == {"database": "ok", "redis": "ok"}
        redis.stop()
        async with http.get(srv.make_url("/readyz")) as r:
            body = await r.json()
            assert r.status == 503 and body["checks"]["database"] == "ok"
            assert body["checks"]["redis"].startswith("unavailable"), body
        redis.start()
        for _ in range(100):  # the client reconnects on its next command
            async with http.get(srv.make_url("/readyz")) as r:
                if r.status == 200:
                    break
        assert r.status == 200


async def test_an_unreachable_redis_stops_start_up_with_one_clear_error(settings):
    app = create_app(settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    runner = aiohttp.web.AppRunner(app)
    with pytest.raises(StartupError, match="REDIS_URL is set but Redis does not answer"):
        await runner.setup()
    await runner.cleanup()


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": "198.51.100.7"},
        {"Forwarded": "for=198.51.100.7;proto=https"},
        {"X-Real-IP": "198.51.100.7"},
    ],
)
async def test_dev_outbox_never_answers_through_a_proxy(settings, aiohttp_server, headers):
    """nginx on the same machine makes every visitor a loopback client: with BASE_URL left
    local and no SMTP_URL, anyone could read password-reset links there."""
    srv = await aiohttp_server(create_app(settings.with_(smtp_url=None)), host="127.0.0.1")
    b = Browser(srv)
    try:
        direct, _ = await b.get("/dev/outbox")
        proxied, _ = await b.get("/dev/outbox", headers=headers)
    finally:
        await b.close()
    assert direct.status == 200
    assert proxied.status == 404


async def test_the_embedded_database_warns_when_base_url_is_public(
    settings, aiohttp_server, data_dir, caplog
):
    settings = settings.with_(
        database_url=None, data_dir=data_dir, base_url="https://confer.example.gov.uk"
    )
    with caplog.at_level(logging.WARNING, logger="confer.app"):
        srv = await aiohttp_server(create_app(settings), host="127.0.0.1")
        await srv.close()
    from confer import embedded

    assert embedded.exists(data_dir)
    [warning] = [r.getMessage() for r in caplog.records if r.name == "confer.app"]
    assert "embedded database" in warning and "DATABASE_URL" in warning


async def test_forwarding_from_an_address_not_trusted_is_ignored_and_named_once(server, caplog):
    from confer import web as edge

    edge._untrusted_warned.discard("127.0.0.1")
    with caplog.at_level(logging.WARNING, logger="confer.web"):
        async with aiohttp.ClientSession() as http:
            for _ in range(3):  # a route that reads the client's address (its rate limit)
                async with http.get(
                    server.make_url("/api/v1/conferences/none/search?q=x"),
                    headers={"X-Forwarded-For": "203.0.113.9"},
                ) as r:
                    assert r.status == 404
    warnings = [r.getMessage() for r in caplog.records if r.name == "confer.web"]
    assert len(warnings) == 1
    assert "127.0.0.1 is not in TRUSTED_PROXIES" in warnings[0]
    assert "203.0.113.9" not in warnings[0]
