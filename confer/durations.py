"""Lengths of time as people say them, in the reader's language: "2 minutes", not "118
seconds" (slow mode, how long until a member may post again).

Each unit is a whole plural message ("%(num)d minute"); two units are joined by a message of
their own ("%(first)s and %(second)s"), as a list is, never by gluing English words.
"""

from __future__ import annotations

from confer.i18n import _, ngettext


def _seconds(n: int) -> str:
    return ngettext("%(num)d second", "%(num)d seconds", n) % {"num": n}


def _minutes(n: int) -> str:
    return ngettext("%(num)d minute", "%(num)d minutes", n) % {"num": n}


def _hours(n: int) -> str:
    return ngettext("%(num)d hour", "%(num)d hours", n) % {"num": n}


def duration(seconds: int) -> str:
    """An exact length: "45 seconds", "2 minutes", "1 minute and 30 seconds", "1 hour"."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [unit(n) for n, unit in ((hours, _hours), (minutes, _minutes), (secs, _seconds)) if n]
    if not parts:
        return _seconds(0)
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return _("%(first)s and %(second)s") % {"first": parts[0], "second": parts[1]}
    return _("%(first)s, %(second)s and %(third)s") % {
        "first": parts[0],
        "second": parts[1],
        "third": parts[2],
    }


def wait(seconds: int) -> str:
    """How long until something may happen, rounded up to what a reader needs: seconds under
    a minute, else whole minutes ("2 minutes" for 118 seconds), else hours and minutes."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return _seconds(seconds)
    minutes = -(-seconds // 60)
    return duration(minutes * 60)
