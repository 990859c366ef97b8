"""The sign-in providers an operator configures (OIDC_PROVIDERS), read once into Settings.

Imports nothing from Confer: confer.settings reads it. A provider's client secret stays out
of every repr (and so out of every log line).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,100}$")
DEFAULT_SCOPES = "openid email profile"


class ProviderConfigError(ValueError):
    """OIDC_PROVIDERS cannot be used as written; the message names the entry and the field."""


@dataclass(frozen=True)
class Provider:
    """One OpenID Connect provider, as the operator configured it."""

    id: str  # in addresses: /login/sso/<id>
    name: str  # on the button: "Sign in with <name>"
    issuer: str  # its discovery document is at <issuer>/.well-known/openid-configuration
    client_id: str
    client_secret: str = field(default="", repr=False)
    # Who may sign in with it: emails at these domains (empty: any), and (Microsoft Entra
    # ID) accounts of these tenants, by the `tid` claim (empty: any).
    domains: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()
    scopes: str = DEFAULT_SCOPES
    name_cy: str = ""  # the button's name in Welsh, if it differs

    def label(self, language: str | None) -> str:
        return self.name_cy if language == "cy" and self.name_cy else self.name

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def _strings(entry: str, key: str, value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProviderConfigError(f"OIDC_PROVIDERS {entry}: {key} must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def parse_providers(raw: str | None, env: dict[str, str]) -> tuple[Provider, ...]:
    """OIDC_PROVIDERS: a JSON list of objects with `id`, `name`, `issuer`, `client_id`,
    `client_secret` (or the environment variable OIDC_SECRET_<ID>, upper case with _ for -),
    and optionally `domains`, `tenants`, `scopes` and `name_cy`. Unset or empty: none."""
    if raw is None or not raw.strip():
        return ()
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ProviderConfigError(f"OIDC_PROVIDERS is not valid JSON: {e.msg}") from None
    if not isinstance(items, list):
        raise ProviderConfigError("OIDC_PROVIDERS must be a JSON list of providers")
    out: list[Provider] = []
    seen: set[str] = set()
    for n, item in enumerate(items, 1):
        where = f"entry {n}"
        if not isinstance(item, dict):
            raise ProviderConfigError(f"OIDC_PROVIDERS {where} must be an object")
        pid = item.get("id")
        if not isinstance(pid, str) or not ID_PATTERN.match(pid):
            raise ProviderConfigError(
                f"OIDC_PROVIDERS {where}: id must be 1 to 32 lower-case letters, digits or -"
            )
        where = f"{pid!r}"
        if pid in seen:
            raise ProviderConfigError(f"OIDC_PROVIDERS {where} is listed twice")
        seen.add(pid)
        for key in ("name", "issuer", "client_id"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise ProviderConfigError(f"OIDC_PROVIDERS {where}: {key} is required")
        issuer = item["issuer"].strip()
        parts = urlsplit(issuer)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ProviderConfigError(f"OIDC_PROVIDERS {where}: issuer must be an https:// URL")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ProviderConfigError(
                f"OIDC_PROVIDERS {where}: issuer must be https:// (http only on this machine)"
            )
        secret_var = "OIDC_SECRET_" + pid.upper().replace("-", "_")
        secret = env.get(secret_var) or item.get("client_secret") or ""
        if not isinstance(secret, str) or not secret:
            raise ProviderConfigError(
                f"OIDC_PROVIDERS {where}: give client_secret, or set {secret_var}"
            )
        domains = [d.lower() for d in _strings(where, "domains", item.get("domains"))]
        for d in domains:
            if not DOMAIN_PATTERN.match(d):
                raise ProviderConfigError(f"OIDC_PROVIDERS {where}: {d!r} is not a domain")
        tenants = _strings(where, "tenants", item.get("tenants"))
        for t in tenants:
            if not TENANT_PATTERN.match(t):
                raise ProviderConfigError(f"OIDC_PROVIDERS {where}: {t!r} is not a tenant id")
        scopes = item.get("scopes") or DEFAULT_SCOPES
        if not isinstance(scopes, str) or "openid" not in scopes.split():
            raise ProviderConfigError(f"OIDC_PROVIDERS {where}: scopes must include openid")
        name_cy = item.get("name_cy") or ""
        out.append(
            Provider(
                id=pid,
                name=item["name"].strip(),
                issuer=issuer,
                client_id=item["client_id"].strip(),
                client_secret=secret,
                domains=tuple(domains),
                tenants=tuple(tenants),
                scopes=scopes,
                name_cy=name_cy.strip() if isinstance(name_cy, str) else "",
            )
        )
    return tuple(out)
