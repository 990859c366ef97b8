"""The invitation journey through a real Chromium: an organiser invites an address, the email
arrives at a real SMTP server, and the person follows its link, creates an account, lands in
the conference and posts in an open thread.

Controls are found as a person finds them, by their labels and roles.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from tests.browser.helpers import SESSION_LOOP, Audits

pytestmark = [pytest.mark.browser, SESSION_LOOP]

LINK = re.compile(r"https?://\S+/invitations/[A-Za-z0-9_-]+")
HERE_NOW = re.compile(r"^\d+ here now$")


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url, mail_poll_seconds=0.5)


async def test_invited_person_creates_an_account_from_the_email_and_posts(
    world, pool, new_page, mailbox
):
    conf = await world.conference()
    await pool.execute("UPDATE conferences SET registration = 'invite' WHERE id = $1", conf["id"])
    title = f"Conference {conf['slug']}"
    session = await world.session(conf, title="Adult social care")
    organiser = await world.user("Olive Organiser")
    await world.member(conf, organiser, "organiser")
    await world.thread(session, organiser, title="Hospital discharge delays", posts=1)
    audits = Audits()

    # The organiser invites an address from the conference's manage page.
    org = await new_page(user=organiser)
    await org.goto(f"/c/{conf['slug']}/manage")
    await org.get_by_role("link", name="Invite people by email").click()
    await expect(org.get_by_role("heading", level=1, name="Invitations")).to_be_visible()
    await audits.check(org, "invitations (organiser)")
    await org.get_by_label("Email addresses").fill("Priya Shah <priya.shah@york.gov.uk>")
    await org.get_by_label("Role").select_option("participant")
    await org.get_by_role("button", name="Send invitations").click()
    await expect(org.get_by_text("1 invitation sent.")).to_be_visible()
    await expect(org.get_by_role("cell", name="Priya Shah priya.shah@york.gov.uk")).to_be_visible()

    # The email arrives; its link is followed in a fresh browser, signed out.
    [message] = await mailbox.wait_for("priya.shah@york.gov.uk", within=15)
    assert message["Subject"] == f"You are invited to {title}"
    text = message.get_body(("plain",)).get_content()
    link = LINK.search(text)
    assert link is not None, text
    page = await new_page(js=True)
    await page.goto(urlsplit(link.group(0)).path)
    await expect(
        page.get_by_role("heading", level=1, name=f"You are invited to {title}")
    ).to_be_visible()
    await expect(page.get_by_text("priya.shah@york.gov.uk", exact=True)).to_be_visible()
    await audits.check(page, "invitation link (signed out)")

    # Forgetting the code of conduct: told so, with what was typed still there.
    await expect(page.get_by_label("Display name")).to_have_value("Priya Shah")
    await page.get_by_label("Organisation (optional)").fill("City of York Council")
    await page.get_by_label("Password").fill("a long passphrase about discharge")
    await page.get_by_role("button", name="Create account and join").click()
    await expect(page.get_by_text("There is a problem")).to_be_visible()
    await expect(page.get_by_label("Organisation (optional)")).to_have_value("City of York Council")
    await page.get_by_label("Password").fill("a long passphrase about discharge")
    await page.get_by_label("I accept the code of conduct").check()
    await page.get_by_role("button", name="Create account and join").click()

    # In the conference, signed in, as a participant.
    await expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    await expect(page.get_by_text("Signed in as Priya Shah")).to_be_visible()
    await expect(page.get_by_text("You have joined the conference.")).to_be_visible()
    await expect(page.get_by_text("You are a participant")).to_be_visible()

    # And takes part: a post in the open thread.
    await page.get_by_role("link", name="Adult social care").click()
    await page.get_by_role("link", name="Hospital discharge delays").click()
    await expect(
        page.get_by_role("heading", level=1, name="Hospital discharge delays")
    ).to_be_visible()
    await expect(page.get_by_text(HERE_NOW)).to_be_visible()
    await page.get_by_label("Your post", exact=True).fill(
        "York's **discharge to assess** model helped."
    )
    await page.get_by_role("button", name="Post", exact=True).click()
    post = page.get_by_role("article").filter(has_text="York's discharge to assess model helped.")
    await expect(post).to_be_visible()
    await expect(post.get_by_role("heading")).to_contain_text("Priya Shah")
    await page.reload()
    await expect(
        page.get_by_role("article").filter(has_text="York's discharge to assess model helped.")
    ).to_have_count(1)

    # The link was single use; the organiser's list says accepted.
    again = await new_page(js=False)
    await again.goto(urlsplit(link.group(0)).path)
    await expect(
        again.get_by_role("heading", level=1, name="This invitation has already been used")
    ).to_be_visible()
    await org.reload()
    await expect(org.get_by_text("Accepted", exact=True)).to_be_visible()
    audits.assert_clean()


async def test_request_a_place_is_approved_then_the_member_leaves(world, pool, new_page, mailbox):
    conf = await world.conference()
    await pool.execute(
        "UPDATE conferences SET registration = 'approval', capacity = 1 WHERE id = $1", conf["id"]
    )
    title = f"Conference {conf['slug']}"
    organiser = await world.user("Olive Organiser")
    await world.member(conf, organiser, "organiser")
    asker = await world.user("Asha Patel", email="asha@leeds.gov.uk")
    audits = Audits()

    # JavaScript on: axe runs in the page (the forms work without it: tests/test_registration.py).
    page = await new_page(user=asker)
    await page.goto(f"/c/{conf['slug']}")
    await page.get_by_role("button", name="Request a place").click()
    await expect(
        page.get_by_role("heading", level=1, name=f"Request a place at {title}")
    ).to_be_visible()
    await audits.check(page, "request a place")
    await page.get_by_label("I accept the code of conduct").check()
    await page.get_by_role("button", name="Request a place").click()
    await expect(page.get_by_text("Your request is awaiting approval.")).to_be_visible()

    org = await new_page(user=organiser)
    await org.goto(f"/c/{conf['slug']}/manage")
    await org.get_by_role("link", name="Requests to join and the waitlist").click()
    await expect(org.get_by_role("heading", level=3, name="Asha Patel")).to_be_visible()
    await audits.check(org, "requests and waitlist")
    await org.get_by_label("Message to Asha Patel (optional)").fill("See you on Tuesday.")
    await org.get_by_role("button", name="Approve Asha Patel").click()
    await expect(org.get_by_text("The request was approved")).to_be_visible()
    [message] = await mailbox.wait_for("asha@leeds.gov.uk", within=15)
    assert "See you on Tuesday." in " ".join(message.get_body(("plain",)).get_content().split())

    await page.reload()
    await expect(page.get_by_text("You are a participant")).to_be_visible()
    await page.get_by_role("link", name="Leave this conference").click()
    await expect(page.get_by_role("heading", level=1, name=f"Leave {title}")).to_be_visible()
    await audits.check(page, "leave the conference")
    await page.get_by_role("button", name="Yes, leave the conference").click()
    await expect(page.get_by_text("You have left the conference.")).to_be_visible()
    await expect(page.get_by_role("button", name="Request a place")).to_be_visible()
    audits.assert_clean()
