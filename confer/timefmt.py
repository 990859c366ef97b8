"""Times as people read them: always in the conference's timezone, with the zone named, in
the reader's language (the names of days and months are Babel's, from CLDR)."""

from __future__ import annotations

import functools
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from confer import i18n


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


def input_value(dt: datetime | None, tz: str) -> str:
    """For <input type="datetime-local">, in the conference's timezone."""
    if dt is None:
        return ""
    return local(dt, tz).strftime("%Y-%m-%dT%H:%M")


def iso(dt: datetime | None) -> str:
    return dt.isoformat() if dt is not None else ""
