"""The participation report: every figure an organiser needs after a conference.

Only organisers (and site admins) may see it; everyone else is refused by
`places.load(..., "conference.manage")` (404 for a conference they may not see,
401 for the anonymous, 403 otherwise). Every figure is read inside one REPEATABLE READ,
read-only transaction, so the tables agree with each other even while people are posting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import asyncpg
from babel.dates import format_date

from confer import i18n, places
from confer.conferences.service import ROLES
from confer.context import Ctx
from confer.files import queries as files_q
from confer.i18n import N_, _, ngettext
from confer.places import Place
from confer.policy import FORMER_NAME, Actor
from confer.reports import queries as q

STATUSES = ("active", "pending", "waitlisted", "declined", "removed")
ACTIVITIES = ("visited", "posted", "asked", "voted", "answered", "attended")


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
    answered: int
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
    register: list[asyncpg.Record] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)
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
            table.append(AttendanceRow(role, 0, 0, 0, 0, 0, 0, 0))
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


class ActionWords(NamedTuple):
    """An action of the moderation log in words: its `label` (the report's table) and the
    `sentence` the moderation page's log reads, whole, with named placeholders: %(actor)s
    (who did it), %(name)s (whose post or question, or the member), %(thread)s, %(session)s.
    A sentence of None is written by `log_sentence` itself (it needs a plural)."""

    label: str
    sentence: str | None


# Every action the moderation log records (confer.moderation, confer.panels,
# confer.calendars), in words: the report's table and the moderation page's log.
ACTION_NAMES = {
    "file.infected": ActionWords(N_("File: refused, a virus found"), None),
    "thread.pin": ActionWords(
        N_("Thread: pin"), N_("%(actor)s pinned the thread “%(thread)s”")),
    "thread.unpin": ActionWords(
        N_("Thread: unpin"), N_("%(actor)s unpinned the thread “%(thread)s”")),
    "thread.lock": ActionWords(
        N_("Thread: lock"), N_("%(actor)s locked the thread “%(thread)s”")),
    "thread.unlock": ActionWords(
        N_("Thread: unlock"), N_("%(actor)s unlocked the thread “%(thread)s”")),
    "thread.close": ActionWords(
        N_("Thread: close"), N_("%(actor)s closed the thread “%(thread)s” early")),
    "thread.reopen": ActionWords(
        N_("Thread: reopen"), N_("%(actor)s reopened the thread “%(thread)s”")),
    "thread.premoderate": ActionWords(
        N_("Thread: premoderate"),
        N_("%(actor)s asked for every post in “%(thread)s” to be approved before it shows")),
    "thread.unpremoderate": ActionWords(
        N_("Thread: unpremoderate"),
        N_("%(actor)s let posts in “%(thread)s” show without approval")),
    "thread.slow_mode": ActionWords(
        N_("Thread: slow mode"), N_("%(actor)s set slow mode in “%(thread)s”")),
    "thread.summarise": ActionWords(
        N_("Thread: summarise"), N_("%(actor)s updated the summary of “%(thread)s”")),
    "post.hide": ActionWords(
        N_("Post: hide"), N_("%(actor)s hid a post by %(name)s in “%(thread)s”")),
    "post.restore": ActionWords(
        N_("Post: restore"), N_("%(actor)s restored a post by %(name)s in “%(thread)s”")),
    "post.approve": ActionWords(
        N_("Post: approve"), N_("%(actor)s approved a post by %(name)s in “%(thread)s”")),
    "post.reject": ActionWords(
        N_("Post: reject"), N_("%(actor)s did not approve a post by %(name)s in “%(thread)s”")),
    "post.pin": ActionWords(
        N_("Post: pin"), N_("%(actor)s pinned a post by %(name)s in “%(thread)s”")),
    "post.unpin": ActionWords(
        N_("Post: unpin"), N_("%(actor)s unpinned a post by %(name)s in “%(thread)s”")),
    "post.move": ActionWords(
        N_("Post: move"), N_("%(actor)s moved a post by %(name)s to “%(thread)s”")),
    "post.auto_hide": ActionWords(
        N_("Post: auto hide"),
        N_("Members’ reports hid a post by %(name)s in “%(thread)s” until a facilitator "
           "reviews it")),
    "flags.keep": ActionWords(
        N_("Flags: keep"),
        N_("%(actor)s kept a reported post by %(name)s in “%(thread)s”")),
    "flags.hide": ActionWords(
        N_("Flags: hide"),
        N_("%(actor)s hid a reported post by %(name)s in “%(thread)s”")),
    "member.mute": ActionWords(N_("Member: mute"), None),
    "member.unmute": ActionWords(N_("Member: unmute"), N_("%(actor)s unmuted %(name)s")),
    "member.premoderate": ActionWords(
        N_("Member: premoderate"),
        N_("%(actor)s asked for %(name)s’s posts to be approved before they show")),
    "member.unpremoderate": ActionWords(
        N_("Member: unpremoderate"),
        N_("%(actor)s let %(name)s’s posts show without approval")),
    "member.remove": ActionWords(
        N_("Member: remove"), N_("%(actor)s removed %(name)s from the conference")),
    "question.approve": ActionWords(
        N_("Question: approve"),
        N_("%(actor)s approved a question by %(name)s in “%(session)s”")),
    "question.answering": ActionWords(
        N_("Question: answering"),
        N_("%(actor)s put a question by %(name)s to the panel in “%(session)s”")),
    "question.answered": ActionWords(
        N_("Question: answered"),
        N_("%(actor)s marked a question by %(name)s as answered in “%(session)s”")),
    "question.dismiss": ActionWords(
        N_("Question: dismiss"),
        N_("%(actor)s dismissed a question by %(name)s in “%(session)s”")),
    "question.merge": ActionWords(
        N_("Question: merge"),
        N_("%(actor)s merged a question by %(name)s into another in “%(session)s”")),
    "question.reopen": ActionWords(
        N_("Question: reopen"),
        N_("%(actor)s reopened a question by %(name)s in “%(session)s”")),
    # A session's joining link, set on the session form (confer.calendars.service).
    "session.joining_link_added": ActionWords(
        N_("Session: joining link added"),
        N_("%(actor)s added a joining link to “%(session)s”")),
    "session.joining_link_changed": ActionWords(
        N_("Session: joining link changed"),
        N_("%(actor)s changed the joining link of “%(session)s”")),
    "session.joining_link_removed": ActionWords(
        N_("Session: joining link removed"),
        N_("%(actor)s removed the joining link from “%(session)s”")),
    # The organiser's console (confer.conferences.settings).
    "session.panel_settings": ActionWords(
        N_("Session: panel's question settings"),
        N_("%(actor)s changed the question settings of the panel “%(session)s”")),
    "conference.flag_threshold": ActionWords(N_("Conference: reports that hide a post"), None),
    "conference.premoderate_first_posts": ActionWords(
        N_("Conference: first posts that wait for approval"), None),
}  # fmt: skip


def action_label(action: str) -> str:
    """'post.auto_hide' -> 'Post: auto hide' (an action the table does not know is written
    from its code; the page shows the code beside it)."""
    if action in ACTION_NAMES:
        return _(ACTION_NAMES[action].label)
    target, _sep, verb = action.partition(".")
    if not verb:
        return action.replace("_", " ").capitalize()
    return f"{target.capitalize()}: {verb.replace('_', ' ')}"


def log_sentence(row: Mapping[str, Any]) -> str:
    """One row of the moderation log as a sentence in the reader's language: "Sam Smith hid
    a post by Pat Jones in “Budgets”". `row` is moderation.queries.LIST_LOG's."""
    action = row["action"]
    former = _(FORMER_NAME)
    values = {
        "actor": row["actor_name"] or former,
        "name": row["target_name"] or former,
        "thread": row["thread_title"] or "",
        "session": row["session_title"] or "",
    }
    details = row["details"]
    if isinstance(details, str):
        details = json.loads(details or "{}")
    details = details or {}
    if action == "member.mute":
        minutes = int(details.get("minutes") or 0)
        return ngettext(
            "%(actor)s muted %(name)s for %(num)d minute",
            "%(actor)s muted %(name)s for %(num)d minutes",
            minutes,
        ) % {**values, "num": minutes}
    if action == "conference.flag_threshold":
        return _("%(actor)s set the number of reports that hides a post to %(num)s") % {
            **values,
            "num": int(details.get("to") or 0),
        }
    if action == "conference.premoderate_first_posts":
        first = int(details.get("to") or 0)
        if not first:
            return _("%(actor)s let members’ first posts show without approval") % values
        return ngettext(
            "%(actor)s asked for each member’s first %(num)d post to be approved before it shows",
            "%(actor)s asked for each member’s first %(num)d posts to be approved before they show",
            first,
        ) % {**values, "num": first}
    if action == "file.infected":  # confer.files.service: the scanner refused an upload
        return _("The virus scanner refused “%(title)s”, a file from %(actor)s (%(signature)s)") % {
            "actor": values["actor"],
            "title": details.get("title", ""),
            "signature": details.get("signature", ""),
        }
    if action == "thread.slow_mode" and not details.get("seconds"):
        return _("%(actor)s turned off slow mode in “%(thread)s”") % values
    words = ACTION_NAMES.get(action)
    if words is None or words.sentence is None:
        label = action_label(action)
        return _("%(actor)s: %(action)s") % {"actor": values["actor"], "action": label}
    return _(words.sentence) % values


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
        register = await q.register(con, cid)
        summaries = await q.summaries(con, cid)
        as_of = await q.as_of(con)
        languages = await q.languages(con, cid)
        files = await files_q.count_for_conference(con, cid)
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
        # Files (confer.files): papers and slides on sessions, files in posts, their size.
        "session_files": files["session_files"],
        "post_files": files["post_files"],
        "file_bytes": files["bytes"],
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
        register=register,
        summaries=_by_session(summaries),
    )


def _by_session(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """Facilitators' summaries grouped under their sessions, in programme order."""
    sessions: dict[int, dict[str, Any]] = {}
    for r in rows:
        s = sessions.setdefault(
            r["session_id"],
            {
                "title": r["session_title"],
                "translations": r["session_translations"],
                "starts_at": r["starts_at"],
                "threads": [],
            },
        )
        s["threads"].append(r)
    return list(sessions.values())


REGISTER_COLUMNS = (
    N_("Name"),
    N_("Organisation"),
    N_("Role"),
    N_("Attended"),
    N_("Posts"),
    N_("Questions asked"),
    N_("Votes"),
    N_("Answers"),
    N_("Threads read"),
    N_("Sessions attended"),
    N_("Sessions"),
)
ROLE_NAMES = {
    "organiser": N_("Organiser"),
    "facilitator": N_("Facilitator"),
    "speaker": N_("Speaker"),
    "participant": N_("Participant"),
    "observer": N_("Observer"),
}


def attended(row: Mapping[str, Any]) -> bool:
    """Took part in any way: read a thread, posted, asked, voted or answered."""
    return any(row[k] for k in ("posts", "questions", "votes", "answers", "threads_read"))


def person_name(row: Mapping[str, Any]) -> str:
    name = row["name"] if row["name"] != FORMER_NAME else _(FORMER_NAME)
    return f"{row['title']} {name}" if row["title"] else name


def register_rows(report: Report) -> list[list[str]]:
    """The attendance register as rows of text, header first, in the reader's language (the
    CSV download)."""
    out = [[_(c) for c in REGISTER_COLUMNS]]
    for r in report.register:
        out.append(
            [
                person_name(r),
                r["organisation"] or "",
                _(ROLE_NAMES[r["role"]]),
                _("Yes") if attended(r) else _("No"),
                *(str(r[k]) for k in ("posts", "questions", "votes", "answers", "threads_read")),
                str(r["sessions"]),
                "; ".join(r["session_titles"]),
            ]
        )
    return out
