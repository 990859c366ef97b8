"""Sign-in with an OpenID Connect provider: starting it, finishing it, linked identities, and
conferences' join rules that trust what a provider vouches for.

An identity (issuer + subject) is linked to an account in exactly three ways:
- the first sign-in with a verified email no account has: a new account, in one transaction
  with its identity and its sign-in;
- a member already signed in here links it (from their account page, or signing in with a
  provider whose verified email is their own);
- a verified email that belongs to an existing account, not signed in: nothing is linked
  until that account proves itself (signs in by password or emailed link in the same
  browser) and confirms. Controlling a provider is never enough to enter someone's account.

Every failure is a SignInFailed (confer.sso.errors) and one log line naming the provider, the
kind and what an operator can check; never a code, token, state or nonce.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from confer import i18n
from confer.accounts import queries as accounts_q
from confer.accounts.service import hash_token, new_token
from confer.context import Ctx
from confer.errors import Forbidden, NotFound, Unauthorized
from confer.i18n import _
from confer.policy import Actor
from confer.sso import queries as q
from confer.sso.client import Directory, new_secret
from confer.sso.config import DOMAIN_PATTERN, TENANT_PATTERN, Provider
from confer.sso.errors import SignInFailed
from confer.urls import url
from confer.validate import Fields

log = logging.getLogger(__name__)

MAX_QUERY_VALUE = 2048


def provider_or_404(ctx: Ctx, provider_id: str) -> Provider:
    provider = ctx.settings.provider(provider_id)
    if provider is None:
        raise NotFound(_("There is no such way to sign in."))
    return provider


def redirect_uri(ctx: Ctx, provider: Provider) -> str:
    """Where the provider sends the browser back: register exactly this with the provider."""
    return ctx.settings.base_url + url("sso_callback", provider=provider.id)


@dataclass(frozen=True)
class Started:
    url: str  # the provider's authorization page, with state, nonce and PKCE challenge
    browser_secret: str  # for the HttpOnly cookie that binds the sign-in to this browser


async def begin(
    ctx: Ctx,
    directory: Directory,
    provider_id: str,
    *,
    actor: Actor,
    next_path: str,
    link: bool = False,
    browser_secret: str | None = None,
) -> Started:
    """Start a sign-in (or, `link`, a signed-in member linking a provider to their account)."""
    provider = provider_or_404(ctx, provider_id)
    if link and (actor.user_id is None or actor.via != "cookie"):
        raise Unauthorized(_("Sign in to do that."))
    state, nonce, verifier = new_secret(), new_secret(), new_secret()
    browser = browser_secret if browser_secret and len(browser_secret) <= 100 else new_secret()
    try:
        where = await directory.authorization_url(
            provider,
            redirect_uri=redirect_uri(ctx, provider),
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            language=i18n.lang() if i18n.lang() in i18n.LANGUAGES else None,
        )
    except SignInFailed as e:
        _log_failure(e)
        raise
    async with ctx.pool.acquire() as con, con.transaction():
        await q.delete_old_flows(con)
        await q.insert_flow(
            con, hash_token(state), hash_token(browser), provider.id, nonce, verifier, next_path,
            actor.user_id if link else None, ctx.settings.sso_flow_seconds,
        )  # fmt: skip
    return Started(where, browser)


@dataclass(frozen=True)
class Finished:
    """What a finished sign-in did."""

    outcome: str  # signed_in | created | linked | needs_proof
    provider: Provider
    next_path: str
    user_id: int | None = None
    login_token: str | None = None  # a new sign-in for this browser
    pending_token: str | None = None  # needs_proof: the cookie naming the waiting link
    email: str = ""


@dataclass(frozen=True)
class Vouched:
    """What the provider vouched for, once every check has passed."""

    issuer: str
    subject: str
    email: str
    name: str
    tenant: str


def _log_failure(e: SignInFailed) -> None:
    level = logging.ERROR if e.kind in ("config", "down") else logging.WARNING
    log.log(level, "sign-in with provider %s failed (%s): %s", e.provider_id, e.kind, e.log_detail)


def _query_value(query: Mapping[str, str], name: str) -> str:
    value = query.get(name) or ""
    return value if len(value) <= MAX_QUERY_VALUE else ""


async def finish(
    ctx: Ctx,
    directory: Directory,
    provider_id: str,
    query: Mapping[str, str],
    *,
    browser_secret: str | None,
    actor: Actor,
) -> Finished:
    """The provider has sent the browser back: check everything, then sign in, create the
    account, link, or set a link aside until the existing account proves itself."""
    provider = provider_or_404(ctx, provider_id)
    try:
        return await _finish(ctx, directory, provider, query, browser_secret, actor)
    except SignInFailed as e:
        _log_failure(e)
        raise


async def _finish(
    ctx: Ctx,
    directory: Directory,
    provider: Provider,
    query: Mapping[str, str],
    browser_secret: str | None,
    actor: Actor,
) -> Finished:
    state = _query_value(query, "state")
    if not state:
        raise SignInFailed("state", provider, log_detail="the provider sent no state back")
    flow = await q.take_flow(ctx.pool, hash_token(state))
    if flow is None:
        raise SignInFailed("state", provider, log_detail="unknown or already used state")
    if not browser_secret or not hmac.compare_digest(
        flow["browser_hash"], hash_token(browser_secret)
    ):
        raise SignInFailed("state", provider, log_detail="the state was started in another browser")
    if flow["provider"] != provider.id:
        raise SignInFailed(
            "state", provider, log_detail=f"the state was started for {flow['provider']}"
        )
    if flow["expired"]:
        raise SignInFailed("flow_expired", provider, log_detail="the sign-in took too long")
    if error := _query_value(query, "error"):
        safe = "".join(c for c in error[:64] if c.isalnum() or c in "_-.")
        raise SignInFailed("cancelled", provider, log_detail=f"the provider answered {safe}")
    code = _query_value(query, "code")
    if not code:
        raise SignInFailed("cancelled", provider, log_detail="the provider sent no code")
    tokens = await directory.exchange_code(
        provider, code=code, code_verifier=flow["code_verifier"],
        redirect_uri=redirect_uri(ctx, provider),
    )  # fmt: skip
    claims = await directory.id_token_claims(provider, tokens, nonce=flow["nonce"])
    vouched = _vouched(provider, claims)
    link_user_id = flow["link_user_id"]
    if link_user_id is not None and actor.user_id != link_user_id:
        raise SignInFailed(
            "state", provider, log_detail="the member who started linking is no longer signed in"
        )
    return await _settle(ctx, provider, vouched, flow["next_path"], link_user_id, actor)


def _vouched(provider: Provider, claims: dict[str, Any]) -> Vouched:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise SignInFailed("no_email", provider, log_detail="the ID token has no email claim")
    # email_verified (OpenID Connect); Entra ID sends none, but its optional claim xms_edov
    # says the tenant owns the email's domain (docs/deploy.md).
    verified = claims.get("email_verified") in (True, "true") or claims.get("xms_edov") in (
        True,
        "true",
        "1",
        1,
    )
    if not verified:
        raise SignInFailed(
            "unverified", provider, log_detail="the ID token does not say the email is verified"
        )
    domain = email.rsplit("@", 1)[1].lower()
    if provider.domains and domain not in provider.domains:
        raise SignInFailed(
            "domain",
            provider,
            domain=domain,
            log_detail=f"email domain {domain} is not one of the allowed domains "
            f"({', '.join(provider.domains)})",
        )
    tenant = claims.get("tid")
    tenant = tenant if isinstance(tenant, str) and TENANT_PATTERN.match(tenant) else ""
    if provider.tenants and tenant not in provider.tenants:
        raise SignInFailed(
            "tenant",
            provider,
            log_detail=f"tenant {tenant or '(none)'} is not one of the allowed tenants "
            f"({', '.join(provider.tenants)})",
        )
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str) and p.strip())
    name = " ".join(str(name).split())[:100] or email.split("@", 1)[0][:100]
    return Vouched(str(claims["iss"]), str(claims["sub"]), email, name, tenant)


async def _settle(
    ctx: Ctx,
    provider: Provider,
    v: Vouched,
    next_path: str,
    link_user_id: int | None,
    actor: Actor,
) -> Finished:
    """One transaction: whatever the outcome, nothing is left half-made."""
    days = ctx.settings.login_session_days
    async with ctx.pool.acquire() as con, con.transaction():
        # One finish at a time per identity: two tabs coming back at once make one account.
        key = f"sso:{v.issuer}|{v.subject}"
        await con.execute("SELECT pg_advisory_xact_lock(hashtext($1))", key)
        existing = await q.fetch_identity(con, v.issuer, v.subject)
        if link_user_id is not None:
            if existing is not None and existing["user_id"] != link_user_id:
                raise SignInFailed(
                    "linked_elsewhere", provider,
                    log_detail=f"subject already linked to account {existing['user_id']}",
                )  # fmt: skip
            if existing is None:
                await _link(con, link_user_id, provider, v)
            else:
                await q.touch_identity(con, existing["id"], v.email, v.tenant)
            log.info("provider %s linked to account %s", provider.id, link_user_id)
            return Finished("linked", provider, url("account"), link_user_id, email=v.email)
        if existing is not None:
            await q.touch_identity(con, existing["id"], v.email, v.tenant)
            token = new_token()
            await accounts_q.insert_login(con, existing["user_id"], hash_token(token), days)
            return Finished("signed_in", provider, next_path, existing["user_id"], token)
        user = await q.fetch_user_by_email(con, v.email)
        if user is None:
            language = i18n.lang() if i18n.lang() in i18n.LANGUAGES else None
            row = await accounts_q.insert_user(con, v.email, v.name, "", "", None, False, language)
            await _link(con, row["id"], provider, v)
            token = new_token()
            await accounts_q.insert_login(con, row["id"], hash_token(token), days)
            log.info("provider %s created account %s", provider.id, row["id"])
            return Finished("created", provider, next_path, row["id"], token, email=v.email)
        if actor.user_id == user["id"] and actor.via == "cookie":
            # Signed in here already, as the account with this very email: it has proved itself.
            await _link(con, user["id"], provider, v)
            log.info("provider %s linked to account %s", provider.id, user["id"])
            return Finished("linked", provider, next_path, user["id"], email=v.email)
        pending = new_token()
        await q.insert_pending_link(
            con, hash_token(pending), user["id"], provider.id, v.issuer, v.subject, v.email,
            v.tenant, next_path, ctx.settings.sso_pending_link_seconds,
        )  # fmt: skip
        log.info(
            "provider %s: an account with this email exists (%s); waiting for it to sign in "
            "before linking",
            provider.id,
            user["id"],
        )
        return Finished("needs_proof", provider, next_path, pending_token=pending, email=v.email)


async def _link(con: asyncpg.Connection, user_id: int, provider: Provider, v: Vouched) -> None:
    await q.insert_identity(con, user_id, provider.id, v.issuer, v.subject, v.email, v.tenant)


# --- an identity waiting for its account to prove itself ---------------------------------


@dataclass(frozen=True)
class PendingLink:
    provider: Provider
    email: str  # the account's (and the provider's verified) email
    user_id: int
    next_path: str


async def pending_link(ctx: Ctx, token: str | None) -> PendingLink | None:
    """The link waiting in this browser, if any and still valid."""
    if not token or len(token) > 64:
        return None
    row = await q.fetch_pending_link(ctx.pool, hash_token(token))
    if row is None:
        return None
    provider = ctx.settings.provider(row["provider"])
    if provider is None:
        return None
    return PendingLink(provider, row["account_email"], row["user_id"], row["next_path"])


async def confirm_pending_link(ctx: Ctx, actor: Actor, token: str | None) -> PendingLink:
    """The account has signed in (by password or emailed link) in this browser: link the
    identity to it. Only the account the link waits for can confirm it."""
    if actor.user_id is None or actor.via != "cookie":
        raise Unauthorized(_("Sign in to do that."))
    if not token or len(token) > 64:
        raise NotFound(_("There is no sign-in waiting to be linked. Start again."))
    async with ctx.pool.acquire() as con, con.transaction():
        row = await q.take_pending_link(con, hash_token(token))
        if row is None:
            raise NotFound(_("There is no sign-in waiting to be linked. Start again."))
        provider = ctx.settings.provider(row["provider"])
        if provider is None:
            raise NotFound(_("There is no such way to sign in."))
        if row["user_id"] != actor.user_id:
            raise Forbidden(
                _(
                    "This sign-in can only be linked to the account with its email address. "
                    "Sign out, then sign in to that account."
                )
            )
        existing = await q.fetch_identity(con, row["issuer"], row["subject"])
        if existing is not None and existing["user_id"] != actor.user_id:
            raise SignInFailed("linked_elsewhere", provider)
        if existing is None:
            await q.insert_identity(
                con, actor.user_id, provider.id, row["issuer"], row["subject"], row["email"],
                row["tenant"],
            )  # fmt: skip
    log.info("provider %s linked to account %s after it signed in", provider.id, actor.user_id)
    return PendingLink(provider, row["email"], actor.user_id, row["next_path"])


# --- the account page ------------------------------------------------------------------


async def list_identities(ctx: Ctx, actor: Actor) -> list[dict[str, Any]]:
    """The member's linked sign-ins, each with its provider's name (or id, if the operator
    has since removed the provider)."""
    if actor.user_id is None:
        raise Unauthorized(_("Sign in to do that."))
    out = []
    for row in await q.list_identities(ctx.pool, actor.user_id):
        provider = ctx.settings.provider(row["provider"])
        label = provider.label(i18n.lang()) if provider else row["provider"]
        out.append(dict(row) | {"provider_name": label})
    return out


async def remove_identity(ctx: Ctx, actor: Actor, identity_id: int) -> None:
    """Unlink one of the member's sign-ins: it no longer signs in to this account."""
    if actor.user_id is None or actor.via != "cookie":
        raise Unauthorized(_("Sign in to do that."))
    if await q.delete_identity(ctx.pool, identity_id, actor.user_id) is None:
        raise NotFound(_("There is no such linked sign-in on your account."))


# --- conferences: who may join without approval ------------------------------------------

MAX_RULES = 50


@dataclass(frozen=True)
class JoinRules:
    domains: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()


def _split(raw: object) -> list[str]:
    if isinstance(raw, list):
        raw = " ".join(str(x) for x in raw)
    text = raw if isinstance(raw, str) else ""
    return [p for p in text.replace(",", " ").replace(";", " ").split() if p]


def check_join_rules(
    f: Fields, data: Mapping[str, object], current: Mapping[str, Any] | None
) -> JoinRules | None:
    """The form's join rules; None when the form has neither field (the JSON API's update
    leaves them as they are)."""
    if "sso_join_domains" not in data and "sso_join_tenants" not in data:
        return None
    domains: list[str] = []
    for d in _split(data.get("sso_join_domains")):
        d = d.lower().lstrip("@")
        if not DOMAIN_PATTERN.match(d):
            f.add(
                "sso_join_domains",
                _("“%(domain)s” is not an email domain. Enter domains like somecouncil.gov.uk")
                % {"domain": d[:100]},
            )
            break
        if d not in domains:
            domains.append(d)
    tenants: list[str] = []
    for t in _split(data.get("sso_join_tenants")):
        if not TENANT_PATTERN.match(t):
            f.add(
                "sso_join_tenants",
                _("“%(tenant)s” is not a tenant ID. Copy it from your Entra admin centre")
                % {"tenant": t[:100]},
            )
            break
        if t not in tenants:
            tenants.append(t)
    if len(domains) > MAX_RULES:
        f.add("sso_join_domains", _("Enter at most %(max)s domains") % {"max": MAX_RULES})
    if len(tenants) > MAX_RULES:
        f.add("sso_join_tenants", _("Enter at most %(max)s tenant IDs") % {"max": MAX_RULES})
    return JoinRules(tuple(domains), tuple(tenants))


async def save_join_rules(
    con: asyncpg.Connection, conference_id: int, rules: JoinRules | None
) -> None:
    """Inside the conference editor's transaction; None changes nothing."""
    if rules is not None:
        await q.update_join_rules(con, conference_id, list(rules.domains), list(rules.tenants))


async def vouched_for(con: asyncpg.Connection, conference_id: int, user_id: int) -> bool:
    """Whether the conference's join rules let this member in without approval."""
    return await q.member_vouched_for(con, conference_id, user_id)
