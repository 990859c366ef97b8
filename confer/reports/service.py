"""The participation report: every figure an organiser needs after a conference.

Only organisers (and site admins) may see it; everyone else is refused by
`places.load(..., "conference.manage")` (404 for a conference they may not see,
401 for the anonymous, 403 otherwise). Every figure is read inside one REPEATABLE READ,
read-only transaction, so the tables agree with each other even while people are posting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
from babel.dates import format_date

from confer import i18n, places
from confer.conferences.service import ROLES
from confer.context import Ctx
from confer.i18n import N_, _
from confer.places import Place
from confer.policy import Actor
from confer.reports import queries as q

STATUSES = ("active", "pending", "waitlisted", "declined", "removed")
ACTIVITIES = ("visited", "posted", "asked", "voted", "attended")


@dataclass(frozen=True)
class RoleRow:
    role: str
    by_status: dict[str, int]
    total: int


@dataclass(frozen=True)
class AttendanceRow:
    role: str
    members: int
    visited: int
    posted: int
    asked: int
    voted: int
    attended: int


@dataclass
class Report:
    place: Place
    registrations: list[RoleRow]
    registration_totals: dict[str, int]
    attendance: list[AttendanceRow]
    attendance_total: AttendanceRow
    organisations: list[asyncpg.Record]
    posts_per_session: list[asyncpg.Record]
    posts_per_day: list[asyncpg.Record]
    posts_per_hour: list[asyncpg.Record]
    active_threads: list[asyncpg.Record]
    questions: list[asyncpg.Record]
    moderation: list[asyncpg.Record]
    as_of: datetime
    totals: dict[str, int] = field(default_factory=dict)
    # The conference with its languages (`language`, `bilingual`, `translations`), for its
    # and its sessions' texts in the reader's language (i18n.localized).
    conference: dict[str, Any] = field(default_factory=dict)


def _registrations(rows: list[asyncpg.Record]) -> tuple[list[RoleRow], dict[str, int]]:
    counts = {(r["role"], r["status"]): r["members"] for r in rows}
    table = []
    for role in ROLES:
        by_status = {s: counts.get((role, s), 0) for s in STATUSES}
        table.append(RoleRow(role, by_status, sum(by_status.values())))
    totals = {s: sum(r.by_status[s] for r in table) for s in STATUSES}
    totals["total"] = sum(r.total for r in table)
    return table, totals


def _attendance(rows: list[asyncpg.Record]) -> tuple[list[AttendanceRow], AttendanceRow]:
    by_role = {r["role"]: r for r in rows}
    table = []
    for role in ROLES:
        r = by_role.get(role)
        if r is None:
            table.append(AttendanceRow(role, 0, 0, 0, 0, 0, 0))
        else:
            table.append(AttendanceRow(role, r["members"], *(r[a] for a in ACTIVITIES)))
    total = AttendanceRow(
        "total",
        sum(r.members for r in table),
        *(sum(getattr(r, a) for r in table) for a in ACTIVITIES),
    )
    return table, total


def day_label(d: date) -> str:
    """'Thursday 15 January 2026'; 'Dydd Iau 15 Ionawr 2026' (already a date in the
    conference's timezone; the names are CLDR's, in the current language)."""
    return format_date(d, "EEEE d MMMM y", locale=i18n.babel_locale())


def day_short(d: date) -> str:
    """'Thu 15 Jan'; 'Iau 15 Ion' (a chart's axis)."""
    return format_date(d, "EEE d MMM", locale=i18n.babel_locale())


def hour_label(hour: int) -> str:
    """'09:00 to 09:59'."""
    return _("%(start)s to %(end)s") % {"start": f"{hour:02d}:00", "end": f"{hour:02d}:59"}


# Every action the moderation log records (confer.moderation, confer.panels,
# confer.calendars), in words: the report's table and the moderation page's log.
ACTION_NAMES = {
    "thread.pin": N_("Thread: pin"),
    "thread.unpin": N_("Thread: unpin"),
    "thread.lock": N_("Thread: lock"),
    "thread.unlock": N_("Thread: unlock"),
    "thread.close": N_("Thread: close"),
    "thread.reopen": N_("Thread: reopen"),
    "thread.premoderate": N_("Thread: premoderate"),
    "thread.unpremoderate": N_("Thread: unpremoderate"),
    "thread.slow_mode": N_("Thread: slow mode"),
    "thread.summarise": N_("Thread: summarise"),
    "post.hide": N_("Post: hide"),
    "post.restore": N_("Post: restore"),
    "post.approve": N_("Post: approve"),
    "post.reject": N_("Post: reject"),
    "post.pin": N_("Post: pin"),
    "post.unpin": N_("Post: unpin"),
    "post.move": N_("Post: move"),
    "post.auto_hide": N_("Post: auto hide"),
    "flags.keep": N_("Flags: keep"),
    "flags.hide": N_("Flags: hide"),
    "member.mute": N_("Member: mute"),
    "member.unmute": N_("Member: unmute"),
    "member.premoderate": N_("Member: premoderate"),
    "member.unpremoderate": N_("Member: unpremoderate"),
    "member.remove": N_("Member: remove"),
    "question.approve": N_("Question: approve"),
    "question.answering": N_("Question: answering"),
    "question.answered": N_("Question: answered"),
    "question.dismiss": N_("Question: dismiss"),
    "question.merge": N_("Question: merge"),
    "question.reopen": N_("Question: reopen"),
    # A session's joining link, set on the session form (confer.calendars.service).
    "session.joining_link_added": N_("Session: joining link added"),
    "session.joining_link_changed": N_("Session: joining link changed"),
    "session.joining_link_removed": N_("Session: joining link removed"),
}


def action_label(action: str) -> str:
    """'post.auto_hide' -> 'Post: auto hide' (an action the table does not know is written
    from its code; the page shows the code beside it)."""
    if action in ACTION_NAMES:
        return _(ACTION_NAMES[action])
    target, _sep, verb = action.partition(".")
    if not verb:
        return action.replace("_", " ").capitalize()
    return f"{target.capitalize()}: {verb.replace('_', ' ')}"


async def participation(ctx: Ctx, actor: Actor, slug: str) -> Report:
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    cid = place.id
    async with (
        ctx.pool.acquire() as con,
        con.transaction(isolation="repeatable_read", readonly=True),
    ):
        registrations, registration_totals = _registrations(await q.registrations(con, cid))
        attendance, attendance_total = _attendance(await q.attendance(con, cid))
        organisations = await q.organisations(con, cid)
        per_session = await q.posts_per_session(con, cid)
        per_day = await q.posts_per_day(con, cid)
        per_hour = await q.posts_per_hour(con, cid)
        threads = await q.active_threads(con, cid)
        questions = await q.questions_per_panel(con, cid)
        moderation = await q.moderation(con, cid)
        as_of = await q.as_of(con)
        languages = await q.languages(con, cid)
    conference = dict(place.conference)
    conference["language"] = languages["language"] if languages else i18n.DEFAULT
    conference["bilingual"] = bool(languages and languages["bilingual"])
    conference["translations"] = (languages["translations"] if languages else None) or {}
    totals = {
        "posts": sum(r["posts"] for r in per_day),
        "hidden": sum(r["hidden"] for r in per_session),
        "organisations": len(organisations),
        "asked": sum(r["asked"] for r in questions),
        "answered": sum(r["answered"] for r in questions),
        "dismissed": sum(r["dismissed"] for r in questions),
        "moderation": sum(r["actions"] for r in moderation),
    }
    return Report(
        place=place,
        registrations=registrations,
        registration_totals=registration_totals,
        attendance=attendance,
        attendance_total=attendance_total,
        organisations=organisations,
        posts_per_session=per_session,
        posts_per_day=per_day,
        posts_per_hour=per_hour,
        active_threads=threads,
        questions=questions,
        moderation=moderation,
        as_of=as_of,
        totals=totals,
        conference=conference,
    )
