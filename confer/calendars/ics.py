"""iCalendar (RFC 5545) files, built with the icalendar library, never by hand.

Each session is one VEVENT whose UID is derived from the session's id and the site's host, so
a calendar that imported it updates the same event when the session moves (SEQUENCE is raised
on every change, in the database) and marks it cancelled when the session is deleted
(STATUS:CANCELLED, from cancelled_sessions). Times are written in the conference's own zone
with a VTIMEZONE for it, so they stay right on both sides of a clock change. Whether an event
carries a joining link is decided by the caller (confer.calendars.service); this module only
writes what it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from confer.i18n import _

PRODID = "-//Confer//Confer calendars//EN"


@dataclass(frozen=True, slots=True)
class SessionEvent:
    session_id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    sequence: int
    url: str  # the session's page, absolute
    conference_title: str
    cancelled: bool = False
    joining_url: str | None = None


def uid(session_id: int, base_url: str) -> str:
    """The session's UID: the same for as long as the site keeps its address."""
    host = urlsplit(base_url).hostname or "confer"
    return f"session-{session_id}@{host}"


def _description(e: SessionEvent) -> str:
    parts = [e.conference_title]
    if e.description.strip():
        parts.append(e.description.strip())
    if e.joining_url:
        parts.append(_("Join online: %(url)s") % {"url": e.joining_url})
    parts.append(e.url)
    return "\n\n".join(parts)


def event(e: SessionEvent, *, base_url: str, stamp: datetime) -> Event:
    zone = ZoneInfo(e.timezone)
    ev = Event()
    ev.add("uid", uid(e.session_id, base_url))
    ev.add("dtstamp", stamp)
    ev.add("dtstart", e.starts_at.astimezone(zone))
    ev.add("dtend", e.ends_at.astimezone(zone))
    ev.add("summary", e.title)
    ev.add("sequence", e.sequence)
    ev.add("status", "CANCELLED" if e.cancelled else "CONFIRMED")
    ev.add("url", e.url, parameters={"VALUE": "URI"})
    ev.add("description", _description(e))
    if e.joining_url:
        ev.add("location", e.joining_url)
    return ev


def calendar(events: Iterable[SessionEvent], *, name: str, base_url: str) -> bytes:
    """A VCALENDAR of `events`, with a VTIMEZONE for every zone they use."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    stamp = datetime.now(UTC).replace(microsecond=0)
    first: date | None = None
    last: date | None = None
    for e in events:
        cal.add_component(event(e, base_url=base_url, stamp=stamp))
        start, end = e.starts_at.date(), e.ends_at.date()
        first = start if first is None or start < first else first
        last = end if last is None or end > last else last
    if first is not None and last is not None:
        # Only the transitions around the events: a VTIMEZONE from 1970 would be most of the file.
        cal.add_missing_timezones(first - timedelta(days=366), last + timedelta(days=366))
    return cal.to_ical()
