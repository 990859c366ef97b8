"""Proxies: whether a connecting address is a trusted proxy, and whether a request came through
one. A leaf module: the HTTP edge (confer.web), the request log (confer.observe), /metrics and
/dev/outbox all ask it, so it imports nothing of Confer's.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web


def is_trusted_proxy(address: str, proxies: tuple[str, ...]) -> bool:
    """Whether `address` is one of the trusted proxies (addresses or networks)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if ip in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


# Any of these means the request came through a proxy: its real client may be anyone.
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host")


def came_through_proxy(request: web.Request) -> bool:
    """True if a proxy forwarded this request: the connecting address (a local nginx, say)
    is then not the client's. Pages for this machine only (/dev/outbox, /metrics) refuse it."""
    return any(h in request.headers for h in PROXY_HEADERS)
