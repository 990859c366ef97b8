"""Accounts: registration, sign-in and its throttle, sign-in sessions, profiles, API tokens.

Tokens (sign-in cookies and API tokens) are random; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass

import asyncpg

from confer import i18n
from confer.accounts import passwords
from confer.accounts import queries as q
from confer.context import Ctx
from confer.errors import Forbidden, Invalid, NotFound, TooManyRequests
from confer.i18n import N_, _, ngettext
from confer.live import evict
from confer.policy import Actor
from confer.settings import Settings
from confer.validate import Fields

API_TOKEN_PREFIX = "cnf_"


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(16)  # 128 bits


@dataclass(frozen=True)
class ProfileInput:
    name: str
    title: str
    organisation: str
    bio: str = ""


def _check_profile(f: Fields, data: dict[str, object]) -> ProfileInput:
    return ProfileInput(
        name=f.text(
            "name",
            data.get("name"),
            required=N_("Enter display name"),
            too_long=N_("Display name must be %(max)s characters or fewer"),
            max_len=100,
        ),
        title=f.text(
            "title",
            data.get("title"),
            required=None,
            too_long=N_("Title must be %(max)s characters or fewer"),
            max_len=100,
        ),
        organisation=f.text(
            "organisation",
            data.get("organisation"),
            required=None,
            too_long=N_("Organisation must be %(max)s characters or fewer"),
            max_len=200,
        ),
        bio=f.text(
            "bio",
            data.get("bio"),
            required=None,
            too_long=N_("Bio must be %(max)s characters or fewer"),
            max_len=2000,
        ),
    )


async def register(
    pool: asyncpg.Pool,
    data: dict[str, object],
    *,
    is_admin: bool = False,
    from_page: bool = False,
) -> int:
    """Create an account from form or API data; return the new user's id.

    `from_page`: someone registering on a page (the registration form): the account keeps
    the language of that page (`i18n.lang()`, Cymraeg or English) for its pages and emails.
    Otherwise (the command line, the demo, fixtures) its language is left unchosen."""
    f = Fields()
    email = f.email("email", data.get("email"))
    profile = _check_profile(f, data)
    password = f.text(
        "password",
        data.get("password"),
        required=N_("Enter password"),
        too_long=N_("Password must be %(max)s characters or fewer"),
        strip=False,
        max_len=128,
    )
    if "password" not in f.errors:
        if msg := passwords.problem(password, email=email, name=profile.name):
            f.add("password", msg)
    f.raise_if_any()
    password_hash = await passwords.hash_password(password)
    try:
        language = i18n.lang() if from_page and i18n.lang() in i18n.LANGUAGES else None
        row = await q.insert_user(
            pool,
            email,
            profile.name,
            profile.title,
            profile.organisation,
            password_hash,
            is_admin,
            language,
        )
    except asyncpg.UniqueViolationError:
        raise Invalid(
            fields={"email": _("An account with this email address already exists")}
        ) from None
    return row["id"]


def throttle_address(address: str) -> str:
    """The address failed sign-ins are counted under: an IPv6 client by its /64 (one
    household or one phone is given a whole /64 and may pick any address in it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is None:  # type: ignore[union-attr]
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


async def sign_in(
    pool: asyncpg.Pool, settings: Settings, email: object, password: object, address: str
) -> tuple[int, str]:
    """Check the password under the throttle; return (user id, new sign-in token)."""
    f = Fields()
    email_s = f.text(
        "email",
        email,
        required=N_("Enter email address"),
        too_long=N_("Email address must be %(max)s characters or fewer"),
        max_len=254,
    )
    password_s = f.text(
        "password",
        password,
        required=N_("Enter password"),
        too_long=N_("Password must be %(max)s characters or fewer"),
        strip=False,
        max_len=1024,
    )
    f.raise_if_any()
    window = settings.login_window_seconds
    where = throttle_address(address)
    t = await q.fetch_login_throttle(pool, email_s, where, window)
    # Never per account alone: five wrong passwords typed by a stranger somewhere else must
    # not lock the owner out of their own device. Failures count per account *and* address
    # (one address gets at most login_max_failures tries at one account, so it can add at
    # most one to account_addresses), per address, and a looser ceiling on how many
    # different addresses are guessing one account. Emailed sign-in is never throttled here.
    retry = 0
    if t["pair_failures"] >= settings.login_max_failures:
        retry = max(retry, t["pair_retry_after"] or window)
    if t["address_failures"] >= settings.login_max_failures_per_address:
        retry = max(retry, t["address_retry_after"] or window)
    if t["account_addresses"] >= settings.login_max_addresses_per_account:
        retry = max(retry, t["account_retry_after"] or window)
    if retry:
        minutes = max(1, -(-retry // 60))
        raise TooManyRequests(
            ngettext(
                "Too many failed sign-in attempts. Try again in %(num)d minute, "
                "or sign in with a link sent to your email.",
                "Too many failed sign-in attempts. Try again in %(num)d minutes, "
                "or sign in with a link sent to your email.",
                minutes,
            )
            % {"num": minutes},
            retry_after=retry,
        )
    row = await q.fetch_user_for_sign_in(pool, email_s)
    ok = await passwords.verify_password(row["password_hash"] if row else None, password_s)
    if not ok or row is None:
        await q.insert_login_failure(pool, email_s, where)
        message = _("The email address or password is not right")
        raise Invalid(message, fields={"email": message})
    await q.clear_login_failures(pool, email_s)
    token = await start_login(pool, settings, row["id"])
    return row["id"], token


async def start_login(pool: asyncpg.Pool, settings: Settings, user_id: int) -> str:
    token = new_token()
    await q.insert_login(pool, user_id, hash_token(token), settings.login_session_days)
    return token


async def sign_out(pool: asyncpg.Pool, token: str) -> int | None:
    """End one sign-in session; return its user's id (for disconnecting their sockets)."""
    return await q.delete_login(pool, hash_token(token))


async def actor_from_login(pool: asyncpg.Pool, token: str) -> tuple[Actor, int] | None:
    row = await q.fetch_actor_by_login(pool, hash_token(token))
    if row is None:
        return None
    actor = Actor(
        user_id=row["id"],
        name=row["name"],
        email=row["email"],
        is_admin=row["is_admin"],
        can_create_conferences=row["can_create_conferences"],
        via="cookie",
        language=row["language"],
    )
    return actor, row["login_id"]


async def actor_from_api_token(pool: asyncpg.Pool, token: str) -> Actor | None:
    found = await actor_and_token_id(pool, token)
    return None if found is None else found[0]


async def actor_and_token_id(pool: asyncpg.Pool, token: str) -> tuple[Actor, int] | None:
    """The API token's actor and the token's id (a socket opened with it is evicted when it
    is revoked), if the token is live."""
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    row = await q.fetch_actor_by_api_token(pool, hash_token(token))
    if row is None:
        return None
    actor = Actor(
        user_id=row["id"],
        name=row["name"],
        email=row["email"],
        is_admin=row["is_admin"],
        can_create_conferences=row["can_create_conferences"],
        via="token",
        language=row["language"],
    )
    return actor, row["token_id"]


async def actor_of_credential(pool: asyncpg.Pool, kind: str, token_hash: bytes) -> Actor | None:
    """The actor of a sign-in ("login") or an API token ("token") by its hash, if it is still
    live: a socket asks again before each action (confer.live.server)."""
    if kind == "login":
        row = await q.fetch_actor_by_login(pool, token_hash)
    else:
        row = await q.fetch_actor_by_api_token(pool, token_hash)
    if row is None:
        return None
    return Actor(
        user_id=row["id"],
        name=row["name"],
        email=row["email"],
        is_admin=row["is_admin"],
        can_create_conferences=row["can_create_conferences"],
        via="cookie" if kind == "login" else "token",
        language=row["language"],
    )


async def fetch_profile(pool: asyncpg.Pool, user_id: int) -> asyncpg.Record:
    row = await q.fetch_user(pool, user_id)
    if row is None:
        raise NotFound()
    return row


async def has_password(pool: asyncpg.Pool, user_id: int) -> bool:
    """False for an account made by signing in with a provider (confer.sso) that has not
    chosen a password since."""
    return await q.fetch_password_hash(pool, user_id) is not None


async def set_language(pool: asyncpg.Pool, actor: Actor, language: str) -> None:
    """The member's language for pages and emails (the language switch, the account page)."""
    if actor.user_id is None:
        raise Forbidden()
    if language not in i18n.LANGUAGES:
        message = _("Choose Cymraeg or English")
        raise Invalid(message, fields={"language": message})
    await q.update_language(pool, actor.user_id, language)


async def update_profile(
    pool: asyncpg.Pool, actor: Actor, data: dict[str, object]
) -> asyncpg.Record:
    assert actor.user_id is not None
    f = Fields()
    p = _check_profile(f, data)
    f.raise_if_any()
    return await q.update_profile(pool, actor.user_id, p.name, p.title, p.organisation, p.bio)


async def change_password(ctx: Ctx, actor: Actor, data: dict[str, object]) -> str:
    """Change the password, end every sign-in session and API token (closing their sockets on
    every process once committed), and return a new sign-in for this browser."""
    pool, settings = ctx.pool, ctx.settings
    assert actor.user_id is not None
    f = Fields()
    current = f.text(
        "current_password",
        data.get("current_password"),
        required=N_("Enter current password"),
        too_long=N_("Current password must be %(max)s characters or fewer"),
        strip=False,
        max_len=1024,
    )
    new = f.text(
        "new_password",
        data.get("new_password"),
        required=N_("Enter new password"),
        too_long=N_("New password must be %(max)s characters or fewer"),
        strip=False,
        max_len=128,
    )
    if "new_password" not in f.errors:
        if msg := passwords.problem(new, email=actor.email, name=actor.name):
            f.add("new_password", msg)
    f.raise_if_any()
    stored = await q.fetch_password_hash(pool, actor.user_id)
    if not await passwords.verify_password(stored, current):
        raise Invalid(fields={"current_password": _("Your current password is not right")})
    new_hash = await passwords.hash_password(new)
    token = new_token()
    async with pool.acquire() as con, con.transaction():
        await q.update_password(con, actor.user_id, new_hash)
        await q.delete_logins_of_user(con, actor.user_id)
        # "Signed out everywhere" includes the API tokens (issue #18, finding 4).
        await q.revoke_api_tokens_of_user(con, actor.user_id)
        await q.insert_login(con, actor.user_id, hash_token(token), settings.login_session_days)
    await ctx.hub.disconnect_user(actor.user_id)
    return token


async def create_api_token(pool: asyncpg.Pool, actor: Actor, name: object) -> tuple[str, int]:
    """Create a personal API token; the token itself is shown once and never stored.

    Only a signed-in person mints tokens: a request made with a token cannot make more
    (a leaked token would otherwise outlive its own revocation)."""
    assert actor.user_id is not None
    if actor.via == "token":
        raise Forbidden(
            _("An API token cannot create API tokens. Sign in on the account page to create one.")
        )
    f = Fields()
    name_s = f.text(
        "token_name",
        name,
        required=N_("Enter token name"),
        too_long=N_("Token name must be %(max)s characters or fewer"),
        max_len=100,
    )
    f.raise_if_any()
    token = new_token(API_TOKEN_PREFIX)
    row = await q.insert_api_token(pool, actor.user_id, name_s, hash_token(token))
    return token, row["id"]


async def list_api_tokens(pool: asyncpg.Pool, actor: Actor) -> list[asyncpg.Record]:
    assert actor.user_id is not None
    return await q.list_api_tokens(pool, actor.user_id)


async def revoke_api_token(ctx: Ctx, actor: Actor, token_id: int) -> None:
    """End one of the actor's API tokens; sockets opened with it close on every process."""
    assert actor.user_id is not None
    if await q.revoke_api_token(ctx.pool, token_id, actor.user_id) is None:
        raise NotFound(_("No such token"))
    await evict.tokens(ctx, [token_id])


async def create_user(
    pool: asyncpg.Pool, *, email: str, name: str, password: str, is_admin: bool = False
) -> int:
    """For the command line and the demo: the same rules as registration."""
    return await register(
        pool,
        {"email": email, "name": name, "password": password},
        is_admin=is_admin,
    )
