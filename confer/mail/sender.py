"""The outbox sender: delivers queued email in the background, at most once.

It never writes email (only `outbox.enqueue` does, inside the causing transaction) and never
sends a row it has not claimed.

**At most once.** Each row goes through three committed steps: claimed (`claimed_at`, with
`FOR UPDATE SKIP LOCKED`, so several processes can run senders side by side), DATA started
(`data_started_at`, written just before the message is handed to the mail server), and sent
(`sent_at`). If a sender dies between the last two, Confer cannot know whether the server
took the message, and sending it again could put a second copy of a sign-in link or an
invitation in someone's inbox. A duplicate confuses people, and there is no way to take it
back; a lost email can be asked for again (every emailed link has a "send me another" page).
So a claim found abandoned (older than `mail_claim_stale_seconds`) after DATA started is
recorded as failed, with a `last_error` that says so, and is never resent. An abandoned claim
*without* `data_started_at` provably never reached the server, so it is released and sent
again. Every claim is named by its `claimed_at` in later updates, so a slow sender whose
claim was recovered cannot overwrite what another sender did.

Temporary failures (4xx answers, connection problems) are retried with exponential backoff
(`send_after`, `attempts`, `last_error`); a 5xx answer about the message, or
`mail_max_attempts` tries, mark the row failed (`failed_at`). Every message carries a
`Message-ID` fixed by its row (`<outbox-ID.STAMP@host>`), so receivers can spot a copy.

The sender wakes on `NOTIFY confer_outbox` (a trigger on insert, migrations/0011, delivered
only when the inserting transaction commits), at the next retry time, and every
`mail_poll_seconds` as a fallback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import urlsplit

import asyncpg
from aiohttp import web

from confer import tasks
from confer.context import Ctx
from confer.db import is_unavailable, note_available, note_unavailable
from confer.keys import ctx_key
from confer.mail import queries as q
from confer.mail.transport import (
    ClaimLost,
    DeliveryError,
    LogTransport,
    SmtpConfig,
    Transport,
    transport_for,
)
from confer.metrics import Metrics
from confer.settings import Settings

log = logging.getLogger("confer.mail")

CHANNEL = "confer_outbox"
KEEPALIVE_SECONDS = 30.0
STOP_GRACE_SECONDS = 10.0
SERVER_TROUBLE_MAX_WAIT = 300.0

AFTER_DATA = (
    "The sender stopped while handing this email to the mail server, so it may or may not "
    "have been delivered. It was not sent again, so that nobody receives it twice."
)
BEFORE_DATA = "The sender stopped before this email reached the mail server; it will be sent again."
OUT_OF_ATTEMPTS = (
    "The sender stopped before this email reached the mail server, and it has used all "
    "its attempts."
)


# --- the message ------------------------------------------------------------------------


def _host(settings: Settings) -> str:
    host = urlsplit(settings.base_url).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{host}]"  # an address literal, as in EHLO and Message-ID


def message_id(row: asyncpg.Record, settings: Settings) -> str:
    """Fixed by the row: the same email always carries the same Message-ID."""
    stamp = int(row["created_at"].timestamp() * 1_000_000)
    host = urlsplit(settings.base_url).hostname or "localhost"
    if ":" in host:  # IPv6: a domain literal
        host = f"[{host}]"
    return f"<outbox-{row['id']}.{stamp:x}@{host}>"


def build_message(row: asyncpg.Record, settings: Settings) -> EmailMessage:
    """The email for an outbox row: text, or text and HTML as multipart/alternative; with
    attachments (a conference's .ics), that inside multipart/mixed."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    name = " ".join(row["to_name"].split())
    msg["To"] = Address(display_name=name, addr_spec=row["to_address"])
    msg["Subject"] = " ".join(row["subject"].split())
    msg["Date"] = format_datetime(row["created_at"])
    msg["Message-ID"] = message_id(row, settings)
    # RFC 3834: no out-of-office replies to automatic email.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row["body_text"])
    if row["body_html"]:
        msg.add_alternative(row["body_html"], subtype="html")
    for file in _attachments(row):
        _attach(msg, file)
    return msg


def _attachments(row: asyncpg.Record) -> list[dict]:
    try:
        return list(row["attachments"] or ())
    except KeyError:  # a row read without the column
        return []


def _attach(msg: EmailMessage, file: dict) -> None:
    """One attachment: {"filename", "content_type", "text" | "base64"} (outbox.Attachment)."""
    content_type = file["content_type"]
    maintype, _, rest = content_type.partition("/")
    subtype, *params = (p.strip() for p in rest.split(";"))
    extra = dict(p.split("=", 1) for p in params if "=" in p)
    if "text" in file and maintype == "text":
        msg.add_attachment(file["text"], subtype=subtype, filename=file["filename"], params=extra)
    else:
        data = file["text"].encode() if "text" in file else base64.b64decode(file["base64"])
        msg.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=file["filename"], params=extra
        )


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """Seconds before the next try after `attempts` tries: base, 2 × base, 4 × base, ..."""
    delay = settings.mail_backoff_seconds * 2 ** max(0, attempts - 1)
    return min(settings.mail_backoff_max_seconds, delay)


# --- one pass ---------------------------------------------------------------------------


async def _recover(con: asyncpg.Connection, settings: Settings) -> None:
    rows = await q.recover_stale_claims(
        con,
        settings.mail_claim_stale_seconds,
        settings.mail_max_attempts,
        after_data=AFTER_DATA,
        before_data=BEFORE_DATA,
        out_of_attempts=OUT_OF_ATTEMPTS,
    )
    for r in rows:
        if r["reached_data"]:
            log.warning("outbox %s: abandoned during DATA; recorded as failed, not resent", r["id"])
        elif r["failed"]:
            log.warning("outbox %s: abandoned before DATA, out of attempts; failed", r["id"])
        else:
            log.warning("outbox %s: abandoned before DATA; will be sent again", r["id"])


SENT, NOT_SENT, SERVER_TROUBLE = "sent", "not sent", "server trouble"


async def _deliver_one(
    con: asyncpg.Connection,
    transport: Transport,
    row: asyncpg.Record,
    settings: Settings,
    metrics: Metrics | None = None,
) -> str:
    """Send one claimed row and record the outcome: SENT, NOT_SENT or SERVER_TROUBLE."""
    outbox_id, claim, attempts = row["id"], row["claimed_at"], row["attempts"]
    try:
        message = build_message(row, settings)
    except (ValueError, TypeError, IndexError) as e:  # the header registry refused a value
        await q.mark_failed(con, outbox_id, claim, f"The email could not be written: {e}")
        log.error("outbox %s: could not be written: %s", outbox_id, e)
        if metrics is not None:
            metrics.outbox_failures.labels("failed").inc()
        return NOT_SENT

    async def before_data() -> bool:
        return await q.mark_data_started(con, outbox_id, claim)

    envelope_from = parseaddr(settings.mail_from)[1] or "confer@localhost"
    try:
        await transport.send(envelope_from, row["to_address"], message, before_data)
    except ClaimLost:
        log.warning("outbox %s: another sender took over the claim; not sent here", outbox_id)
        return NOT_SENT
    except DeliveryError as e:
        max_attempts = settings.mail_max_attempts
        given_up = e.maybe_delivered or e.permanent or attempts >= max_attempts
        if metrics is not None:
            metrics.outbox_failures.labels("failed" if given_up else "retry").inc()
        if e.maybe_delivered or e.permanent:
            await q.mark_failed(con, outbox_id, claim, e.message)
            log.error("outbox %s to %s failed: %s", outbox_id, row["to_address"], e.message)
        elif attempts >= max_attempts:
            error = f"{e.message} (gave up after {attempts} attempts)"
            await q.mark_failed(con, outbox_id, claim, error)
            log.error("outbox %s to %s failed: %s", outbox_id, row["to_address"], error)
        else:
            delay = backoff_seconds(settings, attempts)
            error = f"{e.message} (attempt {attempts} of {max_attempts})"
            await q.mark_retry(con, outbox_id, claim, delay, error)
            log.warning("outbox %s: %s; trying again in %.1f s", outbox_id, error, delay)
        return SERVER_TROUBLE if e.server_trouble else NOT_SENT
    await q.mark_sent(con, outbox_id, claim)
    if isinstance(transport, LogTransport):
        # Marked done so the sender moves on; nothing left the machine (see LogTransport).
        log.debug("outbox %s (%s) to %s: not delivered", outbox_id, row["kind"], row["to_address"])
    else:
        log.info("outbox %s (%s) sent to %s", outbox_id, row["kind"], row["to_address"])
    return SENT


async def _pass(ctx: Ctx, stop: asyncio.Event | None) -> tuple[int, bool]:
    """(emails sent, whether the pass stopped because the mail server is in trouble)."""
    settings = ctx.settings
    transport = transport_for(settings.smtp_url, local_hostname=_host(settings))
    sent = 0
    trouble = False
    try:
        async with ctx.pool.acquire() as con:
            await _recover(con, settings)
            while stop is None or not stop.is_set():
                row = await q.claim_next(con)
                if row is None:
                    break
                outcome = await _deliver_one(con, transport, row, settings, ctx.metrics)
                if outcome == SENT:
                    sent += 1
                elif outcome == SERVER_TROUBLE:
                    # The next email would fail the same way: leave it its attempts.
                    trouble = True
                    break
    except BaseException:
        transport.abort()  # cancelled or failed: no QUIT conversation on the way out
        raise
    await transport.close()
    return sent, trouble


async def deliver_due(ctx: Ctx, *, stop: asyncio.Event | None = None) -> int:
    """One pass: recover abandoned claims, then send every due email; return how many went.

    Safe to run in several tasks or processes at once: each row is claimed by one of them.
    The pass ends early if the mail server cannot be reached; `stop`, when set, ends it
    after the email in hand.
    """
    sent, _ = await _pass(ctx, stop)
    return sent


# --- the background task ----------------------------------------------------------------


async def _listen(pool: asyncpg.Pool, wake: asyncio.Event) -> None:
    """LISTEN on a connection of its own; reconnect if it is lost."""

    def on_notify(*_: object) -> None:
        wake.set()

    while True:
        try:
            async with pool.acquire() as con:
                await con.add_listener(CHANNEL, on_notify)
                try:
                    wake.set()  # catch up on anything queued while nobody listened
                    while True:
                        await asyncio.sleep(KEEPALIVE_SECONDS)
                        await con.execute("SELECT 1")  # notice a dead connection
                finally:
                    # On a dead connection this raises; it must not replace a cancellation.
                    with contextlib.suppress(Exception):
                        await con.remove_listener(CHANNEL, on_notify)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from e  # releasing a dead connection raised
            if is_unavailable(e):
                note_unavailable(pool, "the mail sender's LISTEN connection", e)
            else:
                log.warning("mail sender lost its LISTEN connection (%s); reconnecting", e)
            await asyncio.sleep(5)


async def _run(ctx: Ctx, stop: asyncio.Event) -> None:
    wake = asyncio.Event()
    poll = ctx.settings.mail_poll_seconds
    trouble_wait = poll
    async with tasks.running(_listen(ctx.pool, wake), name="confer-mail-listen"):
        while not stop.is_set():
            wake.clear()
            wait, trouble = poll, False
            try:
                _, trouble = await _pass(ctx, stop)
                note_available(ctx.pool)
                if trouble:
                    # Do not hammer a mail server that is down: wait longer each time, and
                    # let newly queued email wait too.
                    wait = trouble_wait
                    trouble_wait = min(SERVER_TROUBLE_MAX_WAIT, trouble_wait * 2)
                else:
                    trouble_wait = poll
                    async with ctx.pool.acquire() as con:
                        due_in = await q.seconds_until_next_due(con)
                    if due_in is not None:
                        wait = min(poll, max(0.0, due_in) + 0.01)
            except Exception as e:
                if is_unavailable(e):
                    note_unavailable(ctx.pool, "the mail sender", e)
                else:
                    log.exception("mail sender failed; trying again shortly")
            if stop.is_set():
                break
            waits = [asyncio.ensure_future(stop.wait())]
            if not trouble:
                waits.append(asyncio.ensure_future(wake.wait()))
            try:
                await asyncio.wait(waits, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()


async def sender_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the sender for the app's lifetime; on shutdown let the email in hand finish."""
    settings = app[ctx_key].settings
    if settings.smtp_url:
        SmtpConfig.from_url(settings.smtp_url)  # a malformed SMTP_URL stops start-up here
    elif urlsplit(settings.base_url).hostname in ("127.0.0.1", "localhost", "::1"):
        log.info(
            "SMTP_URL is unset: email is not delivered; it is kept in the outbox table and "
            "shown at /dev/outbox on this machine"
        )
    else:
        log.warning(
            "SMTP_URL is unset: email is not delivered, only kept in the outbox table "
            "(set SMTP_URL to send it)"
        )
    stop = asyncio.Event()
    sender = _run(app[ctx_key], stop)
    async with tasks.running(
        sender, name="confer-mail-sender", stop=stop, grace=STOP_GRACE_SECONDS
    ):
        yield
