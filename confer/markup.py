"""The one Markdown pipeline: markdown-it-py (js-default: raw HTML off) + linkify, then nh3.

Markdown is rendered once, on write, and stored beside its source. Rendering runs in worker
processes so that a pathological post never stalls the event loop. A worker thread was not
enough: rendering 20,000 characters of `*a`, `**_` or `` `a`` `` in a thread stalled the loop
for 100-170 ms at a time, as single C calls (regular-expression matches over the whole text)
hold the GIL throughout (tests/test_loop_lag.py).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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

RENDER_PROCESSES = 2
# The longest GIL hold while rendering is one C call (a regular-expression match) over the
# whole text, so it grows with length: ~100-170 ms at 20,000 characters, under 10 ms at 1,000.
# Most posts are shorter than this and render in a thread, without the processes' memory
# (~30 MB each) or their IPC; longer ones go to the processes.
THREAD_MAX_CHARS = 1000
_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="markup")
_processes: ProcessPoolExecutor | None = None


def _warm() -> None:
    # Rendering is background work: when both workers are busy on a 2-core machine, the event
    # loop's process must still win the CPU.
    os.nice(10)
    _md()  # each worker builds its parser once, when it starts


def _pool() -> ProcessPoolExecutor:
    """The worker processes, started on first use ("spawn": never fork a threaded server)."""
    global _processes
    if _processes is None:
        _processes = ProcessPoolExecutor(
            max_workers=RENDER_PROCESSES,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm,
        )
    return _processes


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
    """Render off the event loop: short posts in a thread, long ones in a worker process."""
    if len(source) < 200 and not any(c in source for c in "[<*_`#>|-!~\\&:."):
        # Plain short text: cheap enough to do inline.
        return render_sync(source)
    global _processes
    loop = asyncio.get_running_loop()
    if len(source) <= THREAD_MAX_CHARS:
        return await loop.run_in_executor(_threads, render_sync, source)
    try:
        return await loop.run_in_executor(_pool(), render_sync, source)
    except BrokenProcessPool:
        # A worker died (killed, out of memory): every later call would fail. Start afresh.
        _processes = None
        return await loop.run_in_executor(_pool(), render_sync, source)
