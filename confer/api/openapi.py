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
            "responses": {"200": _json(_ref("Post")), **ERRORS},
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
