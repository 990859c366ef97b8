"""The daily digest: one email a conference day to each member who chose it.

A digest holds what was done about the member that day (confer.notifications.notices: their
question answered or dismissed, being muted or unmuted, their post hidden or restored), the new
posts in the threads they follow (since the last digest, or that day), the posts that
mentioned them elsewhere, and the next day's programme. A member removed that day who had
chosen the digest gets one with the notice of their removal alone. It is
written in batches of members, each batch in one transaction with its outbox rows and the
run's progress, and every email carries `dedupe_key = digest:<conference>:<user>:<day>`:
running a day twice, or again after a crash or a restart mid-run, queues each email once.

The clock (`digest_ctx`) runs just after midnight in each conference's timezone, for the
day that has just ended (so the digest covers the whole day, and "the next day" is the one
that is beginning). One process runs it at a time (a PostgreSQL advisory lock); `confer
digest` runs a day by hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date

import asyncpg
from aiohttp import web

from confer import i18n, tasks
from confer.conferences import queries as conferences_q
from confer.db import is_unavailable, note_unavailable
from confer.errors import Invalid, NotFound
from confer.i18n import _
from confer.keys import pool_key, settings_key
from confer.notifications import digest_queries as q
from confer.notifications import emails, notices
from confer.notifications import queries as notification_q
from confer.notifications.service import actor_label
from confer.settings import Settings

log = logging.getLogger(__name__)

DIGEST_LOCK = 7_163_901_246  # the programme clock holds 7_163_901_245
POLL_SECONDS = 60.0
BATCH_SIZE = 200
MAX_THREADS = 15  # threads listed in one digest; the rest are counted
EXCERPTS_PER_THREAD = 3
MAX_MENTIONS = 10

BatchHook = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class DigestResult:
    conference_id: int
    day: date
    emails: int  # queued by this call
    total_emails: int  # queued for this day, by every run
    finished: bool


def dedupe_key(conference_id: int, user_id: int, day: date) -> str:
    return f"digest:{conference_id}:{user_id}:{day.isoformat()}"


@dataclass
class _DayNews:
    """What happened on the day, read once per run and shared by every batch."""

    by_thread: dict[int, list[asyncpg.Record]]  # thread -> (thread, author) groups
    excerpts: dict[int, list[asyncpg.Record]]  # thread -> latest posts, newest first
    programme: list[asyncpg.Record]


def _digest_for(
    member: asyncpg.Record,
    news: _DayNews,
    followed: set[int],
    mentions: list[asyncpg.Record],
    notes: list[asyncpg.Record],
) -> emails.Digest:
    """One member's digest, in the current language (their own)."""
    uid = member["user_id"]
    digest = emails.Digest(uid, member["email"], member["name"], member=member["active"])
    digest.notices = [(notices.text(n), notices.link(n)) for n in notes]
    if not digest.member:
        return digest  # removed: the notice of it, and nothing of the conference
    items = []
    for thread_id in followed:
        groups = [g for g in news.by_thread.get(thread_id, ()) if g["author_id"] != uid]
        if not groups:
            continue  # only their own posts
        first = min(groups, key=lambda g: g["first_seq"])
        latest = [
            (actor_label(x["author_name"], x["author_title"]), emails.excerpt(x["body"], 200))
            for x in news.excerpts.get(thread_id, ())
            if x["author_id"] != uid
        ][:EXCERPTS_PER_THREAD]
        items.append(
            (
                max(g["last_at"] for g in groups),
                emails.ThreadNews(
                    thread_id,
                    first["title"],
                    sum(g["posts"] for g in groups),
                    first["first_post_id"],
                    latest,
                ),
            )
        )
    items.sort(key=lambda item: item[0], reverse=True)  # liveliest first
    digest.threads = [t for _, t in items[:MAX_THREADS]]
    digest.more_threads = max(0, len(items) - MAX_THREADS)
    listed = {t.thread_id for _, t in items}
    digest.mentions = [
        (actor_label(m["actor_name"], m["actor_title"]), m["thread_title"], m["post_id"])
        for m in mentions
        if m["thread_id"] not in listed
    ][:MAX_MENTIONS]
    return digest


async def _read_news(
    pool: asyncpg.Pool, conference_id: int, run: asyncpg.Record, day: date
) -> _DayNews:
    start, end = run["window_start"], run["window_end"]
    by_thread: dict[int, list[asyncpg.Record]] = {}
    for g in await q.list_digest_news(pool, conference_id, start, end):
        by_thread.setdefault(g["thread_id"], []).append(g)
    excerpts: dict[int, list[asyncpg.Record]] = {}
    # A few more than shown: the reader's own posts are left out of their excerpts.
    for x in await q.list_digest_excerpts(pool, conference_id, start, end, EXCERPTS_PER_THREAD + 2):
        excerpts.setdefault(x["thread_id"], []).append(x)
    programme = await q.list_next_day_sessions(pool, conference_id, day)
    return _DayNews(by_thread, excerpts, programme)


async def run_digest(
    pool: asyncpg.Pool,
    settings: Settings,
    conference_id: int,
    day: date,
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: BatchHook | None = None,
) -> DigestResult:
    """Queue one conference day's digests; safe to run again, and to interrupt.

    `on_batch(members_done)` is awaited after each committed batch (tests interrupt there).
    """
    conference = await q.fetch_digest_conference(pool, conference_id)
    if conference is None:
        raise NotFound(_("There is no such conference."))
    info = emails.Conference(
        conference["id"],
        conference["slug"],
        conference["title"],
        conference["timezone"],
        conference["language"],
        conference["bilingual"],
        conference["translations"] or {},
    )
    await q.start_digest_run(pool, conference_id, day)
    news: _DayNews | None = None
    queued = 0
    done = 0
    while True:
        async with pool.acquire() as con, con.transaction():
            run = await q.lock_digest_run(con, conference_id, day)
            assert run is not None
            if run["finished_at"] is not None:
                return DigestResult(conference_id, day, queued, run["emails"], True)
            if news is None:
                news = await _read_news(pool, conference_id, run, day)
            members = await q.list_digest_members(
                con, conference_id, run["done_upto_user_id"], batch_size,
                run["window_start"], run["window_end"],
            )  # fmt: skip
            if not members:
                await q.advance_digest_run(
                    con, conference_id, day, run["done_upto_user_id"], 0, True
                )
                return DigestResult(conference_id, day, queued, run["emails"], True)
            ids = [m["user_id"] for m in members]
            follows: dict[int, set[int]] = {}
            if news.by_thread:
                for f in await q.list_batch_follows(con, ids, list(news.by_thread)):
                    follows.setdefault(f["user_id"], set()).add(f["thread_id"])
            mentions: dict[int, list[asyncpg.Record]] = {}
            for m in await q.list_batch_mentions(
                con, ids, conference_id, run["window_start"], run["window_end"]
            ):
                mentions.setdefault(m["user_id"], []).append(m)
            # What was done about them that day (each chose the digest for these too).
            notes: dict[int, list[asyncpg.Record]] = {}
            for n in await q.list_batch_notices(
                con, ids, conference_id, list(notices.KINDS),
                run["window_start"], run["window_end"],
            ):  # fmt: skip
                notes.setdefault(n["user_id"], []).append(n)
            rows = []
            for member in members:
                if not emails.deliverable(member["email"]):
                    continue
                # Each member's digest in their language: their own choice, else the
                # conference's (a batch mixes Welsh and English readers).
                with i18n.using(member["language"] or info.language or i18n.DEFAULT):
                    digest = _digest_for(
                        member, news, follows.get(member["user_id"], set()),
                        mentions.get(member["user_id"], []), notes.get(member["user_id"], []),
                    )  # fmt: skip
                    if not digest.has_news and not (digest.member and news.programme):
                        continue  # nothing to say: no email
                    email = emails.digest_email(settings, info, day, digest, news.programme)
                rows.append(
                    (
                        dedupe_key(conference_id, member["user_id"], day),
                        member["user_id"],
                        member["email"],
                        member["name"],
                        email.subject[:300],
                        email.text,
                        email.html,
                    )
                )
            added = await notification_q.insert_emails(con, "digest", rows)
            await q.advance_digest_run(con, conference_id, day, ids[-1], added, False)
        queued += added
        done += len(members)
        if on_batch is not None:
            await on_batch(done)


async def run_digest_by_slug(
    pool: asyncpg.Pool, settings: Settings, slug: str, day: date | None = None
) -> DigestResult:
    """`confer digest`: a conference's day (default: yesterday in its timezone), by hand."""
    found = await conferences_q.fetch_conference_by_slug(pool, slug)
    if found is None:
        raise NotFound(f"There is no conference {slug}.")
    conference = await q.fetch_digest_conference(pool, found["id"])
    assert conference is not None
    day = day or conference["yesterday"]
    if not conference["first_day"] <= day <= conference["last_day"]:
        raise Invalid(
            fields={
                "date": f"{day.isoformat()} is not a day of {slug}: it runs from "
                f"{conference['first_day'].isoformat()} to {conference['last_day'].isoformat()}"
            }
        )
    return await run_digest(pool, settings, conference["id"], day)


async def run_due(pool: asyncpg.Pool, settings: Settings) -> list[DigestResult]:
    """Every digest due now (each published conference's yesterday, once)."""
    results = []
    for due in await q.list_due_digests(pool):
        try:
            results.append(await run_digest(pool, settings, due["id"], due["day"]))
        except (asyncio.CancelledError, asyncpg.PostgresConnectionError, OSError):
            raise
        except Exception:  # one conference's failure must not stop the others
            log.exception("digest for conference %s on %s failed", due["id"], due["day"])
    return results


async def _tick(app: web.Application) -> None:
    pool = app[pool_key]
    async with pool.acquire() as con:
        if not await con.fetchval("SELECT pg_try_advisory_lock($1)", DIGEST_LOCK):
            return  # another process runs the digests
        try:
            for r in await run_due(pool, app[settings_key]):
                log.info("digest %s %s: %d email(s) queued", r.conference_id, r.day, r.emails)
        finally:
            await con.execute("SELECT pg_advisory_unlock($1)", DIGEST_LOCK)


async def _clock(app: web.Application) -> None:
    while True:
        # Sleep first: a server that starts and stops within a minute (a test, a restart
        # loop) never sends digests, and a restart does not race the previous process.
        await asyncio.sleep(POLL_SECONDS)
        try:
            await _tick(app)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if is_unavailable(e):
                note_unavailable(app[pool_key], "the digest clock", e)
            else:
                log.exception("digest clock failed; trying again in %s s", POLL_SECONDS)


async def digest_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the digest clock for the app's lifetime."""
    async with tasks.running(_clock(app), name="confer-digest"):
        yield
