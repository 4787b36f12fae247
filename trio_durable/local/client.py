"""``LocalServiceClient``: the SDK's ``ServiceClient`` bound to a ``LocalService``.

It calls the service directly with the wire dataclasses (no JSON in process).
Given the service's ``trio_token``, it can also be used from another thread,
e.g. a sync Lambda handler that runs its own Trio or asyncio loop in a worker
thread; the call then hops to the service's thread without blocking the
caller's loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar

import trio

from trio_durable.local.asyncio_bridge import call_from_asyncio
from trio_durable.local.protocols import ServiceAPI
from trio_durable.runtime.primitives import under_trio
from trio_durable.wire import CheckpointResult, OperationUpdate, StatePage

T = TypeVar("T")


class LocalServiceClient:
    """``ServiceClient`` for a ``LocalService`` (any ``ServiceAPI``).

    ``trio_token`` is the service's Trio token when the client is used outside
    the service's own Trio thread."""

    __slots__ = ("_service", "_trio_token")

    def __init__(
        self, service: ServiceAPI, *, trio_token: trio.lowlevel.TrioToken | None = None
    ) -> None:
        self._service = service
        self._trio_token = trio_token

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

    async def _call(self, fn: Callable[[], T]) -> T:
        if self._trio_token is None:
            await trio.lowlevel.checkpoint_if_cancelled()
            result = fn()
            await trio.lowlevel.cancel_shielded_checkpoint()
            return result
        token = self._trio_token
        if not under_trio():
            return await call_from_asyncio(token, fn)
        return await trio.to_thread.run_sync(
            lambda: trio.from_thread.run_sync(fn, trio_token=token)
        )
