"""A programme written as lines of text ("Day 1 | 09:30-10:00 | Keynote | Title"): read into
the add-session form's fields, one line at a time. Only reading: the fields are checked and
written by confer.conferences.service (check_lines, write_lines), which the programme page's
paste box (confer.conferences.builder) and a new conference's "Programme" box both use."""

from __future__ import annotations

import re
from datetime import date, timedelta

from confer import timefmt
from confer.i18n import _
from confer.places import Place

MAX_LINES_CHARS = 20_000


def days_of(place: Place) -> list[date]:
    """Every calendar day of the conference, in its zone (for the copy-a-day form)."""
    first = timefmt.local(place.conference["starts_at"], place.tz).date()
    last = timefmt.local(place.conference["ends_at"] - timedelta(microseconds=1), place.tz).date()
    out, d = [], first
    while d <= last and len(out) < 366:
        out.append(d)
        d += timedelta(days=1)
    return out


MAX_LINES = 100
# "Day 1 | 09:30-10:00 | Keynote | Opening keynote" or "2027-03-29 | 09:30 to 10:00 | …".
DAY = r"(?:day|diwrnod)\s*\d{1,3}|\d{4}-\d{2}-\d{2}"
LINE = re.compile(
    rf"^\s*(?P<day>{DAY})\s*\|"
    r"\s*(?P<start>\d{1,2}[:.]\d{2})\s*(?:-|–|to|i)\s*"
    rf"(?:(?P<end_day>{DAY})\s+)?(?P<end>\d{{1,2}}[:.]\d{{2}})\s*\|"
    r"\s*(?P<kind>[^|]+?)\s*\|\s*(?P<title>.*?)\s*$",
    re.IGNORECASE,
)
# A session's kind as people write it, in either language.
KIND_WORDS = {
    "discussion": "discussion", "trafodaeth": "discussion",
    "panel": "panel",
    "keynote": "keynote", "prif anerchiad": "keynote", "anerchiad": "keynote",
    "break": "break", "egwyl": "break",
}  # fmt: skip


def line_values(place: Place, days: list[date], line: str) -> dict[str, object] | str:
    """One line's session fields, as the add form gives them, or what is wrong with it."""
    m = LINE.match(line)
    if m is None:
        return _("write it as: Day 1 | 09:30-10:00 | Discussion | Title")
    day = _line_day(days, m["day"])
    end_day = _line_day(days, m["end_day"]) if m["end_day"] else day
    for d in (day, end_day):
        if isinstance(d, str):
            return d
    kind = KIND_WORDS.get(" ".join(m["kind"].lower().split()))
    if kind is None:
        return _("the kind must be Discussion, Panel, Keynote or Break")

    def at(d: date, text: str) -> str:
        hours, minutes = re.split(r"[:.]", text)
        return f"{d.isoformat()}T{int(hours):02d}:{minutes}"

    assert isinstance(day, date) and isinstance(end_day, date)
    return {
        "kind": kind,
        "title": m["title"],
        "starts_at": at(day, m["start"]),
        "ends_at": at(end_day, m["end"]),
    }


def _line_day(days: list[date], text: str) -> date | str:
    """ "Day 2" (the conference's second day) or "2027-03-29"; or what is wrong with it."""
    text = text.lower()
    if text[0].isdigit():
        try:
            return date.fromisoformat(text)
        except ValueError:
            return _("Enter a real date, like 2027-03-29")
    number = int(re.sub(r"\D", "", text))
    if not 1 <= number <= len(days):
        return _("the conference has days 1 to %(last)s") % {"last": len(days)}
    return days[number - 1]
