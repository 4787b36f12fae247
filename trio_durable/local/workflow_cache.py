"""Warm executions: the held workflows of an ``InProcessInvoker(warm=True)``.

An invocation that answers PENDING leaves its workflow parked
(``runtime/held.py``) in this cache's nursery. The execution's next
invocation resumes it, skipping the replay, but only when the service vouches
that nothing but outside completions happened since: its request names the
held invocation as the previous one, answering PENDING (``after_pending``;
a crash, a timeout or a restart clears it), and the operation count is the one
the workflow knows. Anything else drops the held workflow and replays.

A held workflow is dropped when its execution ends (any way), when its
invocation fails, is cancelled or answers anything but PENDING, when more than
``limit`` are held (the least recently used goes), and when the cache closes.
Dropping cancels it as a PENDING invocation cancels a replaying workflow.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

from trio_durable.errors import ValidationError
from trio_durable.local.client import LocalServiceClient
from trio_durable.local.protocols import InvocationRequest, ServiceAPI
from trio_durable.runtime.entrypoint import DurableHandler
from trio_durable.runtime.held import HeldWorkflow
from trio_durable.wire import InvocationStatus

DEFAULT_WARM_LIMIT = 256
"""How many executions an invoker holds warm at most unless told otherwise."""

_PENDING = InvocationStatus.PENDING.value


@dataclass(frozen=True, slots=True)
class WorkflowCacheStatistics:
    held: int
    """Workflows parked now, waiting for their execution's next invocation."""
    resumed: int
    """Invocations answered by resuming a held workflow (no replay)."""
    replayed: int
    """Invocations that ran the workflow from the top (first ones included)."""
    fell_back: int
    """Of ``replayed``: invocations that found a held workflow they could not trust."""
    evicted: int
    """Held workflows dropped while parked: their execution ended, they could not be
    trusted (``fell_back``), the bound was reached, the cache closed."""


class _Entry:
    """A held workflow, its client, and what the service must vouch for to resume it."""

    __slots__ = ("answered", "client", "held", "service", "watch")

    def __init__(self, held: HeldWorkflow, client: LocalServiceClient, service: ServiceAPI) -> None:
        self.held = held
        self.client = client
        self.service = service
        self.answered = ""  # the request id of the invocation that last answered PENDING
        self.watch = trio.CancelScope()


class WorkflowCache:
    """The held workflows of one handler, by execution ARN (see the module doc).

    Use inside ``async with cache.open():``, which owns the nursery they live in.
    """

    __slots__ = (
        "_entries",
        "_evicted",
        "_fell_back",
        "_handler",
        "_limit",
        "_nursery",
        "_replayed",
        "_resumed",
    )

    def __init__(self, handler: DurableHandler, *, limit: int = DEFAULT_WARM_LIMIT) -> None:
        if not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"warm_limit must be a positive int, got {limit!r}")
        self._handler = handler
        self._limit = limit
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._nursery: trio.Nursery | None = None
        self._resumed = self._replayed = self._fell_back = self._evicted = 0

    @asynccontextmanager
    async def open(self) -> AsyncIterator[None]:
        """Hold workflows until the block ends; then every one is dropped."""
        if self._nursery is not None:
            raise RuntimeError("this warm invoker is already open")
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                yield
            finally:
                self._nursery = None
                for arn in list(self._entries):
                    self._evict(arn)
                nursery.cancel_scope.cancel()

    def statistics(self) -> WorkflowCacheStatistics:
        return WorkflowCacheStatistics(
            held=len(self._entries),
            resumed=self._resumed,
            replayed=self._replayed,
            fell_back=self._fell_back,
            evicted=self._evicted,
        )

    async def invoke(
        self,
        request: InvocationRequest,
        service: ServiceAPI,
        lambda_context: Callable[[LocalServiceClient], Any],
    ) -> dict[str, Any]:
        """The invocation's answer: the held workflow resumed if it can be trusted,
        else the workflow run from the top (and held if it answers PENDING)."""
        nursery = self._nursery
        if nursery is None:
            raise ValidationError(
                "InProcessInvoker(warm=True) holds workflows in a nursery: "
                "open it first (async with invoker: ...)"
            )
        arn = request.execution_arn
        entry = self._entries.pop(arn, None)
        if entry is not None and not _resumable(entry, request, service):
            self._fell_back += 1
            self._evicted += 1
            self._drop(entry)
            entry = None
        kept = False
        try:
            if entry is not None:
                self._resumed += 1
                context = lambda_context(entry.client)
                answer = await entry.held.resume(
                    request.checkpoint_token, request.updated_operations, context
                )
            else:
                self._replayed += 1
                client = LocalServiceClient(service)
                entry = _Entry(self._handler.hold(client), client, service)
                nursery.start_soon(self._watch, arn, entry)
                context = lambda_context(client)
                answer = await entry.held.start(nursery, request.paged_event(), context)
            if (
                isinstance(answer, dict)
                and answer.get("Status") == _PENDING
                and entry.held.suspended
                and self._nursery is not None
            ):
                entry.answered = request.request_id
                self._entries[arn] = entry
                kept = True
                while len(self._entries) > self._limit:
                    self._evict(next(iter(self._entries)))
            return answer
        finally:
            if not kept and entry is not None:
                self._drop(entry)

    def _evict(self, arn: str) -> None:
        entry = self._entries.pop(arn, None)
        if entry is not None:
            self._evicted += 1
            self._drop(entry)

    def _drop(self, entry: _Entry) -> None:
        entry.held.drop()
        entry.client.close()
        entry.watch.cancel()

    async def _watch(self, arn: str, entry: _Entry) -> None:
        """Drop ``entry`` once its execution ends while it is held."""
        with entry.watch:
            await entry.service.wait_until_terminal(arn)
            if self._entries.get(arn) is entry:
                self._evict(arn)


def _resumable(entry: _Entry, request: InvocationRequest, service: ServiceAPI) -> bool:
    """Whether the service vouches that only ``request.updated_operations``
    changed since the held workflow answered PENDING."""
    return (
        entry.service is service
        and entry.held.suspended
        and request.after_pending == entry.answered
        and request.operation_count == entry.held.operation_count
    )
