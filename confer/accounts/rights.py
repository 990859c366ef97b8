"""Data rights: a member downloads everything Confer holds about them, deletes their
account, or asks an organiser to anonymise them. Erasure keeps the conference record: posts
stay, attributed to "Former participant"; the person's identifying data goes. Every request
is written to audit_log."""

from __future__ import annotations

from typing import Any

import asyncpg

from confer import timefmt
from confer.accounts import passwords
from confer.conferences import service as conferences
from confer.context import Ctx
from confer.errors import Forbidden, Invalid, NotFound
from confer.exports import queries as exports_q
from confer.policy import Actor
from confer.validate import Fields

FORMER = "Former participant"

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
    "api_tokens": """
        SELECT name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1""",
}

ERASE = [
    # The account keeps its id (posts, votes and the logs point at it) but nothing that identifies.
    """UPDATE users SET email = 'erased-' || id || '@invalid', name = 'Former participant',
           title = '', organisation = '', bio = '', password_hash = NULL, is_admin = false,
           erased_at = now()
       WHERE id = $1""",
    "DELETE FROM logins WHERE user_id = $1",
    "DELETE FROM api_tokens WHERE user_id = $1",
    "DELETE FROM read_state WHERE user_id = $1",
    "UPDATE flags SET note = '' WHERE flagger_id = $1",
    "DELETE FROM post_revisions WHERE post_id IN (SELECT id FROM posts WHERE author_id = $1)",
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
        raise Forbidden("Sign in to download your data.")
    data: dict[str, Any] = {"format": "confer-personal-data", "version": 1}
    async with ctx.pool.acquire() as con:
        for name, sql in MY_DATA.items():
            data[name] = _jsonable(await con.fetch(sql, actor.user_id))
    data["profile"] = data["profile"][0] if data["profile"] else None
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
        raise Forbidden("Sign in to delete your account.")
    f = Fields()
    password = f.text("password", data.get("password"), label="Password", strip=False, max_len=1024)
    f.raise_if_any()
    stored = await ctx.pool.fetchval("SELECT password_hash FROM users WHERE id = $1", actor.user_id)
    if not await passwords.verify_password(stored, password):
        raise Invalid(fields={"password": "Your password is not right"})
    async with ctx.pool.acquire() as con, con.transaction():
        await _erase(con, actor.user_id)
        await exports_q.insert_audit(
            con, actor.user_id, FORMER, None, actor.user_id, "account.erase", {"by": "self"}
        )
    await ctx.hub.disconnect_user(actor.user_id)


async def anonymise_member(
    ctx: Ctx, actor: Actor, slug: str, user_id: int, data: dict[str, object]
) -> None:
    """An organiser anonymises a member of their conference, at the member's request."""
    place = await conferences.load(ctx.pool, actor, slug, "conference.manage")
    member = await ctx.pool.fetchrow(
        "SELECT role FROM memberships WHERE conference_id = $1 AND user_id = $2", place.id, user_id
    )
    if member is None:
        raise NotFound("That person is not a member of this conference.")
    if user_id == actor.user_id:
        raise Forbidden("Use 'Delete your account' on your account page instead.")
    f = Fields()
    if not f.boolean(data.get("requested")):
        f.add("requested", "Confirm that the member asked for this")
    f.raise_if_any()
    async with ctx.pool.acquire() as con, con.transaction():
        await _erase(con, user_id)
        await exports_q.insert_audit(
            con,
            actor.user_id,
            "",  # the actor is identified by id: a name here would outlive their own erasure
            place.id,
            user_id,
            "account.erase",
            {"by": "organiser"},
        )
    await ctx.hub.disconnect_user(user_id)
