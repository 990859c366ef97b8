"""Settings: read once from the environment into a frozen dataclass.

Nothing else in Confer reads os.environ for configuration.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from confer.sso.config import Provider, ProviderConfigError, parse_providers


@dataclass(frozen=True)
class Settings:
    # Secrets, and URLs that may hold a password, stay out of repr() (and so out of any log).
    database_url: str | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    base_url: str = "http://127.0.0.1:8080"
    smtp_url: str | None = field(default=None, repr=False)
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8080
    # Limits
    post_max_chars: int = 20_000
    title_max_chars: int = 200
    request_max_bytes: int = 1024 * 1024
    posts_per_page: int = 50
    edit_window_seconds: int = 15 * 60
    # How long the author of a deleted post can undo the deletion (issue #23).
    undo_delete_seconds: int = 10 * 60
    # Failed sign-ins per account *from one address* (a stranger elsewhere cannot use them to
    # lock the owner out of their own device), per address for any account, and the number of
    # different addresses failing for one account (one address alone can never trip it).
    login_max_failures: int = 5
    # Councils put many staff behind one address, so the per-address limit is looser.
    login_max_failures_per_address: int = 20
    login_max_addresses_per_account: int = 10
    login_window_seconds: int = 15 * 60
    login_session_days: int = 30
    pool_max_size: int = 20
    # SHUTDOWN_DRAIN (seconds, confer.serving): after SIGTERM, how long open connections are
    # still served (each answer says `Connection: close`) before they are closed. Above
    # nginx's upstream `keepalive_timeout` (4 s in docs/deploy/nginx-site.conf); 0: none.
    shutdown_drain: float = 5.0
    # RATE_LIMITS (see confer.ratelimit): "" keeps the defaults, "off" turns them all off.
    rate_limits: str = ""
    # TRUSTED_PROXIES: addresses of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: tuple[str, ...] = ()
    # Logs (confer.observe): LOG_LEVEL (DEBUG … CRITICAL) and LOG_FORMAT (text or json).
    log_level: str = "INFO"
    log_format: str = "text"
    # METRICS_ALLOW: the connecting addresses (never X-Forwarded-For) /metrics answers.
    metrics_allow: tuple[str, ...] = ("127.0.0.0/8", "::1")
    # Email (confer.mail): the sender's retries, and emailed links and their throttle.
    mail_from: str = "Confer <confer@localhost>"
    mail_max_attempts: int = 10
    mail_backoff_seconds: float = 60.0  # doubles after each temporary failure
    mail_backoff_max_seconds: float = 3600.0
    mail_poll_seconds: float = 5.0  # a fallback: a NOTIFY on insert wakes the sender
    # A claim older than this belongs to a sender that died (a live send is far shorter).
    mail_claim_stale_seconds: float = 600.0
    password_reset_seconds: int = 60 * 60
    sign_in_link_seconds: int = 15 * 60
    email_link_max_per_email: int = 3
    email_link_max_per_address: int = 20
    email_link_window_seconds: int = 15 * 60
    # PSEUDO_LOCALE=1 offers the pseudo-locale (confer.i18n.PSEUDO) at /language/qps: every
    # message accented and marked, so that text that missed the catalogues stands out.
    pseudo_locale: bool = False
    # The footer's links (issue #22): ACCESSIBILITY_URL (empty: /accessibility, the statement
    # in docs/accessibility.md), PRIVACY_URL and CONTACT (an email address or a web address;
    # empty: no link).
    accessibility_url: str = ""
    privacy_url: str = ""
    contact: str = ""
    # OIDC_PROVIDERS (confer.sso.config): sign-in with OpenID Connect providers; how long a
    # started sign-in may take, and how long an unproved account link waits for its account.
    oidc_providers: tuple[Provider, ...] = ()
    sso_flow_seconds: int = 10 * 60
    sso_pending_link_seconds: int = 30 * 60
    # How long a provider's discovery document and keys are kept before they are fetched
    # again (an unknown key id fetches the keys at once: a provider rotating its keys).
    sso_metadata_seconds: int = 60 * 60
    sso_http_timeout_seconds: float = 10.0

    def provider(self, provider_id: str) -> Provider | None:
        return next((p for p in self.oidc_providers if p.id == provider_id), None)

    # Files (confer.files, issue #25). CLAMD_SOCKET: clamd's unix socket (/run/clamav/clamd.ctl)
    # or host:port; unset, files are served unscanned with a note to organisers (the demo).
    clamd_socket: str | None = None
    clamd_timeout_seconds: float = 120.0
    # How often files left waiting by an unreachable scanner are tried again.
    files_scan_retry_seconds: float = 30.0
    # FILE_MAX_MB: one file; IMAGE_MAX_MB: one image (re-encoded in memory, so smaller).
    file_max_bytes: int = 50 * 1024 * 1024
    image_max_bytes: int = 10 * 1024 * 1024
    # FILES_MEMBER_QUOTA_MB and FILES_CONFERENCE_QUOTA_MB: all of one member's files in one
    # conference, and all of a conference's files.
    files_member_quota_bytes: int = 200 * 1024 * 1024
    files_conference_quota_bytes: int = 5 * 1024 * 1024 * 1024

    @property
    def post_file_max_mb_limit(self) -> int:
        """The largest "largest file in a post" an organiser may choose, in MB (1 to 1000):
        the site's file limit (FILE_MAX_MB)."""
        return max(1, min(1000, self.file_max_bytes // (1024 * 1024)))

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        s = cls()
        secret = env.get("SECRET_KEY")
        data_dir = Path(env.get("CONFER_DATA_DIR", "var"))
        if not secret:
            secret = _persistent_secret(data_dir)
        port = int(env.get("PORT", "8080"))
        return replace(
            s,
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            secret_key=secret,
            base_url=env.get("BASE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            smtp_url=env.get("SMTP_URL") or None,
            rate_limits=env.get("RATE_LIMITS", ""),
            shutdown_drain=_seconds("SHUTDOWN_DRAIN", env.get("SHUTDOWN_DRAIN", ""), 5.0),
            # Reset and sign-in links asked for, per email and per address (confer.accounts.links).
            email_link_max_per_email=int(env.get("EMAIL_LINK_MAX_PER_EMAIL", "3")),
            email_link_max_per_address=int(env.get("EMAIL_LINK_MAX_PER_ADDRESS", "20")),
            trusted_proxies=tuple(
                p.strip() for p in env.get("TRUSTED_PROXIES", "").split(",") if p.strip()
            ),
            mail_from=env.get("MAIL_FROM") or s.mail_from,
            log_level=_log_level(env.get("LOG_LEVEL", "")),
            log_format=_log_format(env.get("LOG_FORMAT", "")),
            metrics_allow=_networks("METRICS_ALLOW", env.get("METRICS_ALLOW"), s.metrics_allow),
            data_dir=data_dir,
            port=port,
            pseudo_locale=env.get("PSEUDO_LOCALE", "").strip().lower() in ("1", "true", "yes"),
            accessibility_url=_link("ACCESSIBILITY_URL", env.get("ACCESSIBILITY_URL", "")),
            privacy_url=_link("PRIVACY_URL", env.get("PRIVACY_URL", "")),
            contact=_contact(env.get("CONTACT", "")),
            oidc_providers=_providers(env),
            clamd_socket=env.get("CLAMD_SOCKET", "").strip() or None,
            file_max_bytes=_megabytes("FILE_MAX_MB", env, s.file_max_bytes),
            image_max_bytes=_megabytes("IMAGE_MAX_MB", env, s.image_max_bytes),
            files_member_quota_bytes=_megabytes(
                "FILES_MEMBER_QUOTA_MB", env, s.files_member_quota_bytes
            ),
            files_conference_quota_bytes=_megabytes(
                "FILES_CONFERENCE_QUOTA_MB", env, s.files_conference_quota_bytes
            ),
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback_url(url: str) -> bool:
    """True if the address names this machine only (127.0.0.1, localhost or ::1)."""
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


class SettingError(ValueError):
    """A setting's value is not one Confer can use; the message names the setting."""


def _seconds(name: str, raw: str, default: float) -> float:
    """A number of seconds, 0 or more ("" keeps the default)."""
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{name} must be a number of seconds, such as 5") from None
    if not 0 <= value <= 600:
        raise SettingError(f"{name} must be between 0 and 600 seconds")
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _link(name: str, raw: str) -> str:
    """A footer link: an https:// or http:// address, or a path on this site ("/privacy")."""
    value = raw.strip()
    if value and not (value.startswith(("https://", "http://")) or value.startswith("/")):
        raise SettingError(f"{name} must be a web address (https://...) or a path (/...)")
    return value


def _contact(raw: str) -> str:
    """CONTACT: an email address (the footer links to mailto:) or a web address."""
    value = raw.strip()
    if value and "@" not in value:
        return _link("CONTACT", value)
    return value


def _log_level(raw: str) -> str:
    level = raw.strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise SettingError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {raw!r}")
    return level


def _log_format(raw: str) -> str:
    fmt = raw.strip().lower() or "text"
    if fmt not in ("text", "json"):
        raise SettingError(f"LOG_FORMAT must be text or json, not {raw!r}")
    return fmt


def _providers(env: dict[str, str]) -> tuple[Provider, ...]:
    try:
        return parse_providers(env.get("OIDC_PROVIDERS"), env)
    except ProviderConfigError as e:
        raise SettingError(str(e)) from None


def _megabytes(name: str, env: dict[str, str], default: int) -> int:
    """A size in whole megabytes (MiB); unset keeps the default."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingError(f"{name} must be a whole number of megabytes, at least 1, not {raw!r}")
    return int(raw) * 1024 * 1024


def _networks(name: str, raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated addresses or networks, each checked; unset keeps the default."""
    if raw is None:
        return default
    items = tuple(p.strip() for p in raw.split(",") if p.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingError(
                f"{name} must list addresses or networks such as 127.0.0.1 or 10.0.0.0/8, "
                f"not {item!r}"
            ) from None
    return items


def _persistent_secret(data_dir: Path) -> str:
    """Without SECRET_KEY, keep one in the data folder so sign-ins survive restarts."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret)
        return secret
