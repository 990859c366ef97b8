"""Registration and invitations in the JSON API (confer.urls.API), each route declared with
its OpenAPI operation.

The same service functions as the pages; errors are {"error": {"code", "message", "fields"}}.
"""

from __future__ import annotations

from aiohttp import web

from confer.api.openapi import ERROR, ERRORS, INT, SLUG, STR, TIME, id_param, request_body, returns
from confer.i18n import _
from confer.registration import invitations
from confer.registration import service as registration
from confer.routing import Call, Reply, api
from confer.urls import url


def _person(row: object) -> dict[str, object]:
    return {
        "user_id": row["user_id"],  # type: ignore[index]
        "name": row["name"],  # type: ignore[index]
        "email": row["email"],  # type: ignore[index]
        "title": row["title"],  # type: ignore[index]
        "organisation": row["organisation"],  # type: ignore[index]
        "role": row["role"],  # type: ignore[index]
        "status": row["status"],  # type: ignore[index]
        "waitlist_position": row["waitlist_position"],  # type: ignore[index]
        "registered_at": row["registered_at"].isoformat() if row["registered_at"] else None,  # type: ignore[index]
    }


async def show_registration(call: Call) -> dict:
    mine = await registration.mine(call.ctx, call.actor, call.slug)
    if mine is None:
        return {"conference": call.slug, "status": None, "role": None,
                "waitlist_position": None, "message": _("You have not registered."),
                "url": url("conference", slug=call.slug)}  # fmt: skip
    return mine.json()


async def register(call: Call) -> dict:
    done = await registration.register(
        call.ctx, call.actor, call.slug, call.body.get("accept_code_of_conduct")
    )
    return done.json()


async def cancel(call: Call) -> dict:
    done = await registration.leave(call.ctx, call.actor, call.slug)
    return done.json()


async def list_registrations(call: Call) -> dict:
    place, lists = await registration.requests(call.ctx, call.actor, call.slug)
    s = await registration.summary(call.ctx, place)
    return {
        "registration": s.mode,
        "capacity": s.capacity,
        "taken": s.taken,
        "pending": [_person(r) for r in lists["pending"]],
        "waitlisted": [_person(r) for r in lists["waitlisted"]],
    }


async def _decide(call: Call, approve: bool) -> dict:
    done = await registration.decide(
        call.ctx, call.actor, call.slug, call.id("user_id"), approve, call.body
    )
    return done.json()


async def approve(call: Call) -> dict:
    return await _decide(call, True)


async def decline(call: Call) -> dict:
    return await _decide(call, False)


async def list_invitations(call: Call) -> dict:
    place, rows = await invitations.list_invitations(call.ctx, call.actor, call.slug)
    return {"invitations": [invitations.invitation_json(place.conference["slug"], r) for r in rows]}


async def create_invitations(call: Call) -> Reply:
    csv_text = call.body.get("csv")
    result = await invitations.invite(
        call.ctx,
        call.actor,
        call.slug,
        call.body,
        csv_text if isinstance(csv_text, str) else None,
    )
    return Reply(result.json(), 201 if result.invited else 200)


async def resend(call: Call) -> dict:
    row = await invitations.resend(call.ctx, call.actor, call.slug, call.id("invitation_id"))
    return invitations.invitation_json(call.slug, row)


async def revoke(call: Call) -> dict:
    row = await invitations.revoke(call.ctx, call.actor, call.slug, call.id("invitation_id"))
    return invitations.invitation_json(call.slug, row)


# fmt: off
_REGISTRATION = {
    "type": "object",
    "properties": {
        "conference": STR, "user_id": INT, "url": STR, "message": STR,
        "role": {"enum": ["organiser", "facilitator", "speaker", "participant", "observer"]},
        "status": {"enum": ["active", "pending", "waitlisted", "declined", "removed", "left",
                            None]},
        "waitlist_position": {"type": ["integer", "null"],
                              "description": "1 is next in line for a place"},
    },
}
_INVITATION = {
    "type": "object",
    "properties": {
        "id": INT, "email": STR, "name": STR, "role": STR,
        "status": {"enum": ["pending", "accepted", "expired", "revoked"]},
        "created_at": TIME, "sent_at": TIME, "send_count": INT, "expires_at": TIME,
        "accepted_at": {"type": ["string", "null"]}, "url": STR,
    },
}
_MESSAGE_BODY = request_body({
    "type": "object", "properties": {"message": {"type": "string", "maxLength": 2000}}},
    required=False)
_INVITATION_ID = [SLUG, id_param("invitation_id")]
_PROBLEMS = {"type": "array", "items": {"type": "object", "properties": {
    "where": STR, "text": STR, "reason": STR}}}


def setup(app: web.Application) -> None:
    """Added before the API's catch-all 404 (confer/app.py sets up this module first)."""
    base = "/conferences/{slug}"
    api(app, "GET", f"{base}/registration", show_registration, doc={
        "summary": "Your registration: status and waitlist position",
        "parameters": [SLUG], "responses": {"200": returns(_REGISTRATION), **ERRORS}})
    api(app, "POST", f"{base}/registration", register, limit="register", doc={
        "summary": "Register, accepting the code of conduct: a place (open), the "
                   "waitlist (open and full) or a request (approval). Invitation-only "
                   "conferences answer 403.",
        "parameters": [SLUG],
        "requestBody": request_body({
            "type": "object", "required": ["accept_code_of_conduct"],
            "properties": {"accept_code_of_conduct": {"const": True}}}),
        "responses": {"200": returns(_REGISTRATION), "409": ERROR, **ERRORS}})
    api(app, "DELETE", f"{base}/registration", cancel, doc={
        "summary": "Cancel: leave the conference or its waitlist, or withdraw a "
                   "request. A freed place goes to the next on the waitlist.",
        "parameters": [SLUG],
        "responses": {"200": returns(_REGISTRATION), "409": ERROR, **ERRORS}})
    api(app, "GET", f"{base}/registrations", list_registrations, doc={
        "summary": "Organisers: requests awaiting a decision, and the waitlist in order",
        "parameters": [SLUG],
        "responses": {"200": returns({"type": "object", "properties": {
            "registration": STR, "capacity": {"type": ["integer", "null"]}, "taken": INT,
            "pending": {"type": "array"}, "waitlisted": {"type": "array"}}}), **ERRORS}})
    api(app, "POST", f"{base}/registrations/{{user_id}}/approve", approve, doc={
        "summary": "Organisers: approve a request (a place, or the waitlist when full); "
                   "the person is emailed with the optional message",
        "parameters": [SLUG, id_param("user_id")], "requestBody": _MESSAGE_BODY,
        "responses": {"200": returns(_REGISTRATION), "409": ERROR, **ERRORS}})
    api(app, "POST", f"{base}/registrations/{{user_id}}/decline", decline, doc={
        "summary": "Organisers: decline a request; the person is emailed with the message",
        "parameters": [SLUG, id_param("user_id")], "requestBody": _MESSAGE_BODY,
        "responses": {"200": returns(_REGISTRATION), "409": ERROR, **ERRORS}})
    api(app, "GET", f"{base}/invitations", list_invitations, doc={
        "summary": "Organisers: invitations, newest first",
        "parameters": [SLUG],
        "responses": {"200": returns({"type": "object", "properties": {
            "invitations": {"type": "array", "items": _INVITATION}}}), **ERRORS}})
    api(app, "POST", f"{base}/invitations", create_invitations, limit="invite", doc={
        "summary": "Organisers: invite by email. `emails`: addresses (a string "
                   "separated by commas or new lines, or a list); `csv`: the text of "
                   "a CSV file (name, email, role); `role` for the rest. Pasted "
                   "entries that are not addresses (`Name <address>` and Outlook's "
                   "`Surname, Forename <address>; ...` are read) are listed in "
                   "`refused` with a reason and the others invited; bad CSV rows are "
                   "reported in `problems`. Links last until the conference ends, or "
                   "to the end of `expires_on` (YYYY-MM-DD, the conference's "
                   "timezone). For a draft conference `confirm_draft: true` is "
                   "required (422 on `confirm_draft` without it), or `publish: true` "
                   "publishes it first (organisers), once the addresses are read and "
                   "someone is to be invited.",
        "parameters": [SLUG],
        "requestBody": request_body({
            "type": "object", "properties": {
                "emails": {"type": ["string", "array"]}, "csv": STR,
                "expires_on": STR, "confirm_draft": {"type": "boolean"},
                "publish": {"type": "boolean"},
                "role": {"enum": ["participant", "speaker", "facilitator",
                                  "organiser", "observer"]}}}),
        "responses": {
            "201": returns({"type": "object", "properties": {
                "invited": {"type": "array", "items": _INVITATION},
                "skipped": _PROBLEMS, "problems": _PROBLEMS, "refused": _PROBLEMS,
                "published": {"type": "boolean"}}},
                "Invitations sent"),
            "200": returns({"type": "object"}, "Nobody could be invited"),
            **ERRORS}})
    api(app, "POST", f"{base}/invitations/{{invitation_id}}/resend", resend, limit="invite",
        doc={
        "summary": "Organisers: send again with a new link (the old one stops working)",
        "parameters": _INVITATION_ID,
        "responses": {"200": returns(_INVITATION), "409": ERROR, **ERRORS}})
    api(app, "POST", f"{base}/invitations/{{invitation_id}}/revoke", revoke, doc={
        "summary": "Organisers: withdraw an unused invitation",
        "parameters": _INVITATION_ID,
        "responses": {"200": returns(_INVITATION), "409": ERROR, **ERRORS}})
# fmt: on
