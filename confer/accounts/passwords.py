"""Password rules and hashing (argon2, off the event loop)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from confer.i18n import _
from confer.validate import number

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_COUNT = 10_000

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the account does not exist, so timing does not tell.

    Made on first use, not at import: one argon2 hash costs 64 MB and 0.1-0.9 s of CPU, which
    every `confer serve` start (and every CLI command) paid before (bench/startup.py)."""
    return _hasher.hash("not a real password, only for timing")


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_COUNT])


def problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """What is wrong with a new password, or None."""
    if len(password) < MIN_LENGTH:
        return _("Password must be %(min)s characters or more") % {"min": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return _("Password must be %(max)s characters or fewer") % {"max": number(MAX_LENGTH)}
    lowered = password.lower()
    if lowered in _common() or lowered.rstrip("0123456789!") in _common():
        return _("That password is one of the most common passwords: choose another")
    if email and lowered == email.lower():
        return _("Password must not be your email address")
    if name and lowered == name.lower():
        return _("Password must not be your name")
    return None


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(None, _verify, stored, password)
