"""The one Markdown pipeline: markdown-it-py (js-default: raw HTML off) + linkify, then nh3.

Markdown is rendered once, on write, and stored beside its source. Rendering runs
in a worker thread so that a pathological post never stalls the event loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

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

_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="markup")


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    md = MarkdownIt("js-default", {"linkify": True, "typographer": False, "html": False})
    md.enable("linkify")
    # Images would let a post load third-party content into every reader's browser.
    md.disable("image")
    return md


def render_sync(source: str) -> str:
    """Render Markdown to sanitised HTML (blocking: call render() from async code)."""
    html = _md().render(source)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    )


async def render(source: str) -> str:
    """Render off the event loop."""
    if len(source) < 200 and not any(c in source for c in "[<*_`#>|-!~\\&:."):
        # Plain short text: cheap enough to do inline.
        return render_sync(source)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, render_sync, source)
