"""The one Markdown pipeline: markdown-it-py (js-default: raw HTML off) + linkify, then nh3.

Markdown is rendered once, on write, and stored beside its source: on the event loop when the
text is short and plain (a few milliseconds at worst), otherwise in worker processes, so that a
pathological post never stalls the event loop. Worker threads were not enough: rendering
20,000 characters of `*a`, `**_` or `` `a`` `` in a thread stalled the loop for 100-170 ms at a
time, as single C calls (regular-expression matches over the whole text) hold the GIL
throughout; and even 1,000-character posts rendering in a thread (~100 ms of pure Python for
1,000 `[`) kept the GIL from the loop for 60-130 ms, the hand-overs going to the thread
(tests/test_loop_lag.py).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.common import normalize_url
from markdown_it.rules_core import StateCore
from markdown_it.rules_core.linkify import linkify as _linkify_text

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}

RENDER_PROCESSES = 2
_processes: ProcessPoolExecutor | None = None


def _warm() -> None:
    # Rendering is background work: when both workers are busy on a 2-core machine, the event
    # loop's process must still win the CPU.
    os.nice(10)
    _md()  # each worker builds its parser once, when it starts


def _pool() -> ProcessPoolExecutor:
    """The worker processes, all started on first use ("spawn": never fork a threaded server).

    Started together, so that a later render never waits for (or the event loop for) the
    start of another process."""
    global _processes
    if _processes is None:
        _processes = ProcessPoolExecutor(
            max_workers=RENDER_PROCESSES,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm,
        )
        for _ in range(RENDER_PROCESSES):
            _processes.submit(os.getpid)
    return _processes


# Text that linkify-it could turn into a link without "http(s)://" (which the inline rule has
# already linked): "www.", an address with "@", a domain such as "camden.gov.uk".
_MAYBE_FUZZY_LINK = re.compile(r"www\.|@|[\w-]\.[a-z]{2,}", re.IGNORECASE)


def _linkify_fuzzy(state: StateCore) -> None:
    """markdown-it's linkify core rule, run only when some text outside a link could hold a
    link: the rule tries linkify-it's many patterns on every text token, half of the cost of
    rendering an ordinary post."""
    for token in state.tokens:
        if token.type != "inline" or not token.children:
            continue
        inside = 0
        for child in token.children:
            if child.type == "link_open":
                inside += 1
            elif child.type == "link_close":
                inside -= 1
            elif child.type == "text" and not inside and _MAYBE_FUZZY_LINK.search(child.content):
                _linkify_text(state)
                return


# A web address that markdown-it's link normalising (mdurl's parse, punycode and percent-encode,
# or for the link's text punycode-decode and percent-decode) gives back unchanged: http(s), a
# lower-case ASCII host name with no punycode label ("xn--"), and after it only characters that
# percent-encoding leaves alone (no "%").
# tests/test_markup.py checks that the two agree on every such address.
_PLAIN_URL = re.compile(
    r"https?://(?![^/?#]*xn--)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+"
    r"(?:[/?#][A-Za-z0-9;/?:@&=+$,_.!~*'()#-]*)?"
)


def _normalize_link(url: str) -> str:
    """markdown-it's normalizeLink, skipped for a plain address (most links in posts): for
    each link it costs more than the rest of a short post's rendering."""
    return url if _PLAIN_URL.fullmatch(url) else normalize_url.normalizeLink(url)


def _normalize_link_text(url: str) -> str:
    """markdown-it's normalizeLinkText, skipped likewise for a plain address."""
    return url if _PLAIN_URL.fullmatch(url) else normalize_url.normalizeLinkText(url)


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    md = MarkdownIt("js-default", {"linkify": True, "typographer": False, "html": False})
    md.enable("linkify")
    md.core.ruler.at("linkify", _linkify_fuzzy)
    md.normalizeLink = _normalize_link  # type: ignore[method-assign]
    md.normalizeLinkText = _normalize_link_text  # type: ignore[method-assign]
    # Images would let a post load third-party content into every reader's browser.
    md.disable("image")
    return md


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    # Built once: passing the allow-lists to nh3.clean on every call took more time than
    # the cleaning of a short post.
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    )


def render_sync(source: str) -> str:
    """Render Markdown to sanitised HTML (blocking: call render() from async code)."""
    return _cleaner().clean(_md().render(source))


# Inline on the event loop: measured worst case ~10 ms for any text within these limits
# (pathological Markdown needs many delimiters or lines); most posts fit, and sending them
# elsewhere would cost more than the rendering itself.
INLINE_MAX_CHARS = 600
INLINE_MAX_SPECIALS = 24
INLINE_MAX_LINES = 30
_SPECIALS = str.maketrans("", "", "[]*_`<>~|\\!&#")


def renders_inline(source: str) -> bool:
    """Whether `source` is short and plain enough to render on the event loop."""
    return (
        len(source) <= INLINE_MAX_CHARS
        and len(source) - len(source.translate(_SPECIALS)) <= INLINE_MAX_SPECIALS
        and source.count("\n") <= INLINE_MAX_LINES
    )


async def render(source: str) -> str:
    """Render on the event loop if short and plain, otherwise in a worker process (~1 ms of
    inter-process overhead, none of it the event loop's)."""
    if renders_inline(source):
        return render_sync(source)
    global _processes
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_pool(), render_sync, source)
    except BrokenProcessPool:
        # A worker died (killed, out of memory): every later call would fail. Start afresh.
        _processes = None
        return await loop.run_in_executor(_pool(), render_sync, source)
