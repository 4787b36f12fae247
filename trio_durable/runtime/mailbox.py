"""``Mailbox``: the in-memory channel into an actor (many senders, one receiver).

Unbounded, ordered, and cheap: ``put`` never blocks and wakes the receiver
only when it is waiting (and, for a lingering receiver, only when asked to);
the receiver drains what is queued without sleeping between items. anyio's
memory object streams do the same job with a wake-up per item, which costs
more than the rest of a no-op step.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

from trio_durable.runtime.primitives import Event, new_event

T = TypeVar("T")


class Mailbox(Generic[T]):
    """An unbounded single-receiver queue of ``T``."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiter: Event | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T, *, wake: bool = True) -> None:
        """Queue ``item``; with ``wake=False`` a waiting receiver is left asleep."""
        self._items.append(item)
        if wake:
            self.wake()

    def wake(self) -> None:
        """Wake the receiver if it is waiting."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    def popleft(self) -> T:
        """The oldest queued item, removed (``IndexError`` when empty)."""
        return self._items.popleft()

    def peek(self) -> T:
        """The oldest queued item (``IndexError`` when empty)."""
        return self._items[0]

    async def wait(self) -> None:
        """Sleep until the next ``put``/``wake`` that wakes the receiver."""
        waiter = new_event()
        self._waiter = waiter
        try:
            await waiter.wait()
        finally:
            if self._waiter is waiter:
                self._waiter = None
