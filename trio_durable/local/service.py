"""The local durable execution service: the engine behind a Trio shell.

``LocalService`` owns the Trio side of the engine (``local/engine/``): one
loop that sleeps until the engine's next timer or the next change, fires due
timers, and starts the invocations the engine asks for, each in its own task
through the ``Invoker`` registered for its function (the engine keeps at most
one in flight per execution). Its sync methods are the service API, each one
atomic engine call; inputs and outputs are JSON-ready botocore-shaped dicts,
except ``checkpoint`` and ``get_execution_state``, which speak the wire
dataclasses.

Timestamps are ``origin + (trio.current_time() - trio_origin)``: under
``trio.testing.MockClock`` every wait, retry delay, callback and heartbeat
timeout and execution timeout is skipped.

A store write that fails (disk full, I/O error) changes nothing. Inside a
request it is the caller's ``StoreError``; the loop's own writes (timers, the
start and end of invocations) are retried with back-off until they succeed,
so the service outlives a full disk and catches up once there is room.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import trio

from trio_durable.errors import (
    StoreError,
    ValidationError,
    error_object_from_exception,
    not_found,
)
from trio_durable.local import arns
from trio_durable.local.engine import (
    CRASH_ERROR_TYPE,
    DEFAULT_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    Engine,
    InvocationRequest,
    StartedExecution,
)
from trio_durable.local.logbook import LogBook
from trio_durable.local.protocols import (
    MAX_INVOCATION_TIMEOUT_SECONDS,
    TIMEOUT_ERROR_TYPE,
    InvocationError,
    Invoker,
)
from trio_durable.local.store import MemoryStore, Store
from trio_durable.local.validation import check_timeout
from trio_durable.wire import CheckpointResult, ErrorObject, OperationUpdate, StatePage

__all__ = ["LocalService", "ServiceStatistics", "StartedExecution", "open_local_service"]

_TIMER_SLACK = 1e-3
"""Seconds added to a timer's Trio deadline, well above the float error of mapping
epoch seconds to Trio time, so a timer is always due when the loop wakes for it."""

_STORE_RETRY_FIRST = 0.05
_STORE_RETRY_MAX = 2.0
"""Seconds between retries of a failed store write: doubling from the first to the most."""

_log = logging.getLogger("trio_durable.service")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServiceStatistics:
    """What the service is doing right now."""

    executions: int
    running_executions: int
    invocations_in_flight: int
    invocations_waiting: int
    timers_scheduled: int
    invocations_total: int
    functions: int
    store_write_failures: int


class _TrioClock:
    """Epoch seconds that advance with ``trio.current_time()`` (so a MockClock
    drives them); before Trio runs, plain wall-clock time."""

    __slots__ = ("_origin",)

    def __init__(self) -> None:
        self._origin: tuple[float, float] | None = None

    def now(self) -> float:
        try:
            current = trio.current_time()
        except RuntimeError:
            return time.time()
        if self._origin is None:
            self._origin = (time.time(), current)
        return self._origin[0] + (current - self._origin[1])

    def trio_time(self, epoch: float) -> float:
        self.now()
        assert self._origin is not None
        return self._origin[1] + (epoch - self._origin[0]) + _TIMER_SLACK


class LocalService:
    """An in-process durable execution service.

    ``store`` defaults to a fresh ``MemoryStore``; executions already in a store
    are loaded and resume when ``run`` starts (an invocation that was in flight
    counts as crashed). ``region``/``account`` shape the ARNs.
    ``max_crash_retries`` bounds re-invocations after consecutive crashed
    invocations; ``state_page_size`` bounds the operations of one state page;
    ``default_timeout_seconds`` is the execution timeout when a start gives none;
    ``retention_period_days`` how long an ended execution is kept (AWS's
    RetentionPeriodInDays, 14 by default).
    While it runs, ``logs`` keeps what workflows log through ``ctx.logger``, per
    execution (``local/logbook.py``).
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
        retention_period_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        self._clock = _TrioClock()
        self.store: Store = MemoryStore() if store is None else store
        self.engine = Engine(
            store=self.store,
            clock=self._clock.now,
            region=region,
            account=account,
            max_crash_retries=max_crash_retries,
            state_page_size=state_page_size,
            default_timeout_seconds=default_timeout_seconds,
            retention_period_days=retention_period_days,
        )
        self._invokers: dict[str, Invoker] = {}
        self._timeouts: dict[str, float] = {}
        self._changed = trio.Event()
        self._closed_waiters: dict[str, trio.Event] = {}
        self._scopes: dict[str, trio.CancelScope] = {}
        self._limits: dict[str, trio.CancelScope] = {}
        self._running = False
        self.logs = LogBook()
        self._store_failures = 0
        self._store_failing = False

    def register_function(
        self,
        name: str,
        invoker: Invoker,
        *,
        invocation_timeout_seconds: float = MAX_INVOCATION_TIMEOUT_SECONDS,
        execution_timeout_seconds: int | None = None,
        retention_period_days: int | None = None,
        tenant_isolation_mode: str | None = None,
    ) -> None:
        """Route invocations of function ``name`` to ``invoker`` (replaces any).

        ``invocation_timeout_seconds`` is the function's Lambda timeout (at most
        900): an invocation still running then is cancelled and recorded as
        ``Sandbox.Timedout``, a crash the service retries like any other.
        ``execution_timeout_seconds`` (its DurableConfig's ExecutionTimeout) is the
        timeout of its executions started without one, chained invokes included
        (default: the service's). ``retention_period_days`` (its RetentionPeriodInDays,
        1 to 90) is how long its executions that end from now on are kept (default:
        the service's ``retention_period_days``). ``tenant_isolation_mode``
        (its TenancyConfig's TenantIsolationMode: ``"PER_TENANT"`` or None) makes
        each invoke name its tenant, which every invocation's context carries; the
        invoker decides whether tenants share a process (``SubprocessInvoker``
        never lets them).
        """
        if not 0 < invocation_timeout_seconds <= MAX_INVOCATION_TIMEOUT_SECONDS:
            raise ValidationError(
                "invocation_timeout_seconds must be more than 0 and at most"
                f" {MAX_INVOCATION_TIMEOUT_SECONDS} (Lambda's limit),"
                f" got {invocation_timeout_seconds!r}"
            )
        if execution_timeout_seconds is not None:
            check_timeout(execution_timeout_seconds)
        if tenant_isolation_mode not in (None, "PER_TENANT"):
            raise ValidationError(
                f"tenant_isolation_mode must be PER_TENANT or None, got {tenant_isolation_mode!r}"
            )
        if retention_period_days is not None and not (
            1 <= retention_period_days <= MAX_RETENTION_DAYS
        ):
            raise ValidationError(
                f"retention_period_days must be 1 to {MAX_RETENTION_DAYS},"
                f" got {retention_period_days!r}"
            )
        name = arns.function_name_of(name)
        self._invokers[name] = invoker
        self._timeouts[name] = invocation_timeout_seconds
        if tenant_isolation_mode is None:
            self.engine.tenant_isolated.discard(name)
        else:
            self.engine.tenant_isolated.add(name)
        for table, value in (
            (self.engine.execution_timeouts, execution_timeout_seconds),
            (self.engine.retention_days, retention_period_days),
        ):
            if value is None:
                table.pop(name, None)
            else:
                table[name] = value
        self.engine.functions.add(name)
        self._changed.set()

    def invocation_timeout(self, function_name: str) -> float:
        """Seconds an invocation of ``function_name`` may run (see ``register_function``)."""
        return self._timeouts[arns.function_name_of(function_name)]

    @contextmanager
    def untimed(self, request: InvocationRequest) -> Iterator[None]:
        """Time spent inside does not count against the invocation's Lambda timeout,
        which starts afresh on leaving: an invoker waits here for a free worker, so
        the timeout starts when the handler does."""
        limit = self._limits.get(request.execution_arn)
        if limit is None:
            yield
            return
        limit.deadline = math.inf
        try:
            yield
        finally:
            limit.deadline = trio.current_time() + self.invocation_timeout(request.function_name)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run timers and the invocation scheduler until cancelled."""
        if self._running:
            raise RuntimeError("LocalService.run is already running")
        self._running = True
        self.logs.attach()
        try:
            async with trio.open_nursery() as nursery:
                task_status.started()
                while True:
                    for request in await self._until_stored(self._take_due_work):
                        nursery.start_soon(self._invoke, request)
                    # A fresh event only now, after everything pending was taken:
                    # resetting it earlier let ``_after`` set it again at once, and
                    # the loop spun without ever blocking (so a MockClock never jumped).
                    self._changed = trio.Event()
                    due = self.engine.next_timer_due()
                    deadline = math.inf if due is None else self._clock.trio_time(due)
                    with trio.move_on_at(deadline):
                        await self._changed.wait()
        finally:
            self.logs.detach()
            self._running = False

    # --- executions -----------------------------------------------------------

    def start_execution(
        self,
        function_name: str,
        payload: str | None,
        *,
        execution_name: str | None = None,
        timeout_seconds: int | None = None,
        tenant_id: str | None = None,
        trace_header: str | None = None,
    ) -> StartedExecution:
        """Start an execution (idempotent by ``execution_name`` for the same input),
        for ``tenant_id`` if its function has tenant isolation, its invocations
        under the X-Ray ``trace_header`` if given; the function must be registered."""
        name = arns.function_name_of(function_name)
        if name not in self._invokers:
            raise not_found(f"FunctionName: function {name!r} is not registered")
        started = self.engine.start_execution(
            name,
            payload,
            execution_name=execution_name,
            timeout_seconds=timeout_seconds,
            tenant_id=tenant_id,
            trace_header=trace_header,
        )
        self._after()
        return started

    async def wait_until_terminal(self, arn: str) -> dict[str, Any]:
        """The ``GetDurableExecution`` answer once the execution's terminal event exists."""
        if self.engine.is_closed(arn):
            await trio.lowlevel.checkpoint()
        else:
            waiter = self._closed_waiters.setdefault(arn, trio.Event())
            await waiter.wait()
        return self.engine.get_execution(arn)

    def get_execution(self, arn: str, *, include_execution_data: bool = True) -> dict[str, Any]:
        """``GetDurableExecution`` output."""
        return self.engine.get_execution(arn, include_execution_data=include_execution_data)

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
        return self.engine.get_execution_history(
            arn,
            include_execution_data=include_execution_data,
            max_items=max_items,
            marker=marker,
            reverse_order=reverse_order,
        )

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
        return self.engine.list_executions(
            function_name,
            statuses=statuses,
            started_after=started_after,
            started_before=started_before,
            execution_name=execution_name,
            reverse_order=reverse_order,
            marker=marker,
            max_items=max_items,
        )

    def stop_execution(self, arn: str, error: ErrorObject | None = None) -> dict[str, Any]:
        """``StopDurableExecution``: ``{"StopTimestamp": float}``."""
        out = self.engine.stop_execution(arn, error)
        self._after()
        return out

    def pause_execution(
        self,
        arn: str,
        *,
        reason: str | None = None,
        execution_timeout_paused: bool = False,
        client_token: str | None = None,
    ) -> None:
        """``PauseDurableExecution``: no invocation starts until it is resumed."""
        self.engine.pause_execution(
            arn,
            reason=reason,
            execution_timeout_paused=execution_timeout_paused,
            client_token=client_token,
        )
        self._after()

    def resume_execution(
        self, arn: str, *, reason: str | None = None, client_token: str | None = None
    ) -> None:
        """``ResumeDurableExecution``: invokes again if an invocation is owed."""
        self.engine.resume_execution(arn, reason=reason, client_token=client_token)
        self._after()

    def delete_execution(self, arn: str) -> dict[str, Any]:
        """``DeleteDurableExecution``: ``{"DeletionRequestTimestamp": float}``."""
        out = self.engine.delete_execution(arn)
        self.logs.forget(arn)
        return out

    def function_names(self) -> list[str]:
        """Every function that is registered or has executions, sorted."""
        return self.engine.function_names()

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
        result = self.engine.checkpoint(arn, checkpoint_token, updates, client_token=client_token)
        self._after()
        return result

    def get_execution_state(
        self,
        arn: str,
        checkpoint_token: str,
        *,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> StatePage:
        """``GetDurableExecutionState``: one page of operations."""
        return self.engine.get_execution_state(
            arn, checkpoint_token, marker=marker, max_items=max_items
        )

    # --- callbacks --------------------------------------------------------------

    def send_callback_success(self, callback_id: str, result: bytes | None) -> None:
        """Complete a callback; ``result`` is stored verbatim (as UTF-8 text)."""
        self.engine.send_callback_success(callback_id, result)
        self._after()

    def send_callback_failure(self, callback_id: str, error: ErrorObject | None) -> None:
        """Fail a callback with ``error``."""
        self.engine.send_callback_failure(callback_id, error)
        self._after()

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Re-arm a callback's heartbeat timeout."""
        self.engine.send_callback_heartbeat(callback_id)
        self._after()

    def statistics(self) -> ServiceStatistics:
        stats = self.engine.statistics()
        return ServiceStatistics(
            executions=stats.executions,
            running_executions=stats.running_executions,
            invocations_in_flight=stats.invocations_in_flight,
            invocations_waiting=stats.invocations_ready,
            timers_scheduled=stats.timers_scheduled,
            invocations_total=stats.invocations_total,
            functions=len(self._invokers),
            store_write_failures=self._store_failures,
        )

    # --- internals ----------------------------------------------------------------

    def _after(self) -> None:
        """Act on what an engine call changed: cancel invocations of stopped or
        timed-out executions, wake terminal waiters, and wake the loop."""
        for arn in self.engine.take_cancellations():
            scope = self._scopes.get(arn)
            if scope is not None:
                scope.cancel()
        for arn in self.engine.take_closed():
            waiter = self._closed_waiters.pop(arn, None)
            if waiter is not None:
                waiter.set()
        self._changed.set()

    async def _invoke(self, request: InvocationRequest) -> None:
        arn = request.execution_arn
        answer: Any = None
        failure: ErrorObject | None = None
        with trio.CancelScope() as scope:
            self._scopes[arn] = scope
            try:
                invoker = self._invokers[request.function_name]
                timeout = self._timeouts[request.function_name]
                with trio.move_on_after(timeout) as limit:
                    self._limits[arn] = limit
                    answer = await invoker.invoke(request, self)
                if limit.cancelled_caught:
                    failure = ErrorObject(
                        message=f"Task timed out after {timeout:.2f} seconds",
                        type=TIMEOUT_ERROR_TYPE,
                    )
            except InvocationError as exc:
                failure = ErrorObject(message=exc.message, type=exc.error_type)
            except Exception as exc:
                failure = _crash_error(exc)
            finally:
                self._scopes.pop(arn, None)
                self._limits.pop(arn, None)
        if scope.cancelled_caught:
            answer, failure = None, None
        # Until this is stored the execution keeps the invocation in flight, so no
        # other starts, and the answer is not lost.
        await self._until_stored(
            partial(self.engine.finish_invocation, arn, request.request_id, answer, failure=failure)
        )
        self._after()

    def _take_due_work(self) -> list[InvocationRequest]:
        """Fire due timers, then take the invocations the engine asks for."""
        self.engine.fire_due_timers()
        self._after()
        return self.engine.take_invocations()

    async def _until_stored(self, write: Callable[[], T]) -> T:
        """``write()``, called again after a back-off for as long as the store
        refuses it (a failed write changed nothing, so it is safe to repeat)."""
        retry = _STORE_RETRY_FIRST
        failed = False
        while True:
            try:
                out = write()
            except StoreError as exc:
                self._store_failures += 1
                failed = True
                if not self._store_failing:
                    self._store_failing = True
                    _log.warning(
                        "trio-durable: %s; the service retries until it succeeds", exc.message
                    )
                await trio.sleep(retry)
                retry = min(2 * retry, _STORE_RETRY_MAX)
                continue
            if failed and self._store_failing:
                self._store_failing = False
                _log.warning("trio-durable: the store takes writes again")
            return out


def _crash_error(exc: Exception) -> ErrorObject:
    """What an invoker's unexpected exception is recorded as."""
    error = error_object_from_exception(exc)
    return ErrorObject(
        message=f"{error.type}: {error.message}",
        type=CRASH_ERROR_TYPE,
        stack_trace=error.stack_trace,
    )


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
