"""The emails notifications send: one per notification ("each"), and the daily digest.

Both use the shared layout (confer.mail.render): paragraphs are plain text, escaped in the
HTML part, so post excerpts and names are safe to pass in. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from confer import timefmt
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
    settings: Settings, recipient: Mapping[str, Any], post_id: int, text: str
) -> tuple:
    """A row for queries.insert_emails: (dedupe_key, user_id, to, to_name, subject, text, html).

    `recipient` carries the post's facts too (queries.LIST_NOTIFIED)."""
    link = settings.base_url + url("post", slug=recipient["slug"], post_id=post_id)
    body = excerpt(recipient["body_md"] or "")
    conference = recipient["conference_title"]
    email = render.compose(
        settings,
        subject=text,
        to_name=recipient["name"],
        paragraphs=[f"{text}, in {conference}:", f"“{body}”" if body else ""],
        action=render.Action("Read the post", link),
        reason=(
            f"You get an email for each notification in {conference}. "
            f"Choose a daily digest or no emails instead: {settings_url(settings)}"
        ),
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

    @property
    def has_news(self) -> bool:
        return bool(self.threads or self.mentions)


@dataclass(frozen=True)
class Conference:
    id: int
    slug: str
    title: str
    timezone: str


def programme_lines(sessions: Sequence[Mapping[str, Any]], tz: str) -> list[str]:
    lines = []
    for s in sessions:
        start = timefmt.local(s["starts_at"], tz)
        end = timefmt.local(s["ends_at"], tz)
        lines.append(f"{start:%H:%M}–{end:%H:%M} {end.tzname()}: {s['title']}")
    return lines


def digest_email(
    settings: Settings,
    conference: Conference,
    day: date,
    digest: Digest,
    programme: Sequence[Mapping[str, Any]],
) -> render.Email:
    next_day = day + timedelta(days=1)
    base = settings.base_url
    tz = conference.timezone
    day_text = f"{day:%A} {day.day} {day:%B}"
    paragraphs = [f"Here is what happened in {conference.title} on {day_text}."]
    if digest.threads:
        paragraphs.append("New posts in threads you follow:")
        for t in digest.threads:
            lines = [f"“{t.title}”: {t.count} new post{'' if t.count == 1 else 's'}"]
            lines += [f"{who}: {text}" for who, text in t.latest]
            post = url("post", slug=conference.slug, post_id=t.first_post_id)
            lines.append(f"Read them: {base}{post}")
            paragraphs.append("\n".join(lines))
        if digest.more_threads:
            more = digest.more_threads
            paragraphs.append(
                f"…and new posts in {more} more thread{'' if more == 1 else 's'} you follow."
            )
    elif not digest.mentions:
        paragraphs.append("There were no new posts in the threads you follow.")
    if digest.mentions:
        paragraphs.append("You were mentioned:")
        paragraphs.append(
            "\n".join(
                f"{who} in “{thread}”: {base}{url('post', slug=conference.slug, post_id=post_id)}"
                for who, thread, post_id in digest.mentions
            )
        )
    next_text = f"{next_day:%A} {next_day.day} {next_day:%B}"
    if programme:
        paragraphs.append(f"The programme for {next_text} (times in {tz}):")
        paragraphs.append("\n".join(programme_lines(programme, tz)))
    return render.compose(
        settings,
        subject=f"{conference.title}: your daily digest for {day_text}",
        to_name=digest.name,
        paragraphs=paragraphs,
        action=render.Action(
            "Go to the conference", base + url("conference", slug=conference.slug)
        ),
        reason=(
            f"You chose a daily digest of {conference.title}. "
            f"Change how you hear from it: {settings_url(settings)}"
        ),
    )
