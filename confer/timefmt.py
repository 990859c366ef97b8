"""Times as people read them: always in the conference's timezone, with the zone named, in
the reader's language (the names of days and months are Babel's, from CLDR)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime
from markupsafe import Markup, escape

from confer import i18n
from confer.i18n import N_, _


def local(dt: datetime, tz: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz))


def when(dt: datetime | None, tz: str) -> str:
    """'Tuesday 24 November 2026, 16:00 GMT'; 'Dydd Mawrth 24 Tachwedd 2026, 16:00 GMT'."""
    if dt is None:
        return ""
    d = local(dt, tz)
    return f"{format_datetime(d, 'EEEE d MMMM y, HH:mm', locale=i18n.babel_locale())} {d.tzname()}"


@functools.cache
def _short_names(code: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The language's abbreviated day names (Monday first) and month names (CLDR's)."""
    locale = i18n.babel_locale(code)
    days = locale.days["format"]["abbreviated"]
    months = locale.months["format"]["abbreviated"]
    return tuple(days[i] for i in range(7)), tuple(months[i] for i in range(1, 13))


def short(dt: datetime | None, tz: str) -> str:
    """'Tue 24 Nov, 16:00 GMT'; 'Maw 24 Tach, 16:00 GMT'.

    Shown on every post of a thread page, so it is built from the names cached per language
    rather than by Babel's formatter (~40 µs a call; this ~4 µs)."""
    if dt is None:
        return ""
    d = local(dt, tz)
    days, months = _short_names(i18n.lang())
    day = f"{days[d.weekday()]} {d.day} {months[d.month - 1]}"
    return f"{day}, {d.hour:02d}:{d.minute:02d} {d.tzname()}"


def clock(dt: datetime | None, tz: str) -> str:
    """'16:00 GMT'."""
    if dt is None:
        return ""
    d = local(dt, tz)
    return f"{d:%H:%M} {d.tzname()}"


def day(dt: datetime | None, tz: str) -> str:
    if dt is None:
        return ""
    return format_datetime(local(dt, tz), "EEEE d MMMM y", locale=i18n.babel_locale())


def day_name(d: date) -> str:
    """A calendar day: 'Sunday 6 December 2026'; 'Dydd Sul 6 Rhagfyr 2026'."""
    return format_date(d, "EEEE d MMMM y", locale=i18n.babel_locale())


def input_value(dt: datetime | None, tz: str) -> str:
    """For <input type="datetime-local">, in the conference's timezone."""
    if dt is None:
        return ""
    return local(dt, tz).strftime("%Y-%m-%dT%H:%M")


_FRACTIONS = re.compile(r"(\.\d{3})\d+")


def iso(dt: datetime | None) -> str:
    """For JSON and exports: every digit PostgreSQL keeps (microseconds)."""
    return dt.isoformat() if dt is not None else ""


def html_iso(dt: datetime | str | None) -> str:
    """For `<time datetime>`: HTML allows at most three digits of a second's fractions. Takes
    a time or the `iso` text of one (as the JSON API's search results carry it)."""
    if dt is None:
        return ""
    if isinstance(dt, str):
        return _FRACTIONS.sub(r"\1", dt)
    return dt.isoformat(timespec="milliseconds" if dt.microsecond else "seconds")


# --- the zone, in words people use ------------------------------------------------------

# Zones people know by a name rather than an abbreviation that changes with the season.
ZONE_NAMES: dict[str, str] = {"Europe/London": N_("UK time")}


def zone_name(tz: str, at: datetime | None = None) -> str:
    """'UK time' for Europe/London; otherwise the zone's own abbreviation at `at` (now by
    default: 'CET', 'EST'), or its name where it has none ('Asia/Dubai' rather than '+04')."""
    if tz in ZONE_NAMES:
        return _(ZONE_NAMES[tz])
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):  # a form's timezone field as typed
        return str(tz)
    abbreviation = (at or datetime.now(zone)).astimezone(zone).tzname() or ""
    return abbreviation if abbreviation.isalpha() else tz


# --- wall times across clock changes ---------------------------------------------------
#
# A form's `datetime-local` is a wall time in the conference's zone. Twice a year it may not
# name one instant: when clocks go forward an hour is skipped (01:30 on 28 March 2027 does not
# happen in the UK), and when they go back an hour happens twice (01:30 on 31 October 2027 is
# first BST, then GMT). The rule (docs/architecture.md, "Times"): a skipped time is refused,
# naming the time to use instead; a repeated one is its FIRST occurrence (summer time), and
# pages show every time with its zone's abbreviation, so the choice is visible after saving.


@dataclass(frozen=True)
class Resolved:
    at: datetime  # in UTC
    skipped: datetime | None = None  # the wall time to use instead, when this one is skipped
    repeated: bool = False  # the wall time happens twice: `at` is the first


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def resolve_local(naive: datetime, tz: str) -> Resolved:
    """The instant a wall time names in `tz` (see above)."""
    zone = _zone(tz)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    at = first.astimezone(UTC)
    back = at.astimezone(zone).replace(tzinfo=None)
    if back != naive:  # skipped: fold=0 reads it with the offset before the change
        return Resolved(at, skipped=back)
    return Resolved(at, repeated=first.utcoffset() != second.utcoffset())


def skipped_message(naive: datetime, instead: datetime, tz: str) -> str:
    """'01:30 does not exist on 28 March 2027 because UK clocks go forward: use 02:30'."""
    values = {
        "time": f"{naive:%H:%M}",
        "date": format_date(naive.date(), "d MMMM y", locale=i18n.babel_locale()),
        "instead": f"{instead:%H:%M}",
        "zone": tz,
    }
    if tz in ZONE_NAMES:
        return (
            _("%(time)s does not exist on %(date)s because UK clocks go forward: use %(instead)s")
            % values
        )
    return (
        _(
            "%(time)s does not exist on %(date)s in %(zone)s because the clocks go forward: "
            "use %(instead)s"
        )
        % values
    )


# --- a start and an end -----------------------------------------------------------------


def same_day(start: datetime, end: datetime, tz: str) -> bool:
    """Whether a range starts and ends on one calendar day in the zone (an end at midnight
    belongs to the next day: it is shown with its date)."""
    return local(start, tz).date() == local(end, tz).date()


def span(start: datetime, end: datetime, tz: str, style: str = "short", html: bool = False) -> str:
    """A time range, in the reader's language: the end's date is given whenever it is not the
    start's day.

    style "short": 'Sun 6 Dec, 12:00 GMT to 13:00 GMT', 'Sun 6 Dec, 12:00 GMT to Mon 7 Dec,
    12:00 GMT'; "long": 'Sunday 6 December 2026, 12:00 GMT to 13:00 GMT', 'Sunday 6 December
    2026, 22:00 GMT to Monday 7 December 2026, 01:00 GMT'. `html`: each end in a `<time
    datetime>` element (Markup)."""
    full = when if style == "long" else short
    start_text = full(start, tz)
    end_text = clock(end, tz) if same_day(start, end, tz) else full(end, tz)
    if not html:
        return _("%(start)s to %(end)s") % {"start": start_text, "end": end_text}
    return escape(_("%(start)s to %(end)s")) % {
        "start": Markup('<time datetime="%s">%s</time>') % (html_iso(start), start_text),
        "end": Markup('<time datetime="%s">%s</time>') % (html_iso(end), end_text),
    }


def html_span(start: datetime, end: datetime, tz: str, style: str = "short") -> str:
    """`span` with `<time datetime>` elements, for pages."""
    return span(start, end, tz, style, html=True)


def short_texts(dt: datetime | None, tz: str) -> dict[str, str]:
    """`short` in every language, by the page's `lang` (what confer.js reads): a live event is
    sent once to readers of every language."""
    out = {}
    for code in i18n.LANGUAGES:
        with i18n.using(code):
            out[i18n.html_lang(code)] = short(dt, tz)
    return out
