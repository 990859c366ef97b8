"""Domain errors. Services raise these; only confer.web turns them into HTTP.

No aiohttp import here: services must not know about the web.

Each error's message, when none is given, is its class's `default_message` (marked with
`N_()`), translated into the current language when the error is made; a subclass that sets
none speaks with its docstring (untranslated: give it a `default_message`).
"""

from __future__ import annotations

from datetime import datetime

from confer.i18n import N_, _


class ConferError(Exception):
    status = 400
    code = "bad_request"
    default_message = N_("The request could not be read.")

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None) -> None:
        self.message = message or self._default()
        super().__init__(self.message)
        self.fields = fields or {}

    @classmethod
    def _default(cls) -> str:
        for klass in cls.__mro__:
            if "default_message" in klass.__dict__:
                return _(klass.default_message)
            if klass.__dict__.get("__doc__"):
                return " ".join(klass.__doc__.split())
        return cls.code

    def as_json(self) -> dict[str, object]:
        """The error as the JSON API's body carries it (under "error") and as a socket's
        acknowledgement does: `{"code", "message", "fields"}`."""
        return {"code": self.code, "message": self.message, "fields": self.fields}


class BadRequest(ConferError):
    """The request could not be read."""

    default_message = N_("The request could not be read.")

    status = 400
    code = "bad_request"


class Invalid(ConferError):
    """Some fields need correcting."""

    default_message = N_("Some fields need correcting.")

    status = 422
    code = "invalid"


class TooLarge(ConferError):
    """That is too long."""

    default_message = N_("That is too long.")

    status = 413
    code = "too_large"


class Unauthorized(ConferError):
    """You need to sign in."""

    default_message = N_("You need to sign in.")

    status = 401
    code = "unauthorized"


class Forbidden(ConferError):
    """You do not have permission to do that."""

    default_message = N_("You do not have permission to do that.")

    status = 403
    code = "forbidden"


class NotFound(ConferError):
    """Page not found."""

    default_message = N_("Page not found.")

    status = 404
    code = "not_found"


class Conflict(ConferError):
    """That conflicts with something that already exists."""

    default_message = N_("That conflicts with something that already exists.")

    status = 409
    code = "conflict"


class Closed(ConferError):
    """This is not open for posting now."""

    default_message = N_("This is not open for posting now.")

    status = 403
    code = "closed"

    def __init__(
        self,
        message: str = "",
        *,
        opens_at: datetime | None = None,
        closed_at: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.opens_at = opens_at
        self.closed_at = closed_at


class TooManyRequests(ConferError):
    """Too many attempts."""

    default_message = N_("Too many attempts.")

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str = "", *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(ConferError):
    """Confer is having trouble reaching its database. Your text has been kept — try again in a
    moment."""

    default_message = N_(
        "Confer is having trouble reaching its database. "
        "Your text has been kept — try again in a moment."
    )

    status = 503
    code = "unavailable"

    def __init__(self, message: str = "", *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StartupError(Exception):
    """Confer cannot start as configured; the message names what to fix (the command line
    prints it as one line, without a traceback)."""
