"""In people's calendars (issue #24).

`ics_for_email` is a deliberately small stand-in, written on the `remind` branch so that
invitations and registration confirmations can carry the conference's .ics: the `cal`
branch's feed builder replaces it at merge (same name, same answer: text of a VCALENDAR).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import asyncpg
import icalendar

from confer.urls import url

PRODID = "-//Confer//Confer//EN"

CONFERENCE = """
SELECT id, slug, title, timezone
FROM conferences
WHERE id = $1
"""

SESSIONS = """
SELECT id, title, starts_at, ends_at, sequence
FROM sessions
WHERE conference_id = $1
ORDER BY starts_at, id
"""


async def ics_for_email(
    con: asyncpg.Connection | asyncpg.Pool, conference_id: int, base_url: str
) -> str:
    """The conference's programme as an iCalendar file (METHOD:PUBLISH): one VEVENT a session,
    UID `session-<id>@<host>`, times in the conference's timezone (TZID), SEQUENCE from
    sessions.sequence."""
    conference = await con.fetchrow(CONFERENCE, conference_id)
    if conference is None:
        raise LookupError(f"no conference {conference_id}")
    sessions = await con.fetch(SESSIONS, conference_id)
    host = urlsplit(base_url).hostname or "localhost"
    tz = ZoneInfo(conference["timezone"])
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", conference["title"])
    cal.add("x-wr-timezone", conference["timezone"])
    stamp = datetime.now(UTC)
    for s in sessions:
        event = icalendar.Event()
        event.add("uid", f"session-{s['id']}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", s["starts_at"].astimezone(tz))
        event.add("dtend", s["ends_at"].astimezone(tz))
        event.add("sequence", s["sequence"])
        event.add("summary", s["title"])
        event.add("url", base_url + url("session", slug=conference["slug"], session_id=s["id"]))
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical().decode()
