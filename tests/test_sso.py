"""Sign-in with an OpenID Connect provider (issue #26), over HTTP without JavaScript, against
a real provider (npm oidc-provider under Node: tests/oidc.py). Every failure is a 4xx page
(503 for a provider that is down) naming what went wrong, leaves nothing half-made, and logs
one line for the operator without the code, state or any token in it."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import PASSWORD
from tests.oidc import (
    provider,
    sign_in_with,
    start,
    walk_to_callback,
    with_providers,
)
from tests.procs import free_port


@pytest.fixture
def settings(settings, op):
    closed = free_port()  # nothing listens there: a provider that is down
    return with_providers(
        settings,
        provider(op, "council", name="Council 365"),
        provider(op, "strict", domains=("somecouncil.gov.uk",)),
        provider(op, "tenanted", tenants=("tenant-one",)),
        provider(op, "down", issuer=f"http://127.0.0.1:{closed}"),
        *(provider(op, f"rogue-{m}", client_id=f"rogue-{m}") for m in
          ("issuer", "audience", "signature", "expired", "nonce")),
    )  # fmt: skip


@pytest.fixture
async def server(settings, aiohttp_server):
    """Confer at a known port: its BASE_URL is the redirect URI's base."""
    from confer.app import create_app

    port = free_port()
    s = settings.with_(base_url=f"http://127.0.0.1:{port}")
    return await aiohttp_server(create_app(s), host="127.0.0.1", port=port)


async def counts(pool) -> tuple[int, int, int]:
    return (
        await pool.fetchval("SELECT count(*) FROM users"),
        await pool.fetchval("SELECT count(*) FROM sso_identities"),
        await pool.fetchval("SELECT count(*) FROM logins"),
    )


def signed_in(b: Any) -> bool:
    return any(c.key == "confer_session" for c in b.session.cookie_jar)


# --- accounts ----------------------------------------------------------------------------


async def test_first_sign_in_creates_the_account_from_the_verified_email(browser_factory, pool):
    b = await browser_factory()
    status, location, text = await sign_in_with(b, "council", "alice")
    assert status == 303, text[:1500]
    assert location == "/account?done=sso-created"
    user = await pool.fetchrow("SELECT * FROM users WHERE email = 'alice@somecouncil.gov.uk'")
    assert user["name"] == "Alice Jones" and user["password_hash"] is None
    ident = await pool.fetchrow("SELECT * FROM sso_identities")
    assert (ident["user_id"], ident["subject"], ident["provider"]) == (
        user["id"],
        "alice",
        "council",
    )
    assert ident["tenant"] == "tenant-one"
    r, page = await b.get(location)
    assert r.status == 200 and "Your account has been created" in page
    assert "Council 365" in page and "alice@somecouncil.gov.uk" in page
    # No password to confirm with: deleting the account asks for the email address instead.
    assert 'name="confirm_email"' in page


async def test_signing_in_again_uses_the_same_account(browser_factory, pool):
    first = await browser_factory()
    await sign_in_with(first, "council", "alice")
    again = await browser_factory()
    status, location, _ = await sign_in_with(again, "council", "alice", next_path="/my-programme")
    assert (status, location) == (303, "/my-programme")
    assert signed_in(again)
    assert await counts(pool) == (1, 1, 2)
    r, page = await again.get("/account")
    assert "alice@somecouncil.gov.uk" in page


async def test_an_existing_account_is_linked_only_after_it_signs_in(world, browser_factory, pool):
    owner = await world.user("Alice Original", email="alice@somecouncil.gov.uk")
    b = await browser_factory()
    status, location, _ = await sign_in_with(b, "council", "alice")
    # Controlling the provider is not enough: nobody is signed in, nothing is linked.
    assert (status, location) == (303, "/account/sso/link")
    assert not signed_in(b)
    assert await counts(pool) == (1, 0, 0)
    r, page = await b.get("/account/sso/link")
    assert r.status == 200 and "An account with the address alice@somecouncil.gov.uk" in page
    r, _ = await b.post("/account/sso/link", {})
    assert r.status == 303 and r.headers["Location"].startswith("/login")
    assert await counts(pool) == (1, 0, 0)
    # The account proves itself with its password, in this browser, then confirms.
    r, page = await b.post(
        "/login",
        {"email": owner["email"], "password": PASSWORD, "next": "/account/sso/link"},
    )
    assert r.status == 303 and r.headers["Location"] == "/account/sso/link"
    r, page = await b.get("/account/sso/link")
    assert "Link and continue" in page
    r, _ = await b.post("/account/sso/link", {})
    assert r.status == 303 and r.headers["Location"] == "/account?done=sso-linked"
    assert await pool.fetchval("SELECT user_id FROM sso_identities") == owner["id"]
    # From now on the provider signs in to that account.
    other = await browser_factory()
    status, location, _ = await sign_in_with(other, "council", "alice")
    assert (status, location) == (303, "/")
    r, page = await other.get("/account")
    assert "Alice Original" in page


async def test_a_waiting_link_can_be_proved_by_an_emailed_sign_in_link(
    world, browser_factory, pool
):
    owner = await world.user("Alice Original", email="alice@somecouncil.gov.uk")
    b = await browser_factory()
    await sign_in_with(b, "council", "alice")
    r, page = await b.post("/login/email", {"email": owner["email"], "next": "/account/sso/link"})
    assert r.status == 200
    body = await pool.fetchval(
        "SELECT body_text FROM outbox WHERE kind = 'sign_in' AND to_address = $1", owner["email"]
    )
    token = re.search(r"/login/email/([A-Za-z0-9_-]+)", body).group(1)
    r, _ = await b.post(f"/login/email/{token}", {})
    assert r.status == 303 and r.headers["Location"] == "/account/sso/link"
    r, _ = await b.post("/account/sso/link", {})
    assert r.status == 303
    assert await pool.fetchval("SELECT user_id FROM sso_identities") == owner["id"]


async def test_a_waiting_link_is_refused_to_another_account(world, browser_factory, pool):
    await world.user("Alice Original", email="alice@somecouncil.gov.uk")
    stranger = await world.user("Sid Stranger")
    b = await browser_factory()
    await sign_in_with(b, "council", "alice")
    await b.sign_in(stranger["email"])
    r, page = await b.post("/account/sso/link", {})
    assert r.status == 403 and "only be linked to the account with its email address" in page
    assert await counts(pool) == (2, 0, 1)


async def test_a_member_links_and_removes_a_sign_in_on_their_account_page(
    world, browser_factory, pool
):
    me = await world.user("Pat Password")
    b = await browser_factory(me["email"])
    r, page = await b.get("/account")
    assert "Link a sign-in with Council 365" in page
    # Another email than the account's: the member is signed in, so it is theirs to link.
    status, location, _ = await sign_in_with(b, "council", "outsider", link=True)
    assert (status, location) == (303, "/account?done=sso-linked")
    row = await pool.fetchrow("SELECT id, user_id, email FROM sso_identities")
    assert (row["user_id"], row["email"]) == (me["id"], "olly@elsewhere.example")
    r, page = await b.get("/account")
    assert "olly@elsewhere.example" in page
    # Someone else cannot remove it.
    intruder = await browser_factory((await world.user("Ivy Intruder"))["email"])
    r, _ = await intruder.post(f"/account/sso/{row['id']}/remove", {})
    assert r.status == 404
    r, _ = await b.post(f"/account/sso/{row['id']}/remove", {})
    assert r.status == 303 and r.headers["Location"] == "/account?done=sso-removed"
    assert await counts(pool) == (2, 0, 2)
    # Removed, it no longer signs in to the account: it makes a new one.
    fresh = await browser_factory()
    status, location, _ = await sign_in_with(fresh, "council", "outsider")
    assert location == "/account?done=sso-created"


async def test_a_sign_in_linked_to_one_account_cannot_be_linked_to_another(
    world, browser_factory, pool, caplog
):
    first = await browser_factory()
    await sign_in_with(first, "council", "alice")
    me = await world.user("Pat Password")
    b = await browser_factory(me["email"])
    status, _, page = await sign_in_with(b, "council", "alice", link=True)
    assert status == 409 and "already linked to another Confer account" in page
    assert (
        await pool.fetchval("SELECT count(*) FROM sso_identities WHERE user_id = $1", me["id"]) == 0
    )


async def test_erasure_removes_the_links_and_the_download_lists_them(browser_factory, pool):
    b = await browser_factory()
    await sign_in_with(b, "council", "alice")
    r, _ = await b.get("/account")
    status, data = await b.api("POST", "/account/data")
    assert status == 200
    assert [(i["provider"], i["email"]) for i in data["linked_sign_ins"]] == [
        ("council", "alice@somecouncil.gov.uk")
    ]
    r, page = await b.post("/account/delete", {"confirm_email": "someone@else.example"})
    assert r.status == 422 and "not your account" in page
    r, _ = await b.post("/account/delete", {"confirm_email": "alice@somecouncil.gov.uk"})
    assert r.status == 303
    assert await pool.fetchval("SELECT count(*) FROM sso_identities") == 0
    # The provider's identity is free again: signing in makes a new account.
    again = await browser_factory()
    _, location, _ = await sign_in_with(again, "council", "alice")
    assert location == "/account?done=sso-created"


async def test_the_pages_offer_a_button_per_provider(browser_factory):
    b = await browser_factory()
    for path in ("/login", "/register"):
        r, page = await b.get(path)
        assert "Sign in with Council 365" in page and 'action="/login/sso/council"' in page


# --- failures: a clear page, nothing made, a log line without secrets -----------------------


def assert_no_secrets(caplog: Any, *secrets: str) -> None:
    """Confer's own lines. (The test server writes aiohttp's default access log; `confer
    serve` writes confer.web.AccessLog's, whose redaction is checked below.)"""
    for record in caplog.records:
        if record.name == "aiohttp.access":
            continue
        line = record.getMessage()
        for s in secrets:
            assert s not in line, line


def sso_lines(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("confer.sso")]


async def fail(b: Any, pid: str, login: str, caplog: Any) -> tuple[int, str, list[str]]:
    caplog.set_level(logging.INFO)
    status, location, text = await start(b, pid)
    assert status == 303, text[:1000]
    callback = await walk_to_callback(b, location, login)
    q = parse_qs(urlsplit(callback).query)
    async with b.session.get(b.url(callback), allow_redirects=False) as r:
        page = await r.text()
    assert_no_secrets(caplog, q["code"][0], q["state"][0])
    return r.status, page, sso_lines(caplog)


@pytest.mark.parametrize(
    ("pid", "login", "status", "says", "logged"),
    [
        ("rogue-issuer", "alice", 400, "names another issuer", "issuer is 'https://elsewhere"),
        ("rogue-audience", "alice", 400, "meant for another service", "for 'someone-else'"),
        ("rogue-signature", "alice", 400, "signature that does not match", "signature"),
        ("rogue-expired", "alice", 400, "has expired", "expired"),
        ("rogue-nonce", "alice", 400, "does not belong to this sign-in", "nonce"),
        ("council", "unverified", 403, "has not verified your email address", "not say the email"),
        ("council", "noemail", 403, "did not give Confer your email address", "no email"),
        ("strict", "outsider", 403, "at elsewhere.example cannot sign in", "elsewhere.example"),
        ("tenanted", "outsider", 403, "organisation's Council tenanted accounts", "tenant-two"),
    ],
)
async def test_a_refused_answer_signs_nobody_in(
    browser_factory, pool, caplog, pid, login, status, says, logged
):
    b = await browser_factory()
    got, page, lines = await fail(b, pid, login, caplog)
    assert got == status, page[:1500]
    assert says in page.replace("&#39;", "'").replace("&#x27;", "'"), page[:3000]
    assert "Nothing has been changed on your account." in page
    assert await counts(pool) == (0, 0, 0)
    assert not signed_in(b)
    assert any(f"provider {pid} failed" in line and logged in line for line in lines), lines


async def test_a_sign_in_from_the_list_of_allowed_domains_passes(browser_factory, pool):
    b = await browser_factory()
    status, location, _ = await sign_in_with(b, "strict", "alice")
    assert (status, location) == (303, "/account?done=sso-created")
    b2 = await browser_factory()
    status, _, _ = await sign_in_with(b2, "tenanted", "dora")
    assert status == 303


async def test_a_wrong_or_replayed_state_is_refused(browser_factory, pool, caplog):
    b = await browser_factory()
    _, location, _ = await start(b, "council")
    callback = await walk_to_callback(b, location, "alice")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    async with b.session.get(b.url(forged), allow_redirects=False) as r:
        assert r.status == 400 and "not started in this browser" in await r.text()
    # The genuine one still works, once.
    async with b.session.get(b.url(callback), allow_redirects=False) as r:
        assert r.status == 303
    async with b.session.get(b.url(callback), allow_redirects=False) as r:
        assert r.status == 400 and "already been used" in await r.text()
    assert await counts(pool) == (1, 1, 1)
    assert_no_secrets(caplog, parse_qs(urlsplit(callback).query)["code"][0])


async def test_a_return_in_another_browser_is_refused(browser_factory, pool):
    b = await browser_factory()
    _, location, _ = await start(b, "council")
    callback = await walk_to_callback(b, location, "alice")
    thief = await browser_factory()
    async with thief.session.get(thief.url(callback), allow_redirects=False) as r:
        assert r.status == 400 and "not started in this browser" in await r.text()
    assert await counts(pool) == (0, 0, 0)


async def test_a_replayed_code_is_refused_by_the_provider(browser_factory, pool, caplog):
    caplog.set_level(logging.INFO)
    b = await browser_factory()
    _, location, _ = await start(b, "council")
    first = await walk_to_callback(b, location, "alice")
    async with b.session.get(b.url(first), allow_redirects=False) as r:
        assert r.status == 303
    code = parse_qs(urlsplit(first).query)["code"][0]
    # A new sign-in in the same browser (a valid state), handed the old code.
    _, location, _ = await start(b, "council")
    second = await walk_to_callback(b, location, None)
    replay = re.sub(r"code=[^&]+", f"code={code}", second)
    async with b.session.get(b.url(replay), allow_redirects=False) as r:
        page = await r.text()
        assert r.status == 400 and "refused the sign-in code" in page
    assert await counts(pool) == (1, 1, 1)
    assert any("invalid_grant" in line for line in sso_lines(caplog))
    assert_no_secrets(caplog, code)


async def test_a_sign_in_that_took_too_long_is_refused(browser_factory, pool):
    b = await browser_factory()
    _, location, _ = await start(b, "council")
    callback = await walk_to_callback(b, location, "alice")
    await pool.execute("UPDATE sso_flows SET expires_at = now() - interval '1 minute'")
    async with b.session.get(b.url(callback), allow_redirects=False) as r:
        assert r.status == 400 and "took too long" in await r.text()
    assert await counts(pool) == (0, 0, 0)


async def test_a_cancelled_sign_in_says_so(browser_factory, pool):
    b = await browser_factory()
    _, location, _ = await start(b, "council")
    state = parse_qs(urlsplit(location).query)["state"][0]
    async with b.session.get(
        b.url(f"/login/sso/council/callback?error=access_denied&state={state}"),
        allow_redirects=False,
    ) as r:
        assert r.status == 400 and "cancelled or refused" in await r.text()


async def test_a_provider_that_is_down_gets_a_clear_page(browser_factory, pool, caplog):
    b = await browser_factory()
    status, _, page = await start(b, "down")
    assert status == 503 and "could not reach Council down" in page
    assert await pool.fetchval("SELECT count(*) FROM sso_flows") == 0
    assert any("provider down failed (down)" in line for line in sso_lines(caplog))


async def test_an_unknown_provider_is_a_404(browser_factory):
    b = await browser_factory()
    status, _, _ = await start(b, "nobody")
    assert status == 404
    r, _ = await b.get("/login/sso/nobody/callback?state=x&code=y")
    assert r.status == 404


async def test_the_access_log_hides_the_code_and_state(browser_factory, caplog):
    from aiohttp.test_utils import make_mocked_request

    from confer.web import AccessLog

    b = await browser_factory()
    _, location, _ = await start(b, "council")
    callback = await walk_to_callback(b, location, "alice")
    q = parse_qs(urlsplit(callback).query)
    caplog.set_level(logging.INFO, logger="confer.access")
    logger = logging.getLogger("confer.access")
    AccessLog(logger, "").log(make_mocked_request("GET", callback), web_response(), 0.01)
    assert "/login/sso/council/callback" in caplog.text
    assert q["code"][0] not in caplog.text and q["state"][0] not in caplog.text


def web_response() -> Any:
    from aiohttp import web

    return web.Response(status=303)


async def test_keys_rotated_by_the_provider_are_fetched_again(op, browser_factory, pool):
    b = await browser_factory()
    await sign_in_with(b, "council", "alice")  # the keys are now kept by this process
    op.restart()  # same issuer, a new signing key with a new key id
    again = await browser_factory()
    status, location, page = await sign_in_with(again, "council", "alice")
    assert (status, location) == (303, "/"), page[:1500]


# --- organisers: joining without approval, invitations ----------------------------------


async def test_a_conference_lets_people_vouched_for_join_without_approval(
    world, browser_factory, pool
):
    c = await world.conference()
    organiser = await world.user("Olive Organiser")
    await world.member(c, organiser, "organiser")
    o = await browser_factory(organiser["email"])
    # The console's registration page (confer.conferences.settings.save_registration).
    where = f"/c/{c['slug']}/manage/registration"
    r, page = await o.get(where)
    assert "Email domains that join without approval" in page
    form = {
        "registration": "approval",
        "capacity": "",
        "sso_join_domains": "somecouncil.gov.uk, not a domain",
        "sso_join_tenants": "",
    }
    r, page = await o.post(where, form)
    assert r.status == 422 and "is not an email domain" in page
    assert 'value="somecouncil.gov.uk, not a domain"' in page  # what was typed comes back
    r, _ = await o.post(where, form | {"sso_join_domains": "@SomeCouncil.gov.uk"})
    assert r.status == 303
    row = await pool.fetchrow(
        "SELECT registration, sso_join_domains FROM conferences WHERE id = $1", c["id"]
    )
    assert (row["registration"], row["sso_join_domains"]) == ("approval", ["somecouncil.gov.uk"])

    async def join(b: Any) -> str:
        r, page = await b.post(f"/c/{c['slug']}/join", {"accept_code_of_conduct": "on"})
        assert r.status == 303, page[:1500]
        member = await pool.fetchrow(
            "SELECT m.status FROM memberships m JOIN users u ON u.id = m.user_id"
            " WHERE m.conference_id = $1 AND u.email = $2",
            c["id"],
            b.email,
        )
        return member["status"]

    alice = await browser_factory()
    await sign_in_with(alice, "council", "alice")
    alice.email = "alice@somecouncil.gov.uk"
    assert await join(alice) == "active"
    # The same domain typed at registration proves nothing: it waits for approval.
    typed = await world.user("Tess Typed", email="tess@somecouncil.gov.uk")
    t = await browser_factory(typed["email"])
    t.email = typed["email"]
    assert await join(t) == "pending"
    # A provider's verified email elsewhere: approval too.
    olly = await browser_factory()
    await sign_in_with(olly, "council", "outsider")
    olly.email = "olly@elsewhere.example"
    assert await join(olly) == "pending"
    # A tenant on the list lets them in, whatever the domain.
    await pool.execute(
        "UPDATE conferences SET sso_join_tenants = '{tenant-two}' WHERE id = $1", c["id"]
    )
    await pool.execute(
        "DELETE FROM memberships WHERE conference_id = $1 AND status = 'pending'", c["id"]
    )
    assert await join(olly) == "active"


async def test_an_invitation_is_accepted_by_signing_in_with_a_provider(
    world, browser_factory, pool
):
    from confer.accounts.service import hash_token

    c = await world.conference()
    inviter = await world.user("Olive Organiser")
    await world.member(c, inviter, "organiser")
    token = "invitation-token-for-alice-0001"
    await pool.execute(
        """INSERT INTO invitations (conference_id, email, name, role, token_hash, invited_by,
                                    expires_at)
           VALUES ($1, 'alice@somecouncil.gov.uk', '', 'speaker', $2, $3,
                   now() + interval '1 day')""",
        c["id"],
        hash_token(token),
        inviter["id"],
    )
    b = await browser_factory()
    r, page = await b.get(f"/invitations/{token}")
    assert "Or accept with your organisation’s sign-in" in page
    assert f'name="next" value="/invitations/{token}"' in page
    status, location, _ = await sign_in_with(
        b, "council", "alice", next_path=f"/invitations/{token}"
    )
    assert (status, location) == (303, f"/invitations/{token}")
    r, page = await b.get(location)
    assert "Accept invitation and join" in page
    r, _ = await b.post(f"/invitations/{token}", {"accept_code_of_conduct": "on"})
    assert r.status == 303
    role = await pool.fetchval(
        "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id"
        " WHERE u.email = 'alice@somecouncil.gov.uk' AND m.conference_id = $1",
        c["id"],
    )
    assert role == "speaker"


# --- the operator's settings ------------------------------------------------------------------


def test_providers_are_read_from_the_environment_and_secrets_stay_out_of_repr():
    from confer.settings import SettingError, Settings

    raw = (
        '[{"id": "microsoft", "name": "Microsoft 365", "client_id": "abc",'
        ' "issuer": "https://login.microsoftonline.com/t1/v2.0",'
        ' "domains": "SomeCouncil.gov.uk, other.gov.uk", "tenants": ["t1"]}]'
    )
    s = Settings.from_env(
        {"SECRET_KEY": "x", "OIDC_PROVIDERS": raw, "OIDC_SECRET_MICROSOFT": "hush-hush"}
    )
    [p] = s.oidc_providers
    assert (p.client_secret, p.domains, p.tenants) == (
        "hush-hush",
        ("somecouncil.gov.uk", "other.gov.uk"),
        ("t1",),
    )
    assert "hush-hush" not in repr(s)
    for bad, says in [
        ("not json", "not valid JSON"),
        ('[{"id": "Bad Id"}]', "id must be"),
        ('[{"id": "x", "name": "X", "client_id": "c", "issuer": "http://idp.example"}]', "https"),
        (
            '[{"id": "x", "name": "X", "client_id": "c", "issuer": "https://idp.example"}]',
            "OIDC_SECRET_X",
        ),
    ]:
        with pytest.raises(SettingError, match=says):
            Settings.from_env({"SECRET_KEY": "x", "OIDC_PROVIDERS": bad})
