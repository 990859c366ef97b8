"""How an email leaves Confer: over SMTP (aiosmtplib); or, when SMTP_URL is unset, it does not
(it stays in the outbox, and the log says so).

A transport reports every failure as a `DeliveryError` that says whether it is permanent and
whether the mail server may have the message; it never touches the database. Before DATA it
calls `before_data()`, which the sender uses to record (and commit) that the message may now
reach the server.

SMTP_URL forms:
    smtp://host:25                      plain SMTP; STARTTLS if the server offers it
    smtp://user:pass@host:587?starttls=required
                                        insist on STARTTLS (refuse to send without it)
    smtp://host:25?starttls=no          never STARTTLS (a relay on the same machine)
    smtps://user:pass@host:465          implicit TLS
Options: `timeout=SECONDS` (each SMTP step; default 30). Percent-encode special characters
in the user name and password (`@` as %40).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from aiosmtplib.email import flatten_message

from confer.settings import SettingError

log = logging.getLogger("confer.mail")

BeforeData = Callable[[], Awaitable[bool]]


class DeliveryError(Exception):
    """A failed delivery. `maybe_delivered`: the connection broke after the message was
    handed over and before the server answered, so it may have arrived. `server_trouble`:
    the failure is about the server or the connection, not this email, so the next email
    would most likely fail the same way."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        maybe_delivered: bool = False,
        server_trouble: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.maybe_delivered = maybe_delivered
        self.server_trouble = server_trouble


class ClaimLost(Exception):
    """The sender's claim on the row was taken over before DATA; nothing was sent."""


@dataclass(frozen=True)
class SmtpConfig:
    hostname: str
    port: int | None
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None
    timeout: float

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """The settings in SMTP_URL; SettingError (a ValueError) says what is wrong with it,
        never repeating the URL (it may hold a password)."""
        try:
            parts = urlsplit(url.strip())
        except ValueError as e:  # e.g. an unbalanced [ in the host
            raise SettingError(f"SMTP_URL is not a valid URL ({e})") from None
        if parts.scheme not in ("smtp", "smtps"):
            raise SettingError("SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise SettingError("SMTP_URL must name a host, as in smtp://mail.example.org:587")
        try:
            port = parts.port
        except ValueError:
            raise SettingError(
                "SMTP_URL's port must be a number from 1 to 65535, as in smtp://host:587"
            ) from None
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        starttls_option = query.get("starttls", "").lower()
        start_tls: bool | None = None  # aiosmtplib: upgrade when the server offers it
        if starttls_option in ("1", "yes", "true", "required", "require"):
            start_tls = True
        elif starttls_option in ("0", "no", "false", "off", "never"):
            start_tls = False
        elif starttls_option:
            raise SettingError("SMTP_URL's starttls must be required or no")
        try:
            timeout = float(query.get("timeout", "30"))
        except ValueError:
            timeout = -1.0
        if not 0 < timeout < float("inf"):
            raise SettingError("SMTP_URL's timeout must be a number of seconds, as in timeout=30")
        use_tls = parts.scheme == "smtps"
        if use_tls:
            start_tls = False
        return cls(
            hostname=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=start_tls,
            timeout=timeout,
        )


class LogTransport:
    """Without SMTP_URL: nothing is delivered. The email stays in the outbox table, which
    /dev/outbox shows on this machine; the log says so, without the text (it may hold a
    sign-in or reset link)."""

    async def send(
        self, envelope_from: str, to: str, message: EmailMessage, before_data: BeforeData
    ) -> None:
        if not await before_data():
            raise ClaimLost()
        log.info(
            "email not delivered (SMTP_URL is unset), kept in the outbox only: to %s, "
            "subject %r, Message-ID %s",
            to,
            message["Subject"],
            message["Message-ID"],
        )

    async def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class SmtpTransport:
    """One SMTP connection, opened when first needed and reused until `close()`."""

    def __init__(self, config: SmtpConfig, *, local_hostname: str | None = None) -> None:
        self.config = config
        self.local_hostname = local_hostname
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        c = self.config
        smtp = aiosmtplib.SMTP(
            hostname=c.hostname,
            port=c.port,
            username=c.username,
            password=c.password,
            use_tls=c.use_tls,
            start_tls=c.start_tls,
            timeout=c.timeout,
            local_hostname=self.local_hostname,
        )
        await smtp.connect()
        self._smtp = smtp
        return smtp

    async def send(
        self, envelope_from: str, to: str, message: EmailMessage, before_data: BeforeData
    ) -> None:
        """Deliver one message; raise DeliveryError or ClaimLost.

        Every failure before DATA, and every refusal the server answers to DATA, leaves the
        server without the message. Only a connection lost during DATA is uncertain.
        """
        try:
            smtp = await self._connection()
            if smtp.is_ehlo_or_helo_needed:
                await smtp.ehlo()
            utf8 = not (envelope_from + to).isascii()
            if utf8 and not smtp.supports_extension("smtputf8"):
                raise DeliveryError(
                    "The address has non-ASCII characters and the mail server does not "
                    "accept those (SMTPUTF8)",
                    permanent=True,
                )
            options = ["SMTPUTF8"] if utf8 else []
            eight_bit = smtp.supports_extension("8bitmime")
            if eight_bit:
                options.append("BODY=8BITMIME")
            flat = flatten_message(message, utf8=utf8, cte_type="8bit" if eight_bit else "7bit")
            await smtp.mail(envelope_from, options=options, encoding="utf-8" if utf8 else "ascii")
            await smtp.rcpt(to, encoding="utf-8" if utf8 else "ascii")
        except aiosmtplib.SMTPResponseException as e:
            await self._reset()
            about_message = _about_message(e)
            raise DeliveryError(
                _describe(e),
                permanent=about_message and e.code >= 500,
                server_trouble=not about_message,
            ) from e
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            self.abort()
            raise DeliveryError(
                f"Could not reach the mail server: {_describe(e)}", server_trouble=True
            ) from e
        if not await before_data():
            await self._reset()
            raise ClaimLost()
        if not smtp.is_connected:  # lost since RCPT: DATA never started
            self.abort()
            raise DeliveryError(
                "The mail server closed the connection before the email", server_trouble=True
            )
        try:
            await smtp.data(flat)
        except aiosmtplib.SMTPResponseException as e:
            # The server answered: it refused the message, so it does not have it.
            await self._reset()
            raise DeliveryError(_describe(e), permanent=e.code >= 500) from e
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            self.abort()
            raise DeliveryError(
                "The connection to the mail server was lost while handing over the email, "
                f"so it may or may not have been delivered ({_describe(e)})",
                maybe_delivered=True,
            ) from e

    async def _reset(self) -> None:
        """After a refusal, clear the envelope so the connection can carry the next email."""
        if self._smtp is None or not self._smtp.is_connected:
            return
        try:
            await self._smtp.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self.abort()

    def abort(self) -> None:
        """Drop the connection at once (the task is being cancelled: no QUIT)."""
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    async def close(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass
        self.abort()


def _about_message(e: aiosmtplib.SMTPResponseException) -> bool:
    """An answer about this message (sender, recipient, data): a 5xx will not change on retry.

    A refused greeting, EHLO or sign-in is about the server or our settings, which someone
    can fix: those are retried like temporary failures, even when they are 5xx.
    """
    return isinstance(
        e, aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError
    )


def _describe(e: BaseException) -> str:
    if isinstance(e, aiosmtplib.SMTPResponseException):
        return f"{e.code} {e.message}".strip()
    return f"{type(e).__name__}: {e}".rstrip(": ")


Transport = LogTransport | SmtpTransport


def transport_for(smtp_url: str | None, *, local_hostname: str | None = None) -> Transport:
    if not smtp_url:
        return LogTransport()
    return SmtpTransport(SmtpConfig.from_url(smtp_url), local_hostname=local_hostname)
