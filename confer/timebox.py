"""The time box: whether a thread, session or panel takes writes now, by the database clock.

confer.policy says who may do what; this module says when. Each check reads states the
database computed with its own `now()` (`posting_state`, `state`, `asking_open`, ...) and
raises Closed with a message in the conference's time zone, naming when it opens or closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confer import timefmt
from confer.errors import Closed
from confer.i18n import _


def _at(dt: Any, tz: str) -> dict[str, str]:
    """A message's time and its zone, in words people use ("UK time")."""
    return {"when": timefmt.when(dt, tz), "tz": timefmt.zone_name(tz, dt)}


def check_open(thread: Mapping[str, Any], tz: str) -> None:
    """Raise Closed unless the thread takes posts now (by the database clock)."""
    state = thread["posting_state"]
    if state == "open":
        return
    if state == "upcoming":
        raise Closed(
            _("This thread opens for posts at %(when)s (%(tz)s).") % _at(thread["opens_at"], tz),
            opens_at=thread["opens_at"],
        )
    if state == "draft":
        raise Closed(_("This conference has not been published yet."))
    if state == "locked":
        if thread["lock_reason"]:
            raise Closed(
                _("A facilitator locked this thread: %(reason)s. You can still read it.")
                % {"reason": thread["lock_reason"]}
            )
        raise Closed(_("A facilitator locked this thread: no reason given. You can still read it."))
    if thread["closed_at"] is not None and thread["closed_at"] < thread["closes_at"]:
        raise Closed(
            _("A facilitator closed this thread at %(when)s (%(tz)s). You can still read it.")
            % _at(thread["closed_at"], tz),
            closed_at=thread["closed_at"],
        )
    raise Closed(
        _("This thread closed for posts at %(when)s (%(tz)s). You can still read it.")
        % _at(thread["closes_at"], tz),
        closed_at=thread["closes_at"],
    )


def check_thread_window(
    conference: Mapping[str, Any], session: Mapping[str, Any], tz: str, *, staff: bool
) -> None:
    """Raise Closed unless a thread may be started in `session` now. Staff (organisers, the
    session's facilitators) may prepare threads before it opens, never after the conference."""
    c = conference
    if c["state"] == "closed":
        raise Closed(
            _("This conference closed at %(when)s (%(tz)s). It is now a read-only archive.")
            % _at(c["ends_at"], tz),
            closed_at=c["ends_at"],
        )
    if staff:
        return
    if session["posting_window"] == "conference":
        if c["state"] != "live":
            raise Closed(
                _("This conference opens at %(when)s (%(tz)s).") % _at(c["starts_at"], tz),
                opens_at=c["starts_at"],
            )
        return
    if session["state"] == "upcoming":
        raise Closed(
            _("This session opens at %(when)s (%(tz)s).") % _at(session["starts_at"], tz),
            opens_at=session["starts_at"],
        )
    if session["state"] == "closed":
        raise Closed(
            _("This session closed at %(when)s (%(tz)s).") % _at(session["ends_at"], tz),
            closed_at=session["ends_at"],
        )


def check_asking_open(window: Mapping[str, Any], tz: str) -> None:
    """Raise Closed unless a panel takes questions now."""
    if window["asking_open"]:
        return
    if window["state"] == "closed":
        raise Closed(_("This panel closed at %(when)s (%(tz)s).") % _at(window["ends_at"], tz))
    raise Closed(
        _("Questions open at %(when)s (%(tz)s).") % _at(window["asking_opens_at"], tz),
        opens_at=window["asking_opens_at"],
    )


def check_voting_open(window: Mapping[str, Any]) -> None:
    """Raise Closed unless a panel's questions take votes now (while asking is open)."""
    if not window["asking_open"]:
        raise Closed(_("Voting has closed for this panel."))


def check_answering_open(window: Mapping[str, Any], tz: str) -> None:
    """Raise Closed unless a panel's speakers may answer now."""
    if window["answering_open"]:
        return
    if window["state"] == "upcoming":
        raise Closed(
            _("Answers open when the panel starts, at %(when)s (%(tz)s).")
            % _at(window["starts_at"], tz)
        )
    raise Closed(
        _("Answering closed at %(when)s (%(tz)s).") % _at(window["answering_closes_at"], tz)
    )
