"""Running a sync step body in a worker thread, with the backend resolved once.

Under Trio each invocation has a ``StepThread``: one worker thread, reused for
every sync body of the invocation that finds it free (a body that starts while
another runs there goes through ``trio.to_thread.run_sync``, as does everything
under ``trio_run_sync``). The thread is one of Trio's own (hosted by
``trio.to_thread.run_sync``), so inside a body ``trio.from_thread`` reaches the
event loop; the body sees a copy of the caller's context variables; a body
holds a token of Trio's default thread limiter while it runs; a cancelled caller
waits for its body to finish (the cancellation lands at its next checkpoint).
Other backends use ``anyio.to_thread.run_sync``.

Why a thread of its own: handing a body to a waiting thread and waking the loop
with its result through Trio's wake-up socket costs most of a cheap step. When
no other task can run and no deadline is near, the loop instead waits for the
body on a lock, for at most ``PATIENCE_SECONDS``; a body that takes longer is
then waited for as usual, so a blocking body still never freezes the rest of
the loop for more than that.

Under ``trio.testing.MockClock`` a task waiting for a thread counts as blocked,
so autojump would move virtual time on (past timeouts) while the body runs;
virtual time therefore stands still until every body in a thread has returned.
"""

from __future__ import annotations

import contextvars
import math
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import outcome
import trio
from sniffio import current_async_library_cvar

ToThread = Callable[[Callable[[], Any]], Awaitable[Any]]

PATIENCE_SECONDS = 0.001
"""The longest the event loop waits on a lock for a body when nothing else can run."""

# id(clock) -> (bodies now running in threads, the autojump threshold before them)
_held_clocks: dict[int, tuple[int, float]] = {}


async def trio_run_sync(fn: Callable[[], Any]) -> Any:
    """``fn()`` in one of Trio's worker threads; its result, or its exception."""
    clock = _mock_clock()
    if clock is None:
        return await trio.to_thread.run_sync(fn)
    with _clock_held(clock):
        return await trio.to_thread.run_sync(fn)


@dataclass(frozen=True, slots=True)
class StepThreadStatistics:
    """What a ``StepThread`` has done: bodies run on its thread (``on_lock``: of
    those, waited for on the lock), bodies sent to Trio's pool while it was busy,
    and whether its thread is running now."""

    on_thread: int
    on_lock: int
    in_pool: int
    thread_running: bool


class StepThread:
    """An invocation's reused worker thread for sync step bodies (see the module doc).

    Calling it (``run_sync``) is the invocation's ``to_thread``; the thread starts
    with the first body, hosted by a system task (so no cancellation of the invocation can
    strand a body handed over); ``close`` lets it go back to Trio's thread cache
    once its body, if any, has ended.
    """

    __slots__ = (
        "_body_done",
        "_closed",
        "_fn",
        "_in_pool",
        "_in_use",
        "_mutex",
        "_next_body",
        "_on_lock",
        "_on_thread",
        "_outcome",
        "_running",
        "_started",
        "_token",
        "_waiter",
    )

    def __init__(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._started = False
        self._closed = False
        self._in_use = False
        self._next_body = threading.Lock()  # released: a body (or the close) is ready
        self._next_body.acquire()
        self._body_done = threading.Lock()  # released: the body ended, nobody waits async
        self._body_done.acquire()
        self._mutex = threading.Lock()  # orders "body ended" against "loop waits async"
        self._fn: Callable[[], Any] | None = None
        self._outcome: outcome.Outcome[Any] | None = None
        self._waiter: trio.lowlevel.Task | None = None
        self._on_thread = self._on_lock = self._in_pool = 0
        self._running = False

    async def run_sync(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on the invocation's thread (or Trio's pool if it is busy)."""
        limiter = trio.to_thread.current_default_thread_limiter()
        if self._in_use or self._closed:
            self._in_pool += 1
            return await trio_run_sync(fn)
        try:
            limiter.acquire_on_behalf_of_nowait(self)
        except trio.WouldBlock:
            self._in_pool += 1
            return await trio_run_sync(fn)
        self._in_use = True
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            if not self._started:
                self._started = True
                trio.lowlevel.spawn_system_task(self._host, name="trio_durable.StepThread")
            context = contextvars.copy_context()
            context.run(current_async_library_cvar.set, None)
            self._fn = lambda: context.run(fn)
            self._on_thread += 1
            self._next_body.release()
            result = self._wait_on_lock()
            if result is None:
                result = await self._wait_async()
            else:
                self._on_lock += 1
                await trio.lowlevel.cancel_shielded_checkpoint()
        finally:
            self._in_use = False
            limiter.release_on_behalf_of(self)
        return result.unwrap()

    async def __call__(self, fn: Callable[[], Any]) -> Any:
        return await self.run_sync(fn)

    def statistics(self) -> StepThreadStatistics:
        return StepThreadStatistics(
            on_thread=self._on_thread,
            on_lock=self._on_lock,
            in_pool=self._in_pool,
            thread_running=self._running,
        )

    def close(self) -> None:
        """Let the thread go once its body, if any, has ended (no further bodies)."""
        if not self._closed:
            self._closed = True
            if self._started and not self._in_use:
                self._next_body.release()

    def _wait_on_lock(self) -> outcome.Outcome[Any] | None:
        """The body's outcome, if it ends while the loop waits on the lock (only
        when nothing else could run meanwhile)."""
        stats = trio.lowlevel.current_statistics()
        if stats.tasks_runnable or stats.run_sync_soon_queue_size:
            return None
        patience = min(PATIENCE_SECONDS, stats.seconds_to_next_deadline)
        if patience <= 0 or not self._body_done.acquire(timeout=patience):
            return None
        return self._take_outcome()

    async def _wait_async(self) -> outcome.Outcome[Any]:
        """The body's outcome, waited for as a blocked task (its thread wakes it)."""
        with self._mutex:
            done = self._outcome is not None
            if not done:
                self._waiter = trio.lowlevel.current_task()
        if done:
            self._body_done.acquire()
            return self._take_outcome()
        clock = _mock_clock()
        with _clock_held(clock) if clock is not None else _nothing():
            result: outcome.Outcome[Any] = await trio.lowlevel.wait_task_rescheduled(
                lambda _: trio.lowlevel.Abort.FAILED
            )
        self._outcome = None
        return result

    def _take_outcome(self) -> outcome.Outcome[Any]:
        result = self._outcome
        assert result is not None
        self._outcome = None
        return result

    async def _host(self) -> None:
        await trio.to_thread.run_sync(
            self._serve, abandon_on_cancel=True, limiter=trio.CapacityLimiter(1)
        )

    def _serve(self) -> None:
        """The thread: run each body handed over until the invocation closes."""
        self._running = True
        try:
            self._serve_bodies()
        finally:
            self._running = False

    def _serve_bodies(self) -> None:
        while True:
            self._next_body.acquire()
            fn, self._fn = self._fn, None
            if fn is None:
                return
            result = outcome.capture(fn)
            with self._mutex:
                self._outcome = result
                waiter, self._waiter = self._waiter, None
            if waiter is None:
                self._body_done.release()
            else:
                with suppress(trio.RunFinishedError):
                    self._token.run_sync_soon(
                        trio.lowlevel.reschedule, waiter, outcome.Value(result)
                    )
            if self._closed:
                return


@contextmanager
def _nothing() -> Iterator[None]:
    yield


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
