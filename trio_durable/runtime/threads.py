"""Running a sync step body in a worker thread, with the backend resolved once.

Under Trio the body runs through ``trio.to_thread.run_sync`` directly: about half
the cost of ``anyio.to_thread.run_sync``, whose per-call backend lookup dominates
a cheap step. The body sees a copy of the caller's context variables, Trio's
default thread limiter bounds how many bodies run at once, a cancelled caller
waits for its body to finish (the cancellation lands at its next checkpoint), and
inside the body ``trio.from_thread`` reaches the event loop. Other backends use
``anyio.to_thread.run_sync``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
import trio

ToThread = Callable[[Callable[[], Any]], Awaitable[Any]]


async def trio_run_sync(fn: Callable[[], Any]) -> Any:
    """``fn()`` in one of Trio's worker threads; its result, or its exception."""
    return await trio.to_thread.run_sync(fn)


async def anyio_run_sync(fn: Callable[[], Any]) -> Any:
    """``fn()`` in one of anyio's worker threads (any backend)."""
    return await anyio.to_thread.run_sync(fn)
