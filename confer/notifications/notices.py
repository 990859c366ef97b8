"""Notices of what was done about a member (issue #23): their question answered or dismissed,
being muted, unmuted or removed, their post hidden or restored.

They are notifications (migrations/0026): written in the transaction of the action that
makes them (confer.panels.service, confer.moderation.service, through
confer.notifications.service.tell_member), listed on the notifications page, counted unread,
sent live to the member's room after commit, and emailed when the member chose "each". A
notice stores only its kind and its subject (a question, a post, the reason as given, a
mute's end): `text()` writes it in the reader's language whenever it is read.
"""

from __future__ import annotations

from typing import Any

from confer import i18n, timefmt
from confer.i18n import N_, _
from confer.urls import url

QUESTION_KINDS = ("question_answered", "question_dismissed")
MEMBER_KINDS = ("muted", "unmuted", "removed")
POST_KINDS = ("post_hidden", "post_restored")
KINDS = (*QUESTION_KINDS, *MEMBER_KINDS, *POST_KINDS)

# Reasons Confer itself stores (in English): shown in the reader's language. The same
# messages as confer.panels.service.MERGED_REASON and confer.posts.service.AUTO_HIDE_REASON.
OWN_REASONS = (
    N_("Merged with a similar question"),
    N_("Hidden while facilitators review reports from members"),
)


def reason_text(reason: str | None) -> str:
    if reason in OWN_REASONS:
        return _(reason)
    return reason or ""


def _get(row: Any, key: str) -> Any:
    try:
        return row[key]
    except (KeyError, IndexError):
        return None


def _conference(row: Any) -> i18n.Localized:
    return i18n.localized(
        {
            "title": row["conference_title"],
            "language": _get(row, "conference_language"),
            "bilingual": _get(row, "conference_bilingual"),
            "translations": _get(row, "conference_translations"),
        },
        "title",
    )


def _session(row: Any) -> i18n.Localized:
    conference = {
        "language": _get(row, "conference_language"),
        "bilingual": _get(row, "conference_bilingual"),
        "translations": _get(row, "conference_translations"),
    }
    session = {"title": row["session_title"], "translations": row["session_translations"]}
    return i18n.localized(session, "title", conference=conference)


def _who(row: Any) -> str:
    name = row["actor_name"] or _("Former participant")
    return f"{row['actor_title']} {name}" if row["actor_title"] else name


def text(row: Any) -> str:
    """The notice as a whole sentence in the current language."""
    kind = row["kind"]
    reason = reason_text(row["reason"])
    if kind == "question_answered":
        if row["answer_id"] is not None:
            return _("%(who)s answered your question in “%(session)s”") % {
                "who": _who(row),
                "session": _session(row),
            }
        return _("Your question in “%(session)s” has been answered") % {"session": _session(row)}
    if kind == "question_dismissed":
        if reason:
            return _("Your question in “%(session)s” was dismissed. The reason: %(reason)s") % {
                "session": _session(row),
                "reason": reason,
            }
        return _("Your question in “%(session)s” was dismissed") % {"session": _session(row)}
    conference = _conference(row)
    if kind == "muted":
        if row["until"] is not None:
            until = timefmt.when(row["until"], row["timezone"])
            if reason:
                return _(
                    "A facilitator muted you in “%(conference)s” until %(until)s. "
                    "The reason: %(reason)s"
                ) % {"conference": conference, "until": until, "reason": reason}
            return _("A facilitator muted you in “%(conference)s” until %(until)s") % {
                "conference": conference,
                "until": until,
            }
        if reason:
            return _("A facilitator muted you in “%(conference)s”. The reason: %(reason)s") % {
                "conference": conference,
                "reason": reason,
            }
        return _("A facilitator muted you in “%(conference)s”") % {"conference": conference}
    if kind == "unmuted":
        return _("A facilitator unmuted you in “%(conference)s”. You can post again.") % {
            "conference": conference
        }
    if kind == "removed":
        if reason:
            return _("You were removed from “%(conference)s”. The reason: %(reason)s") % {
                "conference": conference,
                "reason": reason,
            }
        return _("You were removed from “%(conference)s”") % {"conference": conference}
    if kind == "post_hidden":
        if row["reason"] == OWN_REASONS[1]:
            return _(
                "Your post in “%(thread)s” is hidden while facilitators review reports from members"
            ) % {"thread": row["thread_title"]}
        if reason:
            return _("A facilitator hid your post in “%(thread)s”. The reason: %(reason)s") % {
                "thread": row["thread_title"],
                "reason": reason,
            }
        return _("A facilitator hid your post in “%(thread)s”") % {"thread": row["thread_title"]}
    if kind == "post_restored":
        return _("A facilitator restored your post in “%(thread)s”") % {
            "thread": row["thread_title"]
        }
    raise ValueError(f"not a notice: {kind}")


def link(row: Any) -> str | None:
    """Where the notice takes its reader; None for a removal (the conference may be closed
    to them now: the notice is its text alone)."""
    kind = row["kind"]
    slug = row["slug"]
    if kind in QUESTION_KINDS:
        panel = url("panel", slug=slug, session_id=row["session_id"])
        if kind == "question_answered" and row["answer_id"] is not None:
            return f"{panel}#answer-{row['answer_id']}"
        return f"{panel}#question-{row['question_id']}"
    if kind in POST_KINDS:
        return url("post", slug=slug, post_id=row["about_post_id"])
    if kind in ("muted", "unmuted"):
        return url("conference", slug=slug)
    return None


def payload(row: Any) -> dict[str, Any]:
    """A notice in the notifications' wire shape (the page, the JSON API, the live event), in
    the current language. `url` and `open_url` are None for a removal."""
    target = link(row)
    return {
        "id": row["id"],
        "kind": row["kind"],
        "text": text(row),
        "read": bool(row["is_read"]),
        "created_at": row["created_at"].isoformat(),
        "post_id": row["about_post_id"],
        "thread_id": row["about_thread_id"],
        "thread_title": row["thread_title"],
        "session_id": row["session_id"],
        "question_id": row["question_id"],
        "answer_id": row["answer_id"],
        "reason": reason_text(row["reason"]) or None,
        "until": row["until"].isoformat() if row["until"] is not None else None,
        "conference": {"slug": row["slug"], "title": _conference(row)},
        "actor": {"name": _who(row) if row["kind"] == "question_answered" else ""},
        "excerpt": "",
        "newer_posts": 0,
        "url": target,
        # Opening it here marks it read, then redirects to `url` (or back to the list).
        "open_url": url("notification", notification_id=row["id"]) if target else None,
    }
