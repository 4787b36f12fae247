"""Running a sync step body in a worker thread, with the backend resolved once.

Under Trio the body runs through ``trio.to_thread.run_sync`` directly: about half
the cost of ``anyio.to_thread.run_sync``, whose per-call backend lookup dominates
a cheap step. The body sees a copy of the caller's context variables, Trio's
default thread limiter bounds how many bodies run at once, a cancelled caller
waits for its body to finish (the cancellation lands at its next checkpoint), and
inside the body ``trio.from_thread`` reaches the event loop. Other backends use
``anyio.to_thread.run_sync``.

Under ``trio.testing.MockClock`` a task waiting for a thread counts as blocked,
so autojump would move virtual time on (past timeouts) while the body runs;
virtual time therefore stands still until every body in a thread has returned.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import trio

ToThread = Callable[[Callable[[], Any]], Awaitable[Any]]

# id(clock) -> (bodies now running in threads, the autojump threshold before them)
_held_clocks: dict[int, tuple[int, float]] = {}


async def trio_run_sync(fn: Callable[[], Any]) -> Any:
    """``fn()`` in one of Trio's worker threads; its result, or its exception."""
    clock = _mock_clock()
    if clock is None:
        return await trio.to_thread.run_sync(fn)
    with _clock_held(clock):
        return await trio.to_thread.run_sync(fn)


def _mock_clock() -> Any:
    """The running MockClock, if any (never imports ``trio.testing``: it pulls in
    pytest; if nothing imported it, the clock cannot be one)."""
    testing = sys.modules.get("trio.testing")
    clock = trio.lowlevel.current_clock()
    return clock if testing is not None and isinstance(clock, testing.MockClock) else None


@contextmanager
def _clock_held(clock: Any) -> Iterator[None]:
    key = id(clock)
    running, before = _held_clocks.get(key, (0, clock.autojump_threshold))
    _held_clocks[key] = (running + 1, before)
    clock.autojump_threshold = math.inf
    try:
        yield
    finally:
        running, before = _held_clocks.pop(key)
        if running > 1:
            _held_clocks[key] = (running - 1, before)
        else:
            clock.autojump_threshold = before


@contextmanager
def virtual_time_held() -> Iterator[None]:
    """Under a running ``MockClock``, hold virtual time still inside the block: for
    a task that waits on work in another thread (which autojump cannot see)."""
    clock = _mock_clock()
    if clock is None:
        yield
        return
    with _clock_held(clock):
        yield


def set_autojump_threshold(clock: Any, threshold: float) -> None:
    """Set a MockClock's autojump threshold; while threads hold the clock still,
    set the one it returns to when they are done."""
    key = id(clock)
    if key in _held_clocks:
        running, _ = _held_clocks[key]
        _held_clocks[key] = (running, threshold)
    else:
        clock.autojump_threshold = threshold


async def anyio_run_sync(fn: Callable[[], Any]) -> Any:
    """``fn()`` in one of anyio's worker threads (any backend)."""
    return await anyio.to_thread.run_sync(fn)
