"""Wire types of the durable execution API, and the one place they are converted.

The shapes follow botocore's ``lambda`` service model (``OperationUpdate``,
``Operation``, ``ErrorObject``). Inside the project they travel as frozen
dataclasses with flat, snake_case fields; ``*_to_wire`` builds the JSON-ready
dict that boto3 sends or the HTTP API returns, ``*_from_wire`` reads one back
(timestamps may arrive as ``datetime`` from boto3 or as epoch numbers from JSON).
Timestamps are epoch seconds (``float``) everywhere inside the project.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from trio_durable.records import quick_init

# Service limits (see DESIGN.md, "Behavioural facts").
MAX_OPERATION_PAYLOAD_BYTES = 256 * 1024
MAX_CHECKPOINT_UPDATES = 250
MAX_CHECKPOINT_BYTES = 750 * 1024
MAX_LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024
MAX_WAIT_SECONDS = 31_622_400
MAX_CALLBACK_TIMEOUT_SECONDS = 99_999_999
MAX_OPERATION_ID_LENGTH = 64
MAX_OPERATION_NAME_LENGTH = 256
MAX_SUB_TYPE_LENGTH = 32
MAX_ERROR_BYTES = 32 * 1024
"""Largest ``ErrorObject`` (as JSON) an update may carry."""
MAX_TRACE_HEADER_CHARS = 8192
"""Longest X-Ray trace header (``XAmznTraceId``) the service takes."""

WireDict = dict[str, Any]


class OperationType(StrEnum):
    EXECUTION = "EXECUTION"
    CONTEXT = "CONTEXT"
    STEP = "STEP"
    WAIT = "WAIT"
    CALLBACK = "CALLBACK"
    CHAINED_INVOKE = "CHAINED_INVOKE"


class OperationAction(StrEnum):
    START = "START"
    SUCCEED = "SUCCEED"
    FAIL = "FAIL"
    RETRY = "RETRY"
    CANCEL = "CANCEL"


class OperationStatus(StrEnum):
    STARTED = "STARTED"
    PENDING = "PENDING"
    READY = "READY"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_STATUSES


_TERMINAL_STATUSES = frozenset(
    {
        OperationStatus.SUCCEEDED,
        OperationStatus.FAILED,
        OperationStatus.CANCELLED,
        OperationStatus.TIMED_OUT,
        OperationStatus.STOPPED,
    }
)


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"


class InvocationStatus(StrEnum):
    """The ``Status`` a durable handler returns to Lambda."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PENDING = "PENDING"


@dataclass(frozen=True, slots=True)
class ErrorObject:
    """``ErrorObject``: what a failed operation or execution carries."""

    message: str | None = None
    type: str | None = None
    data: str | None = None
    stack_trace: tuple[str, ...] | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class OperationUpdate:
    """``OperationUpdate``: one change the SDK asks the service to record.

    The ``*Options`` structures of the wire shape are flattened into the fields
    after ``error``; only the ones that belong to ``type`` may be set.
    """

    id: str
    type: OperationType
    action: OperationAction
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    payload: str | None = None
    error: ErrorObject | None = None
    replay_children: bool | None = None  # ContextOptions.ReplayChildren
    next_attempt_delay_seconds: int | None = None  # StepOptions
    wait_seconds: int | None = None  # WaitOptions
    callback_timeout_seconds: int | None = None  # CallbackOptions.TimeoutSeconds
    callback_heartbeat_timeout_seconds: int | None = None  # CallbackOptions
    invoke_function_name: str | None = None  # ChainedInvokeOptions.FunctionName
    invoke_tenant_id: str | None = None  # ChainedInvokeOptions.TenantId
    invoke_trace_header: str | None = None  # ChainedInvokeOptions.XAmznTraceId


@quick_init
@dataclass(frozen=True, slots=True)
class Operation:
    """``Operation``: the service's record of one durable operation.

    The per-type ``*Details`` structures are flattened: ``result`` and ``error``
    come from whichever details structure ``type`` uses.
    """

    id: str
    type: OperationType
    status: OperationStatus
    start_timestamp: float
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    end_timestamp: float | None = None
    result: str | None = None
    error: ErrorObject | None = None
    input_payload: str | None = None  # ExecutionDetails.InputPayload
    replay_children: bool | None = None  # ContextDetails.ReplayChildren
    attempt: int | None = None  # StepDetails.Attempt
    next_attempt_timestamp: float | None = None  # StepDetails
    scheduled_end_timestamp: float | None = None  # WaitDetails
    callback_id: str | None = None  # CallbackDetails.CallbackId


@dataclass(frozen=True, slots=True)
class StatePage:
    """A page of operations: ``GetDurableExecutionState`` output, or the
    ``NewExecutionState`` of a checkpoint response."""

    operations: tuple[Operation, ...]
    next_marker: str | None = None


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    """``CheckpointDurableExecution`` output."""

    checkpoint_token: str
    new_state: StatePage


# --- timestamps -------------------------------------------------------------


def timestamp_from_wire(value: Any) -> float:
    """Epoch seconds from a boto3 ``datetime``, an epoch number or an ISO string."""
    if type(value) is float:  # what our own service sends: the common case first
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return float(value.timestamp())
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise TypeError(f"not a timestamp: {value!r}")


def _optional_timestamp(value: Any) -> float | None:
    return None if value is None else timestamp_from_wire(value)


# --- ErrorObject --------------------------------------------------------------


def trace_header_problem(header: object) -> str | None:
    """Why the service refuses ``header`` as an X-Ray trace header (a chained
    invoke's ``XAmznTraceId``, an Invoke's ``X-Amzn-Trace-Id``), or None. It must
    be text of at most ``MAX_TRACE_HEADER_CHARS`` printable ASCII characters: it
    travels on as an HTTP header and as Lambda's ``_X_AMZN_TRACE_ID`` variable."""
    if not isinstance(header, str) or len(header) > MAX_TRACE_HEADER_CHARS:
        return f"must be text of 0 to {MAX_TRACE_HEADER_CHARS} characters"
    if not (header.isascii() and header.isprintable()):
        return (
            "must be printable ASCII (an X-Ray trace header such as"
            " Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1)"
        )
    return None


def trace_header_to_wire(header: str) -> WireDict:
    """GetDurableExecution's ``TraceHeader``."""
    return {"XAmznTraceId": header}


def error_to_wire(error: ErrorObject) -> WireDict:
    out: WireDict = {}
    if error.message is not None:
        out["ErrorMessage"] = error.message
    if error.type is not None:
        out["ErrorType"] = error.type
    if error.data is not None:
        out["ErrorData"] = error.data
    if error.stack_trace is not None:
        out["StackTrace"] = list(error.stack_trace)
    return out


def error_size(error: ErrorObject) -> int:
    """Bytes of ``error`` as JSON: what ``MAX_ERROR_BYTES`` counts."""
    return len(orjson.dumps(error_to_wire(error)))


_KEPT_STACK_BYTES = 8 * 1024
_KEPT_DATA_BYTES = 16 * 1024


def fit_error(error: ErrorObject, limit: int = MAX_ERROR_BYTES) -> ErrorObject:
    """``error`` cut down to at most ``limit`` bytes of JSON, saying what was cut.

    An exception's message, data or traceback may be any size, but the service
    refuses a larger error object, and with it the whole checkpoint. The
    traceback keeps its last (innermost) lines, data too large to keep whole is
    dropped (cut JSON would not parse), and the message is cut last.
    """
    if error_size(error) <= limit:
        return error
    stack = error.stack_trace
    if stack:
        kept: list[str] = []
        used = 0
        for line in reversed(stack):
            used += len(orjson.dumps(line)) + 1
            if used > _KEPT_STACK_BYTES:
                break
            kept.append(line)
        if len(kept) < len(stack):
            kept.append(f"... {len(stack) - len(kept)} earlier lines cut")
            stack = tuple(reversed(kept))
    notes = ""
    data = error.data
    if data is not None and len(orjson.dumps(data)) > _KEPT_DATA_BYTES:
        notes = f" [ErrorData of {len(data.encode())} bytes dropped: over {limit} bytes]"
        data = None
    message = error.message or ""
    fitted = replace(error, stack_trace=stack, data=data, message=message + notes)
    if error_size(fitted) <= limit:
        return fitted
    # The longest prefix of the message that fits, found by bisection (escapes
    # and UTF-8 make the bytes per character vary).
    low, high = 0, len(message)
    while low < high:
        middle = (low + high + 1) // 2
        trial = replace(fitted, message=_cut(message, middle, notes))
        if error_size(trial) <= limit:
            low = middle
        else:
            high = middle - 1
    return replace(fitted, message=_cut(message, low, notes))


def _cut(message: str, keep: int, notes: str) -> str:
    return f"{message[:keep]} ... [message cut: {keep} of {len(message)} characters kept]{notes}"


def error_from_wire(data: Mapping[str, Any] | None) -> ErrorObject | None:
    if data is None:
        return None
    trace = data.get("StackTrace")
    return ErrorObject(
        message=data.get("ErrorMessage"),
        type=data.get("ErrorType"),
        data=data.get("ErrorData"),
        stack_trace=None if trace is None else tuple(str(line) for line in trace),
    )


# --- OperationUpdate ----------------------------------------------------------


def update_to_wire(update: OperationUpdate) -> WireDict:
    out: WireDict = {"Id": update.id, "Type": update.type.value, "Action": update.action.value}
    if update.parent_id is not None:
        out["ParentId"] = update.parent_id
    if update.name is not None:
        out["Name"] = update.name
    if update.sub_type is not None:
        out["SubType"] = update.sub_type
    if update.payload is not None:
        out["Payload"] = update.payload
    if update.error is not None:
        out["Error"] = error_to_wire(update.error)
    if update.replay_children is not None:
        out["ContextOptions"] = {"ReplayChildren": update.replay_children}
    if update.next_attempt_delay_seconds is not None:
        out["StepOptions"] = {"NextAttemptDelaySeconds": update.next_attempt_delay_seconds}
    if update.wait_seconds is not None:
        out["WaitOptions"] = {"WaitSeconds": update.wait_seconds}
    callback: WireDict = {}
    if update.callback_timeout_seconds is not None:
        callback["TimeoutSeconds"] = update.callback_timeout_seconds
    if update.callback_heartbeat_timeout_seconds is not None:
        callback["HeartbeatTimeoutSeconds"] = update.callback_heartbeat_timeout_seconds
    if callback:
        out["CallbackOptions"] = callback
    if update.invoke_function_name is not None:
        invoke: WireDict = {"FunctionName": update.invoke_function_name}
        if update.invoke_tenant_id is not None:
            invoke["TenantId"] = update.invoke_tenant_id
        if update.invoke_trace_header is not None:
            invoke["XAmznTraceId"] = update.invoke_trace_header
        out["ChainedInvokeOptions"] = invoke
    return out


def update_from_wire(data: Mapping[str, Any]) -> OperationUpdate:
    """Read one ``OperationUpdate``; raises ``KeyError``/``ValueError`` on a bad shape.

    Callers that face untrusted input (the local service) turn those into
    ``InvalidParameterValueException`` naming the field.
    """
    context = data.get("ContextOptions") or {}
    step = data.get("StepOptions") or {}
    wait = data.get("WaitOptions") or {}
    callback = data.get("CallbackOptions") or {}
    invoke = data.get("ChainedInvokeOptions") or {}
    return OperationUpdate(
        id=data["Id"],
        type=OperationType(data["Type"]),
        action=OperationAction(data["Action"]),
        parent_id=data.get("ParentId"),
        name=data.get("Name"),
        sub_type=data.get("SubType"),
        payload=data.get("Payload"),
        error=error_from_wire(data.get("Error")),
        replay_children=context.get("ReplayChildren"),
        next_attempt_delay_seconds=step.get("NextAttemptDelaySeconds"),
        wait_seconds=wait.get("WaitSeconds"),
        callback_timeout_seconds=callback.get("TimeoutSeconds"),
        callback_heartbeat_timeout_seconds=callback.get("HeartbeatTimeoutSeconds"),
        invoke_function_name=invoke.get("FunctionName"),
        invoke_tenant_id=invoke.get("TenantId"),
        invoke_trace_header=invoke.get("XAmznTraceId"),
    )


# --- Operation ----------------------------------------------------------------

DETAILS_KEYS: Mapping[OperationType, str] = {
    OperationType.EXECUTION: "ExecutionDetails",
    OperationType.CONTEXT: "ContextDetails",
    OperationType.STEP: "StepDetails",
    OperationType.WAIT: "WaitDetails",
    OperationType.CALLBACK: "CallbackDetails",
    OperationType.CHAINED_INVOKE: "ChainedInvokeDetails",
}
"""The key of each operation type's details in a wire record."""

_NO_DETAILS: Mapping[str, Any] = {}


def operation_to_wire(op: Operation) -> WireDict:
    """JSON-ready ``Operation`` (timestamps as epoch seconds)."""
    out: WireDict = {
        "Id": op.id,
        "Type": op.type.value,
        "StartTimestamp": op.start_timestamp,
        "Status": op.status.value,
    }
    if op.parent_id is not None:
        out["ParentId"] = op.parent_id
    if op.name is not None:
        out["Name"] = op.name
    if op.sub_type is not None:
        out["SubType"] = op.sub_type
    if op.end_timestamp is not None:
        out["EndTimestamp"] = op.end_timestamp
    details: WireDict = {}
    if op.type is OperationType.EXECUTION:
        if op.input_payload is not None:
            details["InputPayload"] = op.input_payload
    elif op.type is OperationType.WAIT:
        if op.scheduled_end_timestamp is not None:
            details["ScheduledEndTimestamp"] = op.scheduled_end_timestamp
    else:
        if op.type is OperationType.CONTEXT and op.replay_children is not None:
            details["ReplayChildren"] = op.replay_children
        if op.type is OperationType.STEP:
            if op.attempt is not None:
                details["Attempt"] = op.attempt
            if op.next_attempt_timestamp is not None:
                details["NextAttemptTimestamp"] = op.next_attempt_timestamp
        if op.type is OperationType.CALLBACK and op.callback_id is not None:
            details["CallbackId"] = op.callback_id
        if op.result is not None:
            details["Result"] = op.result
        if op.error is not None:
            details["Error"] = error_to_wire(op.error)
    out[DETAILS_KEYS[op.type]] = details
    return out


# Enum members by value: a dict lookup instead of ``OperationType(value)``, which
# goes through the enum machinery (a replay parses every recorded operation).
_OPERATION_TYPES = {member.value: member for member in OperationType}
_OPERATION_STATUSES = {member.value: member for member in OperationStatus}


def operation_from_wire(data: Mapping[str, Any]) -> Operation:
    kind, status = data["Type"], data["Status"]
    op_type = _OPERATION_TYPES.get(kind) or OperationType(kind)  # unknown: ValueError
    details: Mapping[str, Any] = data.get(DETAILS_KEYS[op_type]) or _NO_DETAILS
    end, error = data.get("EndTimestamp"), details.get("Error")
    next_attempt = details.get("NextAttemptTimestamp")
    scheduled_end = details.get("ScheduledEndTimestamp")
    # Positional, in the field order of Operation: a replay parses every recorded
    # operation, and keyword matching is a sixth of the cost of building one.
    return Operation(
        data["Id"],
        op_type,
        _OPERATION_STATUSES.get(status) or OperationStatus(status),
        timestamp_from_wire(data["StartTimestamp"]),
        data.get("ParentId"),
        data.get("Name"),
        data.get("SubType"),
        None if end is None else timestamp_from_wire(end),
        details.get("Result"),
        None if error is None else error_from_wire(error),
        details.get("InputPayload"),
        details.get("ReplayChildren"),
        details.get("Attempt"),
        None if next_attempt is None else timestamp_from_wire(next_attempt),
        None if scheduled_end is None else timestamp_from_wire(scheduled_end),
        details.get("CallbackId"),
    )


@dataclass(frozen=True, slots=True)
class RecordedPage:
    """An invocation's first state page, as ``recorded_operations`` reads it.

    ``operations``: by id, in page order, each record parsed or left as its
    wire dict to be read on first use (only when parsing it cannot fail; a
    replayed success is answered from the dict itself: ``ExecutionState.succeeded``).
    ``execution_id``: the id of the EXECUTION operation, if the page has one.
    """

    operations: dict[str, Operation | WireDict]
    execution_id: str | None


def recorded_operations(records: Sequence[Mapping[str, Any]]) -> RecordedPage:
    """The records of an invocation's first state page (``RecordedPage``).

    A record is deferred when ``operation_from_wire`` cannot fail on it: a dict,
    its id a str, its type known (and not EXECUTION, which is read at once), its
    status known, its timestamps floats (what a JSON event carries), its
    details absent or a dict without the fields that parse would read (an
    error, timestamps). Anything else is parsed here, so a malformed record is
    still refused before the workflow runs. One pass checks each record and
    keeps it as it is: building the 16-field ``Operation`` of each was over
    half of a replayed step's cost, and building a key of the fields a replay
    compares was a third of this pass's.
    """
    operations: dict[str, Operation | WireDict] = {}
    execution_id = None
    statuses, details_keys = _OPERATION_STATUSES, _DEFERRABLE_DETAILS
    # The commonest record, a succeeded step, is told by comparing its type and
    # status first: a record's strings are new, and hashing them for the
    # lookups was a tenth of this pass's cost.
    step, step_details, succeeded = _STEP_WIRE, DETAILS_KEYS[OperationType.STEP], _SUCCEEDED_WIRE
    for record in records:
        if type(record) is dict:
            # The four keys every record has, read by subscript (a fifth of this
            # pass's cost against dict.get); a missing one, an unknown or
            # EXECUTION type: the record is parsed below, which names the problem.
            try:
                kind, op_id, status = record["Type"], record["Id"], record["Status"]
                start = record["StartTimestamp"]
                details_key = step_details if kind == step else details_keys[kind]
            except (KeyError, TypeError):
                pass
            else:
                end = record.get("EndTimestamp")
                details = record.get(details_key)
                if (
                    type(op_id) is str
                    and (status == succeeded or status in statuses)
                    and type(start) is float
                    and (end is None or type(end) is float)
                    and (
                        details is None
                        or (
                            # Three tests of a key, not a set operation: a third
                            # of the cost (isdisjoint or issuperset is a call).
                            type(details) is dict
                            and "Error" not in details
                            and "NextAttemptTimestamp" not in details
                            and "ScheduledEndTimestamp" not in details
                        )
                    )
                ):
                    operations[op_id] = record
                    continue
        if not isinstance(record, Mapping):
            raise TypeError(f"an operation must be a mapping, got {type(record).__name__}")
        op = operation_from_wire(record)
        operations[op.id] = op
        if op.type is _EXECUTION:
            execution_id = op.id
    return RecordedPage(operations, execution_id)


_EXECUTION = OperationType.EXECUTION  # an enum member read through the class costs 0.1 us
_STEP_WIRE = OperationType.STEP.value
_SUCCEEDED_WIRE = OperationStatus.SUCCEEDED.value

# The types a record may be deferred for, by wire name: their details' key.
_DEFERRABLE_DETAILS = {
    kind.value: key for kind, key in DETAILS_KEYS.items() if kind is not _EXECUTION
}


def state_page_to_wire(page: StatePage) -> WireDict:
    out: WireDict = {"Operations": [operation_to_wire(op) for op in page.operations]}
    if page.next_marker is not None:
        out["NextMarker"] = page.next_marker
    return out


def state_page_from_wire(data: Mapping[str, Any]) -> StatePage:
    ops: Sequence[Mapping[str, Any]] = data.get("Operations") or ()
    return StatePage(
        operations=tuple(operation_from_wire(op) for op in ops),
        next_marker=data.get("NextMarker") or None,
    )


def checkpoint_result_to_wire(result: CheckpointResult) -> WireDict:
    return {
        "CheckpointToken": result.checkpoint_token,
        "NewExecutionState": state_page_to_wire(result.new_state),
    }


def checkpoint_result_from_wire(data: Mapping[str, Any]) -> CheckpointResult:
    return CheckpointResult(
        checkpoint_token=data["CheckpointToken"],
        new_state=state_page_from_wire(data.get("NewExecutionState") or {}),
    )
