"""Registration and invitations in the JSON API (/api/v1), documented in confer/api/openapi.py.

The same service functions as the pages; errors are {"error": {"code", "message", "fields"}}.
"""

from __future__ import annotations

from aiohttp import web

from confer.keys import actor_key, ctx_key
from confer.registration import invitations
from confer.registration import service as registration
from confer.web import int_param, json_response, read_json

API = "/api/v1"


def _slug(request: web.Request) -> str:
    return request.match_info["slug"]


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


async def show_registration(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    mine = await registration.mine(ctx, request[actor_key], _slug(request))
    if mine is None:
        return json_response({"conference": _slug(request), "status": None, "role": None,
                              "waitlist_position": None, "message": "You have not registered.",
                              "url": f"/c/{_slug(request)}"})  # fmt: skip
    return json_response(mine.json())


async def register(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    done = await registration.register(
        ctx, request[actor_key], _slug(request), body.get("accept_code_of_conduct")
    )
    return json_response(done.json())


async def cancel(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    done = await registration.leave(ctx, request[actor_key], _slug(request))
    return json_response(done.json())


async def list_registrations(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place, lists = await registration.requests(ctx, request[actor_key], _slug(request))
    s = await registration.summary(ctx, place)
    return json_response(
        {
            "registration": s.mode,
            "capacity": s.capacity,
            "taken": s.taken,
            "pending": [_person(r) for r in lists["pending"]],
            "waitlisted": [_person(r) for r in lists["waitlisted"]],
        }
    )


async def _decide(request: web.Request, approve: bool) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    done = await registration.decide(
        ctx, request[actor_key], _slug(request), int_param(request, "user_id"), approve, body
    )
    return json_response(done.json())


async def approve(request: web.Request) -> web.Response:
    return await _decide(request, True)


async def decline(request: web.Request) -> web.Response:
    return await _decide(request, False)


async def list_invitations(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place, rows = await invitations.list_invitations(ctx, request[actor_key], _slug(request))
    return json_response(
        {"invitations": [invitations.invitation_json(place.conference["slug"], r) for r in rows]}
    )


async def create_invitations(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    csv_text = body.get("csv")
    result = await invitations.invite(
        ctx,
        request[actor_key],
        _slug(request),
        body,
        csv_text if isinstance(csv_text, str) else None,
    )
    return json_response(result.json(), status=201 if result.invited else 200)


async def resend(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    row = await invitations.resend(
        ctx, request[actor_key], _slug(request), int_param(request, "invitation_id")
    )
    return json_response(invitations.invitation_json(_slug(request), row))


async def revoke(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    row = await invitations.revoke(
        ctx, request[actor_key], _slug(request), int_param(request, "invitation_id")
    )
    return json_response(invitations.invitation_json(_slug(request), row))


def setup(app: web.Application) -> None:
    """Added before the API's catch-all 404 (confer/app.py sets up this module first)."""
    r = app.router
    base = f"{API}/conferences/{{slug}}"
    r.add_get(f"{base}/registration", show_registration)
    r.add_post(f"{base}/registration", register)
    r.add_delete(f"{base}/registration", cancel)
    r.add_get(f"{base}/registrations", list_registrations)
    r.add_post(f"{base}/registrations/{{user_id}}/approve", approve)
    r.add_post(f"{base}/registrations/{{user_id}}/decline", decline)
    r.add_get(f"{base}/invitations", list_invitations)
    r.add_post(f"{base}/invitations", create_invitations)
    r.add_post(f"{base}/invitations/{{invitation_id}}/resend", resend)
    r.add_post(f"{base}/invitations/{{invitation_id}}/revoke", revoke)
