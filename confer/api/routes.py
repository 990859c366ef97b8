"""JSON API v1: the same services as the pages, as JSON.

Authenticated by sign-in cookie plus the X-CSRF-Token header, or by a personal API
token (Authorization: Bearer). Errors are {"error": {"code", "message", "fields"}}.
"""

from __future__ import annotations

from aiohttp import web

from confer import places, timefmt
from confer.api.openapi import openapi_document
from confer.conferences import queries as conferences_q
from confer.conferences import service as conferences
from confer.errors import NotFound, Unauthorized
from confer.keys import actor_key, ctx_key
from confer.notifications import service as notifications
from confer.places import Place
from confer.posts import queries as posts_q
from confer.posts import service as posts
from confer.threads import service as threads
from confer.validate import parse_id
from confer.web import int_param, json_response, query_int, read_json

API = "/api/v1"


def conference_json(c: object, *, sessions: list | None = None) -> dict:
    data = {
        "id": c["id"],
        "slug": c["slug"],
        "title": c["title"],  # type: ignore[index]
        "state": c["state"],
        "timezone": c["timezone"],  # type: ignore[index]
        "starts_at": timefmt.iso(c["starts_at"]),
        "ends_at": timefmt.iso(c["ends_at"]),  # type: ignore[index]
        "visibility": c["visibility"],
        "registration": c["registration"],  # type: ignore[index]
        "summary_html": c["summary_html"],  # type: ignore[index]
        "url": f"/c/{c['slug']}",  # type: ignore[index]
    }
    if sessions is not None:
        data["sessions"] = [session_json(c, s) for s in sessions]
    return data


def session_json(c: object, s: object) -> dict:
    return {
        "id": s["id"],
        "kind": s["kind"],
        "title": s["title"],  # type: ignore[index]
        "description_html": s["description_html"],  # type: ignore[index]
        "starts_at": timefmt.iso(s["starts_at"]),
        "ends_at": timefmt.iso(s["ends_at"]),  # type: ignore[index]
        "state": s["state"],
        "posting_window": s["posting_window"],  # type: ignore[index]
        "participants_start_threads": s["participants_start_threads"],  # type: ignore[index]
        "url": f"/c/{c['slug']}/sessions/{s['id']}",  # type: ignore[index]
    }


async def list_conferences(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    rows = await conferences.list_visible(ctx, request[actor_key])
    return json_response({"conferences": [conference_json(c) for c in rows]})


async def show_conference(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place = await places.load(ctx.pool, request[actor_key], request.match_info["slug"])
    sessions = await conferences.programme(ctx, place)
    data = conference_json(place.conference, sessions=sessions)
    data["membership"] = (
        {"role": place.member.role, "status": place.member.status} if place.member else None
    )
    return json_response(data)


async def join(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    member = await conferences.join(
        ctx, request[actor_key], request.match_info["slug"], body.get("accept_code_of_conduct")
    )
    return json_response({"role": member.role, "status": member.status})


async def _place_of_session(request: web.Request) -> tuple[Place, int]:
    ctx = request.app[ctx_key]
    session_id = int_param(request, "session_id")
    slug = await conferences_q.fetch_slug_of_session(ctx.pool, session_id)
    if slug is None:
        raise NotFound()
    place = await places.load(ctx.pool, request[actor_key], slug, "conference.see")
    return place, session_id


async def list_threads(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place, session_id = await _place_of_session(request)
    session = await places.fetch_session(ctx.pool, place, session_id)
    rows = await threads.list_for_session(ctx, place, session)
    return json_response({"threads": [threads.thread_payload(place, t) for t in rows]})


async def create_thread(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place, session_id = await _place_of_session(request)
    body = await read_json(request)
    thread_id, _post_id, created = await threads.create_thread(
        ctx, request[actor_key], place.conference["slug"], session_id, body
    )
    thread = await places.fetch_thread(ctx.pool, place, thread_id)
    return json_response(threads.thread_payload(place, thread), status=201 if created else 200)


async def _place_of_thread(request: web.Request) -> tuple[Place, int]:
    ctx = request.app[ctx_key]
    thread_id = int_param(request, "thread_id")
    slug = await conferences_q.fetch_slug_of_thread(ctx.pool, thread_id)
    if slug is None:
        raise NotFound()
    place = await places.load(ctx.pool, request[actor_key], slug, "conference.see")
    return place, thread_id


async def show_thread(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place, thread_id = await _place_of_thread(request)
    thread = await places.fetch_thread(ctx.pool, place, thread_id)
    return json_response(threads.thread_payload(place, thread))


async def list_posts(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place, thread_id = await _place_of_thread(request)
    await places.fetch_thread(ctx.pool, place, thread_id)
    after = query_int(request, "after", 0, lo=0, hi=2**31 - 1)
    limit = query_int(request, "limit", 100, lo=1, hi=500)
    rows = await posts_q.list_posts_after(ctx.pool, thread_id, after, limit)
    items = [posts.payload(place, p) for r in rows if (p := posts.present(place, r)) is not None]
    last = rows[-1]["seq"] if rows else after
    return json_response({"posts": items, "last_seq": last, "more": len(rows) == limit})


async def create_post(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    thread_id = int_param(request, "thread_id")
    body = await read_json(request)
    # create_post finds the thread's conference and checks who may see it (a 404 otherwise).
    post, created = await posts.create_post(ctx, request[actor_key], None, thread_id, body)
    return json_response(post, status=201 if created else 200)


async def show_post(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    place, post = await posts.load_post(ctx, request[actor_key], int_param(request, "post_id"))
    return json_response(posts.payload(place, post))


async def edit_post(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    body = await read_json(request)
    post = await posts.edit_post(ctx, request[actor_key], int_param(request, "post_id"), body)
    return json_response(post)


async def delete_post(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    post = await posts.delete_post(ctx, request[actor_key], int_param(request, "post_id"))
    return json_response(post)


# --- notifications, follows and email preferences (confer.notifications) -----------------


async def list_notifications(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    actor = request[actor_key]
    before = query_int(request, "before", 0, lo=0, hi=2**62)
    limit = query_int(request, "limit", 50, lo=1, hi=200)
    unread_only = request.query.get("unread", "") in ("1", "true", "yes")
    rows = await notifications.list_notifications(
        ctx, actor, before=before or None, limit=limit + 1, unread_only=unread_only
    )
    return json_response(
        {
            "notifications": [notifications.payload(r) for r in rows[:limit]],
            "unread": await notifications.unread_count(ctx, actor),
            "more": len(rows) > limit,
        }
    )


async def show_notification(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    row = await notifications.fetch_notification(
        ctx, request[actor_key], int_param(request, "notification_id")
    )
    return json_response(notifications.payload(row))


async def read_notification(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    row = await notifications.mark_read(
        ctx, request[actor_key], int_param(request, "notification_id")
    )
    return json_response(notifications.payload(row))


async def read_all_notifications(request: web.Request) -> web.Response:
    ctx = request.app[ctx_key]
    actor = request[actor_key]
    body = await read_json(request)
    marked = await notifications.mark_all_read(ctx, actor, parse_id(body.get("upto")))
    return json_response({"marked": marked, "unread": await notifications.unread_count(ctx, actor)})


async def thread_follow(request: web.Request) -> web.Response:
    """GET whether you follow a thread; PUT to follow it, DELETE to unfollow (remembered)."""
    ctx = request.app[ctx_key]
    place, thread_id = await _place_of_thread(request)
    actor = request[actor_key]
    if request.method == "GET":
        await places.fetch_thread(ctx.pool, place, thread_id)
        return json_response({"following": await notifications.is_following(ctx, actor, thread_id)})
    following = await notifications.set_following(
        ctx, actor, place.conference["slug"], thread_id, request.method == "PUT"
    )
    return json_response({"following": following})


async def email_preference(request: web.Request) -> web.Response:
    """GET or PUT {"email": "each" | "digest" | "none"} for one of your conferences."""
    ctx = request.app[ctx_key]
    actor = request[actor_key]
    slug = request.match_info["slug"]
    if request.method == "PUT":
        body = await read_json(request)
        value = await notifications.set_email_preference(ctx, actor, slug, body.get("email"))
    else:
        value = await notifications.email_preference(ctx, actor, slug)
    return json_response({"conference": slug, "email": value})


async def me(request: web.Request) -> web.Response:
    actor = request[actor_key]
    if not actor.authenticated:
        raise Unauthorized("Sign in, or send an API token.")
    return json_response({"id": actor.user_id, "name": actor.name, "is_admin": actor.is_admin})


async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document(request.app))


async def not_found(request: web.Request) -> web.Response:
    raise NotFound("There is no such API endpoint.")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{API}/openapi.json", openapi, name="openapi")
    r.add_get(f"{API}/me", me)
    r.add_get(f"{API}/conferences", list_conferences)
    r.add_get(f"{API}/conferences/{{slug}}", show_conference)
    r.add_post(f"{API}/conferences/{{slug}}/join", join)
    r.add_get(f"{API}/sessions/{{session_id}}/threads", list_threads)
    r.add_post(f"{API}/sessions/{{session_id}}/threads", create_thread)
    r.add_get(f"{API}/threads/{{thread_id}}", show_thread)
    r.add_get(f"{API}/threads/{{thread_id}}/posts", list_posts)
    r.add_post(f"{API}/threads/{{thread_id}}/posts", create_post)
    r.add_get(f"{API}/posts/{{post_id}}", show_post)
    r.add_patch(f"{API}/posts/{{post_id}}", edit_post)
    r.add_delete(f"{API}/posts/{{post_id}}", delete_post)
    r.add_get(f"{API}/notifications", list_notifications)
    r.add_post(f"{API}/notifications/read", read_all_notifications)
    r.add_get(f"{API}/notifications/{{notification_id}}", show_notification)
    r.add_post(f"{API}/notifications/{{notification_id}}/read", read_notification)
    for method in ("GET", "PUT", "DELETE"):
        r.add_route(method, f"{API}/threads/{{thread_id}}/follow", thread_follow)
    r.add_get(f"{API}/conferences/{{slug}}/email-preference", email_preference)
    r.add_put(f"{API}/conferences/{{slug}}/email-preference", email_preference)
    r.add_route("*", f"{API}/{{tail:.*}}", not_found)
