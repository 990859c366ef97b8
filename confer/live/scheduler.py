"""The programme clock: when a session or conference opens or closes, tell the open pages.

One process leads (it holds a PostgreSQL advisory lock on a connection of its own), so with
several processes each boundary is announced once. The database clock decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
from aiohttp import web

from confer import tasks, timefmt
from confer.db import is_unavailable, note_available, note_unavailable
from confer.errors import Closed
from confer.keys import hub_key, pool_key
from confer.live.events import Event, conference_updated_event, thread_updated_events
from confer.live.hub import Hub
from confer.posts.queries import PURGE_DELETIONS
from confer.threads.queries import THREAD_COLUMNS, THREAD_FROM
from confer.timebox import check_open

log = logging.getLogger(__name__)

LEADER_LOCK = 7_163_901_245
MAX_SLEEP = 30.0
RETRY_MAX = 5.0  # seconds between attempts to lead again after losing the database
LOOKBACK = 60.0  # seconds a new leader looks back for boundaries nobody announced

THREADS_CROSSING = f"""
SELECT {THREAD_COLUMNS}, c.timezone
{THREAD_FROM}
WHERE c.published_at IS NOT NULL
  AND ((w.opens_at > $1 AND w.opens_at <= now()) OR (w.closes_at > $1 AND w.closes_at <= now()))
"""

SESSIONS_CROSSING = """
SELECT s.id, s.conference_id,
       CASE WHEN now() < s.starts_at THEN 'upcoming' WHEN now() < s.ends_at THEN 'open'
            ELSE 'closed' END AS state
FROM sessions s
JOIN conferences c ON c.id = s.conference_id
WHERE c.published_at IS NOT NULL
  AND ((s.starts_at > $1 AND s.starts_at <= now()) OR (s.ends_at > $1 AND s.ends_at <= now()))
"""

CONFERENCES_CROSSING = """
SELECT c.id, CASE WHEN now() < c.starts_at THEN 'upcoming' WHEN now() < c.ends_at THEN 'live'
                  ELSE 'closed' END AS state
FROM conferences c
WHERE c.published_at IS NOT NULL
  AND ((c.starts_at > $1 AND c.starts_at <= now()) OR (c.ends_at > $1 AND c.ends_at <= now()))
"""

NEXT_BOUNDARY = """
SELECT extract(epoch FROM min(t) - now())
FROM (
    SELECT starts_at AS t FROM sessions WHERE starts_at > now()
    UNION ALL SELECT ends_at FROM sessions WHERE ends_at > now()
    UNION ALL SELECT starts_at FROM conferences WHERE starts_at > now()
    UNION ALL SELECT ends_at FROM conferences WHERE ends_at > now()
) boundaries
"""


def _thread_message(thread: asyncpg.Record) -> str:
    if thread["posting_state"] == "open":
        return "This thread is open for posts."
    try:
        check_open(thread, thread["timezone"])
    except Closed as e:
        return e.message
    return ""


async def announce_crossings(
    con: asyncpg.Connection, since: datetime
) -> tuple[list[Event], datetime]:
    """Events for every boundary crossed in (since, now]; returns them and the new `since`."""
    now = await con.fetchval("SELECT now()")
    events: list[Event] = []
    for t in await con.fetch(THREADS_CROSSING, since):
        clock = {
            "posting_state": t["posting_state"],
            "opens_at": timefmt.iso(t["opens_at"]),
            "closes_at": timefmt.iso(t["closes_at"]),
            "message": _thread_message(t),
        }
        events += thread_updated_events(t["id"], clock)
    for s in await con.fetch(SESSIONS_CROSSING, since):
        events.append(
            conference_updated_event(
                s["conference_id"], session_id=s["id"], session_state=s["state"]
            )
        )
    for c in await con.fetch(CONFERENCES_CROSSING, since):
        events.append(conference_updated_event(c["id"], state=c["state"]))
    return events, now


class ListenConnectionLost(Exception):
    """The LISTEN connection went away (PostgreSQL restarted, or the backend was terminated)."""


async def _lead(app: web.Application, con: asyncpg.Connection, clock: dict[str, datetime]) -> None:
    hub = app[hub_key]
    # A trigger (migrations/0002) notifies when any start or end time changes.
    changed = asyncio.Event()
    lost = asyncio.Event()

    def wake(*_: object) -> None:
        changed.set()

    def gone(*_: object) -> None:
        # Without this, a dead connection would only be noticed at the next boundary (≤ 30 s).
        lost.set()
        changed.set()

    con.add_termination_listener(gone)
    await con.add_listener("confer_programme", wake)
    try:
        await _tick(hub, con, changed, lost, clock)
    finally:
        # A connection must go back to the pool without listeners (see db._release). Failing
        # that (it is dead, or its proxy was detached), close it; never let cleanup raise over
        # the cancellation that may be under way.
        try:
            await asyncio.wait_for(con.remove_listener("confer_programme", wake), 5)
            con.remove_termination_listener(gone)
        except Exception:
            with contextlib.suppress(Exception):
                con.terminate()


async def _tick(
    hub: Hub,
    con: asyncpg.Connection,
    changed: asyncio.Event,
    lost: asyncio.Event,
    clock: dict[str, datetime],
) -> None:
    # After an outage, carry on from the last boundary this process announced, so a session
    # that closed while PostgreSQL was away is still announced. A new leader looks back a
    # little, to cover a leader that died (repeating an announcement is harmless).
    since = await con.fetchval(
        """
        SELECT CASE WHEN $1::timestamptz IS NULL THEN now() - make_interval(secs => $2)
                    ELSE greatest($1, now() - interval '1 hour') END
        """,
        clock.get("since"),
        LOOKBACK,
    )
    while True:
        changed.clear()
        if lost.is_set():
            raise ListenConnectionLost("its LISTEN connection was closed")
        events, since = await announce_crossings(con, since)
        clock["since"] = since
        if events:
            await hub.publish(events)
        # Deleted posts whose undo window has passed: their kept text goes (issue #23).
        await con.execute(PURGE_DELETIONS)
        wait = await con.fetchval(NEXT_BOUNDARY)
        # Wake just after the next boundary (so that now() has passed it), or when one moves.
        timeout = min(MAX_SLEEP, float(wait) + 0.01) if wait is not None else MAX_SLEEP
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            pass


async def _release_leadership(con: asyncpg.Connection) -> None:
    """Unlock, or close the connection: a pooled connection must not keep the lock."""
    try:
        await asyncio.wait_for(con.execute("SELECT pg_advisory_unlock($1)", LEADER_LOCK), 5)
    except Exception:
        with contextlib.suppress(Exception):
            con.terminate()  # the server drops a dead session's locks itself


async def _run(app: web.Application) -> None:
    pool = app[pool_key]
    clock: dict[str, datetime] = {}
    failures = 0
    while True:
        try:
            async with pool.acquire() as con:
                leader = await con.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK)
                note_available(pool)
                if leader:
                    failures = 0
                    try:
                        await _lead(app, con, clock)
                    finally:
                        await _release_leadership(con)
            failures = 0
            await asyncio.sleep(MAX_SLEEP)  # another process leads; check again later
        except asyncio.CancelledError:
            raise
        except Exception as e:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError() from e  # an error while stopping: still stop
            # Back off 0.5, 1, 2, 4, 5, 5 ... s: back within seconds of PostgreSQL's return.
            delay = min(RETRY_MAX, 0.5 * 2**failures)
            failures += 1
            if isinstance(e, ListenConnectionLost) or is_unavailable(e):
                note_unavailable(pool, "the programme clock", e)
            else:
                log.exception("programme clock failed; restarting in %.1f s", delay)
            await asyncio.sleep(delay)


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    async with tasks.running(_run(app), name="confer-scheduler"):
        yield
