"""The green "Done" banner after a form: the redirect names what happened with a key
(`?done=<key>`), and the page shows that key's message from the fixed list below.

A key that is not listed shows no banner at all: the text of a banner never comes from the
address, so a link cannot make Confer say something in its own voice ("Done: your account is
suspended, call …"). Every page with a banner goes through `done_key` or `done_message`.
"""

from __future__ import annotations

from aiohttp import web

# The address's parameters that belong to the banner (not to the page).
QUERY_KEYS = frozenset({"done", "count"})

DONE: dict[str, dict[str, str]] = {
    "account": {
        "profile-saved": "Your profile has been saved.",
        "password-changed": "Your password has been changed.",
        "language-saved": "Your language has been saved.",
        "token-revoked": "The token has been revoked.",
    },
    "manage": {
        "created": "The conference has been created as a draft.",
        "saved": "Your changes have been saved.",
        "published": "The conference is published.",
        "unpublished": "The conference is back in draft.",
        "session-added": "The session has been added.",
        "session-saved": "The session has been saved.",
        "session-deleted": "The session has been deleted.",
        "role-assigned": "The role has been given.",
        "role-invited": "If the address can be reached, an invitation with that role is on "
        "its way. The role takes effect when they accept it.",
        "anonymised": "The member has been removed from this conference and their "
        "contributions to it anonymised.",
        "erased": "The account has been erased.",
    },
    "members": {
        "active": "The request was approved: they have a place and have been emailed.",
        "waitlisted": "The request was approved, but the conference is full: they are on the "
        "waitlist and have been emailed.",
        "declined": "The request was declined and they have been emailed.",
    },
    "invitations": {
        "sent": "Invitations sent.",
        "resent": "The invitation was sent again with a new link. The old link no longer works.",
        "revoked": "The invitation was withdrawn. Its link no longer works.",
    },
    "notifications": {"read": "Your notifications are marked as read."},
    # The conference's home page words these by where the visitor now stands
    # (templates/registration/_status.html).
    "conference": {"left": "", "joined": "", "invited": ""},
}


def done_key(request: web.Request, page: str, *, default: str | None = None) -> str | None:
    """`?done=` when it is one of `page`'s keys, else None."""
    key = request.query.get("done") or default
    return key if key is not None and key in DONE[page] else None


def done_message(request: web.Request, page: str) -> str | None:
    """The banner's text for `?done=`, from the fixed list; None for anything else."""
    key = done_key(request, page)
    if key is None:
        return None
    if page == "invitations" and key == "sent":
        # A count is shown only as a number Confer formats itself.
        raw = request.query.get("count", "")
        if raw.isascii() and raw.isdigit() and len(raw) <= 6:
            n = int(raw)
            return f"{n:,} invitation{'' if n == 1 else 's'} sent."
    return DONE[page][key]
