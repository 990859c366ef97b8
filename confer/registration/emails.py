"""The emails registration sends: invitations, requests to join (to the organisers), approval
decisions and waitlist promotions.

Each function only composes (confer.mail.render, the one email layout) and queues
(confer.mail.outbox) inside the caller's transaction; the sender delivers after the commit.
Paragraphs are plain text: the layout escapes them in the HTML part.

Each email is written inside `i18n.using(...)` in its recipient's language: the account's
(users.language) where they chose one, else the conference's (conferences.language), so the
layout's greeting and sign-off match the sentences.
"""

from __future__ import annotations

import asyncpg

from confer import i18n, timefmt
from confer.calendars import service as calendars
from confer.i18n import N_, _
from confer.mail import outbox, render
from confer.notifications.emails import deliverable
from confer.registration import queries as q
from confer.settings import Settings
from confer.urls import url

# Whole sentences, one per role: the role's phrase changes with the sentence around it in
# Welsh (mutations), so it is never glued into a sentence.
INVITED_BY: dict[str, str] = {
    "organiser": N_("%(inviter)s invited you to join %(title)s as an organiser."),
    "facilitator": N_("%(inviter)s invited you to join %(title)s as a facilitator."),
    "speaker": N_("%(inviter)s invited you to join %(title)s as a speaker."),
    "participant": N_("%(inviter)s invited you to join %(title)s as a participant."),
    "observer": N_(
        "%(inviter)s invited you to join %(title)s as an observer (you can read but not post)."
    ),
}
INVITED_BY_ORGANISERS: dict[str, str] = {
    "organiser": N_("The organisers invited you to join %(title)s as an organiser."),
    "facilitator": N_("The organisers invited you to join %(title)s as a facilitator."),
    "speaker": N_("The organisers invited you to join %(title)s as a speaker."),
    "participant": N_("The organisers invited you to join %(title)s as a participant."),
    "observer": N_(
        "The organisers invited you to join %(title)s as an observer (you can read but not post)."
    ),
}


def conference_url(settings: Settings, slug: str) -> str:
    return settings.base_url + url("conference", slug=slug)


def _title(conference: asyncpg.Record | dict) -> str:
    """The conference's title in the current language where a bilingual conference has it."""
    return str(i18n.localized(conference, "title"))


async def calendar(
    con: asyncpg.Connection, settings: Settings, conference: asyncpg.Record | dict
) -> list[outbox.Attachment]:
    """The conference's programme as an .ics file, for the member's calendar (issue #24)."""
    ics = await calendars.conference_ics(
        con, conference["id"], _title(conference), settings.base_url
    )
    return [outbox.Attachment("conference.ics", "text/calendar; method=PUBLISH", ics)]


async def invitation(
    con: asyncpg.Connection,
    settings: Settings,
    *,
    conference: asyncpg.Record,
    invitation: asyncpg.Record,
    token: str,
    inviter_name: str,
) -> None:
    """In the invitee's account language if the address has an account that chose one, else
    in the conference's language."""
    link = settings.base_url + url("invitation", token=token)
    tz = conference["timezone"]
    role = invitation["role"]
    code = await q.address_language(con, conference["id"], invitation["email"])
    with i18n.using(code):
        title = _title(conference)
        if inviter_name:
            invited = _(INVITED_BY[role]) % {"inviter": inviter_name, "title": title}
        else:
            invited = _(INVITED_BY_ORGANISERS[role]) % {"title": title}
        email = render.compose(
            settings,
            subject=_("You are invited to %(title)s") % {"title": title},
            to_name=invitation["name"],
            paragraphs=[
                invited,
                _("The conference runs online from %(starts)s to %(ends)s.")
                % {
                    "starts": timefmt.when(conference["starts_at"], tz),
                    "ends": timefmt.when(conference["ends_at"], tz),
                },
                _(
                    "Use the link below to accept. If you do not have an account yet, you can "
                    "create one on the same page: it takes a minute."
                ),
            ],
            action=render.Action(_("Accept the invitation"), link),
            after=[
                _("The link works once and expires on %(when)s.")
                % {"when": timefmt.when(invitation["expires_at"], tz)}
            ],
            reason=_(
                "You are getting this email because an organiser of the conference invited "
                "you. If you do not want to take part, ignore it."
            ),
        )
    await outbox.enqueue(
        con,
        kind="invitation",
        to=invitation["email"],
        to_name=invitation["name"],
        attachments=await calendar(con, settings, conference),
        **email.parts(),
    )


def joined_dedupe_key(conference_id: int, user_id: int) -> str:
    """One confirmation per member and conference, whatever submits the join twice."""
    return f"joined:{conference_id}:{user_id}"


async def joined(
    con: asyncpg.Connection, settings: Settings, *, conference: asyncpg.Record, user_id: int
) -> None:
    """The confirmation of a place taken at once (an open conference), inside the join's
    transaction: the dates, the programme, how to put the sessions in a calendar, and the
    conference's .ics. In the member's language, else the conference's; queued once."""
    user = await con.fetchrow("SELECT email, name FROM users WHERE id = $1", user_id)
    if user is None or not deliverable(user["email"]):
        return
    code = await q.member_language(con, conference["id"], user_id)
    tz = conference["timezone"]
    slug = conference["slug"]
    with i18n.using(code):
        title = _title(conference)
        email = render.compose(
            settings,
            subject=_("You have joined %(title)s") % {"title": title},
            to_name=user["name"],
            paragraphs=[
                _("You have joined %(title)s. Your place is confirmed.") % {"title": title},
                _("The conference runs online from %(starts)s to %(ends)s.")
                % {
                    "starts": timefmt.when(conference["starts_at"], tz),
                    "ends": timefmt.when(conference["ends_at"], tz),
                },
                _(
                    "The programme is attached as a calendar file: open it to add every "
                    "session to your calendar. On the programme, “Add to calendar” adds one "
                    "session at a time."
                ),
                _(
                    "To keep your calendar up to date when the programme changes, star the "
                    "sessions you want to attend and subscribe to your calendar feed: %(url)s"
                )
                % {"url": settings.base_url + url("calendar")},
            ],
            action=render.Action(
                _("See the programme"), settings.base_url + url("programme", slug=slug)
            ),
            reason=_("You are getting this email because you joined the conference."),
        )
    await outbox.enqueue(
        con,
        kind="registration_joined",
        to=user["email"],
        to_name=user["name"],
        user_id=user_id,
        dedupe_key=joined_dedupe_key(conference["id"], user_id),
        attachments=await calendar(con, settings, conference),
        **email.parts(),
    )


async def promoted(
    con: asyncpg.Connection,
    settings: Settings,
    *,
    conference: asyncpg.Record,
    member: asyncpg.Record,
    dedupe_key: str,
) -> None:
    code = await q.member_language(con, conference["id"], member["user_id"])
    with i18n.using(code):
        title = _title(conference)
        email = render.compose(
            settings,
            subject=_("A place has come up at %(title)s") % {"title": title},
            to_name=member["name"],
            paragraphs=[
                _(
                    "A place has come up at %(title)s, and it is yours: you were next on the "
                    "waitlist, so you are now a member of the conference."
                )
                % {"title": title},
                _(
                    "You do not need to do anything else. If you can no longer take part, "
                    "please leave the conference from its page so that the next person can "
                    "have your place."
                ),
            ],
            action=render.Action(
                _("Go to the conference"), conference_url(settings, conference["slug"])
            ),
            reason=_("You are getting this email because you joined the conference's waitlist."),
        )
    await outbox.enqueue(
        con,
        kind="waitlist_promoted",
        to=member["email"],
        to_name=member["name"],
        user_id=member["user_id"],
        dedupe_key=dedupe_key,
        attachments=await calendar(con, settings, conference),
        **email.parts(),
    )


async def join_request(
    con: asyncpg.Connection,
    settings: Settings,
    *,
    conference: asyncpg.Record | dict,
    requester: str,
    organisers: list[asyncpg.Record],
) -> None:
    """Tell each organiser (registration.queries.LIST_ORGANISERS_TO_TELL) that someone asks to
    join a conference that needs their approval: otherwise requests wait unseen. Each in the
    organiser's own language (else the conference's)."""
    for organiser in organisers:
        code = organiser["language"] or await q.conference_language(con, conference["id"])
        with i18n.using(code):
            title = _title(conference)
            names = {"requester": requester, "title": title}
            email = render.compose(
                settings,
                subject=_("%(requester)s asks to join %(title)s") % names,
                to_name=organiser["name"],
                paragraphs=[
                    _(
                        "%(requester)s asked for a place at %(title)s. Each new member of "
                        "this conference needs an organiser's approval."
                    )
                    % names,
                    _(
                        "You can approve or decline the request, with a message if you like, "
                        "on the conference's members page."
                    ),
                ],
                action=render.Action(
                    _("Review requests"),
                    settings.base_url + url("registrations", slug=conference["slug"]),
                ),
                reason=_(
                    "You are getting this email because you organise the conference. To stop "
                    'these emails, choose "No emails" in your notification settings.'
                ),
            )
        await outbox.enqueue(
            con,
            kind="join_request",
            to=organiser["email"],
            to_name=organiser["name"],
            user_id=organiser["user_id"],
            **email.parts(),
        )


async def decision(
    con: asyncpg.Connection,
    settings: Settings,
    *,
    conference: asyncpg.Record,
    member: asyncpg.Record,
    outcome: str,
    position: int | None,
    message: str,
) -> None:
    """outcome: 'approved' (a place), 'waitlisted' (approved, but full), 'declined'. In the
    member's language, else the conference's."""
    code = await q.member_language(con, conference["id"], member["user_id"])
    with i18n.using(code):
        title = _title(conference)
        if outcome == "approved":
            subject = _("Your place at %(title)s is confirmed") % {"title": title}
            paragraphs = [
                _("The organisers approved your request: you are now a member of %(title)s.")
                % {"title": title}
            ]
        elif outcome == "waitlisted":
            subject = _("You are on the waitlist for %(title)s") % {"title": title}
            paragraphs = [
                _(
                    "The organisers approved your request to join %(title)s, but the "
                    "conference is full. You are number %(position)s on the waitlist."
                )
                % {"title": title, "position": position},
                _(
                    "When a place comes up it goes to the next person on the waitlist "
                    "automatically, and we will email you."
                ),
            ]
        else:
            subject = _("Your request to join %(title)s") % {"title": title}
            paragraphs = [
                _("The organisers could not offer you a place at %(title)s.") % {"title": title}
            ]
        if message:
            paragraphs += [_("Their message:"), message]
        email = render.compose(
            settings,
            subject=subject,
            to_name=member["name"],
            paragraphs=paragraphs,
            action=render.Action(
                _("Go to the conference"), conference_url(settings, conference["slug"])
            ),
            reason=_("You are getting this email because you asked to join the conference."),
        )
    await outbox.enqueue(
        con,
        kind=f"registration_{outcome}",
        to=member["email"],
        to_name=member["name"],
        user_id=member["user_id"],
        attachments=(await calendar(con, settings, conference) if outcome == "approved" else ()),
        **email.parts(),
    )
