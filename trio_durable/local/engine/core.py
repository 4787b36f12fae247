"""``Engine``: the one public entry of the local engine. Every public method is
one atomic action: it validates first, stages what changes (``staging``), then
commits it in one ``Store.write`` and applies it to memory (``tables``); an error
leaves nothing changed. The operation types' state machines, the lifecycle,
timers, pages and views live in the modules beside this one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from trio_durable.errors import ServiceError, invalid_parameter, not_found
from trio_durable.local import arns, history
from trio_durable.local.engine import (
    callback,
    checkpoints,
    invocations,
    lifecycle,
    loading,
    pages,
    views,
)
from trio_durable.local.engine.pages import InvocationRequest
from trio_durable.local.engine.staging import (
    Action,
    Execution,
    TimerKind,
    operation_of,
    wake,
)
from trio_durable.local.engine.tables import Tables
from trio_durable.local.engine.timers import Entry, fire_operation_timer
from trio_durable.local.history import Event
from trio_durable.local.store import CheckpointBody, CheckpointReceipt, ExecutionRecord, Store
from trio_durable.local.validation import (
    MAX_PAGE_ITEMS,
    check_client_token,
    check_error,
    check_timeout,
    check_trace_header,
    offset_marker,
    page_limit,
    payload_size,
)
from trio_durable.records import replace
from trio_durable.wire import (
    MAX_LAMBDA_RESPONSE_BYTES,
    MAX_OPERATION_PAYLOAD_BYTES,
    CheckpointResult,
    ErrorObject,
    ExecutionStatus,
    Operation,
    OperationStatus,
    OperationUpdate,
    StatePage,
)

DEFAULT_RETENTION_DAYS = 14
"""AWS's RetentionPeriodInDays when a function's DurableConfig sets none."""
MAX_RETENTION_DAYS = 90


@dataclass(frozen=True, slots=True)
class StartedExecution:
    """Answer of ``start_execution``: the ARN, and whether it existed already (a
    start repeated with the same name and input)."""

    arn: str
    already_started: bool


@dataclass(frozen=True, slots=True)
class EngineStatistics:
    """What the engine holds now; ``timers_scheduled`` counts the live timers of
    running executions only (a cancelled wait's or ended execution's timer stays in
    the heap until it is due; retention deadlines are not counted)."""

    executions: int
    running_executions: int
    invocations_in_flight: int
    invocations_ready: int
    timers_scheduled: int
    invocations_total: int


class Engine:
    """Executions, checkpoints, callbacks, timers and invocations as data.

    ``clock`` returns epoch seconds. Executions already in ``store`` are loaded;
    one that had an invocation in flight is re-invoked (a restart spends none of
    its crash budget). An ended execution keeps only its record in memory (its
    operations and history are read from the store when asked for) and is deleted
    ``retention_period_days`` after its end (AWS's RetentionPeriodInDays).
    """

    def __init__(
        self,
        *,
        store: Store,
        clock: Callable[[], float],
        region: str = "us-east-1",
        account: str = "123456789012",
        max_crash_retries: int = 3,
        state_page_size: int = MAX_PAGE_ITEMS,
        default_timeout_seconds: int = 86_400,
        retention_period_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        if not 1 <= state_page_size <= MAX_PAGE_ITEMS:
            raise ValueError(f"state_page_size must be 1..{MAX_PAGE_ITEMS}")
        if max_crash_retries < 0:
            raise ValueError("max_crash_retries must be >= 0")
        if isinstance(retention_period_days, bool) or not (
            isinstance(retention_period_days, int)
            and 1 <= retention_period_days <= MAX_RETENTION_DAYS
        ):
            raise ValueError(
                f"retention_period_days must be a whole number of days from 1 to"
                f" {MAX_RETENTION_DAYS}, got {retention_period_days!r}"
            )
        self._clock = clock
        self._config = lifecycle.Config(
            clock=clock,
            region=region,
            account=account,
            max_crash_retries=max_crash_retries,
            page_size=state_page_size,
            default_timeout=check_timeout(default_timeout_seconds),
        )
        self._tables = Tables(store, retention_period_days * 86_400)
        self.functions: set[str] = self._tables.functions
        self.execution_timeouts: dict[str, int] = self._tables.execution_timeouts
        """Execution timeouts by function, for starts and chained invokes that give none."""
        self.retention_days: dict[str, int] = self._tables.retention_days
        """Retention periods by function, for executions that end from now on."""
        self.tenant_isolated: set[str] = self._tables.tenant_isolated
        """Functions with tenant isolation: each invoke names its tenant, and only them."""
        for ex in loading.load(self._tables):
            self._tables.in_flight.add(ex.record.arn)
            self.finish_invocation(
                ex.record.arn,
                ex.record.invocation_id or "",
                failure=ErrorObject(
                    message="the service restarted while this invocation was running",
                    type=lifecycle.RESTART_ERROR_TYPE,
                ),
            )

    # --- executions -------------------------------------------------------------

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
        """Create an execution (for ``tenant_id``: Invoke's TenantId; every
        invocation runs under the X-Ray ``trace_header``) and queue its first invocation.

        A start with the name of an existing execution of the same function returns
        that execution when the input and tenant are the same, and raises
        ``DurableExecutionAlreadyStartedException`` otherwise. A function with tenant
        isolation refuses a start without a tenant, and one without it a start with
        one (``InvalidParameterValueException``, as AWS's Invoke).
        """
        function_name = arns.function_name_of(function_name)
        if payload is not None and payload_size(payload) > MAX_LAMBDA_RESPONSE_BYTES:
            raise ServiceError(
                "RequestTooLargeException",
                f"Payload: {payload_size(payload)} bytes exceeds {MAX_LAMBDA_RESPONSE_BYTES}",
            )
        problem = lifecycle.tenancy_problem(self._tables, function_name, tenant_id)
        if problem is not None:
            raise invalid_parameter(problem)
        if trace_header is not None:
            check_trace_header("X-Amzn-Trace-Id", trace_header)
        if execution_name is not None:
            if arns.EXECUTION_NAME.fullmatch(execution_name) is None:
                raise invalid_parameter(
                    f"DurableExecutionName: {execution_name!r} must be 1-64 letters,"
                    " digits, '-' or '_'"
                )
            existing = self._tables.by_name.get((function_name, execution_name))
            if existing is not None:
                record = self._tables.executions[existing].record
                if (record.input_payload, record.tenant_id) == (payload, tenant_id):
                    return StartedExecution(existing, already_started=True)
                raise ServiceError(
                    "DurableExecutionAlreadyStartedException",
                    f"DurableExecutionName: an execution named {execution_name!r} of"
                    f" {function_name!r} already exists with a different input"
                    + ("" if record.tenant_id == tenant_id else " or tenant"),
                )
        config = self._config
        timeout = (
            self.execution_timeouts.get(function_name, config.default_timeout)
            if timeout_seconds is None
            else timeout_seconds
        )
        check_timeout(timeout)
        action = Action()
        name = execution_name or arns.new_execution_name()
        arn = lifecycle.create_execution(
            self._tables,
            config,
            action,
            function_name,
            payload,
            name,
            timeout,
            tenant_id=tenant_id,
            trace_header=trace_header,
        )
        self._tables.commit(action)
        return StartedExecution(arn, already_started=False)

    def get_execution(self, arn: str, *, include_execution_data: bool = True) -> dict[str, Any]:
        """``GetDurableExecution`` output (JSON-ready, timestamps in epoch seconds)."""
        rec = self._tables.execution(arn).record
        return views.describe(rec, self._function_arn(rec), with_data=include_execution_data)

    def get_execution_history(
        self,
        arn: str,
        *,
        include_execution_data: bool = False,
        max_items: int | None = None,
        marker: str | None = None,
        reverse_order: bool = False,
    ) -> dict[str, Any]:
        """``GetDurableExecutionHistory`` output: one page of events."""
        return views.history_page(
            self._tables.full(arn).events,
            with_data=include_execution_data,
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
        """``ListDurableExecutionsByFunction`` output, oldest first by default."""
        name = arns.function_name_of(function_name)
        if name not in self.functions and name not in self._tables.by_function:
            raise not_found(f"FunctionName: function {name!r} not found")
        wanted = views.check_statuses(statuses)
        limit = page_limit(max_items, MAX_PAGE_ITEMS)
        executions = self._tables.executions
        found = [
            rec
            for rec in (executions[arn].record for arn in self._tables.by_function.get(name, ()))
            if views.matches(rec, wanted, started_after, started_before, execution_name)
        ]
        if reverse_order:
            found.reverse()
        start = offset_marker(marker, len(found))
        page = found[start : start + limit]
        out: dict[str, Any] = {
            "DurableExecutions": [views.summary(rec, self._function_arn(rec)) for rec in page]
        }
        if start + len(page) < len(found):
            out["NextMarker"] = str(start + len(page))
        return out

    def function_names(self) -> list[str]:
        """Every function that is registered or has executions, sorted."""
        return sorted(self.functions | self._tables.by_function.keys())

    def stop_execution(self, arn: str, error: ErrorObject | None = None) -> dict[str, Any]:
        """Stop a running execution: ``{"StopTimestamp": ...}``. Its callbacks and
        waits can no longer complete; a running invocation is asked to cancel
        (``take_cancellations``) and the ExecutionStopped event follows its
        InvocationCompleted."""
        return lifecycle.stop(self._tables, self._config, arn, error)

    def pause_execution(
        self,
        arn: str,
        *,
        reason: str | None = None,
        execution_timeout_paused: bool = False,
        client_token: str | None = None,
    ) -> None:
        """Hold back the execution's invocations; its pending operations go on
        completing. With an invocation in flight the execution is PAUSING until
        that invocation's next checkpoint (then it is cancelled) or its end.
        ``execution_timeout_paused`` stops the timeout's clock while paused."""
        lifecycle.pause(
            self._tables, self._config, arn, reason, execution_timeout_paused, client_token
        )

    def resume_execution(
        self, arn: str, *, reason: str | None = None, client_token: str | None = None
    ) -> None:
        """Lift a pause. From PAUSED, an invocation starts if one is owed (the pause
        cut one short, or something completed meanwhile); from PAUSING, the
        invocation in flight simply goes on. A paused execution timeout resumes
        with its deadline moved on by the time spent paused."""
        lifecycle.resume(self._tables, self._config, arn, reason, client_token)

    def delete_execution(self, arn: str) -> dict[str, Any]:
        """Remove an ended execution with its operations and history:
        ``{"DeletionRequestTimestamp": ...}``. Only SUCCEEDED, FAILED, STOPPED or
        TIMED_OUT executions whose last invocation has ended can be deleted."""
        return lifecycle.delete(self._tables, self._config, arn)

    def is_closed(self, arn: str) -> bool:
        """Whether the execution's terminal event is in its history."""
        return self._tables.execution(arn).record.closed

    def record(self, arn: str) -> ExecutionRecord:
        return self._tables.execution(arn).record

    def operation(self, arn: str, operation_id: str) -> Operation:
        """The current state of one operation (ResourceNotFoundException if absent)."""
        found = self._tables.full(arn).ops.get(operation_id)
        if found is None:
            raise not_found(f"Id: execution has no operation {operation_id!r}")
        return found.operation

    def operations(self, arn: str) -> tuple[Operation, ...]:
        """Every operation of the execution, in the order they were created (for
        tests and tools; ``GetDurableExecutionState`` pages the same order)."""
        ex = self._tables.full(arn)
        return tuple(ex.ops[op_id].operation for op_id in ex.order)

    def events(self, arn: str) -> Sequence[Event]:
        """The full history, rendered (for tests and tools)."""
        return tuple(history.to_wire(ev) for ev in self._tables.full(arn).events)

    # --- checkpoints ----------------------------------------------------------------

    def checkpoint(
        self,
        arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        """Validate and apply ``updates`` in order, all or none; rotate the token.

        The answer's ``new_state`` holds every operation changed since the handler
        last saw the state (paged by ``NextMarker`` when large). A retry with the
        ``client_token``, ``checkpoint_token`` and updates of the last call gets its
        answer; its ``client_token`` with anything else is refused. An ended
        execution keeps no receipt (``lifecycle.close``), so it refuses a retry too.
        """
        ex = self._checked_execution(arn)
        rec = ex.record
        if client_token is not None:
            check_client_token(client_token)
            last = rec.last_checkpoint
            if last is not None and last.client_token == client_token:
                if last.answers(checkpoint_token, updates):
                    return last.result
                raise invalid_parameter(
                    f"ClientToken: {client_token!r} was already used for a checkpoint"
                    " with another CheckpointToken or other Updates"
                )
        self._check_token(ex, checkpoint_token)
        now = self._clock()
        action = Action()
        st = action.stage(ex)
        start_child = lifecycle.child_starter(self._tables, self._config, action, arn)
        checkpoints.apply_updates(st, updates, now, start_child)
        changed = list(ex.dirty)
        changed.extend(op_id for op_id in st.ops if op_id not in ex.dirty)
        ops = tuple(operation_of(st, op_id) for op_id in changed)
        new_token = arns.new_checkpoint_token()
        first, rest_marker, rest = pages.first_page(ops, "d", self._config.page_size)
        result = CheckpointResult(new_token, StatePage(first, rest_marker))
        receipt = (
            None
            if client_token is None
            else CheckpointReceipt(
                client_token, checkpoint_token, result, CheckpointBody(checkpoint_token, updates)
            )
        )
        st.record = replace(
            st.record,
            checkpoint_token=new_token,
            last_checkpoint=receipt,
            event_count=st.event_count(),  # (so that the commit need not copy it again)
        )
        self._tables.commit(action)
        ex.dirty.clear()
        ex.delta = None if rest_marker is None else (rest_marker.rpartition(":")[0], rest)
        if ex.record.pause is not None and ex.record.invocation_id is not None:
            self._tables.cut.add(arn)  # a pause waited for this checkpoint: end the invocation
            self._tables.cancel.add(arn)
        return result

    def get_execution_state(
        self,
        arn: str,
        checkpoint_token: str,
        *,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> StatePage:
        """``GetDurableExecutionState``: operations in creation order, paged; or the
        rest of a paged NewExecutionState when ``marker`` came from a checkpoint."""
        ex = self._tables.execution(arn)
        if checkpoint_token != ex.record.checkpoint_token:
            raise invalid_parameter(
                "Invalid checkpoint token: CheckpointToken is not the execution's current token"
            )
        limit = page_limit(max_items, self._config.page_size)
        return pages.state_page(self._tables.full(arn), marker, limit)

    # --- callbacks --------------------------------------------------------------------

    def send_callback_success(self, callback_id: str, result: bytes | None) -> None:
        """Complete a callback with ``result`` (UTF-8 bytes, stored verbatim)."""
        text = None
        if result is not None:
            if len(result) > MAX_OPERATION_PAYLOAD_BYTES:
                raise ServiceError(
                    "RequestTooLargeException",
                    f"Result: {len(result)} bytes exceeds {MAX_OPERATION_PAYLOAD_BYTES}",
                )
            try:
                text = result.decode("utf-8")
            except UnicodeDecodeError:
                raise invalid_parameter("Result: not valid UTF-8 text") from None
        self._complete_callback(callback_id, OperationStatus.SUCCEEDED, text, None)

    def send_callback_failure(self, callback_id: str, error: ErrorObject | None) -> None:
        """Fail a callback with ``error``."""
        if error is not None:
            check_error("Error", error)
        self._complete_callback(callback_id, OperationStatus.FAILED, None, error)

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Re-arm the callback's heartbeat timeout (it stays open)."""
        ex, op_id = self._open_callback(callback_id)
        record = ex.ops[op_id]
        if not record.callback_heartbeat_timeout_seconds:
            return
        action = Action()
        callback.heartbeat(action.stage(ex), record, self._clock())
        self._tables.commit(action)

    # --- timers -------------------------------------------------------------------------

    def next_timer_due(self) -> float | None:
        """Epoch seconds of the earliest live timer, or None."""
        heap = self._tables.timers
        while (entry := heap.peek()) is not None:
            due, _, kind, arn, op_id = entry
            if self._tables.timer_live(due, kind, arn, op_id):
                return due
            heap.pop()
        return None

    def fire_due_timers(self) -> int:
        """Fire every timer due by now, in one store write; returns how many fired.
        When the write fails, every timer stays due (to fire on the next call)."""
        tables = self._tables
        now = self._clock()
        action = Action()
        fired = 0
        popped = []
        expired: list[Entry] = []
        while (entry := tables.timers.peek()) is not None and entry[0] <= now:
            popped.append(tables.timers.pop())
            due, _, kind, arn, op_id = popped[-1]
            if not tables.timer_live(due, kind, arn, op_id, action):
                continue
            fired += 1
            if kind is TimerKind.RETENTION:
                expired.append(popped[-1])
                continue
            st = action.stage(tables.executions[arn])
            if kind is TimerKind.EXECUTION_TIMEOUT:
                error = ErrorObject(
                    message=f"execution timed out after {st.record.timeout_seconds} seconds",
                    type="Execution.TimedOut",
                )
                lifecycle.end_execution(
                    tables, st, action, ExecutionStatus.TIMED_OUT, now, None, error
                )
                continue
            assert op_id is not None
            fire_operation_timer(st, kind, op_id, now)
            wake(st)
        if action.stages:
            try:
                tables.commit(action)
            except BaseException:
                tables.timers.restore(popped)
                raise
        for index, entry in enumerate(expired):
            try:
                tables.remove(tables.executions[entry[3]])
            except BaseException:  # deleted at a later call instead
                tables.timers.restore(expired[index:])
                raise
        return fired

    # --- invocations -----------------------------------------------------------------------

    def take_invocations(self) -> list[InvocationRequest]:
        """Start an invocation for every execution that needs one and has none in
        flight; each gets a fresh checkpoint token (fencing off older invocations)."""
        return invocations.take(self._tables, self._config)

    def finish_invocation(
        self,
        arn: str,
        request_id: str,
        answer: Any = None,
        *,
        failure: ErrorObject | None = None,
    ) -> None:
        """Record the end of an invocation: ``answer`` is the handler's answer dict,
        or ``failure`` the error of a crashed invocation. Writes InvocationCompleted,
        then ends the execution, re-invokes it, or leaves it waiting."""
        invocations.finish(self._tables, self._config, arn, request_id, answer, failure=failure)

    def take_cancellations(self) -> set[str]:
        """ARNs whose invocation in flight should be cancelled (stopped, timed out,
        or paused at a checkpoint)."""
        out, self._tables.cancel = self._tables.cancel, set()
        return out

    def take_closed(self) -> list[str]:
        """ARNs of executions that got their terminal event since the last call."""
        out, self._tables.closed = self._tables.closed, []
        return out

    def statistics(self) -> EngineStatistics:
        tables = self._tables
        running = sum(
            1 for ex in tables.executions.values() if ex.record.status is ExecutionStatus.RUNNING
        )
        live_timers = sum(
            1
            for due, _, kind, arn, op_id in tables.timers
            if kind is not TimerKind.RETENTION and tables.timer_live(due, kind, arn, op_id)
        )
        return EngineStatistics(
            executions=len(tables.executions),
            running_executions=running,
            invocations_in_flight=len(tables.in_flight),
            invocations_ready=len(tables.ready),
            timers_scheduled=live_timers,
            invocations_total=tables.invocations_total,
        )

    # --- internals ------------------------------------------------------------------------

    def _function_arn(self, rec: ExecutionRecord) -> str:
        return arns.function_arn(self._config.region, self._config.account, rec.function_name)

    def _checked_execution(self, arn: str) -> Execution:
        ex = self._tables.executions.get(arn)
        if ex is None:
            raise invalid_parameter(f"DurableExecutionArn: no execution {arn!r}")
        return ex

    def _check_token(self, ex: Execution, token: str) -> None:
        if token != ex.record.checkpoint_token:
            raise invalid_parameter(
                "Invalid checkpoint token: CheckpointToken is not the execution's current token"
            )
        if ex.record.status is not ExecutionStatus.RUNNING:
            raise invalid_parameter(
                f"Invalid checkpoint token: the execution is {ex.record.status.value}"
            )

    def _open_callback(self, callback_id: str) -> tuple[Execution, str]:
        found = self._tables.callbacks.get(callback_id)
        if found is None:
            raise not_found(f"CallbackId: no callback {callback_id!r}")
        ex = self._tables.full(found[0])
        callback.check_open(callback_id, ex, ex.ops[found[1]])
        return ex, found[1]

    def _complete_callback(
        self,
        callback_id: str,
        status: OperationStatus,
        result: str | None,
        error: ErrorObject | None,
    ) -> None:
        ex, op_id = self._open_callback(callback_id)
        now = self._clock()
        action = Action()
        st = action.stage(ex)
        callback.complete(st, ex.ops[op_id], status, result, error, now)
        wake(st)
        self._tables.commit(action)
