"""Talking to OpenID Connect providers: discovery, keys, the authorization request, the code
exchange and the ID token's checks.

The checks are Authlib's (its JOSE layer, joserfc, verifies the signature against the
provider's published keys; `authlib.oidc.core.CodeIDToken` checks issuer, audience, expiry,
nonce, azp and at_hash), never our own. HTTP goes through aiohttp (Confer's own client), so
Authlib's httpx-based integrations are not used.

Each process keeps a provider's discovery document and key set for `sso_metadata_seconds`;
an ID token signed with a key id it has not seen fetches the keys again at once (a provider
rotating its keys), at most once every FORCED_REFRESH_SECONDS, so a stream of forged tokens
cannot make Confer hammer the provider.

Failures are `SignInFailed` (confer.sso.errors) with a kind the pages and logs name. Nothing
here logs a code, a token, a state or a nonce.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from confer.keys import settings_key, sso_directory_key
from confer.settings import Settings
from confer.sso.config import Provider
from confer.sso.errors import SignInFailed

log = logging.getLogger(__name__)

FORCED_REFRESH_SECONDS = 30.0
LEEWAY_SECONDS = 120  # clock difference allowed between Confer and the provider
MAX_RESPONSE_BYTES = 1024 * 1024
# Microsoft Entra ID's multi-tenant endpoints ("organizations", "common") publish this
# placeholder in their issuer; each token's issuer names its own tenant.
TENANT_PLACEHOLDER = "{tenantid}"


def new_secret() -> str:
    """A random value for state, nonce and browser binding (Authlib's generator)."""
    return generate_token(43)


class Directory:
    """The providers' discovery documents and keys, per process, and the HTTP session."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session: aiohttp.ClientSession | None = None
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}
        self._forced: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _http(self) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.sso_http_timeout_seconds),
                headers={"User-Agent": "Confer"},
            )
        return self.session

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def _get_json(self, provider: Provider, url: str, what: str) -> dict[str, Any]:
        try:
            async with self._http().get(url, allow_redirects=False) as r:
                if r.status != 200:
                    raise SignInFailed(
                        "down", provider, log_detail=f"{what} at {url} answered HTTP {r.status}"
                    )
                body = await r.content.read(MAX_RESPONSE_BYTES + 1)
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise SignInFailed(
                "down", provider, log_detail=f"{what} at {url}: {type(e).__name__}"
            ) from None
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if len(body) > MAX_RESPONSE_BYTES or not isinstance(data, dict):
            raise SignInFailed("down", provider, log_detail=f"{what} at {url} is not a JSON object")
        return data

    def _lock(self, provider: Provider) -> asyncio.Lock:
        return self._locks.setdefault(provider.id, asyncio.Lock())

    async def metadata(self, provider: Provider) -> dict[str, Any]:
        """The provider's discovery document, checked: its issuer is the one configured."""
        now = time.monotonic()
        kept = self._metadata.get(provider.id)
        if kept and now - kept[0] < self.settings.sso_metadata_seconds:
            return kept[1]
        async with self._lock(provider):
            kept = self._metadata.get(provider.id)
            if kept and now - kept[0] < self.settings.sso_metadata_seconds:
                return kept[1]
            meta = await self._get_json(provider, provider.discovery_url, "discovery document")
            issuer = meta.get("issuer")
            if not isinstance(issuer, str) or not _issuer_matches(provider.issuer, issuer):
                raise SignInFailed(
                    "config",
                    provider,
                    log_detail=f"the discovery document names issuer {issuer!r}, "
                    f"not the configured {provider.issuer!r}",
                )
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(meta.get(key), str):
                    raise SignInFailed(
                        "config", provider, log_detail=f"the discovery document has no {key}"
                    )
            self._metadata[provider.id] = (time.monotonic(), meta)
            return meta

    async def keys(self, provider: Provider, *, force: bool = False) -> KeySet:
        """The provider's signing keys; `force` fetches them again (an unknown key id)."""
        now = time.monotonic()
        kept = self._keys.get(provider.id)
        fresh = kept and now - kept[0] < self.settings.sso_metadata_seconds
        if force and now - self._forced.get(provider.id, -FORCED_REFRESH_SECONDS) < (
            FORCED_REFRESH_SECONDS
        ):
            force = False  # fetched again moments ago: what it had then is what it has
        if kept and fresh and not force:
            return kept[1]
        meta = await self.metadata(provider)
        async with self._lock(provider):
            data = await self._get_json(provider, meta["jwks_uri"], "key set")
            try:
                key_set = KeySet.import_key_set(data)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError):
                raise SignInFailed(
                    "down", provider, log_detail=f"the key set at {meta['jwks_uri']} is not valid"
                ) from None
            self._keys[provider.id] = (time.monotonic(), key_set)
            if force:
                self._forced[provider.id] = time.monotonic()
            return key_set

    async def authorization_url(
        self,
        provider: Provider,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_verifier: str,
        language: str | None,
    ) -> str:
        meta = await self.metadata(provider)
        params = {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": provider.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        if language:
            params["ui_locales"] = language
        endpoint = meta["authorization_endpoint"]
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params, quote_via=quote)

    async def exchange_code(
        self, provider: Provider, *, code: str, code_verifier: str, redirect_uri: str
    ) -> dict[str, Any]:
        """Trade the authorization code for tokens at the token endpoint (client secret by
        HTTP Basic, or in the form where the provider only takes that)."""
        meta = await self.metadata(provider)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        headers = {"Accept": "application/json"}
        if "client_secret_basic" in methods:
            # RFC 6749 2.3.1: each part form-encoded before Basic encoding.
            pair = f"{quote(provider.client_id, safe='')}:{quote(provider.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_id"] = provider.client_id
            form["client_secret"] = provider.client_secret
        url = meta["token_endpoint"]
        try:
            async with self._http().post(
                url, data=form, allow_redirects=False, headers=headers
            ) as r:
                status = r.status
                body = await r.content.read(MAX_RESPONSE_BYTES + 1)
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise SignInFailed(
                "down", provider, log_detail=f"token endpoint {url}: {type(e).__name__}"
            ) from None
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            data = {}
        if status == 200 and data:
            return data
        error = str(data.get("error", ""))[:64]
        if status >= 500 or not error:
            raise SignInFailed(
                "down", provider, log_detail=f"token endpoint {url} answered HTTP {status}"
            )
        if error == "invalid_grant":
            raise SignInFailed(
                "code",
                provider,
                log_detail="the token endpoint refused the code (invalid_grant: used already, "
                "expired, or not issued for this PKCE verifier or redirect URI)",
            )
        raise SignInFailed(
            "config",
            provider,
            log_detail=f"the token endpoint answered HTTP {status} {error}: check client_id, "
            "client secret and the registered redirect URI",
        )

    async def id_token_claims(
        self, provider: Provider, tokens: dict[str, Any], *, nonce: str
    ) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce are
        checked; SignInFailed naming which check failed otherwise."""
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise SignInFailed("token", provider, log_detail="the token response has no id_token")
        meta = await self.metadata(provider)
        algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
        try:
            try:
                token = jwt.decode(id_token, await self.keys(provider), registry=registry)
            except InvalidKeyIdError:
                keys = await self.keys(provider, force=True)
                token = jwt.decode(id_token, keys, registry=registry)
        except InvalidKeyIdError:
            raise SignInFailed(
                "signature",
                provider,
                log_detail="the ID token is signed with a key the provider does not publish",
            ) from None
        except BadSignatureError:
            raise SignInFailed(
                "signature",
                provider,
                log_detail="the ID token's signature does not match the provider's published key",
            ) from None
        except (JoseError, ValueError, TypeError):
            raise SignInFailed(
                "token", provider, log_detail="the ID token could not be read"
            ) from None
        claims = token.claims
        issuer = provider.issuer
        published = meta["issuer"]
        if TENANT_PLACEHOLDER in published:
            issuer = published.replace(TENANT_PLACEHOLDER, str(claims.get("tid", "")))
        params: dict[str, Any] = {"nonce": nonce, "client_id": provider.client_id}
        if isinstance(tokens.get("access_token"), str):
            params["access_token"] = tokens["access_token"]
        checked = CodeIDToken(
            claims,
            token.header,
            {
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": provider.client_id},
                "sub": {"essential": True},
            },
            params,
        )
        try:
            checked.validate(leeway=LEEWAY_SECONDS)
        except ExpiredTokenError:
            raise SignInFailed("expired", provider, log_detail="the ID token has expired") from None
        except (InvalidClaimError, MissingClaimError) as e:
            claim = getattr(e, "claim", "") or str(e)
            kind = {"iss": "issuer", "aud": "audience", "azp": "audience", "nonce": "nonce"}.get(
                claim, "token"
            )
            detail = f"the ID token's {claim} claim is not valid"
            if kind == "issuer":
                detail = f"the ID token's issuer is {claims.get('iss')!r}, not {issuer!r}"
            elif kind == "audience":
                detail = (
                    f"the ID token is for {claims.get('aud')!r}, not client_id "
                    f"{provider.client_id!r}"
                )
            raise SignInFailed(kind, provider, log_detail=detail) from None
        except JoseError as e:
            raise SignInFailed(
                "token", provider, log_detail=f"the ID token failed a check ({type(e).__name__})"
            ) from None
        return dict(checked)


def _issuer_matches(configured: str, published: str) -> bool:
    if published == configured or published.rstrip("/") == configured.rstrip("/"):
        return True
    # Entra ID's multi-tenant endpoints: configured .../organizations/v2.0 publishes
    # .../{tenantid}/v2.0.
    if TENANT_PLACEHOLDER in published:
        head, _, tail = published.partition(TENANT_PLACEHOLDER)
        return configured.startswith(head) and configured.rstrip("/").endswith(tail.rstrip("/"))
    return False


async def directory_ctx(app: web.Application) -> AsyncIterator[None]:
    """The providers' directory for this process; its HTTP session closes with the app."""
    directory = Directory(app[settings_key])
    app[sso_directory_key] = directory
    yield
    await directory.close()
