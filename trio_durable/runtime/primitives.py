"""Events, checkpoints, cancel scopes and task groups of the hot paths: Trio's
own under Trio.

The runtime is written against anyio so it also runs under asyncio, but
anyio looks the backend up on every call (``anyio.Event()`` costs about 13 us
against 1 us for ``trio.Event()``). These helpers ask Trio whether it is
running (one thread-local read) and fall back to anyio otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Protocol

import anyio
import anyio.lowlevel
import trio


class Event(Protocol):
    """What ``trio.Event`` and ``anyio.Event`` have in common."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    async def wait(self) -> None: ...


def under_trio() -> bool:
    """Whether the calling thread runs a Trio task (else: asyncio, through anyio)."""
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def new_event() -> Event:
    """A fresh event of the running backend."""
    return trio.Event() if under_trio() else anyio.Event()


async def checkpoint() -> None:
    """The running backend's checkpoint."""
    if under_trio():
        await trio.lowlevel.checkpoint()
    else:
        await anyio.lowlevel.checkpoint()


def cancel_scope() -> AbstractContextManager[Any]:
    """A cancel scope of the running backend (``.cancel()``, ``.cancelled_caught``)."""
    return trio.CancelScope() if under_trio() else anyio.CancelScope()


REPLAY_SCHEDULE_EVERY = 64
"""A replayed operation is a schedule point once in this many (always a cancel point)."""


def new_replay_checkpoint() -> Callable[[], Awaitable[None]]:
    """The checkpoint of an operation answered from its record, without waiting:
    a fresh one per invocation (it counts that invocation's calls).

    Each call is a cancel point; every ``REPLAY_SCHEDULE_EVERY``-th is also a
    schedule point. A full Trio checkpoint costs about as much as everything
    else a replayed operation does, and replay waits for nothing, so yielding
    each time would give the other tasks nothing but the loop's own overhead;
    pacing still keeps any run of replayed operations from holding the loop
    for more than a fraction of a millisecond.

    A closure, not ``async def`` nor an object with ``__call__``: a plain
    function call hands over the backend's own checkpoint to await, without a
    coroutine of its own around it (calling an instance costs three times as much).
    """
    if under_trio():
        cancel_point = trio.lowlevel.checkpoint_if_cancelled
        schedule_point = trio.lowlevel.checkpoint
    else:
        cancel_point = anyio.lowlevel.checkpoint_if_cancelled
        schedule_point = anyio.lowlevel.checkpoint
    left = REPLAY_SCHEDULE_EVERY

    def replayed() -> Awaitable[None]:
        nonlocal left
        left -= 1
        if left:
            return cancel_point()
        left = REPLAY_SCHEDULE_EVERY
        return schedule_point()

    return replayed


def runnable_tasks() -> int:
    """How many tasks wait for their turn on the loop now (Trio's count; 0 under
    asyncio, which keeps none)."""
    if under_trio():
        return trio.lowlevel.current_statistics().tasks_runnable
    return 0


def shielded() -> AbstractContextManager[Any]:
    """A cancel scope shielded from outside cancellation."""
    return trio.CancelScope(shield=True) if under_trio() else anyio.CancelScope(shield=True)


def move_on_after(seconds: float) -> AbstractContextManager[Any]:
    """A cancel scope that gives up on its body after ``seconds``."""
    if under_trio():
        return trio.move_on_after(max(seconds, 0.0))  # anyio takes negatives as 0
    return anyio.move_on_after(seconds)


class _Cancellable(Protocol):
    def cancel(self) -> None: ...


class TaskGroup(Protocol):
    """What a Trio nursery and an anyio task group have in common."""

    @property
    def cancel_scope(self) -> _Cancellable: ...

    def start_soon(self, func: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> object: ...


def open_task_group() -> AbstractAsyncContextManager[TaskGroup]:
    """A task group of the running backend: a Trio nursery under Trio (through
    anyio's task group, a map of 1,000 items with async steps took 30% longer,
    and the first invocation of a process imports anyio's Trio backend, 22 modules)."""
    if under_trio():
        return trio.open_nursery()
    return anyio.create_task_group()
