"""The green "Done" banner after a form: the redirect names what happened with a key
(`?done=<key>`), and the page shows that key's message from the fixed list below.

A key that is not listed shows no banner at all: the text of a banner never comes from the
address, so a link cannot make Confer say something in its own voice ("Done: your account is
suspended, call …"). Every page with a banner goes through `done_key` or `done_message`.
The messages are marked with `N_()` and translated when shown, in the reader's language.
"""

from __future__ import annotations

from aiohttp import web

from confer.i18n import N_, _, ngettext
from confer.validate import number

# The address's parameters that belong to the banner (not to the page).
QUERY_KEYS = frozenset({"done", "count", "post"})

DONE: dict[str, dict[str, str]] = {
    "account": {
        "profile-saved": N_("Your profile has been saved."),
        "password-changed": N_("Your password has been changed."),
        "language-saved": N_("Your language has been saved."),
        "token-revoked": N_("The token has been revoked."),
        # Sign-in with a provider (confer.sso).
        "sso-created": N_(
            "Your account has been created. Add your title and organisation below if you "
            "would like them shown beside your posts."
        ),
        "sso-linked": N_("The sign-in has been linked: you can now use it to sign in here."),
        "sso-removed": N_("The linked sign-in has been removed. It no longer signs you in here."),
    },
    "manage": {
        "created": N_("The conference has been created as a draft."),
        "saved": N_("Your changes have been saved."),
        "published": N_("The conference is published."),
        "unpublished": N_("The conference is back in draft."),
        "session-added": N_("The session has been added."),
        "session-saved": N_("The session has been saved."),
        "session-deleted": N_("The session has been deleted."),
        "session-added-no-thread": N_(
            "The session has been added, but its opening thread could not be started: "
            "open one from the programme below."
        ),
        "session-copied": N_("The session has been copied."),
        "day-copied": N_("The day’s sessions have been copied."),
        "sessions-added": N_("The sessions have been added."),
        "role-assigned": N_("The role has been given."),
        "role-invited": N_(
            "If the address can be reached, an invitation with that role is on "
            "its way. The role takes effect when they accept it."
        ),
        "roles-given-and-invited": N_(
            "The members among them have been given the role. Anyone else is being sent an "
            "invitation with it, which takes effect when they accept it."
        ),
        "anonymised": N_(
            "The member has been removed from this conference and their "
            "contributions to it anonymised."
        ),
        "erased": N_("The account has been erased."),
    },
    "members": {
        "active": N_("The request was approved: they have a place and have been emailed."),
        "waitlisted": N_(
            "The request was approved, but the conference is full: they are on the "
            "waitlist and have been emailed."
        ),
        "declined": N_("The request was declined and they have been emailed."),
    },
    "invitations": {
        "sent": N_("Invitations sent."),
        "published-sent": N_("The conference is published and the invitations sent."),
        "resent": N_(
            "The invitation was sent again with a new link. The old link no longer works."
        ),
        "revoked": N_("The invitation was withdrawn. Its link no longer works."),
    },
    "notifications": {"read": "Your notifications are marked as read."},
    # After a facilitator's action (confer.moderation.views): shown on the page they came
    # from, beside what they acted on.
    "moderation": {
        "thread-pin": N_("The thread is pinned to the top of its session."),
        "thread-unpin": N_("The thread is no longer pinned."),
        "thread-lock": N_("The thread is locked. Members can read it but not post."),
        "thread-unlock": N_("The thread is unlocked. Members can post again."),
        "thread-close": N_("The thread is closed."),
        "thread-reopen": N_("The thread is open again."),
        "thread-premoderate": N_("Each new post in this thread now waits for approval."),
        "thread-unpremoderate": N_("New posts in this thread now show without approval."),
        "thread-slow_mode": N_("Slow mode has been set."),
        "thread-summarise": N_("The summary has been saved."),
        "post-hide": N_("The post is hidden. Members see the reason instead of its text."),
        "post-restore": N_("The post is shown again."),
        "post-approve": N_("The post is approved and shows in the thread."),
        "post-reject": N_("The post was not approved. Its author can see why."),
        "post-pin": N_("The post is pinned to the top of the thread."),
        "post-unpin": N_("The post is no longer pinned."),
        "post-move": N_("The post has been moved to the other thread."),
        "flags-keep": N_("The reports are closed and the post is kept."),
        "flags-hide": N_("The reports are closed and the post is hidden."),
        "member-mute": N_("The member is muted."),
        "member-unmute": N_("The member can post again."),
        "member-premoderate": N_("The member’s posts now wait for approval."),
        "member-unpremoderate": N_("The member’s posts now show without approval."),
        "member-remove": N_("The member has been removed from the conference."),
    },
    # A member's own post (confer.threads.views): deleted (with "Undo" while it can be) and
    # brought back.
    "thread": {
        "post-deleted": N_("Your post has been deleted."),
        "post-restored": N_("Your post is back."),
    },
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
            return ngettext("%(num)s invitation sent.", "%(num)s invitations sent.", n) % {
                "num": number(n)
            }
    if page == "manage" and key == "day-copied":
        raw = request.query.get("count", "")
        if raw.isascii() and raw.isdigit() and len(raw) <= 6:
            n = int(raw)
            return ngettext(
                "%(num)s session has been copied to the new day.",
                "%(num)s sessions have been copied to the new day.",
                n,
            ) % {"num": number(n)}
    if page == "manage" and key == "sessions-added":
        raw = request.query.get("count", "")
        if raw.isascii() and raw.isdigit() and len(raw) <= 6:
            n = int(raw)
            return ngettext(
                "%(num)s session has been added.", "%(num)s sessions have been added.", n
            ) % {"num": number(n)}
    text = DONE[page][key]
    return _(text) if text else text  # "" is the catalogue's header, not a message
