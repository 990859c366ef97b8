"""Background tasks that live as long as something else: the app (the programme clock, the
mail sender, the digest clock), or a loop (the mail sender's LISTEN connection).

`running()` starts a task for the body of an `async with` and, on the way out, cancels it and
waits for it to end, so no task outlives its owner or the event loop. With `stop`, the task is
first asked to finish by itself and given `grace` seconds (the email in hand is sent).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any


@contextlib.asynccontextmanager
async def running(
    work: Coroutine[Any, Any, Any],
    *,
    name: str | None = None,
    stop: asyncio.Event | None = None,
    grace: float = 0.0,
) -> AsyncIterator[asyncio.Task[Any]]:
    """Run `work` as a task while the `async with` body runs; then stop it and await its end."""
    task = asyncio.create_task(work, name=name)
    try:
        yield task
    finally:
        if stop is not None:
            stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), grace)
        await cancel(task)


async def cancel(task: asyncio.Task[Any]) -> None:
    """Cancel `task` (nothing, if it has ended) and wait for it to end; its cancellation is
    not an error, anything else it raised is."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
