"""The connection pool and the migration runner.

Services own their transactions (`async with pool.acquire() as con, con.transaction()`);
this module only opens the pool and applies migrations/*.sql in order.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
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


async def create_pool(dsn: str, *, max_size: int = 20) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=max_size,
        init=_init_connection,
        reset=_release,
        command_timeout=60,
        timeout=CONNECT_TIMEOUT,
        max_inactive_connection_lifetime=IDLE_LIFETIME,
    )
    assert pool is not None
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
    files = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    return [(f.stem, f) for f in files]


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
