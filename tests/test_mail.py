"""The outbox sender against a real SMTP server (aiosmtpd), and the development outbox page."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from typing import Any

import pytest

from confer.app import create_app
from confer.context import Ctx
from confer.live.hub import Hub
from confer.mail import outbox, render, sender
from confer.mail.transport import SmtpConfig
from tests.conftest import Browser


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(
        smtp_url=mailbox.url,
        mail_backoff_seconds=0.2,
        mail_poll_seconds=0.5,
        mail_from="Councillors Connected <events@example.gov.uk>",
    )


def make_ctx(pool, settings) -> Ctx:
    return Ctx(pool=pool, settings=settings, hub=Hub())


async def queue(pool, to: str = "pat@example.org", **kw: Any) -> int:
    kw.setdefault("kind", "test")
    kw.setdefault("subject", "Hello from the outbox")
    kw.setdefault("text", "A plain body.")
    async with pool.acquire() as con, con.transaction():
        return await outbox.enqueue(con, to=to, **kw)


async def row(pool, outbox_id: int) -> Any:
    return await pool.fetchrow("SELECT * FROM outbox WHERE id = $1", outbox_id)


async def test_sender_delivers_queued_email_with_headers_and_message_id(pool, settings, mailbox):
    oid = await queue(
        pool,
        to="pat@example.org",
        to_name="Pat Example",
        subject="Your link to sign in",
        text="Hello Pat,\n\nSign in: http://127.0.0.1/login/email/abc\n",
        html="<p>Hello Pat</p>",
    )
    assert await sender.deliver_due(make_ctx(pool, settings)) == 1
    [msg] = await mailbox.wait_for("pat@example.org")
    r = await row(pool, oid)
    assert msg["From"] == "Councillors Connected <events@example.gov.uk>"
    assert msg["To"] == "Pat Example <pat@example.org>"
    assert msg["Subject"] == "Your link to sign in"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"]
    assert re.fullmatch(rf"<outbox-{oid}\.[0-9a-f]+@127\.0\.0\.1>", msg["Message-ID"])
    assert msg["Message-ID"] == sender.message_id(r, settings)  # fixed by the row
    assert msg.get_content_type() == "multipart/alternative"
    assert "http://127.0.0.1/login/email/abc" in msg.get_body(("plain",)).get_content()
    assert "<p>Hello Pat</p>" in msg.get_body(("html",)).get_content()
    assert r["sent_at"] is not None and r["failed_at"] is None
    assert r["attempts"] == 1 and r["last_error"] is None
    # Nothing more to do: a second pass sends nothing.
    assert await sender.deliver_due(make_ctx(pool, settings)) == 0
    assert len(mailbox.messages) == 1


async def test_text_only_email_is_not_multipart(pool, settings, mailbox):
    await queue(pool, to="text@example.org", text="Just text, café.")
    await sender.deliver_due(make_ctx(pool, settings))
    [msg] = await mailbox.wait_for("text@example.org")
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().strip() == "Just text, café."


async def test_background_sender_wakes_on_notify_without_waiting_for_the_poll(
    settings, aiohttp_server, pool, mailbox
):
    await aiohttp_server(create_app(settings.with_(mail_poll_seconds=60)), host="127.0.0.1")
    await asyncio.sleep(0.3)  # the sender is listening and idle
    await queue(pool, to="prompt@example.org")
    await mailbox.wait_for("prompt@example.org", within=20)  # the poll is 60 s


async def test_temporary_failure_is_retried_with_backoff_then_delivered_once(
    pool, settings, mailbox
):
    # A backoff of 100 s, and time moved on by making the email due in the database: the
    # verdict does not depend on how quickly this machine runs the steps between.
    ctx = make_ctx(pool, settings.with_(mail_backoff_seconds=100))
    mailbox.refuse = 2
    oid = await queue(pool, to="retry@example.org")

    async def wait() -> float:
        return await pool.fetchval("SELECT extract(epoch FROM send_after - now()) FROM outbox")

    async def make_due() -> None:
        await pool.execute("UPDATE outbox SET send_after = now() WHERE id = $1", oid)

    assert await sender.deliver_due(ctx) == 0
    r = await row(pool, oid)
    assert r["attempts"] == 1 and r["sent_at"] is None and r["failed_at"] is None
    assert r["claimed_at"] is None and "451" in r["last_error"]
    assert 50 < await wait() <= 100
    assert await sender.deliver_due(ctx) == 0  # not due yet: not tried again
    assert (await row(pool, oid))["attempts"] == 1
    await make_due()
    assert await sender.deliver_due(ctx) == 0  # second refusal: the wait doubles
    assert 150 < await wait() <= 200
    await make_due()
    assert await sender.deliver_due(ctx) == 1
    r = await row(pool, oid)
    assert r["attempts"] == 3 and r["sent_at"] is not None and r["last_error"] is None
    assert len(mailbox.to("retry@example.org")) == 1


async def test_background_sender_retries_until_the_server_accepts(server, pool, mailbox):
    mailbox.refuse = 2
    oid = await queue(pool, to="later@example.org")
    await mailbox.wait_for("later@example.org", within=30)
    await asyncio.sleep(0.3)
    assert len(mailbox.to("later@example.org")) == 1
    assert (await row(pool, oid))["attempts"] == 3


async def test_permanent_refusal_is_recorded_and_not_retried(pool, settings, mailbox):
    async def handle_rcpt(server, session, envelope, address, options):
        if address.startswith("nobody@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    mailbox.handle_RCPT = handle_rcpt
    ctx = make_ctx(pool, settings)
    bad = await queue(pool, to="nobody@example.org")
    good = await queue(pool, to="somebody@example.org")
    assert await sender.deliver_due(ctx) == 1  # the refusal does not stop the next email
    r = await row(pool, bad)
    assert r["failed_at"] is not None and r["sent_at"] is None
    assert r["last_error"].startswith("550") and r["attempts"] == 1
    assert (await row(pool, good))["sent_at"] is not None
    await asyncio.sleep(0.3)
    assert await sender.deliver_due(ctx) == 0
    assert (await row(pool, bad))["attempts"] == 1
    assert mailbox.to("nobody@example.org") == []


async def test_email_fails_after_its_last_attempt(pool, settings, mailbox):
    ctx = make_ctx(pool, settings.with_(mail_max_attempts=2, mail_backoff_seconds=0.05))
    mailbox.refuse = 10
    oid = await queue(pool, to="never@example.org")
    await sender.deliver_due(ctx)
    await asyncio.sleep(0.1)
    await sender.deliver_due(ctx)
    r = await row(pool, oid)
    assert r["failed_at"] is not None and r["attempts"] == 2
    assert "gave up after 2 attempts" in r["last_error"]
    await asyncio.sleep(0.2)
    await sender.deliver_due(ctx)
    assert (await row(pool, oid))["attempts"] == 2


async def test_unreachable_server_ends_the_pass_without_using_up_other_emails(pool, settings):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctx = make_ctx(pool, settings.with_(smtp_url=f"smtp://127.0.0.1:{port}"))
    ids = [await queue(pool, to=f"down{i}@example.org") for i in range(3)]
    assert await sender.deliver_due(ctx) == 0
    rows = [await row(pool, i) for i in ids]
    assert rows[0]["attempts"] == 1 and "Could not reach the mail server" in rows[0]["last_error"]
    assert rows[0]["failed_at"] is None and rows[0]["claimed_at"] is None
    assert [r["attempts"] for r in rows[1:]] == [0, 0]


async def test_concurrent_passes_never_send_one_email_twice(pool, settings, mailbox):
    ids = [await queue(pool, to=f"many{i}@example.org", subject=f"Email {i}") for i in range(30)]
    ctx = make_ctx(pool, settings)
    counts = await asyncio.gather(*(sender.deliver_due(ctx) for _ in range(3)))
    assert sum(counts) == 30
    await asyncio.sleep(0.2)
    assert len(mailbox.messages) == 30
    assert len({m["Message-ID"] for m in mailbox.messages}) == 30
    attempts = await pool.fetch("SELECT attempts, sent_at FROM outbox WHERE id = ANY($1)", ids)
    assert all(a["attempts"] == 1 and a["sent_at"] is not None for a in attempts)


async def test_email_abandoned_during_data_is_recorded_failed_not_resent(pool, settings, mailbox):
    """A sender that died after starting DATA: the email may have arrived, so never again."""
    oid = await queue(pool, to="maybe@example.org")
    await pool.execute(
        "UPDATE outbox SET claimed_at = now() - interval '1 hour', attempts = 1,"
        " data_started_at = now() - interval '1 hour' WHERE id = $1",
        oid,
    )
    assert await sender.deliver_due(make_ctx(pool, settings)) == 0
    r = await row(pool, oid)
    assert r["failed_at"] is not None and r["sent_at"] is None
    assert r["last_error"] == sender.AFTER_DATA
    await asyncio.sleep(0.2)
    assert mailbox.messages == []


async def test_email_abandoned_before_data_is_sent_once(pool, settings, mailbox):
    """A claim without the DATA marker provably never reached the server: send it."""
    oid = await queue(pool, to="pending@example.org")
    await pool.execute(
        "UPDATE outbox SET claimed_at = now() - interval '1 hour', attempts = 1 WHERE id = $1",
        oid,
    )
    assert await sender.deliver_due(make_ctx(pool, settings)) == 1
    await mailbox.wait_for("pending@example.org")
    r = await row(pool, oid)
    assert r["sent_at"] is not None and r["attempts"] == 2


async def test_a_fresh_claim_belongs_to_a_live_sender_and_is_left_alone(pool, settings, mailbox):
    oid = await queue(pool, to="busy@example.org")
    await pool.execute(
        "UPDATE outbox SET claimed_at = now(), attempts = 1, data_started_at = now() WHERE id = $1",
        oid,
    )
    assert await sender.deliver_due(make_ctx(pool, settings)) == 0
    r = await row(pool, oid)
    assert r["failed_at"] is None and r["sent_at"] is None and r["claimed_at"] is not None
    assert mailbox.messages == []


async def test_sender_cancelled_mid_data_does_not_send_again(pool, settings, mailbox):
    """Kill the sender while the server holds the message: it arrives once, and the next
    pass records the row as failed instead of sending a second copy."""
    in_data = threading.Event()
    original = mailbox.handle_DATA

    async def slow_data(server, session, envelope):
        status = await original(server, session, envelope)  # stored; the reply is slow
        in_data.set()
        await asyncio.sleep(0.5)
        return status

    mailbox.handle_DATA = slow_data
    oid = await queue(pool, to="crash@example.org")
    task = asyncio.create_task(sender.deliver_due(make_ctx(pool, settings)))
    assert await asyncio.to_thread(in_data.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    r = await row(pool, oid)
    assert r["claimed_at"] is not None and r["data_started_at"] is not None
    assert r["sent_at"] is None
    assert len(mailbox.to("crash@example.org")) == 1  # the server did take it
    # After a restart, once the claim is old enough to be abandoned:
    restarted = make_ctx(pool, settings.with_(mail_claim_stale_seconds=0))
    assert await sender.deliver_due(restarted) == 0
    r = await row(pool, oid)
    assert r["failed_at"] is not None and r["last_error"] == sender.AFTER_DATA
    await asyncio.sleep(0.7)
    assert len(mailbox.to("crash@example.org")) == 1


async def test_email_written_in_a_rolled_back_transaction_is_never_sent(
    server, pool, settings, mailbox
):
    class Abandon(Exception):
        pass

    with pytest.raises(Abandon):
        async with pool.acquire() as con, con.transaction():
            await outbox.enqueue(con, kind="test", to="ghost@example.org", subject="x", text="x")
            raise Abandon()
    await queue(pool, to="real@example.org")
    await mailbox.wait_for("real@example.org", within=30)
    assert await sender.deliver_due(make_ctx(pool, settings)) == 0
    assert mailbox.to("ghost@example.org") == []
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


# --- without SMTP: the log and /dev/outbox ----------------------------------------------


async def test_without_smtp_email_is_kept_not_delivered_and_shown_on_dev_outbox(
    pool, settings, aiohttp_server, caplog
):
    settings = settings.with_(smtp_url=None)
    oid = await queue(
        pool,
        to="dev@example.org",
        to_name="Dev Eloper",
        subject="Reset your password",
        text="Open http://127.0.0.1/account/reset/tok3n to choose one.\n<script>alert(1)</script>",
    )
    with caplog.at_level(logging.DEBUG, logger="confer.mail"):
        assert await sender.deliver_due(make_ctx(pool, settings)) == 1
    logged = [r.getMessage() for r in caplog.records if r.name == "confer.mail"]
    assert any("dev@example.org" in m and "Reset your password" in m for m in logged), logged
    assert any("not delivered" in m for m in logged), logged
    # The log neither claims the email went out nor carries its link (a secret).
    assert not any(" sent" in m for m in logged), logged
    assert not any("tok3n" in m for m in logged), logged
    assert (await row(pool, oid))["sent_at"] is not None
    await queue(pool, to="second@example.org", subject="A later email")

    srv = await aiohttp_server(create_app(settings), host="127.0.0.1")
    b = Browser(srv)
    try:
        r, text = await b.get("/dev/outbox")
    finally:
        await b.close()
    assert r.status == 200
    assert text.index("A later email") < text.index("Reset your password")  # newest first
    assert "Dev Eloper &lt;dev@example.org&gt;" in text
    assert (
        '<a class="govuk-link" href="http://127.0.0.1/account/reset/tok3n">'
        "http://127.0.0.1/account/reset/tok3n</a>" in text
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert" not in text
    assert "Sent" in text


@pytest.mark.parametrize(
    "changes",
    [
        {"smtp_url": None, "base_url": "https://confer.example.gov.uk"},
        {"smtp_url": None, "base_url": "http://10.0.0.5:8080"},
        {},  # SMTP_URL is set (the module's settings): email really goes out
    ],
)
async def test_dev_outbox_is_not_found_unless_local_and_not_sending(
    settings, aiohttp_server, changes
):
    srv = await aiohttp_server(create_app(settings.with_(**changes)), host="127.0.0.1")
    b = Browser(srv)
    try:
        r, _ = await b.get("/dev/outbox")
    finally:
        await b.close()
    assert r.status == 404


# --- pieces -----------------------------------------------------------------------------


def test_smtp_url_forms():
    c = SmtpConfig.from_url("smtp://mail.example.org:25")
    assert (c.hostname, c.port, c.use_tls, c.start_tls, c.username) == (
        "mail.example.org",
        25,
        False,
        None,
        None,
    )
    c = SmtpConfig.from_url("smtp://u%40council:p%3Ass@relay.example.org:587?starttls=required")
    assert (c.username, c.password, c.start_tls, c.port) == ("u@council", "p:ss", True, 587)
    c = SmtpConfig.from_url("smtps://u:p@smtp.example.org?timeout=5")
    assert (c.use_tls, c.start_tls, c.port, c.timeout) == (True, False, None, 5.0)
    assert SmtpConfig.from_url("smtp://localhost?starttls=no").start_tls is False
    for bad in ("http://mail.example.org", "smtp://", "smtp://h?starttls=maybe"):
        with pytest.raises(ValueError):
            SmtpConfig.from_url(bad)


def test_layout_escapes_text_in_html_and_signs_with_the_site_name(settings):
    email = render.compose(
        settings,
        subject="Welcome\nto <the> conference",
        to_name="Pat <b>",
        paragraphs=[
            f"Read <b>this</b> at {settings.base_url}/page.",
            "Not a link: https://example.org/page.",
        ],
        action=render.Action("Open it", "https://example.org/x?a=1&b=2"),
        reason="Because.",
    )
    assert email.subject == "Welcome to <the> conference"
    assert "Hello Pat <b>," in email.text and "Read <b>this</b>" in email.text
    assert "Open it:\nhttps://example.org/x?a=1&b=2" in email.text
    assert "From the Councillors Connected team" in email.text
    assert "Pat &lt;b&gt;" in email.html and "<b>this" not in email.html
    own = f"{settings.base_url}/page"
    assert f'<a href="{own}">{own}</a>.' in email.html
    # Only Confer's own addresses are links (tests/test_rights_paths.py).
    assert 'href="https://example.org/page"' not in email.html
    assert "https:\u2060//example.\u2060org/page" in email.text
    assert 'href="https://example.org/x?a=1&amp;b=2"' in email.html
    assert all(len(line) <= 72 for line in email.text.splitlines())
