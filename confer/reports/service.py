"""The participation report: every figure an organiser needs after a conference.

Only organisers (and site admins) may see it; everyone else is refused by
`places.load(..., "conference.manage")` (404 for a conference they may not see,
401 for the anonymous, 403 otherwise). Every figure is read inside one REPEATABLE READ,
read-only transaction, so the tables agree with each other even while people are posting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg

from confer import places
from confer.conferences.service import ROLES
from confer.context import Ctx
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
    """'Thursday 15 January 2026' (already a date in the conference's timezone)."""
    return f"{d:%A} {d.day} {d:%B %Y}"


def hour_label(hour: int) -> str:
    """'09:00 to 09:59'."""
    return f"{hour:02d}:00 to {hour:02d}:59"


def action_label(action: str) -> str:
    """'post.auto_hide' -> 'Post: auto hide'."""
    target, _, verb = action.partition(".")
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
    )
