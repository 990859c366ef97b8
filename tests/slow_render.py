"""A deliberately slow Markdown renderer for tests/test_loop_lag.py, importable by name so that
Confer's render worker processes (started with "spawn") can run it."""

from __future__ import annotations

import os
import time

from confer.markup import render_sync

SECONDS = 2.0


def slow_render(source: str) -> str:
    """Sleep, then render, and say which process did it (as an HTML comment nh3 would strip
    from real output, so it can only come from here)."""
    time.sleep(SECONDS)
    return f"<!-- pid {os.getpid()} -->" + render_sync(source)
