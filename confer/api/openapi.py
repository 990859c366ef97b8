"""The OpenAPI 3.1 document for the JSON API: its shared vocabulary, and the document itself.

Each operation is declared beside its route (confer.routing.api, `doc=`), in the module that
handles it; `openapi_document` collects them, so the document lists exactly the routed
operations. The schemas that several operations share, and the small helpers the declarations
are written with, are here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

import confer
from confer.api.contract import Setting, resolve
from confer.keys import routes_key, settings_key
from confer.urls import API


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def returns(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": {"$ref": "#/components/responses/Error"},
    "401": {"$ref": "#/components/responses/Error"},
    "403": {"$ref": "#/components/responses/Error"},
    "404": {"$ref": "#/components/responses/Error"},
    "413": {"$ref": "#/components/responses/Error"},
    "422": {"$ref": "#/components/responses/Error"},
}


def id_param(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1},
    }


SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}

STR = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
INT = {"type": "integer"}
# A time that may not be there yet: "" (an edit time before any edit, a thread with no post).
MAYBE_TIME = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"const": ""}],
}
NULL_STR = {"type": ["string", "null"]}


def obj(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object the API sends: every property is `required` (always there, maybe null) but
    the `optional` ones. Clients must ignore properties they do not know (docs/api.md)."""
    return {
        "type": "object",
        "required": [name for name in properties if name not in optional],
        "properties": properties,
    }


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
    "Session": obj(
        {
            "id": INT,
            "kind": {"enum": ["discussion", "panel", "keynote", "break"]},
            "title": STR,
            "description_html": STR,
            "translations": {
                "type": "object",
                "description": "A bilingual conference's title and description_html in its "
                "other language, under that language's code",
            },
            "starts_at": TIME,
            "ends_at": TIME,
            "state": {"enum": ["upcoming", "open", "closed"]},
            "posting_window": {"enum": ["session", "conference"]},
            "participants_start_threads": {"type": "boolean"},
            "url": STR,
        }
    ),
    "Conference": obj(
        {
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
            "code_of_conduct_html": STR,
            "language": {"enum": ["en", "cy"], "description": "The language of the texts"},
            "bilingual": {"type": "boolean"},
            "translations": {
                "type": "object",
                "description": "A bilingual conference's title, summary_html and "
                "code_of_conduct_html in its other language, under that language's code",
            },
            "joining_reveal_minutes": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1440,
                "description": "From how many minutes before a session its joining link is "
                "shown to members",
            },
            "capacity": {
                "type": ["integer", "null"],
                "description": "Places (null: no limit)",
            },
            "url": STR,
            "sessions": {
                "type": "array",
                "items": ref("Session"),
                "description": "The programme (one conference, not the list)",
            },
            "membership": {
                "description": "The caller's place (one conference, not the list)",
                "anyOf": [
                    {"type": "null"},
                    obj(
                        {
                            "role": {
                                "enum": [
                                    "organiser",
                                    "facilitator",
                                    "speaker",
                                    "participant",
                                    "observer",
                                ]
                            },
                            "status": {
                                "enum": [
                                    "active",
                                    "pending",
                                    "waitlisted",
                                    "declined",
                                    "removed",
                                    "left",
                                ]
                            },
                        }
                    ),
                ],
            },
        },
        optional=("sessions", "membership"),
    ),
    "Thread": obj(
        {
            "id": INT,
            "session_id": INT,
            "title": STR,
            "post_count": INT,
            "last_seq": INT,
            "last_change_seq": {
                "type": "integer",
                "description": "Its posts' newest change number (docs/live.md)",
            },
            "last_post_at": MAYBE_TIME,
            "created_at": TIME,
            "posting_state": {"enum": ["draft", "upcoming", "open", "closed"]},
            "pinned": {"type": "boolean"},
            "locked": {"type": "boolean"},
            "lock_reason": NULL_STR,
            "summary_html": {"type": "string", "description": "A facilitator's summary (HTML)"},
            "opens_at": TIME,
            "closes_at": TIME,
            "url": STR,
        }
    ),
    "Post": obj(
        {
            "id": INT,
            "thread_id": INT,
            "seq": INT,
            "author": obj(
                {
                    "id": {"type": ["integer", "null"]},
                    "name": STR,
                    "title": STR,
                    "organisation": STR,
                    "role": STR,
                }
            ),
            "reply_to": {
                "anyOf": [
                    {"type": "null"},
                    obj({"id": INT, "seq": INT, "author": NULL_STR}),
                ]
            },
            "html": {"type": "string", "description": "Sanitised HTML, safe to insert"},
            "lang": {"enum": ["en", "cy"], "description": "The language it was written in"},
            "placeholder": NULL_STR,
            "status": {"enum": ["visible", "pending", "hidden", "deleted"]},
            "hidden_reason": {
                **NULL_STR,
                "description": "Why a facilitator hid it (its author and moderators see it)",
            },
            "created_at": TIME,
            "created_at_text": {
                "type": "string",
                "description": "created_at as the pages write it, in the conference's time zone",
            },
            "created_at_texts": {
                "type": "object",
                "additionalProperties": STR,
                "description": "created_at_text in each language, by language code",
            },
            "edited_at": MAYBE_TIME,
            "pinned": {"type": "boolean", "description": "Pinned by a facilitator"},
            "change_seq": {
                "type": "integer",
                "description": "Its thread's change number when it last changed (0: never)",
            },
            "url": STR,
        }
    ),
    "NewPost": {
        "type": "object",
        "required": ["body"],
        "properties": {
            "body": {
                "type": "string",
                "minLength": 1,
                "maxLength": Setting("post_max_chars"),
                "description": "Markdown",
            },
            "reply_to": {"type": ["integer", "null"]},
            "idempotency_key": {
                "type": "string",
                "maxLength": 100,
                "description": "Repeat it when retrying: no duplicate is made",
            },
        },
    },
}


def link(method: str, path: str, description: str = "", **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to the operation `method` `path` (under /api/v1), its parameters taken
    from this response: link("GET", "/threads/{thread_id}", thread_id="$response.body#/id")."""
    pointer = (API + path).replace("~", "~0").replace("/", "~1")
    out: dict[str, Any] = {
        "operationRef": f"#/paths/{pointer}/{method.lower()}",
        "parameters": parameters,
    }
    if description:
        out["description"] = description
    return out


def linked(response: dict[str, Any], **links: dict[str, Any]) -> dict[str, Any]:
    """A response with links to the operations its answer leads to."""
    return {**response, "links": links}


# A 409 or 429 answered by an operation: the same error shape.
ERROR = {"$ref": "#/components/responses/Error"}
# A number in the query that names something (session_id=5).
QUERY_ID = {"type": "integer", "minimum": 1}


def request_body(schema: dict[str, Any], *, required: bool | None = True) -> dict[str, Any]:
    """A JSON request body; `required=None` leaves `required` unsaid (optional)."""
    body: dict[str, Any] = {"content": {"application/json": {"schema": schema}}}
    return body if required is None else {"required": required, **body}


def action_body(actions: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The body of an action on something (moderation, a question's state): `action`, one of
    `actions`, with the fields that action takes beside it (see the operation's summary)."""
    return request_body(
        {
            "type": "object",
            "required": ["action"],
            "properties": {"action": {"enum": list(actions)}, "reason": STR},
            "additionalProperties": True,
        }
    )


# The body of an action on something, whatever the action (prefer `action_body`).
ACTION_BODY = request_body(
    {
        "type": "object",
        "required": ["action"],
        "properties": {"action": STR, "reason": STR},
        "additionalProperties": True,
    }
)


SCHEMAS["Notification"] = obj(
    {
        "id": INT,
        "kind": {
            "enum": [
                "mention",
                "reply",
                "followed_post",
                "reminder",
                "question_answered",
                "question_dismissed",
                "muted",
                "unmuted",
                "removed",
                "post_hidden",
                "post_restored",
            ]
        },
        "text": STR,
        "read": {"type": "boolean"},
        "created_at": TIME,
        "post_id": {"type": ["integer", "null"], "description": "null for a reminder"},
        "thread_id": {"type": ["integer", "null"], "description": "null for a reminder"},
        "thread_title": {"type": ["string", "null"]},
        "session_id": {"type": ["integer", "null"], "description": "reminder: the starred session"},
        "session_title": {**STR, "description": "reminder: in the reader's language"},
        "starts_at": {**TIME, "description": "reminder: when the session starts"},
        "conference": obj({"slug": STR, "title": STR}),
        "actor": obj({"name": STR}),
        "excerpt": {**STR, "description": "the start of the post, as written (Markdown)"},
        "newer_posts": {**INT, "description": "followed_post: later visible posts in the thread"},
        "question_id": {"type": ["integer", "null"], "description": "a question's notice"},
        "answer_id": {"type": ["integer", "null"], "description": "question_answered: the answer"},
        "reason": {"type": ["string", "null"], "description": "a notice's reason, as given"},
        "until": {"type": ["string", "null"], "description": "muted: until when"},
        "url": {
            "type": ["string", "null"],
            "description": "the post's permalink; a reminder's session or panel; null: removed",
        },
        "open_url": {
            "type": ["string", "null"],
            "description": "a page that marks it read, then goes to url",
        },
    },
    optional=(
        "session_id",
        "session_title",
        "starts_at",
        "question_id",
        "answer_id",
        "reason",
        "until",
    ),
)


def paths(app: web.Application) -> dict[str, Any]:
    """Every declared API operation (confer.routing.api), by path and method."""
    out: dict[str, Any] = {}
    for route in list(app.get(routes_key, [])):
        if route.doc is not None:
            out.setdefault(route.path, {})[route.method.lower()] = route.doc
    return out


def _retry_later(description: str) -> dict[str, Any]:
    return {
        **returns(ref("Error"), description),
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            }
        },
    }


def openapi_document(app: web.Application) -> dict[str, Any]:
    """The document, its limits filled in from the application's settings."""
    return resolve(_document(app), app[settings_key])


def _document(app: web.Application) -> dict[str, Any]:
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
            "responses": {
                "Error": returns(ref("Error"), "An error, naming the fields at fault"),
                "Limited": _retry_later("Past a rate limit (docs/api.md)"),
                "Unavailable": _retry_later("The database cannot be reached for a moment"),
            },
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "confer_session"},
            },
        },
        "security": [{"token": []}, {"cookie": []}, {}],
        "paths": paths(app),
    }
