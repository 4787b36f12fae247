"""Events, checkpoints, cancel scopes and task groups of the hot paths: Trio's
own under Trio.

The runtime is written against anyio so it also runs under asyncio, but
anyio looks the backend up on every call (``anyio.Event()`` costs about 13 us
against 1 us for ``trio.Event()``). These helpers ask Trio whether it is
running (one thread-local read) and fall back to anyio otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
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
