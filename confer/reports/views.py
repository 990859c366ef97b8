"""The participation report page, for organisers: /c/<slug>/report (printable)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from confer.keys import actor_key, ctx_key
from confer.reports import service
from confer.reports.charts import bar_chart
from confer.reports.service import Report
from confer.routing import page

ROLE_NAMES = {
    "organiser": "Organisers",
    "facilitator": "Facilitators",
    "speaker": "Speakers",
    "participant": "Participants",
    "observer": "Observers",
}


def charts(report: Report) -> dict[str, str]:
    """Every chart of the report, as SVG markup built by charts.bar_chart from escaped text."""
    roles = [ROLE_NAMES[r.role] for r in report.attendance]
    days = report.posts_per_day
    hours = report.posts_per_hour
    total = report.attendance_total
    return {
        "registrations": bar_chart(
            "Active members by role",
            roles,
            [r.members for r in report.attendance],
            unit="members",
            horizontal=True,
            chart_id="chart-registrations",
        ),
        "attendance": bar_chart(
            "What active members did",
            ["Active members", "Visited a thread", "Posted", "Asked", "Voted", "Attended"],
            [total.members, total.visited, total.posted, total.asked, total.voted, total.attended],
            unit="members",
            horizontal=True,
            chart_id="chart-attendance",
        ),
        "sessions": bar_chart(
            "Posts per session",
            [r["title"] for r in report.posts_per_session],
            [r["posts"] for r in report.posts_per_session],
            unit="posts",
            horizontal=True,
            chart_id="chart-sessions",
        ),
        "days": bar_chart(
            "Posts per day",
            [service.day_label(r["day"]) for r in days],
            [r["posts"] for r in days],
            unit="posts",
            axis_labels=[f"{r['day']:%a} {r['day'].day} {r['day']:%b}" for r in days],
            chart_id="chart-days",
        ),
        "hours": bar_chart(
            "Posts by hour of the day",
            [service.hour_label(r["hour"]) for r in hours],
            [r["posts"] for r in hours],
            unit="posts",
            axis_labels=[f"{r['hour']:02d}" for r in hours],
            chart_id="chart-hours",
        ),
        "threads": bar_chart(
            "Most active threads",
            [r["title"] for r in report.active_threads],
            [r["posts"] for r in report.active_threads],
            unit="visible posts",
            unit_one="visible post",
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
        "c": report.place.conference,
        "report": report,
        "charts": charts(report),
        "role_names": ROLE_NAMES,
        "statuses": service.STATUSES,
        "day_label": service.day_label,
        "hour_label": service.hour_label,
        "action_label": service.action_label,
    }


def setup(app: web.Application) -> None:
    page(app, "GET", "report", show_report)
