"""The local service on Trio, its handlers on asyncio: the crossings between the two loops.

The service always runs on a Trio loop. A handler written for asyncio runs on
an asyncio loop: the caller's own (the test runner under asyncio) or a fresh
one in a worker thread (``trio-durable run``/``serve`` and the runner under
Trio, for a handler whose ``backend`` is ``"asyncio"``). Three crossings:

- ``call_from_asyncio``: an asyncio task calls a sync service method on the
  service's Trio loop and awaits the result without blocking its own loop
  (what the handler's ``durable_client`` does);
- ``await_on_asyncio``: a Trio task runs a coroutine on an asyncio loop and
  awaits it (cancelling it when the Trio task is cancelled);
- ``ServiceLoop``: a Trio loop of its own, in a thread, for a service started
  from asyncio (optionally on a ``MockClock``: virtual time, which moves only
  while asyncio awaits the service through ``wait`` and no invocation runs:
  the Trio loop cannot see what the asyncio side is doing otherwise).

Callbacks scheduled onto the other loop never raise there: a loop that has
already stopped just drops the answer (its waiter is gone with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import anyio.to_thread
import outcome
import trio

from trio_durable.errors import invalid_parameter
from trio_durable.runtime.threads import set_autojump_threshold

__all__ = ["ServiceLoop", "await_on_asyncio", "call_from_asyncio", "run_on_new_asyncio_loop"]

T = TypeVar("T")


def _deliver(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _post(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any) -> None:
    """Hand ``result`` to ``future`` on ``loop``, from any thread; dropped if the loop is closed."""
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
        loop.call_soon_threadsafe(_deliver, future, result)


async def call_from_asyncio(token: trio.lowlevel.TrioToken, fn: Callable[[], T]) -> T:
    """``fn()`` run on the Trio loop of ``token``, awaited from an asyncio task.

    The call runs whole or not at all; a cancelled caller stops waiting for it.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[outcome.Outcome[T]] = loop.create_future()

    def call() -> None:
        _post(loop, future, outcome.capture(fn))

    try:
        token.run_sync_soon(call)
    except trio.RunFinishedError:
        raise invalid_parameter("Invalid checkpoint token: the local service has stopped") from None
    result = await future
    return result.unwrap()


async def await_on_asyncio(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` as a task of ``loop`` (in another thread) and await it from Trio.

    A cancelled Trio caller cancels the asyncio task and returns at once.
    """
    token = trio.lowlevel.current_trio_token()
    done = trio.Event()

    def finished(_: Any) -> None:
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(done.set)

    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    future.add_done_callback(finished)
    try:
        await done.wait()
    finally:
        if not future.done():
            future.cancel()
    return future.result()


async def run_on_new_asyncio_loop(fn: Callable[[], Awaitable[T]]) -> T:
    """``await fn()`` on a fresh asyncio loop in a worker thread, awaited from Trio.

    A cancelled caller abandons the thread (its loop runs on until ``fn`` returns).
    """

    async def main() -> T:
        return await fn()

    return await trio.to_thread.run_sync(asyncio.run, main(), abandon_on_cancel=True)


class ServiceLoop:
    """A Trio loop in a thread of its own, running ``service(task_status=...)``.

    For a service started from asyncio: ``await start()``, then ``call(fn)``
    (sync, brief: it blocks the asyncio thread while ``fn`` runs there),
    ``await wait(afn)`` (``afn`` runs as a task of the Trio loop) and ``await
    stop()``. With ``virtual_time`` the loop runs on a ``MockClock`` that
    autojumps only while some ``wait`` is in progress (and, as everywhere, no
    invocation holds it: ``runtime/threads.py``).
    """

    def __init__(
        self, service: Callable[..., Awaitable[None]], *, virtual_time: bool = False
    ) -> None:
        self._service = service
        self._clock: trio.abc.Clock | None = None
        if virtual_time:
            import trio.testing  # only here: it imports pytest

            self._clock = trio.testing.MockClock(autojump_threshold=math.inf)
        self._waiting = 0
        self._token: trio.lowlevel.TrioToken | None = None
        self._cancel: Callable[[], None] | None = None
        self._spawn: Callable[..., object] | None = None
        self._thread: threading.Thread | None = None

    @property
    def token(self) -> trio.lowlevel.TrioToken:
        assert self._token is not None, "the service loop has not started"
        return self._token

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[outcome.Outcome[None]] = loop.create_future()

        async def main() -> None:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    await nursery.start(self._service)
                    self._token = trio.lowlevel.current_trio_token()
                    self._cancel = scope.cancel
                    self._spawn = nursery.start_soon
                    _post(loop, ready, outcome.Value(None))
                    await trio.sleep_forever()

        def thread() -> None:
            try:
                trio.run(main, clock=self._clock)
            except BaseException as exc:
                _post(loop, ready, outcome.Error(exc))

        self._thread = threading.Thread(target=thread, name="trio-durable-service", daemon=True)
        self._thread.start()
        (await ready).unwrap()

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the Trio loop; the calling thread waits for it."""
        return trio.from_thread.run_sync(fn, trio_token=self.token)

    async def wait(self, afn: Callable[[], Awaitable[T]]) -> T:
        """``await afn()`` as a task of the Trio loop, awaited from asyncio."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[outcome.Outcome[T]] = loop.create_future()

        async def task() -> None:
            self._waiting += 1
            if self._clock is not None and self._waiting == 1:
                set_autojump_threshold(self._clock, 0)
            try:
                result = await outcome.acapture(afn)
            finally:
                self._waiting -= 1
                if self._clock is not None and self._waiting == 0:
                    set_autojump_threshold(self._clock, math.inf)
            _post(loop, future, result)

        assert self._spawn is not None
        self.token.run_sync_soon(self._spawn, task)
        return (await future).unwrap()

    async def stop(self) -> None:
        if self._cancel is not None:
            self.token.run_sync_soon(self._cancel)
        if self._thread is not None:
            await anyio.to_thread.run_sync(self._thread.join)
