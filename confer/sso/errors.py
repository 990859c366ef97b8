"""Why a sign-in with a provider failed: one kind per cause, each with its status, its
sentence for the reader (in their language) and a detail for the operator's log line.

The log detail never holds a code, a token, a state or a nonce (confer.sso.client and
confer.sso.service build it from what was checked, not from what was received).
"""

from __future__ import annotations

from confer import i18n
from confer.errors import ConferError
from confer.i18n import N_, _
from confer.sso.config import Provider

# kind -> (HTTP status, message). `%(provider)s` is the provider's name on its button.
KINDS: dict[str, tuple[int, str]] = {
    "state": (
        400,
        N_(
            "This sign-in was not started in this browser, or it has already been used. "
            "Start again from the sign-in page."
        ),
    ),
    "flow_expired": (
        400,
        N_("This sign-in took too long and has expired. Start again from the sign-in page."),
    ),
    "cancelled": (
        400,
        N_(
            "%(provider)s did not sign you in: it was cancelled or refused. Start again, or "
            "sign in another way."
        ),
    ),
    "code": (
        400,
        N_(
            "%(provider)s refused the sign-in code: it has already been used or has expired. "
            "Start again from the sign-in page."
        ),
    ),
    "issuer": (
        400,
        N_(
            "The sign-in answer did not come from %(provider)s: it names another issuer. "
            "Nobody has been signed in."
        ),
    ),
    "audience": (
        400,
        N_(
            "The sign-in answer from %(provider)s was meant for another service. "
            "Nobody has been signed in."
        ),
    ),
    "signature": (
        400,
        N_(
            "The sign-in answer from %(provider)s has a signature that does not match its "
            "keys. Nobody has been signed in."
        ),
    ),
    "expired": (
        400,
        N_("The sign-in answer from %(provider)s has expired. Start again from the sign-in page."),
    ),
    "nonce": (
        400,
        N_(
            "The sign-in answer from %(provider)s does not belong to this sign-in. "
            "Start again from the sign-in page."
        ),
    ),
    "token": (
        400,
        N_(
            "The sign-in answer from %(provider)s could not be read. Nobody has been signed in. "
            "Try again, or sign in another way."
        ),
    ),
    "no_email": (
        403,
        N_(
            "%(provider)s did not give Confer your email address, so you cannot sign in with it. "
            "Sign in another way."
        ),
    ),
    "unverified": (
        403,
        N_(
            "%(provider)s has not verified your email address, so Confer cannot use it to sign "
            "you in. Verify the address with %(provider)s, or sign in another way."
        ),
    ),
    "domain": (
        403,
        N_(
            "Email addresses at %(domain)s cannot sign in with %(provider)s here. Sign in "
            "another way, or ask the site's administrators."
        ),
    ),
    "tenant": (
        403,
        N_(
            "Your organisation's %(provider)s accounts cannot sign in here. Sign in another way, "
            "or ask the site's administrators."
        ),
    ),
    "linked_elsewhere": (
        409,
        N_(
            "This %(provider)s account is already linked to another Confer account. Remove it "
            "there first."
        ),
    ),
    "config": (
        400,
        N_(
            "Signing in with %(provider)s is not working because of how it is set up. Sign in "
            "another way, and tell the site's administrators."
        ),
    ),
    "down": (
        503,
        N_(
            "Confer could not reach %(provider)s. Try again in a few minutes, or sign in "
            "another way."
        ),
    ),
}


class SignInFailed(ConferError):
    """A sign-in with a provider that did not happen; nothing was created."""

    default_message = N_("Signing in with this provider did not work.")
    code = "sign_in_failed"

    def __init__(
        self,
        kind: str,
        provider: Provider | None,
        *,
        log_detail: str = "",
        domain: str = "",
    ) -> None:
        status, message = KINDS[kind]
        name = provider.label(i18n.lang()) if provider is not None else ""
        super().__init__(_(message) % {"provider": name, "domain": domain})
        self.status = status
        self.code = f"sso_{kind}"
        self.kind = kind
        self.provider_id = provider.id if provider is not None else "-"
        self.log_detail = log_detail or kind
