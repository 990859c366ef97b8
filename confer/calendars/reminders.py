"""Reminders of starred sessions (issue #24): an email and a live notification a chosen time
before a session a member starred starts, in the member's language.

Each member has a default (`users.reminder_minutes`: 15, 60, or 0 for none) and each star may
choose otherwise (`session_stars.reminder_minutes`, null: the default).

**Exactly once.** The loop (`reminders_ctx`, every POLL_SECONDS in every process) lists the
(member, session) pairs that are due: the session starts within the chosen minutes, is not
cancelled, its conference is published, the member is still an active member, and the star
is still there. For each it writes, in ONE transaction, a row of the ledger
`session_reminders` keyed by (user, session, the start time reminded of), the notification
and the outbox email (whose dedupe key is the same triple). The ledger's insert re-checks
every condition and does nothing on a conflict, so of two processes (or a process before and
after a restart) only the one whose insert won writes the rest; the other writes nothing.
The live event is published after the commit. A session moved later has a new start time,
hence a new key: it is reminded of again for its new time, and never for an old time that
is no longer due when the loop looks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from confer import i18n, tasks, timefmt
from confer.context import Ctx
from confer.db import is_unavailable, note_available, note_unavailable
from confer.errors import Invalid, NotFound, Unauthorized
from confer.i18n import N_, _
from confer.keys import ctx_key
from confer.live.events import Event, notification_event
from confer.mail import outbox, render
from confer.notifications import queries as notification_q
from confer.notifications.emails import deliverable
from confer.policy import Actor
from confer.settings import Settings
from confer.urls import url

log = logging.getLogger(__name__)

CHOICES = (0, 15, 60)  # minutes before the start; 0: no reminders
DEFAULT_MINUTES = 15
MAX_MINUTES = max(CHOICES)
POLL_SECONDS = 30.0
BATCH = 200
# The labels of the choices (the settings form and the per-star form).
LABELS: dict[int, str] = {
    0: N_("No reminders"),
    15: N_("15 minutes before"),
    60: N_("1 hour before"),
}

PassHook = Callable[[int], Awaitable[None]]

# --- SQL ----------------------------------------------------------------------------------

# What makes a (member, session) pair due now. `minutes` is the star's choice, else the
# member's; the first condition lets the sessions' start-time index find the next hour's
# sessions whatever the number of stars.
_DUE = f"""
FROM session_stars st
JOIN users u ON u.id = st.user_id
JOIN sessions s ON s.id = st.session_id
JOIN conferences c ON c.id = s.conference_id
CROSS JOIN LATERAL (SELECT coalesce(st.reminder_minutes, u.reminder_minutes) AS minutes) ch
WHERE s.starts_at > now()
  AND s.starts_at <= now() + interval '{MAX_MINUTES} minutes'
  AND ch.minutes > 0
  AND s.starts_at <= now() + make_interval(mins => ch.minutes)
  AND c.published_at IS NOT NULL
  AND EXISTS (
        SELECT 1
        FROM memberships m
        WHERE m.conference_id = s.conference_id AND m.user_id = st.user_id
          AND m.status = 'active'
  )
  AND NOT EXISTS (SELECT 1 FROM cancelled_sessions x WHERE x.session_id = s.id)
  AND NOT EXISTS (
        SELECT 1
        FROM session_reminders r
        WHERE r.user_id = st.user_id AND r.session_id = s.id AND r.starts_at = s.starts_at
  )
"""

LIST_DUE = f"""
SELECT st.user_id, st.session_id, s.starts_at
{_DUE}
ORDER BY s.starts_at, st.session_id, st.user_id
LIMIT $1
"""

# Inside the pair's transaction: the ledger row, if the pair is (still) due and nobody else
# wrote it. A concurrent insert of the same key waits for the other transaction and then
# does nothing: only one writer goes on to the notification and the email.
CLAIM = f"""
INSERT INTO session_reminders (user_id, session_id, starts_at, minutes)
SELECT st.user_id, s.id, s.starts_at, ch.minutes
{_DUE}
  AND st.user_id = $1 AND st.session_id = $2 AND s.starts_at = $3
ON CONFLICT (user_id, session_id, starts_at) DO NOTHING
RETURNING minutes
"""

# What the reminder says, and to whom.
DETAILS = """
SELECT u.email, u.name, coalesce(u.language, c.language, 'en') AS language,
       s.id AS session_id, s.kind, s.title, s.translations, s.starts_at, s.ends_at,
       c.id AS conference_id, c.slug, c.title AS conference_title, c.timezone,
       c.language AS conference_language, c.bilingual,
       c.translations AS conference_translations
FROM users u, sessions s
JOIN conferences c ON c.id = s.conference_id
WHERE u.id = $1 AND s.id = $2
"""

INSERT_NOTIFICATION = """
INSERT INTO notifications (user_id, kind, session_id, conference_id)
VALUES ($1, 'reminder', $2, $3)
RETURNING id, created_at
"""

SET_DEFAULT = """
UPDATE users
SET reminder_minutes = $2
WHERE id = $1
RETURNING reminder_minutes
"""

FETCH_DEFAULT = "SELECT reminder_minutes FROM users WHERE id = $1"

SET_STAR = """
UPDATE session_stars st
SET reminder_minutes = $3
FROM sessions s
JOIN conferences c ON c.id = s.conference_id
WHERE st.user_id = $1 AND st.session_id = $2 AND s.id = st.session_id
RETURNING st.reminder_minutes, c.slug
"""


# --- choices --------------------------------------------------------------------------------


def parse_minutes(value: object, *, allow_default: bool = False) -> int | None:
    """A form's or the API's choice: "0"/"none", "15", "60" (and "default": None, for a
    star). Invalid (naming the field `reminder`) otherwise."""
    text = str(value).strip().lower() if value is not None else ""
    if allow_default and text in ("", "default"):
        return None
    if text == "none":
        return 0
    if text.isdigit() and int(text) in CHOICES:
        return int(text)
    message = _("Select when you want to be reminded")
    raise Invalid(message, fields={"reminder": message})


def _signed_in(actor: Actor) -> int:
    if actor.user_id is None:
        raise Unauthorized(_("Sign in to choose your reminders."))
    return actor.user_id


async def default_reminder(ctx: Ctx, actor: Actor) -> int:
    """The actor's default: minutes before a starred session (0: none)."""
    return await ctx.pool.fetchval(FETCH_DEFAULT, _signed_in(actor))


async def set_default_reminder(ctx: Ctx, actor: Actor, minutes: object) -> int:
    """Choose the default reminder for every starred session: 0 (none), 15 or 60 minutes."""
    user_id = _signed_in(actor)
    chosen = parse_minutes(minutes)
    assert chosen is not None
    return await ctx.pool.fetchval(SET_DEFAULT, user_id, chosen)


async def settings_context(ctx: Ctx, actor: Actor) -> dict[str, Any]:
    """For the notification settings page's reminders form
    (templates/notifications/_reminders.html)."""
    return {
        "reminder_minutes": await default_reminder(ctx, actor),
        "reminder_choices": [(m, LABELS[m]) for m in (15, 60, 0)],
    }


@dataclass(frozen=True)
class StarReminder:
    minutes: int | None  # None: the member's default
    slug: str


async def set_star_reminder(
    ctx: Ctx, actor: Actor, session_id: int, minutes: object
) -> StarReminder:
    """One starred session's reminder: 0 (none), 15, 60, or None / "default" (the member's
    default). The session must be starred (NotFound otherwise)."""
    user_id = _signed_in(actor)
    chosen = parse_minutes(minutes, allow_default=True)
    row = await ctx.pool.fetchrow(SET_STAR, user_id, session_id, chosen)
    if row is None:
        raise NotFound(_("Star the session first to choose its reminder."))
    return StarReminder(row["reminder_minutes"], row["slug"])


# --- the reminder -------------------------------------------------------------------------


def dedupe_key(user_id: int, session_id: int, starts_at: Any) -> str:
    return f"reminder:{user_id}:{session_id}:{int(starts_at.timestamp())}"


def session_path(slug: str, session_id: int, kind: str | None) -> str:
    """Where a reminder takes the member: a panel's or keynote's questions page, else the
    session's page."""
    if kind in ("panel", "keynote"):
        return url("panel", slug=slug, session_id=session_id)
    return url("session", slug=slug, session_id=session_id)


def _texts(d: asyncpg.Record | dict) -> tuple[str, str, str]:
    """(session title, conference title, session url) in the current language."""
    conference = {
        "language": d["conference_language"],
        "bilingual": d["bilingual"],
        "title": d["conference_title"],
        "translations": d["conference_translations"],
    }
    session = i18n.localized(d, "title", conference=conference)
    title = i18n.localized(conference, "title")
    return str(session), str(title), session_path(d["slug"], d["session_id"], d["kind"])


def notification_text(d: asyncpg.Record | dict) -> str:
    session, _conference, _url = _texts(d)
    return _("“%(session)s” starts at %(time)s") % {
        "session": session,
        "time": timefmt.clock(d["starts_at"], d["timezone"]),
    }


def reminder_email(settings: Settings, d: asyncpg.Record) -> render.Email:
    """The email, in the current language (write it inside `i18n.using(...)`)."""
    session, conference, path = _texts(d)
    tz = d["timezone"]
    return render.compose(
        settings,
        subject=_("Reminder: “%(session)s” starts at %(time)s")
        % {"session": session, "time": timefmt.clock(d["starts_at"], tz)},
        to_name=d["name"],
        paragraphs=[
            _("“%(session)s” starts at %(time)s on %(day)s.")
            % {
                "session": session,
                "time": timefmt.clock(d["starts_at"], tz),
                "day": timefmt.day(d["starts_at"], tz),
            },
            _(
                "You starred this session in the conference “%(conference)s” and asked to be "
                "reminded before it starts."
            )
            % {"conference": conference},
        ],
        action=render.Action(_("Go to the session"), settings.base_url + path),
        reason=_(
            "You are getting this email because you starred the session and chose to be "
            "reminded. You can change your reminders in your notification settings."
        ),
    )


def payload(
    d: asyncpg.Record | dict, *, note_id: int, created_at: Any, read: bool
) -> dict[str, Any]:
    """A reminder in the notifications' wire shape (confer.notifications.service.payload: the
    notifications page, the JSON API and the live event), in the current language. `d`: the
    session's and its conference's columns as DETAILS names them."""
    session, conference, path = _texts(d)
    return {
        "id": note_id,
        "kind": "reminder",
        "text": notification_text(d),
        "read": read,
        "created_at": created_at.isoformat(),
        "post_id": None,
        "thread_id": None,
        "thread_title": None,
        "session_id": d["session_id"],
        "session_title": session,
        "starts_at": d["starts_at"].isoformat(),
        "conference": {"slug": d["slug"], "title": conference},
        "actor": {"name": ""},
        "excerpt": "",
        "newer_posts": 0,
        "url": path,
        # Opening it here marks it read, then redirects to `url`.
        "open_url": url("notification", notification_id=note_id),
    }


def event_payload(d: asyncpg.Record, note: asyncpg.Record, unread: int) -> dict[str, Any]:
    """The live `notification` event: the notifications' wire shape, for a session, with the
    member's new unread count."""
    data = payload(d, note_id=note["id"], created_at=note["created_at"], read=False)
    data["unread"] = unread
    return data


async def _remind(
    con: asyncpg.Connection, settings: Settings, user_id: int, session_id: int, starts_at: Any
) -> Event | None:
    """One pair, in one transaction: the ledger row, the notification and the email; the
    live event to publish after commit (None when the pair was no longer due, or another
    process reminded of it)."""
    async with con.transaction():
        minutes = await con.fetchval(CLAIM, user_id, session_id, starts_at)
        if minutes is None:
            return None
        d = await con.fetchrow(DETAILS, user_id, session_id)
        note = await con.fetchrow(INSERT_NOTIFICATION, user_id, session_id, d["conference_id"])
        with i18n.using(d["language"]):
            if deliverable(d["email"]):
                email = reminder_email(settings, d)
                await outbox.enqueue(
                    con,
                    kind="reminder",
                    to=d["email"],
                    to_name=d["name"],
                    user_id=user_id,
                    dedupe_key=dedupe_key(user_id, session_id, starts_at),
                    **email.parts(),
                )
            unread = await notification_q.count_unread(con, user_id)
            data = event_payload(d, note, unread)
    return notification_event(user_id, data)


async def run_due(ctx: Ctx, *, batch: int = BATCH) -> int:
    """One pass: remind of every pair due now; return how many reminders this call made.

    Safe in several tasks or processes at once, and to repeat: the ledger decides."""
    made = 0
    async with ctx.pool.acquire() as con:
        while True:
            due = await con.fetch(LIST_DUE, batch)
            events = []
            for pair in due:
                event = await _remind(
                    con, ctx.settings, pair["user_id"], pair["session_id"], pair["starts_at"]
                )
                if event is not None:
                    events.append(event)
            if events:
                made += len(events)
                await ctx.hub.publish(events)
            if len(due) < batch:
                return made


# --- the background task ------------------------------------------------------------------


async def run(
    ctx: Ctx, stop: asyncio.Event, *, poll: float = POLL_SECONDS, on_pass: PassHook | None = None
) -> None:
    """Remind every `poll` seconds until `stop` is set."""
    passes = 0
    while not stop.is_set():
        try:
            made = await run_due(ctx)
            note_available(ctx.pool)
            if made:
                log.info("%d session reminder(s) made", made)
        except Exception as e:
            if is_unavailable(e):
                note_unavailable(ctx.pool, "the reminder loop", e)
            else:
                log.exception("reminder loop failed; trying again shortly")
        passes += 1
        if on_pass is not None:
            await on_pass(passes)
        try:
            await asyncio.wait_for(stop.wait(), poll)
        except TimeoutError:
            pass


async def reminders_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the reminder loop for the app's lifetime (in every process: the ledger makes each
    reminder once)."""
    stop = asyncio.Event()
    async with tasks.running(run(app[ctx_key], stop), name="confer-reminders", stop=stop, grace=5):
        yield
