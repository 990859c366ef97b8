"""Invitations: one address, many pasted, a CSV file with bad rows; the emailed link (new
account and join in one step, or sign in first); reuse, expiry, withdrawal and resending;
who may invite. Emails are received by a real SMTP server."""

from __future__ import annotations

import re
from typing import Any

import pytest

from confer.registration import addresses
from tests.conftest import PASSWORD, Browser
from tests.test_registration import make_conference, membership, quick_users

LINK = re.compile(r"http://127\.0\.0\.1/invitations/([A-Za-z0-9_-]+)")


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url, mail_poll_seconds=0.5)


def body_of(message: Any) -> str:
    """The plain-text part, its wrapped lines joined up again."""
    return " ".join(message.get_body(("plain",)).get_content().split())


async def link_in_email(mailbox, address: str, count: int = 1) -> str:
    """The invitation link in the latest email to `address` (as a path on the site)."""
    messages = await mailbox.wait_for(address, count=count)
    m = LINK.search(body_of(messages[-1]))
    assert m is not None, body_of(messages[-1])
    assert f'href="{m.group(0)}"' in messages[-1].get_body(("html",)).get_content()
    return f"/invitations/{m.group(1)}"


async def organiser_of(world, c: dict) -> dict:
    o = await world.user("Olive Organiser")
    await world.member(c, o, "organiser")
    return o


async def invite(b: Browser, c: dict, **data: str) -> tuple[Any, str]:
    data.setdefault("role", "participant")
    return await b.post(f"/c/{c['slug']}/invitations", data)


async def upload(b: Browser, c: dict, csv: bytes, role: str = "participant") -> tuple[int, str]:
    """Post the invitations form as a browser does with a file chosen (multipart)."""
    import aiohttp

    await b.ensure_csrf()
    form = aiohttp.FormData()
    form.add_field("csrf_token", b.csrf)
    form.add_field("emails", "")
    form.add_field("role", role)
    form.add_field("csv", csv, filename="people.csv", content_type="text/csv")
    async with b.session.post(
        b.url(f"/c/{c['slug']}/invitations"), data=form, allow_redirects=False
    ) as r:
        return r.status, await r.text()


async def test_one_invitation_email_then_a_new_account_joins_in_one_step(
    world, pool, browser_factory, mailbox
):
    c = await make_conference(world, pool, registration="invite")
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])
    _, page = await ob.get(f"/c/{c['slug']}/manage")
    assert f'href="/c/{c["slug"]}/invitations"' in page
    r, _ = await invite(ob, c, emails="jane.smith@kent.gov.uk", role="speaker")
    assert r.status == 303 and r.headers["Location"].endswith("?done=sent&count=1")
    _, page = await ob.get(r.headers["Location"])
    assert "1 invitation sent." in page and "jane.smith@kent.gov.uk" in page

    [message] = await mailbox.wait_for("jane.smith@kent.gov.uk")
    assert message["Subject"] == f"You are invited to Conference {c['slug']}"
    text = body_of(message)
    assert "Olive Organiser invited you" in text and "as a speaker" in text
    link = await link_in_email(mailbox, "jane.smith@kent.gov.uk")
    token = link.rsplit("/", 1)[1]
    stored = await pool.fetchval("SELECT encode(token_hash, 'hex') FROM invitations")
    assert token not in stored  # only the hash is kept

    jane = await browser_factory()
    r, page = await jane.get(link)
    assert r.status == 200 and "You are invited to Conference" in page
    assert "Create your account" in page and "jane.smith@kent.gov.uk" in page
    assert f'href="/login?next={link}"' in page
    # A weak password: the page comes back with what she typed, nothing is made.
    r, page = await jane.post(
        link, {"name": "Jane Smith", "organisation": "Kent County Council", "password": "password"}
    )
    assert r.status == 422
    assert "most common passwords" in page and "Confirm that you accept the code of conduct" in page
    assert 'value="Jane Smith"' in page and 'value="Kent County Council"' in page
    assert (
        await pool.fetchval("SELECT count(*) FROM users WHERE email = $1", "jane.smith@kent.gov.uk")
        == 0
    )
    r, _ = await jane.post(
        link,
        {"name": "Jane Smith", "organisation": "Kent County Council",
         "password": "a long passphrase about flood plains", "accept_code_of_conduct": "on"},
    )  # fmt: skip
    assert r.status == 303 and r.headers["Location"] == f"/c/{c['slug']}?done=invited"
    _, page = await jane.get(r.headers["Location"])
    assert "Signed in as Jane Smith" in page and "You are a speaker" in page
    user = await pool.fetchrow("SELECT id FROM users WHERE email = 'jane.smith@kent.gov.uk'")
    assert dict(await membership(pool, c, user)) == {
        "role": "speaker", "status": "active", "waitlist_position": None,
    }  # fmt: skip
    row = await pool.fetchrow("SELECT status, accepted_by FROM invitations")
    assert (row["status"], row["accepted_by"]) == ("accepted", user["id"])

    # The link works once.
    r, page = await jane.get(link)
    assert r.status == 200 and "You have accepted this invitation" in page
    other = await browser_factory()
    r, page = await other.get(link)
    assert r.status == 410 and "This invitation has already been used" in page
    r, page = await other.post(
        link,
        {"name": "Someone", "password": "another long passphrase", "accept_code_of_conduct": "on"},
    )
    assert r.status == 410 and "already been used" in page
    assert await pool.fetchval("SELECT count(*) FROM users WHERE name = 'Someone'") == 0
    _, page = await ob.get(f"/c/{c['slug']}/invitations")
    assert "Accepted" in page


async def test_one_bad_address_never_refuses_the_good_ones_and_comes_back_to_correct(
    world, pool, browser_factory, mailbox
):
    c = await make_conference(world, pool)
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])
    typed = "ann@example.org, not-an-email\nbob@example, Cat Jones <cat@example.org>; a@b..cd"
    r, page = await invite(ob, c, emails=typed, role="speaker")
    # The good are invited at once; the bad are listed with their reasons and put back in the
    # box (and nowhere else), with the role kept, for the organiser to correct.
    assert r.status == 200
    assert "2 invitations sent." in page and "3 addresses could not be read" in page
    assert "“not-an-email” has no @" in page
    assert "“bob@example” has a mistake after the @" in page
    assert "“a@b..cd” has a mistake after the @" in page
    assert '<a href="#emails">3 addresses could not be read as email addresses: correct' in page
    assert ">not-an-email\nbob@example\na@b..cd</textarea>" in page
    assert '<option value="speaker" selected>' in page
    rows = await pool.fetch("SELECT email, name, role FROM invitations ORDER BY email")
    assert [tuple(r) for r in rows] == [
        ("ann@example.org", "", "speaker"), ("cat@example.org", "Cat Jones", "speaker"),
    ]  # fmt: skip
    # Nothing good at all: 422, nothing sent.
    r, page = await invite(ob, c, emails="a<b>@x.org")
    assert r.status == 422 and "“a&lt;b&gt;@x.org” has a mistake before the @" in page
    assert await pool.fetchval("SELECT count(*) FROM invitations") == 2
    r, page = await invite(ob, c, emails="")
    assert r.status == 422 and "Enter at least one email address, or choose a CSV file" in page
    await pool.execute("DELETE FROM invitations")
    await mailbox.wait_for("cat@example.org")

    # Corrected: duplicates (any case) are invited once, names kept, the rest reported.
    member = await world.user(email="member@example.org")
    await world.member(c, member)
    r, page = await invite(
        ob, c,
        emails="ann@example.org; ANN@example.org\nCat Jones <cat@example.org>\nmember@example.org",
        role="observer",
    )  # fmt: skip
    assert r.status == 200 and "2 invitations sent." in page
    assert "ANN@example.org is listed more than once: invited once" in page
    assert "member@example.org is already a member of the conference" in page
    rows = await pool.fetch("SELECT email, name, role FROM invitations ORDER BY email")
    assert [tuple(r) for r in rows] == [
        ("ann@example.org", "", "observer"), ("cat@example.org", "Cat Jones", "observer"),
    ]  # fmt: skip
    message = (await mailbox.wait_for("cat@example.org", count=2))[-1]
    assert body_of(message).startswith("Hello Cat Jones,")
    assert len(await mailbox.wait_for("ann@example.org", count=2)) == 2


def test_outlook_and_quoted_lists_paste_as_the_standard_library_reads_them():
    outlook = "Surname, Forename <forename.surname@x.gov.uk>; Other, Name <name.other@x.gov.uk>"
    found, bad = addresses.parse_pasted(outlook)
    assert bad == [] and [(i.name, i.email) for i in found] == [
        ("Surname, Forename", "forename.surname@x.gov.uk"),
        ("Other, Name", "name.other@x.gov.uk"),
    ]
    quoted = '"Surname, Forename" <forename.surname@x.gov.uk>, "Other, Name" <name.other@x.gov.uk>'
    again, bad = addresses.parse_pasted(quoted)
    assert bad == [] and [(i.name, i.email) for i in again] == [(i.name, i.email) for i in found]
    found, bad = addresses.parse_pasted(
        "'Smith, Jane' <jane.smith@kent.gov.uk>\nb@x.org;c@x.org,d@x.org\r\n\te@x.org"
    )
    assert bad == [] and [(i.name, i.email) for i in found] == [
        ("Smith, Jane", "jane.smith@kent.gov.uk"),
        ("", "b@x.org"), ("", "c@x.org"), ("", "d@x.org"), ("", "e@x.org"),
    ]  # fmt: skip


@pytest.mark.parametrize("address", ["a@b..cd", "a<b>@x.org", "a,b@x.org", "bob@example"])
def test_the_email_check_refuses_what_a_regular_expression_let_through(address):
    from confer.validate import Fields

    f = Fields()
    f.email("email", address)
    assert f.errors == {
        "email": "Enter an email address in the correct format, like name@example.org"
    }
    f = Fields()
    assert f.email("email", "Jane.Smith@Kent.gov.uk") == "Jane.Smith@Kent.gov.uk"
    assert f.errors == {}


CSV = (
    "\ufeffName,Email,Role\r\n"
    "Ann Able,ann@example.org,speaker\r\n"
    "Bob Bad,bob(at)example.org,participant\r\n"
    "\r\n"
    "Cat Cole,cat@example.org,chairperson\r\n"
    "Dan Dee,,observer\r\n"
    'Eve Excel,="eve@example.org",\r\n'
    "Ann Again,ANN@example.org,participant\r\n"
    '"Fox, Fay",fay@example.org,Facilitator,,,\r\n'
).encode()


async def test_csv_upload_reports_each_bad_row_and_invites_the_good_ones(
    world, pool, browser_factory, mailbox
):
    c = await make_conference(world, pool)
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])
    status, page = await upload(ob, c, CSV, role="observer")
    assert status == 200, page
    assert "3 invitations sent." in page
    assert "3 rows of the CSV file could not be used" in page
    assert (
        "Line 3 (Bob Bad, bob(at)example.org, participant): “bob(at)example.org” is not an email address"
        in page
    )
    assert "Line 5 (Cat Cole, cat@example.org, chairperson): “chairperson” is not a role" in page
    assert "Line 6 (Dan Dee, , observer): has no email address" in page
    assert "ANN@example.org (line 8) is listed more than once: invited once" in page
    rows = await pool.fetch("SELECT email, name, role FROM invitations ORDER BY email")
    assert [tuple(r) for r in rows] == [
        ("ann@example.org", "Ann Able", "speaker"),
        ("eve@example.org", "Eve Excel", "observer"),  # no role in the file: the form's
        ("fay@example.org", "Fox, Fay", "facilitator"),
    ]
    for address in ("ann@example.org", "eve@example.org", "fay@example.org"):
        await mailbox.wait_for(address)
    # A file of nothing but bad rows invites nobody and says why.
    status, page = await upload(ob, c, b"nobody\nstill nobody\n")
    assert status == 200 and "0 invitations sent." in page and "Line 2" in page
    status, page = await upload(ob, c, b"")
    assert status == 422 and "The CSV file is empty" in page


def test_csv_reader_tolerates_spreadsheet_quirks():
    # Semicolons (European Excel), Windows-1252 names, no header, Excel's "sep=" line.
    found, problems = addresses.parse_csv(
        "sep=;\nZoë Brontë;zoe@example.org;Speakers\n".encode("cp1252")
    )
    assert problems == [] and found == [
        addresses.Invitee("zoe@example.org", "Zoë Brontë", "speaker", "line 2")
    ]
    found, problems = addresses.parse_csv(b"email\r\nmailto:a@example.org\r\n'b@example.org\r\n")
    assert [i.email for i in found] == ["a@example.org", "b@example.org"] and problems == []
    found, problems = addresses.parse_csv(
        b"Role,E-mail address,Full name\norganiser,x@example.org,X\n"
    )
    assert found == [addresses.Invitee("x@example.org", "X", "organiser", "line 2")]
    found, problems = addresses.parse_csv("a@example.org\u00a0\n\u200bb@example.org\n")
    assert [i.email for i in found] == ["a@example.org", "b@example.org"]
    found, bad = addresses.parse_pasted("Jane <jane@example.org>;  x@y.org z@w.org\n\nnope")
    assert [i.email for i in found] == ["jane@example.org", "x@y.org", "z@w.org"]
    assert [p.text for p in bad] == ["nope"]


async def test_expired_and_withdrawn_links_get_a_clear_page_and_resend_kills_the_old_link(
    world, pool, browser_factory, mailbox
):
    c = await make_conference(world, pool)
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])
    await invite(ob, c, emails="late@example.org, gone@example.org")
    late = await link_in_email(mailbox, "late@example.org")
    gone = await link_in_email(mailbox, "gone@example.org")
    await pool.execute(
        "UPDATE invitations SET expires_at = now() - interval '1 minute' "
        "WHERE email = 'late@example.org'"
    )
    visitor = await browser_factory()
    r, page = await visitor.get(late)
    assert r.status == 410 and "This invitation has expired" in page
    assert "Ask the organisers to send you a new one" in page
    r, page = await visitor.post(
        late, {"name": "Late", "password": "a long passphrase here", "accept_code_of_conduct": "on"}
    )
    assert r.status == 410 and "expired" in page
    _, page = await ob.get(f"/c/{c['slug']}/invitations")
    assert "Expired" in page

    late_id = await pool.fetchval("SELECT id FROM invitations WHERE email = 'late@example.org'")
    r, _ = await ob.post(f"/c/{c['slug']}/invitations/{late_id}/resend", {})
    assert r.status == 303 and r.headers["Location"].endswith("?done=resent")
    fresh = await link_in_email(mailbox, "late@example.org", count=2)
    assert fresh != late
    r, page = await visitor.get(late)
    assert r.status == 404 and "This invitation link is not valid" in page
    r, page = await visitor.get(fresh)
    assert r.status == 200 and "Create your account" in page

    gone_id = await pool.fetchval("SELECT id FROM invitations WHERE email = 'gone@example.org'")
    r, _ = await ob.post(f"/c/{c['slug']}/invitations/{gone_id}/revoke", {})
    assert r.status == 303
    r, page = await visitor.get(gone)
    assert r.status == 410 and "This invitation has been withdrawn" in page
    r, page = await ob.post(f"/c/{c['slug']}/invitations/{gone_id}/resend", {})
    assert r.status == 409 and "was withdrawn" in page
    r, page = await visitor.get("/invitations/not-a-real-token")
    assert r.status == 404 and "This invitation link is not valid" in page


async def test_an_existing_user_signs_in_and_joins_with_the_invited_role(
    world, pool, browser_factory, mailbox
):
    c = await make_conference(world, pool, registration="invite", capacity=1)
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])
    holder = await world.user()
    await world.member(c, holder)  # the only place is taken
    sam = await world.user("Sam Existing", email="sam@example.org")
    await invite(ob, c, emails="Sam@Example.org", role="facilitator")
    link = await link_in_email(mailbox, "Sam@Example.org")

    b = await browser_factory()
    r, page = await b.get(link)
    assert "There is already an account for Sam@Example.org" in page
    assert "Create your account" not in page and f'href="/login?next={link}"' in page
    r, _ = await b.post("/login", {"email": "sam@example.org", "password": PASSWORD, "next": link})
    assert r.status == 303 and r.headers["Location"] == link
    r, page = await b.get(link)
    assert "You are signed in as Sam Existing" in page and "Accept invitation and join" in page
    r, page = await b.post(link, {})
    assert r.status == 422 and "Confirm that you accept the code of conduct" in page
    r, _ = await b.post(link, {"accept_code_of_conduct": "on"})
    assert r.status == 303
    # Invited people join even when the conference is full.
    assert dict(await membership(pool, c, sam)) == {
        "role": "facilitator", "status": "active", "waitlist_position": None,
    }  # fmt: skip
    assert await pool.fetchval(
        "SELECT coc_accepted_at IS NOT NULL FROM memberships WHERE user_id = $1", sam["id"]
    )
    # An invitation never lowers a role given meanwhile.
    ted = await world.user("Ted", email="ted@example.org")
    await invite(ob, c, emails="ted@example.org", role="observer")
    await world.member(c, ted, "speaker")
    tb = await browser_factory(ted["email"])
    r, _ = await tb.post(
        await link_in_email(mailbox, "ted@example.org"), {"accept_code_of_conduct": "on"}
    )
    assert r.status == 303
    assert (await membership(pool, c, ted))["role"] == "speaker"


async def test_inviting_and_managing_invitations_over_the_api(
    world, pool, browser_factory, mailbox
):
    c = await make_conference(world, pool)
    organiser, participant = await quick_users(pool, 2, prefix="api")
    await world.member(c, organiser, "organiser")
    await world.member(c, participant, "participant")
    b = await browser_factory()
    base = f"/api/v1/conferences/{c['slug']}/invitations"

    status, body = await b.api(
        "POST", base, {"emails": "x@example.org"}, token=participant["token"]
    )
    assert (
        status == 403
        and body["error"]["message"] == "Only the conference's organisers can invite people."
    )
    pb = await browser_factory()
    pb.session.headers["Authorization"] = f"Bearer {participant['token']}"
    r, page = await pb.post(f"/c/{c['slug']}/invitations", {"emails": "x@example.org"}, csrf=False)
    assert r.status == 403 and "can invite people" in page
    assert await pool.fetchval("SELECT count(*) FROM invitations") == 0

    status, body = await b.api("POST", base, {"emails": ["bad address"]}, token=organiser["token"])
    assert status == 200 and body["invited"] == []
    assert body["refused"] == [
        {"where": "bad", "text": "bad", "reason": "has no @"},
        {"where": "address", "text": "address", "reason": "has no @"},
    ]
    status, body = await b.api(
        "POST", base,
        {"emails": ["a@example.org"], "role": "speaker",
         "csv": "name,email\nBee,b@example.org\nNo,nope\n"},
        token=organiser["token"],
    )  # fmt: skip
    assert status == 201
    assert sorted(i["email"] for i in body["invited"]) == ["a@example.org", "b@example.org"]
    assert body["problems"] == [
        {"where": "line 3", "text": "No, nope", "reason": "“nope” is not an email address"}
    ]
    status, body = await b.api("GET", base, token=organiser["token"])
    assert status == 200 and {i["status"] for i in body["invitations"]} == {"pending"}
    first = next(i for i in body["invitations"] if i["email"] == "a@example.org")
    old = await link_in_email(mailbox, "a@example.org")
    status, body = await b.api("POST", f"{base}/{first['id']}/resend", token=organiser["token"])
    assert (status, body["send_count"]) == (200, 2)
    await link_in_email(mailbox, "a@example.org", count=2)
    r, _ = await b.get(old)
    assert r.status == 404
    status, body = await b.api("POST", f"{base}/{first['id']}/revoke", token=organiser["token"])
    assert (status, body["status"]) == (200, "revoked")
    status, body = await b.api("POST", f"{base}/{first['id']}/resend", token=organiser["token"])
    assert status == 409 and "withdrawn" in body["error"]["message"]
    status, body = await b.api("POST", f"{base}/999999/revoke", token=organiser["token"])
    assert (
        status == 404
        and body["error"]["message"] == "There is no such invitation for this conference."
    )
    status, body = await b.api("GET", base, token=participant["token"])
    assert status == 403


# --- issue #22: how long an invitation lasts, drafts, roles ------------------------------


async def _march_2027(world, pool, **kw: Any) -> dict:
    """A conference from Tuesday 23 to Thursday 25 March 2027 (GMT: the clocks go forward on
    the 28th), whatever today is."""
    c = await make_conference(world, pool, **kw)
    await pool.execute(
        "UPDATE conferences SET starts_at = '2027-03-23 09:00+00', ends_at = '2027-03-25 17:00+00' "
        "WHERE id = $1",
        c["id"],
    )
    return c


async def test_an_invitation_lasts_until_the_conference_ends_and_the_email_says_so(
    world, pool, browser_factory, mailbox
):
    c = await _march_2027(world, pool)
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])
    r, _ = await invite(ob, c, emails="ann@example.org")
    assert r.status == 303
    [message] = await mailbox.wait_for("ann@example.org")
    assert "The link works once and expires on Thursday 25 March 2027, 17:00 GMT." in body_of(
        message
    )
    assert await pool.fetchval(
        "SELECT expires_at = '2027-03-25 17:00+00' FROM invitations WHERE email = 'ann@example.org'"
    )
    _, page = await ob.get(f"/c/{c['slug']}/invitations")
    assert "lasts until the conference ends, Thursday 25 March 2027, 17:00 GMT" in page
    # A chosen date: the link works to the end of that day, in the conference's timezone.
    r, _ = await invite(ob, c, emails="bob@example.org", expires_on="2027-03-31")
    assert r.status == 303
    [message] = await mailbox.wait_for("bob@example.org")
    assert "expires on Thursday 1 April 2027, 00:00 BST" in body_of(message)
    # A resend lasts until the conference ends again.
    bob = await pool.fetchval("SELECT id FROM invitations WHERE email = 'bob@example.org'")
    await ob.post(f"/c/{c['slug']}/invitations/{bob}/resend", {})
    messages = await mailbox.wait_for("bob@example.org", count=2)
    assert "expires on Thursday 25 March 2027, 17:00 GMT" in body_of(messages[-1])
    # A date that is not one, or is past, comes back with what was typed.
    for typed, error in (
        ("31/03/2027", "Enter a real date, like 2027-03-31"),
        ("2020-01-01", "The date the invitations expire must be today or later"),
    ):
        r, page = await invite(ob, c, emails="cat@example.org", expires_on=typed)
        assert r.status == 422 and error in page and f'value="{typed}"' in page
    assert await pool.fetchval("SELECT count(*) FROM invitations") == 2


async def test_inviting_to_a_draft_conference_asks_first(world, pool, browser_factory, mailbox):
    c = await _march_2027(world, pool, published=False)
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])
    _, page = await ob.get(f"/c/{c['slug']}/invitations")
    assert "This conference is still a draft" in page
    r, page = await invite(ob, c, emails="ann@example.org, bob@example.org")
    assert r.status == 422
    assert "Tick the box to send the invitations anyway, or publish the conference first" in page
    assert "ann@example.org, bob@example.org</textarea>" in page
    assert await pool.fetchval("SELECT count(*) FROM invitations") == 0
    r, _ = await invite(ob, c, emails="ann@example.org, bob@example.org", confirm_draft="on")
    assert r.status == 303 and r.headers["Location"].endswith("?done=sent&count=2")
    # The role form asks too, for someone who is not a member; not for an organiser.
    r, page = await ob.post(
        f"/c/{c['slug']}/manage/roles", {"role_email": "cat@example.org", "role_role": "speaker"}
    )
    assert r.status == 422 and 'href="#role_confirm_draft"' in page
    assert ">cat@example.org</textarea>" in page
    r, _ = await ob.post(
        f"/c/{c['slug']}/manage/roles",
        {"role_email": "cat@example.org", "role_role": "speaker", "role_confirm_draft": "on"},
    )
    assert r.status == 303 and "done=role-invited" in r.headers["Location"]
    r, _ = await ob.post(
        f"/c/{c['slug']}/manage/roles", {"role_email": "dan@example.org", "role_role": "organiser"}
    )
    assert r.status == 303
    assert await pool.fetchval("SELECT count(*) FROM invitations") == 4


async def test_publishing_a_draft_and_sending_its_invitations_in_one_go(
    world, pool, browser_factory, mailbox
):
    """The draft's warning offers "Publish the conference and send": the publish service,
    then the invitations; nothing is published while the invitations cannot be sent."""
    c = await _march_2027(world, pool, published=False)
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])
    _, page = await ob.get(f"/c/{c['slug']}/invitations")
    assert 'name="publish" value="yes">Publish the conference and send</button>' in page
    # An empty box: nothing to send, so nothing is published either.
    r, page = await invite(ob, c, emails="", publish="yes")
    assert r.status == 422 and "Enter at least one email address" in page
    assert (
        await pool.fetchval("SELECT published_at FROM conferences WHERE id = $1", c["id"]) is None
    )
    r, page = await invite(ob, c, emails="ann@example.org\nbob@example.org", publish="yes")
    assert r.status == 303 and r.headers["Location"].endswith("?done=published-sent&count=2")
    assert await pool.fetchval("SELECT published_at FROM conferences WHERE id = $1", c["id"])
    assert await pool.fetchval("SELECT count(*) FROM invitations") == 2
    _, page = await ob.get(r.headers["Location"])
    assert "The conference is published and the invitations sent." in page
    assert "This conference is still a draft" not in page
    await link_in_email(mailbox, "ann@example.org")
    # The JSON API takes the same flag, through the same service.
    d = await _march_2027(world, pool, published=False)
    (organiser,) = await quick_users(pool, 1, prefix="pub")
    await world.member(d, organiser, "organiser")
    base = f"/api/v1/conferences/{d['slug']}/invitations"
    status, body = await ob.api("POST", base, {"emails": ["cy@example.org"]},
                                token=organiser["token"])  # fmt: skip
    assert status == 422 and "confirm_draft" in body["error"]["fields"]
    status, body = await ob.api("POST", base, {"emails": ["cy@example.org"], "publish": True},
                                token=organiser["token"])  # fmt: skip
    assert status == 201 and body["published"] is True and len(body["invited"]) == 1
    assert await pool.fetchval("SELECT published_at FROM conferences WHERE id = $1", d["id"])


async def test_a_role_invitation_accepted_grants_the_role_with_its_sessions(
    world, pool, browser_factory, mailbox
):
    c = await make_conference(world, pool)
    one = await world.session(c, title="One")
    two = await world.session(c, title="Two")
    o = await organiser_of(world, c)
    ob = await browser_factory(o["email"])
    r, _ = await ob.post(
        f"/c/{c['slug']}/manage/roles",
        {"role_email": "fay@example.org", "role_role": "facilitator", "sessions": str(two["id"])},
    )
    assert r.status == 303 and "done=role-invited" in r.headers["Location"]
    [message] = await mailbox.wait_for("fay@example.org")
    assert "as a facilitator" in body_of(message)
    link = await link_in_email(mailbox, "fay@example.org")
    fay = await browser_factory()
    r, _ = await fay.post(
        link,
        {"name": "Fay", "password": "a long passphrase about rivers", "accept_code_of_conduct": "on"},
    )  # fmt: skip
    assert r.status == 303
    user_id = await pool.fetchval("SELECT id FROM users WHERE email = 'fay@example.org'")
    row = await pool.fetchrow(
        "SELECT role, status, facilitates FROM memberships WHERE user_id = $1", user_id
    )
    assert tuple(row) == ("facilitator", "active", "sessions")
    assert await pool.fetchval(
        "SELECT array_agg(session_id) FROM session_facilitators WHERE user_id = $1", user_id
    ) == [two["id"]]
    assert one["id"] != two["id"]
