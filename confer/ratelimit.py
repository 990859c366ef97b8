"""Rate limits: how often one member, and one network address, may do costly things.

One table (`ROUTES`) says which routes count against which limit; the socket.io server calls
`Limiter.check` for its own actions with the same names, so HTTP forms, the JSON API and
sockets share one budget. Limits are per process (kept in memory, one float per key — the
generic cell rate algorithm): with N processes behind a sticky proxy a client may get up to N
times the budget, which is still a bound. They are configured with RATE_LIMITS, for example

    RATE_LIMITS="post=20/60,post@address=300/60,search=off"

where `name=COUNT/SECONDS` sets the per-member limit, `name@address=...` the per-address one,
and `off` (alone: `RATE_LIMITS=off`) turns a limit, or all of them, off. The per-address limits
are loose because a council puts hundreds of staff behind one address.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from confer.errors import TooManyRequests


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: float

    @property
    def interval(self) -> float:
        return self.seconds / self.count


# name -> (per member, per address); None means no limit of that kind.
DEFAULTS: dict[str, tuple[Limit | None, Limit | None]] = {
    # Posts, new threads, questions and answers.
    "post": (Limit(20, 60), Limit(300, 60)),
    "register": (None, Limit(30, 3600)),
    # Attempts; failed sign-ins are also counted per account (confer.accounts).
    "sign_in": (None, Limit(100, 900)),
    "password_reset": (None, Limit(20, 3600)),
    "invite": (Limit(60, 3600), Limit(120, 3600)),
    "search": (Limit(60, 60), Limit(600, 60)),
    "export": (Limit(20, 3600), Limit(60, 3600)),
    # Editing a post (each edit is rendered, stored and broadcast like a post).
    "edit": (Limit(20, 60), Limit(300, 60)),
    # Votes for panel questions, and withdrawing them.
    "vote": (Limit(60, 60), Limit(600, 60)),
}

MESSAGES = {
    "post": "You are posting very quickly. Wait {wait} before posting again; "
    "your text has been kept.",
    "register": "Too many registrations from your network. Try again in {wait}.",
    "sign_in": "Too many attempts to sign in from your network. Try again in {wait}.",
    "password_reset": "Too many attempts to set a new password from your network. "
    "Try again in {wait}.",
    "invite": "You have sent a lot of invitations. Try again in {wait}.",
    "search": "You are searching very quickly. Try again in {wait}.",
    "export": "You have downloaded a lot of exports. Try again in {wait}.",
    "edit": "You are editing very quickly. Wait {wait} before editing again; "
    "your text has been kept.",
    "vote": "You are voting very quickly. Try again in {wait}.",
}

# (method, route pattern) -> limit name. Routes not listed are not limited here.
ROUTES: dict[tuple[str, str], str] = {
    # Posting: posts, new threads, panel questions and answers (forms and API).
    ("POST", "/c/{slug}/sessions/{session_id}/threads"): "post",
    ("POST", "/c/{slug}/threads/{thread_id}/posts"): "post",
    ("POST", "/c/{slug}/panels/{session_id}/questions"): "post",
    ("POST", "/c/{slug}/panels/{session_id}/questions/{question_id}/answers"): "post",
    ("POST", "/api/v1/sessions/{session_id}/threads"): "post",
    ("POST", "/api/v1/threads/{thread_id}/posts"): "post",
    ("POST", "/api/v1/panels/{session_id}/questions"): "post",
    ("POST", "/api/v1/questions/{question_id}/answers"): "post",
    # Editing posts, and voting for panel questions.
    ("POST", "/c/{slug}/posts/{post_id}/edit"): "edit",
    ("PATCH", "/api/v1/posts/{post_id}"): "edit",
    ("POST", "/c/{slug}/panels/{session_id}/questions/{question_id}/vote"): "vote",
    ("POST", "/api/v1/questions/{question_id}/vote"): "vote",
    ("DELETE", "/api/v1/questions/{question_id}/vote"): "vote",
    # Accounts and registration.
    ("POST", "/login"): "sign_in",
    ("POST", "/login/email/{token}"): "sign_in",
    ("POST", "/register"): "register",
    ("POST", "/c/{slug}/join"): "register",
    ("POST", "/api/v1/conferences/{slug}/join"): "register",
    ("POST", "/api/v1/conferences/{slug}/registration"): "register",
    ("POST", "/invitations/{token}"): "register",
    # Asking for a reset or sign-in link is throttled where the link is made, per email and per
    # address in PostgreSQL (confer.mail.links;
    # EMAIL_LINK_MAX_PER_EMAIL and EMAIL_LINK_MAX_PER_ADDRESS); only using a link is here.
    ("POST", "/account/reset/{token}"): "password_reset",
    # Invitations.
    ("POST", "/c/{slug}/invitations"): "invite",
    ("POST", "/c/{slug}/invitations/{invitation_id}/resend"): "invite",
    ("POST", "/api/v1/conferences/{slug}/invitations"): "invite",
    ("POST", "/api/v1/conferences/{slug}/invitations/{invitation_id}/resend"): "invite",
    # Reading costs too.
    ("GET", "/c/{slug}/search"): "search",
    ("GET", "/api/v1/conferences/{slug}/search"): "search",
    ("POST", "/c/{slug}/export"): "export",
    ("POST", "/api/v1/conferences/{slug}/exports"): "export",
}


def parse(spec: str | None) -> dict[str, tuple[Limit | None, Limit | None]]:
    """DEFAULTS changed by a RATE_LIMITS string; ValueError names the bad part."""
    limits = dict(DEFAULTS)
    spec = (spec or "").strip()
    if not spec:
        return limits
    if spec == "off":
        return {name: (None, None) for name in limits}
    for part in spec.split(","):
        key, sep, value = part.strip().partition("=")
        name, _, scope = key.strip().partition("@")
        if not sep or name not in limits or scope not in ("", "address"):
            raise ValueError(f"RATE_LIMITS: cannot read {part.strip()!r}")
        limit: Limit | None = None
        if value.strip() != "off":
            count, slash, seconds = value.strip().partition("/")
            try:
                limit = Limit(int(count), float(seconds))
            except ValueError:
                raise ValueError(f"RATE_LIMITS: {part.strip()!r} is not COUNT/SECONDS") from None
            if not slash or limit.count < 1 or limit.seconds <= 0:
                raise ValueError(f"RATE_LIMITS: {part.strip()!r} is not COUNT/SECONDS")
        member, address = limits[name]
        limits[name] = (member, limit) if scope else (limit, address)
    return limits


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


class Limiter:
    def __init__(
        self,
        limits: dict[str, tuple[Limit | None, Limit | None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self._tat: dict[str, float] = {}  # key -> theoretical arrival time (GCRA)
        self._sweep_at = clock() + 60

    def _take(self, key: str, limit: Limit, now: float) -> float:
        """Spend one unit; return 0 if allowed, else the seconds until it would be."""
        tat = max(self._tat.get(key, now), now)
        allowed_at = tat + limit.interval - limit.seconds  # a burst of `count` is allowed
        if now < allowed_at:
            return allowed_at - now
        self._tat[key] = tat + limit.interval
        return 0.0

    def check(self, name: str, *, user_id: int | None, address: str | None) -> None:
        """Count one `name` action; raise TooManyRequests (with Retry-After) past a limit."""
        member_limit, address_limit = self.limits.get(name, (None, None))
        now = self.clock()
        if now > self._sweep_at:
            self._sweep(now)
        waits = []
        if member_limit is not None and user_id is not None:
            waits.append(self._take(f"{name}:u:{user_id}", member_limit, now))
        if address_limit is not None and address:
            waits.append(self._take(f"{name}:a:{address}", address_limit, now))
        wait = max(waits, default=0.0)
        if wait > 0:
            seconds = max(1, round(wait + 0.5))
            raise TooManyRequests(
                MESSAGES[name].format(wait=_wait_text(seconds)), retry_after=seconds
            )

    def _sweep(self, now: float) -> None:
        """Forget keys whose budget is full again, so memory follows the active clients."""
        self._tat = {k: t for k, t in self._tat.items() if t > now}
        self._sweep_at = now + 60


limiter_key = web.AppKey("limiter", Limiter)


def route_limit(request: web.Request) -> str | None:
    route = request.match_info.route
    resource = route.resource
    if resource is None:
        return None
    return ROUTES.get((request.method, resource.canonical))


@web.middleware
async def middleware(
    request: web.Request,
    handler: Callable[[web.Request], object],
) -> web.StreamResponse:
    name = route_limit(request)
    if name is not None:
        from confer.keys import actor_key
        from confer.web import client_address

        actor = request[actor_key]
        request.app[limiter_key].check(name, user_id=actor.user_id, address=client_address(request))
    return await handler(request)  # type: ignore[return-value,misc]
