"""Validation of the engine's inputs: every check names the field it refuses.

Field-level checks of ``OperationUpdate`` (types, lengths, sizes, which options
belong to which type and action), identity checks against a recorded
operation, and the small argument checks of the other calls. Each raises
``InvalidParameterValueException`` with a message that starts with the field.
"""

from __future__ import annotations

from dataclasses import replace

from trio_durable.errors import invalid_parameter
from trio_durable.wire import (
    MAX_CALLBACK_TIMEOUT_SECONDS,
    MAX_ERROR_BYTES,
    MAX_LAMBDA_RESPONSE_BYTES,
    MAX_OPERATION_ID_LENGTH,
    MAX_OPERATION_NAME_LENGTH,
    MAX_OPERATION_PAYLOAD_BYTES,
    MAX_SUB_TYPE_LENGTH,
    MAX_WAIT_SECONDS,
    ErrorObject,
    Operation,
    OperationAction,
    OperationType,
    OperationUpdate,
    error_size,
    trace_header_problem,
)

MAX_PAGE_ITEMS = 1000
"""Largest ``MaxItems`` of any paged call (the model's ``ItemCount``)."""
MAX_EXECUTION_TIMEOUT_SECONDS = 31_622_400
MAX_REASON_LENGTH = 1024
"""Longest ``Reason`` of a pause or resume request (the model's ``PauseReason``)."""

ACTIONS: dict[OperationType, frozenset[OperationAction]] = {
    OperationType.EXECUTION: frozenset({OperationAction.SUCCEED, OperationAction.FAIL}),
    OperationType.STEP: frozenset(
        {
            OperationAction.START,
            OperationAction.SUCCEED,
            OperationAction.FAIL,
            OperationAction.RETRY,
        }
    ),
    OperationType.WAIT: frozenset({OperationAction.START, OperationAction.CANCEL}),
    OperationType.CALLBACK: frozenset({OperationAction.START}),
    OperationType.CONTEXT: frozenset(
        {OperationAction.START, OperationAction.SUCCEED, OperationAction.FAIL}
    ),
    OperationType.CHAINED_INVOKE: frozenset({OperationAction.START}),
}


# Enum members read through their class cost about 0.1 us each; these are read
# for every update.
_EXECUTION = OperationType.EXECUTION
_START = OperationAction.START
_SUCCEED = OperationAction.SUCCEED
_FAIL = OperationAction.FAIL
_CANCEL = OperationAction.CANCEL


def payload_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (ASCII text, the usual JSON, is not encoded)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def coerce_update(index: int, u: OperationUpdate) -> OperationUpdate:
    """Make sure the enum fields are enums (an update built by hand may hold text)."""
    if type(u.type) is OperationType and type(u.action) is OperationAction:
        return u
    try:
        op_type = OperationType(u.type)
    except ValueError:
        raise invalid_parameter(f"Updates[{index}].Type: unknown type {u.type!r}") from None
    try:
        op_action = OperationAction(u.action)
    except ValueError:
        raise invalid_parameter(f"Updates[{index}].Action: unknown action {u.action!r}") from None
    if op_type is u.type and op_action is u.action:
        return u
    return replace(u, type=op_type, action=op_action)


def check_text(where: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise invalid_parameter(f"{where}: must be text of {low} to {high} characters")


def _text_length(where: str, label: str, value: str, high: int) -> int:
    """The length of a text field of an update (1 to ``high`` characters; an
    update built by hand may hold anything); its name is formatted only to
    refuse it."""
    if not isinstance(value, str) or not 1 <= len(value) <= high:
        check_text(f"{where}.{label}", value, 1, high)
    return len(value)


def check_int(where: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid_parameter(f"{where}: must be an integer from {low} to {high}")


def check_trace_header(where: str, value: object) -> None:
    """An X-Ray trace header (``wire.trace_header_problem``)."""
    problem = trace_header_problem(value)
    if problem is not None:
        raise invalid_parameter(f"{where}: {problem}")


def check_error(where: str, error: ErrorObject) -> int:
    """Refuses what is not an error object within its limit; returns its size."""
    if not isinstance(error, ErrorObject):
        raise invalid_parameter(f"{where}: must be an ErrorObject")
    size = error_size(error)
    if size > MAX_ERROR_BYTES:
        raise invalid_parameter(f"{where}: the error object exceeds {MAX_ERROR_BYTES} bytes")
    return size


def check_update_fields(where: str, u: OperationUpdate) -> int:
    """Field-level checks of one update (types, lengths, sizes, option placement).

    Returns the bytes it adds to the per-call limit: its id, parent id, name,
    subtype, payload and error (an EXECUTION result, which may be larger than
    any other payload, is exempt)."""
    size = _text_length(where, "Id", u.id, MAX_OPERATION_ID_LENGTH)
    if u.parent_id is not None:
        size += _text_length(where, "ParentId", u.parent_id, MAX_OPERATION_ID_LENGTH)
    if u.name is not None:
        size += _text_length(where, "Name", u.name, MAX_OPERATION_NAME_LENGTH)
    if u.sub_type is not None:
        size += _text_length(where, "SubType", u.sub_type, MAX_SUB_TYPE_LENGTH)
    if u.action not in ACTIONS[u.type]:
        raise invalid_parameter(
            f"{where}.Action: {u.action.value} is not an action of {u.type.value} operations"
        )
    payload = u.payload
    if payload is not None:
        if not isinstance(payload, str):
            raise invalid_parameter(f"{where}.Payload: must be text")
        length = payload_size(payload)
        if u.type is _EXECUTION:
            limit = MAX_LAMBDA_RESPONSE_BYTES
        else:
            limit = MAX_OPERATION_PAYLOAD_BYTES
            size += length
        if length > limit:
            raise invalid_parameter(f"{where}.Payload: exceeds {limit} bytes")
        if u.action is _FAIL or u.action is _CANCEL:
            raise invalid_parameter(f"{where}.Payload: not allowed for {u.action.value}")
    if u.error is not None:
        size += check_error(f"{where}.Error", u.error)
        if u.action is _SUCCEED or u.action is _START:
            raise invalid_parameter(f"{where}.Error: not allowed for {u.action.value}")
    if _has_options(u):
        _check_options(where, u)
    return size


def _has_options(u: OperationUpdate) -> bool:
    return not (
        u.replay_children is None
        and u.next_attempt_delay_seconds is None
        and u.wait_seconds is None
        and u.callback_timeout_seconds is None
        and u.callback_heartbeat_timeout_seconds is None
        and u.invoke_function_name is None
        and u.invoke_tenant_id is None
        and u.invoke_trace_header is None
    )


def _check_options(where: str, u: OperationUpdate) -> None:
    """The ``*Options`` of an update that has some: on their own type only."""
    options = (
        ("ContextOptions", u.replay_children is not None, OperationType.CONTEXT),
        ("StepOptions", u.next_attempt_delay_seconds is not None, OperationType.STEP),
        ("WaitOptions", u.wait_seconds is not None, OperationType.WAIT),
        (
            "CallbackOptions",
            u.callback_timeout_seconds is not None
            or u.callback_heartbeat_timeout_seconds is not None,
            OperationType.CALLBACK,
        ),
        (
            "ChainedInvokeOptions",
            u.invoke_function_name is not None
            or u.invoke_tenant_id is not None
            or u.invoke_trace_header is not None,
            OperationType.CHAINED_INVOKE,
        ),
    )
    for label, present, op_type in options:
        if present and u.type is not op_type:
            raise invalid_parameter(
                f"{where}.{label}: only allowed on {op_type.value} updates, not {u.type.value}"
            )
    if u.next_attempt_delay_seconds is not None:
        if u.action is not OperationAction.RETRY:
            raise invalid_parameter(f"{where}.StepOptions: only allowed with RETRY")
        check_int(
            f"{where}.StepOptions.NextAttemptDelaySeconds",
            u.next_attempt_delay_seconds,
            1,
            MAX_WAIT_SECONDS,
        )
    if u.wait_seconds is not None:
        check_int(f"{where}.WaitOptions.WaitSeconds", u.wait_seconds, 1, MAX_WAIT_SECONDS)
    if u.callback_timeout_seconds is not None:
        check_int(
            f"{where}.CallbackOptions.TimeoutSeconds",
            u.callback_timeout_seconds,
            0,
            MAX_CALLBACK_TIMEOUT_SECONDS,
        )
    if u.callback_heartbeat_timeout_seconds is not None:
        check_int(
            f"{where}.CallbackOptions.HeartbeatTimeoutSeconds",
            u.callback_heartbeat_timeout_seconds,
            0,
            MAX_CALLBACK_TIMEOUT_SECONDS,
        )
    if u.invoke_function_name is not None:
        check_text(f"{where}.ChainedInvokeOptions.FunctionName", u.invoke_function_name, 1, 256)
    if u.invoke_tenant_id is not None:
        check_text(f"{where}.ChainedInvokeOptions.TenantId", u.invoke_tenant_id, 1, 256)
    if u.invoke_trace_header is not None:
        check_trace_header(f"{where}.ChainedInvokeOptions.XAmznTraceId", u.invoke_trace_header)


def check_same_identity(where: str, u: OperationUpdate, op: Operation) -> None:
    """``u`` names ``op``'s type, and its subtype, name and parent if it gives them."""
    if u.type is not op.type:
        raise invalid_parameter(
            f"{where}.Type: operation {u.id!r} is a {op.type.value}, not a {u.type.value}"
        )
    if (
        (u.sub_type is None or u.sub_type == op.sub_type)
        and (u.name is None or u.name == op.name)
        and (u.parent_id is None or u.parent_id == op.parent_id)
    ):
        return
    for label, given, recorded in (
        ("SubType", u.sub_type, op.sub_type),
        ("Name", u.name, op.name),
        ("ParentId", u.parent_id, op.parent_id),
    ):
        if given is not None and given != recorded:
            raise invalid_parameter(
                f"{where}.{label}: operation {u.id!r} was recorded with {label}"
                f" {recorded!r}, not {given!r}"
            )


def check_client_token(token: str) -> None:
    if (
        not isinstance(token, str)
        or not 1 <= len(token) <= 64
        or any(not 0x21 <= ord(c) <= 0x7E for c in token)
    ):
        raise invalid_parameter("ClientToken: must be 1-64 printable ASCII characters")


def check_reason(reason: str | None) -> None:
    if reason is not None:
        check_text("Reason", reason, 0, MAX_REASON_LENGTH)


def check_timeout(seconds: int) -> int:
    check_int("ExecutionTimeout", seconds, 1, MAX_EXECUTION_TIMEOUT_SECONDS)
    return seconds


def page_limit(max_items: int | None, default: int) -> int:
    if max_items is None or max_items == 0:
        return default
    check_int("MaxItems", max_items, 0, MAX_PAGE_ITEMS)
    return max_items


def offset_marker(marker: str | None, length: int) -> int:
    if marker is None or marker == "":
        return 0
    if not marker.isdigit() or int(marker) > length:
        raise invalid_parameter(f"Marker: {marker!r} is not a marker of this listing")
    return int(marker)
