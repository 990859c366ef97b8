"""The one permission question: may this actor do this action here?

Every handler and socket event reaches a service, and every service asks `can()`
or `require()`. The time box is not a permission: services check it against the
database clock. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from confer.errors import Forbidden, NotFound, Unauthorized
from confer.i18n import _

Role = Literal["organiser", "facilitator", "speaker", "participant", "observer"]
POSTING_ROLES = ("organiser", "facilitator", "speaker", "participant")


@dataclass(frozen=True)
class Actor:
    """Who is asking: a signed-in user (by cookie or API token) or nobody."""

    user_id: int | None = None
    name: str = ""
    is_admin: bool = False
    email: str = ""
    # Allowed by a site administrator to create conferences (issue #22); admins always may.
    can_create_conferences: bool = False
    via: Literal["cookie", "token", "none", "cli"] = "none"
    language: str | None = None  # their chosen language (confer.i18n); None: not chosen

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None


ANONYMOUS = Actor()

# The name an erased or anonymised account keeps (users.name), as stored: pages show it in the
# reader's language (confer.startup reads it through gettext wherever a name is shown).
FORMER_NAME = "Former participant"


@dataclass(frozen=True)
class Membership:
    """The actor's place in one conference (None in `can()` when they have none)."""

    conference_id: int
    user_id: int
    role: Role
    status: str = "active"
    facilitates: str = "conference"
    session_ids: frozenset[int] = field(default_factory=frozenset)
    muted: bool = False

    @property
    def active(self) -> bool:
        return self.status == "active"

    def facilitates_session(self, session_id: int | None) -> bool:
        if not self.active:
            return False
        if self.role == "organiser":
            return True
        if self.role != "facilitator":
            return False
        return self.facilitates == "conference" or session_id in self.session_ids


Row = Mapping[str, Any]


def can(
    actor: Actor,
    member: Membership | None,
    action: str,
    *,
    conference: Row,
    session: Row | None = None,
    post: Row | None = None,
) -> bool:
    """Answer whether `actor` may do `action`. Unknown actions are refused."""
    is_organiser = actor.is_admin or (
        member is not None and member.active and member.role == "organiser"
    )
    published = conference["published_at"] is not None
    active = member is not None and member.active

    if action == "conference.see":  # its home, programme and speakers
        return published or is_organiser
    if action == "conference.read":  # sessions, threads and posts
        if not published:
            return is_organiser
        return conference["visibility"] == "public" or active or is_organiser
    if action == "conference.manage":
        return is_organiser
    if action == "conference.join":
        return actor.authenticated and published and member is None
    if action == "thread.create":
        if session is None or session["kind"] != "discussion":
            return False
        if is_organiser:
            return True
        if member is None or not active or member.muted:
            return False
        if member.facilitates_session(session["id"]):
            return True
        return bool(session["participants_start_threads"]) and member.role in POSTING_ROLES
    if action == "post.create":
        return active and member is not None and member.role in POSTING_ROLES and not member.muted
    if action == "post.flag":
        return (
            active
            and member is not None
            and not member.muted
            and post is not None
            and post["author_id"] != actor.user_id
        )
    if action == "question.ask":
        return active and member is not None and member.role in POSTING_ROLES and not member.muted
    if action == "question.vote":  # `post` is the question
        return (
            active
            and member is not None
            and member.role in POSTING_ROLES
            and not member.muted
            and post is not None
            and post["author_id"] != actor.user_id
        )
    if action == "question.answer":  # `session` carries the panel's speaker_ids
        # Muted means muted everywhere: a muted speaker does not answer either.
        if member is not None and member.muted:
            return False
        return is_organiser or (
            active and session is not None and actor.user_id in session.get("speaker_ids", ())
        )
    if action == "moderate":  # threads and posts of one session
        if is_organiser:
            return True
        return (
            member is not None and session is not None and member.facilitates_session(session["id"])
        )
    if action == "moderate.members":  # mute, remove, pre-moderate a member
        return is_organiser or (
            member is not None
            and member.active
            and member.role == "facilitator"
            and member.facilitates == "conference"
        )
    if action == "moderate.any":  # the moderation page: some session to look after
        return is_organiser or (
            member is not None and member.active and member.role == "facilitator"
        )
    if action == "session.files":  # "Papers and slides"; `session` carries its speaker_ids
        if is_organiser:
            return True
        if member is None or not active or member.muted or session is None:
            return False
        return member.facilitates_session(session["id"]) or (
            actor.user_id in session.get("speaker_ids", ())
        )
    if action == "post.attach":  # a file on one's own post, where the organisers allow it
        return (
            bool(conference.get("post_files_enabled"))
            and post is not None
            and actor.user_id is not None
            and post["author_id"] == actor.user_id
            and post["status"] in ("visible", "pending")
            and active
            and member is not None
            and not member.muted
        )
    if action in ("post.edit", "post.delete"):
        mine = (
            post is not None
            and actor.user_id is not None
            and post["author_id"] == actor.user_id
            and post["status"] in ("visible", "pending")
        )
        # New words need a voice: a muted or removed author may withdraw a post, not rewrite it.
        if action == "post.edit":
            return mine and active and member is not None and not member.muted
        return mine
    if action == "post.undelete":
        # Taking back one's own deletion within its window (confer.posts.service.undo_delete):
        # the words show again, so only a member who may speak now.
        return (
            post is not None
            and actor.user_id is not None
            and post["author_id"] == actor.user_id
            and post["status"] == "deleted"
            and active
            and member is not None
            and not member.muted
        )
    return False


def site_can(actor: Actor, action: str) -> bool:
    """Actions on the site rather than one conference. Unknown actions are refused."""
    if action == "conference.create":
        return actor.is_admin or (actor.authenticated and actor.can_create_conferences)
    if action == "site.people":  # choose who may create conferences
        return actor.is_admin
    return False


def site_require(actor: Actor, action: str, refusal: str | None = None) -> None:
    """Raise when `site_can()` says no: 401 for the anonymous, else 403 with `refusal` (the
    caller's sentence, which may say who can allow them)."""
    if site_can(actor, action):
        return
    if not actor.authenticated:
        raise Unauthorized(_("Sign in to do that."))
    raise Forbidden(refusal or "")


def require(
    actor: Actor,
    member: Membership | None,
    action: str,
    *,
    conference: Row,
    session: Row | None = None,
    post: Row | None = None,
) -> None:
    """Raise the right error when `can()` says no.

    A conference the actor may not see answers 404, so that drafts and private
    conferences do not reveal themselves; otherwise 401 for the anonymous and 403.
    """
    if can(actor, member, action, conference=conference, session=session, post=post):
        return
    if action != "conference.see" and not can(
        actor, member, "conference.see", conference=conference
    ):
        raise NotFound(_("Page not found"))
    if action == "conference.see":
        raise NotFound(_("Page not found"))
    if not actor.authenticated:
        raise Unauthorized(_("Sign in to do that."))
    if (
        action in ("post.create", "post.edit", "question.ask", "question.vote", "question.answer")
        and member is not None
        and member.muted
    ):
        raise Forbidden(_("You have been muted in this conference and cannot post for now."))
    if action == "conference.read":
        raise Forbidden(
            _("This conference's discussions are for its members. Join it to read them.")
        )
    if (
        action in ("post.create", "thread.create", "question.ask", "question.vote")
        and member is None
    ):
        raise Forbidden(_("Join this conference to take part."))
    if action == "post.create" and member is not None and member.role == "observer":
        raise Forbidden(_("Observers can read but not post."))
    if action == "thread.create":
        raise Forbidden(_("Only facilitators can start threads in this session."))
    if action == "session.files":
        raise Forbidden(
            _("Only organisers and this session's speakers and facilitators can add files here.")
        )
    if action == "post.attach" and not conference.get("post_files_enabled"):
        raise Forbidden(_("This conference does not allow files in posts."))
    if action.startswith("moderate"):
        raise Forbidden(_("Only facilitators and organisers can do that here."))
    if action == "question.vote" and post is not None and post["author_id"] == actor.user_id:
        raise Forbidden(_("You cannot vote for your own question."))
    if action == "question.answer":
        raise Forbidden(_("Only the panel's speakers can answer questions."))
    if (
        action in ("question.ask", "question.vote")
        and member is not None
        and member.role == "observer"
    ):
        raise Forbidden(_("Observers can read but not ask or vote."))
    if action == "post.flag" and post is not None and post["author_id"] == actor.user_id:
        raise Forbidden(_("You cannot report your own post."))
    raise Forbidden()
