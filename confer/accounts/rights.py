"""Data rights: a member downloads everything Confer holds about them, deletes their
account, or asks an organiser to anonymise them. Erasure keeps the conference record: posts
stay, attributed to "Former participant"; the person's identifying data goes. Every request
is written to audit_log."""

from __future__ import annotations

from typing import Any

import asyncpg

from confer import places, timefmt
from confer.accounts import passwords
from confer.context import Ctx
from confer.errors import Forbidden, Invalid, NotFound
from confer.exports import queries as exports_q
from confer.i18n import N_, _
from confer.policy import FORMER_NAME, Actor
from confer.registration import service as registration
from confer.urls import url
from confer.validate import Fields

FORMER = FORMER_NAME

MY_DATA = {
    "profile": """
        SELECT id, email, name, title, organisation, bio, created_at, password_changed_at
        FROM users WHERE id = $1""",
    "memberships": """
        SELECT c.slug, c.title, m.role, m.status, m.coc_accepted_at, m.created_at
        FROM memberships m JOIN conferences c ON c.id = m.conference_id WHERE m.user_id = $1
        ORDER BY m.created_at""",
    "posts": """
        SELECT p.id, c.slug AS conference, t.title AS thread, p.seq, p.body_md, p.status,
               p.created_at, p.edited_at
        FROM posts p
        JOIN threads t ON t.id = p.thread_id
        JOIN conferences c ON c.id = p.conference_id
        WHERE p.author_id = $1 ORDER BY p.created_at""",
    "post_revisions": """
        SELECT r.post_id, r.body_md, r.replaced_at
        FROM post_revisions r JOIN posts p ON p.id = r.post_id WHERE p.author_id = $1""",
    "questions": """
        SELECT q.id, q.body_md, q.status, q.vote_count, q.created_at
        FROM questions q WHERE q.author_id = $1 ORDER BY q.created_at""",
    "votes": """SELECT question_id, created_at FROM question_votes WHERE user_id = $1""",
    "answers": """SELECT question_id, body_md, created_at FROM answers WHERE speaker_id = $1""",
    "reports_made": """
        SELECT post_id, reason, note, created_at, resolution FROM flags WHERE flagger_id = $1""",
    "threads_read": """SELECT thread_id, last_seq, updated_at FROM read_state WHERE user_id = $1""",
    "sign_in_sessions": """
        SELECT created_at, last_seen_at, expires_at FROM logins WHERE user_id = $1""",
    # Their reminders: the default (minutes before a starred session; 0: none), each star's
    # own choice (null: the default), and the reminders made for them.
    "reminder_preference": """
        SELECT reminder_minutes AS default_minutes_before FROM users WHERE id = $1""",
    "starred_sessions": """
        SELECT c.slug AS conference, s.title, st.created_at,
               st.reminder_minutes AS reminder_minutes_before
        FROM session_stars st
        JOIN sessions s ON s.id = st.session_id
        JOIN conferences c ON c.id = s.conference_id
        WHERE st.user_id = $1 ORDER BY st.created_at""",
    "session_reminders": """
        SELECT c.slug AS conference, s.title, r.starts_at, r.minutes AS minutes_before,
               r.created_at
        FROM session_reminders r
        JOIN sessions s ON s.id = r.session_id
        JOIN conferences c ON c.id = s.conference_id
        WHERE r.user_id = $1 ORDER BY r.created_at""",
    "calendar_feed": """
        SELECT scope, timezone, token_hash IS NOT NULL AS address_active, created_at
        FROM calendar_feeds WHERE user_id = $1""",
    "api_tokens": """
        SELECT name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1""",
    # Sign-ins with a provider linked to the account (confer.sso).
    "linked_sign_ins": """
        SELECT provider, issuer, subject, email, tenant, created_at, last_used_at
        FROM sso_identities WHERE user_id = $1 ORDER BY created_at""",
    # Their files (confer.files), each with the address it is downloaded from.
    "files": """
        SELECT f.id, c.slug AS conference, f.title, f.alt, f.filename, f.content_type, f.size,
               f.scan_state, f.session_id, f.post_id, f.created_at
        FROM files f
        JOIN conferences c ON c.id = f.conference_id
        WHERE f.uploader_id = $1 AND f.scan_state <> 'infected'
        ORDER BY f.id""",
}

ERASE = [
    # The account keeps its id (posts, votes and the logs point at it) but nothing that identifies.
    """UPDATE users SET email = 'erased-' || id || '@invalid', name = 'Former participant',
           title = '', organisation = '', bio = '', password_hash = NULL, is_admin = false,
           erased_at = now()
       WHERE id = $1""",
    "DELETE FROM logins WHERE user_id = $1",
    "DELETE FROM api_tokens WHERE user_id = $1",
    # Sign-ins with a provider: linked, waiting for the account, or started (confer.sso).
    "DELETE FROM sso_identities WHERE user_id = $1",
    "DELETE FROM sso_pending_links WHERE user_id = $1",
    "DELETE FROM sso_flows WHERE link_user_id = $1",
    # The calendar feed's address stops working; their stars and time zone go.
    "DELETE FROM calendar_feeds WHERE user_id = $1",
    "DELETE FROM session_stars WHERE user_id = $1",
    # Their reminders: the ledger and their choice (the account row stays, so nothing
    # cascades; their reminder notifications go with the others in _erase).
    "DELETE FROM session_reminders WHERE user_id = $1",
    "UPDATE users SET reminder_minutes = DEFAULT WHERE id = $1",
    """UPDATE cancelled_sessions SET starred_by = array_remove(starred_by, $1)
       WHERE $1 = ANY (starred_by)""",
    "DELETE FROM read_state WHERE user_id = $1",
    "UPDATE flags SET note = '' WHERE flagger_id = $1",
    "DELETE FROM post_revisions WHERE post_id IN (SELECT id FROM posts WHERE author_id = $1)",
    # The text of a post deleted moments ago, kept for its undo window (issue #23).
    "DELETE FROM post_deletions WHERE post_id IN (SELECT id FROM posts WHERE author_id = $1)",
    # Their files, and with them their bytes (file_chunks cascades).
    "DELETE FROM files WHERE uploader_id = $1",
]


def _jsonable(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        d = dict(r)
        for k, v in d.items():
            if hasattr(v, "isoformat"):
                d[k] = timefmt.iso(v)
        out.append(d)
    return out


async def my_data(ctx: Ctx, actor: Actor) -> dict[str, Any]:
    """Everything Confer holds about the signed-in member, as JSON-ready data."""
    if actor.user_id is None:
        raise Forbidden(_("Sign in to download your data."))
    data: dict[str, Any] = {"format": "confer-personal-data", "version": 1}
    async with ctx.pool.acquire() as con:
        for name, sql in MY_DATA.items():
            data[name] = _jsonable(await con.fetch(sql, actor.user_id))
    data["profile"] = data["profile"][0] if data["profile"] else None
    for f in data["files"]:  # each with the address it is downloaded from
        f["url"] = url("file", slug=f["conference"], file_id=f["id"], filename=f["filename"])
    # By id only: a name in the append-only audit_log would outlive an erasure.
    await exports_q.insert_audit(
        ctx.pool, actor.user_id, "", None, actor.user_id, "data.download", {}
    )
    return data


async def _erase(con: asyncpg.Connection, user_id: int) -> None:
    email = await con.fetchval("SELECT email FROM users WHERE id = $1", user_id)
    for sql in ERASE:
        await con.execute(sql, user_id)
    await con.execute("DELETE FROM login_failures WHERE email = lower($1)", email)
    # Joining and staying in touch: invitations to their address keep their status for the
    # organisers' list but not the address or name; emails to them and link requests go.
    await con.execute(
        """UPDATE invitations SET email = 'erased-' || id || '@invalid', name = ''
           WHERE lower(email) = lower($1) OR accepted_by = $2""",
        email,
        user_id,
    )
    await con.execute(
        "DELETE FROM outbox WHERE user_id = $2 OR lower(to_address) = lower($1)", email, user_id
    )
    await con.execute("DELETE FROM email_link_requests WHERE lower(email) = lower($1)", email)
    await con.execute("DELETE FROM email_tokens WHERE user_id = $1", user_id)
    await con.execute("DELETE FROM notifications WHERE user_id = $1", user_id)
    await con.execute("DELETE FROM follows WHERE user_id = $1", user_id)


async def delete_account(ctx: Ctx, actor: Actor, data: dict[str, object]) -> None:
    """The member deletes their own account, confirming with their password."""
    if actor.user_id is None:
        raise Forbidden(_("Sign in to delete your account."))
    f = Fields()
    stored = await ctx.pool.fetchval("SELECT password_hash FROM users WHERE id = $1", actor.user_id)
    if stored is None:
        # An account made by signing in with a provider (confer.sso) has no password: it
        # confirms with its email address instead (the session itself is the credential).
        typed = f.text(
            "confirm_email",
            data.get("confirm_email"),
            required=N_("Enter your email address"),
            too_long=N_("Email address must be %(max)s characters or fewer"),
            max_len=254,
        )
        f.raise_if_any()
        if typed.lower() != actor.email.lower():
            raise Invalid(fields={"confirm_email": _("That is not your account’s email address")})
    else:
        password = f.text(
            "password",
            data.get("password"),
            required=N_("Enter password"),
            too_long=N_("Password must be %(max)s characters or fewer"),
            strip=False,
            max_len=1024,
        )
        f.raise_if_any()
        if not await passwords.verify_password(stored, password):
            raise Invalid(fields={"password": _("Your password is not right")})
    async with ctx.pool.acquire() as con, con.transaction():
        await _erase(con, actor.user_id)
        await exports_q.insert_audit(
            con, actor.user_id, FORMER, None, actor.user_id, "account.erase", {"by": "self"}
        )
    await ctx.hub.disconnect_user(actor.user_id)


# An organiser's anonymisation reaches one conference only: the member's words in it pass to a
# stand-in account named "Former participant" (one per anonymisation, so nothing links them to
# the person or to each other across conferences), and what tied them to it goes. Their account,
# and everything they did elsewhere, stays theirs. ($1 the member, $2 the conference, $3 the
# stand-in.) The moderation and audit logs are append-only and hold ids, never names.
ANONYMISE_IN_CONFERENCE = [
    """DELETE FROM post_revisions
       WHERE post_id IN (SELECT id FROM posts WHERE author_id = $1 AND conference_id = $2)""",
    """DELETE FROM post_deletions
       WHERE post_id IN (SELECT id FROM posts WHERE author_id = $1 AND conference_id = $2)""",
    "UPDATE posts SET author_id = $3 WHERE author_id = $1 AND conference_id = $2",
    "UPDATE threads SET author_id = $3 WHERE author_id = $1 AND conference_id = $2",
    """UPDATE thread_summaries SET author_id = $3
       WHERE author_id = $1 AND thread_id IN (SELECT id FROM threads WHERE conference_id = $2)""",
    "UPDATE questions SET author_id = $3 WHERE author_id = $1 AND conference_id = $2",
    """UPDATE answers SET speaker_id = $3
       WHERE speaker_id = $1
         AND question_id IN (SELECT id FROM questions WHERE conference_id = $2)""",
    """UPDATE question_votes SET user_id = $3
       WHERE user_id = $1
         AND question_id IN (SELECT id FROM questions WHERE conference_id = $2)""",
    "UPDATE flags SET flagger_id = $3, note = '' WHERE flagger_id = $1 AND conference_id = $2",
    "UPDATE flags SET resolved_by = $3 WHERE resolved_by = $1 AND conference_id = $2",
    "DELETE FROM notifications WHERE user_id = $1 AND conference_id = $2",
    "UPDATE notifications SET actor_id = $3 WHERE actor_id = $1 AND conference_id = $2",
    """DELETE FROM read_state
       WHERE user_id = $1 AND thread_id IN (SELECT id FROM threads WHERE conference_id = $2)""",
    """DELETE FROM follows
       WHERE user_id = $1 AND thread_id IN (SELECT id FROM threads WHERE conference_id = $2)""",
    """DELETE FROM session_facilitators
       WHERE user_id = $1 AND session_id IN (SELECT id FROM sessions WHERE conference_id = $2)""",
    """DELETE FROM session_speakers
       WHERE user_id = $1 AND session_id IN (SELECT id FROM sessions WHERE conference_id = $2)""",
    """DELETE FROM session_stars
       WHERE user_id = $1 AND session_id IN (SELECT id FROM sessions WHERE conference_id = $2)""",
    """DELETE FROM session_reminders
       WHERE user_id = $1 AND session_id IN (SELECT id FROM sessions WHERE conference_id = $2)""",
    "DELETE FROM memberships WHERE user_id = $1 AND conference_id = $2",
    """UPDATE invitations SET email = 'erased-' || id || '@invalid', name = ''
       WHERE conference_id = $2
         AND (accepted_by = $1
              OR lower(email) = (SELECT lower(email) FROM users WHERE id = $1))""",
    "UPDATE invitations SET accepted_by = $3 WHERE accepted_by = $1 AND conference_id = $2",
]


async def anonymise_member(
    ctx: Ctx, actor: Actor, slug: str, user_id: int, data: dict[str, object]
) -> str:
    """At the member's request, an organiser removes them from the conference and anonymises
    their contributions to it: that conference only ("anonymised"). Erasing the whole account
    (`scope=account`) is a site admin's act ("erased"), or the holder's own (delete_account):
    one conference's organiser never reaches an account site-wide."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    site_wide = data.get("scope") == "account"
    if site_wide and not actor.is_admin:
        raise Forbidden(
            _(
                "Only a site administrator can erase a whole account. You can remove the member "
                "from this conference and anonymise what they wrote in it."
            )
        )
    member = await ctx.pool.fetchrow(
        "SELECT role FROM memberships WHERE conference_id = $1 AND user_id = $2", place.id, user_id
    )
    if member is None:
        raise NotFound(_("That person is not a member of this conference."))
    if user_id == actor.user_id:
        raise Forbidden(_("Use 'Delete your account' on your account page instead."))
    f = Fields()
    if not f.boolean(data.get("requested")):
        f.add("requested", _("Confirm that the member asked for this"))
    f.raise_if_any()

    promoted: list[asyncpg.Record] = []
    async with ctx.pool.acquire() as con, con.transaction():
        conference = await registration.lock_conference(con, place.id)
        if site_wide:
            await _erase(con, user_id)
            action, details = "account.erase", {"by": "admin"}
        else:
            stand_in = await con.fetchval(
                """INSERT INTO users (email, name, password_hash, erased_at)
                   VALUES ('anonymised-' || gen_random_uuid() || '@invalid',
                           'Former participant', NULL, now())
                   RETURNING id"""
            )
            for sql in ANONYMISE_IN_CONFERENCE:
                args = (user_id, place.id, stand_in) if "$3" in sql else (user_id, place.id)
                await con.execute(sql, *args)
            action, details = "member.anonymise", {"by": "organiser"}
            promoted = await registration.settle(con, ctx.settings, conference)  # a freed place
        await exports_q.insert_audit(
            con,
            actor.user_id,
            "",  # the actor is identified by id: a name here would outlive their own erasure
            place.id,
            user_id,
            action,
            details,
        )
    await ctx.hub.publish(registration.promotion_events(place.id, promoted))
    # Their open pages stop receiving the conference (and, erased, everything).
    await ctx.hub.disconnect_user(user_id)
    return "erased" if site_wide else "anonymised"
