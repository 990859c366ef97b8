"""The emails registration sends: invitations, requests to join (to the organisers), approval
decisions and waitlist promotions.

Each function only composes (confer.mail.render, the one email layout) and queues
(confer.mail.outbox) inside the caller's transaction; the sender delivers after the commit.
Paragraphs are plain text: the layout escapes them in the HTML part.
"""

from __future__ import annotations

import asyncpg

from confer import calendars, timefmt
from confer.mail import outbox, render
from confer.settings import Settings
from confer.urls import url

ROLE_PHRASES = {
    "organiser": "an organiser",
    "facilitator": "a facilitator",
    "speaker": "a speaker",
    "participant": "a participant",
    "observer": "an observer (you can read but not post)",
}


def conference_url(settings: Settings, slug: str) -> str:
    return settings.base_url + url("conference", slug=slug)


async def calendar(
    con: asyncpg.Connection, settings: Settings, conference_id: int
) -> list[outbox.Attachment]:
    """The conference's programme as an .ics file, for the member's calendar (issue #24)."""
    ics = await calendars.ics_for_email(con, conference_id, settings.base_url)
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
    link = settings.base_url + url("invitation", token=token)
    title = conference["title"]
    tz = conference["timezone"]
    role = ROLE_PHRASES.get(invitation["role"], invitation["role"])
    email = render.compose(
        settings,
        subject=f"You are invited to {title}",
        to_name=invitation["name"],
        paragraphs=[
            f"{inviter_name or 'The organisers'} invited you to join {title} as {role}.",
            f"The conference runs online from {timefmt.when(conference['starts_at'], tz)} "
            f"to {timefmt.when(conference['ends_at'], tz)}.",
            "Use the link below to accept. If you do not have an account yet, you can create "
            "one on the same page: it takes a minute.",
        ],
        action=render.Action("Accept the invitation", link),
        after=[f"The link works once and expires on {timefmt.when(invitation['expires_at'], tz)}."],
        reason="You are getting this email because an organiser of the conference invited "
        "you. If you do not want to take part, ignore it.",
    )
    await outbox.enqueue(
        con,
        kind="invitation",
        to=invitation["email"],
        to_name=invitation["name"],
        attachments=await calendar(con, settings, conference["id"]),
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
    title = conference["title"]
    email = render.compose(
        settings,
        subject=f"A place has come up at {title}",
        to_name=member["name"],
        paragraphs=[
            f"A place has come up at {title}, and it is yours: you were next on the "
            "waitlist, so you are now a member of the conference.",
            "You do not need to do anything else. If you can no longer take part, please "
            "leave the conference from its page so that the next person can have your place.",
        ],
        action=render.Action("Go to the conference", conference_url(settings, conference["slug"])),
        reason="You are getting this email because you joined the conference's waitlist.",
    )
    await outbox.enqueue(
        con,
        kind="waitlist_promoted",
        to=member["email"],
        to_name=member["name"],
        user_id=member["user_id"],
        dedupe_key=dedupe_key,
        attachments=await calendar(con, settings, conference["id"]),
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
    join a conference that needs their approval: otherwise requests wait unseen."""
    title = conference["title"]
    for organiser in organisers:
        email = render.compose(
            settings,
            subject=f"{requester} asks to join {title}",
            to_name=organiser["name"],
            paragraphs=[
                f"{requester} asked for a place at {title}. Each new member of this "
                "conference needs an organiser's approval.",
                "You can approve or decline the request, with a message if you like, on the "
                "conference's members page.",
            ],
            action=render.Action(
                "Review requests", settings.base_url + url("registrations", slug=conference["slug"])
            ),
            reason="You are getting this email because you organise the conference. To stop "
            'these emails, choose "No emails" in your notification settings.',
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
    """outcome: 'approved' (a place), 'waitlisted' (approved, but full), 'declined'."""
    title = conference["title"]
    if outcome == "approved":
        subject = f"Your place at {title} is confirmed"
        paragraphs = [f"The organisers approved your request: you are now a member of {title}."]
    elif outcome == "waitlisted":
        subject = f"You are on the waitlist for {title}"
        paragraphs = [
            f"The organisers approved your request to join {title}, but the conference is "
            f"full. You are number {position} on the waitlist.",
            "When a place comes up it goes to the next person on the waitlist automatically, "
            "and we will email you.",
        ]
    else:
        subject = f"Your request to join {title}"
        paragraphs = [f"The organisers could not offer you a place at {title}."]
    if message:
        paragraphs += ["Their message:", message]
    email = render.compose(
        settings,
        subject=subject,
        to_name=member["name"],
        paragraphs=paragraphs,
        action=render.Action("Go to the conference", conference_url(settings, conference["slug"])),
        reason="You are getting this email because you asked to join the conference.",
    )
    await outbox.enqueue(
        con,
        kind=f"registration_{outcome}",
        to=member["email"],
        to_name=member["name"],
        user_id=member["user_id"],
        attachments=(
            await calendar(con, settings, conference["id"]) if outcome == "approved" else ()
        ),
        **email.parts(),
    )
