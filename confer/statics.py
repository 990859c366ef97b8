"""Static files' versioned addresses: `/static/confer.css?v=<hash of its content>`.

A changed file gets a new address, so the old one may be cached for a year without a page
ever getting a stale stylesheet (confer.web.static_cache_headers sets the headers). Reads
only files the templates name, or that the static route has just served.
"""

from __future__ import annotations

import functools
import hashlib

from confer import resources


@functools.lru_cache(maxsize=256)
def static_version(path: str) -> str | None:
    """The first 16 hex digits of the SHA-256 of static/`path` (read once per process: a
    deployment restarts its processes), or None when there is no such file."""
    file = resources.path("static") / path
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def static_url(path: str) -> str:
    """A static file's address with its content's hash (`?v=`), so that a changed file has a
    new address and the old one can be cached for a year (confer.web.static_cache_headers).
    The address without `?v=` keeps working."""
    version = static_version(path)
    return f"/static/{path}" if version is None else f"/static/{path}?v={version}"
