"""Who may do what: one table of actions × ten kinds of actor × every transport.

`TABLE` below is the whole specification. Each row is one action with its HTML route (a page
or a form, as a browser without JavaScript uses it), its JSON API route and its socket.io
event, where each exists, and what each of the ten actors gets:

    organiser    an organiser of the conference
    facilitator  a facilitator of the whole conference
    scoped       a facilitator of ANOTHER session only (session 2), not the thread's
    speaker      a speaker on the panel
    participant  a participant
    observer     an observer (reads only)
    muted        a participant muted by a facilitator (for the next hour)
    removed      a participant removed from the conference
    anonymous    nobody signed in
    outsider     a member of another conference, with no place in this one

An outcome is `ok` (allowed: the effect must be there afterwards: a row in the database, the
content on the page, or a live event that arrived) or the status of the refusal — Confer's
convention (confer/policy.py `require`): 404 when the actor may not even see the conference
(drafts), 401 for the anonymous (a page answers `303 /login?next=…`, the API 401, a socket
`unauthorized`), 403 for everyone else. A refused request must leave every table as it was.

Actors without a post of their own (observer, anonymous, outsider) aim "own post" rows at a
bystander's post. Tests are generated from the table: ids read `action-actor-transport`.

Speed: a fresh database per test costs 1-2 s on a loaded 2-core machine, far too much for
~800 cases. So the module shares one database and one server, and each test builds its own
conference, sessions, people and posts with plain SQL (a few milliseconds); tests never touch
each other's conferences. "Nothing changed" is judged by PostgreSQL itself: no row in any
table has a transaction id newer than the one taken just before the request, and no table
lost a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
import socketio
from aiohttp.test_utils import TestServer

from confer import db
from confer.accounts import service as accounts
from confer.app import create_app
from confer.keys import sio_key
from confer.settings import Settings
from tests.conftest import CSRF_META, TEMPLATE_DB, _with_db, insert_post
from tests.oidc import OpenIDProvider, walk_to_callback
from tests.oidc import provider as oidc_provider
from tests.procs import free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")

ACTORS = (
    "organiser", "facilitator", "scoped", "speaker", "participant",
    "observer", "muted", "removed", "anonymous", "outsider",
)  # fmt: skip


@dataclass(frozen=True)
class Http:
    """A request. Paths, bodies and `shows` name scene ids as {placeholders}."""

    method: str
    path: str
    data: dict[str, Any] | None = None
    ok: int | None = None  # the success status; by default GET 200, form POST 303, API 200
    shows: str | None = None  # text an allowed reader must receive
    file: bytes | None = None  # sent as a multipart upload's `file` part, after `data`


@dataclass(frozen=True)
class Emit:
    """A socket.io action, answered by an acknowledgement."""

    event: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Join:
    """Joining a live room. `probes`: rooms that must then reach the socket (default: room)."""

    room: str
    after: int | None = None
    probes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    action: str
    expect: str  # ten outcomes, in the order of ACTORS
    html: Http | None = None
    api: Http | None = None
    socket: Emit | Join | None = None
    # SQL answering "has the action been done?" (a boolean): true after an allowed action.
    done: str | None = None
    fresh: bool = True  # `done` is false before the action (false only for idempotent joins)
    # Tables a refusal may write: a refused form answered with the thread page again (422)
    # marks the thread read, as showing it does.
    may_touch: tuple[str, ...] = ()
    # Change the scene first: "members_only", "draft", "locked" (thread 1), "post_files" (files
    # in posts allowed), "hide_own" (the
    # actor's own post) or "hide_other" (the bystander's visible post in thread 1).
    setup: str | None = None

    def outcome(self, actor: str) -> str:
        outcomes = self.expect.split()
        assert len(outcomes) == len(ACTORS), self.action
        return outcomes[ACTORS.index(actor)]

    @property
    def transports(self) -> list[str]:
        return [t for t in ("html", "api", "socket") if getattr(self, t) is not None]


POST_BODY = "Permission test post"
FILE_PDF = b"%PDF-1.4\n%%EOF\n"
EDITED = "Edited by its author"
HIDE = {"action": "hide", "reason": "Off-topic"}

# fmt: off
TABLE: list[Row] = [
    # --- reading ----------------------------------------------------------------------------
    #        outcomes:         org fac scp spk par obs mut rem anon out
    Row("read-thread",         "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
        html=Http("GET", "/c/{slug}/threads/{thread}", shows="{opening_text}"),
        api=Http("GET", "/api/v1/threads/{thread}/posts", shows="{opening_text}"),
        socket=Join("thread:{thread}", after=0)),
    Row("read-members-only-thread", "ok ok ok ok  ok  ok  ok  403 401 403",
        setup="members_only",
        html=Http("GET", "/c/{slug}/threads/{thread}", shows="{opening_text}"),
        api=Http("GET", "/api/v1/threads/{thread}/posts", shows="{opening_text}"),
        socket=Join("thread:{thread}", after=0)),
    Row("read-draft-thread",   "ok  404 404 404 404 404 404 404 404 404",
        setup="draft",
        html=Http("GET", "/c/{slug}/threads/{thread}", shows="{opening_text}"),
        api=Http("GET", "/api/v1/threads/{thread}/posts", shows="{opening_text}"),
        socket=Join("thread:{thread}", after=0)),
    Row("read-panel",          "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
        html=Http("GET", "/c/{slug}/panels/{panel}", shows="{question_text}"),
        api=Http("GET", "/api/v1/panels/{panel}/questions", shows="{question_text}"),
        socket=Join("panel:{panel}")),
    Row("search",              "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
        html=Http("GET", "/c/{slug}/search?q=quixotic", shows="1 result"),
        api=Http("GET", "/api/v1/conferences/{slug}/search?q=quixotic", shows='"total": 1')),
    # --- threads and posts --------------------------------------------------------------------
    # Session 1 lets only its facilitators start threads; session 2 lets participants too.
    Row("start-thread",        "ok  ok  403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/sessions/{session}/threads",
                  {"title": "A new thread", "body": POST_BODY}),
        api=Http("POST", "/api/v1/sessions/{session}/threads",
                 {"title": "A new thread", "body": POST_BODY}, ok=201),
        done="SELECT EXISTS (SELECT 1 FROM threads WHERE session_id = {session}"
             " AND author_id = {actor} AND title = 'A new thread')"),
    Row("start-thread-in-open-session", "ok ok ok ok ok 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/sessions/{session2}/threads",
                  {"title": "A new thread", "body": POST_BODY}),
        api=Http("POST", "/api/v1/sessions/{session2}/threads",
                 {"title": "A new thread", "body": POST_BODY}, ok=201),
        done="SELECT EXISTS (SELECT 1 FROM threads WHERE session_id = {session2}"
             " AND author_id = {actor} AND title = 'A new thread')"),
    Row("post",                "ok  ok  ok  ok  ok  403 403 403 401 403",
        html=Http("POST", "/c/{slug}/threads/{thread}/posts", {"body": POST_BODY}),
        api=Http("POST", "/api/v1/threads/{thread}/posts", {"body": POST_BODY}, ok=201),
        socket=Emit("post", {"thread_id": "{thread}", "body": POST_BODY}),
        done=f"SELECT EXISTS (SELECT 1 FROM posts WHERE thread_id = {{thread}}"
             f" AND author_id = {{actor}} AND body_md = '{POST_BODY}')"),
    Row("edit-own-post",       "ok  ok  ok  ok  ok  403 403 403 401 403",
        html=Http("POST", "/c/{slug}/posts/{own_post}/edit", {"body": EDITED}),
        api=Http("PATCH", "/api/v1/posts/{own_post}", {"body": EDITED}),
        done=f"SELECT body_md = '{EDITED}' FROM posts WHERE id = {{own_post}}"),
    # Edits are posts (issue #18): not of a hidden post, not in a locked thread ("closed": 403
    # with the code `closed`), whoever asks.
    Row("edit-own-hidden-post", "403 403 403 403 403 403 403 403 401 403",
        setup="hide_own",
        html=Http("POST", "/c/{slug}/posts/{own_post}/edit", {"body": EDITED}),
        api=Http("PATCH", "/api/v1/posts/{own_post}", {"body": EDITED}),
        done=f"SELECT body_md = '{EDITED}' FROM posts WHERE id = {{own_post}}"),
    Row("edit-own-post-in-locked-thread",
        "closed closed closed closed closed 403 403 403 401 403",
        setup="locked",
        html=Http("POST", "/c/{slug}/posts/{own_post}/edit", {"body": EDITED}),
        api=Http("PATCH", "/api/v1/posts/{own_post}", {"body": EDITED}),
        done=f"SELECT body_md = '{EDITED}' FROM posts WHERE id = {{own_post}}"),
    Row("edit-others-post",    "403 403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/posts/{other_post}/edit", {"body": EDITED}),
        api=Http("PATCH", "/api/v1/posts/{other_post}", {"body": EDITED}),
        done=f"SELECT body_md = '{EDITED}' FROM posts WHERE id = {{other_post}}"),
    # Authors may withdraw their words even when muted or removed (it harms nobody).
    Row("delete-own-post",     "ok  ok  ok  ok  ok  403 ok  ok  401 403",
        html=Http("POST", "/c/{slug}/posts/{own_post}/delete"),
        api=Http("DELETE", "/api/v1/posts/{own_post}"),
        done="SELECT status = 'deleted' FROM posts WHERE id = {own_post}"),
    Row("delete-others-post",  "403 403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/posts/{other_post}/delete"),
        api=Http("DELETE", "/api/v1/posts/{other_post}"),
        done="SELECT status = 'deleted' FROM posts WHERE id = {other_post}"),
    # Replies only to posts the replier can see (issue #18): a post awaiting approval or
    # hidden is, to anyone but its author and its facilitators, as if it did not exist (422).
    Row("reply-to-visible-post", "ok ok  ok  ok  ok  403 403 403 401 403",
        html=Http("POST", "/c/{slug}/threads/{thread}/posts",
                  {"body": POST_BODY, "reply_to": "{other_post}"}),
        api=Http("POST", "/api/v1/threads/{thread}/posts",
                 {"body": POST_BODY, "reply_to": "{other_post}"}, ok=201),
        socket=Emit("post", {"thread_id": "{thread}", "body": POST_BODY,
                             "reply_to": "{other_post}"}),
        done="SELECT EXISTS (SELECT 1 FROM posts WHERE reply_to_id = {other_post}"
             " AND author_id = {actor})"),
    Row("reply-to-pending-post", "ok ok  422 422 422 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/threads/{thread}/posts",
                  {"body": POST_BODY, "reply_to": "{pending_post}"}),
        api=Http("POST", "/api/v1/threads/{thread}/posts",
                 {"body": POST_BODY, "reply_to": "{pending_post}"}, ok=201),
        socket=Emit("post", {"thread_id": "{thread}", "body": POST_BODY,
                             "reply_to": "{pending_post}"}),
        done="SELECT EXISTS (SELECT 1 FROM posts WHERE reply_to_id = {pending_post}"
             " AND author_id = {actor})",
        may_touch=("read_state",)),
    Row("reply-to-hidden-post", "ok  ok  422 422 422 403 403 403 401 403",
        setup="hide_other",
        html=Http("POST", "/c/{slug}/threads/{thread}/posts",
                  {"body": POST_BODY, "reply_to": "{other_post}"}),
        api=Http("POST", "/api/v1/threads/{thread}/posts",
                 {"body": POST_BODY, "reply_to": "{other_post}"}, ok=201),
        socket=Emit("post", {"thread_id": "{thread}", "body": POST_BODY,
                             "reply_to": "{other_post}"}),
        done="SELECT EXISTS (SELECT 1 FROM posts WHERE reply_to_id = {other_post}"
             " AND author_id = {actor})",
        may_touch=("read_state",)),
    Row("flag",                "ok  ok  ok  ok  ok  ok  403 403 401 403",
        html=Http("POST", "/c/{slug}/posts/{other_post}/flag", {"reason": "spam"}),
        api=Http("POST", "/api/v1/posts/{other_post}/flags", {"reason": "spam"}, ok=201),
        socket=Emit("flag", {"post_id": "{other_post}", "reason": "spam"}),
        done="SELECT EXISTS (SELECT 1 FROM flags WHERE post_id = {other_post}"
             " AND flagger_id = {actor})"),
    # --- moderation -----------------------------------------------------------------------------
    Row("hide-post",           "ok  ok  403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/posts/{other_post}/moderate", HIDE),
        api=Http("POST", "/api/v1/posts/{other_post}/moderation", HIDE),
        socket=Emit("moderate", {"post_id": "{other_post}", **HIDE}),
        done="SELECT status = 'hidden' FROM posts WHERE id = {other_post}"),
    Row("hide-post-in-scoped-session", "ok ok ok 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/posts/{other_post2}/moderate", HIDE),
        api=Http("POST", "/api/v1/posts/{other_post2}/moderation", HIDE),
        socket=Emit("moderate", {"post_id": "{other_post2}", **HIDE}),
        done="SELECT status = 'hidden' FROM posts WHERE id = {other_post2}"),
    Row("approve-post",        "ok  ok  403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/posts/{pending_post}/moderate", {"action": "approve"}),
        api=Http("POST", "/api/v1/posts/{pending_post}/moderation", {"action": "approve"}),
        socket=Emit("moderate", {"post_id": "{pending_post}", "action": "approve"}),
        done="SELECT status = 'visible' FROM posts WHERE id = {pending_post}"),
    Row("pin-thread",          "ok  ok  403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/threads/{thread}/moderate", {"action": "pin"}),
        api=Http("POST", "/api/v1/threads/{thread}/moderation", {"action": "pin"}),
        socket=Emit("moderate", {"thread_id": "{thread}", "action": "pin"}),
        done="SELECT pinned_at IS NOT NULL FROM threads WHERE id = {thread}"),
    Row("lock-thread",         "ok  ok  403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/threads/{thread}/moderate",
                  {"action": "lock", "reason": "Cooling off"}),
        api=Http("POST", "/api/v1/threads/{thread}/moderation",
                 {"action": "lock", "reason": "Cooling off"}),
        socket=Emit("moderate", {"thread_id": "{thread}", "action": "lock",
                                 "reason": "Cooling off"}),
        done="SELECT locked_at IS NOT NULL FROM threads WHERE id = {thread}"),
    Row("mute-member",         "ok  ok  403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/members/{bystander}/moderate",
                  {"action": "mute", "minutes": "30", "reason": "Heated"}),
        api=Http("POST", "/api/v1/conferences/{slug}/members/{bystander}/moderation",
                 {"action": "mute", "minutes": 30, "reason": "Heated"}),
        socket=Emit("moderate", {"user_id": "{bystander}", "conference": "{slug}",
                                 "action": "mute", "minutes": 30, "reason": "Heated"}),
        done="SELECT coalesce(muted_until > now(), false) FROM memberships WHERE conference_id = {conference}"
             " AND user_id = {bystander}"),
    Row("remove-member",       "ok  ok  403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/members/{bystander}/moderate",
                  {"action": "remove", "reason": "Abuse"}),
        api=Http("POST", "/api/v1/conferences/{slug}/members/{bystander}/moderation",
                 {"action": "remove", "reason": "Abuse"}),
        socket=Emit("moderate", {"user_id": "{bystander}", "conference": "{slug}",
                                 "action": "remove", "reason": "Abuse"}),
        done="SELECT status = 'removed' FROM memberships WHERE conference_id = {conference}"
             " AND user_id = {bystander}"),
    Row("moderation-queue",    "ok  ok  ok  403 403 403 403 403 401 403",
        html=Http("GET", "/c/{slug}/moderation", shows="{pending2_text}"),
        api=Http("GET", "/api/v1/conferences/{slug}/moderation", shows="{pending2_text}"),
        socket=Join("moderation:{conference}",
                    probes=("moderation:{conference}",
                            "moderation:{conference}:session:{session2}"))),
    # --- panels ---------------------------------------------------------------------------------
    Row("ask",                 "ok  ok  ok  ok  ok  403 403 403 401 403",
        html=Http("POST", "/c/{slug}/panels/{panel}/questions", {"body": "Why?"}),
        api=Http("POST", "/api/v1/panels/{panel}/questions", {"body": "Why?"}, ok=201),
        socket=Emit("ask", {"session_id": "{panel}", "body": "Why?"}),
        done="SELECT EXISTS (SELECT 1 FROM questions WHERE session_id = {panel}"
             " AND author_id = {actor})"),
    Row("vote",                "ok  ok  ok  ok  ok  403 403 403 401 403",
        html=Http("POST", "/c/{slug}/panels/{panel}/questions/{question}/vote"),
        api=Http("POST", "/api/v1/questions/{question}/vote"),
        socket=Emit("vote", {"question_id": "{question}"}),
        done="SELECT EXISTS (SELECT 1 FROM question_votes WHERE question_id = {question}"
             " AND user_id = {actor})"),
    Row("answer",              "ok  403 403 ok  403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/panels/{panel}/questions/{question}/answers",
                  {"body": "Because."}),
        api=Http("POST", "/api/v1/questions/{question}/answers", {"body": "Because."}, ok=201),
        done="SELECT EXISTS (SELECT 1 FROM answers WHERE question_id = {question}"
             " AND speaker_id = {actor})"),
    Row("mark-question-answering", "ok ok 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/panels/{panel}/questions/{question}/state",
                  {"action": "answering"}),
        api=Http("POST", "/api/v1/questions/{question}/state", {"action": "answering"}),
        done="SELECT status = 'answering' FROM questions WHERE id = {question}"),
    # --- organisers -------------------------------------------------------------------------------
    Row("manage-page",         "ok  403 403 403 403 403 403 403 401 403",
        html=Http("GET", "/c/{slug}/manage", shows="Details and dates")),
    # The organiser's console (issue #22): its pages and the settings they save.
    Row("console-people",      "ok  403 403 403 403 403 403 403 401 403",
        html=Http("GET", "/c/{slug}/manage/people", shows="{bystander_email}")),
    Row("console-programme",   "ok  403 403 403 403 403 403 403 401 403",
        html=Http("GET", "/c/{slug}/manage/programme", shows="Add a session")),
    Row("console-panels",      "ok  403 403 403 403 403 403 403 401 403",
        html=Http("GET", "/c/{slug}/manage/panels/{panel}", shows="Approve questions first")),
    Row("moderation-settings", "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/moderation",
                  {"flag_threshold": "7", "premoderate_first_posts": "2"}),
        api=Http("PATCH", "/api/v1/conferences/{slug}/settings/moderation",
                 {"flag_threshold": 7, "premoderate_first_posts": 2}),
        done="SELECT flag_threshold = 7 AND premoderate_first_posts = 2 FROM conferences"
             " WHERE id = {conference}"),
    Row("panel-settings",      "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/panels/{panel}", {"questions_premoderated": "on"}),
        api=Http("PATCH", "/api/v1/sessions/{panel}/panel-settings",
                 {"questions_premoderated": True}),
        done="SELECT questions_premoderated FROM sessions WHERE id = {panel}"),
    Row("registration-settings", "ok 403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/registration", {"registration": "approval"}),
        api=Http("PATCH", "/api/v1/conferences/{slug}/settings/registration",
                 {"registration": "approval"}),
        done="SELECT registration = 'approval' FROM conferences WHERE id = {conference}"),
    Row("export-settings",     "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/exports", {"facilitators_may_export": "on"}),
        api=Http("PATCH", "/api/v1/conferences/{slug}/settings/exports",
                 {"facilitators_may_export": True}),
        done="SELECT facilitators_may_export FROM conferences WHERE id = {conference}"),
    Row("files-settings",      "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/files",
                  {"post_files_enabled": "on", "post_file_max_mb": "5", "post_files_max": "4",
                   "kind_pdf": "on"}),
        api=Http("PATCH", "/api/v1/conferences/{slug}/settings/files",
                 {"post_files_enabled": True, "post_files_max": 4, "post_file_kinds": ["pdf"]}),
        done="SELECT post_files_enabled AND post_files_max = 4 FROM conferences"
             " WHERE id = {conference}"),
    Row("add-several-sessions", "ok 403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/programme/sessions",
                  {"lines": "{day1_date} | 23:58-23:59 | Break | Pasted break"}),
        done="SELECT EXISTS (SELECT 1 FROM sessions WHERE conference_id = {conference}"
             " AND title = 'Pasted break')"),
    Row("duplicate-session",   "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/sessions/{session}/duplicate", {}),
        done="SELECT count(*) = 2 FROM sessions WHERE conference_id = {conference}"
             " AND title = (SELECT title FROM sessions WHERE id = {session})"),
    Row("duplicate-day",       "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/programme/duplicate-day",
                  {"from_date": "{day1_date}", "to_date": "{day2_date}"}),
        done="SELECT count(*) = 6 FROM sessions WHERE conference_id = {conference}"),
    Row("edit-conference",     "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage",
                  {"title": "Renamed", "summary": "", "code_of_conduct": "",
                   "timezone": "Europe/London", "starts_at": "{starts_local}",
                   "ends_at": "{ends_local}", "visibility": "public"}),
        api=Http("PATCH", "/api/v1/conferences/{slug}", {"title": "Renamed"}),
        done="SELECT title = 'Renamed' FROM conferences WHERE id = {conference}"),
    Row("unpublish-conference", "ok 403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/publish", {"published": "no"}),
        api=Http("PUT", "/api/v1/conferences/{slug}/published", {"published": False}),
        done="SELECT published_at IS NULL FROM conferences WHERE id = {conference}"),
    Row("add-session",         "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/sessions",
                  {"session_kind": "discussion", "session_title": "Added session",
                   "session_starts_at": "{day2_local}", "session_ends_at": "{day2_end_local}"}),
        api=Http("POST", "/api/v1/conferences/{slug}/sessions",
                 {"kind": "discussion", "title": "Added session",
                  "starts_at": "{day2_local}", "ends_at": "{day2_end_local}"}, ok=201),
        done="SELECT EXISTS (SELECT 1 FROM sessions WHERE conference_id = {conference}"
             " AND title = 'Added session')"),
    Row("move-session",        "ok  403 403 403 403 403 403 403 401 403",
        api=Http("PATCH", "/api/v1/sessions/{session2}",
                 {"starts_at": "{day2_local}", "ends_at": "{day2_end_local}"}),
        done="SELECT starts_at > now() FROM sessions WHERE id = {session2}"),
    Row("delete-session",      "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/sessions/{session2}/delete"),
        api=Http("DELETE", "/api/v1/sessions/{session2}", ok=204),
        done="SELECT NOT EXISTS (SELECT 1 FROM sessions WHERE id = {session2})"),
    Row("members",             "ok  403 403 403 403 403 403 403 401 403",
        api=Http("GET", "/api/v1/conferences/{slug}/members", shows="{bystander_email}")),
    Row("assign-role",         "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/roles",
                  {"role_email": "{bystander_email}", "role_role": "observer"}),
        api=Http("POST", "/api/v1/conferences/{slug}/roles",
                 {"email": "{bystander_email}", "role": "observer"}),
        done="SELECT role = 'observer' FROM memberships WHERE conference_id = {conference}"
             " AND user_id = {bystander}"),
    # --- files (issue #25): papers and slides on a session, files on one's own post ------------
    Row("add-session-file",    "ok  ok  403 ok  403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/sessions/{panel}/files", {"title": "Slides"},
                  file=FILE_PDF),
        api=Http("POST", "/api/v1/sessions/{panel}/files", {"title": "Slides"}, ok=201,
                 file=FILE_PDF),
        done="SELECT EXISTS (SELECT 1 FROM files WHERE session_id = {panel}"
             " AND uploader_id = {actor})"),
    Row("add-file-to-own-post", "ok ok  ok  ok  ok  403 403 403 401 403",
        setup="post_files",
        html=Http("POST", "/c/{slug}/posts/{own_post}/files", {"title": "Paper"},
                  file=FILE_PDF),
        api=Http("POST", "/api/v1/posts/{own_post}/files", {"title": "Paper"}, ok=201,
                 file=FILE_PDF),
        done="SELECT EXISTS (SELECT 1 FROM files WHERE post_id = {own_post})"),
    Row("assign-panel-speaker", "ok 403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/manage/roles",
                  {"role_email": "{bystander_email}", "role_role": "speaker",
                   "sessions": "{panel}"}),
        api=Http("POST", "/api/v1/conferences/{slug}/roles",
                 {"email": "{bystander_email}", "role": "speaker", "sessions": ["{panel}"]}),
        done="SELECT EXISTS (SELECT 1 FROM session_speakers WHERE session_id = {panel}"
             " AND user_id = {bystander})"),
    Row("export-transcript",   "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/export", {"format": "md"}, ok=200, shows="{opening_text}"),
        api=Http("POST", "/api/v1/conferences/{slug}/exports", {"format": "json"},
                 shows="{opening_text}"),
        done="SELECT EXISTS (SELECT 1 FROM audit_log WHERE conference_id = {conference}"
             " AND actor_id = {actor} AND action = 'transcript.export')"),
    Row("participation-report", "ok 403 403 403 403 403 403 403 401 403",
        html=Http("GET", "/c/{slug}/report", shows="Participation")),
    Row("registrations",       "ok  403 403 403 403 403 403 403 401 403",
        html=Http("GET", "/c/{slug}/members", shows="Requests and waitlist"),
        api=Http("GET", "/api/v1/conferences/{slug}/registrations", shows='"waitlisted"')),
    Row("invite",              "ok  403 403 403 403 403 403 403 401 403",
        html=Http("POST", "/c/{slug}/invitations",
                  {"emails": "invitee@example.org", "role": "participant"}),
        api=Http("POST", "/api/v1/conferences/{slug}/invitations",
                 {"emails": "invitee@example.org", "role": "participant"}, ok=201),
        done="SELECT EXISTS (SELECT 1 FROM invitations WHERE conference_id = {conference})"),
    # Joining again changes nothing for members; a removed member may not come back.
    Row("join",                "ok  ok  ok  ok  ok  ok  ok  403 401 ok",
        html=Http("POST", "/c/{slug}/join", {"accept_code_of_conduct": "yes"}),
        api=Http("POST", "/api/v1/conferences/{slug}/join", {"accept_code_of_conduct": True}),
        done="SELECT EXISTS (SELECT 1 FROM memberships WHERE conference_id = {conference}"
             " AND user_id = {actor} AND status = 'active')",
        fresh=False),
]
# fmt: on

CASES = [
    pytest.param(row, actor, transport, id=f"{row.action}-{actor}-{transport}")
    for row in TABLE
    for transport in row.transports
    for actor in ACTORS
]
SOCKET_CODES = {
    "401": "unauthorized",
    "403": "forbidden",
    "404": "not_found",
    "422": "invalid",
    "closed": "closed",
}
STATUSES = {"closed": 403}  # outcomes that name a code rather than a status
API_CODES = SOCKET_CODES
# Written by background tasks at any time (the mail sender works through the outbox).
NOT_WATCHED = frozenset({"outbox"})


# --- one database and one server for the module ------------------------------------------------


@dataclass
class Env:
    server: TestServer
    pool: asyncpg.Pool
    http: aiohttp.ClientSession
    settings: Settings
    csrf_cookie: str
    csrf_token: str
    tables: list[str]

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


@contextlib.asynccontextmanager
async def environment(
    pg_uri: str, *, port: int | None = None, providers: tuple[Any, ...] = ()
) -> AsyncIterator[Env]:
    """One database and one server; `port` and `providers` for sign-in with a provider (its
    redirect URI is built from BASE_URL, so the server's port must be known first)."""
    name = f"t_perm_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_uri)
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    finally:
        await admin.close()
    url = _with_db(pg_uri, name)
    # The table is about permissions: rate limits would refuse some of ~800 requests from
    # one address within a minute.
    settings = Settings(
        database_url=url,
        secret_key="test-secret",
        base_url=f"http://127.0.0.1:{port}" if port else "http://127.0.0.1",
        rate_limits="off",
        oidc_providers=providers,
    )
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    pool = await db.create_pool(url, max_size=5)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    # A CSRF cookie and its token, as a page hands them to a browser; the token is not tied
    # to a sign-in, so every actor can use the pair.
    async with http.get(str(server.make_url("/login"))) as r:
        cookie = r.cookies["confer_csrf"].value
        m = CSRF_META.search(await r.text())
        assert m is not None
    tables = [
        t
        for (t,) in await pool.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        if t not in NOT_WATCHED
    ]
    try:
        yield Env(server, pool, http, settings, cookie, m.group(1), tables)
    finally:
        await http.close()
        await pool.close()
        await server.close()
        admin = await asyncpg.connect(pg_uri)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(pg_uri: str, template_uri: str) -> AsyncIterator[Env]:
    async with environment(pg_uri) as e:
        yield e


# --- the scene -----------------------------------------------------------------------------------


@dataclass
class Scene:
    ids: dict[str, Any]
    user_ids: dict[str, int]
    session_token: str | None

    def fill(self, value: Any) -> Any:
        """Placeholders replaced: "{thread}" alone becomes the id itself (an int)."""
        if isinstance(value, str):
            whole = re.fullmatch(r"\{(\w+)\}", value)
            if whole:
                return self.ids[whole.group(1)]
            return value.format_map(self.ids)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value

    def sql(self, query: str) -> str:
        """A probe with ids written in (all integers the test made, or NULL)."""
        return query.format_map(
            {k: ("NULL" if v is None else v) for k, v in self.ids.items() if not isinstance(v, str)}
        )


PEOPLE = {
    "organiser": ("Olive Organiser", "organiser"),
    "facilitator": ("Fran Facilitator", "facilitator"),
    "scoped": ("Sam Scoped", "facilitator"),
    "speaker": ("Sunil Speaker", "speaker"),
    "participant": ("Pat Participant", "participant"),
    "observer": ("Owen Observer", "observer"),
    "muted": ("Mo Muted", "participant"),
    "removed": ("Rae Removed", "participant"),
    "bystander": ("Bea Bystander", "participant"),
}
WITH_OWN_POST = ("organiser", "facilitator", "scoped", "speaker", "participant", "muted", "removed")


async def build_scene(env: Env, actor: str, setup: str | None) -> Scene:
    """A live public conference: discussion session 1 (thread 1, where only facilitators start
    threads), session 2 (thread 2, open to participants' threads, facilitated by `scoped`) and
    a panel with one question; everyone's own post in thread 1; a bystander's visible and
    pending posts in both threads. Plus another conference, where the outsider belongs."""
    from confer.threads import queries as threads_q

    tag = uuid.uuid4().hex[:10]
    ids: dict[str, Any] = {}
    users: dict[str, int] = {}
    async with env.pool.acquire() as con, con.transaction():
        for slug_key in ("slug", "other_slug"):
            row = await con.fetchrow(
                """
                INSERT INTO conferences (slug, title, summary_md, summary_html, timezone,
                                         starts_at, ends_at, visibility, published_at)
                VALUES ($1, $2, '', '', 'Europe/London', now() - interval '1 hour',
                        now() + interval '3 days', 'public', now())
                RETURNING id, slug
                """,
                f"{slug_key.replace('_', '-')}-{tag}",
                f"Permissions {tag}",
            )
            ids[slug_key] = row["slug"]
            ids["conference" if slug_key == "slug" else "other_conference"] = row["id"]
        cid = ids["conference"]
        for key, kind, open_threads in (
            ("session", "discussion", False),
            ("session2", "discussion", True),
            ("panel", "panel", False),
        ):
            ids[key] = await con.fetchval(
                """
                INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at,
                                      participants_start_threads)
                VALUES ($1, $2, $3, now() - interval '1 hour', now() + interval '2 hours', $4)
                RETURNING id
                """,
                cid,
                kind,
                f"{key} {tag}",
                open_threads,
            )
        for who, (name, role) in PEOPLE.items():
            email = f"{who}-{tag}@example.org"
            users[who] = await con.fetchval(
                "INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id", email, name
            )
            await con.execute(
                """
                INSERT INTO memberships (conference_id, user_id, role, facilitates, status,
                                         muted_until, coc_accepted_at, registered_at)
                VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() + interval '1 hour' END,
                        now(), now())
                """,
                cid,
                users[who],
                role,
                "sessions" if who == "scoped" else "conference",
                "removed" if who == "removed" else "active",
                who == "muted",
            )
        ids["bystander_email"] = f"bystander-{tag}@example.org"
        users["outsider"] = await con.fetchval(
            "INSERT INTO users (email, name) VALUES ($1, 'Oscar Outsider') RETURNING id",
            f"outsider-{tag}@example.org",
        )
        await con.execute(
            "INSERT INTO memberships (conference_id, user_id, role, coc_accepted_at)"
            " VALUES ($1, $2, 'participant', now())",
            ids["other_conference"],
            users["outsider"],
        )
        await con.execute(
            "INSERT INTO session_facilitators (session_id, user_id) VALUES ($1, $2)",
            ids["session2"],
            users["scoped"],
        )
        await con.execute(
            "INSERT INTO session_speakers (session_id, user_id, position) VALUES ($1, $2, 0)",
            ids["panel"],
            users["speaker"],
        )

        async def post(thread: int, author: str, text: str, status: str = "visible") -> int:
            return await insert_post(
                con, thread, users[author], None, text, f"<p>{text}</p>\n", None, status
            )

        ids["thread"] = await threads_q.insert_thread(
            con, cid, ids["session"], f"Thread {tag}", users["facilitator"]
        )
        ids["thread2"] = await threads_q.insert_thread(
            con, cid, ids["session2"], f"Thread two {tag}", users["facilitator"]
        )
        ids["opening_text"] = f"Opening post about quixotic budgets {tag}"
        ids["opening_post"] = await post(ids["thread"], "facilitator", ids["opening_text"])
        own = {"facilitator": ids["opening_post"]}
        for who in WITH_OWN_POST:
            if who not in own:
                own[who] = await post(ids["thread"], who, f"Own post by {who} {tag}")
        ids["other_post"] = await post(ids["thread"], "bystander", f"Bystander post {tag}")
        ids["pending_post"] = await post(
            ids["thread"], "bystander", f"Pending post {tag}", "pending"
        )
        ids["other_post2"] = await post(ids["thread2"], "bystander", f"Bystander two {tag}")
        ids["pending2_text"] = f"Pending in session two {tag}"
        await post(ids["thread2"], "bystander", ids["pending2_text"], "pending")
        ids["question_text"] = f"Question from the floor {tag}"
        ids["question"] = await con.fetchval(
            """
            INSERT INTO questions (session_id, conference_id, author_id, body_md, body_html)
            VALUES ($1, $2, $3, $4, $5)
            RETURNING id
            """,
            ids["panel"],
            cid,
            users["bystander"],
            ids["question_text"],
            f"<p>{ids['question_text']}</p>\n",
        )
        times = await con.fetchrow(
            """
            SELECT to_char(starts_at AT TIME ZONE timezone, 'YYYY-MM-DD"T"HH24:MI') AS s,
                   to_char(ends_at AT TIME ZONE timezone, 'YYYY-MM-DD"T"HH24:MI') AS e,
                   to_char((starts_at + interval '1 day') AT TIME ZONE timezone,
                           'YYYY-MM-DD"T"HH24:MI') AS d2,
                   to_char((starts_at + interval '1 day 1 hour') AT TIME ZONE timezone,
                           'YYYY-MM-DD"T"HH24:MI') AS d2e
            FROM conferences WHERE id = $1
            """,
            cid,
        )
        ids.update(
            starts_local=times["s"],
            ends_local=times["e"],
            day2_local=times["d2"],
            day2_end_local=times["d2e"],
            day1_date=times["s"][:10],
            day2_date=times["d2"][:10],
        )
        if setup == "members_only":
            await con.execute("UPDATE conferences SET visibility = 'members' WHERE id = $1", cid)
        elif setup == "draft":
            await con.execute("UPDATE conferences SET published_at = NULL WHERE id = $1", cid)
        elif setup == "locked":
            await con.execute(
                "UPDATE threads SET locked_at = now(), lock_reason = 'Cooling off' WHERE id = $1",
                ids["thread"],
            )
        elif setup == "hide_other":
            await con.execute(
                "UPDATE posts SET status = 'hidden', hidden_reason = 'Rude' WHERE id = $1",
                ids["other_post"],
            )
        elif setup == "post_files":
            await con.execute("UPDATE conferences SET post_files_enabled = true WHERE id = $1", cid)
        else:
            assert setup in (None, "hide_own"), setup
    ids["bystander"] = users["bystander"]
    ids["actor"] = users.get(actor)
    ids["own_post"] = own.get(actor, ids["other_post"])
    if setup == "hide_own" and actor in own:
        await env.pool.execute(
            "UPDATE posts SET status = 'hidden', hidden_reason = 'Rude' WHERE id = $1",
            ids["own_post"],
        )
    token = None
    if actor != "anonymous":
        token = await accounts.start_login(env.pool, env.settings, users[actor])
    return Scene(ids, users, token)


# --- "nothing changed" -----------------------------------------------------------------------


async def watermark(env: Env) -> tuple[int, dict[str, int]]:
    """A transaction id taken now, and every watched table's row count."""
    xid = await env.pool.fetchval("SELECT txid_current() % 4294967296")
    return xid, await _counts(env, None)


async def _counts(env: Env, newer_than: int | None) -> dict[str, int]:
    where = "" if newer_than is None else f" WHERE xmin::text::bigint > {newer_than}"
    query = " UNION ALL ".join(
        f"SELECT '{t}' AS name, count(*) AS n FROM \"{t}\"{where}" for t in env.tables
    )
    return {r["name"]: r["n"] for r in await env.pool.fetch(query)}


async def changes_since(env: Env, mark: tuple[int, dict[str, int]]) -> list[str]:
    xid, counts = mark
    written = await _counts(env, xid)
    now = await _counts(env, None)
    out = [f"{t}: {n} row(s) written" for t, n in written.items() if n]
    out += [f"{t}: {counts[t] - n} row(s) deleted" for t, n in now.items() if n < counts[t]]
    return out


# --- running one case ---------------------------------------------------------------------------


@dataclass
class Outcome:
    ok: bool
    detail: str
    problems: list[str] = field(default_factory=list)


async def run_http(env: Env, scene: Scene, spec: Http, api: bool, expected: str) -> Outcome:
    cookies = [f"confer_csrf={env.csrf_cookie}"]
    if scene.session_token:
        cookies.append(f"confer_session={scene.session_token}")
    headers = {"Cookie": "; ".join(cookies)}
    kwargs: dict[str, Any] = {}
    if spec.method != "GET":
        if spec.file is not None:
            # A multipart upload, fields first (the CSRF token in the form, as a browser
            # sends it), the file last.
            upload = aiohttp.FormData()
            if not api:
                upload.add_field("csrf_token", env.csrf_token)
            for k, v in scene.fill(spec.data or {}).items():
                upload.add_field(k, str(v))
            upload.add_field("file", spec.file, filename="paper.pdf")
            if api:
                headers["X-CSRF-Token"] = env.csrf_token
            kwargs["data"] = upload
        elif api:
            headers["X-CSRF-Token"] = env.csrf_token
            kwargs["json"] = scene.fill(spec.data or {})
        else:
            form = {k: str(v) for k, v in scene.fill(spec.data or {}).items()}
            kwargs["data"] = {**form, "csrf_token": env.csrf_token}
    path = scene.fill(spec.path)
    async with env.http.request(
        spec.method, env.url(path), headers=headers, allow_redirects=False, **kwargs
    ) as r:
        text = await r.text()
        status, location = r.status, r.headers.get("Location", "")
    detail = f"{spec.method} {path} -> {status} {location} {text[:300]!r}"
    problems = []
    if expected == "ok":
        ok_status = spec.ok or (200 if spec.method == "GET" or api else 303)
        if status != ok_status:
            problems.append(f"expected {ok_status}")
        if spec.shows and scene.fill(spec.shows) not in text:
            problems.append(f"the response does not show {scene.fill(spec.shows)!r}")
        return Outcome(not problems, detail, problems)
    expected_status = STATUSES.get(expected) or int(expected)
    if api:
        if status != expected_status:
            problems.append(f"expected {expected}")
        elif f'"code": "{API_CODES[expected]}"' not in text:
            problems.append(f"expected the error code {API_CODES[expected]!r}")
    elif expected == "401":
        if status != 303 or not location.startswith("/login?next="):
            problems.append("expected 303 to /login?next=...")
    elif status != expected_status:
        problems.append(f"expected {expected_status}")
    return Outcome(False, detail, problems)


async def run_socket(env: Env, scene: Scene, spec: Emit | Join, expected: str) -> Outcome:
    client = socketio.AsyncClient(reconnection=False)
    probes: list[Any] = []
    sentinel = asyncio.Event()

    async def on_probe(data: Any) -> None:
        probes.append(data)

    async def on_sentinel(data: Any) -> None:
        sentinel.set()

    client.on("perm:probe", on_probe)
    client.on("perm:sentinel", on_sentinel)
    headers = {"Cookie": f"confer_session={scene.session_token}"} if scene.session_token else {}
    await client.connect(
        str(env.server.make_url("/")), headers=headers, transports=["websocket"], wait_timeout=10
    )
    try:
        if isinstance(spec, Join):
            room = scene.fill(spec.room)
            payload: dict[str, Any] = {"room": room}
            if spec.after is not None:
                payload["after"] = spec.after
            ack = await client.call("join", payload, timeout=10)
            # Does the room reach this socket? Emit into it, then a sentinel to the socket
            # itself: events to one socket keep their order, so once the sentinel is here,
            # a probe that is coming has come.
            sio = env.server.app[sio_key]
            for probe_room in spec.probes or (spec.room,):
                await sio.emit("perm:probe", {"room": probe_room}, room=scene.fill(probe_room))
            await sio.emit("perm:sentinel", {}, to=client.get_sid("/"))
            await asyncio.wait_for(sentinel.wait(), 10)
        else:
            ack = await client.call(spec.event, scene.fill(spec.data), timeout=10)
    finally:
        await client.disconnect()
    detail = f"{spec} -> {ack!r}"[:600]
    problems = []
    if expected == "ok":
        if not ack.get("ok"):
            problems.append("expected ok")
        if isinstance(spec, Join):
            if not probes:
                problems.append("an event sent to the room did not arrive")
            if spec.after is not None and scene.ids["opening_post"] not in [
                p["id"] for p in ack.get("missed", [])
            ]:
                problems.append("the catch-up did not carry the opening post")
        return Outcome(not problems, detail, problems)
    error = ack.get("error") or {}
    if ack.get("ok") is not False or error.get("code") != SOCKET_CODES[expected]:
        problems.append(f"expected the error {SOCKET_CODES[expected]!r}")
    if probes:
        problems.append(f"a refused socket still received the room's events: {probes}")
    return Outcome(False, detail, problems)


@pytest.mark.parametrize(("row", "actor", "transport"), CASES)
async def test_permission(env: Env, row: Row, actor: str, transport: str) -> None:
    scene = await build_scene(env, actor, row.setup)
    expected = row.outcome(actor)
    done_sql = scene.sql(row.done) if row.done else None
    if done_sql and row.fresh:
        assert await env.pool.fetchval(done_sql) is False, f"{row.action}: done before it began"
    mark = await watermark(env)
    if transport == "socket":
        assert row.socket is not None
        outcome = await run_socket(env, scene, row.socket, expected)
    else:
        spec = getattr(row, transport)
        outcome = await run_http(env, scene, spec, transport == "api", expected)
    what = f"{actor} {row.action} over {transport}"
    await check_verdict(env, what, outcome, expected, done_sql, mark, row.may_touch)


async def check_verdict(
    env: Env,
    what: str,
    outcome: Outcome,
    expected: str,
    done_sql: str | None,
    mark: Any,
    may_touch: tuple[str, ...] = (),
) -> None:
    """The answer was the expected one; allowed, it was done; refused, nothing changed in
    the database (but for the tables the row says a refusal may write)."""
    assert not outcome.problems, f"{what}: " + "; ".join(outcome.problems) + f"\n{outcome.detail}"
    if expected == "ok":
        if done_sql:
            assert await env.pool.fetchval(done_sql) is True, (
                f"{what} was answered as allowed, but it was not done: {done_sql}\n{outcome.detail}"
            )
    else:
        changed = [c for c in await changes_since(env, mark) if c.split(":")[0] not in may_touch]
        assert not changed, (
            f"{what} was refused, yet the database changed: {changed}\n{outcome.detail}"
        )
        if done_sql:
            assert await env.pool.fetchval(done_sql) is not True


async def test_the_table_covers_every_actor_with_a_known_outcome() -> None:
    seen = set()
    for row in TABLE:
        assert row.action not in seen, f"two rows named {row.action}"
        seen.add(row.action)
        assert row.transports, row.action
        for actor in ACTORS:
            assert row.outcome(actor) in ("ok", "401", "403", "404", "422", "closed"), (
                row.action,
                actor,
            )
        writes = any(
            isinstance(s, Emit) or (isinstance(s, Http) and s.method != "GET")
            for s in (row.html, row.api, row.socket)
        )
        assert not writes or row.done, f"{row.action} writes, so it needs a `done` probe"


async def test_the_change_detector_sees_writes_and_deletions(env: Env) -> None:
    """A refused case passes only if nothing changed: prove that a change would be seen."""
    scene = await build_scene(env, "participant", None)
    mark = await watermark(env)
    assert await changes_since(env, mark) == []
    await env.pool.execute(
        "UPDATE posts SET body_md = 'changed' WHERE id = $1", scene.ids["other_post"]
    )
    # No flags on this post: deleting nothing changes nothing.
    await env.pool.execute("DELETE FROM flags WHERE post_id = $1", scene.ids["other_post"])
    assert await changes_since(env, mark) == ["posts: 1 row(s) written"]
    mark = await watermark(env)
    await env.pool.execute("DELETE FROM questions WHERE id = $1", scene.ids["question"])
    assert await changes_since(env, mark) == ["questions: 1 row(s) deleted"]


# --- erasing and exporting: who reaches an account, and a transcript ------------------------------
# A second, smaller table over the actors these paths concern (issue 18): erasure is the account
# holder's or a site admin's act; an organiser anonymises a member in their own conference only;
# an organiser of ANOTHER conference reaches nothing here. The target account is the bystander's.
#
#    organiser        an organiser of this conference
#    other_organiser  an organiser of another conference (a draft), not a member of this one
#    admin            a site administrator, not a member of this conference
#    holder           the account holder (the bystander, a participant here)
#    facilitator      a facilitator of this conference
#    participant      a participant
#    anonymous        nobody signed in

RIGHTS_ACTORS = (
    "organiser", "other_organiser", "admin", "holder", "facilitator", "participant", "anonymous",
)  # fmt: skip


@dataclass(frozen=True)
class RightsRow:
    action: str
    expect: str  # seven outcomes, in the order of RIGHTS_ACTORS
    html: Http | None = None
    api: Http | None = None
    done: str | None = None  # false before, true after an allowed action, never after a refusal
    password: bool = False  # the actor signs with a real password (their own account's erasure)

    def outcome(self, actor: str) -> str:
        outcomes = self.expect.split()
        assert len(outcomes) == len(RIGHTS_ACTORS), self.action
        return outcomes[RIGHTS_ACTORS.index(actor)]

    @property
    def transports(self) -> list[str]:
        return [t for t in ("html", "api") if getattr(self, t) is not None]


_NOT_ERASED = " AND (SELECT erased_at IS NULL FROM users WHERE id = {bystander})"
_ACTOR_ERASED = (
    "SELECT coalesce((SELECT erased_at IS NOT NULL FROM users WHERE id = {actor}), false)"
)

# fmt: off
RIGHTS_TABLE: list[RightsRow] = [
    #        outcomes:                   org oth adm hld fac par anon
    RightsRow("anonymise-in-conference", "ok  403 ok  403 403 403 401",
        html=Http("POST", "/c/{slug}/members/{bystander}/anonymise", {"requested": "on"}),
        done="SELECT NOT EXISTS (SELECT 1 FROM memberships WHERE conference_id = {conference}"
             " AND user_id = {bystander})" + _NOT_ERASED),
    RightsRow("erase-account-site-wide", "403 403 ok  403 403 403 401",
        html=Http("POST", "/c/{slug}/members/{bystander}/anonymise",
                  {"requested": "on", "scope": "account"}),
        done="SELECT erased_at IS NOT NULL FROM users WHERE id = {bystander}"),
    RightsRow("delete-own-account",      "ok  ok  ok  ok  ok  ok  401",
        html=Http("POST", "/account/delete", {"password": "correct horse battery staple"}),
        done=_ACTOR_ERASED, password=True),
    RightsRow("export-transcript",       "ok  403 ok  403 403 403 401",
        html=Http("POST", "/c/{slug}/export", {"format": "md"}, ok=200, shows="{opening_text}"),
        api=Http("POST", "/api/v1/conferences/{slug}/exports", {"format": "json"},
                 shows="{opening_text}"),
        done="SELECT EXISTS (SELECT 1 FROM audit_log WHERE conference_id = {conference}"
             " AND actor_id = {actor} AND action = 'transcript.export')"),
    # Issue #22: a site admin lets chosen users create conferences; nobody else may, and an
    # organiser may not create one until allowed.
    RightsRow("allow-conference-creator", "403 403 ok  403 403 403 401",
        html=Http("POST", "/admin/people", {"email": "{holder_email}", "allowed": "yes"}),
        done="SELECT can_create_conferences FROM users WHERE id = {bystander}"),
    RightsRow("see-conference-creators", "403 403 ok  403 403 403 401",
        html=Http("GET", "/admin/people", shows="Who can create conferences")),
    RightsRow("create-conference",       "403 403 ok  403 403 403 401",
        html=Http("POST", "/admin/conferences",
                  {"slug": "perm-{conference}", "title": "Made here",
                   "timezone": "Europe/London", "starts_at": "2030-06-01T09:00",
                   "ends_at": "2030-06-03T17:00", "visibility": "public"}),
        done="SELECT EXISTS (SELECT 1 FROM conferences WHERE slug = 'perm-{conference}')"),
    RightsRow("attendance-register-csv", "ok  403 ok  403 403 403 401",
        html=Http("GET", "/c/{slug}/report/register.csv", shows="Sessions attended")),
    RightsRow("download-own-data",       "ok  ok  ok  ok  ok  ok  401",
        html=Http("POST", "/account/data", {}, ok=200, shows="confer-personal-data"),
        done="SELECT EXISTS (SELECT 1 FROM audit_log WHERE subject_user_id = {actor}"
             " AND action = 'data.download')"),
]
# fmt: on

RIGHTS_CASES = [
    pytest.param(row, actor, transport, id=f"{row.action}-{actor}-{transport}")
    for row in RIGHTS_TABLE
    for transport in row.transports
    for actor in RIGHTS_ACTORS
]


async def build_rights_scene(env: Env, actor: str, password: bool) -> Scene:
    """build_scene's conference, plus a site admin and an organiser of another (draft)
    conference; signed in as `actor`."""
    scene = await build_scene(env, "anonymous", None)
    tag = uuid.uuid4().hex[:10]
    users = dict(scene.user_ids)
    users["holder"] = users["bystander"]
    users["admin"] = await env.pool.fetchval(
        "INSERT INTO users (email, name, is_admin) VALUES ($1, 'Ada Admin', true) RETURNING id",
        f"admin-{tag}@example.org",
    )
    users["other_organiser"] = await env.pool.fetchval(
        "INSERT INTO users (email, name) VALUES ($1, 'Mal Elsewhere') RETURNING id",
        f"elsewhere-{tag}@example.org",
    )
    draft = await env.pool.fetchval(
        """
        INSERT INTO conferences (slug, title, summary_md, summary_html, timezone, starts_at,
                                 ends_at, visibility)
        VALUES ($1, 'Elsewhere', '', '', 'Europe/London', now(), now() + interval '1 day',
                'public')
        RETURNING id
        """,
        f"elsewhere-{tag}",
    )
    await env.pool.execute(
        "INSERT INTO memberships (conference_id, user_id, role, coc_accepted_at)"
        " VALUES ($1, $2, 'organiser', now())",
        draft,
        users["other_organiser"],
    )
    ids = dict(scene.ids)
    ids["actor"] = users.get(actor)
    ids["holder_email"] = await env.pool.fetchval(
        "SELECT email FROM users WHERE id = $1", users["bystander"]
    )
    token = None
    if actor != "anonymous":
        if password:
            from confer.accounts import passwords

            await env.pool.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                users[actor],
                await passwords.hash_password("correct horse battery staple"),
            )
        token = await accounts.start_login(env.pool, env.settings, users[actor])
    return Scene(ids, users, token)


@pytest.mark.parametrize(("row", "actor", "transport"), RIGHTS_CASES)
async def test_erase_and_export_rights(
    env: Env, row: RightsRow, actor: str, transport: str
) -> None:
    scene = await build_rights_scene(env, actor, row.password)
    expected = row.outcome(actor)
    done_sql = scene.sql(row.done) if row.done else None
    if done_sql:
        assert await env.pool.fetchval(done_sql) is False, f"{row.action}: done before it began"
    mark = await watermark(env)
    spec = getattr(row, transport)
    outcome = await run_http(env, scene, spec, transport == "api", expected)
    what = f"{actor} {row.action} over {transport}"
    await check_verdict(env, what, outcome, expected, done_sql, mark)


# --- the same rights, however the account signed in (issue #26) ---------------------------------
# A sign-in with an OpenID Connect provider (a real one: npm oidc-provider, tests/oidc.py) makes
# the same kind of sign-in session as a password does. Every row of the table over HTML, for
# actors whose session was made that way, must come out exactly as the table says.

SSO_ACTORS = ("organiser", "facilitator", "participant", "observer", "removed", "outsider")
SSO_CASES = [
    pytest.param(row, actor, id=f"{row.action}-{actor}-html-sso")
    for row in TABLE
    if row.html is not None
    for actor in SSO_ACTORS
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sso_env(pg_uri: str, template_uri: str, op: OpenIDProvider) -> AsyncIterator[Env]:
    async with environment(
        pg_uri, port=free_port(), providers=(oidc_provider(op, "council"),)
    ) as e:
        yield e


class _Visitor:
    """What tests.oidc's walk needs: a server and a session with cookies."""

    def __init__(self, env: Env) -> None:
        self.server = env.server
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in_with_provider(env: Env, op: OpenIDProvider, user_id: int) -> str:
    """Link the provider's "alice" to the account, sign in through the provider in a fresh
    browser, and return the sign-in session's token that Confer set."""
    await env.pool.execute("DELETE FROM sso_identities")
    await env.pool.execute(
        "INSERT INTO sso_identities (user_id, provider, issuer, subject, email)"
        " VALUES ($1, 'council', $2, 'alice', 'alice@somecouncil.gov.uk')",
        user_id,
        op.issuer,
    )
    v = _Visitor(env)
    try:
        async with v.session.get(env.url("/login")) as r:
            m = CSRF_META.search(await r.text())
            assert m is not None
        form = {"csrf_token": m.group(1), "next": "/"}
        async with v.session.post(
            env.url("/login/sso/council"), data=form, allow_redirects=False
        ) as r:
            assert r.status == 303, await r.text()
            location = r.headers["Location"]
        callback = await walk_to_callback(v, location, "alice")
        async with v.session.get(env.url(callback), allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/", await r.text()
        token = next(c.value for c in v.session.cookie_jar if c.key == "confer_session")
    finally:
        await v.session.close()
    assert await env.pool.fetchval("SELECT user_id FROM logins ORDER BY id DESC LIMIT 1") == user_id
    return token


@pytest.mark.parametrize(("row", "actor"), SSO_CASES)
async def test_permission_signed_in_with_a_provider(
    sso_env: Env, op: OpenIDProvider, row: Row, actor: str
) -> None:
    env = sso_env
    scene = await build_scene(env, actor, row.setup)
    scene.session_token = await sign_in_with_provider(env, op, scene.user_ids[actor])
    expected = row.outcome(actor)
    done_sql = scene.sql(row.done) if row.done else None
    mark = await watermark(env)
    assert row.html is not None
    outcome = await run_http(env, scene, row.html, False, expected)
    what = f"{actor} (signed in with a provider) {row.action} over html"
    await check_verdict(env, what, outcome, expected, done_sql, mark, row.may_touch)
