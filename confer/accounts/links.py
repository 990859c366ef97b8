"""Emailed links: password reset and sign-in by link.

A request always gets the same answer whether or not an account exists (the throttle counts
requests for any address, so it does not tell either); only an existing account gets an
email. A link holds a random token whose SHA-256 is stored; it works once, until it
expires, and only if it was made after the account's last password change. Asking again
replaces the older link. Nothing here sends email: it is queued in the same transaction.

Each email is written in its recipient's language: the account's (`users.language`), or,
when the account has not chosen one, the language of the request that asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from confer import i18n
from confer.accounts import passwords
from confer.accounts import queries as accounts_q
from confer.accounts.service import hash_token, new_token
from confer.context import Ctx
from confer.errors import ConferError, TooManyRequests
from confer.i18n import N_, _, ngettext
from confer.mail import outbox, render
from confer.settings import Settings
from confer.urls import url
from confer.validate import Fields

PASSWORD_RESET = "password_reset"
SIGN_IN = "sign_in"
TOKEN_MAX_CHARS = 64


class LinkNotValid(ConferError):
    """This link has expired or has already been used."""

    default_message = N_("This link has expired or has already been used.")

    status = 410
    code = "link_not_valid"


@dataclass(frozen=True)
class LinkHolder:
    """Whom a valid link belongs to."""

    user_id: int
    email: str
    name: str
    next_path: str
    expires_at: datetime
    language: str | None = None  # the account's (None: not chosen)


async def _check_throttle(
    con: asyncpg.Connection, settings: Settings, purpose: str, email: str, address: str
) -> None:
    window = settings.email_link_window_seconds
    t = await accounts_q.fetch_link_throttle(con, purpose, email, address, window)
    if t["email_requests"] >= settings.email_link_max_per_email:
        retry = t["email_retry_after"] or window
        raise TooManyRequests(
            ngettext(
                "We have already sent %(num)d email to this address in the last %(window)s. "
                "Check your inbox and spam folder, or try again in %(wait)s.",
                "We have already sent %(num)d emails to this address in the last %(window)s. "
                "Check your inbox and spam folder, or try again in %(wait)s.",
                settings.email_link_max_per_email,
            )
            % {
                "num": settings.email_link_max_per_email,
                "window": render.duration(window),
                "wait": render.duration(retry),
            },
            retry_after=max(1, retry),
        )
    if t["address_requests"] >= settings.email_link_max_per_address:
        retry = t["address_retry_after"] or window
        raise TooManyRequests(
            _(
                "Too many emails have been asked for from your network in the last "
                "%(window)s. Try again in %(wait)s."
            )
            % {"window": render.duration(window), "wait": render.duration(retry)},
            retry_after=max(1, retry),
        )


def _email_field(data: dict[str, object]) -> str:
    f = Fields()
    email = f.email("email", data.get("email"))
    f.raise_if_any()
    return email


async def _request(
    ctx: Ctx,
    purpose: str,
    email: str,
    address: str,
    *,
    next_path: str,
    seconds: int,
) -> None:
    settings = ctx.settings
    async with ctx.pool.acquire() as con, con.transaction():
        # One request at a time per address asked for, so the throttle counts exactly.
        await con.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "link:" + email.lower())
        await _check_throttle(con, settings, purpose, email, address)
        await accounts_q.delete_old_link_requests(con, settings.email_link_window_seconds)
        await accounts_q.insert_link_request(con, purpose, email, address)
        user = await accounts_q.fetch_user_for_link(con, email)
        if user is None:
            return
        await accounts_q.delete_unused_link_tokens(con, user["id"], purpose)
        token = new_token()
        expires_at = await accounts_q.insert_link_token(
            con, user["id"], purpose, hash_token(token), next_path, seconds
        )
        with i18n.using(user["language"]):  # None: the language of this request
            if purpose == PASSWORD_RESET:
                message = reset_email(settings, user, token, expires_at)
            else:
                message = sign_in_email(settings, user, token, expires_at)
        await outbox.enqueue(
            con,
            kind=purpose,
            to=user["email"],
            to_name=user["name"],
            user_id=user["id"],
            **message.parts(),
        )


async def request_password_reset(ctx: Ctx, data: dict[str, object], address: str) -> str:
    """Email a reset link if the account exists; return the address asked about."""
    email = _email_field(data)
    await _request(
        ctx,
        PASSWORD_RESET,
        email,
        address,
        next_path=url("account"),
        seconds=ctx.settings.password_reset_seconds,
    )
    return email


async def request_sign_in_link(
    ctx: Ctx, data: dict[str, object], address: str, *, next_path: str
) -> str:
    """Email a sign-in link if the account exists; return the address asked about."""
    email = _email_field(data)
    await _request(
        ctx,
        SIGN_IN,
        email,
        address,
        next_path=next_path,
        seconds=ctx.settings.sign_in_link_seconds,
    )
    return email


async def check_link(ctx: Ctx, purpose: str, token: str) -> LinkHolder:
    """Whom a link belongs to, without using it; LinkNotValid if it no longer works."""
    if not token or len(token) > TOKEN_MAX_CHARS:
        raise LinkNotValid()
    row = await accounts_q.fetch_valid_link_token(ctx.pool, hash_token(token), purpose)
    if row is None:
        raise LinkNotValid()
    return LinkHolder(
        user_id=row["user_id"],
        email=row["email"],
        name=row["name"],
        next_path=row["next_path"],
        expires_at=row["expires_at"],
        language=row["language"],
    )


async def reset_password(ctx: Ctx, token: str, data: dict[str, object]) -> tuple[int, str]:
    """Set a new password through a reset link; end every sign-in session and every other
    emailed link of the account; return (user id, a new sign-in token for this browser).

    The link is used only once the new password passes the rules (a refused password
    leaves the link working).
    """
    holder = await check_link(ctx, PASSWORD_RESET, token)
    f = Fields()
    new = f.text(
        "password",
        data.get("password"),
        required=N_("Enter new password"),
        too_long=N_("New password must be %(max)s characters or fewer"),
        strip=False,
        max_len=128,
    )
    if "password" not in f.errors:
        if msg := passwords.problem(new, email=holder.email, name=holder.name):
            f.add("password", msg)
    f.raise_if_any()
    new_hash = await passwords.hash_password(new)
    login_token = new_token()
    settings = ctx.settings
    async with ctx.pool.acquire() as con, con.transaction():
        used = await accounts_q.use_link_token(con, hash_token(token), PASSWORD_RESET)
        if used is None:  # used or expired while the password was being hashed
            raise LinkNotValid()
        user_id = used["user_id"]
        await accounts_q.update_password(con, user_id, new_hash)
        await accounts_q.delete_logins_of_user(con, user_id)
        await accounts_q.revoke_api_tokens_of_user(con, user_id)
        await accounts_q.delete_unused_link_tokens(con, user_id, None)
        await accounts_q.clear_login_failures(con, holder.email)
        await accounts_q.insert_login(
            con, user_id, hash_token(login_token), settings.login_session_days
        )
        with i18n.using(holder.language):
            message = password_changed_email(settings, holder)
        await outbox.enqueue(
            con,
            kind="password_changed",
            to=holder.email,
            to_name=holder.name,
            user_id=user_id,
            **message.parts(),
        )
    return user_id, login_token


async def sign_in_with_link(ctx: Ctx, token: str) -> tuple[int, str, str]:
    """Use a sign-in link; return (user id, a new sign-in token, where to go next)."""
    if not token or len(token) > TOKEN_MAX_CHARS:
        raise LinkNotValid()
    login_token = new_token()
    async with ctx.pool.acquire() as con, con.transaction():
        used = await accounts_q.use_link_token(con, hash_token(token), SIGN_IN)
        if used is None:
            raise LinkNotValid()
        await accounts_q.insert_login(
            con, used["user_id"], hash_token(login_token), ctx.settings.login_session_days
        )
    return used["user_id"], login_token, used["next_path"]


# --- the emails -------------------------------------------------------------------------


def reset_email(
    settings: Settings, user: asyncpg.Record, token: str, expires_at: datetime
) -> render.Email:
    """Written in the current language: call inside `i18n.using(recipient's language)`."""
    site = render.site_name(settings)
    return render.compose(
        settings,
        subject=_("Reset your %(site)s password") % {"site": site},
        to_name=user["name"],
        paragraphs=[
            _("We received a request to reset the password for your %(site)s account (%(email)s).")
            % {"site": site, "email": user["email"]},
        ],
        action=render.Action(
            _("Choose a new password"), settings.base_url + url("password_reset_link", token=token)
        ),
        after=[
            render.link_expiry(expires_at, seconds=settings.password_reset_seconds),
            _(
                "If you did not ask to reset your password, you can ignore this email. "
                "Your password has not been changed."
            ),
        ],
        reason=_(
            "You are getting this email because someone asked to reset the password "
            "of a %(site)s account with this address."
        )
        % {"site": site},
    )


def sign_in_email(
    settings: Settings, user: asyncpg.Record, token: str, expires_at: datetime
) -> render.Email:
    """Written in the current language: call inside `i18n.using(recipient's language)`."""
    site = render.site_name(settings)
    return render.compose(
        settings,
        subject=_("Your link to sign in to %(site)s") % {"site": site},
        to_name=user["name"],
        paragraphs=[
            _(
                "Use this link to sign in to %(site)s as %(email)s. "
                "You will be asked to confirm with one more click."
            )
            % {"site": site, "email": user["email"]},
        ],
        action=render.Action(
            _("Sign in to %(site)s") % {"site": site},
            settings.base_url + url("email_sign_in_link", token=token),
        ),
        after=[
            render.link_expiry(expires_at, seconds=settings.sign_in_link_seconds),
            _(
                "If you did not ask to sign in, you can ignore this email. Nobody can sign in "
                "without the link."
            ),
        ],
        reason=_(
            "You are getting this email because someone asked for a link to sign in "
            "to a %(site)s account with this address."
        )
        % {"site": site},
    )


def password_changed_email(settings: Settings, holder: LinkHolder) -> render.Email:
    """Written in the current language: call inside `i18n.using(recipient's language)`."""
    site = render.site_name(settings)
    return render.compose(
        settings,
        subject=_("Your %(site)s password has been changed") % {"site": site},
        to_name=holder.name,
        paragraphs=[
            _(
                "The password for your %(site)s account (%(email)s) has just been changed "
                "using a reset link, and you have been signed out everywhere else."
            )
            % {"site": site, "email": holder.email},
            _("If you did this, there is nothing more to do."),
            _("If you did not, reset your password now and tell the conference organisers."),
        ],
        action=render.Action(_("Reset your password"), settings.base_url + url("password_reset")),
        reason=_(
            "You are getting this email because the password of your %(site)s account was changed."
        )
        % {"site": site},
    )
