"""The HTTP edge: who is asking, CSRF, security headers, reading input, and errors.

Domain errors become HTTP here and only here: a GOV.UK-styled page for browsers,
`{"error": {"code", "message", "fields"}}` for the JSON API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError

from confer import i18n, observe, statics
from confer.accounts import service as accounts
from confer.db import is_unavailable, note_unavailable
from confer.errors import BadRequest, ConferError, TooManyRequests, Unavailable
from confer.i18n import N_, _
from confer.keys import (
    actor_key,
    csrf_key,
    language_chosen_key,
    login_id_key,
    pool_key,
    settings_key,
)
from confer.policy import ANONYMOUS, Actor
from confer.proxies import is_trusted_proxy
from confer.urls import url

log = logging.getLogger(__name__)

SESSION_COOKIE = "confer_session"
CSRF_COOKIE = "confer_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


# Answered without asking who the caller is (no sign-in lookup, no CSRF): they change nothing,
# and a load balancer's checks must not depend on the database answering a cookie lookup.
OPERATIONAL_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def needs_no_actor(request: web.Request) -> bool:
    """socket.io (it authenticates itself), static files and the operational endpoints."""
    path = request.path
    return path.startswith(("/socket.io/", "/static/")) or path in OPERATIONAL_PATHS


# Addresses already warned about sending X-Forwarded-For untrusted (once each per process).
_untrusted_warned: set[str] = set()


def client_address(request: web.Request) -> str:
    """The client's address: X-Forwarded-For is believed only from a configured proxy.

    Walking the header from the right, skipping our own proxies, gives the first address that
    no proxy of ours vouches for — a client cannot choose it by sending the header itself.
    """
    remote = request.remote or "unknown"
    proxies = request.app[settings_key].trusted_proxies
    if not proxies or not is_trusted_proxy(remote, proxies):
        if (
            "X-Forwarded-For" in request.headers
            and remote not in _untrusted_warned
            and len(_untrusted_warned) < 100
        ):
            _untrusted_warned.add(remote)
            log.warning(
                "A request from %s carried X-Forwarded-For, but %s is not in TRUSTED_PROXIES: "
                "the header is ignored and its clients all count as %s (rate limits, sign-in "
                "throttles, logs). If %s is your reverse proxy, add it to TRUSTED_PROXIES.",
                remote, remote, remote, remote,
            )  # fmt: skip
        return remote
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
    for hop in reversed([h for h in hops if h]):
        if not is_trusted_proxy(hop, proxies):
            return hop
    return remote


class AccessLog(AbstractAccessLogger):
    """One line a request: client, request line, status, bytes, milliseconds.

    aiohttp's default access log built each line from a format string, with a timestamp of
    its own (the log's format has one) and a copy of every field for `extra`: 8 % of the
    server's time under the write benchmark. No Referer or User-Agent: a participant's
    browser is not the log's business."""

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        try:
            address = client_address(request)  # type: ignore[arg-type]
        except Exception:  # a request refused before it reached the application
            address = request.remote or "unknown"
        version = request.version
        # Emailed links and engine.io session ids are secrets: never the raw path or query.
        target = observe.redact_target(request.path_qs)
        rid = request.get(observe.request_id_key)
        ms = time * 1000
        extra: dict[str, object] = {"request_id": rid}
        if observe.json_access:
            extra.update(
                method=request.method,
                path=target,
                status=response.status,
                duration_ms=round(ms, 1),
                client=address,
            )
        self.logger.info(
            '%s "%s %s HTTP/%d.%d" %d %d %.1fms',
            address,
            request.method,
            target,
            version.major,
            version.minor,
            response.status,
            response.body_length,
            ms,
            extra=extra,
        )


# --- CSRF -------------------------------------------------------------------------------
# Double-submit: a random cookie, and a form field or header holding its HMAC under
# SECRET_KEY. A cross-site page can neither read the cookie nor forge the HMAC.


def _csrf_for(request: web.Request, cookie_value: str) -> str:
    secret = request.app[settings_key].secret_key.encode()
    return hmac.new(secret, cookie_value.encode(), hashlib.sha256).hexdigest()


def _csrf_ok(request: web.Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(_csrf_for(request, cookie), submitted)


# --- reading input ----------------------------------------------------------------------


async def read_form(request: web.Request) -> dict[str, str]:
    """The posted form as plain strings; bad encoding or NUL bytes answer 400."""
    try:
        form = await request.post()
    except (UnicodeDecodeError, LookupError):  # LookupError: a charset Python does not know
        raise BadRequest(_("The form could not be read: it is not valid UTF-8.")) from None
    except (ValueError, HttpProcessingError):  # a multipart body without its boundary, a part's
        raise BadRequest() from None  # headers that cannot be parsed, or otherwise malformed
    data: dict[str, str] = {}
    for key, value in form.items():
        if not isinstance(value, str):
            continue  # file uploads are read by the handlers that expect them
        if "\x00" in value or "\x00" in key:
            raise BadRequest(
                _("The form contains a NUL character."),
                fields={key: _("Remove the NUL character")},
            )
        data.setdefault(key, value)
    return data


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
        text = raw.decode("utf-8")
        data = json.loads(text) if text.strip() else {}
    except UnicodeDecodeError:
        raise BadRequest(_("The request body is not valid UTF-8.")) from None
    except json.JSONDecodeError as e:
        raise BadRequest(
            _("The request body is not valid JSON: %(detail)s.") % {"detail": e.msg}
        ) from None
    except (ValueError, RecursionError):  # nested too deeply, or a number too long to convert
        raise BadRequest(_("The request body is not JSON that Confer can read.")) from None
    if not isinstance(data, dict):
        raise BadRequest(_("The request body must be a JSON object."))
    if _has_nul(data):
        raise BadRequest(_("The request contains a NUL character."))
    return data


def _has_nul(value: Any) -> bool:
    stack = [value]  # not recursive: json.loads accepts nesting deeper than our stack has room
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def int_param(request: web.Request, name: str) -> int:
    """A numeric path segment; anything else is a 404, not a 500."""
    raw = request.match_info.get(name, "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # "²".isdigit() is True
        raise web.HTTPNotFound()
    return int(raw)


def query_int(request: web.Request, name: str, default: int, *, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(
            _("%(name)s must be a whole number") % {"name": name},
            fields={name: _("Must be a number")},
        ) from None
    return max(lo, min(hi, value))


# --- responses --------------------------------------------------------------------------


def json_response(data: Any, *, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, default=str))


def error_json(
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    *,
    status: int,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return web.json_response(body, status=status, headers=headers)


async def error_page(
    request: web.Request,
    status: int,
    title: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
) -> web.Response:
    context: dict[str, object] = {}
    if aiohttp_jinja2.REQUEST_CONTEXT_KEY not in request:
        # Rendered by a middleware before aiohttp-jinja2's context processors ran (a refused
        # CSRF check, a database outage in actor_middleware): base.html still needs them.
        for processor in request.config_dict[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY]:
            context.update(await processor(request))
    context.update({"status": status, "title": title, "message": message})
    response = aiohttp_jinja2.render_template("errors/error.html", request, context, status=status)
    if headers:
        response.headers.update(headers)
    return response


def redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = request.app[settings_key]
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
        path="/",
        max_age=settings.login_session_days * 86400,
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


# --- middlewares ------------------------------------------------------------------------

# Marked for the catalogues and translated where shown (`http_title`).
HTTP_TITLES = {
    400: N_("There is a problem with the request"),
    401: N_("You need to sign in"),
    403: N_("You cannot do that"),
    404: N_("Page not found"),
    405: N_("That cannot be done here"),
    409: N_("That has already been done"),
    413: N_("That is too large"),
    422: N_("There is a problem"),
    429: N_("Too many attempts"),
    500: N_("Sorry, there is a problem with the service"),
    503: N_("Sorry, the service is unavailable"),
}
# What an error page says under its title when the error carries no message of its own.
HTTP_MESSAGES = {
    404: N_(
        "If you typed the web address, check it is correct. "
        "If you pasted the web address, check you copied the entire address."
    ),
    405: N_("This address does not accept that kind of request."),
    413: N_("What you sent is larger than Confer accepts."),
}


def http_title(status: int) -> str:
    """The error page's title for `status`, in the current language."""
    return _(HTTP_TITLES.get(status, HTTP_TITLES[422]))


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ConferError as e:
        if isinstance(e, Unavailable):
            return await unavailable(request, e)
        if isinstance(e, TooManyRequests) and request.method == "POST" and not is_api(request):
            return await unavailable(request, e)  # the same page: the text kept to send again
        headers = {}
        if isinstance(e, TooManyRequests):
            headers["Retry-After"] = str(e.retry_after)
        if e.status == 401 and not is_api(request):
            raise web.HTTPSeeOther(f"{url('login')}?next={request.path_qs}") from None
        if is_api(request):
            return error_json(e.code, e.message, e.fields, status=e.status, headers=headers)
        return await error_page(
            request,
            e.status,
            http_title(e.status),
            e.message,
            headers=headers,
        )
    except web.HTTPException as e:
        if e.status < 400:
            raise
        known = HTTP_MESSAGES.get(e.status)
        message = _(known) if known else http_title(e.status)
        if is_api(request):
            return error_json(
                e.reason.lower().replace(" ", "_"),
                message,
                status=e.status,
                headers={k: v for k, v in e.headers.items() if k == "Allow"},
            )
        return await error_page(request, e.status, http_title(e.status), message)
    except UnicodeDecodeError:
        if is_api(request):
            return error_json("bad_request", _("The request is not valid UTF-8."), status=400)
        return await error_page(request, 400, http_title(400), _("The request is not valid UTF-8."))
    except Exception as e:
        if is_unavailable(e):
            gone = request.transport is None or request.transport.is_closing()
            if isinstance(e, ConnectionResetError) and gone:
                raise  # the client went away mid-request: nobody to answer
            what = f"{request.method} {observe.redact_path(request.path)}"
            note_unavailable(request.app.get(pool_key), what, e)
            return await unavailable(request, Unavailable())
        log.exception("error during %s %s", request.method, observe.redact_path(request.path))
        message = _("Something went wrong on our side. What you sent may not have been saved.")
        if is_api(request):
            return error_json("internal", message, status=500)
        return await error_page(request, 500, http_title(500), message)


# Form fields a retry form never carries back: secrets, and the CSRF token (a fresh one is used).
_NOT_KEPT = ("password", "csrf_token", "token")


async def unavailable(request: web.Request, e: Unavailable | TooManyRequests) -> web.Response:
    """503 with Retry-After while the database is away (and 429 past a rate limit).

    A page that was sending a form answers with what was typed and a button that sends it again
    to the same address with the same fields — the same idempotency key, so sending twice posts
    once. The browser would otherwise show an error page and the text would be gone.
    """
    headers = {"Retry-After": str(e.retry_after)}
    if is_api(request):
        return error_json(e.code, e.message, e.fields, status=e.status, headers=headers)
    kept: dict[str, str] = {}
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        try:
            kept = await read_form(request)
        except Exception:  # the body could not be read again: show the page without it
            kept = {}
    if "body" not in kept:
        kept = {}  # only forms that carry someone's text are worth sending again
    hidden = {
        k: v for k, v in kept.items() if k not in ("title", "body") and not k.endswith(_NOT_KEPT)
    }
    csrf = request.get(csrf_key)
    if csrf is None and (cookie := request.cookies.get(CSRF_COOKIE)):
        csrf = _csrf_for(request, cookie)  # the CSRF middleware had not run yet
    context: dict[str, object] = {}
    if aiohttp_jinja2.REQUEST_CONTEXT_KEY not in request:
        for processor in request.config_dict[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY]:
            context.update(await processor(request))
    context.update(
        {
            "title": http_title(e.status),
            "message": e.message
            if kept or e.status != 503
            else _("Confer is having trouble reaching its database. Try again in a moment."),
            "retry_url": request.path_qs,
            "kept_title": kept.get("title"),
            "kept_body": kept.get("body"),
            "hidden": hidden,
            "retry_csrf": csrf or "",
        }
    )
    response = aiohttp_jinja2.render_template(
        "errors/unavailable.html", request, context, status=e.status
    )
    response.headers.update(headers)
    return response


@web.middleware
async def language_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The language of the answer (confer.i18n): the reader's choice in this browser (the
    switch's cookie), else a signed-in member's account language (actor_middleware applies it
    once it knows who is asking), else the browser's Accept-Language, else English.

    The cookie comes first so that the switch always works where it was clicked, even when it
    could not write to the account (a browser that sends no Sec-Fetch-Site). A device where
    the switch was never clicked follows the account."""
    chosen = chosen_language(request)
    request[language_chosen_key] = chosen is not None
    i18n.set_language(chosen or accepted_language(request))
    return await handler(request)


def chosen_language(request: web.Request) -> str | None:
    """The language this browser chose with the switch (its cookie), if Confer offers it."""
    chosen = request.cookies.get(i18n.COOKIE, "")
    offered = i18n.languages(pseudo=request.app[settings_key].pseudo_locale)
    return chosen if chosen in offered else None


def accepted_language(request: web.Request) -> str:
    """The first language Accept-Language asks for that Confer offers, else English."""
    return i18n.negotiate(request.headers.get("Accept-Language", "")) or i18n.DEFAULT


def reader_language(request: web.Request) -> str:
    """The language chosen by cookie, else the first one Accept-Language asks for (a request
    or a socket's handshake, before its member is known)."""
    return chosen_language(request) or accepted_language(request)


def _account_language(request: web.Request, actor: Actor) -> None:
    if actor.language is not None and not request.get(language_chosen_key, False):
        i18n.set_language(actor.language)


@web.middleware
async def actor_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Identify the caller by API token (Authorization: Bearer) or sign-in cookie."""
    pool = request.app[pool_key]
    request[actor_key] = ANONYMOUS
    if needs_no_actor(request):
        return await handler(request)
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        actor = await accounts.actor_from_api_token(pool, auth[7:].strip())
        if actor is None:
            if is_api(request):
                return error_json("unauthorized", _("That API token is not valid."), status=401)
        else:
            request[actor_key] = actor
            _account_language(request, actor)
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        found = await accounts.actor_from_login(pool, token)
        if found is not None:
            request[actor_key], request[login_id_key] = found
            _account_language(request, found[0])
    return await handler(request)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse state changes without the CSRF token, unless authenticated by API token."""
    if needs_no_actor(request):
        return await handler(request)
    if request[actor_key].via == "token":
        # A bearer token is not sent by browsers on their own, so it needs no CSRF token,
        # and an API client gets no cookie it would never use.
        request[csrf_key] = ""
        return await handler(request)
    cookie = request.cookies.get(CSRF_COOKIE)
    new_cookie = None
    if not cookie:
        new_cookie = cookie = secrets.token_urlsafe(24)
    request[csrf_key] = _csrf_for(request, cookie)
    if request.method not in SAFE_METHODS and request[actor_key].via != "token":
        submitted = request.headers.get(CSRF_HEADER)
        if (
            submitted is None
            and new_cookie is None
            and request.content_type == "multipart/form-data"
            and streams_upload(request)
        ):
            # A file upload is streamed (confer.files.views): its handler checks the token
            # from the form's first fields (check_upload_csrf) before it reads the file.
            return await handler(request)
        if submitted is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await read_form(request)
            submitted = form.get(CSRF_FIELD)
        if new_cookie is not None or not _csrf_ok(request, submitted):
            response = await csrf_refused(request)
            if new_cookie:
                _set_csrf_cookie(request, response, new_cookie)
            return response
    response = await handler(request)
    if new_cookie and not response.prepared:
        _set_csrf_cookie(request, response, new_cookie)
    return response


async def csrf_refused(request: web.Request) -> web.Response:
    """The answer to a state change without a valid CSRF token."""
    message = _(
        "This form has expired or was sent from another site. "
        "Go back, reload the page and try again: your text is still in your browser."
    )
    if is_api(request):
        return error_json("csrf", message, status=403)
    return await error_page(request, 403, _("Please try again"), message)


def streams_upload(request: web.Request) -> bool:
    """True for a route whose handler reads a multipart upload as a stream (marked with
    `streams_upload = True`); the form is then never read whole by a middleware."""
    return bool(getattr(request.match_info.handler, "streams_upload", False))


def check_upload_csrf(request: web.Request, fields: dict[str, str]) -> bool:
    """For a streamed upload: True if the request is authenticated by API token, or carries
    the CSRF token in its header or in the form's fields read so far."""
    if request[actor_key].via == "token":
        return True
    submitted = request.headers.get(CSRF_HEADER) or fields.get(CSRF_FIELD)
    return _csrf_ok(request, submitted)


def _set_csrf_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        value,
        httponly=True,
        samesite="Lax",
        path="/",
        secure=request.app[settings_key].secure_cookies,
    )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, errors and static files included."""
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.path.startswith("/static/"):
        static_cache_headers(request, response)
    elif response.content_type == "text/html":
        h.setdefault("Cache-Control", "no-store")


# A year: the longest lifetime caches honour (RFC 9111 advises no more).
STATIC_MAX_AGE = 365 * 24 * 3600


def static_cache_headers(request: web.Request, response: web.StreamResponse) -> None:
    """A static file asked for at its versioned address (`?v=` its content's hash, as
    confer.startup.static_url writes it) is cached for a year and never revalidated; at any
    other address (a stale or missing version: an old page, confer.js's imports) caches
    revalidate it each time (ETag, Last-Modified), so nothing is served stale."""
    if response.status not in (200, 304):
        return
    version = request.query.get("v")
    if version is not None and version == statics.static_version(request.path[len("/static/") :]):
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
