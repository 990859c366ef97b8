"""The emails notifications send: one per notification ("each"), and the daily digest.

Both use the shared layout (confer.mail.render): paragraphs are plain text, escaped in the
HTML part, so post excerpts and names are safe to pass in. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from babel.dates import format_date

from confer import i18n, timefmt
from confer.i18n import _, ngettext
from confer.mail import render
from confer.settings import Settings
from confer.urls import url

EXCERPT_CHARS = 300


def deliverable(address: str | None) -> bool:
    """Erased accounts keep an `erased-<id>@invalid` address: never write to it."""
    return bool(address) and not str(address).lower().endswith("@invalid")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rsplit(" ", 1)[0] + "…"


def settings_url(settings: Settings) -> str:
    return settings.base_url + url("notification_settings")


def notification_email(
    settings: Settings,
    recipient: Mapping[str, Any],
    post_id: int,
    text: str,
    conference: str | None = None,
) -> tuple:
    """A row for queries.insert_emails: (dedupe_key, user_id, to, to_name, subject, text, html),
    in the current language (the caller writes inside `i18n.using(recipient's language)`).

    `recipient` carries the post's facts too (queries.LIST_NOTIFIED); `conference` is the
    conference's title in the recipient's language (default: as written)."""
    link = settings.base_url + url("post", slug=recipient["slug"], post_id=post_id)
    body = excerpt(recipient["body_md"] or "")
    conference = conference or recipient["conference_title"]
    email = render.compose(
        settings,
        subject=text,
        to_name=recipient["name"],
        paragraphs=[
            _("%(notification)s, in %(conference)s:")
            % {"notification": text, "conference": conference},
            f"“{body}”" if body else "",
        ],
        action=render.Action(_("Read the post"), link),
        reason=_(
            "You get an email for each notification in %(conference)s. "
            "Choose a daily digest or no emails instead: %(url)s"
        )
        % {"conference": conference, "url": settings_url(settings)},
    )
    return (
        f"notification:{recipient['id']}",
        recipient["user_id"],
        recipient["email"],
        recipient["name"],
        email.subject[:300],
        email.text,
        email.html,
    )


def notice_email(
    settings: Settings, note_id: int, user_id: int, recipient: Mapping[str, Any], note: dict
) -> tuple:
    """A notice (confer.notifications.notices) as a row for queries.insert_emails, in the
    current language: its sentence, and a link unless it has none (a removal)."""
    conference = note["conference"]["title"]
    email = render.compose(
        settings,
        subject=note["text"],
        to_name=recipient["name"],
        paragraphs=[
            note["text"],
            _("Conference: %(conference)s") % {"conference": conference},
        ],
        action=render.Action(_("See it in Confer"), settings.base_url + note["url"])
        if note["url"]
        else None,
        reason=_(
            "You get an email for each notification in %(conference)s. "
            "Choose a daily digest or no emails instead: %(url)s"
        )
        % {"conference": conference, "url": settings_url(settings)},
    )
    return (
        f"notification:{note_id}",
        user_id,
        recipient["email"],
        recipient["name"],
        email.subject[:300],
        email.text,
        email.html,
    )


# --- the daily digest -------------------------------------------------------------------------


@dataclass
class ThreadNews:
    thread_id: int
    title: str
    count: int
    first_post_id: int
    latest: list[tuple[str, str]] = field(default_factory=list)  # (author, excerpt)


@dataclass
class Digest:
    """One member's digest of one conference day."""

    user_id: int
    email: str
    name: str
    threads: list[ThreadNews] = field(default_factory=list)
    more_threads: int = 0
    mentions: list[tuple[str, str, int]] = field(default_factory=list)  # (who, thread, post id)
    # What was done about them (confer.notifications.notices): (sentence, link or None).
    notices: list[tuple[str, str | None]] = field(default_factory=list)
    member: bool = True  # False: removed from the conference (the digest is its notice)

    @property
    def has_news(self) -> bool:
        return bool(self.threads or self.mentions or self.notices)


@dataclass(frozen=True)
class Conference:
    id: int
    slug: str
    title: str
    timezone: str
    language: str = i18n.DEFAULT
    bilingual: bool = False
    translations: Mapping[str, Any] = field(default_factory=dict)

    def localized(self, row: Mapping[str, Any], name: str) -> i18n.Localized:
        """A text of the conference (`row` is self's fields) or of one of its sessions, in
        the current language."""
        return i18n.localized(row, name, conference=self.__dict__)

    @property
    def shown_title(self) -> i18n.Localized:
        """The title in the current language (a bilingual conference's other title)."""
        return i18n.localized(self.__dict__, "title")


def day_name(day: date) -> str:
    """'Thursday 3 December'; 'Dydd Iau 3 Rhagfyr' (CLDR's names, in the current language)."""
    return format_date(day, "EEEE d MMMM", locale=i18n.babel_locale())


def programme_lines(
    sessions: Sequence[Mapping[str, Any]], tz: str, conference: Conference | None = None
) -> list[str]:
    lines = []
    for s in sessions:
        start = timefmt.local(s["starts_at"], tz)
        end = timefmt.local(s["ends_at"], tz)
        title = conference.localized(s, "title") if conference is not None else s["title"]
        if timefmt.same_day(start, end, tz):
            lines.append(f"{start:%H:%M}–{end:%H:%M} {end.tzname()}: {title}")
        else:  # the end's date too: 'Mon 7 Dec, 22:00 GMT to Tue 8 Dec, 01:00 GMT'
            lines.append(f"{timefmt.span(start, end, tz)}: {title}")
    return lines


def digest_email(
    settings: Settings,
    conference: Conference,
    day: date,
    digest: Digest,
    programme: Sequence[Mapping[str, Any]],
) -> render.Email:
    """One member's digest, in the current language (the caller writes inside
    `i18n.using(member's language)`)."""
    next_day = day + timedelta(days=1)
    base = settings.base_url
    tz = conference.timezone
    title = conference.shown_title
    day_text = day_name(day)
    paragraphs = [
        _("Here is what happened in %(conference)s on %(day)s.")
        % {"conference": title, "day": day_text}
    ]
    if digest.notices:
        paragraphs.append(_("About you and your posts:"))
        paragraphs += [
            f"{text}\n{base}{target}" if target else text for text, target in digest.notices
        ]
    # A removed member reads the notice of their removal, and nothing else.
    if not digest.member:
        pass
    elif digest.threads:
        paragraphs.append(_("New posts in threads you follow:"))
        for t in digest.threads:
            lines = [
                ngettext("“%(title)s”: %(num)d new post", "“%(title)s”: %(num)d new posts", t.count)
                % {"title": t.title, "num": t.count}
            ]
            lines += [f"{who}: {text}" for who, text in t.latest]
            post = url("post", slug=conference.slug, post_id=t.first_post_id)
            lines.append(_("Read them: %(url)s") % {"url": f"{base}{post}"})
            paragraphs.append("\n".join(lines))
        if digest.more_threads:
            more = digest.more_threads
            paragraphs.append(
                ngettext(
                    "…and new posts in %(num)d more thread you follow.",
                    "…and new posts in %(num)d more threads you follow.",
                    more,
                )
                % {"num": more}
            )
    elif not digest.mentions:
        paragraphs.append(_("There were no new posts in the threads you follow."))
    if digest.mentions and digest.member:
        paragraphs.append(_("You were mentioned:"))
        paragraphs.append(
            "\n".join(
                _("%(who)s in “%(thread)s”: %(url)s")
                % {
                    "who": who,
                    "thread": thread,
                    "url": f"{base}{url('post', slug=conference.slug, post_id=post_id)}",
                }
                for who, thread, post_id in digest.mentions
            )
        )
    if programme and digest.member:
        paragraphs.append(
            _("The programme for %(day)s (times in %(timezone)s):")
            % {
                "day": day_name(next_day),
                "timezone": timefmt.zone_name(tz, programme[0]["starts_at"]),
            }
        )
        paragraphs.append("\n".join(programme_lines(programme, tz, conference)))
    return render.compose(
        settings,
        subject=_("%(conference)s: your daily digest for %(day)s")
        % {"conference": title, "day": day_text},
        to_name=digest.name,
        paragraphs=paragraphs,
        action=render.Action(
            _("Go to the conference"), base + url("conference", slug=conference.slug)
        )
        if digest.member
        else None,
        reason=_("You chose a daily digest of %(conference)s. Change how you hear from it: %(url)s")
        % {"conference": title, "url": settings_url(settings)},
    )
