"""Registration: joining a conference (open, by approval, by invitation), its capacity and
waitlist, leaving it, and organisers' decisions on requests to join.

Places are handed out one at a time: every change to who holds a place first locks the
conference row (lock_conference: SELECT ... FOR UPDATE) and then counts, in the same
transaction. Whoever frees a place calls settle() under that lock, which promotes the next
people on the waitlist and queues their emails. Never change a membership's status elsewhere
without doing the same. Live events are published only after the commit.

Capacity counts active participants and observers (COUNTED_ROLES); organisers, facilitators
and speakers never take a place. Invitations are admitted even when the conference is full.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from confer import places
from confer.conferences import queries as conferences_q
from confer.context import Ctx
from confer.errors import Conflict, Forbidden, NotFound, Unauthorized
from confer.i18n import N_, _
from confer.live.events import Event, notice_event
from confer.places import Place
from confer.policy import Actor
from confer.registration import emails
from confer.registration import queries as q
from confer.settings import Settings
from confer.sso import queries as sso_q
from confer.urls import url
from confer.validate import Fields

MODES = ("open", "approval", "invite")
MAX_CAPACITY = 1_000_000
# The order of privilege: accepting an invitation never lowers a member's role.
ROLE_RANK = {"organiser": 0, "facilitator": 1, "speaker": 2, "participant": 3, "observer": 4}
LIVE_STATUSES = ("active", "pending", "waitlisted")


@dataclass(frozen=True)
class Registration:
    """One person's registration, as the service left it."""

    conference_id: int
    slug: str
    user_id: int
    role: str
    status: str  # active | pending | waitlisted | declined | removed | left
    waitlist_position: int | None = None

    def json(self) -> dict[str, object]:
        return {
            "conference": self.slug,
            "user_id": self.user_id,
            "role": self.role,
            "status": self.status,
            "waitlist_position": self.waitlist_position,
            "message": message_for(self.status, self.waitlist_position),
            "url": url("conference", slug=self.slug),
        }


STATUS_MESSAGES: dict[str, str] = {
    "active": N_("You are a member of this conference."),
    "pending": N_("Your request to join is awaiting approval by the organisers."),
    "waitlisted": N_("The conference is full. You are number %(position)s on the waitlist."),
    "declined": N_("Your request to join this conference was declined."),
    "removed": N_("You were removed from this conference by its organisers."),
    "left": N_("You have left this conference."),
}


def message_for(status: str, position: int | None) -> str:
    """The sentence for a registration's status, in the reader's language."""
    if status not in STATUS_MESSAGES:
        return ""
    text = _(STATUS_MESSAGES[status])
    return text % {"position": position} if status == "waitlisted" else text


@dataclass(frozen=True)
class Summary:
    """What the conference page tells a visitor about joining."""

    mode: str
    capacity: int | None
    taken: int
    waitlisted: int
    pending: int
    status: str | None  # the visitor's own, if any
    position: int | None
    role: str | None
    done: str | None = None

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.taken >= self.capacity

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.taken, 0)

    @property
    def action(self) -> str | None:
        """What the visitor may do: 'join', 'waitlist', 'request', 'invite_only' or None."""
        if self.status in LIVE_STATUSES or self.status in ("declined", "removed"):
            return None
        if self.mode == "invite":
            return "invite_only"
        if self.mode == "approval":
            return "request"
        return "waitlist" if self.full else "join"


# --- under the conference's lock ----------------------------------------------------------


async def lock_conference(con: asyncpg.Connection, conference_id: int) -> asyncpg.Record:
    """Lock the conference row for this transaction: registrations queue up behind it."""
    row = await q.lock_conference(con, conference_id)
    if row is None:
        raise NotFound()
    return row


async def _offer(con: asyncpg.Connection, conference: asyncpg.Record) -> tuple[str, int | None]:
    """A place if one is free, else the next waitlist position. Needs the lock."""
    capacity = conference["capacity"]
    if capacity is None or await q.count_taken(con, conference["id"]) < capacity:
        return "active", None
    # Close up first: an organiser may have given a waiting person a role meanwhile.
    await q.renumber_waitlist(con, conference["id"])
    return "waitlisted", await q.next_waitlist_position(con, conference["id"])


async def settle(
    con: asyncpg.Connection, settings: Settings, conference: asyncpg.Record
) -> list[asyncpg.Record]:
    """Close up the waitlist and promote as many as there are free places; queue each
    promotion's email (once: its dedupe key names the registration). Needs the lock.

    Returns the promoted members (user_id, email, name). A closed conference promotes nobody.
    """
    cid = conference["id"]
    await q.renumber_waitlist(con, cid)
    if conference["closed"]:
        return []
    capacity = conference["capacity"]
    limit = None if capacity is None else capacity - await q.count_taken(con, cid)
    if limit is not None and limit <= 0:
        return []
    promoted = await q.promote(con, cid, limit)
    if not promoted:
        return []
    for member in promoted:
        stamp = q.dedupe_stamp(member["registered_at"])
        key = f"waitlist_promoted:{cid}:{member['user_id']}:{stamp}"
        await emails.promoted(con, settings, conference=conference, member=member, dedupe_key=key)
    await q.renumber_waitlist(con, cid)
    return promoted


def promotion_events(conference_id: int, promoted: list[asyncpg.Record]) -> list[Event]:
    return [
        notice_event(m["user_id"], "registration.promoted", conference_id=conference_id)
        for m in promoted
    ]


async def admit(
    con: asyncpg.Connection, settings: Settings, conference_id: int, user_id: int, role: str
) -> tuple[str, list[asyncpg.Record]]:
    """Make someone an active member with `role` whatever the capacity (an invitation).

    An existing member keeps a more privileged role. Removed members are refused. Returns
    the role they now hold and anyone promoted meanwhile (none, unless places were free).
    """
    conference = await lock_conference(con, conference_id)
    current = await q.fetch_member_for_update(con, conference_id, user_id)
    if current is not None and current["status"] == "removed":
        raise Forbidden(
            _(
                "You were removed from this conference by its organisers, so this invitation "
                "cannot be used. Contact the organisers."
            )
        )
    if (
        current is not None
        and current["status"] == "active"
        and ROLE_RANK[current["role"]] <= ROLE_RANK[role]
    ):
        role = current["role"]
    await q.upsert_registration(con, conference_id, user_id, role, "active", None)
    promoted = await settle(con, settings, conference)
    return role, promoted


async def grant_role(
    con: asyncpg.Connection, conference_id: int, user_id: int, role: str, session_ids: list[int]
) -> None:
    """The one way a role is given, with a facilitator's sessions (none: the whole conference)
    or a speaker's panels: the role form for a member (conferences.service.assign_role) and
    an accepted invitation that carries the role (invitations.accept) both end here."""
    facilitates = "sessions" if role == "facilitator" and session_ids else "conference"
    await conferences_q.upsert_membership(con, conference_id, user_id, role, facilitates)
    await conferences_q.apply_role_sessions(con, conference_id, user_id, role, session_ids)


async def change_settings(
    con: asyncpg.Connection,
    settings: Settings,
    conference_id: int,
    registration: str,
    capacity: int | None,
) -> list[asyncpg.Record]:
    """Set how people join and the capacity; a larger capacity promotes as many as fit.

    Called inside the conference editor's transaction. A smaller capacity removes nobody:
    new registrations wait until enough members have left.
    """
    # The UPDATE takes the row's lock, as lock_conference does; then read it back.
    await q.update_settings(con, conference_id, registration, capacity)
    conference = await lock_conference(con, conference_id)
    return await settle(con, settings, conference)


def check_settings(
    f: Fields, data: dict[str, object], current: asyncpg.Record | None = None
) -> tuple[str, int | None]:
    """Read registration mode and capacity from a form; absent fields keep `current`'s."""
    cur_mode = current["registration"] if current is not None else "open"
    cur_cap = current["capacity"] if current is not None else None
    mode = f.choice(
        "registration",
        data.get("registration") or cur_mode,
        MODES,
        required=N_("Select how people join"),
    )
    if "capacity" not in data:
        return mode, cur_cap
    raw = data.get("capacity")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return mode, None
    text = str(raw).strip()
    if isinstance(raw, bool) or not (text.isascii() and text.isdigit()):
        f.add("capacity", _("Capacity must be a whole number of places, like 100, or left empty"))
        return mode, cur_cap
    capacity = int(text[:12])
    if len(text) > 12 or not 1 <= capacity <= MAX_CAPACITY:
        f.add(
            "capacity",
            _("Capacity must be between 1 and %(max)s, or left empty")
            % {"max": f"{MAX_CAPACITY:,}"},
        )
        return mode, cur_cap
    return mode, capacity


# --- registering and leaving --------------------------------------------------------------


async def register(
    ctx: Ctx, actor: Actor, slug: str, accept_code_of_conduct: object
) -> Registration:
    """Register for a conference: a place (open, while places last), the waitlist (open and
    full), or a request for the organisers (approval). Registering again changes nothing."""
    if not actor.authenticated:
        raise Unauthorized(_("Sign in or create an account to join."))
    assert actor.user_id is not None
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    c = place.conference
    existing = await q.fetch_member(ctx.pool, place.id, actor.user_id)
    if existing is not None and existing["status"] in LIVE_STATUSES:
        return _registration(place, actor.user_id, existing)
    _check_may_register(c, existing, closed=c["state"] == "closed")
    f = Fields()
    if not f.boolean(accept_code_of_conduct):
        f.add("accept_code_of_conduct", _("Confirm that you accept the code of conduct"))
    f.raise_if_any()
    async with ctx.pool.acquire() as con, con.transaction():
        conference = await lock_conference(con, place.id)
        member = await q.fetch_member_for_update(con, place.id, actor.user_id)
        if member is not None and member["status"] in LIVE_STATUSES:
            return _registration(place, actor.user_id, member)  # a double submission
        _check_may_register(conference, member, closed=conference["closed"])
        if conference["registration"] == "approval" and not await sso_q.member_vouched_for(
            con, place.id, actor.user_id
        ):
            # Approval, unless a sign-in provider vouches for them under the conference's
            # join rules (a verified email at a chosen domain, or a chosen tenant: confer.sso).
            status, position = "pending", None
        else:
            status, position = await _offer(con, conference)
        # Someone who left and comes back gets the role they had, never a better one: an
        # observer who leaves and registers again is still an observer.
        role = member["role"] if member is not None else "participant"
        await q.upsert_registration(con, place.id, actor.user_id, role, status, position)
        if status == "pending":
            await emails.join_request(
                con, ctx.settings, conference=c, requester=actor.name,
                organisers=await q.list_organisers_to_tell(con, place.id),
            )  # fmt: skip
        elif status == "active":
            # A place at once: confirmed by email, with the programme for their calendar.
            await emails.joined(con, ctx.settings, conference=conference, user_id=actor.user_id)
    return Registration(place.id, slug, actor.user_id, role, status, position)


def _check_may_register(
    conference: asyncpg.Record, member: asyncpg.Record | None, *, closed: bool
) -> None:
    if conference["published_at"] is None:
        raise Forbidden(
            _("This conference is not published yet, so it is not taking registrations.")
        )
    if closed:
        raise Conflict(_("This conference has closed, so it is not taking new members."))
    if member is not None and member["status"] == "removed":
        raise Forbidden(_("You were removed from this conference by its organisers."))
    if member is not None and member["status"] == "declined":
        raise Forbidden(
            _(
                "Your request to join this conference was declined. Contact the organisers if "
                "you think this is a mistake."
            )
        )
    if conference["registration"] == "invite":
        raise Forbidden(
            _(
                "This conference is by invitation only. If you were invited, use the link in "
                "your invitation email."
            )
        )


def _registration(place: Place, user_id: int, row: asyncpg.Record) -> Registration:
    return Registration(
        place.id, place.conference["slug"], user_id, row["role"], row["status"],
        row["waitlist_position"],
    )  # fmt: skip


async def leave(ctx: Ctx, actor: Actor, slug: str) -> Registration:
    """Leave the conference, leave its waitlist, or withdraw a request. A freed place goes to
    the next person on the waitlist in the same transaction."""
    if not actor.authenticated:
        raise Unauthorized(_("Sign in to do that."))
    assert actor.user_id is not None
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    async with ctx.pool.acquire() as con, con.transaction():
        conference = await lock_conference(con, place.id)
        member = await q.fetch_member_for_update(con, place.id, actor.user_id)
        if member is None or member["status"] not in LIVE_STATUSES:
            raise Conflict(_("You are not registered for this conference."))
        if member["role"] == "organiser" and member["status"] == "active":
            raise Forbidden(
                _(
                    "Organisers cannot leave their own conference. Ask another organiser to "
                    "change your role first."
                )
            )
        await q.set_status(con, place.id, actor.user_id, "left", None)
        promoted = await settle(con, ctx.settings, conference)
    await ctx.hub.publish(promotion_events(place.id, promoted))
    if member["status"] == "active":
        # Their open tabs stop receiving the conference; they reconnect as a non-member.
        await ctx.hub.disconnect_user(actor.user_id)
    return Registration(place.id, slug, actor.user_id, member["role"], "left", None)


# --- organisers: requests and the waitlist ------------------------------------------------


# What only organisers may do, each refusal a whole sentence (manage_place's `what`).
ORGANISERS_ONLY: dict[str, str] = {
    "invite people": N_("Only the conference's organisers can invite people."),
    "see invitations": N_("Only the conference's organisers can see invitations."),
    "resend invitations": N_("Only the conference's organisers can resend invitations."),
    "withdraw invitations": N_("Only the conference's organisers can withdraw invitations."),
    "approve or decline requests": N_(
        "Only the conference's organisers can approve or decline requests."
    ),
    "see requests to join": N_("Only the conference's organisers can see requests to join."),
}


async def manage_place(ctx: Ctx, actor: Actor, slug: str, what: str) -> Place:
    """The conference for an organiser; a clear 403 for anyone else who can see it. `what`
    is one of ORGANISERS_ONLY's keys."""
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    if not actor.authenticated:
        raise Unauthorized(_("Sign in to do that."))
    if not place.can("conference.manage"):
        raise Forbidden(_(ORGANISERS_ONLY[what]))
    return place


DECIDED: dict[str, str] = {
    "active": N_("That request has already been decided (active)."),
    "waitlisted": N_("That request has already been decided (waitlisted)."),
    "declined": N_("That request has already been decided (declined)."),
}


async def decide(
    ctx: Ctx, actor: Actor, slug: str, user_id: int, approve: bool, data: dict[str, object]
) -> Registration:
    """Approve a request (a place if one is free, else the waitlist) or decline it, with an
    optional message; either way the person is emailed."""
    place = await manage_place(ctx, actor, slug, "approve or decline requests")
    f = Fields()
    message = f.text(
        "message",
        data.get("message"),
        required=None,
        too_long=N_("Message must be %(max)s characters or fewer"),
        max_len=2000,
    )
    f.raise_if_any()
    async with ctx.pool.acquire() as con, con.transaction():
        conference = await lock_conference(con, place.id)
        member = await q.fetch_member_for_update(con, place.id, user_id)
        if member is None or member["status"] != "pending":
            if member is not None and member["status"] in ("active", "waitlisted", "declined"):
                raise Conflict(_(DECIDED[member["status"]]))
            raise NotFound(_("There is no request from that person waiting for a decision."))
        if approve:
            status, position = await _offer(con, conference)
        else:
            status, position = "declined", None
        await q.set_decision(con, place.id, user_id, status, position, actor.user_id)
        outcome = {"active": "approved", "waitlisted": "waitlisted"}.get(status, "declined")
        await emails.decision(
            con, ctx.settings, conference=conference, member=member, outcome=outcome,
            position=position, message=message,
        )  # fmt: skip
    await ctx.hub.publish(
        [notice_event(user_id, f"registration.{outcome}", conference_id=place.id)]
    )
    return Registration(place.id, slug, user_id, member["role"], status, position)


async def requests(ctx: Ctx, actor: Actor, slug: str) -> tuple[Place, dict[str, list]]:
    """Pending requests and the waitlist, in order, for the organisers."""
    place = await manage_place(ctx, actor, slug, "see requests to join")
    return place, {
        "pending": await q.list_by_status(ctx.pool, place.id, "pending"),
        "waitlisted": await q.list_by_status(ctx.pool, place.id, "waitlisted"),
    }


async def summary(ctx: Ctx, place: Place, *, done: str | None = None) -> Summary:
    c = place.conference
    n = await q.counts(ctx.pool, place.id)
    mine = None
    if place.actor.user_id is not None:
        mine = await q.fetch_member(ctx.pool, place.id, place.actor.user_id)
    return Summary(
        mode=c["registration"],
        capacity=c["capacity"],
        taken=n["taken"],
        waitlisted=n["waitlisted"],
        pending=n["pending"],
        status=mine["status"] if mine else None,
        position=mine["waitlist_position"] if mine else None,
        role=mine["role"] if mine else None,
        done=done,
    )


async def mine(ctx: Ctx, actor: Actor, slug: str) -> Registration | None:
    if not actor.authenticated:
        raise Unauthorized(_("Sign in, or send an API token."))
    assert actor.user_id is not None
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    row = await q.fetch_member(ctx.pool, place.id, actor.user_id)
    return None if row is None else _registration(place, actor.user_id, row)
