"""The Markdown pipeline (markdown-it-py js-default + linkify, then nh3) never lets script through.

Every payload of every list in tests/data/xss/ is rendered and the output parsed with
html.parser: no dangerous element, no event handler, no style, no link to anything but
http, https or mailto, and every link marked nofollow ugc noopener. The checkers here are
also used by tests/test_security.py on whole pages.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.common import normalize_url

from confer import markup

XSS_DIR = Path(__file__).parent / "data" / "xss"
XSS_FILES = sorted(XSS_DIR.glob("*.txt"))

# Elements that must never come out of user text.
FORBIDDEN_IN_FRAGMENT = frozenset(
    {"script", "iframe", "object", "embed", "svg", "math", "style", "img", "form", "input",
     "base", "link", "meta"}
)  # fmt: skip
# Elements that no Confer page needs at all (templates included).
FORBIDDEN_IN_PAGE = frozenset(
    {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "style", "math",
     "noscript", "portal"}
)  # fmt: skip
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Attributes a browser follows or loads as a URL.
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
     "cite", "longdesc", "ping", "srcset", "lowsrc", "dynsrc"}
)  # fmt: skip
PAGE_URL = "https://confer.example/c/conf/threads/1"
# What browsers drop from a URL before they look for its scheme (and then some).
_URL_NOISE = re.compile(
    r"[\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]"
)


def load_payloads(path: Path) -> list[str]:
    """One payload per line; blank lines are skipped."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def url_scheme(value: str) -> str:
    """The scheme a browser would use for this attribute value, resolved against a page.

    The value is HTML-unescaped (again: html.parser has done it once already, and being
    stricter than a browser costs nothing here), stripped of whitespace and control
    characters anywhere, and resolved against PAGE_URL, so a relative link counts as the
    page's own scheme (https) and `java\\tscript:` counts as `javascript`.
    """
    cleaned = value
    for _ in range(3):
        cleaned = html.unescape(cleaned)
    cleaned = _URL_NOISE.sub("", cleaned)
    return urlsplit(urljoin(PAGE_URL, cleaned)).scheme.lower()


@dataclass
class Element:
    tag: str
    attrs: list[tuple[str, str | None]]
    body: str = ""

    def attr(self, name: str) -> str | None:
        for k, v in self.attrs:
            if k == name:
                return v
        return None


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text: list[str] = []
        self._open_script: Element | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag.lower(), [(k.lower(), v) for k, v in attrs])
        self.elements.append(el)
        if el.tag == "script":
            self._open_script = el

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._open_script = None

    def handle_endtag(self, tag: str) -> None:
        if tag.lower() == "script":
            self._open_script = None

    def handle_data(self, data: str) -> None:
        if self._open_script is not None:
            self._open_script.body += data
        else:
            self.text.append(data)


def parse(markup_html: str) -> _Collector:
    parser = _Collector()
    parser.feed(markup_html)
    parser.close()
    return parser


def _attribute_problems(el: Element) -> list[str]:
    problems = []
    for name, value in el.attrs:
        if name.startswith("on"):
            problems.append(f"<{el.tag}> has event handler {name}={value!r}")
        if name == "style":
            problems.append(f"<{el.tag}> has style={value!r}")
        if name == "srcdoc":
            problems.append(f"<{el.tag}> has srcdoc")
        if name in URL_ATTRIBUTES and value is not None:
            scheme = url_scheme(value)
            if scheme not in URL_SCHEMES:
                problems.append(f"<{el.tag} {name}={value!r}> uses scheme {scheme!r}")
    return problems


def fragment_problems(rendered: str) -> list[str]:
    """What is unsafe in HTML rendered from user text (empty when it is safe)."""
    problems = []
    for el in parse(rendered).elements:
        if el.tag in FORBIDDEN_IN_FRAGMENT:
            problems.append(f"<{el.tag}> element")
        problems += _attribute_problems(el)
        if el.tag == "a":
            rel = set((el.attr("rel") or "").lower().split())
            missing = {"nofollow", "ugc", "noopener"} - rel
            if missing:
                problems.append(f"<a href={el.attr('href')!r}> lacks rel {sorted(missing)}")
    return problems


def page_problems(page: str) -> list[str]:
    """What in a whole page would need 'unsafe-inline' or could run someone's script."""
    problems = []
    for el in parse(page).elements:
        if el.tag in FORBIDDEN_IN_PAGE:
            problems.append(f"<{el.tag}> element")
        if el.tag == "script" and (el.attr("type") or "") == "application/json":
            # Data, never run (confer.js's messages, base.html): written by Jinja's tojson,
            # which escapes < > & ', so no text in it can close the element.
            if any(c in el.body for c in "<>&'"):
                problems.append(f"JSON data block with unescaped markup: {el.body[:80]!r}")
        elif el.tag == "script":
            src = el.attr("src")
            if not src:
                problems.append(f"inline <script>: {el.body[:80]!r}")
            elif not src.startswith("/static/"):
                problems.append(f"<script src={src!r}> is not one of our static files")
            if el.body.strip():
                problems.append(f"<script src={src!r}> has a body: {el.body[:80]!r}")
        if el.tag == "meta" and (el.attr("http-equiv") or "").lower() == "refresh":
            problems.append("<meta http-equiv=refresh>")
        problems += _attribute_problems(el)
    return problems


def page_text(page: str) -> str:
    """The text of a page outside tags and scripts, entities decoded."""
    return "".join(parse(page).text)


# --- the payload lists ----------------------------------------------------------------


def test_the_payload_lists_are_present_with_their_licence():
    assert len(XSS_FILES) >= 9
    assert (XSS_DIR / "LICENSE").read_text().startswith("MIT License")
    assert "PayloadsAllTheThings" in (XSS_DIR / "README.md").read_text()
    unique = {p for f in XSS_FILES for p in load_payloads(f)}
    assert len(unique) >= 865


@pytest.mark.parametrize("path", XSS_FILES, ids=[p.stem for p in XSS_FILES])
def test_no_payload_survives_rendering(path: Path):
    failures = []
    payloads = load_payloads(path)
    assert payloads
    for payload in payloads:
        rendered = markup.render_sync(payload)
        if problems := fragment_problems(rendered):
            failures.append(f"{payload!r}\n  -> {rendered!r}\n  {'; '.join(problems)}")
    assert not failures, (
        f"{len(failures)} of {len(payloads)} payloads in {path.name} got through:\n"
        + ("\n".join(failures))
    )


@pytest.mark.parametrize(
    "unsafe",
    [
        "<script>alert(1)</script>",
        '<p><a href="javascript:alert(1)">x</a></p>',
        '<p><a href="java&#x09;script:alert(1)">x</a></p>',
        '<p><a href=" JaVaScRiPt:alert(1)">x</a></p>',
        '<p><a href="https://example.org">x</a></p>',  # rel missing
        '<p onclick="alert(1)">x</p>',
        '<p style="x">x</p>',
        '<img src="https://example.org/x.png">',
        "<svg></svg>",
        '<form action="https://example.org"></form>',
    ],
)
def test_the_fragment_checker_catches_what_it_looks_for(unsafe):
    assert fragment_problems(unsafe)


@pytest.mark.parametrize(
    "unsafe",
    [
        "<script>alert(1)</script>",
        '<script src="/static/x.js">alert(1)</script>',
        '<script src="https://cdn.example/x.js"></script>',
        '<body onload="x()">',
        '<div style="color:red">',
        '<a href="javascript:alert(1)">',
        '<form action="javascript:alert(1)">',
        "<style>p{}</style>",
        '<iframe src="https://example.org">',
    ],
)
def test_the_page_checker_catches_what_it_looks_for(unsafe):
    assert page_problems(f"<html><body>{unsafe}</body></html>")


def test_the_checkers_accept_safe_html():
    fragment = (
        '<p><a href="https://example.org" rel="nofollow ugc noopener">x</a> '
        '<a href="mailto:a@example.org" rel="noopener ugc nofollow">m</a></p>'
    )
    assert fragment_problems(fragment) == []
    page = (
        '<html><head><script type="module" src="/static/confer.js"></script>'
        '<link rel="stylesheet" href="/static/confer.css"></head>'
        '<body><a href="/c/x">x</a><form method="post" action="/login"></form></body></html>'
    )
    assert page_problems(page) == []


# --- what the pipeline does with ordinary text ---------------------------------------


def test_raw_html_is_escaped_and_shown_as_text():
    out = markup.render_sync("<b>x</b> and <script>alert(1)</script>")
    assert "&lt;b&gt;x&lt;/b&gt;" in out
    assert "<b>" not in out and "<script" not in out
    assert "<b>x</b> and <script>alert(1)</script>" in page_text(out)


def test_linkify_makes_http_links_with_rel():
    out = markup.render_sync("See http://example.org/agenda and www.example.gov.uk today.")
    links = [el for el in parse(out).elements if el.tag == "a"]
    assert [a.attr("href") for a in links] == [
        "http://example.org/agenda",
        "http://www.example.gov.uk",
    ]
    assert all(set(a.attr("rel").split()) >= {"nofollow", "ugc", "noopener"} for a in links)


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click]( javascript:alert(1) )",
        "[click](<javascript:alert(1)>)",
        "<javascript:alert(1)>",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click][ref]\n\n[ref]: javascript:alert(1)",
        "javascript:alert(1)",
    ],
)
def test_javascript_links_are_dropped(source):
    out = markup.render_sync(source)
    assert fragment_problems(out) == []
    assert not [el for el in parse(out).elements if el.tag == "a" and el.attr("href")]


def test_nh3_drops_dangerous_links_even_if_markdown_let_them_through(monkeypatch):
    """The second layer on its own: a markdown-it that validates no link at all."""

    def permissive() -> MarkdownIt:
        md = MarkdownIt("js-default", {"linkify": True, "html": False})
        md.validateLink = lambda url: True  # type: ignore[method-assign]
        return md

    monkeypatch.setattr(markup, "_md", permissive)
    raw = permissive().render(
        "[a](javascript:alert(1)) [b](data:text/html,x) [c](https://ok.example)"
    )
    assert 'href="javascript:' in raw  # the first layer really is off here
    out = markup.render_sync(
        "[a](javascript:alert(1)) [b](data:text/html,x) [c](https://ok.example)"
    )
    assert fragment_problems(out) == []
    hrefs = [el.attr("href") for el in parse(out).elements if el.tag == "a" and el.attr("href")]
    assert hrefs == ["https://ok.example"]


def test_markdown_emphasis_lists_and_links_work():
    source = (
        "Some *emphasis*, some **strong** and ~~struck~~ text.\n\n"
        "- one\n- two\n\n"
        "1. first\n2. second\n\n"
        '[the agenda](https://example.org/agenda "Agenda") and <mailto:clerk@example.gov.uk>\n\n'
        "> a quote\n\n"
        "`code`\n"
    )
    out = markup.render_sync(source)
    assert "<em>emphasis</em>" in out
    assert "<strong>strong</strong>" in out
    assert "<s>struck</s>" in out or "<del>struck</del>" in out
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in out
    assert "<ol>\n<li>first</li>\n<li>second</li>\n</ol>" in out
    assert "<blockquote>" in out and "<code>code</code>" in out
    links = {el.attr("href"): el for el in parse(out).elements if el.tag == "a"}
    assert links["https://example.org/agenda"].attr("title") == "Agenda"
    assert "mailto:clerk@example.gov.uk" in links
    assert fragment_problems(out) == []


def test_images_become_links_not_img():
    out = markup.render_sync("![a tracking pixel](https://tracker.example/p.png)")
    assert "<img" not in out
    assert fragment_problems(out) == []


@pytest.mark.parametrize(
    "source",
    [
        "[" * 20_000,
        "*a" * 10_000,
        "![" * 10_000,
        "[a" * 10_000,
        "_a" * 10_000,
        "> " * 10_000,
        "<" * 20_000,
        "&#" * 10_000,
        "|a" * 5_000 + "\n" + "|-" * 5_000,
    ],
    ids=["brackets", "star-a", "image-brackets", "open-links", "underscore-a", "quotes", "lt",
         "entities", "table"],
)  # fmt: skip
async def test_pathological_input_renders_without_exception(source):
    assert len(source) >= 20_000
    out = await markup.render(source)
    assert isinstance(out, str) and out
    assert fragment_problems(out) == []


def _stock_markdown_it() -> MarkdownIt:
    """markdown-it as confer.markup configures it, without Confer's shortcuts."""
    stock = MarkdownIt("js-default", {"linkify": True, "typographer": False, "html": False})
    stock.enable("linkify")
    stock.disable("image")
    return stock


@pytest.mark.parametrize(
    "source",
    [
        "See http://example.org/agenda and www.example.gov.uk today.",
        "Write to clerk@parish.gov.uk or see camden.gov.uk/agenda.",
        "Plain words. No links at all, even after a full stop.Like this one.",
        "[the guide](https://example.org/guide) and then example.org on its own",
        "**bold** www.a.example `code www.b.example` and <https://c.example>",
        "A sentence ending in a number 3.5 and e.g. an abbreviation, i.e. none.",
        "@Jane Smith said https://example.org/x?y=1, and (www.d.example).",
        "> quoted www.e.example\n\n- list item f.example\n- g@h.example",
    ],
)
def test_fuzzy_links_are_found_as_full_linkify_finds_them(source):
    """confer.markup runs linkify's core rule only when text could hold a fuzzy link: the
    output is exactly what markdown-it gives with the rule always on."""
    assert markup._md().render(source) == _stock_markdown_it().render(source)


@given(url=st.from_regex(markup._PLAIN_URL, fullmatch=True))
@settings(max_examples=500, deadline=None)
def test_a_plain_address_is_one_markdown_it_would_leave_as_it_is(url):
    """confer.markup skips markdown-it's link normalising for plain addresses: for every
    address the pattern admits, normalising gives it back unchanged."""
    assert normalize_url.normalizeLink(url) == url
    assert normalize_url.normalizeLinkText(url) == url


@pytest.mark.parametrize(
    "source",
    [
        "https://example.org/councils/social-media-guide and http://a.example/x?y=1&z=2#top",
        "https://EXAMPLE.org/Caps and https://example.org:8080/port and https://u@example.org/",
        "https://bücher.example/straße and https://xn--bcher-kva.example/ and www.bücher.example",
        "https://example.org/a%20b and https://example.org/a b and https://example.org/<x>",
        "[a link](https://example.org/@user) <https://example.org/q?a=(1)> https://1.2.3.4/x",
        "mailto:clerk@parish.gov.uk and https://example.org/path*with*stars*",
    ],
)
def test_links_render_as_markdown_it_renders_them(source):
    assert markup._md().render(source) == _stock_markdown_it().render(source)
