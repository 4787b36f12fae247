"""The local durable execution service: the engine behind a Trio shell.

``LocalService`` owns the Trio side of the engine (``local/engine.py``): one
timer task that sleeps until the engine's next deadline on the Trio clock, and
a scheduler that runs invocations through the registered ``Invoker`` of each
function, at most one in flight per execution. Its sync methods are the
service API (each is one atomic engine call); inputs and outputs are
JSON-ready botocore-shaped dicts, except ``checkpoint`` and
``get_execution_state``, which speak the wire dataclasses.

Wall-clock timestamps are ``origin + (trio.current_time() - trio_origin)``, so
under ``trio.testing.MockClock`` every wait, retry delay, callback and heartbeat
timeout and execution timeout is skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

from trio_durable.local.invokers import Invoker
from trio_durable.local.store import Store
from trio_durable.wire import CheckpointResult, ErrorObject, OperationUpdate, StatePage


@dataclass(frozen=True, slots=True)
class StartedExecution:
    """Answer of ``start_execution``: the execution's ARN, and whether it already
    existed (a start repeated with the same name and input)."""

    arn: str
    already_started: bool


@dataclass(frozen=True, slots=True)
class ServiceStatistics:
    """What the service is doing right now."""

    executions: int
    running_executions: int
    invocations_in_flight: int
    invocations_waiting: int
    timers_pending: int
    invocations_total: int


class LocalService:
    """An in-process durable execution service.

    ``store`` defaults to a fresh ``MemoryStore``; an existing store's executions
    are loaded and resumed by ``run``. ``region``/``account`` shape the ARNs.
    ``max_crash_retries`` bounds re-invocations after consecutive crashed
    invocations; ``state_page_size`` bounds the operations of one state page.
    """

    def __init__(
        self,
        *,
        store: Store | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        max_crash_retries: int = 3,
        state_page_size: int = 1000,
        default_timeout_seconds: int = 86_400,
    ) -> None:
        raise NotImplementedError

    def register_function(self, name: str, invoker: Invoker) -> None:
        """Route invocations of function ``name`` to ``invoker`` (replaces any)."""
        raise NotImplementedError

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run timers and the invocation scheduler until cancelled."""
        raise NotImplementedError

    # --- executions -----------------------------------------------------------

    def start_execution(
        self,
        function_name: str,
        payload: str | None,
        *,
        execution_name: str | None = None,
        timeout_seconds: int | None = None,
    ) -> StartedExecution:
        """Start an execution (idempotent by ``execution_name`` for the same input)."""
        raise NotImplementedError

    async def wait_until_terminal(self, arn: str) -> dict[str, Any]:
        """The ``GetDurableExecution`` answer once the execution's terminal event exists."""
        raise NotImplementedError

    def get_execution(self, arn: str, *, include_execution_data: bool = True) -> dict[str, Any]:
        """``GetDurableExecution`` output."""
        raise NotImplementedError

    def get_execution_history(
        self,
        arn: str,
        *,
        include_execution_data: bool = False,
        max_items: int | None = None,
        marker: str | None = None,
        reverse_order: bool = False,
    ) -> dict[str, Any]:
        """``GetDurableExecutionHistory`` output."""
        raise NotImplementedError

    def list_executions(
        self,
        function_name: str,
        *,
        statuses: Sequence[str] | None = None,
        started_after: float | None = None,
        started_before: float | None = None,
        execution_name: str | None = None,
        reverse_order: bool = False,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        """``ListDurableExecutionsByFunction`` output."""
        raise NotImplementedError

    def stop_execution(self, arn: str, error: ErrorObject | None = None) -> dict[str, Any]:
        """``StopDurableExecution``: ``{"StopTimestamp": float}``."""
        raise NotImplementedError

    # --- the SDK's side -------------------------------------------------------

    def checkpoint(
        self,
        arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        """``CheckpointDurableExecution``: all updates or none."""
        raise NotImplementedError

    def get_execution_state(
        self,
        arn: str,
        checkpoint_token: str,
        *,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> StatePage:
        """``GetDurableExecutionState``: one page of operations."""
        raise NotImplementedError

    # --- callbacks --------------------------------------------------------------

    def send_callback_success(self, callback_id: str, result: bytes | None) -> None:
        """Complete a callback; ``result`` is stored verbatim (as UTF-8 text)."""
        raise NotImplementedError

    def send_callback_failure(self, callback_id: str, error: ErrorObject | None) -> None:
        """Fail a callback with ``error``."""
        raise NotImplementedError

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Re-arm a callback's heartbeat timeout."""
        raise NotImplementedError

    def statistics(self) -> ServiceStatistics:
        raise NotImplementedError


@asynccontextmanager
async def open_local_service(
    *, store: Store | None = None, **options: Any
) -> AsyncIterator[LocalService]:
    """A running ``LocalService`` (its ``run`` in a nursery), cancelled on exit."""
    service = LocalService(store=store, **options)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        try:
            yield service
        finally:
            nursery.cancel_scope.cancel()
