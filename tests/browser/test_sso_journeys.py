"""Signing in with an organisation's account, in a real Chromium, against a real OpenID
provider (npm oidc-provider under Node: tests/oidc.py): signing up, signing in again, linking
an existing account, a conference that lets a council's people in without approval, and an
invitation accepted through the provider. The new pages pass axe and the Nu HTML checker.

Controls are found as a person finds them, by their labels and roles. (The provider's own
development sign-in page has no labels: it is not Confer's page.)
"""

from __future__ import annotations

import re

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from confer.accounts.service import hash_token
from confer.app import create_app
from tests.browser.helpers import SESSION_LOOP, Audits
from tests.browser.test_html_valid import nu_errors
from tests.conftest import PASSWORD
from tests.oidc import provider, with_providers
from tests.procs import free_port

pytestmark = [pytest.mark.browser, SESSION_LOOP]


@pytest.fixture
def settings(settings, op):
    port = free_port()
    return with_providers(
        settings.with_(base_url=f"http://127.0.0.1:{port}", port=port),
        provider(op, "council", name="Council 365"),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def server(settings):
    """Confer at the port its BASE_URL names: the provider sends the browser back there."""
    s = TestServer(create_app(settings), host="127.0.0.1", port=settings.port)
    await s.start_server()
    yield s
    await s.close()


async def at_provider(page: Page, login: str) -> None:
    """The provider's sign-in page (its development page: any password)."""
    await page.get_by_placeholder("Enter any login").fill(login)
    await page.get_by_placeholder("and password").fill("anything")
    await page.get_by_role("button", name="Sign-in").click()


async def test_sign_up_then_sign_in_again_without_javascript(new_page, pool):
    """Without JavaScript (axe needs it: the pages are audited in the journeys below)."""
    page = await new_page(js=False)
    await page.goto("/login")
    await page.get_by_role("button", name="Sign in with Council 365").click()
    await at_provider(page, "alice")
    await expect(page).to_have_url(re.compile(r"/account\?done=sso-created$"))
    await expect(page.get_by_text("Your account has been created.")).to_be_visible()
    await expect(
        page.get_by_role("cell", name="alice@somecouncil.gov.uk", exact=True)
    ).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    # Again: the provider remembers them, so one click brings them back signed in.
    await page.goto("/login")
    await page.get_by_role("button", name="Sign in with Council 365").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await page.goto("/account")
    await expect(page.get_by_text("Signed in as alice@somecouncil.gov.uk.")).to_be_visible()
    assert await pool.fetchval("SELECT count(*) FROM users") == 1


async def test_an_existing_account_links_after_signing_in_once(world, new_page, pool):
    owner = await world.user("Alice Original", email="alice@somecouncil.gov.uk")
    audits = Audits()
    page = await new_page()
    await page.goto("/login")
    await audits.check(page, "sign in, with a provider's button")
    await page.goto("/register")
    await audits.check(page, "register, with a provider's button")
    await page.get_by_role("button", name="Sign in with Council 365").click()
    await at_provider(page, "alice")
    await expect(
        page.get_by_role("heading", level=1, name="Link your Council 365 sign-in")
    ).to_be_visible()
    await audits.check(page, "link: sign in once first")
    await page.get_by_label("Password for alice@somecouncil.gov.uk").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await audits.check(page, "link: confirm")
    await page.get_by_role("button", name="Link and continue").click()
    await expect(page.get_by_text("The sign-in has been linked")).to_be_visible()
    await audits.check(page, "account with a linked sign-in")
    assert await pool.fetchval("SELECT user_id FROM sso_identities") == owner["id"]
    # Then remove it again from the account page.
    await page.get_by_role("button", name=re.compile("Remove the sign-in with Council 365")).click()
    await expect(page.get_by_text("The linked sign-in has been removed.")).to_be_visible()
    assert await pool.fetchval("SELECT count(*) FROM sso_identities") == 0
    audits.assert_clean()


async def test_a_councils_people_join_without_approval(world, new_page, pool):
    conf = await world.conference()
    await pool.execute(
        "UPDATE conferences SET registration = 'approval', sso_join_domains = '{somecouncil.gov.uk}'"
        " WHERE id = $1",
        conf["id"],
    )
    page = await new_page()
    await page.goto(f"/c/{conf['slug']}/join")
    await page.get_by_role("main").get_by_role("link", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_role("button", name="Sign in with Council 365").click()
    await at_provider(page, "alice")
    await expect(page).to_have_url(re.compile(rf"/c/{conf['slug']}/join$"))
    await page.get_by_label("I accept the code of conduct").check()
    await page.get_by_role("button", name="Request a place").click()
    status = await pool.fetchval(
        "SELECT status FROM memberships WHERE conference_id = $1", conf["id"]
    )
    assert status == "active"


async def test_an_invitation_accepted_through_the_provider(world, new_page, pool):
    conf = await world.conference()
    organiser = await world.user("Olive Organiser")
    await world.member(conf, organiser, "organiser")
    token = "browser-invitation-for-alice-01"
    await pool.execute(
        """INSERT INTO invitations (conference_id, email, name, role, token_hash, invited_by,
                                    expires_at)
           VALUES ($1, 'alice@somecouncil.gov.uk', '', 'facilitator', $2, $3,
                   now() + interval '1 day')""",
        conf["id"],
        hash_token(token),
        organiser["id"],
    )
    audits = Audits()
    page = await new_page()
    await page.goto(f"/invitations/{token}")
    await audits.check(page, "invitation, with a provider's button")
    await page.get_by_role("button", name="Sign in with Council 365").click()
    await at_provider(page, "alice")
    await expect(page).to_have_url(re.compile(rf"/invitations/{token}$"))
    await page.get_by_label("I accept the code of conduct").check()
    await page.get_by_role("button", name="Accept invitation and join").click()
    role = await pool.fetchval(
        "SELECT role FROM memberships WHERE conference_id = $1 AND status = 'active'"
        " AND user_id <> $2",
        conf["id"],
        organiser["id"],
    )
    assert role == "facilitator"
    audits.assert_clean()


async def test_the_failure_page_is_clear_in_welsh_and_valid(new_page, tmp_path):
    audits = Audits()
    page = await new_page()
    await page.goto("/language/cy?next=/login")
    await page.get_by_role("button", name="Mewngofnodi gyda Council 365").click()
    async with page.expect_response(lambda r: "/callback" in r.url) as answer:
        await at_provider(page, "unverified")
    failed = await answer.value
    assert failed.status == 403
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text("Ni weithiodd mewngofnodi gyda Council 365")
    await expect(page.locator("#sso-problem")).to_contain_text("heb ddilysu eich cyfeiriad e-bost")
    await audits.check(page, "sign-in failed (Welsh)")
    files = [tmp_path / "failed.html"]
    files[0].write_text(await failed.text(), encoding="utf-8")
    for n, path in enumerate(["/login", "/register", "/account/sso/link"]):
        response = await page.goto(path)
        assert response is not None
        files.append(tmp_path / f"{n}.html")
        files[-1].write_text(await response.text(), encoding="utf-8")
    await audits.check(page, "no sign-in waiting to be linked (Welsh)")
    errors = nu_errors(files)
    assert not errors, errors
    audits.assert_clean()
