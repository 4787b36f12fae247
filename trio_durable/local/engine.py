"""The sans-IO core of the local durable execution service.

``Engine`` keeps executions, their operations and their append-only histories,
validates and applies checkpoints, allocates callbacks, and tracks timers and
invocations as data: no Trio, no I/O but the ``Store`` it writes through, and
time from the clock function it is given (epoch seconds). Every public method is
one atomic action: it validates first, then writes one ``Store.write`` with what
changed, then updates memory; an error leaves nothing changed.

The async shell (``local/service.py``) asks ``next_timer_due``/``fire_due_timers``
for timers and ``take_invocations``/``finish_invocation`` for invocations.

A paused execution keeps the status RUNNING inside the engine (so its waits,
retries, callbacks and chained invokes go on completing) with ``record.pause``
set; the API shows it as PAUSING while an invocation is in flight, else PAUSED.

Cost: an action touches only the records it changes (dicts keyed by id, a timer
heap with lazy deletion, a per-execution set of operations changed since the
handler last saw them), so a checkpoint costs the same in an execution of ten
operations as in one of ten thousand.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from trio_durable.errors import ServiceError, conflict, invalid_parameter, not_found
from trio_durable.local import arns, history
from trio_durable.local.history import Event, HistoryEvent
from trio_durable.local.store import (
    CheckpointReceipt,
    ControlReceipt,
    ExecutionChange,
    ExecutionRecord,
    OperationRecord,
    PauseState,
    Store,
)
from trio_durable.local.validation import (
    MAX_PAGE_ITEMS,
    check_client_token,
    check_error,
    check_reason,
    check_same_identity,
    check_timeout,
    check_update_fields,
    coerce_update,
    offset_marker,
    page_limit,
    payload_size,
    update_bytes,
)
from trio_durable.wire import (
    MAX_CHECKPOINT_BYTES,
    MAX_CHECKPOINT_UPDATES,
    MAX_LAMBDA_RESPONSE_BYTES,
    MAX_OPERATION_PAYLOAD_BYTES,
    CheckpointResult,
    ErrorObject,
    ExecutionStatus,
    InvocationStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StatePage,
    error_from_wire,
    error_size,
    error_to_wire,
    state_page_to_wire,
)

MAX_PAGE_BYTES = 5 * 1024 * 1024
"""Rough byte budget of one page of operations, so a page fits a Lambda event."""
_TERMINAL_EXECUTION = {
    ExecutionStatus.SUCCEEDED: ("ExecutionSucceeded", OperationStatus.SUCCEEDED),
    ExecutionStatus.FAILED: ("ExecutionFailed", OperationStatus.FAILED),
    ExecutionStatus.TIMED_OUT: ("ExecutionTimedOut", OperationStatus.TIMED_OUT),
    ExecutionStatus.STOPPED: ("ExecutionStopped", OperationStatus.STOPPED),
}
_CHILD_OUTCOME = {
    ExecutionStatus.SUCCEEDED: ("ChainedInvokeSucceeded", OperationStatus.SUCCEEDED),
    ExecutionStatus.FAILED: ("ChainedInvokeFailed", OperationStatus.FAILED),
    ExecutionStatus.TIMED_OUT: ("ChainedInvokeTimedOut", OperationStatus.TIMED_OUT),
    ExecutionStatus.STOPPED: ("ChainedInvokeStopped", OperationStatus.STOPPED),
}

PAUSING = "PAUSING"
PAUSED = "PAUSED"
_STATUS_NAMES = frozenset({*(s.value for s in ExecutionStatus), PAUSING, PAUSED, "DELETING"})
"""Every status the API knows (``DELETING`` never shows: deletion is immediate)."""
_PAUSED_TIMEOUT_SECONDS = 366 * 86_400
"""While the execution timeout is paused, the expected timeout is this long after
the start (the longest execution timeout)."""

NO_PROGRESS_ERROR_TYPE = "Runtime.NoProgress"
CRASH_ERROR_TYPE = "Runtime.ExitError"
RESTART_ERROR_TYPE = "Runtime.ServiceRestarted"


class TimerKind(Enum):
    WAIT = "wait"
    RETRY = "retry"
    CALLBACK_TIMEOUT = "callback-timeout"
    CALLBACK_HEARTBEAT = "callback-heartbeat"
    EXECUTION_TIMEOUT = "execution-timeout"


# The marker of a state listing's first page (``get_execution_state`` offsets).
_START_MARKER = "0"


@dataclass(frozen=True, slots=True)
class InvocationRequest:
    """One invocation the engine asks for, with the first page of the state as it
    was when the invocation started."""

    execution_arn: str
    function_name: str
    request_id: str
    checkpoint_token: str
    first_page: StatePage

    @property
    def event(self) -> dict[str, Any]:
        """The Lambda event (rendered on each access: only invokers that send it
        somewhere pay for the wire conversion)."""
        return self._event(self.first_page)

    def paged_event(self) -> dict[str, Any]:
        """The event with an empty first page whose marker points at the start of
        the state: a handler in this process then reads every page through its
        client, as dataclasses, with no wire conversion either way."""
        return self._event(StatePage((), _START_MARKER))

    def _event(self, page: StatePage) -> dict[str, Any]:
        return {
            "DurableExecutionArn": self.execution_arn,
            "CheckpointToken": self.checkpoint_token,
            "InitialExecutionState": state_page_to_wire(page),
        }


@dataclass(frozen=True, slots=True)
class StartedExecution:
    """Answer of ``start_execution``: the ARN, and whether it existed already (a
    start repeated with the same name and input)."""

    arn: str
    already_started: bool


@dataclass(frozen=True, slots=True)
class EngineStatistics:
    """What the engine holds now; ``timers_scheduled`` counts live timers only (a
    cancelled wait's or ended execution's timer stays in the heap until it is due)."""

    executions: int
    running_executions: int
    invocations_in_flight: int
    invocations_ready: int
    timers_scheduled: int
    invocations_total: int


class _Execution:
    """Memory state of one execution. ``dirty``: operations changed since the
    handler last saw them; ``waiters``: operations that a timer or an outside
    event can still complete; ``delta``: the rest of a paged NewExecutionState."""

    __slots__ = ("delta", "dirty", "events", "ops", "order", "record", "waiters")

    def __init__(self, record: ExecutionRecord) -> None:
        self.record = record
        self.ops: dict[str, OperationRecord] = {}
        self.order: list[str] = []
        self.events: list[HistoryEvent] = []
        self.dirty: dict[str, None] = {}
        self.waiters: set[str] = set()
        self.delta: tuple[str, tuple[Operation, ...]] | None = None


class _Stage:
    """One execution's pending changes inside an engine action."""

    __slots__ = ("events", "ex", "is_new", "new_ops", "ops", "record", "timers")

    def __init__(self, ex: _Execution, is_new: bool) -> None:
        self.ex = ex
        self.is_new = is_new
        self.record = ex.record
        self.ops: dict[str, OperationRecord] = {}
        self.new_ops: list[str] = []
        self.events: list[HistoryEvent] = []
        self.timers: list[tuple[float, TimerKind, str | None]] = []

    def op(self, op_id: str) -> OperationRecord | None:
        staged = self.ops.get(op_id)
        return staged if staged is not None else self.ex.ops.get(op_id)

    def put(self, record: OperationRecord) -> None:
        op_id = record.operation.id
        if op_id not in self.ops and op_id not in self.ex.ops:
            self.new_ops.append(op_id)
        self.ops[op_id] = record

    def new_seq(self) -> int:
        return len(self.ex.order) + len(self.new_ops)

    def next_event_id(self) -> int:
        return len(self.ex.events) + len(self.events) + 1

    def add_op_event(
        self, event_type: str, now: float, op: Operation, details: history.Details
    ) -> None:
        self.events.append(
            history.operation_event(event_type, self.next_event_id(), now, op, details)
        )

    def add_event(self, event_type: str, now: float, details: history.Details) -> None:
        self.events.append(history.event(event_type, self.next_event_id(), now, details))


class _Action:
    __slots__ = ("stages",)

    def __init__(self) -> None:
        self.stages: dict[str, _Stage] = {}

    def stage(self, ex: _Execution, *, is_new: bool = False) -> _Stage:
        st = self.stages.get(ex.record.arn)
        if st is None:
            st = self.stages[ex.record.arn] = _Stage(ex, is_new)
        return st


class Engine:
    """Executions, checkpoints, callbacks, timers and invocations as data.

    ``clock`` returns epoch seconds. Executions already in ``store`` are loaded;
    one that had an invocation in flight is treated as crashed and re-invoked.
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
    ) -> None:
        if not 1 <= state_page_size <= MAX_PAGE_ITEMS:
            raise ValueError(f"state_page_size must be 1..{MAX_PAGE_ITEMS}")
        if max_crash_retries < 0:
            raise ValueError("max_crash_retries must be >= 0")
        self._store = store
        self._clock = clock
        self._region = region
        self._account = account
        self._max_crash_retries = max_crash_retries
        self._page_size = state_page_size
        self._default_timeout = check_timeout(default_timeout_seconds)
        self._executions: dict[str, _Execution] = {}
        self._by_name: dict[tuple[str, str], str] = {}
        self._by_function: dict[str, list[str]] = {}
        self._callbacks: dict[str, tuple[str, str]] = {}
        self._timers: list[tuple[float, int, TimerKind, str, str | None]] = []
        self._timer_seq = itertools.count()
        self._ready: dict[str, None] = {}
        self._in_flight: set[str] = set()
        self._cancel: set[str] = set()
        self._cut: set[str] = set()
        self._closed: list[str] = []
        self._invocations_total = 0
        self.functions: set[str] = set()
        self._load()

    # --- executions -------------------------------------------------------------

    def start_execution(
        self,
        function_name: str,
        payload: str | None,
        *,
        execution_name: str | None = None,
        timeout_seconds: int | None = None,
    ) -> StartedExecution:
        """Create an execution and queue its first invocation.

        A start with the name of an existing execution of the same function returns
        that execution when the input is the same, and raises
        ``DurableExecutionAlreadyStartedException`` otherwise.
        """
        function_name = arns.function_name_of(function_name)
        if payload is not None and payload_size(payload) > MAX_LAMBDA_RESPONSE_BYTES:
            raise ServiceError(
                "RequestTooLargeException",
                f"Payload: {payload_size(payload)} bytes exceeds {MAX_LAMBDA_RESPONSE_BYTES}",
            )
        if execution_name is not None:
            if arns.EXECUTION_NAME.fullmatch(execution_name) is None:
                raise invalid_parameter(
                    f"DurableExecutionName: {execution_name!r} must be 1-64 letters,"
                    " digits, '-' or '_'"
                )
            existing = self._by_name.get((function_name, execution_name))
            if existing is not None:
                if self._executions[existing].record.input_payload == payload:
                    return StartedExecution(existing, already_started=True)
                raise ServiceError(
                    "DurableExecutionAlreadyStartedException",
                    f"DurableExecutionName: an execution named {execution_name!r} of"
                    f" {function_name!r} already exists with a different input",
                )
        timeout = self._default_timeout if timeout_seconds is None else timeout_seconds
        check_timeout(timeout)
        action = _Action()
        arn = self._create_execution(
            action, function_name, payload, execution_name or arns.new_execution_name(), timeout
        )
        self._commit(action)
        return StartedExecution(arn, already_started=False)

    def get_execution(self, arn: str, *, include_execution_data: bool = True) -> dict[str, Any]:
        """``GetDurableExecution`` output (JSON-ready, timestamps in epoch seconds)."""
        rec = self._execution(arn).record
        out: dict[str, Any] = {
            "DurableExecutionArn": rec.arn,
            "DurableExecutionName": rec.name,
            "FunctionArn": arns.function_arn(self._region, self._account, rec.function_name),
            "StartTimestamp": rec.start_timestamp,
            "Status": _status(rec),
            "Version": "$LATEST",
            "DurableConfig": {"ExecutionTimeout": rec.timeout_seconds},
        }
        expected = _expected_timeout(rec)
        if expected is not None:
            out["ExpectedExecutionTimeoutTimestamp"] = expected
        if rec.pause is not None:
            out["PauseDetails"] = _pause_details(rec.pause, with_reason=include_execution_data)
        if rec.end_timestamp is not None:
            out["EndTimestamp"] = rec.end_timestamp
        if rec.error is not None:
            out["Error"] = error_to_wire(rec.error)
        if include_execution_data:
            out["ExecutionDataIncluded"] = True
            if rec.input_payload is not None:
                out["InputPayload"] = rec.input_payload
            if rec.result is not None:
                out["Result"] = rec.result
        return out

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
        events = self._execution(arn).events
        limit = page_limit(max_items, MAX_PAGE_ITEMS)
        start = offset_marker(marker, len(events))
        if reverse_order:
            stop = len(events) - start
            chosen = events[max(0, stop - limit) : stop][::-1]
        else:
            chosen = events[start : start + limit]
        page = [ev.to_wire() for ev in chosen]
        if not include_execution_data:
            page = [history.strip_payloads(ev) for ev in page]
        out: dict[str, Any] = {"Events": page}
        if start + len(page) < len(events):
            out["NextMarker"] = str(start + len(page))
        return out

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
        if name not in self.functions and name not in self._by_function:
            raise not_found(f"FunctionName: function {name!r} not found")
        wanted: set[str] | None = None
        if statuses:
            wanted = set(statuses)
            if not wanted <= _STATUS_NAMES:
                raise invalid_parameter(
                    f"Statuses: {list(statuses)!r} holds an unknown execution status"
                )
        limit = page_limit(max_items, MAX_PAGE_ITEMS)
        found: list[ExecutionRecord] = []
        for arn in self._by_function.get(name, ()):
            rec = self._executions[arn].record
            if wanted is not None and _status(rec) not in wanted:
                continue
            if started_after is not None and rec.start_timestamp < started_after:
                continue
            if started_before is not None and rec.start_timestamp > started_before:
                continue
            if execution_name is not None and rec.name != execution_name:
                continue
            found.append(rec)
        if reverse_order:
            found.reverse()
        start = offset_marker(marker, len(found))
        page = found[start : start + limit]
        out: dict[str, Any] = {"DurableExecutions": [self._summary(rec) for rec in page]}
        if start + len(page) < len(found):
            out["NextMarker"] = str(start + len(page))
        return out

    def function_names(self) -> list[str]:
        """Every function that is registered or has executions, sorted."""
        return sorted(self.functions | self._by_function.keys())

    def stop_execution(self, arn: str, error: ErrorObject | None = None) -> dict[str, Any]:
        """Stop a running execution: ``{"StopTimestamp": ...}``. Its callbacks and
        waits can no longer complete; a running invocation is asked to cancel
        (``take_cancellations``) and the ExecutionStopped event follows its
        InvocationCompleted."""
        ex = self._execution(arn)
        if ex.record.status is not ExecutionStatus.RUNNING:
            raise invalid_parameter(
                f"DurableExecutionArn: execution is already {ex.record.status.value}"
            )
        if error is not None:
            check_error("Error", error)
        now = self._clock()
        action = _Action()
        self._end_execution(action.stage(ex), action, ExecutionStatus.STOPPED, now, None, error)
        self._commit(action)
        return {"StopTimestamp": now}

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
        ex = self._execution(arn)
        check_reason(reason)
        if not isinstance(execution_timeout_paused, bool):
            raise invalid_parameter("ExecutionTimeoutPaused: must be true or false")
        receipt = _receipt("pause", client_token, reason, execution_timeout_paused)
        if self._is_retry(ex, receipt):
            return
        rec = ex.record
        if rec.status is not ExecutionStatus.RUNNING or rec.pause is not None:
            raise conflict(
                f"DurableExecutionArn: cannot pause an execution that is {_status(rec)};"
                " only a RUNNING execution can be paused"
            )
        now = self._clock()
        action = _Action()
        st = action.stage(ex)
        st.record = replace(
            rec,
            pause=PauseState(now, reason, execution_timeout_paused),
            last_control=receipt or rec.last_control,
        )
        st.add_event(
            "ExecutionPaused", now, history.execution_paused(now, reason, execution_timeout_paused)
        )
        self._commit(action)

    def resume_execution(
        self, arn: str, *, reason: str | None = None, client_token: str | None = None
    ) -> None:
        """Lift a pause. From PAUSED, an invocation starts if one is owed (the pause
        cut one short, or something completed meanwhile); from PAUSING, the
        invocation in flight simply goes on. A paused execution timeout resumes
        with its deadline moved on by the time spent paused."""
        ex = self._execution(arn)
        check_reason(reason)
        receipt = _receipt("resume", client_token, reason, False)
        if self._is_retry(ex, receipt):
            return
        rec = ex.record
        pause = rec.pause
        if rec.status is not ExecutionStatus.RUNNING or pause is None:
            raise conflict(
                f"DurableExecutionArn: cannot resume an execution that is {_status(rec)};"
                " only a PAUSING or PAUSED execution can be resumed"
            )
        now = self._clock()
        action = _Action()
        st = action.stage(ex)
        deadline = rec.deadline
        if pause.timeout_paused and deadline is not None:
            deadline += now - pause.request_timestamp
            st.timers.append((deadline, TimerKind.EXECUTION_TIMEOUT, None))
        st.record = replace(
            rec, pause=None, deadline=deadline, last_control=receipt or rec.last_control
        )
        st.add_event("ExecutionResumed", now, history.execution_resumed(now, reason))
        self._commit(action)

    def delete_execution(self, arn: str) -> dict[str, Any]:
        """Remove an ended execution with its operations and history:
        ``{"DeletionRequestTimestamp": ...}``. Only SUCCEEDED, FAILED, STOPPED or
        TIMED_OUT executions whose last invocation has ended can be deleted."""
        ex = self._execution(arn)
        rec = ex.record
        if rec.status is ExecutionStatus.RUNNING:
            raise conflict(
                f"DurableExecutionArn: cannot delete an execution that is {_status(rec)};"
                " stop it first (only SUCCEEDED, FAILED, STOPPED or TIMED_OUT executions"
                " can be deleted)"
            )
        if not rec.closed:
            raise conflict(
                f"DurableExecutionArn: the execution is {rec.status.value} but its last"
                " invocation is still ending; retry in a moment"
            )
        now = self._clock()
        self._store.delete(arn)
        self._forget(ex)
        return {"DeletionRequestTimestamp": now}

    def is_closed(self, arn: str) -> bool:
        """Whether the execution's terminal event is in its history."""
        return self._execution(arn).record.closed

    def record(self, arn: str) -> ExecutionRecord:
        return self._execution(arn).record

    def operation(self, arn: str, operation_id: str) -> Operation:
        """The current state of one operation (ResourceNotFoundException if absent)."""
        found = self._execution(arn).ops.get(operation_id)
        if found is None:
            raise not_found(f"Id: execution has no operation {operation_id!r}")
        return found.operation

    def operations(self, arn: str) -> tuple[Operation, ...]:
        """Every operation of the execution, in the order they were created (for
        tests and tools; ``GetDurableExecutionState`` pages the same order)."""
        ex = self._execution(arn)
        return tuple(ex.ops[op_id].operation for op_id in ex.order)

    def events(self, arn: str) -> Sequence[Event]:
        """The full history, rendered (for tests and tools)."""
        return tuple(ev.to_wire() for ev in self._execution(arn).events)

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
        ``client_token`` and ``checkpoint_token`` of the last call gets its answer.
        """
        ex = self._checked_execution(arn)
        rec = ex.record
        if client_token is not None:
            check_client_token(client_token)
            last = rec.last_checkpoint
            if (
                last is not None
                and last.client_token == client_token
                and last.checkpoint_token == checkpoint_token
            ):
                return last.result
        self._check_token(ex, checkpoint_token)
        if len(updates) > MAX_CHECKPOINT_UPDATES:
            raise invalid_parameter(
                f"Updates: {len(updates)} updates exceed the limit of {MAX_CHECKPOINT_UPDATES}"
            )
        now = self._clock()
        action = _Action()
        st = action.stage(ex)
        total = 0
        last_action: dict[str, OperationAction] = {}
        for index, update in enumerate(updates):
            update = coerce_update(index, update)
            check_update_fields(f"Updates[{index}]", update)
            total += update_bytes(update)
            if total > MAX_CHECKPOINT_BYTES:
                raise invalid_parameter(
                    f"Updates: the call carries more than {MAX_CHECKPOINT_BYTES} bytes"
                    f" (at Updates[{index}])"
                )
            self._check_duplicate(index, update, last_action)
            if update.type is OperationType.EXECUTION and index != len(updates) - 1:
                raise invalid_parameter(
                    f"Updates[{index}]: an EXECUTION update must be the last update of the call"
                )
            self._apply_update(action, st, index, update, now)
        changed = list(ex.dirty)
        changed.extend(op_id for op_id in st.ops if op_id not in ex.dirty)
        ops = tuple(_operation(st, op_id) for op_id in changed)
        new_token = arns.new_checkpoint_token()
        first, rest_marker, rest = self._first_page(ops, "d")
        result = CheckpointResult(new_token, StatePage(first, rest_marker))
        receipt = (
            None
            if client_token is None
            else CheckpointReceipt(client_token, checkpoint_token, result)
        )
        st.record = replace(st.record, checkpoint_token=new_token, last_checkpoint=receipt)
        self._commit(action)
        ex.dirty.clear()
        ex.delta = None if rest_marker is None else (rest_marker.rpartition(":")[0], rest)
        if ex.record.pause is not None and ex.record.invocation_id is not None:
            self._cut.add(arn)  # a pause waited for this checkpoint: end the invocation
            self._cancel.add(arn)
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
        ex = self._execution(arn)
        if checkpoint_token != ex.record.checkpoint_token:
            raise invalid_parameter(
                "Invalid checkpoint token: CheckpointToken is not the execution's current token"
            )
        limit = page_limit(max_items, self._page_size)
        if marker is not None and marker.startswith("d"):
            prefix, _, offset_text = marker.rpartition(":")
            if ex.delta is None or ex.delta[0] != prefix:
                raise invalid_parameter(f"Marker: {marker!r} is not a marker of this execution")
            ops = ex.delta[1]
            offset = offset_marker(offset_text, len(ops))
            page = _take_page(ops[offset : offset + limit])
            end = offset + len(page)
            return StatePage(page, f"{prefix}:{end}" if end < len(ops) else None)
        offset = offset_marker(marker, len(ex.order))
        page = _take_page(ex.ops[op_id].operation for op_id in ex.order[offset : offset + limit])
        end = offset + len(page)
        return StatePage(page, str(end) if end < len(ex.order) else None)

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
        ex, record = self._open_callback(callback_id)
        if not record.callback_heartbeat_timeout_seconds:
            return
        deadline = self._clock() + record.callback_heartbeat_timeout_seconds
        action = _Action()
        st = action.stage(ex)
        st.put(replace(record, heartbeat_deadline=deadline))
        st.timers.append((deadline, TimerKind.CALLBACK_HEARTBEAT, record.operation.id))
        self._commit(action)

    # --- timers -------------------------------------------------------------------------

    def next_timer_due(self) -> float | None:
        """Epoch seconds of the earliest live timer, or None."""
        while self._timers:
            due, _, kind, arn, op_id = self._timers[0]
            if self._timer_live(due, kind, arn, op_id):
                return due
            heapq.heappop(self._timers)
        return None

    def fire_due_timers(self) -> int:
        """Fire every timer due by now, in one store write; returns how many fired.
        When the write fails, every timer stays due (to fire on the next call)."""
        now = self._clock()
        action = _Action()
        fired = 0
        popped = []
        while self._timers and self._timers[0][0] <= now:
            popped.append(heapq.heappop(self._timers))
            due, _, kind, arn, op_id = popped[-1]
            if not self._timer_live(due, kind, arn, op_id, action):
                continue
            fired += 1
            st = action.stage(self._executions[arn])
            if kind is TimerKind.EXECUTION_TIMEOUT:
                error = ErrorObject(
                    message=f"execution timed out after {st.record.timeout_seconds} seconds",
                    type="Execution.TimedOut",
                )
                self._end_execution(st, action, ExecutionStatus.TIMED_OUT, now, None, error)
                continue
            assert op_id is not None
            self._fire_operation_timer(st, kind, op_id, now)
            self._wake(st)
        if action.stages:
            try:
                self._commit(action)
            except BaseException:
                for timer in popped:
                    heapq.heappush(self._timers, timer)
                raise
        return fired

    # --- invocations -----------------------------------------------------------------------

    def take_invocations(self) -> list[InvocationRequest]:
        """Start an invocation for every execution that needs one and has none in
        flight; each gets a fresh checkpoint token (fencing off older invocations)."""
        if not self._ready:
            return []
        now = self._clock()
        action = _Action()
        requests: list[InvocationRequest] = []
        done: list[str] = []
        for arn in self._ready:
            ex = self._executions[arn]
            rec = ex.record
            if rec.function_name not in self.functions:
                continue  # waits until its function is registered
            done.append(arn)  # a paused one is queued again by its resume
            if (
                rec.status is not ExecutionStatus.RUNNING
                or rec.invocation_id is not None
                or rec.pause is not None
            ):
                continue
            st = action.stage(ex)
            request_id = arns.new_request_id()
            token = arns.new_checkpoint_token()
            st.record = replace(
                rec,
                checkpoint_token=token,
                invocation_id=request_id,
                invocation_start=now,
                wake=False,
                last_checkpoint=None,
            )
            first, rest_marker, _ = self._first_page(
                tuple(ex.ops[op_id].operation for op_id in ex.order[: self._page_size + 1]),
                "s",
            )
            requests.append(
                InvocationRequest(
                    arn, rec.function_name, request_id, token, StatePage(first, rest_marker)
                )
            )
        if action.stages:
            self._commit(action)
        for arn in done:
            del self._ready[arn]
        for request in requests:
            ex = self._executions[request.execution_arn]
            ex.dirty.clear()
            ex.delta = None
            self._in_flight.add(request.execution_arn)
        self._invocations_total += len(requests)
        return requests

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
        ex = self._execution(arn)
        rec = ex.record
        if rec.invocation_id != request_id:
            return  # a late answer from an invocation already written off
        now = self._clock()
        # Cancelled by a pause at its checkpoint: owed a new invocation, not a crash.
        cut = arn in self._cut and answer is None and failure is None
        status: InvocationStatus | None = None
        if failure is None and rec.status is ExecutionStatus.RUNNING and not cut:
            status, failure = _read_answer(answer)
        action = _Action()
        st = action.stage(ex)
        start = rec.invocation_start if rec.invocation_start is not None else now
        st.add_event(
            "InvocationCompleted",
            now,
            history.invocation_details(start, now, request_id, failure),
        )
        st.record = replace(rec, invocation_id=None, invocation_start=None)
        if cut:  # a fresh token fences off the cancelled invocation's later checkpoints
            st.record = replace(st.record, wake=True, checkpoint_token=arns.new_checkpoint_token())
        if rec.status is ExecutionStatus.RUNNING:
            self._deliver_held_outcomes(st, now)
        self._after_invocation(action, st, status, answer, failure, now)
        self._commit(action)
        self._cut.discard(arn)
        self._in_flight.discard(arn)

    def take_cancellations(self) -> set[str]:
        """ARNs whose invocation in flight should be cancelled (stopped, timed out,
        or paused at a checkpoint)."""
        out, self._cancel = self._cancel, set()
        return out

    def take_closed(self) -> list[str]:
        """ARNs of executions that got their terminal event since the last call."""
        out, self._closed = self._closed, []
        return out

    def statistics(self) -> EngineStatistics:
        running = sum(
            1 for ex in self._executions.values() if ex.record.status is ExecutionStatus.RUNNING
        )
        live_timers = sum(
            1
            for due, _, kind, arn, op_id in self._timers
            if self._timer_live(due, kind, arn, op_id)
        )
        return EngineStatistics(
            executions=len(self._executions),
            running_executions=running,
            invocations_in_flight=len(self._in_flight),
            invocations_ready=len(self._ready),
            timers_scheduled=live_timers,
            invocations_total=self._invocations_total,
        )

    # --- internals: executions ------------------------------------------------------------

    def _execution(self, arn: str) -> _Execution:
        ex = self._executions.get(arn)
        if ex is None:
            raise not_found(f"DurableExecutionArn: no execution {arn!r}")
        return ex

    def _checked_execution(self, arn: str) -> _Execution:
        ex = self._executions.get(arn)
        if ex is None:
            raise invalid_parameter(f"DurableExecutionArn: no execution {arn!r}")
        return ex

    def _check_token(self, ex: _Execution, token: str) -> None:
        if token != ex.record.checkpoint_token:
            raise invalid_parameter(
                "Invalid checkpoint token: CheckpointToken is not the execution's current token"
            )
        if ex.record.status is not ExecutionStatus.RUNNING:
            raise invalid_parameter(
                f"Invalid checkpoint token: the execution is {ex.record.status.value}"
            )

    def _create_execution(
        self,
        action: _Action,
        function_name: str,
        payload: str | None,
        name: str,
        timeout: int,
        parent: tuple[str, str] | None = None,
    ) -> str:
        now = self._clock()
        execution_id = arns.new_execution_id()
        arn = arns.execution_arn(self._region, self._account, function_name, name, execution_id)
        record = ExecutionRecord(
            arn=arn,
            name=name,
            function_name=function_name,
            status=ExecutionStatus.RUNNING,
            start_timestamp=now,
            input_payload=payload,
            checkpoint_token=arns.new_checkpoint_token(),
            timeout_seconds=timeout,
            event_count=0,
            deadline=now + timeout,
            wake=True,
            parent_arn=None if parent is None else parent[0],
            parent_operation_id=None if parent is None else parent[1],
        )
        st = action.stage(_Execution(record), is_new=True)
        op = Operation(
            id=execution_id,
            type=OperationType.EXECUTION,
            status=OperationStatus.STARTED,
            start_timestamp=now,
            name=name,
            input_payload=payload,
        )
        st.put(OperationRecord(arn, 0, op))
        st.events.append(history.execution_started(1, now, op, payload, timeout))
        st.timers.append((now + timeout, TimerKind.EXECUTION_TIMEOUT, None))
        return arn

    def _end_execution(
        self,
        st: _Stage,
        action: _Action,
        status: ExecutionStatus,
        now: float,
        result: str | None,
        error: ErrorObject | None,
    ) -> None:
        """Give the execution its final status; the terminal event is written now,
        or when the invocation in flight ends."""
        st.record = replace(
            st.record, status=status, end_timestamp=now, result=result, error=error, pause=None
        )
        exec_id = st.ex.order[0] if st.ex.order else st.new_ops[0]
        exec_op = _operation(st, exec_id)
        if not exec_op.status.is_terminal:
            st.put(
                replace(
                    _record(st, exec_id),
                    operation=replace(
                        exec_op,
                        status=_TERMINAL_EXECUTION[status][1],
                        end_timestamp=now,
                        result=result,
                        error=error,
                    ),
                )
            )
        if st.record.invocation_id is None:
            self._close(st, action, now)

    def _close(self, st: _Stage, action: _Action, now: float) -> None:
        rec = st.record
        event_type = _TERMINAL_EXECUTION[rec.status][0]
        if rec.status is ExecutionStatus.SUCCEEDED:
            details = {"Result": history.payload(rec.result)}
        else:
            details = {"Error": history.error(rec.error)}
        st.add_event(event_type, now, details)
        st.record = replace(rec, closed=True, wake=False)
        if rec.parent_arn is not None and rec.parent_operation_id is not None:
            self._report_to_parent(action, rec, now)

    def _report_to_parent(self, action: _Action, child: ExecutionRecord, now: float) -> None:
        """Record a chained invoke's outcome on the caller's operation. While the
        caller has an invocation in flight, the outcome waits for that invocation's
        end (``_deliver_held_outcomes``): the caller resumes in a new invocation,
        and its history shows the outcome after the InvocationCompleted, as AWS's does."""
        parent = self._executions.get(child.parent_arn or "")
        if (
            parent is None
            or parent.record.status is not ExecutionStatus.RUNNING
            or parent.record.invocation_id is not None
        ):
            return
        st = action.stage(parent)
        record = st.op(child.parent_operation_id or "")
        if record is not None:
            self._record_outcome(st, record, child, now)

    def _deliver_held_outcomes(self, st: _Stage, now: float) -> None:
        """Record the outcomes of chained invokes whose targets ended while the
        caller's invocation was in flight (see ``_report_to_parent``)."""
        held = []
        for op_id in st.ex.waiters:
            record = st.op(op_id)
            target = self._executions.get(record.target_arn or "") if record else None
            if record is not None and target is not None and target.record.closed:
                held.append((record, target.record))
        for record, child in sorted(held, key=lambda pair: pair[0].seq):
            self._record_outcome(st, record, child, now)

    def _record_outcome(
        self, st: _Stage, record: OperationRecord, child: ExecutionRecord, now: float
    ) -> None:
        if record.operation.status is not OperationStatus.STARTED:
            return
        event_type, op_status = _CHILD_OUTCOME[child.status]
        op = replace(
            record.operation,
            status=op_status,
            end_timestamp=now,
            result=child.result,
            error=child.error,
        )
        st.put(replace(record, operation=op))
        if op_status is OperationStatus.SUCCEEDED:
            details = {"Result": history.payload(child.result)}
        else:
            details = {"Error": history.error(child.error)}
        st.add_op_event(event_type, now, op, details)
        self._wake(st)

    def _summary(self, rec: ExecutionRecord) -> dict[str, Any]:
        out: dict[str, Any] = {
            "DurableExecutionArn": rec.arn,
            "DurableExecutionName": rec.name,
            "FunctionArn": arns.function_arn(self._region, self._account, rec.function_name),
            "Status": _status(rec),
            "StartTimestamp": rec.start_timestamp,
        }
        if rec.end_timestamp is not None:
            out["EndTimestamp"] = rec.end_timestamp
        return out

    def _is_retry(self, ex: _Execution, receipt: ControlReceipt | None) -> bool:
        """Whether a pause or resume request repeats the execution's last one (same
        ClientToken, same parameters); the same token with other parameters is refused."""
        last = ex.record.last_control
        if receipt is None or last is None:
            return False
        if (last.action, last.client_token) != (receipt.action, receipt.client_token):
            return False
        if last != receipt:
            raise invalid_parameter(
                f"ClientToken: {receipt.client_token!r} was already used for a {receipt.action}"
                " request with other parameters"
            )
        return True

    def _forget(self, ex: _Execution) -> None:
        """Drop a deleted execution from every index (its timers die lazily)."""
        rec = ex.record
        del self._executions[rec.arn]
        if self._by_name.get((rec.function_name, rec.name)) == rec.arn:
            del self._by_name[(rec.function_name, rec.name)]
        siblings = self._by_function[rec.function_name]
        siblings.remove(rec.arn)
        if not siblings:
            del self._by_function[rec.function_name]
        for record in ex.ops.values():
            if record.operation.callback_id is not None:
                self._callbacks.pop(record.operation.callback_id, None)
        self._ready.pop(rec.arn, None)
        self._cancel.discard(rec.arn)
        self._cut.discard(rec.arn)

    def _wake(self, st: _Stage) -> None:
        """Something the handler waits on changed: an invocation is owed."""
        if st.record.status is ExecutionStatus.RUNNING:
            st.record = replace(st.record, wake=True)

    # --- internals: invocations -----------------------------------------------------------

    def _after_invocation(
        self,
        action: _Action,
        st: _Stage,
        status: InvocationStatus | None,
        answer: Any,
        failure: ErrorObject | None,
        now: float,
    ) -> None:
        rec = st.record
        if rec.status is not ExecutionStatus.RUNNING:
            self._close(st, action, now)
            return
        exec_op = st.ex.ops[st.ex.order[0]].operation
        if exec_op.status is OperationStatus.SUCCEEDED:
            self._end_execution(st, action, ExecutionStatus.SUCCEEDED, now, exec_op.result, None)
        elif exec_op.status is OperationStatus.FAILED:
            self._end_execution(st, action, ExecutionStatus.FAILED, now, None, exec_op.error)
        elif failure is not None:
            crashes = rec.crashes + 1
            st.record = replace(rec, crashes=crashes)
            if crashes > self._max_crash_retries:
                self._end_execution(st, action, ExecutionStatus.FAILED, now, None, failure)
            else:
                st.record = replace(st.record, wake=True)
        elif status is InvocationStatus.SUCCEEDED:
            result = answer.get("Result")
            self._end_execution(st, action, ExecutionStatus.SUCCEEDED, now, result, None)
        elif status is InvocationStatus.FAILED:
            error = error_from_wire(answer.get("Error")) or ErrorObject(
                message="the handler answered FAILED without an error"
            )
            self._end_execution(st, action, ExecutionStatus.FAILED, now, None, error)
        else:
            st.record = replace(rec, crashes=0)
            if not rec.wake and not st.ex.waiters:
                error = ErrorObject(
                    message=(
                        "the invocation returned PENDING but nothing can resume the"
                        " execution: no wait, step retry, callback or chained invoke is pending"
                    ),
                    type=NO_PROGRESS_ERROR_TYPE,
                )
                self._end_execution(st, action, ExecutionStatus.FAILED, now, None, error)

    # --- internals: updates ---------------------------------------------------------------

    def _check_duplicate(
        self, index: int, update: OperationUpdate, last_action: dict[str, OperationAction]
    ) -> None:
        previous = last_action.get(update.id)
        if previous is not None and not (
            update.type in (OperationType.STEP, OperationType.CONTEXT)
            and previous is OperationAction.START
            and update.action is not OperationAction.START
        ):
            raise invalid_parameter(
                f"Updates[{index}].Id: operation {update.id!r} is updated twice in one call"
                " (only a STEP or CONTEXT START may be followed by its completion)"
            )
        last_action[update.id] = update.action

    def _apply_update(
        self, action: _Action, st: _Stage, index: int, u: OperationUpdate, now: float
    ) -> None:
        where = f"Updates[{index}]"
        existing = st.op(u.id)
        if u.type is OperationType.EXECUTION:
            self._apply_execution(st, where, u, existing, now)
            return
        if existing is not None:
            check_same_identity(where, u, existing.operation)
        elif u.parent_id is not None:
            parent = st.op(u.parent_id)
            if parent is None:
                raise invalid_parameter(
                    f"{where}.ParentId: no operation {u.parent_id!r} in this execution"
                )
            if parent.operation.type is not OperationType.CONTEXT:
                raise invalid_parameter(
                    f"{where}.ParentId: {u.parent_id!r} is a"
                    f" {parent.operation.type.value}, not a CONTEXT"
                )
        if u.type is OperationType.STEP:
            self._apply_step(st, where, u, existing, now)
        elif u.type is OperationType.WAIT:
            self._apply_wait(st, where, u, existing, now)
        elif u.type is OperationType.CALLBACK:
            self._apply_callback(st, where, u, existing, now)
        elif u.type is OperationType.CONTEXT:
            self._apply_context(st, where, u, existing, now)
        else:
            self._apply_chained_invoke(action, st, where, u, existing, now)

    def _new_record(
        self, st: _Stage, u: OperationUpdate, now: float, **fields: Any
    ) -> OperationRecord:
        op = Operation(
            id=u.id,
            type=u.type,
            status=OperationStatus.STARTED,
            start_timestamp=now,
            parent_id=u.parent_id,
            name=u.name,
            sub_type=u.sub_type,
            **fields,
        )
        return OperationRecord(st.record.arn, st.new_seq(), op)

    def _apply_execution(
        self,
        st: _Stage,
        where: str,
        u: OperationUpdate,
        existing: OperationRecord | None,
        now: float,
    ) -> None:
        if existing is None or existing.seq != 0:
            raise invalid_parameter(f"{where}.Id: {u.id!r} is not this execution's EXECUTION id")
        if existing.operation.status.is_terminal:
            raise invalid_parameter(
                f"{where}.Action: the EXECUTION operation is already"
                f" {existing.operation.status.value}"
            )
        if u.action is OperationAction.SUCCEED:
            op = replace(
                existing.operation,
                status=OperationStatus.SUCCEEDED,
                end_timestamp=now,
                result=u.payload,
            )
        else:
            op = replace(
                existing.operation,
                status=OperationStatus.FAILED,
                end_timestamp=now,
                error=u.error or ErrorObject(),
            )
        st.put(replace(existing, operation=op))

    def _apply_step(
        self,
        st: _Stage,
        where: str,
        u: OperationUpdate,
        existing: OperationRecord | None,
        now: float,
    ) -> None:
        if existing is None:
            record = self._new_record(st, u, now, attempt=0)
            if u.action is OperationAction.START:
                st.put(record)
                st.add_op_event("StepStarted", now, record.operation, {})
                return
        else:
            record = existing
            status = existing.operation.status
            allowed = (
                {OperationStatus.READY}
                if u.action is OperationAction.START
                else {OperationStatus.STARTED, OperationStatus.READY}
            )
            if status not in allowed:
                raise invalid_parameter(
                    f"{where}.Action: cannot {u.action.value} STEP {u.id!r} in status"
                    f" {status.value}"
                )
            if u.action is OperationAction.START:
                op = replace(
                    existing.operation,
                    status=OperationStatus.STARTED,
                    next_attempt_timestamp=None,
                )
                st.put(replace(existing, operation=op))
                st.add_op_event("StepStarted", now, op, {})
                return
        attempt = (record.operation.attempt or 0) + 1
        if u.action is OperationAction.SUCCEED:
            op = replace(
                record.operation,
                status=OperationStatus.SUCCEEDED,
                end_timestamp=now,
                attempt=attempt,
                result=u.payload,
                error=None,
            )
            details = {
                "Result": history.payload(u.payload),
                "RetryDetails": history.retry_details(attempt),
            }
            st.put(replace(record, operation=op))
            st.add_op_event("StepSucceeded", now, op, details)
        elif u.action is OperationAction.FAIL:
            op = replace(
                record.operation,
                status=OperationStatus.FAILED,
                end_timestamp=now,
                attempt=attempt,
                error=u.error,
                result=None,
            )
            details = {
                "Error": history.error(u.error),
                "RetryDetails": history.retry_details(attempt),
            }
            st.put(replace(record, operation=op))
            st.add_op_event("StepFailed", now, op, details)
        else:
            delay = u.next_attempt_delay_seconds
            if delay is None:
                raise invalid_parameter(
                    f"{where}.StepOptions.NextAttemptDelaySeconds: required for RETRY"
                )
            due = now + delay
            op = replace(
                record.operation,
                status=OperationStatus.PENDING,
                attempt=attempt,
                next_attempt_timestamp=due,
                error=u.error,
                result=u.payload,
            )
            # A RETRY with an error is a failed attempt; one without (a
            # wait_for_condition poll carrying its state) is a successful one.
            retry = history.retry_details(attempt, delay)
            if u.error is None:
                kind, details = "StepSucceeded", {"Result": history.payload(u.payload)}
            else:
                kind, details = "StepFailed", {"Error": history.error(u.error)}
            st.put(replace(record, operation=op))
            st.add_op_event(kind, now, op, {**details, "RetryDetails": retry})
            st.timers.append((due, TimerKind.RETRY, u.id))

    def _apply_wait(
        self,
        st: _Stage,
        where: str,
        u: OperationUpdate,
        existing: OperationRecord | None,
        now: float,
    ) -> None:
        if u.action is OperationAction.START:
            if existing is not None:
                raise invalid_parameter(f"{where}.Id: WAIT {u.id!r} already exists")
            if u.wait_seconds is None:
                raise invalid_parameter(f"{where}.WaitOptions.WaitSeconds: required for START")
            due = now + u.wait_seconds
            record = self._new_record(st, u, now, scheduled_end_timestamp=due)
            st.put(record)
            st.add_op_event(
                "WaitStarted",
                now,
                record.operation,
                {"Duration": u.wait_seconds, "ScheduledEndTimestamp": due},
            )
            st.timers.append((due, TimerKind.WAIT, u.id))
            return
        if existing is None or existing.operation.status is not OperationStatus.STARTED:
            state = "does not exist" if existing is None else existing.operation.status.value
            raise invalid_parameter(f"{where}.Action: cannot CANCEL WAIT {u.id!r}: it {state}")
        op = replace(existing.operation, status=OperationStatus.CANCELLED, end_timestamp=now)
        st.put(replace(existing, operation=op))
        st.add_op_event("WaitCancelled", now, op, {"Error": history.error(u.error)})

    def _apply_callback(
        self,
        st: _Stage,
        where: str,
        u: OperationUpdate,
        existing: OperationRecord | None,
        now: float,
    ) -> None:
        if existing is not None:
            raise invalid_parameter(f"{where}.Id: CALLBACK {u.id!r} already exists")
        timeout = u.callback_timeout_seconds or 0
        heartbeat = u.callback_heartbeat_timeout_seconds or 0
        callback_id = arns.new_callback_id()
        record = self._new_record(st, u, now, callback_id=callback_id)
        record = replace(
            record,
            callback_timeout_seconds=timeout or None,
            callback_heartbeat_timeout_seconds=heartbeat or None,
            timeout_deadline=now + timeout if timeout else None,
            heartbeat_deadline=now + heartbeat if heartbeat else None,
        )
        st.put(record)
        details: dict[str, Any] = {"CallbackId": callback_id}
        if timeout:
            details["Timeout"] = timeout
            st.timers.append((now + timeout, TimerKind.CALLBACK_TIMEOUT, u.id))
        if heartbeat:
            details["HeartbeatTimeout"] = heartbeat
            st.timers.append((now + heartbeat, TimerKind.CALLBACK_HEARTBEAT, u.id))
        st.add_op_event("CallbackStarted", now, record.operation, details)

    def _apply_context(
        self,
        st: _Stage,
        where: str,
        u: OperationUpdate,
        existing: OperationRecord | None,
        now: float,
    ) -> None:
        if u.action is OperationAction.START:
            if existing is not None:
                raise invalid_parameter(f"{where}.Id: CONTEXT {u.id!r} already exists")
            record = self._new_record(st, u, now, replay_children=u.replay_children)
            st.put(record)
            st.add_op_event("ContextStarted", now, record.operation, {})
            return
        if existing is None:
            record = self._new_record(st, u, now)
        elif existing.operation.status is not OperationStatus.STARTED:
            raise invalid_parameter(
                f"{where}.Action: cannot {u.action.value} CONTEXT {u.id!r} in status"
                f" {existing.operation.status.value}"
            )
        else:
            record = existing
        replay = (
            u.replay_children if u.replay_children is not None else record.operation.replay_children
        )
        if u.action is OperationAction.SUCCEED:
            op = replace(
                record.operation,
                status=OperationStatus.SUCCEEDED,
                end_timestamp=now,
                result=u.payload,
                replay_children=replay,
            )
            st.put(replace(record, operation=op))
            st.add_op_event("ContextSucceeded", now, op, {"Result": history.payload(u.payload)})
        else:
            op = replace(
                record.operation,
                status=OperationStatus.FAILED,
                end_timestamp=now,
                error=u.error,
                replay_children=replay,
            )
            st.put(replace(record, operation=op))
            st.add_op_event("ContextFailed", now, op, {"Error": history.error(u.error)})

    def _apply_chained_invoke(
        self,
        action: _Action,
        st: _Stage,
        where: str,
        u: OperationUpdate,
        existing: OperationRecord | None,
        now: float,
    ) -> None:
        if existing is not None:
            raise invalid_parameter(f"{where}.Id: CHAINED_INVOKE {u.id!r} already exists")
        if u.invoke_function_name is None:
            raise invalid_parameter(
                f"{where}.ChainedInvokeOptions.FunctionName: required for START"
            )
        target = arns.function_name_of(u.invoke_function_name)
        record = self._new_record(st, u, now)
        details: dict[str, Any] = {
            "FunctionName": u.invoke_function_name,
            "Input": history.payload(u.payload),
            "ExecutedVersion": "$LATEST",
        }
        if u.invoke_tenant_id is not None:
            details["TenantId"] = u.invoke_tenant_id
        if target not in self.functions:
            st.put(record)
            st.add_op_event("ChainedInvokeStarted", now, record.operation, details)
            error = ErrorObject(
                message=f"function {target!r} not found", type="ResourceNotFoundException"
            )
            op = replace(
                record.operation, status=OperationStatus.FAILED, end_timestamp=now, error=error
            )
            st.put(replace(record, operation=op))
            st.add_op_event("ChainedInvokeFailed", now, op, {"Error": history.error(error)})
            return
        child = self._create_execution(
            action,
            target,
            u.payload,
            arns.new_execution_name(),
            self._default_timeout,
            parent=(st.record.arn, u.id),
        )
        details["DurableExecutionArn"] = child
        st.put(replace(record, target_arn=child))
        st.add_op_event("ChainedInvokeStarted", now, record.operation, details)

    # --- internals: callbacks and timers -------------------------------------------------

    def _open_callback(self, callback_id: str) -> tuple[_Execution, OperationRecord]:
        found = self._callbacks.get(callback_id)
        if found is None:
            raise not_found(f"CallbackId: no callback {callback_id!r}")
        ex = self._executions[found[0]]
        record = ex.ops[found[1]]
        status = record.operation.status
        if status is OperationStatus.TIMED_OUT:
            raise ServiceError(
                "CallbackTimeoutException", f"CallbackId: callback {callback_id!r} timed out"
            )
        if status is not OperationStatus.STARTED:
            raise not_found(f"CallbackId: callback {callback_id!r} is already {status.value}")
        if ex.record.status is not ExecutionStatus.RUNNING:
            raise not_found(
                f"CallbackId: the execution of callback {callback_id!r} is {ex.record.status.value}"
            )
        return ex, record

    def _complete_callback(
        self,
        callback_id: str,
        status: OperationStatus,
        result: str | None,
        error: ErrorObject | None,
    ) -> None:
        ex, record = self._open_callback(callback_id)
        now = self._clock()
        action = _Action()
        st = action.stage(ex)
        op = replace(record.operation, status=status, end_timestamp=now, result=result, error=error)
        st.put(replace(record, operation=op))
        if status is OperationStatus.SUCCEEDED:
            st.add_op_event("CallbackSucceeded", now, op, {"Result": history.payload(result)})
        else:
            st.add_op_event("CallbackFailed", now, op, {"Error": history.error(error)})
        self._wake(st)
        self._commit(action)

    def _timer_live(
        self,
        due: float,
        kind: TimerKind,
        arn: str,
        op_id: str | None,
        action: _Action | None = None,
    ) -> bool:
        ex = self._executions.get(arn)
        if ex is None:
            return False
        st = None if action is None else action.stages.get(arn)
        rec = ex.record if st is None else st.record
        if rec.status is not ExecutionStatus.RUNNING:
            return False
        if kind is TimerKind.EXECUTION_TIMEOUT:
            return rec.deadline == due and not _timeout_paused(rec)
        assert op_id is not None
        record = ex.ops.get(op_id) if st is None else st.op(op_id)
        if record is None:
            return False
        op = record.operation
        if kind is TimerKind.WAIT:
            return op.status is OperationStatus.STARTED and op.scheduled_end_timestamp == due
        if kind is TimerKind.RETRY:
            return op.status is OperationStatus.PENDING and op.next_attempt_timestamp == due
        if op.status is not OperationStatus.STARTED:
            return False
        if kind is TimerKind.CALLBACK_TIMEOUT:
            return record.timeout_deadline == due
        return record.heartbeat_deadline == due

    def _fire_operation_timer(self, st: _Stage, kind: TimerKind, op_id: str, now: float) -> None:
        record = _record(st, op_id)
        if kind is TimerKind.WAIT:
            op = replace(record.operation, status=OperationStatus.SUCCEEDED, end_timestamp=now)
            start = record.operation.start_timestamp
            due = record.operation.scheduled_end_timestamp or now
            st.put(replace(record, operation=op))
            st.add_op_event("WaitSucceeded", now, op, {"Duration": round(due - start)})
        elif kind is TimerKind.RETRY:
            op = replace(record.operation, status=OperationStatus.READY)
            st.put(replace(record, operation=op))
        else:
            which = "Timeout" if kind is TimerKind.CALLBACK_TIMEOUT else "Heartbeat"
            seconds = (
                record.callback_timeout_seconds
                if kind is TimerKind.CALLBACK_TIMEOUT
                else record.callback_heartbeat_timeout_seconds
            )
            error = ErrorObject(
                message=f"callback {which.lower()} of {seconds} seconds elapsed",
                type=f"Callback.{which}",
            )
            op = replace(
                record.operation, status=OperationStatus.TIMED_OUT, end_timestamp=now, error=error
            )
            st.put(replace(record, operation=op))
            st.add_op_event("CallbackTimedOut", now, op, {"Error": history.error(error)})

    # --- internals: paging ----------------------------------------------------------------

    def _first_page(
        self, ops: tuple[Operation, ...], kind: str
    ) -> tuple[tuple[Operation, ...], str | None, tuple[Operation, ...]]:
        """The first page of ``ops``, the marker of the rest (if any) and ``ops``."""
        page = _take_page(ops[: self._page_size])
        if len(page) == len(ops):
            return page, None, ops
        if kind == "s":
            return page, str(len(page)), ops
        return page, f"d{arns.new_request_id()}:{len(page)}", ops

    # --- internals: commit and load -------------------------------------------------------

    def _commit(self, action: _Action) -> None:
        changes = []
        for st in action.stages.values():
            st.record = replace(st.record, event_count=len(st.ex.events) + len(st.events))
            changes.append(ExecutionChange(st.record, tuple(st.ops.values()), tuple(st.events)))
        self._store.write(changes)
        for st in action.stages.values():
            self._apply_stage(st)

    def _apply_stage(self, st: _Stage) -> None:
        ex = st.ex
        rec = ex.record = st.record
        if st.is_new:
            self._executions[rec.arn] = ex
            self._by_name[(rec.function_name, rec.name)] = rec.arn
            self._by_function.setdefault(rec.function_name, []).append(rec.arn)
        ex.order.extend(st.new_ops)
        for op_id, record in st.ops.items():
            ex.ops[op_id] = record
            ex.dirty[op_id] = None
            self._track_waiter(ex, record)
        ex.events.extend(st.events)
        for due, kind, timer_op in st.timers:
            heapq.heappush(self._timers, (due, next(self._timer_seq), kind, rec.arn, timer_op))
        if rec.closed:
            ex.waiters.clear()
            self._ready.pop(rec.arn, None)
            if any(ev.event_type in _CLOSING_EVENTS for ev in st.events):
                self._closed.append(rec.arn)
        elif rec.status is not ExecutionStatus.RUNNING:
            self._cancel.add(rec.arn)  # ends when its invocation in flight does
        elif rec.wake and rec.invocation_id is None:
            self._ready[rec.arn] = None

    def _track_waiter(self, ex: _Execution, record: OperationRecord) -> None:
        op = record.operation
        if op.type is OperationType.CALLBACK and op.callback_id is not None:
            self._callbacks[op.callback_id] = (record.execution_arn, op.id)
        waiting = (op.status is OperationStatus.PENDING and op.type is OperationType.STEP) or (
            op.status is OperationStatus.STARTED
            and op.type
            in (OperationType.WAIT, OperationType.CALLBACK, OperationType.CHAINED_INVOKE)
        )
        if waiting:
            ex.waiters.add(op.id)
        else:
            ex.waiters.discard(op.id)

    def _load(self) -> None:
        crashed: list[_Execution] = []
        for stored in self._store.load():
            ex = _Execution(stored.execution)
            rec = stored.execution
            self._executions[rec.arn] = ex
            self._by_name[(rec.function_name, rec.name)] = rec.arn
            self._by_function.setdefault(rec.function_name, []).append(rec.arn)
            ex.events.extend(stored.events)
            for record in stored.operations:
                op = record.operation
                ex.order.append(op.id)
                ex.ops[op.id] = record
                self._track_waiter(ex, record)
                for due, kind in _timers_of(record):
                    heapq.heappush(self._timers, (due, next(self._timer_seq), kind, rec.arn, op.id))
            if rec.closed:
                ex.waiters.clear()
                continue
            if (
                rec.deadline is not None
                and rec.status is ExecutionStatus.RUNNING
                and not _timeout_paused(rec)
            ):
                heapq.heappush(
                    self._timers,
                    (
                        rec.deadline,
                        next(self._timer_seq),
                        TimerKind.EXECUTION_TIMEOUT,
                        rec.arn,
                        None,
                    ),
                )
            if rec.invocation_id is not None:
                crashed.append(ex)
            elif rec.wake and rec.status is ExecutionStatus.RUNNING:
                self._ready[rec.arn] = None
        for ex in crashed:
            self._in_flight.add(ex.record.arn)
            self.finish_invocation(
                ex.record.arn,
                ex.record.invocation_id or "",
                failure=ErrorObject(
                    message="the service restarted while this invocation was running",
                    type=RESTART_ERROR_TYPE,
                ),
            )


_CLOSING_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionStopped"}
)


# --- helpers ------------------------------------------------------------------------------


def _timers_of(record: OperationRecord) -> Iterable[tuple[float, TimerKind]]:
    op = record.operation
    if op.type is OperationType.WAIT and op.status is OperationStatus.STARTED:
        if op.scheduled_end_timestamp is not None:
            yield op.scheduled_end_timestamp, TimerKind.WAIT
    elif op.type is OperationType.STEP and op.status is OperationStatus.PENDING:
        if op.next_attempt_timestamp is not None:
            yield op.next_attempt_timestamp, TimerKind.RETRY
    elif op.type is OperationType.CALLBACK and op.status is OperationStatus.STARTED:
        if record.timeout_deadline is not None:
            yield record.timeout_deadline, TimerKind.CALLBACK_TIMEOUT
        if record.heartbeat_deadline is not None:
            yield record.heartbeat_deadline, TimerKind.CALLBACK_HEARTBEAT


def _status(rec: ExecutionRecord) -> str:
    """The status the API shows: a paused RUNNING execution is PAUSING while an
    invocation is in flight, PAUSED otherwise."""
    if rec.status is ExecutionStatus.RUNNING and rec.pause is not None:
        return PAUSING if rec.invocation_id is not None else PAUSED
    return rec.status.value


def _timeout_paused(rec: ExecutionRecord) -> bool:
    return rec.pause is not None and rec.pause.timeout_paused


def _expected_timeout(rec: ExecutionRecord) -> float | None:
    """``ExpectedExecutionTimeoutTimestamp``: none once the execution ended."""
    if rec.status is not ExecutionStatus.RUNNING:
        return None
    if _timeout_paused(rec):
        return rec.start_timestamp + _PAUSED_TIMEOUT_SECONDS
    return rec.deadline


def _pause_details(pause: PauseState, *, with_reason: bool) -> dict[str, Any]:
    """``PauseDetails``; its ``Reason`` is execution data, shown only when asked for."""
    out: dict[str, Any] = {
        "PauseRequestTimestamp": pause.request_timestamp,
        "ExecutionTimeoutPaused": pause.timeout_paused,
    }
    if with_reason and pause.reason is not None:
        out["Reason"] = pause.reason
    return out


def _receipt(
    action: str, client_token: str | None, reason: str | None, timeout_paused: bool
) -> ControlReceipt | None:
    if client_token is None:
        return None
    check_client_token(client_token)
    return ControlReceipt(action, client_token, reason, timeout_paused)


def _record(st: _Stage, op_id: str) -> OperationRecord:
    found = st.op(op_id)
    assert found is not None
    return found


def _operation(st: _Stage, op_id: str) -> Operation:
    return _record(st, op_id).operation


def _op_bytes(op: Operation) -> int:
    size = 300
    for text in (op.result, op.input_payload):
        if text is not None:
            size += len(text)
    if op.error is not None:
        size += error_size(op.error)
    return size


def _take_page(ops: Iterable[Operation]) -> tuple[Operation, ...]:
    """The leading ``ops`` that fit the page byte budget (at least one, so paging
    always progresses)."""
    page: list[Operation] = []
    budget = MAX_PAGE_BYTES
    for op in ops:
        cost = _op_bytes(op)
        if page and cost > budget:
            break
        budget -= cost
        page.append(op)
    return tuple(page)


def _read_answer(answer: Any) -> tuple[InvocationStatus | None, ErrorObject | None]:
    """The status of a handler's answer, or the error that makes it unreadable."""
    if isinstance(answer, dict):
        try:
            status = InvocationStatus(str(answer.get("Status")))
        except ValueError:
            pass
        else:
            result = answer.get("Result")
            error = answer.get("Error")
            if (result is None or isinstance(result, str)) and (
                error is None or isinstance(error, dict)
            ):
                return status, None
    text = repr(answer)
    if len(text) > 200:
        text = text[:200] + "..."
    return None, ErrorObject(
        message=f"the handler's answer is not a durable invocation output: {text}",
        type="Runtime.InvalidResponse",
    )
