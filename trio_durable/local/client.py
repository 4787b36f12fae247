"""``LocalServiceClient``: the SDK's ``ServiceClient`` bound to a ``LocalService``.

It calls the service directly with the wire dataclasses (no JSON in process).
Given the service's ``trio_token``, it can also be used from another thread,
e.g. a handler that runs its own Trio or asyncio loop in a worker thread; the
call then hops to the service's loop (from Trio: one wake-up each way) without
blocking the caller's loop. ``close`` fences the client off once its invocation
has ended: an abandoned handler's later calls are refused, never applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar

import outcome
import trio

from trio_durable.errors import invalid_parameter
from trio_durable.local.asyncio_bridge import call_from_asyncio
from trio_durable.local.protocols import ServiceAPI
from trio_durable.runtime.primitives import under_trio
from trio_durable.wire import CheckpointResult, OperationUpdate, StatePage

T = TypeVar("T")


class LocalServiceClient:
    """``ServiceClient`` for a ``LocalService`` (any ``ServiceAPI``).

    ``trio_token`` is the service's Trio token when the client is used outside
    the service's own Trio thread."""

    __slots__ = ("_closed", "_service", "_trio_token")

    def __init__(
        self, service: ServiceAPI, *, trio_token: trio.lowlevel.TrioToken | None = None
    ) -> None:
        self._service = service
        self._trio_token = trio_token
        self._closed = False

    def close(self) -> None:
        """Refuse every later call (call it on the service's thread): the
        invocation this client served has ended."""
        self._closed = True

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        return await self._call(
            partial(
                self._service.checkpoint,
                execution_arn,
                checkpoint_token,
                updates,
                client_token=client_token,
            )
        )

    async def get_execution_state(
        self, execution_arn: str, checkpoint_token: str, *, marker: str | None = None
    ) -> StatePage:
        return await self._call(
            partial(
                self._service.get_execution_state, execution_arn, checkpoint_token, marker=marker
            )
        )

    def _checked(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise invalid_parameter(
                "Invalid checkpoint token: the invocation this client served has ended"
            )
        return fn()

    async def _call(self, fn: Callable[[], T]) -> T:
        if self._trio_token is None:
            await trio.lowlevel.checkpoint_if_cancelled()
            result = self._checked(fn)
            await trio.lowlevel.cancel_shielded_checkpoint()
            return result
        if not under_trio():
            return await call_from_asyncio(self._trio_token, partial(self._checked, fn))
        return await _call_on_loop(self._trio_token, partial(self._checked, fn))


async def _call_on_loop(token: trio.lowlevel.TrioToken, fn: Callable[[], T]) -> T:
    """``fn()`` run on the Trio loop of ``token``, awaited from a task of another
    Trio loop: one ``run_sync_soon`` there, one back. The call cannot be
    abandoned half-way (a cancellation lands at the caller's next checkpoint)."""
    await trio.lowlevel.checkpoint_if_cancelled()
    home = trio.lowlevel.current_trio_token()
    task = trio.lowlevel.current_task()

    def call() -> None:
        home.run_sync_soon(trio.lowlevel.reschedule, task, outcome.capture(fn))

    try:
        token.run_sync_soon(call)
    except trio.RunFinishedError:
        raise invalid_parameter("Invalid checkpoint token: the local service has stopped") from None
    result: T = await trio.lowlevel.wait_task_rescheduled(lambda _: trio.lowlevel.Abort.FAILED)
    return result
