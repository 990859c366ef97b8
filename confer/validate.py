"""Field validation shared by every service: one place for lengths, NULs and emails.

Each helper either returns the cleaned value or records a message under the field's
name; `Fields.raise_if_any()` raises one Invalid naming every bad field.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from confer.errors import Invalid, TooLarge

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class Fields:
    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.too_large = False

    def text(
        self,
        name: str,
        value: object,
        *,
        label: str,
        required: bool = True,
        max_len: int = 200,
        strip: bool = True,
        too_large_is_413: bool = False,
    ) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.errors[name] = f"{label} must be text"
            return ""
        if strip:
            value = value.strip()
        if "\x00" in value:
            self.errors[name] = f"{label} must not contain NUL characters"
            return value
        if required and not value:
            self.errors[name] = f"Enter {label.lower()}"
        elif len(value) > max_len:
            self.errors[name] = f"{label} must be {max_len:,} characters or fewer"
            if too_large_is_413:
                self.too_large = True
        return value

    def email(self, name: str, value: object, *, label: str = "Email address") -> str:
        email = self.text(name, value, label=label, max_len=254)
        if email and name not in self.errors and not EMAIL_RE.match(email):
            self.errors[name] = (
                "Enter an email address in the correct format, like name@example.org"
            )
        return email

    def choice(self, name: str, value: object, choices: tuple[str, ...], *, label: str) -> str:
        if value not in choices:
            self.errors[name] = f"Select {label.lower()}"
            return choices[0]
        return str(value)

    def timezone(self, name: str, value: object) -> str:
        tz = self.text(name, value, label="Timezone", max_len=64)
        if tz and name not in self.errors:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                self.errors[name] = "Enter a timezone like Europe/London"
        return tz

    def local_datetime(self, name: str, value: object, tz: str, *, label: str) -> datetime | None:
        """A `datetime-local` value read in the conference's timezone."""
        raw = self.text(name, value, label=label, max_len=32)
        if not raw or name in self.errors:
            return None
        try:
            naive = datetime.fromisoformat(raw)
        except ValueError:
            self.errors[name] = f"{label} must be a real date and time"
            return None
        if naive.tzinfo is not None:
            return naive
        try:
            return naive.replace(tzinfo=ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError):
            return naive.replace(tzinfo=ZoneInfo("UTC"))

    def boolean(self, value: object) -> bool:
        return value in (True, "true", "on", "1", "yes", 1)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def raise_if_any(self, message: str = "Some fields need correcting") -> None:
        if self.errors:
            cls = TooLarge if self.too_large else Invalid
            raise cls(message, fields=dict(self.errors))


def parse_id(value: object) -> int | None:
    """A row id from a form, JSON or socket message: ASCII digits only ("²".isdigit() is
    True) and small enough for a bigint; anything else (bools included) is None."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)
