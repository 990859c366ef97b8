"""Accounts: registration, sign-in and out, profile, password change, API tokens."""

from __future__ import annotations

import pytest

from confer.accounts import passwords
from confer.accounts import service as accounts
from confer.errors import Invalid
from tests.conftest import PASSWORD


async def test_register_signs_the_person_in_and_shows_their_name(browser_factory):
    b = await browser_factory()
    r, _ = await b.post(
        "/register",
        {
            "email": "jane@council.gov.uk",
            "name": "Jane Smith",
            "title": "Cllr",
            "organisation": "Liverpool City Council",
            "password": PASSWORD,
        },
    )
    assert r.status == 303
    r, text = await b.get("/account")
    assert r.status == 200
    assert "Signed in as Jane Smith" in text
    assert "Liverpool City Council" in text


async def test_register_refuses_bad_fields_naming_each_and_keeps_the_text(browser_factory):
    b = await browser_factory()
    r, text = await b.post(
        "/register",
        {"email": "not-an-email", "name": "", "organisation": "Kent CC", "password": "short"},
    )
    assert r.status == 422
    assert "There is a problem" in text
    assert 'href="#email"' in text and 'href="#name"' in text and 'href="#password"' in text
    assert 'value="Kent CC"' in text  # what was typed is kept
    assert 'value="short"' not in text  # but never the password


async def test_duplicate_email_is_refused_case_insensitively(world, browser_factory):
    await world.user(email="dup@example.org")
    b = await browser_factory()
    r, text = await b.post(
        "/register", {"email": "DUP@example.org", "name": "X", "password": PASSWORD}
    )
    assert r.status == 422
    assert "already exists" in text


@pytest.mark.parametrize("password", ["password", "qwerty123", "12345678", "iloveyou"])
def test_common_and_short_passwords_are_refused(password):
    assert passwords.problem(password) is not None


def test_long_passwords_are_allowed():
    assert passwords.problem("x7" * 32) is None  # 64 characters
    assert passwords.problem("a sentence about council bins") is None


async def test_sign_in_with_wrong_password_is_refused_without_saying_which_part(
    world, browser_factory
):
    u = await world.user()
    b = await browser_factory()
    r, text = await b.post("/login", {"email": u["email"], "password": "wrong password here"})
    assert r.status == 422
    assert "The email address or password is not right" in text
    r, text = await b.get("/account", allow_redirects=False)
    assert r.status == 303  # still anonymous: sent to sign in


async def test_sign_in_then_sign_out(world, browser_factory):
    u = await world.user(name="Sam Taylor")
    b = await browser_factory(u["email"])
    _, text = await b.get("/")
    assert "Signed in as Sam Taylor" in text
    r, _ = await b.post("/logout")
    assert r.status == 303
    _, text = await b.get("/")
    assert "Signed in as" not in text


async def test_sign_in_token_is_stored_only_as_a_hash(world, browser_factory, pool):
    u = await world.user()
    b = await browser_factory(u["email"])
    cookie = next(c for c in b.session.cookie_jar if c.key == "confer_session")
    stored = await pool.fetchval("SELECT token_hash FROM logins WHERE user_id = $1", u["id"])
    assert stored == accounts.hash_token(cookie.value)
    assert cookie.value.encode() not in stored


async def test_profile_edit_is_saved(world, browser_factory, pool):
    u = await world.user()
    b = await browser_factory(u["email"])
    r, _ = await b.post(
        "/account/profile",
        {"name": "Pat Jones", "title": "Dr", "organisation": "Leeds City Council", "bio": "Hello"},
    )
    assert r.status == 303
    row = await pool.fetchrow(
        "SELECT name, title, organisation, bio FROM users WHERE id = $1", u["id"]
    )
    assert tuple(row) == ("Pat Jones", "Dr", "Leeds City Council", "Hello")


async def test_password_change_needs_the_current_password_and_ends_other_sessions(
    world, browser_factory
):
    u = await world.user()
    here = await browser_factory(u["email"])
    elsewhere = await browser_factory(u["email"])
    r, text = await here.post(
        "/account/password",
        {"current_password": "not it at all", "new_password": "a new long password"},
    )
    assert r.status == 422 and "current password is not right" in text
    r, _ = await here.post(
        "/account/password", {"current_password": PASSWORD, "new_password": "a new long password"}
    )
    assert r.status == 303
    _, text = await here.get("/account")
    assert "Your account" in text  # this browser stays signed in with a new token
    r, _ = await elsewhere.get("/account", allow_redirects=False)
    assert r.status == 303  # the other browser was signed out
    fresh = await browser_factory()
    r, _ = await fresh.post("/login", {"email": u["email"], "password": "a new long password"})
    assert r.status == 303


async def test_api_tokens_are_created_shown_once_used_and_revoked(world, browser_factory, pool):
    u = await world.user(name="Script Owner")
    b = await browser_factory(u["email"])
    r, text = await b.post("/account/tokens", {"token_name": "transcripts"})
    assert r.status == 200
    token = text.split('<code id="new-token">')[1].split("</code>")[0]
    assert token.startswith("cnf_")
    anon = await browser_factory()
    status, body = await anon.api("GET", "/api/v1/me", token=token)
    assert status == 200 and body["name"] == "Script Owner"
    token_id = await pool.fetchval("SELECT id FROM api_tokens WHERE user_id = $1", u["id"])
    _, text = await b.get("/account")
    assert token not in text  # shown once only
    r, _ = await b.post(f"/account/tokens/{token_id}/revoke")
    assert r.status == 303
    status, body = await anon.api("GET", "/api/v1/me", token=token)
    assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_register_service_rejects_missing_fields_with_field_names(pool):
    with pytest.raises(Invalid) as e:
        await accounts.register(pool, {"email": "", "name": "", "password": ""})
    assert set(e.value.fields) == {"email", "name", "password"}
