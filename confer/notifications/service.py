"""Notifications and follows: what a new post tells whom, and each member's list of them.

`notify_for_post()` runs inside the transaction that makes a post visible (posting, or a
facilitator approving it) and returns the live events to publish after commit; it never
publishes itself. Everything else checks the actor: a notification is only ever its
recipient's (another member's is a 404).
"""

from __future__ import annotations

import asyncpg

from confer import i18n, places
from confer.calendars import reminders
from confer.context import Ctx
from confer.errors import Forbidden, NotFound, Unauthorized
from confer.i18n import N_, _
from confer.live.events import Event, notification_event
from confer.notifications import emails, notices
from confer.notifications import queries as q
from confer.policy import Actor
from confer.settings import Settings
from confer.urls import url
from confer.validate import Fields

EMAIL_CHOICES = ("each", "digest", "none")
MAX_MENTIONS = 20  # '@'s looked at in one post
NAME_MAX = 100  # users.name is at most 100 characters


def mention_candidates(body: str) -> tuple[list[str], list[int]]:
    """Every text that could be a display name after each '@', lower-cased, with its '@'.

    A candidate ends at a word boundary ("@Jane Smithers" is not Jane Smith) and never spans
    a line. The database keeps, per '@', the longest candidates that are member names.
    """
    names: list[str] = []
    positions: list[int] = []
    start = 0
    seen = 0
    while seen < MAX_MENTIONS:
        at = body.find("@", start)
        if at < 0:
            break
        start = at + 1
        if at > 0 and (body[at - 1].isalnum() or body[at - 1] in "._-+"):
            continue  # an email address, not a mention
        seen += 1
        rest = body[at + 1 : at + 1 + NAME_MAX].split("\n", 1)[0]
        for end in range(1, len(rest) + 1):
            if rest[end - 1].isspace():
                continue
            if end < len(rest) and rest[end].isalnum() and rest[end - 1].isalnum():
                continue
            names.append(rest[:end].lower())
            positions.append(at)
    return names, positions


def actor_label(name: str | None, title: str | None) -> str:
    name = name or _("Former participant")
    return f"{title} {name}" if title else name


def describe(kind: str, who: str, thread_title: str) -> str:
    """The notification as a sentence, in the current language: a notification stores only
    its kind and what it points at, so each reader sees it in their own language."""
    if kind == "mention":
        return _("%(who)s mentioned you in “%(thread)s”") % {"who": who, "thread": thread_title}
    if kind == "reply":
        return _("%(who)s replied to your post in “%(thread)s”") % {
            "who": who,
            "thread": thread_title,
        }
    return _("%(who)s posted in “%(thread)s”, a thread you follow") % {
        "who": who,
        "thread": thread_title,
    }


def conference_title(row: asyncpg.Record | dict) -> i18n.Localized:
    """The notification's conference title in the current language (a bilingual conference's
    other title when it has one), from the row's conference_* columns."""
    return i18n.localized(
        {
            "title": row["conference_title"],
            "language": _column(row, "conference_language"),
            "bilingual": _column(row, "conference_bilingual"),
            "translations": _column(row, "conference_translations"),
        },
        "title",
    )


def _column(row: asyncpg.Record | dict, key: str) -> object:
    try:
        return row[key]
    except KeyError:
        return None


def recipient_language(row: asyncpg.Record | dict) -> str:
    """The language to write to a member in: their own choice, else the conference's."""
    return _column(row, "language") or _column(row, "conference_language") or i18n.DEFAULT  # type: ignore[return-value]


def payload(row: asyncpg.Record | dict) -> dict:
    """The wire shape of a notification (JSON API and the live `notification` event), in the
    current language."""
    if row["kind"] == "reminder":
        return reminders.payload(
            {
                "session_id": row["session_id"],
                "kind": row["session_kind"],
                "title": row["session_title"],
                "translations": row["session_translations"],
                "starts_at": row["session_starts_at"],
                "slug": row["slug"],
                "timezone": row["timezone"],
                "conference_title": row["conference_title"],
                "conference_language": row["conference_language"],
                "bilingual": row["conference_bilingual"],
                "conference_translations": row["conference_translations"],
            },
            note_id=row["id"],
            created_at=row["created_at"],
            read=bool(row["is_read"]),
        )
    if row["kind"] in notices.KINDS:
        return notices.payload(row)
    who = actor_label(row["actor_name"], row["actor_title"])
    return {
        "id": row["id"],
        "kind": row["kind"],
        "text": describe(row["kind"], who, row["thread_title"]),
        "read": bool(row["is_read"]),
        "created_at": row["created_at"].isoformat(),
        "post_id": row["post_id"],
        "thread_id": row["thread_id"],
        "thread_title": row["thread_title"],
        "conference": {"slug": row["slug"], "title": conference_title(row)},
        "actor": {"name": who},
        "excerpt": emails.excerpt(row["excerpt"] or "", 200),
        "newer_posts": row["newer_posts"],
        "url": url("post", slug=row["slug"], post_id=row["post_id"]),
        # Opening it here marks it read, then redirects to `url`.
        "open_url": url("notification", notification_id=row["id"]),
    }


async def notify_for_post(
    con: asyncpg.Connection,
    post_id: int,
    body_md: str,
    *,
    thread_id: int,
    conference_id: int,
    author_id: int | None,
    reply_to_id: int | None,
    settings: Settings,
    follow: bool = True,
    notify: bool = True,
) -> list[Event]:
    """Inside the transaction that writes or approves a post: the author follows the thread
    (`follow`, unless they unfollowed it), and, when the post is visible (`notify`), its
    mentions, the author it replies to and the thread's followers are notified, and "each"
    emails are queued. Returns the `notification` events to publish after commit.

    Set-based: one statement whatever the number of followers (a post awaiting approval:
    one small insert); a second, and one for emails, only when someone was notified.
    """
    if not notify:
        if follow and author_id is not None:
            await q.follow_thread(con, author_id, thread_id)
        return []
    names, positions = mention_candidates(body_md)
    inserted = await q.notify_for_post(
        con, post_id, thread_id, author_id, conference_id, reply_to_id, names, positions,
        follow=follow,
    )  # fmt: skip
    if not inserted:
        return []
    return await tell_notified(con, post_id, settings)


async def tell_notified(con: asyncpg.Connection, post_id: int, settings: Settings) -> list[Event]:
    """For the notifications just made for post `post_id`: queue the "each" emails and return
    the `notification` events to publish after commit."""
    rows = await q.list_notified(con, post_id)
    mail = []
    events = []
    for r in rows:
        # Each recipient's event and email in their language, not the poster's.
        with i18n.using(recipient_language(r)):
            data = payload(
                {
                    "id": r["id"],
                    "kind": r["kind"],
                    "created_at": r["created_at"],
                    "post_id": post_id,
                    "thread_id": r["thread_id"],
                    "thread_title": r["thread_title"],
                    "slug": r["slug"],
                    "conference_title": r["conference_title"],
                    "conference_language": r["conference_language"],
                    "conference_bilingual": r["conference_bilingual"],
                    "conference_translations": r["conference_translations"],
                    "actor_name": r["author_name"],
                    "actor_title": r["author_title"],
                    "is_read": False,
                    "excerpt": r["body_md"],
                    "newer_posts": 0,
                }
            )
            data["unread"] = r["unread"]
            events.append(notification_event(r["user_id"], data))
            if r["email_notifications"] == "each" and emails.deliverable(r["email"]):
                mail.append(
                    emails.notification_email(
                        settings, r, post_id, data["text"], data["conference"]["title"]
                    )
                )
    if mail:
        await q.insert_emails(con, "notification", mail)
    return events


async def tell_member(
    con: asyncpg.Connection,
    settings: Settings,
    user_id: int,
    kind: str,
    *,
    conference_id: int,
    actor_id: int | None = None,
    session_id: int | None = None,
    question_id: int | None = None,
    answer_id: int | None = None,
    about_post_id: int | None = None,
    reason: str | None = None,
    until: object = None,
) -> Event | None:
    """Inside the transaction of an action done about member `user_id` (confer.notifications
    .notices): store the notice, queue its email when they chose "each", and return the live
    `notification` event (with their new unread count) to publish after commit. Someone who is
    no longer a member (but for a removal) is not told: None."""
    note_id = await q.insert_notice(
        con, user_id, kind, conference_id, actor_id, session_id, question_id, answer_id,
        about_post_id, reason, until,
    )  # fmt: skip
    row = await con.fetchrow(q.FETCH_NOTIFICATION, note_id, user_id)
    if row is None:
        return None
    who = await q.notice_recipient(con, user_id, conference_id)
    assert who is not None
    with i18n.using(recipient_language(who)):
        data = payload(row)
        data["unread"] = await q.count_unread(con, user_id)
        if who["email_notifications"] == "each" and emails.deliverable(who["email"]):
            await q.insert_emails(
                con,
                "notification",
                [emails.notice_email(settings, row["id"], user_id, who, data)],
            )
    return notification_event(user_id, data)


# --- the reader's side ---------------------------------------------------------------------


def _signed_in(actor: Actor) -> int:
    if actor.user_id is None:
        raise Unauthorized(_("Sign in to see your notifications."))
    return actor.user_id


async def unread_count(ctx: Ctx, actor: Actor) -> int:
    return await q.count_unread(ctx.pool, _signed_in(actor))


async def list_notifications(
    ctx: Ctx, actor: Actor, *, before: int | None = None, limit: int = 50, unread_only: bool = False
) -> list[asyncpg.Record]:
    """The actor's own notifications, newest first (keyset: ids below `before`)."""
    user_id = _signed_in(actor)
    return await q.list_notifications(
        ctx.pool, user_id, before=before or 2**62, limit=limit, unread_only=unread_only
    )


async def fetch_notification(ctx: Ctx, actor: Actor, notification_id: int) -> asyncpg.Record:
    row = await q.fetch_notification(ctx.pool, notification_id, _signed_in(actor))
    if row is None:  # someone else's looks exactly like one that does not exist
        raise NotFound(_("There is no such notification."))
    return row


async def mark_read(ctx: Ctx, actor: Actor, notification_id: int) -> asyncpg.Record:
    user_id = _signed_in(actor)
    if not await q.mark_read(ctx.pool, notification_id, user_id):
        raise NotFound(_("There is no such notification."))
    return await fetch_notification(ctx, actor, notification_id)


async def mark_all_read(ctx: Ctx, actor: Actor, upto_id: int | None = None) -> int:
    """Mark the actor's notifications read (only those up to `upto_id`, when given)."""
    return await q.mark_all_read(ctx.pool, _signed_in(actor), upto_id)


# --- following -----------------------------------------------------------------------------


async def set_following(ctx: Ctx, actor: Actor, slug: str, thread_id: int, following: bool) -> bool:
    """Follow or unfollow a thread; the choice is remembered (posting does not undo it)."""

    place = await places.load(ctx.pool, actor, slug, "conference.read")
    await places.fetch_thread(ctx.pool, place, thread_id)
    user_id = _signed_in(actor)
    if place.member is None or not place.member.active:
        raise Forbidden(_("Join this conference to follow its threads."))
    await q.set_following(ctx.pool, user_id, thread_id, following)
    return following


async def is_following(ctx: Ctx, actor: Actor, thread_id: int) -> bool:
    if actor.user_id is None:
        return False
    return bool(await q.fetch_following(ctx.pool, actor.user_id, thread_id))


# --- email preferences ---------------------------------------------------------------------


async def email_preferences(ctx: Ctx, actor: Actor) -> list[asyncpg.Record]:
    """The actor's active memberships, each with its email preference."""
    return await q.list_email_preferences(ctx.pool, _signed_in(actor))


async def set_email_preference(ctx: Ctx, actor: Actor, slug: str, value: object) -> str:
    """Choose 'each', 'digest' or 'none' for one conference the actor is a member of."""
    user_id = _signed_in(actor)
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    f = Fields()
    choice = f.choice(
        "email", value, EMAIL_CHOICES, required=N_("Select how you want to hear by email")
    )
    f.raise_if_any()
    if place.member is None or not place.member.active:
        raise Forbidden(_("You are not a member of this conference."))
    saved = await q.set_email_preference(ctx.pool, place.id, user_id, choice)
    if saved is None:
        raise Forbidden(_("You are not a member of this conference."))
    return saved


async def email_preference(ctx: Ctx, actor: Actor, slug: str) -> str:
    """The actor's email preference for one conference they are an active member of."""
    for m in await email_preferences(ctx, actor):
        if m["slug"] == slug:
            return m["email_notifications"]
    await places.load(ctx.pool, actor, slug, "conference.see")  # 404 if unseen
    raise Forbidden(_("You are not a member of this conference."))
