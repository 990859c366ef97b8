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
