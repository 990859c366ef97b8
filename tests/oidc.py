"""A real OpenID Connect provider for the tests (npm oidc-provider under Node, configured by
tests/oidc_provider.mjs), Confer settings that use it, and a no-JavaScript walk through its
sign-in pages for HTTP tests.

The provider is installed by tests/system-packages.sh into tests/.oidc (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from confer.settings import Settings
from confer.sso.config import Provider

HERE = Path(__file__).parent
NODE_MODULES = HERE / ".oidc" / "node_modules"
SCRIPT = HERE / "oidc_provider.mjs"
SECRET = "test-client-secret-9f2c"

# The provider's people, by the name typed on its sign-in page.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "alice": {
        "email": "alice@somecouncil.gov.uk",
        "email_verified": True,
        "name": "Alice Jones",
        "tid": "tenant-one",
    },
    "dora": {
        "email": "dora@somecouncil.gov.uk",
        "email_verified": True,
        "name": "Dora Evans",
        "tid": "tenant-one",
    },
    "outsider": {
        "email": "olly@elsewhere.example",
        "email_verified": True,
        "name": "Olly Outsider",
        "tid": "tenant-two",
    },
    "unverified": {"email": "una@somecouncil.gov.uk", "email_verified": False, "name": "Una"},
    "noemail": {"name": "Nemo"},
}
ROGUE = ("issuer", "audience", "signature", "expired", "nonce")
CLIENTS = [{"client_id": "confer", "client_secret": SECRET}] + [
    {"client_id": f"rogue-{m}", "client_secret": SECRET, "rogue": m} for m in ROGUE
]


class OpenIDProvider:
    """One oidc-provider process on 127.0.0.1; `restart()` keeps the port (and issuer) and
    makes a new signing key: a provider rotating its keys."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.issuer = ""

    def start(self) -> None:
        node = shutil.which("node")
        if node is None or not (NODE_MODULES / "oidc-provider").is_dir():
            pytest.fail("oidc-provider is not installed: run sh tests/system-packages.sh")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "OIDC_NODE_MODULES": str(NODE_MODULES),
            "OP_CLIENTS": json.dumps(CLIENTS),
            "OP_ACCOUNTS": json.dumps(ACCOUNTS),
        }
        if self.port:
            env["OP_PORT"] = str(self.port)
        self.proc = subprocess.Popen(
            [node, str(SCRIPT)],
            env=env,
            stdin=subprocess.PIPE,  # closed when this process ends: the provider then exits
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        line = b""
        while not line.endswith(b"\n"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("oidc-provider did not start")
            if sel.select(timeout=0.5):
                line += self.proc.stdout.read1(1024)  # type: ignore[attr-defined]
        sel.close()
        self.issuer = line.decode().split()[1]
        self.port = urlsplit(self.issuer).port or 0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def op() -> Iterator[OpenIDProvider]:
    provider = OpenIDProvider()
    provider.start()
    yield provider
    provider.stop()


def provider(op: OpenIDProvider, pid: str, **kw: Any) -> Provider:
    """A Confer provider setting for the test provider (client "confer" unless given)."""
    return Provider(
        id=pid,
        name=kw.pop("name", f"Council {pid}"),
        issuer=kw.pop("issuer", op.issuer),
        client_id=kw.pop("client_id", "confer"),
        client_secret=kw.pop("client_secret", SECRET),
        **kw,
    )


def with_providers(settings: Settings, *providers: Provider) -> Settings:
    return settings.with_(oidc_providers=tuple(providers))


FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"')


async def walk_to_callback(b: Any, start: str, login: str | None) -> str:
    """From Confer's redirect to the provider (`start`, an absolute URL) through its sign-in
    page (typing `login`, when it asks) until it sends the browser back to Confer; the
    callback's path and query (not yet visited)."""
    url = start
    confer = str(b.server.make_url("/"))
    for _ in range(20):
        if url.startswith(confer):
            parts = urlsplit(url)
            return parts.path + ("?" + parts.query if parts.query else "")
        async with b.session.get(url, allow_redirects=False) as r:
            text = await r.text()
            status, location = r.status, r.headers.get("Location")
        if status in (302, 303) and location:
            url = urljoin(url, location)
            continue
        m = FORM_ACTION.search(text)
        assert status == 200 and m and login is not None, (status, text[:500])
        form = {"prompt": "login", "login": login, "password": "anything"}
        async with b.session.post(urljoin(url, m.group(1)), data=form, allow_redirects=False) as r:
            assert r.status in (302, 303), (r.status, (await r.text())[:500])
            url = urljoin(url, r.headers["Location"])
    raise AssertionError("the provider never sent the browser back")


async def start(
    b: Any, pid: str, *, next_path: str = "/", link: bool = False
) -> tuple[int, str, str]:
    """Press a provider's button: (status, Location, page text)."""
    await b.ensure_csrf()
    form = {"csrf_token": b.csrf, "next": next_path}
    if link:
        form["link"] = "1"
    async with b.session.post(b.url(f"/login/sso/{pid}"), data=form, allow_redirects=False) as r:
        return r.status, r.headers.get("Location", ""), await r.text()


async def sign_in_with(
    b: Any, pid: str, login: str | None, *, next_path: str = "/", link: bool = False
) -> tuple[int, str, str]:
    """The whole journey without JavaScript: press the button, sign in at the provider, come
    back. (status, Location, text) of Confer's answer to the callback."""
    status, location, text = await start(b, pid, next_path=next_path, link=link)
    assert status == 303, text[:1000]
    callback = await walk_to_callback(b, location, login)
    async with b.session.get(b.url(callback), allow_redirects=False) as r:
        return r.status, r.headers.get("Location", ""), await r.text()
