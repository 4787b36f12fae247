"""Running a sync step body in a worker thread, as cheaply as the backend allows.

Under Trio the body goes straight to Trio's thread cache
(``trio.lowlevel.start_thread_soon``) and its outcome comes back through the
run's token: about half the cost of ``anyio.to_thread.run_sync``, whose
per-call backend lookup and ``from_thread`` plumbing dominate a cheap step.
The semantics are those of ``to_thread.run_sync`` without abandoning: the
body sees a copy of the caller's context variables, Trio's default thread
limiter bounds how many bodies run at once, and a cancelled caller waits for
its body to finish (the cancellation is then delivered at its next
checkpoint). Inside the body, calls back into the event loop need an explicit
``trio_token``. Other backends use ``anyio.to_thread.run_sync``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
import outcome
import trio

ToThread = Callable[[Callable[[], Any]], Awaitable[Any]]


async def trio_run_sync(fn: Callable[[], Any]) -> Any:
    """``fn()`` in a worker thread of Trio's cache; its result, or its exception."""
    await trio.lowlevel.checkpoint_if_cancelled()
    limiter = trio.to_thread.current_default_thread_limiter()
    borrower = object()
    try:
        limiter.acquire_on_behalf_of_nowait(borrower)
    except trio.WouldBlock:
        await limiter.acquire_on_behalf_of(borrower)
    try:
        task = trio.lowlevel.current_task()
        token = trio.lowlevel.current_trio_token()
        context = contextvars.copy_context()

        def deliver(result: outcome.Outcome[Any]) -> None:
            token.run_sync_soon(trio.lowlevel.reschedule, task, result)

        trio.lowlevel.start_thread_soon(lambda: context.run(fn), deliver)
        return await trio.lowlevel.wait_task_rescheduled(_never_abort)
    finally:
        limiter.release_on_behalf_of(borrower)


def _never_abort(_: Any) -> trio.lowlevel.Abort:
    # The body cannot be interrupted: the caller waits for it to finish.
    return trio.lowlevel.Abort.FAILED


async def anyio_run_sync(fn: Callable[[], Any]) -> Any:
    """``fn()`` in one of anyio's worker threads (any backend)."""
    return await anyio.to_thread.run_sync(fn)
