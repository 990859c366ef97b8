"""The connection pool and the migration runner.

Services own their transactions (`async with pool.acquire() as con, con.transaction()`);
this module only opens the pool and applies migrations/*.sql in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import asyncpg

from confer import resources

log = logging.getLogger(__name__)

# A fixed advisory-lock key so that two processes starting together migrate once.
MIGRATION_LOCK = 7_163_901_244


async def _init_connection(con: asyncpg.Connection) -> None:
    await con.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await con.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _release(con: asyncpg.Connection) -> None:
    """What a connection goes back to the pool with (asyncpg's `reset`).

    Before calling this, asyncpg has already rolled back any open transaction and dropped the
    connection's Python-side listeners. Its default reset then sends one more query on every
    release (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`): a round trip that
    doubled the cost of every `pool.fetch*` (bench/writes.py: ~100 µs of server CPU each, and
    a wake-up of PostgreSQL). Confer leaves no session state on pooled connections: cursors
    live inside transactions, nothing runs SET outside `SET LOCAL`, and code that LISTENs or
    takes a session advisory lock (migrate, the mail sender, the programme clock) undoes it
    itself before releasing. Keep it that way."""


# Failing fast is kinder than hanging while PostgreSQL is away: a request answers 503 with its
# text kept (confer.web) instead of holding the reader for a minute.
CONNECT_TIMEOUT = 5.0  # seconds to open a connection (asyncpg's default is 60)
# Idle connections are closed after this long, so few dead ones linger after an outage. (A dead
# connection is noticed when PostgreSQL closes its socket, and the pool reopens it on acquire.)
IDLE_LIFETIME = 60.0


class Availability:
    """Whether the database answers, for the log: one warning when it goes away (what failed,
    the error's class and message), one line when a new connection opens again, and DEBUG
    lines in between — not a line per request, per retry and per process loop."""

    def __init__(self) -> None:
        self.down_since: float | None = None
        self.failures = 0

    def lost(self, what: str, error: BaseException) -> None:
        from confer.observe import redact  # a DSN's password never reaches the log

        detail = redact(f"{type(error).__name__}: {error}".rstrip(": "))
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.failures = 1
            log.warning(
                "database unavailable (%s: %s); answering 503 until it is back", what, detail
            )
        else:
            self.failures += 1
            log.debug("database still unavailable (%s: %s)", what, detail)

    def connected(self) -> None:
        if self.down_since is not None:
            away = time.monotonic() - self.down_since
            self.down_since = None
            log.warning(
                "database is back after %.1f s (%d failed attempt(s) meanwhile)",
                away,
                self.failures,
            )


class Pool(asyncpg.Pool):
    """asyncpg's pool, carrying the batched lookups made on it (`batched`) and whether the
    database answers (`availability`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batchers: dict[Any, Batcher[Any, Any]] = {}
        self.availability = Availability()


def note_unavailable(pool: object, what: str, error: BaseException) -> None:
    """Record that `what` could not reach the database (see Availability)."""
    availability = getattr(pool, "availability", None)
    if availability is None:
        availability = _fallback
    availability.lost(what, error)


def note_available(pool: object) -> None:
    """Record that the database answered (a query of a background loop succeeded)."""
    availability = getattr(pool, "availability", None)
    if availability is not None:
        availability.connected()


_fallback = Availability()


class _PoolFloorFilter(logging.Filter):
    """asyncpg's pool logs a warning with a full traceback each time it fails to reopen its
    minimum connection (every 1, 2, 4 … s while PostgreSQL is away). Confer's own code notices
    the outage and says so once (Availability): keep asyncpg's retries at DEBUG, one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and record.msg.startswith("Failed to restore"):
            error = record.exc_info[1] if record.exc_info else None
            log.debug("the pool could not reopen a connection: %r", error)
            return False
        return True


_floor_filter = _PoolFloorFilter()


async def create_pool(dsn: str, *, max_size: int = 20) -> asyncpg.Pool:
    asyncpg_pool_log = logging.getLogger("asyncpg.pool")
    if _floor_filter not in asyncpg_pool_log.filters:
        asyncpg_pool_log.addFilter(_floor_filter)
    holder: list[Pool] = []

    async def init(con: asyncpg.Connection) -> None:
        await _init_connection(con)
        if holder:
            holder[0].availability.connected()

    pool = Pool(
        dsn,
        min_size=1,
        max_size=max_size,
        max_queries=50_000,  # asyncpg's default, as create_pool passes it
        init=init,
        reset=_release,
        command_timeout=60,
        timeout=CONNECT_TIMEOUT,
        max_inactive_connection_lifetime=IDLE_LIFETIME,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
    )
    holder.append(pool)
    await pool
    return pool


# The errors that mean "the database cannot be reached just now", as opposed to a bug: the web
# edge answers them with 503 and Retry-After, the socket server with an `unavailable` error.
_UNAVAILABLE = (
    OSError,  # refused, reset, unreachable; also TimeoutError (connect and command timeouts)
    asyncpg.PostgresConnectionError,  # 08xxx, and ConnectionDoesNotExistError: the link broke
    asyncpg.CannotConnectNowError,  # 57P03: starting up, shutting down, in recovery
    asyncpg.AdminShutdownError,  # 57P01: a fast shutdown, or pg_terminate_backend()
    asyncpg.CrashShutdownError,  # 57P02: another backend crashed; PostgreSQL is restarting
    asyncpg.TooManyConnectionsError,  # 53300
    # "cannot switch to state 12; another operation (2) is in progress": what asyncpg raises
    # when pg_terminate_backend() or a restart cuts a connection at the wrong moment.
    asyncpg.InternalClientError,
)


def is_unavailable(error: BaseException) -> bool:
    """True for a lost or refused database connection (or a closed pool)."""
    if isinstance(error, _UNAVAILABLE):
        return True
    # InterfaceError: "connection is closed", "pool is closing", a connection released when its
    # link broke. Its ValueError subclasses (DataError, ClientConfigurationError) are bugs.
    return isinstance(error, asyncpg.InterfaceError) and not isinstance(error, ValueError)


def migration_files() -> list[tuple[str, Path]]:
    """The migrations shipped with Confer, in order; an error if there are none (a broken
    install would otherwise leave the database empty and say it was up to date)."""
    folder = resources.path("migrations")
    files = sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    if not files:
        raise resources.MissingResource(
            f"No migration files in {folder}: this copy of Confer is incomplete. Reinstall it."
        )
    return [(f.stem, f) for f in files]


async def pending_migrations(con: asyncpg.Connection) -> list[str]:
    """The shipped migrations this database has not had yet (all of them on an empty one)."""
    done: set[str] = set()
    exists = "SELECT to_regclass('schema_migrations') IS NOT NULL"
    if await con.fetchval(exists):
        rows = await con.fetch("SELECT version FROM schema_migrations")
        done = {r["version"] for r in rows}
    return [version for version, _ in migration_files() if version not in done]


async def migrate(con: asyncpg.Connection) -> list[str]:
    """Apply pending migrations, each in its own transaction, under an advisory lock."""
    applied_now: list[str] = []
    await con.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await con.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version text PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        done = {r["version"] for r in await con.fetch("SELECT version FROM schema_migrations")}
        for version, path in migration_files():
            if version in done:
                continue
            async with con.transaction():
                await con.execute(path.read_text())
                await con.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            log.info("applied migration %s", version)
            applied_now.append(version)
    finally:
        await con.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now


def split_row(row: asyncpg.Record) -> list[dict]:
    """A row read as several, in one round trip: columns named "|..." (NULL markers) separate
    the parts, so each part keeps its own column names (`id` in more than one)."""
    parts: list[dict] = [{}]
    for key, value in row.items():
        if key.startswith("|"):
            parts.append({})
        else:
            parts[-1][key] = value
    return parts


K = TypeVar("K")
V = TypeVar("V")


class Batcher(Generic[K, V]):
    """Lookups that arrive while earlier ones are on their way to PostgreSQL go together in
    the next query (`run`: the keys in, one result a key out, in order).

    Under light load a lookup goes at once, alone; under load, those waiting for the query
    in flight (or one of `in_flight`) to come back go in one query, up to `max_size`. On this
    2-core machine a round trip's cost is mostly waking PostgreSQL's backend and then this
    process (bench/writes.py: one query in flight gave 406-421 posts/s, two 382-385, none
    287-296). A failed query fails every lookup in it.
    """

    def __init__(
        self,
        run: Callable[[Sequence[K]], Awaitable[Sequence[V]]],
        *,
        in_flight: int = 1,
        max_size: int = 64,
    ) -> None:
        self._run = run
        self._in_flight = in_flight
        self._max_size = max_size
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []
        self._flying: set[asyncio.Task[None]] = set()
        self.largest = 0  # the most lookups one query has carried

    async def __call__(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, future))
        if len(self._flying) < self._in_flight:
            self._start()
        return await future

    def _start(self) -> None:
        batch, self._waiting = self._waiting[: self._max_size], self._waiting[self._max_size :]
        self.largest = max(self.largest, len(batch))
        task = asyncio.get_running_loop().create_task(self._go(batch))
        self._flying.add(task)
        task.add_done_callback(self._landed)

    def _landed(self, task: asyncio.Task[None]) -> None:
        self._flying.discard(task)
        if self._waiting and len(self._flying) < self._in_flight:
            self._start()

    async def _go(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            results = await self._run([key for key, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} lookups")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as e:  # handed to every caller, who raises it; none is left waiting
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def batched(
    pool: asyncpg.Pool, run: Callable[[asyncpg.Pool, Sequence[K]], Awaitable[Sequence[V]]]
) -> Batcher[K, V]:
    """The pool's batcher for `run` (made on first use; the pool must come from create_pool)."""
    assert isinstance(pool, Pool), "batched lookups need a pool from confer.db.create_pool"
    mine = pool.batchers
    if (batcher := mine.get(run)) is None:
        ref = weakref.ref(pool)  # the batcher must not keep its pool alive

        async def run_on_pool(keys: Sequence[K]) -> Sequence[V]:
            alive = ref()
            assert alive is not None
            return await run(alive, keys)

        batcher = mine[run] = Batcher(run_on_pool)
    return batcher
