"""The conference as one actor sees it: the floor every capability stands on.

`load()` finds a conference by its slug with the actor's membership in one query and checks
that they may see it (404 otherwise); `Place` then answers permission questions through
confer.policy. `fetch_session()` and `fetch_thread()` find a session or thread of that
conference (one of another conference is a 404), so no capability reaches into another's
service to find out where it is.

A bilingual conference's texts are read in the reader's language here, where conferences and
sessions are loaded for pages: `Place.conference` and the sessions of `fetch_session()` (and
of confer.conferences.service.programme) carry the reader's title, summary, code of conduct
and description (`confer.i18n.Localized`, which knows its `lang` for `lang_attr`), and keep
the row as written under "written" (the settings forms, the JSON API: `written()`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from confer.conferences import queries as conferences_q
from confer.errors import NotFound
from confer.i18n import localized
from confer.policy import Actor, Membership, can, require
from confer.threads import queries as threads_q


@dataclass(frozen=True)
class Place:
    """A conference as one actor sees it."""

    conference: asyncpg.Record
    member: Membership | None
    actor: Actor

    def can(self, action: str, **targets: object) -> bool:
        return can(self.actor, self.member, action, conference=self.conference, **targets)  # type: ignore[arg-type]

    def require(self, action: str, **targets: object) -> None:
        require(self.actor, self.member, action, conference=self.conference, **targets)  # type: ignore[arg-type]

    @property
    def id(self) -> int:
        return self.conference["id"]

    @property
    def tz(self) -> str:
        return self.conference["timezone"]


# The texts a bilingual conference gives in both languages (migrations/0018_bilingual.sql).
CONFERENCE_TEXTS = ("title", "summary_html", "code_of_conduct_html")
SESSION_TEXTS = ("title", "description_html")


def for_reader(row: Mapping[str, Any], conference: Mapping[str, Any] | None = None) -> dict:
    """A conference row (or a session row, with its `conference`) as the current reader sees
    it: each of its texts in their language where the conference gives it, else as written,
    marked with its language (confer.i18n.localized). The row as written stays under
    "written". A row already read for a reader is returned as it is."""
    if isinstance(row, dict) and "written" in row:
        return row
    owner = written(conference) if conference is not None else row
    texts = SESSION_TEXTS if conference is not None else CONFERENCE_TEXTS
    out = dict(row)
    for field in texts:
        if field in out:
            out[field] = localized(row, field, conference=owner)
    out["written"] = row
    return out


def written(row: Any) -> Any:
    """The row as written (its own columns), whether or not it was read for a reader."""
    if isinstance(row, dict) and "written" in row:
        return row["written"]
    return row


def membership_from_row(row: asyncpg.Record | dict | None) -> Membership | None:
    if row is None:
        return None
    return Membership(
        conference_id=row["conference_id"],
        user_id=row["user_id"],
        role=row["role"],
        status=row["status"],
        facilitates=row["facilitates"],
        session_ids=frozenset(row["session_ids"]),
        muted=row["muted"],
    )


async def membership_of(
    con: conferences_q.Con, actor: Actor, conference_id: int
) -> Membership | None:
    if actor.user_id is None:
        return None
    return membership_from_row(
        await conferences_q.fetch_membership(con, conference_id, actor.user_id)
    )


async def place_from_row(con: conferences_q.Con, actor: Actor, conference: asyncpg.Record) -> Place:
    return Place(for_reader(conference), await membership_of(con, actor, conference["id"]), actor)


async def load(
    con: conferences_q.Con, actor: Actor, slug: str, action: str = "conference.see"
) -> Place:
    """The conference by slug, as `actor` sees it; 404 if they may not see it."""
    found = await conferences_q.fetch_place_by_slug(con, slug, actor.user_id)
    if found is None:
        raise NotFound()
    conference, member = found
    place = Place(for_reader(conference), membership_from_row(member), actor)  # type: ignore[arg-type]
    place.require(action)
    return place


async def fetch_session(con: conferences_q.Con, place: Place, session_id: int) -> asyncpg.Record:
    """A session of this conference; one of another conference is a 404."""
    row = await conferences_q.fetch_session(con, session_id, place.id)
    if row is None:
        raise NotFound()
    return for_reader(row, place.conference)  # type: ignore[return-value]


async def fetch_thread(
    con: threads_q.Con, place: Place, thread_id: int, *, reader: bool = False
) -> asyncpg.Record:
    """A thread of this conference that the actor may read; otherwise 404. `reader`: with the
    actor's `read_seq` and `has_pinned` (the thread page)."""
    place.require("conference.read")
    if reader:
        thread = await threads_q.fetch_thread_for_reader(
            con, thread_id, place.id, place.actor.user_id
        )
    else:
        thread = await threads_q.fetch_thread(con, thread_id, place.id)
    if thread is None or not thread_shown(place, thread):
        raise NotFound()
    return thread


def thread_shown(place: Place, thread: asyncpg.Record | dict) -> bool:
    """Whether this reader sees the thread: a thread whose opening post awaits approval
    (threads.awaiting_approval) is seen only by its author and its session's moderators."""
    if not thread["awaiting_approval"]:
        return True
    user_id = place.actor.user_id
    if user_id is not None and thread["author_id"] == user_id:
        return True
    return place.can("moderate", session={"id": thread["session_id"]})
