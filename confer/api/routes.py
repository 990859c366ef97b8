"""JSON API v1: the same services as the pages, as JSON.

Authenticated by sign-in cookie plus the X-CSRF-Token header, or by a personal API
token (Authorization: Bearer). Errors are {"error": {"code", "message", "fields"}}.
Handlers are written the one way of confer.routing (`Call` in, JSON out), and each route is
declared with its OpenAPI operation; the other capabilities' API routes are in their modules.
"""

from __future__ import annotations

from aiohttp import web

from confer import places, timefmt
from confer.api.contract import Setting
from confer.api.openapi import (
    ERROR,
    ERRORS,
    INT,
    SLUG,
    STR,
    id_param,
    link,
    linked,
    obj,
    openapi_document,
    ref,
    request_body,
    returns,
)
from confer.conferences import publishing
from confer.conferences import queries as conferences_q
from confer.conferences import service as conferences
from confer.conferences import settings as console_settings
from confer.errors import NotFound, Unauthorized
from confer.i18n import _
from confer.notifications import service as notifications
from confer.places import Place
from confer.posts import service as posts
from confer.registration import service as registration
from confer.routing import API, Call, Reply, api, created, page
from confer.sso import service as sso
from confer.threads import service as threads
from confer.urls import url
from confer.validate import parse_id
from confer.web import json_response


def conference_json(c: object, *, sessions: list | None = None) -> dict:
    """A conference as written: its texts in its `language`, and for a bilingual conference
    the same texts in the other language under `translations` ({"cy": {"title": …}})."""
    c = places.written(c)
    data = {
        "id": c["id"],  # type: ignore[index]
        "slug": c["slug"],  # type: ignore[index]
        "title": c["title"],  # type: ignore[index]
        "state": c["state"],  # type: ignore[index]
        "timezone": c["timezone"],  # type: ignore[index]
        "starts_at": timefmt.iso(c["starts_at"]),  # type: ignore[index]
        "ends_at": timefmt.iso(c["ends_at"]),  # type: ignore[index]
        "visibility": c["visibility"],  # type: ignore[index]
        "registration": c["registration"],  # type: ignore[index]
        "summary_html": c["summary_html"],  # type: ignore[index]
        "code_of_conduct_html": c["code_of_conduct_html"],  # type: ignore[index]
        "language": c["language"],  # type: ignore[index]
        "bilingual": c["bilingual"],  # type: ignore[index]
        "translations": _translations(c, ("title", "summary_html", "code_of_conduct_html")),
        "joining_reveal_minutes": c["joining_reveal_minutes"],  # type: ignore[index]
        "capacity": c["capacity"],  # type: ignore[index]
        "url": url("conference", slug=c["slug"]),  # type: ignore[index]
    }
    if sessions is not None:
        data["sessions"] = [session_json(c, s) for s in sessions]
    return data


def session_json(c: object, s: object) -> dict:
    s = places.written(s)
    return {
        "id": s["id"],  # type: ignore[index]
        "kind": s["kind"],  # type: ignore[index]
        "title": s["title"],  # type: ignore[index]
        "description_html": s["description_html"],  # type: ignore[index]
        "translations": _translations(s, ("title", "description_html")),
        "starts_at": timefmt.iso(s["starts_at"]),  # type: ignore[index]
        "ends_at": timefmt.iso(s["ends_at"]),  # type: ignore[index]
        "state": s["state"],  # type: ignore[index]
        "posting_window": s["posting_window"],  # type: ignore[index]
        "participants_start_threads": s["participants_start_threads"],  # type: ignore[index]
        "url": url("session", slug=c["slug"], session_id=s["id"]),  # type: ignore[index]
    }


def _translations(row: object, fields: tuple[str, ...]) -> dict[str, dict[str, str]]:
    stored = row["translations"] or {}  # type: ignore[index]
    return {code: {f: texts[f] for f in fields if texts.get(f)} for code, texts in stored.items()}


async def create_conference(call: Call) -> object:
    """A site admin creates a draft conference (the same service as the form)."""
    slug = await conferences.create_conference(call.ctx, call.actor, call.body)
    place = await places.load(call.ctx.pool, call.actor, slug, "conference.manage")
    return created(conference_json(place.conference, sessions=[]))


async def update_conference(call: Call) -> dict:
    await conferences.update_conference(call.ctx, call.actor, call.slug, call.body)
    place = await places.load(call.ctx.pool, call.actor, call.slug, "conference.manage")
    return conference_json(place.conference)


async def patch_conference(call: Call) -> dict:
    """Change some of a conference's details: the others stay as they are (the same service
    as the settings form, given the form's current values with the changes)."""
    place = await places.load(call.ctx.pool, call.actor, call.slug, "conference.manage")
    data = {**conferences.conference_form_values(place.conference), **call.body}
    await conferences.update_conference(call.ctx, call.actor, call.slug, data)
    place = await places.load(call.ctx.pool, call.actor, call.slug, "conference.manage")
    return conference_json(place.conference)


async def publish_conference(call: Call) -> dict:
    """PUT {"published": true} to publish a draft, false to make it a draft again."""
    await publishing.set_published(call.ctx, call.actor, call.slug, call.body["published"])
    place = await places.load(call.ctx.pool, call.actor, call.slug, "conference.manage")
    return conference_json(place.conference)


async def list_members(call: Call) -> dict:
    place = await places.load(call.ctx.pool, call.actor, call.slug, "conference.manage")
    rows = await conferences.members(call.ctx, place)
    speaks: dict[int, list[int]] = {}
    for session_id, speakers in (await conferences.speakers_by_session(call.ctx, place)).items():
        for sp in speakers:
            speaks.setdefault(sp["user_id"], []).append(session_id)
    return {"members": [member_json(r, speaks.get(r["user_id"], [])) for r in rows]}


def member_json(r: object, panels: list[int]) -> dict:
    """A member; `session_ids`: a facilitator's sessions, or a speaker's panels."""
    sessions = panels if r["role"] == "speaker" else r["session_ids"]  # type: ignore[index]
    return {
        "user_id": r["user_id"],  # type: ignore[index]
        "name": r["name"],  # type: ignore[index]
        "email": r["email"],  # type: ignore[index]
        "title": r["title"],  # type: ignore[index]
        "organisation": r["organisation"],  # type: ignore[index]
        "role": r["role"],  # type: ignore[index]
        "status": r["status"],  # type: ignore[index]
        "facilitates": r["facilitates"],  # type: ignore[index]
        "session_ids": sorted(sessions),
    }


async def assign_role(call: Call) -> dict:
    """The people form's action: a member's role changes at once; anyone else is invited."""
    given = await conferences.assign_role(call.ctx, call.actor, call.slug, call.body)
    return {**given.json(), "role": call.body["role"]}


async def create_session(call: Call) -> object:
    session_id = await conferences.save_session(call.ctx, call.actor, call.slug, None, call.body)
    place = await places.load(call.ctx.pool, call.actor, call.slug, "conference.manage")
    session = await places.fetch_session(call.ctx.pool, place, session_id)
    return created(session_json(place.conference, session))


async def update_session(call: Call) -> dict:
    place, session_id = await _place_of_session(call)
    await conferences.save_session(
        call.ctx, call.actor, place.conference["slug"], session_id, call.body
    )
    session = await places.fetch_session(call.ctx.pool, place, session_id)
    return session_json(place.conference, session)


async def patch_session(call: Call) -> dict:
    """Change some of a session's details, e.g. move it (starts_at, ends_at)."""
    place, session_id = await _place_of_session(call)
    place.require("conference.manage")
    session = await places.fetch_session(call.ctx.pool, place, session_id)
    data = {**conferences.session_form_values(place.conference, session), **call.body}
    await conferences.save_session(call.ctx, call.actor, place.conference["slug"], session_id, data)
    session = await places.fetch_session(call.ctx.pool, place, session_id)
    return session_json(place.conference, session)


async def delete_session(call: Call) -> Reply:
    place, session_id = await _place_of_session(call)
    await conferences.delete_session(call.ctx, call.actor, place.conference["slug"], session_id)
    return Reply(None, 204)


# --- the console's settings (the same services as its pages: confer.conferences.settings) ---


async def patch_moderation(call: Call) -> dict:
    return await console_settings.save_moderation(call.ctx, call.actor, call.slug, call.body)


async def patch_registration(call: Call) -> dict:
    return await console_settings.save_registration(call.ctx, call.actor, call.slug, call.body)


async def patch_exports(call: Call) -> dict:
    return await console_settings.save_exports(call.ctx, call.actor, call.slug, call.body)


async def patch_panel(call: Call) -> dict:
    place, session_id = await _place_of_session(call)
    saved = await console_settings.save_panel(
        call.ctx, call.actor, place.conference["slug"], session_id, call.body
    )
    return {**saved, "answers_until": timefmt.iso(saved["answers_until"]) or None}


async def list_conferences(call: Call) -> dict:
    rows = await conferences.list_visible(call.ctx, call.actor)
    return {"conferences": [conference_json(c) for c in rows]}


async def show_conference(call: Call) -> dict:
    place = await places.load(call.ctx.pool, call.actor, call.slug)
    sessions = await conferences.programme(call.ctx, place)
    data = conference_json(place.conference, sessions=sessions)
    data["membership"] = (
        {"role": place.member.role, "status": place.member.status} if place.member else None
    )
    return data


async def join(call: Call) -> dict:
    member = await conferences.join(
        call.ctx,
        call.actor,
        call.slug,
        call.body.get("accept_code_of_conduct"),
        call.body.get("email"),
    )
    return {"role": member.role, "status": member.status}


async def _place_of_session(call: Call) -> tuple[Place, int]:
    session_id = call.id("session_id")
    slug = await conferences_q.fetch_slug_of_session(call.ctx.pool, session_id)
    if slug is None:
        raise NotFound()
    place = await places.load(call.ctx.pool, call.actor, slug, "conference.see")
    return place, session_id


async def list_threads(call: Call) -> dict:
    place, session_id = await _place_of_session(call)
    session = await places.fetch_session(call.ctx.pool, place, session_id)
    rows = await threads.list_for_session(call.ctx, place, session)
    return {"threads": [threads.thread_payload(place, t) for t in rows]}


async def create_thread(call: Call) -> object:
    place, session_id = await _place_of_session(call)
    thread_id, _post_id, new = await threads.create_thread(
        call.ctx, call.actor, place.conference["slug"], session_id, call.body
    )
    thread = await places.fetch_thread(call.ctx.pool, place, thread_id)
    return created(threads.thread_payload(place, thread), new)


async def _place_of_thread(call: Call) -> tuple[Place, int]:
    thread_id = call.id("thread_id")
    slug = await conferences_q.fetch_slug_of_thread(call.ctx.pool, thread_id)
    if slug is None:
        raise NotFound()
    place = await places.load(call.ctx.pool, call.actor, slug, "conference.see")
    return place, thread_id


async def show_thread(call: Call) -> dict:
    place, thread_id = await _place_of_thread(call)
    thread = await places.fetch_thread(call.ctx.pool, place, thread_id)
    return threads.thread_payload(place, thread)


async def list_posts(call: Call) -> dict:
    place, thread_id = await _place_of_thread(call)
    await places.fetch_thread(call.ctx.pool, place, thread_id)
    after = call.params.get("after", 0)
    limit = call.params.get("limit", 100)
    listing = await posts.list_after(call.ctx.pool, place, thread_id, after, limit)
    last = after if listing.last_seq is None else listing.last_seq
    return {"posts": listing.posts, "last_seq": last, "more": listing.read == limit}


async def create_post(call: Call) -> object:
    # create_post finds the thread's conference and checks who may see it (a 404 otherwise).
    post, new = await posts.create_post(call.ctx, call.actor, None, call.id("thread_id"), call.body)
    return created(post, new)


async def show_post(call: Call) -> dict:
    place, post = await posts.load_post(call.ctx, call.actor, call.id("post_id"))
    return posts.payload(place, post)


async def edit_post(call: Call) -> dict:
    return await posts.edit_post(call.ctx, call.actor, call.id("post_id"), call.body)


async def delete_post(call: Call) -> dict:
    return await posts.delete_post(call.ctx, call.actor, call.id("post_id"))


async def undelete_post(call: Call) -> dict:
    return await posts.undo_delete(call.ctx, call.actor, call.id("post_id"))


# --- notifications, follows and email preferences (confer.notifications) -----------------


async def list_notifications(call: Call) -> dict:
    before = call.params.get("before", 0)
    limit = call.params.get("limit", 50)
    unread_only = call.params.get("unread", False)
    rows = await notifications.list_notifications(
        call.ctx, call.actor, before=before or None, limit=limit + 1, unread_only=unread_only
    )
    return {
        "notifications": [notifications.payload(r) for r in rows[:limit]],
        "unread": await notifications.unread_count(call.ctx, call.actor),
        "more": len(rows) > limit,
    }


async def show_notification(call: Call) -> dict:
    row = await notifications.fetch_notification(call.ctx, call.actor, call.id("notification_id"))
    return notifications.payload(row)


async def read_notification(call: Call) -> dict:
    row = await notifications.mark_read(call.ctx, call.actor, call.id("notification_id"))
    return notifications.payload(row)


async def read_all_notifications(call: Call) -> dict:
    upto = parse_id(call.body.get("upto"))
    marked = await notifications.mark_all_read(call.ctx, call.actor, upto)
    return {"marked": marked, "unread": await notifications.unread_count(call.ctx, call.actor)}


async def following(call: Call) -> dict:
    place, thread_id = await _place_of_thread(call)
    await places.fetch_thread(call.ctx.pool, place, thread_id)
    return {"following": await notifications.is_following(call.ctx, call.actor, thread_id)}


async def follow(call: Call) -> dict:
    """PUT to follow a thread, DELETE to unfollow it (remembered)."""
    place, thread_id = await _place_of_thread(call)
    value = await notifications.set_following(
        call.ctx, call.actor, place.conference["slug"], thread_id, call.method == "PUT"
    )
    return {"following": value}


async def email_preference(call: Call) -> dict:
    value = await notifications.email_preference(call.ctx, call.actor, call.slug)
    return {"conference": call.slug, "email": value}


async def set_email_preference(call: Call) -> dict:
    """PUT {"email": "each" | "digest" | "none"} for one of your conferences."""
    value = await notifications.set_email_preference(
        call.ctx, call.actor, call.slug, call.body.get("email")
    )
    return {"conference": call.slug, "email": value}


async def me(call: Call) -> dict:
    if not call.actor.authenticated:
        raise Unauthorized(_("Sign in, or send an API token."))
    return {"id": call.actor.user_id, "name": call.actor.name, "is_admin": call.actor.is_admin}


async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document(request.app))


async def not_found(request: web.Request) -> web.Response:
    raise NotFound(_("There is no such API endpoint."))


_TRANSLATIONS_INPUT = {
    "type": "object",
    "description": "The texts in the conference's other language, under its code",
    "additionalProperties": {"type": "object", "additionalProperties": STR},
}
_REVEAL = {
    "type": "integer",
    "minimum": 0,
    "maximum": 1440,
    "default": 15,
    "description": "From how many minutes before a session its joining link is shown to "
    "members (left out on update: unchanged)",
}
# A local time in the conference's time zone, as the forms take it: 2030-06-01T09:00.
_LOCAL_TIME = {
    "type": "string",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
    r"(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?$",
    "description": "local time in the conference's time zone, like 2030-06-01T09:00 (with an "
    "offset, like 2030-06-01T09:00+01:00, that instant)",
}
_TITLE = {"type": "string", "minLength": 1, "maxLength": conferences.TITLE_MAX}
_TEXT = {"type": "string", "maxLength": conferences.TEXT_MAX, "description": "Markdown"}
_CONFERENCE_INPUT = {
    "type": "object",
    "required": ["title", "starts_at", "ends_at"],
    "properties": {
        "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,62}$"},
        "title": _TITLE,
        "summary": _TEXT,
        "code_of_conduct": _TEXT,
        "timezone": {"type": "string", "maxLength": 100, "description": "Europe/London"},
        "starts_at": _LOCAL_TIME,
        "ends_at": _LOCAL_TIME,
        "visibility": {"enum": ["public", "members"]},
        "registration": {"enum": list(registration.MODES)},
        "capacity": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": registration.MAX_CAPACITY,
            "description": "places (null or left out: no limit)",
        },
        "organisers": STR,
        "language": {"enum": ["en", "cy"]},
        "bilingual": {"type": "boolean"},
        "translations": _TRANSLATIONS_INPUT,
        "joining_reveal_minutes": _REVEAL,
    },
}
_SESSION_INPUT = {
    "type": "object",
    "required": ["kind", "title", "starts_at", "ends_at"],
    "properties": {
        "kind": {"enum": list(conferences.KINDS)},
        "title": _TITLE,
        "description": _TEXT,
        "starts_at": _LOCAL_TIME,
        "ends_at": _LOCAL_TIME,
        "posting_window": {"enum": ["session", "conference"]},
        "participants_start_threads": {"type": "boolean"},
        "translations": _TRANSLATIONS_INPUT,
    },
}
_PATCH_CONFERENCE = {
    **_CONFERENCE_INPUT,
    "required": [],
    "description": "Any fields of the conference's details; those left out stay as they are",
}
_PATCH_SESSION = {
    **_SESSION_INPUT,
    "required": [],
    "description": "Any fields of the session; those left out stay as they are",
}
_ROLES = ["organiser", "facilitator", "speaker", "participant", "observer"]
_MEMBER = obj(
    {
        "user_id": INT,
        "name": STR,
        "email": STR,
        "title": STR,
        "organisation": STR,
        "role": {"enum": _ROLES},
        "status": {"enum": ["active", "pending", "waitlisted", "declined", "removed", "left"]},
        "facilitates": {
            "enum": ["conference", "sessions"],
            "description": "a facilitator of the whole conference, or only of session_ids",
        },
        "session_ids": {
            "type": "array",
            "items": INT,
            "description": "a facilitator's or a speaker's sessions (a speaker: the panels)",
        },
    }
)
_ROLE_INPUT = {
    "type": "object",
    "required": ["email", "role"],
    "properties": {
        "email": {"type": "string", "maxLength": 254},
        "role": {"enum": _ROLES},
        "sessions": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "maxItems": 500,
            "description": "facilitator: only these sessions (none: the whole conference); "
            "speaker: the panels they speak on",
        },
        "confirm_draft": {
            "type": "boolean",
            "description": "for a draft conference: send the invitations anyway (they can "
            "accept, but see the conference only once it is published)",
        },
    },
}
_MODERATION_SETTINGS = {
    "flag_threshold": {
        "type": "integer",
        "minimum": console_settings.FLAG_THRESHOLD[0],
        "maximum": console_settings.FLAG_THRESHOLD[1],
        "description": "how many members' reports hide a post until a facilitator reviews it",
    },
    "premoderate_first_posts": {
        "type": "integer",
        "minimum": 0,
        "maximum": console_settings.FIRST_POSTS_MAX,
        "description": "how many of each member's first posts wait for approval (0: none)",
    },
}
_JOIN_RULE = {"type": "array", "maxItems": sso.MAX_RULES, "items": {"type": "string"}}
_REGISTRATION_SETTINGS = {
    "registration": {"enum": list(registration.MODES)},
    "capacity": {
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": registration.MAX_CAPACITY,
        "description": "places for participants and observers (null: no limit); raising it "
        "gives places to the waitlist",
    },
    "sso_join_domains": {
        **_JOIN_RULE,
        "description": "with sign-in providers: email domains whose people join without "
        "approval, like somecouncil.gov.uk",
    },
    "sso_join_tenants": {
        **_JOIN_RULE,
        "description": "with sign-in providers: Microsoft Entra tenant IDs whose people join "
        "without approval",
    },
}
_EXPORT_SETTINGS = {
    "facilitators_may_export": {
        "type": "boolean",
        "description": "facilitators may download the transcript too",
    },
}
_ANSWERS_UNTIL = {
    **_LOCAL_TIME,
    "type": ["string", "null"],
    "description": "speakers may answer until then, after the panel ends (null: until the "
    "panel ends); " + str(_LOCAL_TIME["description"]),
}
_PANEL_SETTINGS = {
    "questions_premoderated": {
        "type": "boolean",
        "description": "a facilitator approves each question before others see it",
    },
    "questions_in_advance": {
        "type": "boolean",
        "description": "members may ask from the conference's start, before the panel",
    },
    "answers_until": _ANSWERS_UNTIL,
}


def _settings_patch(properties: dict) -> dict:
    """A request body that changes any of the settings `properties` (left out: unchanged)."""
    return request_body({
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "description": "Any of the settings; those left out stay as they are",
    })  # fmt: skip


_NOTE_ID = id_param("notification_id")
_THREAD_ID = id_param("thread_id")
_FOLLOWING = returns({"type": "object", "properties": {"following": {"type": "boolean"}}})
_EMAIL = {
    "type": "object",
    "properties": {"conference": STR, "email": {"enum": ["each", "digest", "none"]}},
}


# fmt: off
def setup(app: web.Application) -> None:
    """Added last of the API's routes: its catch-all 404 follows them."""
    page(app, "GET", "openapi", openapi)
    api(app, "GET", "/me", me, doc={
        "summary": "Who the caller is",
        "responses": {"200": returns({"type": "object"}), **ERRORS}})
    api(app, "GET", "/conferences", list_conferences, doc={
        "summary": "Conferences the caller may see",
        "responses": {"200": returns({"type": "object", "properties": {
            "conferences": {"type": "array", "items": ref("Conference")}}})}})
    api(app, "POST", "/conferences", create_conference, doc={
        "summary": "Create a draft conference (site administrators)",
        "description": "The fields of the new-conference form. `language` (en or cy) is the "
        "language of title, summary and code_of_conduct (Markdown); a `bilingual` conference "
        "gives them in the other language too: {\"translations\": {\"cy\": {\"title\": …, "
        "\"summary\": …, \"code_of_conduct\": …}}}.",
        "requestBody": request_body(_CONFERENCE_INPUT),
        "responses": {"201": linked(
            returns(ref("Conference"), "Created"),
            Show=link("GET", "/conferences/{slug}", slug="$response.body#/slug"),
            Change=link("PATCH", "/conferences/{slug}", slug="$response.body#/slug"),
            Publish=link("PUT", "/conferences/{slug}/published", slug="$response.body#/slug"),
            AddSession=link("POST", "/conferences/{slug}/sessions",
                            slug="$response.body#/slug"),
            GiveRole=link("POST", "/conferences/{slug}/roles", slug="$response.body#/slug"),
        ), **ERRORS}})
    api(app, "GET", "/conferences/{slug}", show_conference, doc={
        "summary": "One conference with its programme",
        "parameters": [SLUG],
        "responses": {"200": returns(ref("Conference")), **ERRORS}})
    api(app, "PUT", "/conferences/{slug}", update_conference, doc={
        "summary": "Replace a conference's details (organisers)",
        "description": "Every field, as on creation (without slug and organisers).",
        "parameters": [SLUG],
        "requestBody": request_body(_CONFERENCE_INPUT),
        "responses": {"200": returns(ref("Conference")), **ERRORS}})
    api(app, "PATCH", "/conferences/{slug}", patch_conference, doc={
        "summary": "Change some of a conference's details (organisers)",
        "description": "The fields of PUT, any of them: registration settings "
        "({\"registration\": \"approval\", \"capacity\": 120}), dates, texts.",
        "parameters": [SLUG],
        "requestBody": request_body(_PATCH_CONFERENCE),
        "responses": {"200": returns(ref("Conference")), **ERRORS}})
    api(app, "PUT", "/conferences/{slug}/published", publish_conference, doc={
        "summary": "Publish a draft conference, or make it a draft again (organisers)",
        "parameters": [SLUG],
        "requestBody": request_body({
            "type": "object", "required": ["published"],
            "properties": {"published": {"type": "boolean"}}}),
        "responses": {"200": returns(ref("Conference")), **ERRORS}})
    api(app, "GET", "/conferences/{slug}/members", list_members, doc={
        "summary": "Members with their roles and sessions (organisers)",
        "parameters": [SLUG],
        "responses": {"200": returns(obj({"members": {"type": "array", "items": _MEMBER}})),
                      **ERRORS}})
    api(app, "POST", "/conferences/{slug}/roles", assign_role, limit="invite", doc={
        "summary": "Give a role (organisers): organiser, facilitator (of the whole conference "
        "or of some sessions), speaker (on panels), participant or observer",
        "description": "`email` takes one address or several (pasted as from an email "
        "program). An active member's role changes at once (listed in `assigned`); anyone "
        "else is sent an invitation carrying the role (`invited`), whether or not they have an "
        "account; what is no address is listed in `refused` with its reason. A panel's "
        "speakers are its members with the speaker role and that session.",
        "parameters": [SLUG],
        "requestBody": request_body(_ROLE_INPUT),
        "responses": {"200": returns(obj({
            "assigned": {"type": "array", "items": STR},
            "invited": {"type": "array", "items": STR},
            "refused": {"type": "array", "items": obj({"where": STR, "text": STR,
                                                        "reason": STR})},
            "role": {"enum": _ROLES}})), **ERRORS}})
    api(app, "POST", "/conferences/{slug}/sessions", create_session, doc={
        "summary": "Add a session to the programme (organisers)",
        "description": "A bilingual conference's session gives its title and description "
        "in the other language too: {\"translations\": {\"cy\": {\"title\": …, "
        "\"description\": …}}}.",
        "parameters": [SLUG],
        "requestBody": request_body(_SESSION_INPUT),
        "responses": {"201": linked(
            returns(ref("Session"), "Created"),
            Threads=link("GET", "/sessions/{session_id}/threads", session_id="$response.body#/id"),
            StartThread=link("POST", "/sessions/{session_id}/threads",
                             session_id="$response.body#/id"),
            Move=link("PATCH", "/sessions/{session_id}", session_id="$response.body#/id"),
            Replace=link("PUT", "/sessions/{session_id}", session_id="$response.body#/id"),
            Delete=link("DELETE", "/sessions/{session_id}", session_id="$response.body#/id"),
        ), **ERRORS}})
    api(app, "PUT", "/sessions/{session_id}", update_session, doc={
        "summary": "Replace a session's details (organisers)",
        "parameters": [id_param("session_id")],
        "requestBody": request_body(_SESSION_INPUT),
        "responses": {"200": returns(ref("Session")), **ERRORS}})
    api(app, "PATCH", "/sessions/{session_id}", patch_session, doc={
        "summary": "Change some of a session's details, e.g. move it (organisers)",
        "description": "Any fields of PUT: {\"starts_at\": \"2030-06-02T10:00\", "
        "\"ends_at\": \"2030-06-02T11:00\"} moves it (local time in the conference's "
        "time zone).",
        "parameters": [id_param("session_id")],
        "requestBody": request_body(_PATCH_SESSION),
        "responses": {"200": returns(ref("Session")), **ERRORS}})
    api(app, "DELETE", "/sessions/{session_id}", delete_session, doc={
        "summary": "Delete a session with its threads (organisers); calendars that imported "
        "it mark it cancelled",
        "parameters": [id_param("session_id")],
        "responses": {"204": {"description": "Deleted"}, **ERRORS}})
    api(app, "PATCH", "/conferences/{slug}/settings/moderation", patch_moderation, doc={
        "summary": "Change the conference's moderation settings (organisers)",
        "description": "The console's moderation page: how many reports hide a post, and how "
        "many of each member's first posts wait for approval. Each change is written to the "
        "moderation log. Answers the saved settings ({} reads them).",
        "parameters": [SLUG],
        "requestBody": _settings_patch(_MODERATION_SETTINGS),
        "responses": {"200": returns(obj(_MODERATION_SETTINGS)), **ERRORS}})
    api(app, "PATCH", "/conferences/{slug}/settings/registration", patch_registration, doc={
        "summary": "Change how people join, the capacity and the join rules (organisers)",
        "description": "The console's registration page: `registration` (open, approval, "
        "invite), `capacity` (null: no limit) and, where people sign in with a provider, the "
        "email domains and tenants whose people join without approval (each list replaces "
        "the one before). Answers the saved settings ({} reads them).",
        "parameters": [SLUG],
        "requestBody": _settings_patch(_REGISTRATION_SETTINGS),
        "responses": {"200": returns(obj(_REGISTRATION_SETTINGS)), **ERRORS}})
    api(app, "PATCH", "/conferences/{slug}/settings/exports", patch_exports, doc={
        "summary": "Let facilitators download the transcript, or not (organisers)",
        "parameters": [SLUG],
        "requestBody": _settings_patch(_EXPORT_SETTINGS),
        "responses": {"200": returns(obj(_EXPORT_SETTINGS)), **ERRORS}})
    api(app, "PATCH", "/sessions/{session_id}/panel-settings", patch_panel, doc={
        "summary": "Change a panel's question settings (organisers)",
        "description": "The console's panel page: whether questions are approved first, "
        "whether members may ask before the panel, and until when speakers may answer. "
        "Another kind of session is a 404. Answers the saved settings ({} reads them).",
        "parameters": [id_param("session_id")],
        "requestBody": _settings_patch(_PANEL_SETTINGS),
        "responses": {"200": returns(obj({
            "session_id": INT,
            **_PANEL_SETTINGS,
            "answers_until": {"type": ["string", "null"], "format": "date-time",
                              "description": "when answers close (null: when the panel ends)"},
        })), **ERRORS}})
    api(app, "POST", "/conferences/{slug}/join", join, limit="register", doc={
        "summary": "Join, accepting the code of conduct",
        "parameters": [SLUG],
        "requestBody": request_body({
            "type": "object", "required": ["accept_code_of_conduct"],
            "properties": {"accept_code_of_conduct": {"const": True}}}),
        "responses": {"200": returns({"type": "object"}), **ERRORS}})
    api(app, "GET", "/sessions/{session_id}/threads", list_threads, doc={
        "summary": "Threads of a session",
        "parameters": [id_param("session_id")],
        "responses": {"200": returns({"type": "object", "properties": {
            "threads": {"type": "array", "items": ref("Thread")}}}), **ERRORS}})
    api(app, "POST", "/sessions/{session_id}/threads", create_thread, limit="post", doc={
        "summary": "Start a thread with its opening post",
        "parameters": [id_param("session_id")],
        "requestBody": request_body({
            "type": "object", "required": ["title", "body"],
            "properties": {
                "title": {"type": "string", "minLength": 1,
                          "maxLength": Setting("title_max_chars")},
                "body": {"type": "string", "minLength": 1,
                         "maxLength": Setting("post_max_chars"), "description": "Markdown"},
                "idempotency_key": {"type": "string", "maxLength": 100}}}),
        "responses": {
            "201": linked(
                returns(ref("Thread"), "Created"),
                Show=link("GET", "/threads/{thread_id}", thread_id="$response.body#/id"),
                Posts=link("GET", "/threads/{thread_id}/posts", thread_id="$response.body#/id"),
                Reply=link("POST", "/threads/{thread_id}/posts",
                           thread_id="$response.body#/id"),
                Follow=link("PUT", "/threads/{thread_id}/follow",
                            thread_id="$response.body#/id"),
                Moderate=link("POST", "/threads/{thread_id}/moderation",
                              thread_id="$response.body#/id"),
            ),
            "200": returns(ref("Thread"), "Already made with this key"),
            **ERRORS}})
    api(app, "GET", "/threads/{thread_id}", show_thread, doc={
        "summary": "One thread",
        "parameters": [_THREAD_ID],
        "responses": {"200": returns(ref("Thread")), **ERRORS}})
    api(app, "GET", "/threads/{thread_id}/posts", list_posts, doc={
        "summary": "Posts in seq order after a seq",
        "parameters": [
            _THREAD_ID,
            {"name": "after", "in": "query",
             "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}},
            {"name": "limit", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": 500}}],
        "responses": {"200": returns({"type": "object", "properties": {
            "posts": {"type": "array", "items": ref("Post")},
            "last_seq": INT, "more": {"type": "boolean"}}}), **ERRORS}})
    api(app, "POST", "/threads/{thread_id}/posts", create_post, limit="post", doc={
        "summary": "Post in a thread",
        "parameters": [_THREAD_ID],
        "requestBody": request_body(ref("NewPost")),
        "responses": {
            "201": linked(
                returns(ref("Post"), "Created"),
                Show=link("GET", "/posts/{post_id}", post_id="$response.body#/id"),
                Edit=link("PATCH", "/posts/{post_id}", post_id="$response.body#/id"),
                Delete=link("DELETE", "/posts/{post_id}", post_id="$response.body#/id"),
                Report=link("POST", "/posts/{post_id}/flags", post_id="$response.body#/id"),
                Moderate=link("POST", "/posts/{post_id}/moderation",
                              post_id="$response.body#/id"),
            ),
            "200": returns(ref("Post"), "The post this idempotency key already made"),
            **ERRORS}})
    api(app, "GET", "/posts/{post_id}", show_post, doc={
        "summary": "One post",
        "parameters": [id_param("post_id")],
        "responses": {"200": returns(ref("Post")), **ERRORS}})
    api(app, "PATCH", "/posts/{post_id}", edit_post, limit="edit", doc={
        "summary": "Edit your post (within the edit window)",
        "description": "An edit passes the checks of a new post (the thread open and not "
        "locked, not muted, slow mode, the `edit` rate limit: 429). A pre-moderated "
        "author's edit awaits approval again (`status: pending`). 409: the post was "
        "hidden or deleted meanwhile.",
        "parameters": [id_param("post_id")],
        "requestBody": request_body({"type": "object", "required": ["body"], "properties": {
            "body": {"type": "string", "minLength": 1, "maxLength": Setting("post_max_chars"),
                     "description": "Markdown"}}}),
        "responses": {"200": returns(ref("Post")), "409": ERROR, "429": ERROR, **ERRORS}})
    api(app, "DELETE", "/posts/{post_id}", delete_post, doc={
        "summary": "Delete your post (a placeholder stays; undo within the undo window)",
        "parameters": [id_param("post_id")],
        "responses": {"200": linked(
            returns(ref("Post")),
            Undelete=link("POST", "/posts/{post_id}/undelete", post_id="$response.body#/id"),
        ), **ERRORS}})
    api(app, "POST", "/posts/{post_id}/undelete", undelete_post, doc={
        "summary": "Undo the deletion of your post, within the undo window (10 minutes)",
        "parameters": [id_param("post_id")],
        "responses": {"200": returns(ref("Post")), "409": ERROR, **ERRORS}})
    api(app, "GET", "/notifications", list_notifications, doc={
        "summary": "Your notifications, newest first (only ever your own)",
        "parameters": [
            {"name": "unread", "in": "query", "schema": {"type": "boolean"},
             "description": "only unread ones"},
            {"name": "before", "in": "query",
             "schema": {**INT, "minimum": 0, "maximum": 2**62},
             "description": "only those with a smaller id (the next page)"},
            {"name": "limit", "in": "query", "schema": {**INT, "minimum": 1, "maximum": 200}}],
        "responses": {"200": returns({"type": "object", "properties": {
            "notifications": {"type": "array", "items": ref("Notification")},
            "unread": {**INT, "description": "unread count, at most 100"},
            "more": {"type": "boolean"}}}), **ERRORS}})
    api(app, "POST", "/notifications/read", read_all_notifications, doc={
        "summary": "Mark all your notifications read (optionally only up to id `upto`)",
        "requestBody": request_body(
            {"type": "object", "properties": {"upto": INT}}, required=None),
        "responses": {"200": returns({"type": "object", "properties": {
            "marked": INT, "unread": INT}}), **ERRORS}})
    api(app, "GET", "/notifications/{notification_id}", show_notification, doc={
        "summary": "One of your notifications (another member's is a 404)",
        "parameters": [_NOTE_ID],
        "responses": {"200": returns(ref("Notification")), **ERRORS}})
    api(app, "POST", "/notifications/{notification_id}/read", read_notification, doc={
        "summary": "Mark one of your notifications read", "parameters": [_NOTE_ID],
        "responses": {"200": returns(ref("Notification")), **ERRORS}})
    api(app, "GET", "/threads/{thread_id}/follow", following, doc={
        "summary": "Whether you follow the thread", "parameters": [_THREAD_ID],
        "responses": {"200": _FOLLOWING, **ERRORS}})
    api(app, "PUT", "/threads/{thread_id}/follow", follow, doc={
        "summary": "Follow the thread (members)", "parameters": [_THREAD_ID],
        "responses": {"200": _FOLLOWING, **ERRORS}})
    api(app, "DELETE", "/threads/{thread_id}/follow", follow, doc={
        "summary": "Unfollow the thread; posting in it again does not re-follow",
        "parameters": [_THREAD_ID],
        "responses": {"200": _FOLLOWING, **ERRORS}})
    api(app, "GET", "/conferences/{slug}/email-preference", email_preference, doc={
        "summary": "How you hear from this conference by email", "parameters": [SLUG],
        "responses": {"200": returns(_EMAIL), **ERRORS}})
    api(app, "PUT", "/conferences/{slug}/email-preference", set_email_preference, doc={
        "summary": "Choose each, digest (the default) or none", "parameters": [SLUG],
        "requestBody": request_body({
            "type": "object", "required": ["email"],
            "properties": {"email": {"enum": ["each", "digest", "none"]}}}),
        "responses": {"200": returns(_EMAIL), **ERRORS}})
    app.router.add_route("*", f"{API}/{{tail:.*}}", not_found)
# fmt: on
