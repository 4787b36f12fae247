"""The ``ServiceClient`` protocol: how the SDK reaches a durable execution service.

Two calls are all an invocation needs: ``checkpoint`` (record updates, get the
next checkpoint token and the changed operations) and ``get_execution_state``
(page through the operations). Implementations raise ``ServiceError`` with the
modeled AWS error code; ``ServiceError.retryable`` tells the batcher what to retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from trio_durable.wire import CheckpointResult, OperationUpdate, StatePage


@runtime_checkable
class ServiceClient(Protocol):
    """The durable execution API as the SDK uses it (wire dataclasses in and out)."""

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        """``CheckpointDurableExecution``: all of ``updates`` or none."""
        ...

    async def get_execution_state(
        self, execution_arn: str, checkpoint_token: str, *, marker: str | None = None
    ) -> StatePage:
        """``GetDurableExecutionState``: one page of operations."""
        ...
