"""Rate limits: the limiter's arithmetic, its configuration, and limits met over real HTTP."""

from __future__ import annotations

import pytest

from confer.errors import TooManyRequests
from confer.ratelimit import DEFAULTS, Limit, Limiter, MemoryStore, parse


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_up_to_the_count_is_allowed_then_one_per_interval():
    clock = Clock()
    limiter = Limiter({"post": (Limit(5, 60), None)}, MemoryStore(clock))
    for _ in range(5):
        await limiter.check("post", user_id=1, address="10.0.0.1")
    with pytest.raises(TooManyRequests) as refused:
        await limiter.check("post", user_id=1, address="10.0.0.1")
    assert refused.value.retry_after == 12  # one interval: 60 s / 5
    assert "12 seconds" in refused.value.message
    assert "your text has been kept" in refused.value.message
    await limiter.check("post", user_id=2, address="10.0.0.1")  # another member is not affected
    clock.now += 12
    await limiter.check("post", user_id=1, address="10.0.0.1")
    with pytest.raises(TooManyRequests):
        await limiter.check("post", user_id=1, address="10.0.0.1")


async def test_the_address_limit_applies_across_members_and_to_the_anonymous():
    clock = Clock()
    limiter = Limiter({"search": (Limit(100, 60), Limit(3, 60))}, MemoryStore(clock))
    for user in (1, 2, None):
        await limiter.check("search", user_id=user, address="192.0.2.7")
    with pytest.raises(TooManyRequests) as refused:
        await limiter.check("search", user_id=4, address="192.0.2.7")
    assert refused.value.retry_after == 20
    await limiter.check("search", user_id=4, address="192.0.2.8")


async def test_refused_attempts_do_not_use_up_the_budget():
    clock = Clock()
    limiter = Limiter({"post": (Limit(2, 10), None)}, MemoryStore(clock))
    await limiter.check("post", user_id=1, address=None)
    await limiter.check("post", user_id=1, address=None)
    for _ in range(50):
        with pytest.raises(TooManyRequests):
            await limiter.check("post", user_id=1, address=None)
    clock.now += 5  # one interval later exactly one more is allowed, despite the 50 refusals
    await limiter.check("post", user_id=1, address=None)


async def test_a_limit_of_one_allows_its_first_use_at_any_time():
    clock = Clock()
    limiter = Limiter({"export": (Limit(1, 3600), None)}, MemoryStore(clock))
    for i in range(200):  # clocks whose sums round differently
        clock.now = 1000.1 + i * 7.3
        await limiter.check("export", user_id=i, address=None)


async def test_minutes_are_said_in_minutes():
    clock = Clock()
    limiter = Limiter({"export": (Limit(1, 3600), None)}, MemoryStore(clock))
    await limiter.check("export", user_id=1, address=None)
    with pytest.raises(TooManyRequests) as refused:
        await limiter.check("export", user_id=1, address=None)
    assert refused.value.retry_after == 3600
    assert "60 minutes" in refused.value.message


async def test_memory_follows_the_active_clients():
    clock = Clock()
    limiter = Limiter({"search": (None, Limit(10, 60))}, MemoryStore(clock))
    for i in range(5000):
        await limiter.check("search", user_id=None, address=f"10.1.{i // 256}.{i % 256}")
    assert len(limiter.store._tat) == 5000
    clock.now += 120
    await limiter.check("search", user_id=None, address="10.9.9.9")
    assert len(limiter.store._tat) == 1


def test_rate_limits_are_configurable():
    limits = parse("post=5/10, post@address=50/10, search=off")
    assert limits["post"] == (Limit(5, 10), Limit(50, 10))
    assert limits["search"] == (None, DEFAULTS["search"][1])
    assert limits["export"] == DEFAULTS["export"]
    assert all(v == (None, None) for v in parse("off").values())
    assert parse("") == DEFAULTS


@pytest.mark.parametrize("spec", ["post=5", "nosuch=1/1", "post@host=1/1", "post=0/10", "post=a/b"])
def test_a_bad_rate_limit_setting_is_named(spec):
    with pytest.raises(ValueError, match="RATE_LIMITS"):
        parse(spec)


# --- over real HTTP and sockets ------------------------------------------------------------


@pytest.fixture
def settings(settings):
    return settings.with_(
        rate_limits="post=2/60,search@address=2/60,sign_in@address=2/60,export=1/3600"
    )


async def _scene(world):
    c = await world.conference()
    s = await world.session(c)
    u = await world.user(name="Quick Poster")
    await world.member(c, u, "participant")
    t = await world.thread(s, u)
    return c, t, u


async def test_every_limited_route_exists(server):
    from confer.keys import limits_key
    from confer.ratelimit import DEFAULTS, MESSAGES

    routes = {
        (route.method, route.resource.canonical)
        for route in server.app.router.routes()
        if route.resource is not None
    }
    limits = server.app[limits_key]
    assert set(limits) - routes == set()
    assert set(limits.values()) <= set(DEFAULTS) == set(MESSAGES)
    # Every write a member repeats quickly is limited, over the forms and the API alike.
    assert limits[("POST", "/c/{slug}/threads/{thread_id}/posts")] == "post"
    assert limits[("POST", "/api/v1/threads/{thread_id}/posts")] == "post"
    assert limits[("PATCH", "/api/v1/posts/{post_id}")] == "edit"
    assert limits[("GET", "/api/v1/conferences/{slug}/search")] == "search"


async def test_posting_past_the_limit_answers_429_and_keeps_the_text(world, browser_factory, pool):
    c, t, u = await _scene(world)
    b = await browser_factory()
    await b.sign_in(u["email"])
    path = f"/c/{c['slug']}/threads/{t['id']}/posts"
    for i in range(2):
        r, _ = await b.post(path, {"body": f"Point {i}"})
        assert r.status == 303
    r, page = await b.post(path, {"body": "My third point, not to be lost"})
    assert r.status == 429
    assert int(r.headers["Retry-After"]) == 30
    assert "You are posting very quickly" in page
    assert "My third point, not to be lost" in page  # in the form, to send again
    assert await pool.fetchval("SELECT count(*) FROM posts WHERE thread_id = $1", t["id"]) == 3


async def test_the_api_and_sockets_share_the_members_budget(world, pool, server):
    from confer.accounts import service as accounts
    from confer.policy import Actor

    c, t, u = await _scene(world)
    token, _ = await accounts.create_api_token(pool, Actor(user_id=u["id"], name="q"), "t")
    import aiohttp
    import socketio

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.post(
            server.make_url(f"/api/v1/threads/{t['id']}/posts"), json={"body": "one"}
        ) as r:
            assert r.status == 201
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(
            str(server.make_url("/")), auth={"token": token}, transports=["websocket"]
        )
        try:
            ack = await sio.call("post", {"thread_id": t["id"], "body": "two"}, timeout=10)
            assert ack["ok"] is True
            ack = await sio.call("post", {"thread_id": t["id"], "body": "three"}, timeout=10)
            assert ack["ok"] is False
            assert ack["error"]["code"] == "too_many_requests"
            assert ack["error"]["retry_after"] == 30
        finally:
            await sio.disconnect()
        async with http.post(
            server.make_url(f"/api/v1/threads/{t['id']}/posts"), json={"body": "four"}
        ) as r:
            assert r.status == 429
            assert r.headers["Retry-After"] == "30"
            body = await r.json()
            assert body["error"]["code"] == "too_many_requests"
    assert await pool.fetchval("SELECT count(*) FROM posts WHERE thread_id = $1", t["id"]) == 3


async def test_search_is_limited_per_address_even_for_the_anonymous(world, browser_factory):
    c, t, u = await _scene(world)
    b = await browser_factory()
    for _ in range(2):
        r, _ = await b.get(f"/c/{c['slug']}/search?q=budget")
        assert r.status == 200
    r, page = await b.get(f"/c/{c['slug']}/search?q=budget")
    assert r.status == 429
    assert "searching very quickly" in page


async def _sign_in_attempt(server, forwarded_for: str) -> int:
    import aiohttp

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(server.make_url("/login")) as r:
            page = await r.text()
        from tests.conftest import CSRF_META

        csrf = CSRF_META.search(page).group(1)
        async with http.post(
            server.make_url("/login"),
            data={"email": "nobody@example.org", "password": "wrong", "csrf_token": csrf},
            headers={"X-Forwarded-For": forwarded_for},
            allow_redirects=False,
        ) as r:
            return r.status


@pytest.mark.parametrize("trusted", [True, False])
async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    settings, aiohttp_server, trusted
):
    from confer.app import create_app

    proxies = ("127.0.0.1",) if trusted else ()
    server = await aiohttp_server(
        create_app(settings.with_(trusted_proxies=proxies)), host="127.0.0.1"
    )
    assert [await _sign_in_attempt(server, "198.51.100.1") for _ in range(3)][-1] == 429
    # Another client behind the proxy has its own budget; a client that is not behind a
    # trusted proxy cannot get one by sending the header.
    other = await _sign_in_attempt(server, "198.51.100.2, 127.0.0.1")
    assert other == (422 if trusted else 429)


# --- one budget across processes (REDIS_URL) -------------------------------------------------


@pytest.fixture
def redis():
    from tests.procs import Redis

    server = Redis()
    server.start()
    yield server
    server.close()


async def test_redis_stores_share_one_budget_atomically(redis):
    """Two limiters on one Redis (two processes): one budget, however the calls interleave,
    and spent only when every key allows it."""
    import asyncio

    import redis.asyncio as aioredis

    from confer.ratelimit import RedisStore

    clients = [aioredis.from_url(redis.url) for _ in range(2)]
    try:
        limiters = [Limiter({"post": (Limit(5, 3600), None)}, RedisStore(c)) for c in clients]

        async def attempt(i: int) -> bool:
            try:
                await limiters[i % 2].check("post", user_id=7, address="192.0.2.1")
                return True
            except TooManyRequests:
                return False

        allowed = await asyncio.gather(*(attempt(i) for i in range(40)))
        assert sum(allowed) == 5
        with pytest.raises(TooManyRequests) as refused:
            await limiters[1].check("post", user_id=7, address=None)
        assert 700 <= refused.value.retry_after <= 721  # one interval: 3600 s / 5
        await limiters[0].check("post", user_id=8, address=None)  # another member's budget
    finally:
        for c in clients:
            await c.aclose()


async def test_two_processes_on_redis_give_a_client_one_budget(world, pool, database_url, redis):
    """A client alternating between two `confer serve` processes (as behind a proxy without
    sticky sessions) gets the budget once, not once per process."""
    import aiohttp

    from confer.accounts import service as accounts
    from confer.policy import Actor
    from tests.procs import Confer

    c, t, u = await _scene(world)
    token, _ = await accounts.create_api_token(pool, Actor(user_id=u["id"], name="q"), "t")
    env = {"RATE_LIMITS": "post=3/3600"}
    procs = [Confer(database_url, redis_url=redis.url, env=env).start() for _ in range(2)]
    statuses = []
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            for i in range(6):
                url = f"{procs[i % 2].url}/api/v1/threads/{t['id']}/posts"
                async with http.post(url, json={"body": f"point {i}"}) as r:
                    statuses.append(r.status)
                    if r.status == 429:
                        assert int(r.headers["Retry-After"]) > 0
    finally:
        codes = [p.stop() for p in procs]
    assert statuses == [201, 201, 201, 429, 429, 429]
    assert codes == [0, 0]
