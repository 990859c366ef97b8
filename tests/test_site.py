"""Operator settings (issue #22): the footer's links, the accessibility statement served from
docs/accessibility.md, and static files at versioned addresses with long cache lifetimes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from confer.settings import SettingError, Settings


async def test_the_footer_links_the_accessibility_statement_by_default(browser_factory):
    b = await browser_factory()
    r, page = await b.get("/")
    footer = page[page.index("<footer") :]
    assert '<a class="govuk-footer__link" href="/accessibility">Accessibility statement</a>' in (
        footer
    )
    assert "Privacy notice" not in footer and ">Contact<" not in footer
    r, page = await b.get("/accessibility")
    assert r.status == 200
    # Rendered from the Markdown in docs/, as HTML (not its source).
    assert "<h1>Accessibility statement for Confer</h1>" in page
    assert "<strong>[council name]</strong>" in page and "**[council" not in page
    assert page.count("<h1") == 1


async def test_operator_links_are_settings(settings, aiohttp_server, browser_factory):
    from confer.app import create_app
    from tests.conftest import Browser

    configured = settings.with_(
        accessibility_url="https://council.example.gov.uk/accessibility",
        privacy_url="https://council.example.gov.uk/privacy",
        contact="digital@council.example.gov.uk",
    )
    server = await aiohttp_server(create_app(configured), host="127.0.0.1")
    b = Browser(server)
    try:
        _, page = await b.get("/")
        footer = page[page.index("<footer") :]
        assert 'href="https://council.example.gov.uk/accessibility">Accessibility statement' in (
            footer
        )
        assert 'href="https://council.example.gov.uk/privacy">Privacy notice</a>' in footer
        assert 'href="mailto:digital@council.example.gov.uk">Contact</a>' in footer
        r, _ = await b.get("/accessibility", allow_redirects=False)
        assert r.status == 303
        assert r.headers["Location"] == "https://council.example.gov.uk/accessibility"
    finally:
        await b.close()


def test_footer_settings_are_read_from_the_environment_and_checked():
    s = Settings.from_env(
        {"SECRET_KEY": "x", "PRIVACY_URL": "https://x.gov.uk/privacy", "CONTACT": "/contact"}
    )
    assert (s.accessibility_url, s.privacy_url, s.contact) == (
        "", "https://x.gov.uk/privacy", "/contact",
    )  # fmt: skip
    with pytest.raises(SettingError, match="PRIVACY_URL"):
        Settings.from_env({"SECRET_KEY": "x", "PRIVACY_URL": "javascript:alert(1)"})


def test_shutdown_drain_is_read_from_the_environment_and_checked():
    assert Settings.from_env({"SECRET_KEY": "x"}).shutdown_drain == 5.0
    assert Settings.from_env({"SECRET_KEY": "x", "SHUTDOWN_DRAIN": "0"}).shutdown_drain == 0.0
    for bad in ("soon", "-1", "601"):
        with pytest.raises(SettingError, match="SHUTDOWN_DRAIN"):
            Settings.from_env({"SECRET_KEY": "x", "SHUTDOWN_DRAIN": bad})


ROOT = Path(__file__).resolve().parent.parent
STATIC = re.compile(r'(?:href|src)="(/static/[^"]+)"')


async def test_static_files_have_versioned_addresses_cached_for_a_year(browser_factory):
    b = await browser_factory()
    _, page = await b.get("/")
    links = STATIC.findall(page)
    assert len(links) == 4  # icon, two stylesheets, the script
    for link in links:
        path, _, version = link.partition("?v=")
        content = (ROOT / path.removeprefix("/")).read_bytes()
        assert version == hashlib.sha256(content).hexdigest()[:16], link
        r, _ = await b.get(link)
        assert r.status == 200
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        # The old address still works, and is revalidated rather than kept.
        r, _ = await b.get(path)
        assert r.status == 200 and r.headers["Cache-Control"] == "no-cache"
    # A version that is not the file's (an old page after a deployment) is not kept either.
    r, _ = await b.get("/static/confer.css?v=0000000000000000")
    assert r.status == 200 and r.headers["Cache-Control"] == "no-cache"
    r, _ = await b.get("/static/nothing-here.css?v=1")
    assert r.status == 404 and "immutable" not in r.headers.get("Cache-Control", "")
