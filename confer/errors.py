"""Domain errors. Services raise these; only confer.web turns them into HTTP.

No aiohttp import here: services must not know about the web.
"""

from __future__ import annotations

from datetime import datetime


class ConferError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.fields = fields or {}

    def as_json(self) -> dict[str, object]:
        """The error as the JSON API's body carries it (under "error") and as a socket's
        acknowledgement does: `{"code", "message", "fields"}`."""
        return {"code": self.code, "message": self.message, "fields": self.fields}


class BadRequest(ConferError):
    """The request could not be read."""

    status = 400
    code = "bad_request"


class Invalid(ConferError):
    """Some fields need correcting."""

    status = 422
    code = "invalid"


class TooLarge(ConferError):
    """That is too long."""

    status = 413
    code = "too_large"


class Unauthorized(ConferError):
    """You need to sign in."""

    status = 401
    code = "unauthorized"


class Forbidden(ConferError):
    """You do not have permission to do that."""

    status = 403
    code = "forbidden"


class NotFound(ConferError):
    """Page not found."""

    status = 404
    code = "not_found"


class Conflict(ConferError):
    """That conflicts with something that already exists."""

    status = 409
    code = "conflict"


class Closed(ConferError):
    """This is not open for posting now."""

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

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str = "", *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(ConferError):
    """Confer is having trouble reaching its database. Your text has been kept — try again in a
    moment."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str = "", *, retry_after: int = 5) -> None:
        super().__init__(message or " ".join((self.__doc__ or "").split()))
        self.retry_after = retry_after


class StartupError(Exception):
    """Confer cannot start as configured; the message names what to fix (the command line
    prints it as one line, without a traceback)."""
