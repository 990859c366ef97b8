"""The socket.io server: authentication, authorised rooms, catch-up by seq, and socket actions.

Socket handlers are thin adapters: they read the actor from the socket's session and call
the same services as the HTTP handlers. Only services publish events, after commit.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import asyncpg
import socketio
from aiohttp import WSCloseCode, web

from confer import i18n, places
from confer.accounts import service as accounts
from confer.conferences import queries as conferences_q
from confer.context import Ctx
from confer.db import is_unavailable, note_unavailable
from confer.errors import (
    BadRequest,
    ConferError,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from confer.i18n import N_, _
from confer.keys import ctx_key, hub_key, limiter_key, metrics_key, settings_key, sio_key
from confer.live.events import (
    Event,
    conference_room,
    login_room,
    moderation_room,
    panel_room,
    presence_event,
    thread_room,
    token_room,
    user_room,
)
from confer.live.fanout import (
    FastEmitManager,
    FastRedisManager,
    close_all,
    use_plain_websockets,
)
from confer.live.presence import Presence
from confer.moderation import service as moderation
from confer.moderation.service import queue_counts
from confer.panels import service as panels
from confer.policy import ANONYMOUS, Actor
from confer.posts import queries as posts_q
from confer.posts import service as posts
from confer.validate import parse_id
from confer.web import SESSION_COOKIE, client_address, reader_language

if TYPE_CHECKING:
    from confer.panels.service import Panel

log = logging.getLogger(__name__)

CATCH_UP_LIMIT = 500
FLOOD_EVENTS = 100
FLOOD_SECONDS = 10.0
MAX_MESSAGE_BYTES = 128 * 1024
PRESENCE_DELAY = 0.5  # seconds: presence announcements are coalesced per room


# What a room sends a joining socket that missed something: given the join's data, the
# acknowledgement's extra fields. Called once the socket is in the room (see on_join).
CatchUp = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _catch_up_point(data: dict[str, Any]) -> tuple[int | None, int | None]:
    """A join's `after` (the last post seq the client saw) and `since` (the last change
    number): whole numbers, not negative; absent, null or "" for none."""
    after, since = data.get("after"), data.get("since")
    after = None if after == "" else after
    since = None if since == "" else since
    if after is not None and not _count(after):
        raise NotFound(_("after must be a post seq."))
    if since is not None and not _count(since):
        raise NotFound(_("since must be a change number."))
    return after, since


MAX_BIGINT = 2**63 - 1


def _count(value: Any) -> bool:
    """A seq or change number from a client: a whole number, not negative (and not a bool),
    that fits PostgreSQL's bigint."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_BIGINT


def _need_id(data: dict[str, Any], name: str, message: str) -> int:
    """A row id the message must name, or a `bad_request` naming the field."""
    value = parse_id(data.get(name))
    if value is None:
        raise BadRequest(message, fields={name: _("Required")})
    return value


def _error(e: ConferError) -> dict[str, Any]:
    """The acknowledgement of a refusal: the JSON API's error body, and for a rate limit the
    wait that HTTP says in its Retry-After header."""
    error: dict[str, Any] = e.as_json()
    if isinstance(e, TooManyRequests):
        error["retry_after"] = e.retry_after
    return {"ok": False, "error": error}


_UNSET: Any = object()  # `fields` not given (an error event without the key)


class Flood(ConferError):
    """Too many messages."""

    status = 429
    code = "flood"


class SignedOut(Unauthorized):
    """Your sign-in or API token has ended. Sign in again."""

    code = "signed_out"


class Internal(ConferError):
    """Something went wrong on the server. Try again."""

    status = 500
    code = "internal"


# Events a client may send, each answered by its on_<event> handler through trigger_event.
ACTIONS = frozenset({"join", "leave", "post", "moderate", "flag", "ask", "vote"})


class ConferNamespace(socketio.AsyncNamespace):
    def __init__(self, app: web.Application) -> None:
        super().__init__("/")
        self.app = app
        self.flood: dict[str, deque[float]] = {}
        self.presence = Presence(app[settings_key].redis_url)
        self.rooms_of: dict[str, set[str]] = {}  # sid -> presence rooms
        self.presence_pending: dict[str, asyncio.Task[None]] = {}  # room -> announcement
        self._closing: set[asyncio.Task[None]] = set()  # sockets being closed by _actor

    @property
    def ctx(self) -> Ctx:
        # The app's Ctx: available once the pool is up, before any socket connects.
        return self.app[ctx_key]

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """The one wrapper around every handler.

        A client's event is answered by an acknowledgement, never by an exception: an event
        that is not one of ACTIONS, a message that is not an object, a field of the wrong
        kind (each handler names what it needs with `_need_id` and the services validate the
        rest) and every refusal (ConferError) answer `{"ok": false, "error": {"code",
        "message", "fields"}}`; a flood of events is refused before any work. A lost database
        answers `unavailable`, never silence or a hung ack. Only a fault of the server itself
        is logged with its traceback (and answered `internal`)."""
        if event in ("connect", "disconnect"):
            try:
                return await super().trigger_event(event, *args)
            except Exception as e:
                if not is_unavailable(e):
                    raise
                note_unavailable(self.ctx.pool, f"socket {event}", e)
                if event == "connect":
                    error = Unavailable()
                    raise socketio.exceptions.ConnectionRefusedError(
                        error.message, {"code": error.code}
                    ) from None
                return None
        if not args:
            return None
        sid = args[0]
        data = args[1] if len(args) > 1 else None
        # Every event is answered in the socket's language (on_connect; _actor updates it from
        # the member's account).
        i18n.set_language(await self._lang_of(sid))
        try:
            if await self._flooding(sid):
                raise Flood(_("Too many messages."))
            if event not in ACTIONS:
                raise BadRequest(
                    _("There is no %(event)s event.") % {"event": repr(str(event)[:40])}
                )
            if not isinstance(data, dict):
                raise BadRequest(_("Send an object with this event's fields."))
            return await getattr(self, f"on_{event}")(sid, data)
        except ConferError as e:
            return _error(e)
        except Exception as e:
            if is_unavailable(e):
                note_unavailable(self.ctx.pool, f"socket {event}", e)
                error = Unavailable()
                await self._tell_error(sid, error.code, error.message, fields=error.fields)
                return _error(error)
            log.exception("socket event %s failed", event)
            return _error(Internal(_("Something went wrong on the server. Try again.")))

    # --- connection ----------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        """Authenticate by API token (auth.token) or the sign-in cookie; anonymous may read.

        The socket joins `login:<id>` or `token:<id>` (and `user:<id>`): the rooms by which a
        sign-out, a password change or a token's revocation closes it (confer.live.evict)."""
        request: web.Request = environ["aiohttp.request"]
        # The connection's language, as a page's (confer.web.language_middleware): the switch's
        # cookie, else the member's account language once known, else Accept-Language.
        chosen = request.cookies.get(i18n.COOKIE, "")
        if chosen not in i18n.languages(pseudo=self.app[settings_key].pseudo_locale):
            chosen = ""
        language = reader_language(request)
        i18n.set_language(language)
        actor: Actor = ANONYMOUS
        credential: tuple[str, bytes] | None = None
        rooms = []
        token = auth.get("token") if isinstance(auth, dict) else None
        if token:
            found = await accounts.actor_and_token_id(self.ctx.pool, str(token))
            if found is None:
                raise socketio.exceptions.ConnectionRefusedError(
                    _("That API token is not valid."), {"code": "unauthorized"}
                )
            actor, token_id = found
            credential = ("token", accounts.hash_token(str(token)))
            rooms.append(token_room(token_id))
        else:
            cookie = request.cookies.get(SESSION_COOKIE)
            # An ended sign-in reads as anonymous, as it does over HTTP.
            found_login = await accounts.actor_from_login(self.ctx.pool, cookie) if cookie else None
            if found_login is not None:
                actor, login_id = found_login
                credential = ("login", accounts.hash_token(str(cookie)))
                rooms.append(login_room(login_id))

        if actor.language is not None and not chosen:
            language = actor.language
        await self.save_session(
            sid,
            {
                "actor": actor,
                "credential": credential,
                "address": client_address(request),
                "lang": language,
                "lang_chosen": bool(chosen),
            },
        )
        self.flood[sid] = deque()
        self.rooms_of[sid] = set()
        if actor.user_id is not None:
            rooms.append(user_room(actor.user_id))
        for room in rooms:
            await self.enter_room(sid, room)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.flood.pop(sid, None)
        for room in self.rooms_of.pop(sid, set()):
            await self._left(sid, room)

    async def _actor(self, sid: str) -> Actor:
        """Who is acting now: the sign-in or API token the socket opened with, read again
        from the database (a revoked token or an ended sign-in acts no more, even before
        its eviction reaches this process). Memberships are read by each service."""
        session = await self.get_session(sid)
        credential = session.get("credential")
        if credential is None:
            return ANONYMOUS
        actor = await accounts.actor_of_credential(self.ctx.pool, *credential)
        if actor is None:
            # Refused now (the acknowledgement says so, queued before this runs), then closed:
            # an ended sign-in (expired, say: no eviction announces that) must not go on
            # receiving its rooms either.
            task = asyncio.get_running_loop().create_task(self._close_socket(sid))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            raise SignedOut(_("Your sign-in or API token has ended. Sign in again."))
        if actor.language is not None and not session.get("lang_chosen"):
            # Their account's language, as read now (they may have changed it since connecting).
            i18n.set_language(actor.language)
        return actor

    async def _limit(self, sid: str, name: str) -> None:
        """The same rate limits as over HTTP (confer.ratelimit); raises TooManyRequests."""
        session = await self.get_session(sid)
        await self.app[limiter_key].check(
            name, user_id=session["actor"].user_id, address=session.get("address")
        )

    async def _flooding(self, sid: str) -> bool:
        """More than FLOOD_EVENTS events in FLOOD_SECONDS: tell the client, then disconnect."""
        now = time.monotonic()
        q = self.flood.setdefault(sid, deque())
        q.append(now)
        while q and q[0] < now - FLOOD_SECONDS:
            q.popleft()
        if len(q) > FLOOD_EVENTS:
            await self._tell_error(sid, "flood", _("Too many messages: slow down."))
            await self.disconnect(sid)
            return True
        return False

    # --- rooms ---------------------------------------------------------------------------

    async def on_join(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = data.get("room")
        if not isinstance(room, str):
            raise BadRequest(_("Say which room."), fields={"room": _("Required")})
        actor = await self._actor(sid)
        _catch_up_point(data)  # refused before the socket enters the room
        catch_up = await self._authorise(actor, room)
        if room.startswith("moderation:"):
            await self._enter_moderation(sid, room, actor)
        else:
            await self.enter_room(sid, room)
        count = await self._joined(sid, room)
        reply: dict[str, Any] = {"ok": True, "missed": [], "present": count}
        # Read only now that the socket is in the room: whatever commits from here on arrives
        # live, whatever committed before is read here (docs/live.md).
        if catch_up is not None:
            reply.update(await catch_up(data))
        return reply

    async def on_leave(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = data.get("room")
        kind, _sep, rest = room.partition(":") if isinstance(room, str) else ("", "", "")
        if kind not in ("thread", "conference", "panel", "moderation") or (
            parse_id(rest.partition(":")[0]) is None
        ):
            raise BadRequest(_("Say which room."), fields={"room": _("Required")})
        await self._leave(sid, room)
        return {"ok": True}

    async def _leave(self, sid: str, room: str) -> None:
        await self.leave_room(sid, room)
        if room in self.rooms_of.get(sid, set()):
            self.rooms_of[sid].discard(room)
            await self._left(sid, room)

    async def _authorise(self, actor: Actor, room: str) -> CatchUp | None:
        """May `actor` join `room`? (Raises if not.) For a thread, panel or moderation room,
        answers how to read what they missed (`_missed`, `_questions`, `_queue_counts`), once
        they are in the room."""
        kind, _sep, raw_id = room.partition(":")
        parsed = parse_id(raw_id)
        if parsed is None:
            raise NotFound(_("No such room."))
        target = parsed
        pool = self.ctx.pool
        if kind == "thread":
            slug = await conferences_q.fetch_slug_of_thread(pool, target)
            if slug is None:
                raise NotFound(_("No such thread."))
            place = await places.load(pool, actor, slug, "conference.read")
            thread = await places.fetch_thread(pool, place, target)
            return functools.partial(self._missed, place, thread)
        if kind == "conference":
            conference = await conferences_q.fetch_conference(pool, target)
            if conference is None:
                raise NotFound(_("No such conference."))
            place = await places.place_from_row(pool, actor, conference)
            place.require("conference.read")
            return None
        if kind == "user":
            if actor.user_id != target:
                raise Forbidden(_("That is someone else's room."))
            return None
        if kind == "panel":
            slug = await conferences_q.fetch_slug_of_session(pool, target)
            if slug is None:
                raise NotFound(_("No such panel."))
            panel = await panels.load(self.ctx, actor, slug, target)
            return functools.partial(self._questions, panel)
        if kind == "moderation":
            conference = await conferences_q.fetch_conference(pool, target)
            if conference is None:
                raise NotFound(_("No such conference."))
            place = await places.place_from_row(pool, actor, conference)
            place.require("moderate.any")
            return functools.partial(self._queue_counts, place)
        raise NotFound(_("No such room."))

    async def _missed(
        self, place: places.Place, thread: asyncpg.Record, data: dict[str, Any]
    ) -> dict[str, Any]:
        """What a reader of the thread missed, when the join says `after` (the last post seq
        it saw) and perhaps `since` (the last change number): `missed`, the posts after
        `after` and, unless `since` is None, those changed after `since`, as this reader may
        see them; `removed`, the posts moved out of the thread since `since`; or `reload`
        when there is more than CATCH_UP_LIMIT of either (load the page again instead)."""
        after, since = _catch_up_point(data)
        if after is None:
            return {}
        # The thread as read before the socket entered the room: already too far ahead, it
        # only goes further.
        if thread["last_seq"] - after > CATCH_UP_LIMIT or (
            since is not None and thread["last_change_seq"] - since > CATCH_UP_LIMIT
        ):
            return {"reload": True}
        pool = self.ctx.pool
        thread_id = thread["id"]
        listing = await posts.list_after(pool, place, thread_id, after, CATCH_UP_LIMIT + 1, since)
        moved = []
        if since is not None:
            moved = await posts_q.list_moved_away(pool, thread_id, since, CATCH_UP_LIMIT + 1)
        if listing.read > CATCH_UP_LIMIT or len(moved) > CATCH_UP_LIMIT:
            return {"reload": True}
        reply: dict[str, Any] = {"missed": listing.posts}
        if moved:
            reply["removed"] = [{"id": r["id"], "moved_to": r["moved_to"]} for r in moved]
        return reply

    async def _questions(self, panel: Panel, data: dict[str, Any]) -> dict[str, Any]:
        """What a panel page missed, when the join says `since` (the last change number of
        the panel's questions it saw; votes, answers and changes of state have no seq):
        `questions`, those changed since, as this reader may see them, with their answers;
        or `reload` beyond CATCH_UP_LIMIT."""
        _after, since = _catch_up_point(data)
        if since is None:
            return {}

        changed = await panels.questions_changed(self.ctx, panel, since, CATCH_UP_LIMIT + 1)
        if len(changed) > CATCH_UP_LIMIT:
            return {"reload": True}
        return {"questions": changed}

    async def _queue_counts(self, place: places.Place, data: dict[str, Any]) -> dict:
        """The moderation page's counts now, when the join asks (`"counts": true`): what
        arrived while it was away (or before its socket joined) has no seq to ask after."""
        if data.get("counts") is not True:
            return {}

        return {"counts": await queue_counts(self.ctx, place)}

    async def _enter_moderation(self, sid: str, room: str, actor: Actor) -> None:
        """Conference-wide moderators join the room; a facilitator of chosen sessions joins
        one room per session instead, so that they hear only of their sessions."""
        conference_id = int(room.partition(":")[2])
        conference = await conferences_q.fetch_conference(self.ctx.pool, conference_id)
        place = await places.place_from_row(self.ctx.pool, actor, conference)
        if place.can("moderate.members"):
            await self.enter_room(sid, room)
            return
        assert place.member is not None
        for session_id in place.member.session_ids:
            await self.enter_room(sid, moderation_room(conference_id, session_id))

    async def _joined(self, sid: str, room: str) -> int:
        if self.presence.add(room, sid):
            self.rooms_of.setdefault(sid, set()).add(room)
            await self._announce_presence(room)
        return await self.presence.count(room)

    async def _left(self, sid: str, room: str) -> None:
        self.presence.discard(room, sid)
        await self._announce_presence(room)

    async def _announce_presence(self, room: str) -> None:
        """At most one presence broadcast per room per PRESENCE_DELAY.

        Announcing every join to the whole room costs N² frames as N people arrive (2M for
        2,000); the join's ack already tells the newcomer the count.
        """
        if room in self.presence_pending:
            return

        async def later() -> None:
            await asyncio.sleep(PRESENCE_DELAY)
            self.presence_pending.pop(room, None)
            count = await self.presence.count(room)
            event = presence_event(room, count)
            await self.emit(event.name, event.data, room=event.room)

        self.presence_pending[room] = asyncio.create_task(later())

    # --- actions: the same services as HTTP ---------------------------------------------

    async def on_post(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        thread_id = _need_id(data, "thread_id", _("Say which thread."))
        actor = await self._actor(sid)
        await self._limit(sid, "post")
        post, created = await posts.create_post(self.ctx, actor, None, thread_id, data)
        return {"ok": True, "post": post, "created": created}

    async def on_moderate(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """{"action", "post_id" | "thread_id" | ("user_id" and "conference"), ...reason etc.}"""
        action = data.get("action")
        if not isinstance(action, str):
            raise BadRequest(_("Say what to do."), fields={"action": _("Required")})
        actor = await self._actor(sid)
        if (post_id := parse_id(data.get("post_id"))) is not None:
            result = await moderation.moderate_post(self.ctx, actor, post_id, action, data)
        elif (thread_id := parse_id(data.get("thread_id"))) is not None:
            result = await moderation.moderate_thread(self.ctx, actor, thread_id, action, data)
        elif (user_id := parse_id(data.get("user_id"))) is not None and isinstance(
            data.get("conference"), str
        ):
            result = await moderation.moderate_member(
                self.ctx, actor, data["conference"], user_id, action, data
            )
        else:
            raise NotFound(_("Say which post, thread or member."))
        return {"ok": True, "result": result}

    async def on_flag(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """{"post_id", "reason", "note"}: report a post."""
        post_id = _need_id(data, "post_id", _("Say which post."))
        actor = await self._actor(sid)
        result = await moderation.flag_post(self.ctx, actor, post_id, data)
        return {"ok": True, "result": result}

    async def on_ask(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """{"session_id", "body", "idempotency_key"}: ask the panel a question."""
        session_id = _need_id(data, "session_id", _("Say which panel."))
        actor = await self._actor(sid)
        await self._limit(sid, "post")
        slug = await conferences_q.fetch_slug_of_session(self.ctx.pool, session_id)
        if slug is None:
            raise NotFound(_("No such panel."))
        question, created = await panels.ask(self.ctx, actor, slug, session_id, data)
        return {"ok": True, "question": question, "created": created}

    async def on_vote(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """{"question_id", "withdraw": false}: vote for a question, or withdraw the vote."""
        question_id = _need_id(data, "question_id", _("Say which question."))
        actor = await self._actor(sid)
        await self._limit(sid, "vote")
        result = await panels.vote(
            self.ctx, actor, question_id, withdraw=data.get("withdraw") is True
        )
        return {"ok": True, **result}

    # --- evictions (confer.live.evict) ----------------------------------------------------

    async def apply_eviction(self, order: dict[str, Any]) -> None:
        """An eviction, on this process's sockets (every process runs it)."""
        if "user" in order:
            await self._close_room(user_room(int(order["user"])), "signed_out")
        for token_id in order.get("tokens", ()):
            await self._close_room(token_room(int(token_id)), "token_revoked")
        if "conference" in order:
            conference_id = int(order["conference"])
            rooms = await self._rooms_of_conference(conference_id)
            if "member" in order:
                sids = self._local_sids(user_room(int(order["member"])))
            else:
                sids = {sid for room in rooms for sid in self._local_sids(room)}
            answers: dict[tuple[int | None, str], bool] = {}
            for sid in sids:
                await self._recheck(sid, rooms, answers)

    async def _lang_of(self, sid: str) -> str:
        """The language the socket's messages are written in (on_connect)."""
        try:
            session = await self.get_session(sid)
        except KeyError:  # disconnected meanwhile
            return i18n.DEFAULT
        return session.get("lang") or i18n.DEFAULT

    def _local_sids(self, room: str) -> set[str]:
        return {sid for sid, _room in self.server.manager.get_participants("/", room)}

    async def _tell_error(
        self, sid: str, code: str, message: str, *, fields: Any = _UNSET, room: str | None = None
    ) -> None:
        """The one `error` event a socket is sent (unasked: a refusal is an acknowledgement):
        `{"code", "message"}`, with the error's `fields` when the refusal has them, or the
        `room` it was evicted from."""
        data: dict[str, Any] = {"code": code, "message": message}
        if fields is not _UNSET:
            data["fields"] = fields
        if room is not None:
            data["room"] = room
        await self.emit("error", data, to=sid)

    async def _close_room(self, room: str, code: str) -> None:
        messages = {
            "signed_out": N_("You have been signed out."),
            "token_revoked": N_("The API token of this connection was revoked."),
        }
        for sid in self._local_sids(room):
            with i18n.using(await self._lang_of(sid)):
                await self._tell_error(sid, code, _(messages[code]))
            await self.server.disconnect(sid, ignore_queue=True)

    async def _rooms_of_conference(self, conference_id: int) -> set[str]:
        rows = await self.ctx.pool.fetch(
            """SELECT 'thread' AS kind, id FROM threads WHERE conference_id = $1
               UNION ALL SELECT 'session', id FROM sessions WHERE conference_id = $1""",
            conference_id,
        )
        rooms = {conference_room(conference_id), moderation_room(conference_id)}
        for r in rows:
            if r["kind"] == "thread":
                rooms.add(thread_room(r["id"]))
            else:
                rooms |= {panel_room(r["id"]), moderation_room(conference_id, r["id"])}
        return rooms

    async def _recheck(
        self, sid: str, rooms: set[str], answers: dict[tuple[int | None, str], bool]
    ) -> None:
        """The socket leaves those of `rooms` its actor may no longer be in (told by an
        `error` event with code `evicted` and the room). `answers` is shared by the sockets of
        one eviction: the same actor in the same room is asked once."""
        try:
            actor = await self._actor(sid)
        except SignedOut:
            return  # closed by _actor
        for room in sorted(set(self.server.manager.get_rooms(sid, "/")) & rooms):
            key = (actor.user_id, room)
            if key not in answers:
                answers[key] = await self._may_stay(actor, room)
            if not answers[key]:
                await self._leave(sid, room)
                with i18n.using(await self._lang_of(sid)):
                    await self._tell_error(
                        sid,
                        "evicted",
                        _("You can no longer follow this live: reload the page."),
                        room=room,
                    )

    async def _close_socket(self, sid: str) -> None:
        with i18n.using(await self._lang_of(sid)):
            await self._tell_error(sid, "signed_out", _("Sign in again."))
        await self.server.disconnect(sid, ignore_queue=True)

    async def _may_stay(self, actor: Actor, room: str) -> bool:
        """Whether `actor` may still be in `room` (as on_join decides, now)."""
        kind, _sep, rest = room.partition(":")
        try:
            if kind != "moderation":
                await self._authorise(actor, room)
                return True
            conference_id, _sep, session = rest.partition(":session:")
            conference = await conferences_q.fetch_conference(self.ctx.pool, int(conference_id))
            if conference is None:
                return False
            place = await places.place_from_row(self.ctx.pool, actor, conference)
            if not session:
                return place.can("moderate.members")
            return place.can("moderate", session={"id": int(session)})
        except ConferError:
            return False


def _manager(settings: Any) -> socketio.AsyncManager:
    if settings.redis_url:
        return FastRedisManager(settings.redis_url)
    return FastEmitManager()


def setup(app: web.Application) -> socketio.AsyncServer:
    """Attach the socket.io server at /socket.io/ and connect it to the hub."""
    settings = app[settings_key]
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=_manager(settings),
        # None: the handshake must be same-origin (never "*" with cookie auth).
        cors_allowed_origins=None,
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        json=_FastJSON,
        ping_interval=20,
        ping_timeout=20,
    )
    use_plain_websockets(sio)
    sio.manager.metrics = app.get(metrics_key)
    sio.attach(app)
    namespace = ConferNamespace(app)
    sio.register_namespace(namespace)
    app[sio_key] = sio

    async def emit(event: Event) -> None:
        await sio.emit(event.name, event.data, room=event.room)

    manager = sio.manager
    assert isinstance(manager, FastEmitManager)
    manager.on_evict = namespace.apply_eviction

    async def disconnect_user(user_id: int) -> None:
        await manager.evict({"user": user_id})

    app[hub_key].attach(emit, disconnect_user, manager.evict)

    async def presence_ctx(app: web.Application) -> AsyncIterator[None]:
        await namespace.presence.start()
        yield
        await namespace.presence.stop()

    app.cleanup_ctx.append(presence_ctx)
    app.on_shutdown.append(going_away)
    return sio


async def going_away(app: web.Application) -> None:
    """On shutdown, and when a drain starts (confer.serving): close every socket as "going
    away" (websocket close code 1001), so that clients reconnect by themselves — to another
    process, or to this one once it is back — and catch up by seq. A socket.io DISCONNECT
    packet would tell them not to come back: the socket.io client does not reconnect after
    "io server disconnect"."""
    await close_all(app[sio_key].eio, WSCloseCode.GOING_AWAY, b"Server restarting")


class _FastJSON:
    """socket.io's JSON module: compact separators, ISO dates."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, separators=(",", ":"), default=str)

    @staticmethod
    def loads(s: str | bytes, **kwargs: Any) -> Any:
        return json.loads(s)
