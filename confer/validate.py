"""Field validation shared by every service: one place for lengths, NULs and emails.

Each helper either returns the cleaned value or records a message under the field's
name; `Fields.raise_if_any()` raises one Invalid naming every bad field.

Every message is a whole sentence that the caller gives, marked for the catalogues with
`N_()` and translated here when the field is checked (never built from a label: Welsh
mutates the words and orders them differently):

    title = f.text(
        "title", data.get("title"),
        required=N_("Enter title"),
        too_long=N_("Title must be %(max)s characters or fewer"),
        max_len=200,
    )

`required=None` makes a field optional; `%(max)s` is the limit, written in the reader's
language. Messages that name no field ("Remove the NUL character") are generic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import format_decimal
from email_validator import EmailNotValidError, validate_email

from confer import i18n, timefmt
from confer.errors import Invalid, TooLarge
from confer.i18n import N_, _

MAX_EMAIL = 254

# The years a form may name: a conference is planned this century, and a year far from it
# (0001, 9999) would overflow when converted between zones.
YEARS = (1970, 2999)

NOT_TEXT = N_("Enter text")
HAS_NUL = N_("Remove the NUL character")
EMAIL_REQUIRED = N_("Enter email address")
EMAIL_TOO_LONG = N_("Email address must be %(max)s characters or fewer")
EMAIL_FORMAT = N_("Enter an email address in the correct format, like name@example.org")
# Why an address is refused, read after the address as typed ("jane.kent.gov.uk has no @").
NO_AT = N_("has no @")
BEFORE_AT = N_("has a mistake before the @")
AFTER_AT = N_("has a mistake after the @")
EMAIL_LONG = N_("is longer than 254 characters")


def _valid(address: str) -> bool:
    # No DNS look-up (check_deliverability): addresses are checked as typed, offline.
    # test_environment lets the reserved `.test` domain through (the demo's addresses, RFC
    # 2606); every other special-use domain (`.local`, `.invalid`, `localhost`) is refused.
    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return False
    return True


def email_problem(address: str) -> str | None:
    """None for a well-formed address (email-validator, not a regular expression: it refuses
    `a@b..cd`, `a<b>@x.org`, `a,b@x.org`); otherwise why not, marked (`_(reason)` to show)."""
    if len(address) > MAX_EMAIL:
        return EMAIL_LONG
    if "@" not in address:
        return NO_AT
    if _valid(address):
        return None
    # Which side is wrong: the domain checked with a local part known to be good.
    return AFTER_AT if not _valid("name@" + address.rpartition("@")[2]) else BEFORE_AT


def number(n: int) -> str:
    """A count written in the current language ("20,000")."""
    return format_decimal(n, locale=i18n.babel_locale())


class Fields:
    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.too_large = False

    def text(
        self,
        name: str,
        value: object,
        *,
        required: str | None,
        too_long: str,
        max_len: int = 200,
        strip: bool = True,
        too_large_is_413: bool = False,
    ) -> str:
        """`required`: the message when it is empty (None: optional); `too_long`: the message
        past `max_len`, with `%(max)s`."""
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.errors[name] = _(NOT_TEXT)
            return ""
        if strip:
            value = value.strip()
        if "\x00" in value:
            self.errors[name] = _(HAS_NUL)
            return value
        if required is not None and not value:
            self.errors[name] = _(required)
        elif len(value) > max_len:
            self.errors[name] = _(too_long) % {"max": number(max_len)}
            if too_large_is_413:
                self.too_large = True
        return value

    def email(
        self,
        name: str,
        value: object,
        *,
        required: str = EMAIL_REQUIRED,
        too_long: str = EMAIL_TOO_LONG,
    ) -> str:
        email = self.text(name, value, required=required, too_long=too_long, max_len=MAX_EMAIL)
        if email and name not in self.errors and email_problem(email) is not None:
            self.errors[name] = _(EMAIL_FORMAT)
        return email

    def choice(self, name: str, value: object, choices: tuple[str, ...], *, required: str) -> str:
        """`required`: the message when the value is not one of `choices` ("Select role")."""
        if value not in choices:
            self.errors[name] = _(required)
            return choices[0]
        return str(value)

    def timezone(self, name: str, value: object) -> str:
        tz = self.text(
            name,
            value,
            required=N_("Enter timezone"),
            too_long=N_("Timezone must be %(max)s characters or fewer"),
            max_len=64,
        )
        if tz and name not in self.errors:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                self.errors[name] = _("Enter a timezone like Europe/London")
        return tz

    def local_datetime(
        self, name: str, value: object, tz: str, *, required: str | None, invalid: str
    ) -> datetime | None:
        """A `datetime-local` value read in the conference's timezone, returned in UTC (so that
        two times compare by the instant they name, not by their wall clocks). `invalid`: the
        message for a value that is not a date and time ("Start must be a real date and time").

        Clock changes (confer.timefmt.resolve_local): a wall time that does not exist (skipped
        when clocks go forward) is refused with a message that says why and the time to use; a
        wall time that happens twice (clocks go back) is taken as its first occurrence, in
        summer time, as the forms' hints say."""
        raw = self.text(name, value, required=required, too_long=invalid, max_len=32)
        if not raw or name in self.errors:
            return None
        try:
            naive = datetime.fromisoformat(raw)
        except ValueError:
            self.errors[name] = _(invalid)
            return None
        if not YEARS[0] <= naive.year <= YEARS[1]:
            self.errors[name] = _(invalid)
            return None
        if naive.tzinfo is not None:
            try:
                return naive.astimezone(UTC)
            except (OverflowError, ValueError):
                self.errors[name] = _(invalid)
                return None
        resolved = timefmt.resolve_local(naive, tz)
        if resolved.skipped is not None:
            self.errors[name] = timefmt.skipped_message(naive, resolved.skipped, tz)
            return None
        return resolved.at

    def boolean(self, value: object) -> bool:
        return value in (True, "true", "on", "1", "yes", 1)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def raise_if_any(self, message: str | None = None) -> None:
        """Raise one Invalid (TooLarge past a 413 field's limit) naming every bad field;
        `message` (translated by the caller) defaults to "Some fields need correcting"."""
        if self.errors:
            cls = TooLarge if self.too_large else Invalid
            raise cls(message or _("Some fields need correcting"), fields=dict(self.errors))


def parse_id(value: object) -> int | None:
    """A row id from a form, JSON or socket message: ASCII digits only ("²".isdigit() is
    True) and small enough for a bigint; anything else (bools included) is None."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)
