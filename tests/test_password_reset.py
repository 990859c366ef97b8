"""Password reset and sign-in by emailed link, end to end: HTTP, the outbox, the background
sender and a real SMTP server."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.conftest import PASSWORD

NEW_PASSWORD = "a quiet walk by the canal"
RESET_LINK = re.compile(r"http://127\.0\.0\.1(/account/reset/[A-Za-z0-9_-]+)")
SIGN_IN_LINK = re.compile(r"http://127\.0\.0\.1(/login/email/[A-Za-z0-9_-]+)")


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url, mail_poll_seconds=0.5)


def text_of(message: Any) -> str:
    return message.get_body(("plain",)).get_content()


def link_in(message: Any, pattern: re.Pattern[str]) -> str:
    m = pattern.search(text_of(message))
    assert m, text_of(message)
    return m.group(1)


async def emails_to(pool, address: str) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE lower(to_address) = lower($1)", address
    )


async def expire_links(pool) -> None:
    """Move every link's life an hour or two into the past (after the password was set)."""
    await pool.execute("UPDATE users SET password_changed_at = now() - interval '3 hours'")
    await pool.execute(
        "UPDATE email_tokens SET created_at = now() - interval '2 hours',"
        " expires_at = now() - interval '1 minute'"
    )


async def ask_for_reset(browser, email: str) -> tuple[Any, str]:
    return await browser.post("/account/reset", {"email": email})


async def reset_link(browser, mailbox, email: str, count: int = 1) -> str:
    r, text = await ask_for_reset(browser, email)
    assert r.status == 200, text[:2000]
    messages = await mailbox.wait_for(email, count=count)
    return link_in(messages[-1], RESET_LINK)


# --- password reset ---------------------------------------------------------------------


async def test_sign_in_page_offers_reset_and_email_link(browser_factory):
    b = await browser_factory()
    _, text = await b.get("/login?next=/c/x")
    assert 'href="/account/reset">Forgotten your password?</a>' in text
    assert 'href="/login/email?next=/c/x">Email me a link to sign in instead</a>' in text


async def test_password_reset_end_to_end(world, browser_factory, mailbox, pool):
    user = await world.user("Pat Example")
    elsewhere = await browser_factory(user["email"])  # signed in on another device
    b = await browser_factory()
    r, text = await b.get("/account/reset")
    assert r.status == 200 and "Reset your password" in text
    r, text = await ask_for_reset(b, user["email"])
    assert r.status == 200
    assert "Check your email" in text and user["email"] in text

    [message] = await mailbox.wait_for(user["email"])
    assert message["Subject"] == "Reset your Confer password"
    assert message["To"] == f"Pat Example <{user['email']}>"
    body = text_of(message)
    assert body.startswith("Hello Pat Example,")
    assert "expires in 1 hour" in body and "works once" in body
    assert "If you did not ask to reset your password" in body
    path = link_in(message, RESET_LINK)
    assert path in message.get_body(("html",)).get_content()

    r, text = await b.get(path)
    assert r.status == 200 and "Choose a new password" in text and user["email"] in text
    r, text = await b.post(path, {"password": "password1"})
    assert r.status == 422 and "most common passwords" in text
    r, text = await b.post(path, {"password": NEW_PASSWORD})
    assert r.status == 303 and r.headers["Location"] == "/account?done=password-changed"
    r, text = await b.get(r.headers["Location"])
    assert r.status == 200 and "Your password has been changed" in text
    assert f'data-user-id="{user["id"]}"' in text

    # The other device was signed out.
    r, text = await elsewhere.get("/account", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith("/login")
    # The old password no longer works; the new one does.
    fresh = await browser_factory()
    r, _ = await fresh.post("/login", {"email": user["email"], "password": PASSWORD})
    assert r.status == 422
    r, _ = await fresh.post("/login", {"email": user["email"], "password": NEW_PASSWORD})
    assert r.status == 303
    # The link worked once.
    r, text = await b.get(path)
    assert r.status == 410 and "This link no longer works" in text
    assert 'href="/account/reset">Send me a new link</a>' in text
    # The owner hears that the password changed.
    messages = await mailbox.wait_for(user["email"], count=2)
    assert messages[1]["Subject"] == "Your Confer password has been changed"


async def test_expired_reset_link_shows_a_clear_page_and_changes_nothing(
    world, browser_factory, mailbox, pool
):
    user = await world.user()
    b = await browser_factory()
    path = await reset_link(b, mailbox, user["email"])
    await expire_links(pool)
    r, text = await b.get(path)
    assert r.status == 410 and "This link no longer works" in text
    r, text = await b.post(path, {"password": NEW_PASSWORD})
    assert r.status == 410 and "Send me a new link" in text
    await b.sign_in(user["email"], PASSWORD)  # the password is unchanged


async def test_reused_reset_link_cannot_set_another_password(world, browser_factory, mailbox):
    user = await world.user()
    b = await browser_factory()
    path = await reset_link(b, mailbox, user["email"])
    r, _ = await b.post(path, {"password": NEW_PASSWORD})
    assert r.status == 303
    other = await browser_factory()
    r, text = await other.post(path, {"password": "someone else's choice"})
    assert r.status == 410 and "This link no longer works" in text
    await other.sign_in(user["email"], NEW_PASSWORD)


async def test_asking_again_replaces_the_older_reset_link(world, browser_factory, mailbox):
    user = await world.user()
    b = await browser_factory()
    first = await reset_link(b, mailbox, user["email"])
    second = await reset_link(b, mailbox, user["email"], count=2)
    assert first != second
    r, _ = await b.get(first)
    assert r.status == 410
    r, _ = await b.get(second)
    assert r.status == 200


async def test_changing_the_password_ends_outstanding_reset_links(world, browser_factory, mailbox):
    user = await world.user()
    b = await browser_factory()
    path = await reset_link(b, mailbox, user["email"])
    await b.sign_in(user["email"])
    r, _ = await b.post(
        "/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert r.status == 303
    r, _ = await b.get(path)
    assert r.status == 410


async def test_unknown_email_gets_the_same_page_and_no_email(world, browser_factory, mailbox, pool):
    user = await world.user()
    b = await browser_factory()
    await b.get("/account/reset")
    _, known = await ask_for_reset(b, user["email"])
    r, unknown = await ask_for_reset(b, "nobody@example.org")
    assert r.status == 200
    assert known.replace(user["email"], "EMAIL") == unknown.replace("nobody@example.org", "EMAIL")
    await mailbox.wait_for(user["email"])
    await asyncio.sleep(0.3)
    assert mailbox.to("nobody@example.org") == []
    assert await emails_to(pool, "nobody@example.org") == 0


async def test_erased_account_gets_no_reset_link(world, browser_factory, pool):
    user = await world.user()
    await pool.execute("UPDATE users SET erased_at = now() WHERE id = $1", user["id"])
    b = await browser_factory()
    r, text = await ask_for_reset(b, user["email"])
    assert r.status == 200 and "Check your email" in text
    assert await emails_to(pool, user["email"]) == 0


async def test_reset_request_needs_a_proper_email_address(browser_factory):
    b = await browser_factory()
    r, text = await ask_for_reset(b, "not an address")
    assert r.status == 422 and "Enter an email address in the correct format" in text
    assert 'value="not an address"' in text


async def test_reset_requests_are_throttled_per_email(world, browser_factory, pool):
    user = await world.user()
    b = await browser_factory()
    for _ in range(3):
        r, _ = await ask_for_reset(b, user["email"].upper())
        assert r.status == 200
    r, text = await ask_for_reset(b, user["email"])
    assert r.status == 429
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    assert "We have already sent 3 emails to this address" in text
    assert "try again in 15 minutes" in text
    assert await emails_to(pool, user["email"]) == 3
    # An address without an account is throttled exactly the same way.
    for _ in range(3):
        r, _ = await ask_for_reset(b, "nobody@example.org")
    r, _ = await ask_for_reset(b, "nobody@example.org")
    assert r.status == 429


async def test_reset_requests_are_throttled_per_network_address(browser_factory):
    b = await browser_factory()
    for i in range(20):
        r, _ = await ask_for_reset(b, f"person{i}@example.org")
        assert r.status == 200
    r, text = await ask_for_reset(b, "one-more@example.org")
    assert r.status == 429 and "from your network" in text
    assert int(r.headers["Retry-After"]) > 0


# --- sign in by emailed link ------------------------------------------------------------


async def sign_in_link(browser, mailbox, email: str, *, next_path: str = "/", count: int = 1):
    r, text = await browser.post("/login/email", {"email": email, "next": next_path})
    assert r.status == 200, text[:2000]
    messages = await mailbox.wait_for(email, count=count)
    return messages[-1]


async def test_email_sign_in_end_to_end(world, browser_factory, mailbox, pool):
    user = await world.user("Sam Officer")
    b = await browser_factory()
    r, text = await b.get("/login/email?next=/account")
    assert r.status == 200 and 'name="next" value="/account"' in text
    r, text = await b.post("/login/email", {"email": user["email"], "next": "/account"})
    assert r.status == 200 and "Check your email" in text and "15 minutes" in text
    [message] = await mailbox.wait_for(user["email"])
    assert message["Subject"] == "Your link to sign in to Confer"
    assert "expires in 15 minutes" in text_of(message)
    path = link_in(message, SIGN_IN_LINK)

    logins = await pool.fetchval("SELECT count(*) FROM logins WHERE user_id = $1", user["id"])
    r, text = await b.get(path)  # what a mail scanner does: it must not sign anyone in
    assert r.status == 200 and "You are signing in as Sam Officer" in text
    assert 'data-user-id="' not in text
    assert (
        await pool.fetchval("SELECT count(*) FROM logins WHERE user_id = $1", user["id"]) == logins
    )
    r, _ = await b.post(path)
    assert r.status == 303 and r.headers["Location"] == "/account"
    r, text = await b.get("/account")
    assert r.status == 200 and f'data-user-id="{user["id"]}"' in text
    # Used once.
    other = await browser_factory()
    r, text = await other.post(path)
    assert r.status == 410 and "This link no longer works" in text
    r, _ = await other.get(path)
    assert r.status == 410


async def test_expired_sign_in_link_does_not_sign_in(world, browser_factory, mailbox, pool):
    user = await world.user()
    b = await browser_factory()
    path = link_in(await sign_in_link(b, mailbox, user["email"]), SIGN_IN_LINK)
    await expire_links(pool)
    r, text = await b.post(path)
    assert r.status == 410 and 'href="/login/email">Send me a new link</a>' in text
    assert await pool.fetchval("SELECT count(*) FROM logins WHERE user_id = $1", user["id"]) == 0


async def test_sign_in_link_goes_only_to_a_same_site_next(world, browser_factory, mailbox):
    user = await world.user()
    b = await browser_factory()
    message = await sign_in_link(b, mailbox, user["email"], next_path="//evil.example/x")
    r, _ = await b.post(link_in(message, SIGN_IN_LINK))
    assert r.status == 303 and r.headers["Location"] == "/"


async def test_email_sign_in_for_unknown_email_same_page_no_email(
    world, browser_factory, mailbox, pool
):
    user = await world.user()
    b = await browser_factory()
    _, known = await b.post("/login/email", {"email": user["email"]})
    r, unknown = await b.post("/login/email", {"email": "nobody@example.org"})
    assert r.status == 200
    assert known.replace(user["email"], "EMAIL") == unknown.replace("nobody@example.org", "EMAIL")
    await mailbox.wait_for(user["email"])
    assert await emails_to(pool, "nobody@example.org") == 0


async def test_email_sign_in_requests_are_throttled(world, browser_factory):
    user = await world.user()
    b = await browser_factory()
    for _ in range(3):
        r, _ = await b.post("/login/email", {"email": user["email"]})
        assert r.status == 200
    r, text = await b.post("/login/email", {"email": user["email"], "next": "/account"})
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0
    assert "We have already sent 3 emails" in text
    assert 'name="next" value="/account"' in text
    # Reset links are counted separately: one kind of link does not block the other.
    r, _ = await ask_for_reset(b, user["email"])
    assert r.status == 200


async def test_a_link_for_one_purpose_does_not_work_for_the_other(world, browser_factory, mailbox):
    user = await world.user()
    b = await browser_factory()
    path = link_in(await sign_in_link(b, mailbox, user["email"]), SIGN_IN_LINK)
    token = path.rsplit("/", 1)[1]
    r, _ = await b.get(f"/account/reset/{token}")
    assert r.status == 410
    r, _ = await b.post(f"/account/reset/{token}", {"password": NEW_PASSWORD})
    assert r.status == 410
