"""The OpenAPI 3.1 document for /api/v1, written by hand beside the routes it describes.

tests/test_api.py checks that every documented path is routed and every API route documented.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

import confer
from confer.keys import settings_key


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": {"$ref": "#/components/responses/Error"},
    "401": {"$ref": "#/components/responses/Error"},
    "403": {"$ref": "#/components/responses/Error"},
    "404": {"$ref": "#/components/responses/Error"},
    "413": {"$ref": "#/components/responses/Error"},
    "422": {"$ref": "#/components/responses/Error"},
}


def _id_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}

STR = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
INT = {"type": "integer"}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields"],
                "properties": {
                    "code": STR,
                    "message": STR,
                    "fields": {"type": "object", "additionalProperties": STR},
                },
            }
        },
    },
    "Session": {
        "type": "object",
        "properties": {
            "id": INT,
            "kind": {"enum": ["discussion", "panel", "keynote", "break"]},
            "title": STR,
            "description_html": STR,
            "starts_at": TIME,
            "ends_at": TIME,
            "state": {"enum": ["upcoming", "open", "closed"]},
            "posting_window": {"enum": ["session", "conference"]},
            "participants_start_threads": {"type": "boolean"},
            "url": STR,
        },
    },
    "Conference": {
        "type": "object",
        "properties": {
            "id": INT,
            "slug": STR,
            "title": STR,
            "state": {"enum": ["draft", "upcoming", "live", "closed"]},
            "timezone": STR,
            "starts_at": TIME,
            "ends_at": TIME,
            "visibility": {"enum": ["public", "members"]},
            "registration": {"enum": ["open", "approval", "invite"]},
            "summary_html": STR,
            "url": STR,
            "sessions": {"type": "array", "items": _ref("Session")},
            "membership": {"type": ["object", "null"]},
        },
    },
    "Thread": {
        "type": "object",
        "properties": {
            "id": INT,
            "session_id": INT,
            "title": STR,
            "post_count": INT,
            "last_seq": INT,
            "last_change_seq": {
                "type": "integer",
                "description": "Its posts' newest change number (docs/live.md)",
            },
            "last_post_at": STR,
            "created_at": TIME,
            "posting_state": {"enum": ["draft", "upcoming", "open", "closed"]},
            "opens_at": TIME,
            "closes_at": TIME,
            "url": STR,
        },
    },
    "Post": {
        "type": "object",
        "properties": {
            "id": INT,
            "thread_id": INT,
            "seq": INT,
            "author": {
                "type": "object",
                "properties": {
                    "id": {"type": ["integer", "null"]},
                    "name": STR,
                    "title": STR,
                    "organisation": STR,
                    "role": STR,
                },
            },
            "reply_to": {"type": ["object", "null"]},
            "html": {"type": "string", "description": "Sanitised HTML, safe to insert"},
            "placeholder": {"type": ["string", "null"]},
            "status": {"enum": ["visible", "pending", "hidden", "deleted"]},
            "created_at": TIME,
            "edited_at": STR,
            "pinned": {"type": "boolean", "description": "Pinned by a facilitator"},
            "change_seq": {
                "type": "integer",
                "description": "Its thread's change number when it last changed (0: never)",
            },
            "url": STR,
        },
    },
    "NewPost": {
        "type": "object",
        "required": ["body"],
        "properties": {
            "body": {"type": "string", "maxLength": 20000, "description": "Markdown"},
            "reply_to": {"type": ["integer", "null"]},
            "idempotency_key": {
                "type": "string",
                "maxLength": 100,
                "description": "Repeat it when retrying: no duplicate is made",
            },
        },
    },
}

PATHS: dict[str, Any] = {
    "/api/v1/me": {
        "get": {
            "summary": "Who the caller is",
            "responses": {"200": _json({"type": "object"}), **ERRORS},
        }
    },
    "/api/v1/conferences": {
        "get": {
            "summary": "Conferences the caller may see",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "conferences": {"type": "array", "items": _ref("Conference")}
                        },
                    }
                )
            },
        }
    },
    "/api/v1/conferences/{slug}": {
        "get": {
            "summary": "One conference with its programme",
            "parameters": [SLUG],
            "responses": {"200": _json(_ref("Conference")), **ERRORS},
        }
    },
    "/api/v1/conferences/{slug}/join": {
        "post": {
            "summary": "Join, accepting the code of conduct",
            "parameters": [SLUG],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["accept_code_of_conduct"],
                            "properties": {"accept_code_of_conduct": {"const": True}},
                        }
                    }
                },
            },
            "responses": {"200": _json({"type": "object"}), **ERRORS},
        }
    },
    "/api/v1/sessions/{session_id}/threads": {
        "get": {
            "summary": "Threads of a session",
            "parameters": [_id_param("session_id")],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"threads": {"type": "array", "items": _ref("Thread")}},
                    }
                ),
                **ERRORS,
            },
        },
        "post": {
            "summary": "Start a thread with its opening post",
            "parameters": [_id_param("session_id")],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["title", "body"],
                            "properties": {"title": STR, "body": STR, "idempotency_key": STR},
                        }
                    }
                },
            },
            "responses": {
                "201": _json(_ref("Thread"), "Created"),
                "200": _json(_ref("Thread"), "Already made with this key"),
                **ERRORS,
            },
        },
    },
    "/api/v1/threads/{thread_id}": {
        "get": {
            "summary": "One thread",
            "parameters": [_id_param("thread_id")],
            "responses": {"200": _json(_ref("Thread")), **ERRORS},
        }
    },
    "/api/v1/threads/{thread_id}/posts": {
        "get": {
            "summary": "Posts in seq order after a seq",
            "parameters": [
                _id_param("thread_id"),
                {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                },
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "posts": {"type": "array", "items": _ref("Post")},
                            "last_seq": INT,
                            "more": {"type": "boolean"},
                        },
                    }
                ),
                **ERRORS,
            },
        },
        "post": {
            "summary": "Post in a thread",
            "parameters": [_id_param("thread_id")],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("NewPost")}},
            },
            "responses": {
                "201": _json(_ref("Post"), "Created"),
                "200": _json(_ref("Post"), "The post this idempotency key already made"),
                **ERRORS,
            },
        },
    },
    "/api/v1/posts/{post_id}": {
        "get": {
            "summary": "One post",
            "parameters": [_id_param("post_id")],
            "responses": {"200": _json(_ref("Post")), **ERRORS},
        },
        "patch": {
            "summary": "Edit your post (within the edit window)",
            "description": "An edit passes the checks of a new post (the thread open and not "
            "locked, not muted, slow mode, the `edit` rate limit: 429). A pre-moderated "
            "author's edit awaits approval again (`status: pending`). 409: the post was "
            "hidden or deleted meanwhile.",
            "parameters": [_id_param("post_id")],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["body"],
                            "properties": {"body": STR},
                        }
                    }
                },
            },
            "responses": {
                "200": _json(_ref("Post")),
                "409": ERRORS["404"],
                "429": ERRORS["404"],
                **ERRORS,
            },
        },
        "delete": {
            "summary": "Delete your post (a placeholder stays)",
            "parameters": [_id_param("post_id")],
            "responses": {"200": _json(_ref("Post")), **ERRORS},
        },
    },
}

_ACTION_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["action"],
                "properties": {"action": STR, "reason": STR},
                "additionalProperties": True,
            }
        }
    },
}

PATHS.update({
    "/api/v1/conferences/{slug}/moderation": {"get": {
        "summary": "Moderation queue: pending and reported posts, and the log",
        "parameters": [SLUG], "responses": {"200": _json({"type": "object"}), **ERRORS}}},
    "/api/v1/conferences/{slug}/members/{user_id}/moderation": {"post": {
        "summary": "mute (minutes, reason), unmute, premoderate, unpremoderate, remove (reason)",
        "parameters": [SLUG, _id_param("user_id")], "requestBody": _ACTION_BODY,
        "responses": {"200": _json({"type": "object"}), **ERRORS}}},
    "/api/v1/posts/{post_id}/moderation": {"post": {
        "summary": "hide (reason), restore, approve, reject (reason), pin, unpin, "
                   "move (to_thread_id)",
        "parameters": [_id_param("post_id")], "requestBody": _ACTION_BODY,
        "responses": {"200": _json(_ref("Post")), **ERRORS}}},
    "/api/v1/posts/{post_id}/flags": {"post": {
        "summary": "Report a post once: reason (off_topic, disrespectful, personal_information, "
                   "spam, other) and a note",
        "parameters": [_id_param("post_id")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"],
            "properties": {"reason": STR, "note": STR}}}}},
        "responses": {"201": _json({"type": "object"}), **ERRORS}}},
    "/api/v1/posts/{post_id}/flags/resolve": {"post": {
        "summary": "Resolve a post's reports: outcome keep, or hide with a reason",
        "parameters": [_id_param("post_id")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["outcome"],
            "properties": {"outcome": {"enum": ["keep", "hide"]}, "reason": STR}}}}},
        "responses": {"200": _json(_ref("Post")), **ERRORS}}},
    "/api/v1/threads/{thread_id}/moderation": {"post": {
        "summary": "pin, unpin, lock (reason), unlock, close, reopen, premoderate, "
                   "unpremoderate, slow_mode (seconds, until), summarise (summary)",
        "parameters": [_id_param("thread_id")], "requestBody": _ACTION_BODY,
        "responses": {"200": _json(_ref("Thread")), **ERRORS}}},
})  # fmt: skip

_QUESTION = {
    "type": "object",
    "properties": {
        "id": INT,
        "session_id": INT,
        "html": STR,
        "vote_count": INT,
        "status": {"enum": ["pending", "open", "answering", "answered", "dismissed"]},
        "dismiss_reason": {"type": ["string", "null"]},
        "merged_into_id": {"type": ["integer", "null"]},
        "author": {"type": "object"},
        "answers": {"type": "array"},
        "voted": {"type": "boolean"},
        "created_at": TIME,
        "url": STR,
    },
}

PATHS.update({
    "/api/v1/panels/{session_id}/questions": {
        "get": {"summary": "A panel's questions (sort=votes or new), with answers",
                "parameters": [_id_param("session_id"),
                               {"name": "sort", "in": "query",
                                "schema": {"enum": ["votes", "new"]}}],
                "responses": {"200": _json({"type": "object"}), **ERRORS}},
        "post": {"summary": "Ask a question (body up to 500 characters, idempotency_key)",
                 "parameters": [_id_param("session_id")],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["body"],
                     "properties": {"body": STR, "idempotency_key": STR}}}}},
                 "responses": {"201": _json(_QUESTION, "Created"), "200": _json(_QUESTION),
                               **ERRORS}},
    },
    "/api/v1/questions/{question_id}/vote": {
        "post": {"summary": "Vote for a question (once)", "parameters": [_id_param("question_id")],
                 "responses": {"200": _json({"type": "object"}), **ERRORS}},
        "delete": {"summary": "Withdraw your vote", "parameters": [_id_param("question_id")],
                   "responses": {"200": _json({"type": "object"}), **ERRORS}},
    },
    "/api/v1/questions/{question_id}/state": {"post": {
        "summary": "approve, answering, answered, dismiss (reason), merge (into), reopen",
        "parameters": [_id_param("question_id")], "requestBody": _ACTION_BODY,
        "responses": {"200": _json(_QUESTION), **ERRORS}}},
    "/api/v1/questions/{question_id}/answers": {"post": {
        "summary": "A speaker answers (body, Markdown)", "parameters": [_id_param("question_id")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["body"], "properties": {"body": STR}}}}},
        "responses": {"201": _json(_QUESTION), **ERRORS}}},
})  # fmt: skip

PATHS["/api/v1/conferences/{slug}/exports"] = {"post": {
    "summary": "Download a transcript (organisers; facilitators for their sessions where allowed)",
    "parameters": [SLUG],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["format"],
        "properties": {"format": {"enum": ["md", "html", "csv", "json"]},
                       "session_id": INT, "thread_id": INT,
                       "include_hidden": {"type": "boolean"},
                       "moderation_log": {"type": "boolean"}}}}}},
    "responses": {"200": {"description": "The transcript, streamed; JSON follows "
                                         "docs/transcript.schema.json"}, **ERRORS},
}}  # fmt: skip


# Registration and invitations: confer/registration/api.py.
# fmt: off
_REGISTRATION = {
    "type": "object",
    "properties": {
        "conference": STR, "user_id": INT, "url": STR, "message": STR,
        "role": {"enum": ["organiser", "facilitator", "speaker", "participant", "observer"]},
        "status": {"enum": ["active", "pending", "waitlisted", "declined", "removed", "left",
                            None]},
        "waitlist_position": {"type": ["integer", "null"],
                              "description": "1 is next in line for a place"},
    },
}
_INVITATION = {
    "type": "object",
    "properties": {
        "id": INT, "email": STR, "name": STR, "role": STR,
        "status": {"enum": ["pending", "accepted", "expired", "revoked"]},
        "created_at": TIME, "sent_at": TIME, "send_count": INT, "expires_at": TIME,
        "accepted_at": {"type": ["string", "null"]}, "url": STR,
    },
}
_MESSAGE_BODY = {"required": False, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"message": {"type": "string", "maxLength": 2000}}}}}}
_INVITATION_ID = [SLUG, _id_param("invitation_id")]
_PROBLEMS = {"type": "array", "items": {"type": "object", "properties": {
    "where": STR, "text": STR, "reason": STR}}}

PATHS.update({
    "/api/v1/conferences/{slug}/registration": {
        "get": {"summary": "Your registration: status and waitlist position",
                "parameters": [SLUG], "responses": {"200": _json(_REGISTRATION), **ERRORS}},
        "post": {"summary": "Register, accepting the code of conduct: a place (open), the "
                            "waitlist (open and full) or a request (approval). Invitation-only "
                            "conferences answer 403.",
                 "parameters": [SLUG],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["accept_code_of_conduct"],
                     "properties": {"accept_code_of_conduct": {"const": True}}}}}},
                 "responses": {"200": _json(_REGISTRATION), "409": ERRORS["404"], **ERRORS}},
        "delete": {"summary": "Cancel: leave the conference or its waitlist, or withdraw a "
                              "request. A freed place goes to the next on the waitlist.",
                   "parameters": [SLUG],
                   "responses": {"200": _json(_REGISTRATION), "409": ERRORS["404"], **ERRORS}},
    },
    "/api/v1/conferences/{slug}/registrations": {"get": {
        "summary": "Organisers: requests awaiting a decision, and the waitlist in order",
        "parameters": [SLUG],
        "responses": {"200": _json({"type": "object", "properties": {
            "registration": STR, "capacity": {"type": ["integer", "null"]}, "taken": INT,
            "pending": {"type": "array"}, "waitlisted": {"type": "array"}}}), **ERRORS}}},
    "/api/v1/conferences/{slug}/registrations/{user_id}/approve": {"post": {
        "summary": "Organisers: approve a request (a place, or the waitlist when full); "
                   "the person is emailed with the optional message",
        "parameters": [SLUG, _id_param("user_id")], "requestBody": _MESSAGE_BODY,
        "responses": {"200": _json(_REGISTRATION), "409": ERRORS["404"], **ERRORS}}},
    "/api/v1/conferences/{slug}/registrations/{user_id}/decline": {"post": {
        "summary": "Organisers: decline a request; the person is emailed with the message",
        "parameters": [SLUG, _id_param("user_id")], "requestBody": _MESSAGE_BODY,
        "responses": {"200": _json(_REGISTRATION), "409": ERRORS["404"], **ERRORS}}},
    "/api/v1/conferences/{slug}/invitations": {
        "get": {"summary": "Organisers: invitations, newest first",
                "parameters": [SLUG],
                "responses": {"200": _json({"type": "object", "properties": {
                    "invitations": {"type": "array", "items": _INVITATION}}}), **ERRORS}},
        "post": {"summary": "Organisers: invite by email. `emails`: addresses (a string "
                            "separated by commas or new lines, or a list); `csv`: the text of "
                            "a CSV file (name, email, role); `role` for the rest. A malformed "
                            "address in `emails` refuses the request (422, naming it); bad "
                            "CSV rows are reported in `problems` and the others invited.",
                 "parameters": [SLUG],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "properties": {
                         "emails": {"type": ["string", "array"]}, "csv": STR,
                         "role": {"enum": ["participant", "speaker", "facilitator",
                                           "organiser", "observer"]}}}}}},
                 "responses": {
                     "201": _json({"type": "object", "properties": {
                         "invited": {"type": "array", "items": _INVITATION},
                         "skipped": _PROBLEMS, "problems": _PROBLEMS}}, "Invitations sent"),
                     "200": _json({"type": "object"}, "Nobody could be invited"),
                     **ERRORS}},
    },
    "/api/v1/conferences/{slug}/invitations/{invitation_id}/resend": {"post": {
        "summary": "Organisers: send again with a new link (the old one stops working)",
        "parameters": _INVITATION_ID,
        "responses": {"200": _json(_INVITATION), "409": ERRORS["404"], **ERRORS}}},
    "/api/v1/conferences/{slug}/invitations/{invitation_id}/revoke": {"post": {
        "summary": "Organisers: withdraw an unused invitation",
        "parameters": _INVITATION_ID,
        "responses": {"200": _json(_INVITATION), "409": ERRORS["404"], **ERRORS}}},
})
# fmt: on

SCHEMAS["Notification"] = {
    "type": "object",
    "properties": {
        "id": INT,
        "kind": {"enum": ["mention", "reply", "followed_post"]},
        "text": STR,
        "read": {"type": "boolean"},
        "created_at": TIME,
        "post_id": INT,
        "thread_id": INT,
        "thread_title": STR,
        "conference": {"type": "object", "properties": {"slug": STR, "title": STR}},
        "actor": {"type": "object", "properties": {"name": STR}},
        "excerpt": {**STR, "description": "the start of the post, as written (Markdown)"},
        "newer_posts": {**INT, "description": "followed_post: later visible posts in the thread"},
        "url": {**STR, "description": "the post's permalink"},
        "open_url": {**STR, "description": "a page that marks it read, then goes to url"},
    },
}
_NOTE_ID = _id_param("notification_id")
_FOLLOWING = _json({"type": "object", "properties": {"following": {"type": "boolean"}}})
_EMAIL = {
    "type": "object",
    "properties": {"conference": STR, "email": {"enum": ["each", "digest", "none"]}},
}
PATHS.update({
    "/api/v1/notifications": {"get": {
        "summary": "Your notifications, newest first (only ever your own)",
        "parameters": [
            {"name": "unread", "in": "query", "schema": {"type": "boolean"},
             "description": "only unread ones"},
            {"name": "before", "in": "query", "schema": INT,
             "description": "only those with a smaller id (the next page)"},
            {"name": "limit", "in": "query", "schema": {**INT, "maximum": 200}}],
        "responses": {"200": _json({"type": "object", "properties": {
            "notifications": {"type": "array", "items": _ref("Notification")},
            "unread": {**INT, "description": "unread count, at most 100"},
            "more": {"type": "boolean"}}}), **ERRORS}}},
    "/api/v1/notifications/read": {"post": {
        "summary": "Mark all your notifications read (optionally only up to id `upto`)",
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "properties": {"upto": INT}}}}},
        "responses": {"200": _json({"type": "object", "properties": {
            "marked": INT, "unread": INT}}), **ERRORS}}},
    "/api/v1/notifications/{notification_id}": {"get": {
        "summary": "One of your notifications (another member's is a 404)",
        "parameters": [_NOTE_ID],
        "responses": {"200": _json(_ref("Notification")), **ERRORS}}},
    "/api/v1/notifications/{notification_id}/read": {"post": {
        "summary": "Mark one of your notifications read", "parameters": [_NOTE_ID],
        "responses": {"200": _json(_ref("Notification")), **ERRORS}}},
    "/api/v1/threads/{thread_id}/follow": {
        "get": {"summary": "Whether you follow the thread", "parameters": [_id_param("thread_id")],
                "responses": {"200": _FOLLOWING, **ERRORS}},
        "put": {"summary": "Follow the thread (members)", "parameters": [_id_param("thread_id")],
                "responses": {"200": _FOLLOWING, **ERRORS}},
        "delete": {"summary": "Unfollow the thread; posting in it again does not re-follow",
                   "parameters": [_id_param("thread_id")],
                   "responses": {"200": _FOLLOWING, **ERRORS}},
    },
    "/api/v1/conferences/{slug}/email-preference": {
        "get": {"summary": "How you hear from this conference by email", "parameters": [SLUG],
                "responses": {"200": _json(_EMAIL), **ERRORS}},
        "put": {"summary": "Choose each, digest (the default) or none", "parameters": [SLUG],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["email"],
                    "properties": {"email": {"enum": ["each", "digest", "none"]}}}}}},
                "responses": {"200": _json(_EMAIL), **ERRORS}},
    },
})  # fmt: skip


_QUERY_ID = {"type": "integer", "minimum": 1}
PATHS["/api/v1/conferences/{slug}/search"] = {"get": {
    "summary": "Search a conference's posts: best matches first, 20 a page; hidden and pending "
               "posts only for those who moderate them",
    "parameters": [
        SLUG,
        {"name": "q", "in": "query", "required": True,
         "description": "Words (websearch syntax: \"a phrase\", or, -word)",
         "schema": {"type": "string", "minLength": 1, "maxLength": 200}},
        {"name": "session_id", "in": "query", "schema": _QUERY_ID},
        {"name": "thread_id", "in": "query", "schema": _QUERY_ID},
        {"name": "author_id", "in": "query", "schema": _QUERY_ID},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10}},
    ],
    "responses": {"200": _json({"type": "object", "properties": {
        "query": STR, "page": INT, "pages": INT, "per_page": INT,
        "total": {"type": "integer", "description": "Counted up to 200"},
        "more_than_total": {"type": "boolean", "description": "More than 200 posts match; "
                            "the newest 200 are ranked"},
        "total_text": STR, "notice": {"type": ["string", "null"]},
        "filters": {"type": "object"},
        "results": {"type": "array", "items": {"type": "object", "properties": {
            "id": INT, "url": STR, "status": {"enum": ["visible", "pending", "hidden"]},
            "hidden_reason": {"type": ["string", "null"]},
            "thread": {"type": "object"}, "session": {"type": "object"},
            "author": {"type": "object"}, "created_at": TIME, "created_at_text": STR,
            "rank": {"type": "number"},
            "snippet_html": {"type": "string", "description": "Escaped text of the post with "
                             "the matching words in <mark>; safe to insert"}}}},
        "next": {"type": ["string", "null"]}, "previous": {"type": ["string", "null"]},
        "url": STR}}), **ERRORS},
}}  # fmt: skip


def openapi_document(app: web.Application) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Confer API",
            "version": confer.__version__,
            "description": "Read and write what the pages do. Authenticate with a personal "
            "API token (Authorization: Bearer cnf_...) or, from the browser, the sign-in "
            "cookie plus an X-CSRF-Token header.",
        },
        "servers": [{"url": app[settings_key].base_url}],
        "components": {
            "schemas": SCHEMAS,
            "responses": {"Error": _json(_ref("Error"), "An error, naming the fields at fault")},
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "confer_session"},
            },
        },
        "security": [{"token": []}, {"cookie": []}, {}],
        "paths": PATHS,
    }
