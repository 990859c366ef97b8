"""Settings: read once from the environment into a frozen dataclass.

Nothing else in Confer reads os.environ for configuration.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    base_url: str = "http://127.0.0.1:8080"
    smtp_url: str | None = None
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8080
    # Limits
    post_max_chars: int = 20_000
    title_max_chars: int = 200
    request_max_bytes: int = 1024 * 1024
    posts_per_page: int = 50
    edit_window_seconds: int = 15 * 60
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
    # RATE_LIMITS (see confer.ratelimit): "" keeps the defaults, "off" turns them all off.
    rate_limits: str = ""
    # TRUSTED_PROXIES: addresses of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: tuple[str, ...] = ()
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
            # Reset and sign-in links asked for, per email and per address (confer.accounts.links).
            email_link_max_per_email=int(env.get("EMAIL_LINK_MAX_PER_EMAIL", "3")),
            email_link_max_per_address=int(env.get("EMAIL_LINK_MAX_PER_ADDRESS", "20")),
            trusted_proxies=tuple(
                p.strip() for p in env.get("TRUSTED_PROXIES", "").split(",") if p.strip()
            ),
            mail_from=env.get("MAIL_FROM") or s.mail_from,
            data_dir=data_dir,
            port=port,
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback_url(url: str) -> bool:
    """True if the address names this machine only (127.0.0.1, localhost or ::1)."""
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


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
