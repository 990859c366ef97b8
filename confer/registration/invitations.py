"""Invitations: organisers invite people by email with a role; the link in the email lets
them join in one step, with the account they have or a new one.

A token is random (128 bits) and only its SHA-256 is stored; a resend replaces it, so the old
link stops working. An invitation is single use and lasts until the conference ends, or the
date the organiser chose (queries.DEFAULT_EXPIRY: INVITATION_DAYS after sending for a
conference already over). Sending for a draft conference asks for a confirmation first
(check_draft), or publishes it first when asked (`publish`). Accepting admits the person
whatever the capacity: an invitation is the organisers' explicit choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from confer.accounts import passwords
from confer.accounts import queries as accounts_q
from confer.accounts.service import hash_token, new_token
from confer.conferences import publishing
from confer.context import Ctx
from confer.errors import Conflict, Invalid, NotFound
from confer.i18n import N_, _
from confer.places import Place
from confer.policy import Actor
from confer.registration import addresses, emails
from confer.registration import queries as q
from confer.registration import service as registration
from confer.registration.addresses import Invitee, Problem
from confer.urls import url
from confer.validate import Fields

INVITATION_DAYS = 14  # after sending, for a conference that has already ended
MAX_PER_BATCH = 2000
MAX_PASTED_CHARS = 200_000
LIST_LIMIT = 2000


@dataclass
class InviteResult:
    """What one submission did: who was invited, who was skipped and why, bad CSV rows."""

    invited: list[dict] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # CSV rows that could not be read
    refused: list[Problem] = field(default_factory=list)  # pasted text that is no address
    published: bool = False  # the draft conference was published first (`publish`)

    def json(self) -> dict[str, object]:
        def rows(items: list[Problem]) -> list[dict[str, str]]:
            return [{"where": p.where, "text": p.text, "reason": p.reason} for p in items]

        return {
            "invited": self.invited,
            "skipped": rows(self.skipped),
            "problems": rows(self.problems),
            "refused": rows(self.refused),
            "published": self.published,
        }

    def refused_text(self) -> str:
        """The refused entries, one a line: what goes back in the box to correct."""
        return "\n".join(p.text for p in self.refused)


async def invite(
    ctx: Ctx,
    actor: Actor,
    slug: str,
    data: dict[str, object],
    csv_data: bytes | str | None = None,
) -> InviteResult:
    """Invite the addresses in `data["emails"]` (pasted) and the rows of a CSV file.

    A malformed pasted address is listed back in `refused` with its reason (the page puts
    those back in the box to correct) and the good ones are invited; a bad CSV row is
    reported with its line number and the good rows are invited. An address listed twice is
    invited once; an active member is skipped; an address with an unused invitation gets a
    fresh one (the old link stops working). For a draft conference, `publish` (true) publishes
    it first, through the publish service, once the addresses are read and someone is to be
    invited; otherwise `confirm_draft` must say to send anyway (check_draft).
    """
    place = await registration.manage_place(ctx, actor, slug, "invite people")
    f = Fields()
    role = f.choice(
        "role", data.get("role") or "participant", addresses.ROLES, required=N_("Select role")
    )
    raw = data.get("emails")
    if isinstance(raw, list):
        raw = "\n".join(str(x) for x in raw)
    pasted = f.text(
        "emails",
        raw,
        required=None,
        too_long=N_("Email addresses must be %(max)s characters or fewer"),
        max_len=MAX_PASTED_CHARS,
    )
    expires_at = await check_expiry(ctx, f, data, place)
    # "Publish the conference and send": the draft's warning answered by publishing it.
    publish = place.conference["published_at"] is None and f.boolean(data.get("publish"))
    if not publish:
        check_draft(f, data, place)
    f.raise_if_any()
    people, bad = addresses.parse_pasted(pasted)
    # A bad pasted address never refuses the good ones: they are invited and the bad are
    # listed back, with their reasons, for the organiser to correct (InviteResult.refused).
    result = InviteResult(refused=bad)
    if csv_data:
        rows, result.problems = addresses.parse_csv(csv_data)
        people += rows
        if not rows and not result.problems:
            f.add("csv", _("The CSV file is empty: it needs a column of email addresses"))
    elif csv_data is not None and not people and not bad:
        f.add("csv", _("The CSV file is empty: it needs a column of email addresses"))
    if not people and not bad and not result.problems and not f.errors:
        f.add("emails", _("Enter at least one email address, or choose a CSV file"))
    if len(people) > MAX_PER_BATCH:
        f.add(
            "emails",
            _("Invite at most %(max)s people at a time") % {"max": f"{MAX_PER_BATCH:,}"},
        )
    f.raise_if_any()
    if publish and people:
        # Through the publish service (its permission check and live event), once the
        # invitations are known to be good; then they are sent as for a published one.
        await publishing.set_published(ctx, actor, slug, True)
        result.published = True
    unique: dict[str, Invitee] = {}
    for person in people:
        key = person.email.lower()
        if key in unique:
            result.skipped.append(
                Problem(
                    person.where,
                    person.email,
                    _("is listed more than once: invited once"),
                    "duplicate",
                )
            )
        else:
            unique[key] = person
    async with ctx.pool.acquire() as con, con.transaction():
        members = await q.active_member_emails(con, place.id, list(unique))
        for key, person in unique.items():
            if key in members:
                result.skipped.append(
                    Problem(
                        person.where,
                        person.email,
                        _("is already a member of the conference"),
                        "member",
                    )
                )
                continue
            row, token = await _issue(
                con, place.id, actor, person, person.role or role, expires_at=expires_at
            )
            await emails.invitation(
                con, ctx.settings, conference=place.conference, invitation=row, token=token,
                inviter_name=actor.name,
            )  # fmt: skip
            result.invited.append(invitation_json(slug, row) | {"renewed": row["renewed"]})
    return result


async def _issue(
    con: asyncpg.Connection,
    conference_id: int,
    actor: Actor,
    person: Invitee,
    role: str,
    session_ids: list[int] | None = None,
    *,
    expires_at: datetime | None = None,
) -> tuple[asyncpg.Record, str]:
    token = new_token()
    row = await q.upsert_invitation(
        con, conference_id, person.email, person.name, role, hash_token(token), actor.user_id,
        expires_at, session_ids,
    )  # fmt: skip
    return row, token


def check_draft(f: Fields, data: dict[str, object], place: Place) -> None:
    """Sending invitations for a conference still in draft asks first: the invited can
    accept, but see nothing until it is published. `confirm_draft` on the form (a tick
    box) or in the JSON body says to send anyway."""
    if place.conference["published_at"] is None and not f.boolean(data.get("confirm_draft")):
        f.add(
            "confirm_draft",
            _(
                "This conference is still a draft: the people you invite can accept, but "
                "cannot see it until you publish it. Tick the box to send the invitations "
                "anyway, or publish the conference first"
            ),
        )


async def check_expiry(
    ctx: Ctx, f: Fields, data: dict[str, object], place: Place
) -> datetime | None:
    """The date chosen on the form (`expires_on`, YYYY-MM-DD): the link works until the end
    of that day in the conference's timezone. None (no date): until the conference ends."""
    raw = f.text(
        "expires_on",
        data.get("expires_on"),
        required=None,
        too_long=N_("Enter a real date, like 2027-03-31"),
        max_len=10,
    )
    if not raw or "expires_on" in f.errors:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        f.add("expires_on", _("Enter a real date, like 2027-03-31"))
        return None
    ends = datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(place.tz))
    if ends <= await ctx.pool.fetchval("SELECT now()"):
        f.add("expires_on", _("The date the invitations expire must be today or later"))
        return None
    return ends


async def invite_with_role(
    ctx: Ctx,
    con: asyncpg.Connection,
    place: Place,
    actor: Actor,
    email: str,
    role: str,
    session_ids: list[int],
    data: dict[str, object],
) -> None:
    """The role form, for an address that is not a member yet: an invitation carrying the role
    (and a facilitator's or speaker's sessions), which takes effect when they accept it
    (accept() grants it through registration.service.grant_role, as the form does for a
    member). Nobody is enrolled without their consent, and the organiser is not told whether
    the address has an account. For a draft conference `data` must confirm (check_draft)."""
    f = Fields()
    if role != "organiser":  # organisers see a draft: nothing to warn about
        check_draft(f, data, place)
    f.raise_if_any()
    await send_role_invitation(ctx, con, place.conference, actor, email, role, session_ids)


async def send_role_invitation(
    ctx: Ctx,
    con: asyncpg.Connection,
    conference: asyncpg.Record,
    actor: Actor,
    email: str,
    role: str,
    session_ids: list[int],
) -> None:
    """Write and send one invitation with its role, in the caller's transaction (the role
    form; a new conference's organisers without an account)."""
    person = Invitee(email=email, name="", role=role, where=email)
    row, token = await _issue(con, conference["id"], actor, person, role, session_ids)
    await emails.invitation(
        con, ctx.settings, conference=conference, invitation=row, token=token,
        inviter_name=actor.name,
    )  # fmt: skip


def invitation_json(slug: str, row: asyncpg.Record) -> dict[str, object]:
    return {
        "id": row["id"],
        "email": row["email"],
        "name": row["name"],
        "role": row["role"],
        "status": row["state"],
        "created_at": row["created_at"].isoformat(),
        "sent_at": row["sent_at"].isoformat(),
        "send_count": row["send_count"],
        "expires_at": row["expires_at"].isoformat(),
        "accepted_at": row["accepted_at"].isoformat() if row["accepted_at"] else None,
        "url": f"{url('invitations', slug=slug)}#invitation-{row['id']}",
    }


async def list_invitations(ctx: Ctx, actor: Actor, slug: str) -> tuple[Place, list]:
    place = await registration.manage_place(ctx, actor, slug, "see invitations")
    return place, await q.list_invitations(ctx.pool, place.id, LIST_LIMIT)


async def resend(ctx: Ctx, actor: Actor, slug: str, invitation_id: int) -> asyncpg.Record:
    """Send an unused invitation again with a new link (the old one stops working) and a
    new expiry."""
    place = await registration.manage_place(ctx, actor, slug, "resend invitations")
    async with ctx.pool.acquire() as con, con.transaction():
        row = await _invitation_for_update(con, place, invitation_id)
        if row["state"] == "accepted":
            raise Conflict(
                _("%(email)s has already accepted this invitation.") % {"email": row["email"]}
            )
        if row["state"] == "revoked":
            raise Conflict(
                _(
                    "The invitation to %(email)s was withdrawn. Invite the address again to "
                    "send a new one."
                )
                % {"email": row["email"]}
            )
        token = new_token()
        row = await q.renew_invitation(con, row["id"], hash_token(token))
        await emails.invitation(
            con, ctx.settings, conference=place.conference, invitation=row, token=token,
            inviter_name=actor.name,
        )  # fmt: skip
    return row


async def revoke(ctx: Ctx, actor: Actor, slug: str, invitation_id: int) -> asyncpg.Record:
    """Withdraw an unused invitation: its link stops working."""
    place = await registration.manage_place(ctx, actor, slug, "withdraw invitations")
    async with ctx.pool.acquire() as con, con.transaction():
        row = await _invitation_for_update(con, place, invitation_id)
        if row["state"] == "accepted":
            raise Conflict(
                _("%(email)s has already accepted this invitation.") % {"email": row["email"]}
            )
        if row["state"] != "revoked":
            row = await q.revoke_invitation(con, row["id"])
    return row


async def _invitation_for_update(
    con: asyncpg.Connection, place: Place, invitation_id: int
) -> asyncpg.Record:
    row = await q.fetch_invitation_for_update(con, invitation_id, place.id)
    if row is None:
        raise NotFound(_("There is no such invitation for this conference."))
    return row


# --- the link in the email ---------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """An invitation as its link shows it. `problem` is None when it can be accepted."""

    invitation: asyncpg.Record | None
    conference: asyncpg.Record | None
    problem: str | None  # 'unknown' | 'revoked' | 'accepted' | 'expired'
    account_exists: bool = False  # the invited address has an account: sign in to accept


async def open_link(ctx: Ctx, token: str) -> Opened:
    """What the link leads to. The token is the credential: whoever holds it may see the
    conference's name and the role offered, even for a conference still in draft."""
    row = await q.fetch_invitation_by_token(ctx.pool, hash_token(token)) if token else None
    if row is None:
        return Opened(None, None, "unknown")
    conference = await q.fetch_conference(ctx.pool, row["conference_id"])
    problem = None if row["state"] == "pending" else row["state"]
    account = await accounts_q.fetch_user_by_email(ctx.pool, row["email"])
    return Opened(row, conference, problem, account is not None)


@dataclass(frozen=True)
class Accepted:
    slug: str
    user_id: int
    role: str
    new_account: bool
    visible: bool  # whether the conference's page is open to them yet (a draft is not)


# Marked only: translate where shown, `_(PROBLEMS[key])`.
PROBLEMS = {
    "unknown": N_(
        "This invitation link is not valid. It may have been mistyped, or replaced by a "
        "newer invitation: use the link in the most recent email."
    ),
    "revoked": N_("This invitation has been withdrawn by the organisers."),
    "accepted": N_("This invitation has already been used."),
    "expired": N_("This invitation has expired. Ask the organisers to send you a new one."),
}


async def accept(ctx: Ctx, actor: Actor, token: str, data: dict[str, object]) -> Accepted:
    """Accept: join with the invited role, accepting the code of conduct. Someone not signed
    in creates their account (email fixed by the invitation) in the same step."""
    opened = await open_link(ctx, token)
    if opened.problem == "unknown":
        raise NotFound(_(PROBLEMS["unknown"]))
    if opened.problem is not None:
        raise Conflict(_(PROBLEMS[opened.problem]))
    assert opened.invitation is not None
    f = Fields()
    new_account = None
    if not actor.authenticated:
        new_account = _check_account(f, data, opened.invitation["email"])
    if not f.boolean(data.get("accept_code_of_conduct")):
        f.add("accept_code_of_conduct", _("Confirm that you accept the code of conduct"))
    f.raise_if_any()
    password_hash = None
    if new_account is not None:
        password_hash = await passwords.hash_password(new_account["password"])
    promoted: list[asyncpg.Record] = []
    async with ctx.pool.acquire() as con, con.transaction():
        row = await q.fetch_invitation_by_token(con, hash_token(token), for_update=True)
        if row is None:
            raise NotFound(_(PROBLEMS["unknown"]))
        if row["state"] != "pending":
            raise Conflict(_(PROBLEMS[row["state"]]))
        if new_account is not None:
            try:
                user = await accounts_q.insert_user(
                    con, row["email"], new_account["name"], new_account["title"],
                    new_account["organisation"], password_hash, False,
                )  # fmt: skip
            except asyncpg.UniqueViolationError:
                raise Invalid(
                    fields={
                        "email": _(
                            "There is already an account with this email address: sign in "
                            "to accept the invitation"
                        )
                    }
                ) from None
            user_id = user["id"]
        else:
            assert actor.user_id is not None
            user_id = actor.user_id
        role, promoted = await registration.admit(
            con, ctx.settings, row["conference_id"], user_id, row["role"]
        )
        if role == row["role"]:
            # The invited role, with the role form's sessions, by the one path that gives a
            # role (a member who already held a higher one keeps it, as admit decided).
            await registration.grant_role(
                con, row["conference_id"], user_id, role, list(row["session_ids"] or [])
            )
        await q.accept_invitation(con, row["id"], user_id)
    assert opened.conference is not None
    await ctx.hub.publish(registration.promotion_events(row["conference_id"], promoted))
    visible = opened.conference["published_at"] is not None or role == "organiser"
    return Accepted(opened.conference["slug"], user_id, role, new_account is not None, visible)


def _check_account(f: Fields, data: dict[str, object], email: str) -> dict[str, str]:
    name = f.text(
        "name",
        data.get("name"),
        required=N_("Enter display name"),
        too_long=N_("Display name must be %(max)s characters or fewer"),
        max_len=100,
    )
    title = f.text(
        "title",
        data.get("title"),
        required=None,
        too_long=N_("Title must be %(max)s characters or fewer"),
        max_len=100,
    )
    organisation = f.text(
        "organisation",
        data.get("organisation"),
        required=None,
        too_long=N_("Organisation must be %(max)s characters or fewer"),
        max_len=200,
    )
    password = f.text(
        "password",
        data.get("password"),
        required=N_("Enter password"),
        too_long=N_("Password must be %(max)s characters or fewer"),
        strip=False,
        max_len=128,
    )
    if "password" not in f.errors:
        if msg := passwords.problem(password, email=email, name=name):
            f.add("password", msg)
    return {"name": name, "title": title, "organisation": organisation, "password": password}
