"""The JSON API's contract, enforced: each request is checked against its OpenAPI operation
(the `doc=` of confer.routing.api) before its handler runs, so the document and what the API
accepts are one declaration and cannot drift.

- Path parameters that do not fit their schema name nothing: 404.
- Query parameters are read as their schema's type ("true"/"false", whole numbers) and checked
  against it: a 400 naming each parameter at fault.
- A body is JSON (415 for another content type, 400 if it cannot be read, 413 past
  REQUEST_MAX_BYTES), and is checked against its schema with jsonschema (JSON Schema 2020-12,
  which OpenAPI 3.1 uses): a 400 `{"error": {"code": "invalid", "message", "fields"}}` naming
  each field at fault ("translations.cy.title"). Lengths (`minLength`, `maxLength`) are left
  to the services, which check each with a message of its own (SERVICE_CHECKED).

Limits that come from the settings are written in the declarations as `Setting("name")` and
filled in from the application's settings, in the document and in the checks alike.

`complete` adds to each operation the responses that every route of its kind can give (a
refused token, CSRF, a rate limit, a database outage), from what the route declares.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from confer.errors import ConferError, NotFound
from confer.i18n import _
from confer.settings import Settings
from confer.web import read_json


@dataclass(frozen=True, slots=True)
class Setting:
    """A number taken from confer.settings.Settings when the document is built."""

    name: str


def resolve(value: Any, settings: Settings) -> Any:
    """`value` with every Setting replaced by the setting's value (a deep copy)."""
    if isinstance(value, Setting):
        return getattr(settings, value.name)
    if isinstance(value, dict):
        return {k: resolve(v, settings) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, settings) for v in value]
    return value


ERROR = {"$ref": "#/components/responses/Error"}
LIMITED = {"$ref": "#/components/responses/Limited"}
UNAVAILABLE = {"$ref": "#/components/responses/Unavailable"}


def complete(method: str, doc: dict[str, Any], limit: str | None) -> dict[str, Any]:
    """The operation with the error responses its route can give, from what it declares:

    400 with parameters or a body; 401 always (a token that is not valid, or sign-in needed);
    403 for a change (the CSRF check); 404 with path parameters; 413 and 415 with a body; 429
    with Retry-After for a rate-limited route; 503 with Retry-After always (database outage).
    """
    doc = copy.deepcopy(doc)
    responses: dict[str, Any] = doc.setdefault("responses", {})
    params = doc.get("parameters", [])
    body = "requestBody" in doc
    if params or body:
        responses.setdefault("400", ERROR)
    responses.setdefault("401", ERROR)
    if method not in ("GET", "HEAD"):
        responses.setdefault("403", ERROR)
    if any(p["in"] == "path" for p in params):
        responses.setdefault("404", ERROR)
    if body:
        responses.setdefault("413", ERROR)
        responses.setdefault("415", ERROR)
    if limit is not None or "429" in responses:
        responses["429"] = LIMITED
    responses["503"] = UNAVAILABLE
    doc["responses"] = dict(sorted(responses.items()))
    return doc


class SchemaInvalid(ConferError):
    status = 400
    code = "invalid"


class UnsupportedMediaType(ConferError):
    status = 415
    code = "unsupported_media_type"


def _types(expected: Any) -> list[str]:
    return expected if isinstance(expected, list) else [expected]


def _type_message(expected: Any) -> str:
    types = [t for t in _types(expected) if t != "null"]
    single = {
        "integer": _("Must be a whole number"),
        "number": _("Must be a number"),
        "string": _("Must be text"),
        "boolean": _("Must be true or false"),
        "object": _("Must be a JSON object"),
        "array": _("Must be a list"),
    }
    if len(types) == 1 and len(_types(expected)) == 1 and types[0] in single:
        return single[types[0]]
    return _("Must be one of these JSON types: %(types)s") % {"types": ", ".join(_types(expected))}


def _values(values: list[Any]) -> str:
    return ", ".join(json.dumps(v, ensure_ascii=False) for v in values)


def message(error: ValidationError) -> str:
    """What is wrong with one field, in the reader's language."""
    v, expected = error.validator, error.validator_value
    if v == "type":
        return _type_message(expected)
    if v == "enum":
        return _("Must be one of: %(values)s") % {"values": _values(expected)}
    if v == "const":
        return _("Must be %(value)s") % {"value": json.dumps(expected)}
    if v == "minimum":
        return _("Must be %(min)s or more") % {"min": expected}
    if v == "maximum":
        return _("Must be %(max)s or less") % {"max": expected}
    if v == "exclusiveMinimum":
        return _("Must be more than %(min)s") % {"min": expected}
    if v == "exclusiveMaximum":
        return _("Must be less than %(max)s") % {"max": expected}
    if v == "minLength":
        return _("Must be at least %(min)s characters") % {"min": expected}
    if v == "maxLength":
        return _("Must be %(max)s characters or fewer") % {"max": f"{expected:,}"}
    if v == "minItems":
        return _("Must have at least %(min)s items") % {"min": expected}
    if v == "maxItems":
        return _("Must have %(max)s items or fewer") % {"max": expected}
    if v == "required":
        return _("This field is required")
    if v in ("additionalProperties", "unevaluatedProperties", "propertyNames"):
        return _("This request does not take this field")
    if v in ("pattern", "format"):
        return _("Is not in the form this field takes")
    return _("Is not valid here")


def _field(prefix: str, error: ValidationError) -> list[str]:
    """The names of the fields an error is about: dotted paths ("translations.cy.title")."""
    base = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = [p for p in error.validator_value if p not in (error.instance or {})]
        return [".".join([*base, p]) for p in missing] or [".".join(base)]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = set(error.schema.get("properties", {}))
        patterns = error.schema.get("patternProperties", {})
        extra = [
            k
            for k in error.instance
            if k not in declared and not any(re.search(p, k) for p in patterns)
        ]
        return [".".join([*base, k]) for k in extra] or [".".join(base)]
    name = ".".join(base)
    return [f"{prefix}.{name}" if prefix and name else (prefix or name)]


# Left to the services, which check every documented length with a message of their own
# ("Your post is 1,000 characters too long…", 413 or 422): the same limits, from the same
# constants and settings as the document (tests/test_api_contract.py proves each is enforced).
SERVICE_CHECKED = frozenset({"minLength", "maxLength"})


def contract_errors(validator: Draft202012Validator, value: Any) -> list[ValidationError]:
    return [e for e in validator.iter_errors(value) if e.validator not in SERVICE_CHECKED]


def fields_of(errors: list[ValidationError], prefix: str = "") -> dict[str, str]:
    """{field: message} for every error (anyOf / oneOf: its first deepest reason)."""
    fields: dict[str, str] = {}
    for e in sorted(errors, key=lambda e: list(e.absolute_path)):
        leaf = e
        if e.context:
            leaf = next((c for c in e.context if not c.context), e.context[0])
        for name in _field(prefix, leaf):
            fields.setdefault(name or "body", message(leaf))
    return fields


_INT = re.compile(r"-?[0-9]{1,18}")
_NUMBER = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?([eE][-+]?[0-9]{1,3})?")


def _read(raw: str, schema: dict[str, Any]) -> Any:
    """A query or path value as its schema's type, or the string itself when it is not one."""
    types = _types(schema.get("type", "string"))
    if "integer" in types and _INT.fullmatch(raw):
        return int(raw)
    if "number" in types and _NUMBER.fullmatch(raw):
        return float(raw)
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    return raw


class Contract:
    """One operation's checks, compiled once for an application's settings."""

    def __init__(self, doc: dict[str, Any], schemas: dict[str, Any], settings: Settings) -> None:
        doc = resolve(doc, settings)
        components = {"components": {"schemas": resolve(schemas, settings)}}
        self.params = [
            (p, Draft202012Validator({**p.get("schema", {}), **components}))
            for p in doc.get("parameters", [])
            if p["in"] in ("path", "query")
        ]
        body = doc.get("requestBody")
        self.body_required = bool(body and body.get("required"))
        self.body: Draft202012Validator | None = None
        # A multipart upload (confer.files.api) documents its body too, and reads it itself.
        if body is not None and "application/json" in body.get("content", {}):
            schema = body["content"]["application/json"]["schema"]
            self.body = Draft202012Validator({**schema, **components})

    def query(self, request: web.Request) -> dict[str, Any]:
        """Checked path and query values by name (absent optional ones left out)."""
        values: dict[str, Any] = {}
        fields: dict[str, str] = {}
        for param, validator in self.params:
            name, where = param["name"], param["in"]
            if where == "path":
                raw = request.match_info.get(name, "")
            else:
                if len(request.query.getall(name, [])) > 1:
                    fields[name] = _("Give this parameter once")
                    continue
                got = request.query.get(name)
                if got is None:
                    if param.get("required"):
                        fields[name] = _("This parameter is required")
                    continue
                raw = got
            value = _read(raw, param.get("schema", {}))
            errors = contract_errors(validator, value)
            if not errors:
                values[name] = value
            elif where == "path":
                raise NotFound()  # a path that names nothing there can be
            else:
                fields[name] = message(errors[0])
        if fields:
            raise SchemaInvalid(
                _("Some parameters are not as the API documents them."), fields=fields
            )
        return values

    async def read_body(self, request: web.Request) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not request.body_exists:
            if self.body_required:
                raise SchemaInvalid(
                    _("This request needs a JSON body."), fields={"body": _("Send a JSON object")}
                )
            data: Any = {}
        else:
            if request.content_type != "application/json":
                raise UnsupportedMediaType(_("Send the request body as application/json."))
            data = await read_json(request)
        errors = contract_errors(self.body, data)
        if errors:
            raise SchemaInvalid(
                _("Some fields are not as the API documents them."), fields=fields_of(errors)
            )
        return data
