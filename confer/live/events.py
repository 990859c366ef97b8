"""Live events: what services publish after their transaction commits.

The wire names are the protocol in docs/live.md (post:new, thread:updated, ...). Every room
name is built here, and only here (static/confer.js spells the ones a page joins).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    name: str
    room: str
    data: dict[str, Any]


def thread_room(thread_id: int) -> str:
    """A thread's readers."""
    return f"thread:{thread_id}"


def conference_room(conference_id: int) -> str:
    """A conference's home and session pages: new threads, live activity, changes."""
    return f"conference:{conference_id}"


def panel_room(session_id: int) -> str:
    """A panel session's page: its questions."""
    return f"panel:{session_id}"


def user_room(user_id: int) -> str:
    """Every socket of one signed-in person (joined on connecting)."""
    return f"user:{user_id}"


def login_room(login_id: int) -> str:
    """The sockets of one sign-in (closed when it ends: confer.live.evict)."""
    return f"login:{login_id}"


def token_room(token_id: int) -> str:
    """The sockets opened with one API token (closed when it is revoked)."""
    return f"token:{token_id}"


def moderation_room(conference_id: int, session_id: int | None = None) -> str:
    """Conference-wide moderators share one room; facilitators of chosen sessions, one each."""
    if session_id is None:
        return f"moderation:{conference_id}"
    return f"moderation:{conference_id}:session:{session_id}"


def moderation_rooms(conference_id: int, session_id: int | None) -> list[str]:
    """Where the moderators of a session's threads and posts hear of them."""
    rooms = [moderation_room(conference_id)]
    if session_id is not None:
        rooms.append(moderation_room(conference_id, session_id))
    return rooms


# --- to one person ------------------------------------------------------------------------


def notification_event(user_id: int, note: dict[str, Any]) -> Event:
    """A notification (a mention, a reply, a new post in a followed thread), as the JSON API
    lists it, with the recipient's new unread count (confer.notifications.service)."""
    return Event("notification", user_room(user_id), note)


def notice_event(
    user_id: int,
    kind: str,
    *,
    conference_id: int,
    reason: str | None = None,
    question_id: int | None = None,
) -> Event:
    """Something done about this person that is not a notification and changes no count:
    a facilitator's action on their membership ("member.mute", ...), a decision on their
    registration ("registration.approved", "registration.promoted", ...), or their panel
    question dismissed ("question.dismissed"). One shape for all of them."""
    data = {
        "kind": kind,
        "conference_id": conference_id,
        "reason": reason,
        "question_id": question_id,
    }
    return Event("notice", user_room(user_id), data)


# --- to a conference's pages ----------------------------------------------------------------


def conference_updated_event(
    conference_id: int,
    *,
    state: str | None = None,
    session_id: int | None = None,
    session_state: str | None = None,
) -> Event:
    """A conference changed: `{"id"}` alone after an organiser's edit (pages reload what they
    show), with `state` when the programme clock moved the conference (confer.live.scheduler),
    or with `session_id` and `session_state` when it moved one of its sessions."""
    data: dict[str, Any] = {"id": conference_id}
    if state is not None:
        data["state"] = state
    if session_id is not None:
        data["session_id"] = session_id
        data["session_state"] = session_state
    return Event("conference:updated", conference_room(conference_id), data)


def thread_updated_events(
    thread_id: int, fields: dict[str, Any], *, conference_id: int | None = None
) -> list[Event]:
    """A thread changed: its readers (and, given `conference_id`, the conference's pages) get
    `fields` with its `thread_id`. The fields are either the whole thread
    (confer.threads.service.thread_payload) with the moderator's `change`, or the posting
    state the programme clock moved it to (`posting_state`, `opens_at`, `closes_at`,
    `message`)."""
    data = {**fields, "thread_id": thread_id}
    rooms = [thread_room(thread_id)]
    if conference_id is not None:
        rooms.append(conference_room(conference_id))
    return [Event("thread:updated", room, data) for room in rooms]


# --- to moderators --------------------------------------------------------------------------


def flag_new_events(
    conference_id: int,
    session_id: int | None,
    *,
    post_id: int,
    thread_id: int,
    reason: str,
    reason_text: str,
    count: int,
    hidden: bool,
) -> list[Event]:
    """A member reported a post: its moderators' queue gets the report, the post's open
    report `count`, and whether the reports `hidden` it."""
    data = {
        "post_id": post_id,
        "thread_id": thread_id,
        "session_id": session_id,
        "reason": reason,
        "reason_text": reason_text,
        "count": count,
        "hidden": hidden,
    }
    return [Event("flag:new", room, data) for room in moderation_rooms(conference_id, session_id)]


def flag_resolved_events(
    conference_id: int, session_id: int | None, *, post_id: int, outcome: str
) -> list[Event]:
    """A moderator resolved a post's reports (`outcome` "keep" or "hide")."""
    data = {"post_id": post_id, "outcome": outcome}
    rooms = moderation_rooms(conference_id, session_id)
    return [Event("flag:resolved", room, data) for room in rooms]


# --- to a room's sockets --------------------------------------------------------------------


def presence_event(room: str, count: int) -> Event:
    """How many people are in `room` now (confer.live.server, coalesced per room)."""
    return Event("presence", room, {"room": room, "count": count})
