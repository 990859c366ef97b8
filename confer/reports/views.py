"""The participation report page, for organisers: /c/<slug>/report (printable)."""

from __future__ import annotations

import csv
import io

import aiohttp_jinja2
from aiohttp import web

from confer.exports.writers import csv_safe
from confer.i18n import N_, _, localized, ngettext
from confer.keys import actor_key, ctx_key
from confer.reports import service
from confer.reports.charts import amount_of, bar_chart
from confer.reports.service import Report
from confer.routing import page

ROLE_NAMES = {
    "organiser": N_("Organisers"),
    "facilitator": N_("Facilitators"),
    "speaker": N_("Speakers"),
    "participant": N_("Participants"),
    "observer": N_("Observers"),
}


def role_name(role: str) -> str:
    """A role's plural name in the current language; the totals row's "All roles"."""
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else _("All roles")


def charts(report: Report) -> dict[str, str]:
    """Every chart of the report, as SVG markup built by charts.bar_chart from escaped text,
    in the current language."""
    roles = [role_name(r.role) for r in report.attendance]
    days = report.posts_per_day
    hours = report.posts_per_hour
    total = report.attendance_total
    members = amount_of(lambda n: ngettext("%(num)s member", "%(num)s members", n))
    posts = amount_of(lambda n: ngettext("%(num)s post", "%(num)s posts", n))
    visible = amount_of(lambda n: ngettext("%(num)s visible post", "%(num)s visible posts", n))
    conference = report.conference
    return {
        "registrations": bar_chart(
            _("Active members by role"),
            roles,
            [r.members for r in report.attendance],
            amount=members,
            horizontal=True,
            chart_id="chart-registrations",
        ),
        "attendance": bar_chart(
            _("What active members did"),
            [
                _("Active members"),
                _("Visited a thread"),
                _("Posted"),
                _("Asked"),
                _("Voted"),
                _("Attended"),
            ],
            [total.members, total.visited, total.posted, total.asked, total.voted, total.attended],
            amount=members,
            horizontal=True,
            chart_id="chart-attendance",
        ),
        "sessions": bar_chart(
            _("Posts per session"),
            [localized(r, "title", conference=conference) for r in report.posts_per_session],
            [r["posts"] for r in report.posts_per_session],
            amount=posts,
            horizontal=True,
            chart_id="chart-sessions",
        ),
        "days": bar_chart(
            _("Posts per day"),
            [service.day_label(r["day"]) for r in days],
            [r["posts"] for r in days],
            amount=posts,
            axis_labels=[service.day_short(r["day"]) for r in days],
            chart_id="chart-days",
        ),
        "hours": bar_chart(
            _("Posts by hour of the day"),
            [service.hour_label(r["hour"]) for r in hours],
            [r["posts"] for r in hours],
            amount=posts,
            axis_labels=[f"{r['hour']:02d}" for r in hours],
            chart_id="chart-hours",
        ),
        "threads": bar_chart(
            _("Most active threads"),
            [r["title"] for r in report.active_threads],
            [r["posts"] for r in report.active_threads],
            amount=visible,
            horizontal=True,
            chart_id="chart-threads",
        ),
    }


@aiohttp_jinja2.template("reports/show.html")
async def show_report(request: web.Request) -> dict:
    ctx = request.app[ctx_key]
    report = await service.participation(ctx, request[actor_key], request.match_info["slug"])
    return {
        "place": report.place,
        "c": report.conference,
        "report": report,
        "charts": charts(report),
        "role_name": role_name,
        "statuses": service.STATUSES,
        "day_label": service.day_label,
        "hour_label": service.hour_label,
        "action_label": service.action_label,
        "attended": service.attended,
        "person_name": service.person_name,
        "register_role": lambda role: _(service.ROLE_NAMES[role]),
    }


async def download_register(request: web.Request) -> web.Response:
    """The attendance register as CSV (UTF-8 with a byte-order mark, so that Excel reads
    Welsh names right; cells that a spreadsheet would run as formulas are defused)."""
    ctx = request.app[ctx_key]
    slug = request.match_info["slug"]
    report = await service.participation(ctx, request[actor_key], slug)
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in service.register_rows(report):
        writer.writerow([csv_safe(v) for v in row])
    return web.Response(
        body=("\ufeff" + buf.getvalue()).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{slug}-attendance-register.csv"',
            "Cache-Control": "no-store",
        },
    )


def setup(app: web.Application) -> None:
    page(app, "GET", "report", show_report)
    page(app, "GET", "report_register", download_register)
