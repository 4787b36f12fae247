"""The updates of one CheckpointDurableExecution call: each validated, then
handed to the state machine of its operation type, in order, all or none (the
caller commits only when every update applied). EXECUTION updates (SUCCEED or
FAIL of the execution itself) are handled here."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from trio_durable.errors import invalid_parameter
from trio_durable.local.engine import callback, chained_invoke, context, step, wait
from trio_durable.local.engine.staging import Stage
from trio_durable.local.store import OperationRecord
from trio_durable.local.validation import (
    check_same_identity,
    check_update_fields,
    coerce_update,
)
from trio_durable.records import replace
from trio_durable.wire import (
    MAX_CHECKPOINT_BYTES,
    MAX_CHECKPOINT_UPDATES,
    ErrorObject,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)


def apply_updates(
    st: Stage,
    updates: Sequence[OperationUpdate],
    now: float,
    start_child: chained_invoke.StartChild,
) -> None:
    """Validate and stage ``updates`` in order; raises on the first bad one.

    The START of a new STEP or CONTEXT is held until the next update: when that
    is its SUCCEED or FAIL (an async step's two updates, a child context that
    had nothing to wait for), the two are staged as one record
    (``start_and_end``); otherwise the START is staged before it. Either way
    the records, events and errors are those of each update applied in turn."""
    if len(updates) > MAX_CHECKPOINT_UPDATES:
        raise invalid_parameter(
            f"Updates: {len(updates)} updates exceed the limit of {MAX_CHECKPOINT_UPDATES}"
        )
    total = 0
    last = len(updates) - 1
    last_action: dict[str, OperationAction] = {}
    held: tuple[str, OperationUpdate, StartAndEnd] | None = None
    for index, update in enumerate(updates):
        if type(update.type) is not OperationType or type(update.action) is not OperationAction:
            update = coerce_update(index, update)
        where = f"Updates[{index}]"
        total += check_update_fields(where, update)
        if total > MAX_CHECKPOINT_BYTES:
            raise invalid_parameter(
                f"Updates: the call carries more than {MAX_CHECKPOINT_BYTES} bytes"
                f" (at Updates[{index}])"
            )
        if update.id in last_action:
            _check_duplicate(index, update, last_action[update.id])
        last_action[update.id] = update.action
        if update.type is _EXECUTION and index != last:
            raise invalid_parameter(
                f"{where}: an EXECUTION update must be the last update of the call"
            )
        if held is not None:
            start = held[1]
            if (
                update.id == start.id
                and update.type is start.type
                and (update.action is _SUCCEED or update.action is _FAIL)
            ):
                held[2](st, where, start, update, now)
                held = None
                continue
            _apply(st, held[0], start, None, now, start_child)
            held = None
        if update.type is _EXECUTION:
            _apply_execution(st, where, update, st.op(update.id), now)
            continue
        existing = _existing(st, where, update)
        start_and_end = (
            START_AND_END.get(update.type) if existing is None and update.action is _START else None
        )
        if start_and_end is not None:
            held = (where, update, start_and_end)
        else:
            _apply(st, where, update, existing, now, start_child)
    if held is not None:
        _apply(st, held[0], held[1], None, now, start_child)


StartAndEnd = Callable[[Stage, str, OperationUpdate, OperationUpdate, float], None]

# The types whose START and completion in one call are staged as one record.
START_AND_END: dict[OperationType, StartAndEnd] = {
    OperationType.STEP: step.start_and_end,
    OperationType.CONTEXT: context.start_and_end,
}

# Enum members read through their class cost about 0.1 us each; these are read
# for every update.
_EXECUTION = OperationType.EXECUTION
_STEP = OperationType.STEP
_CONTEXT = OperationType.CONTEXT
_START = OperationAction.START
_SUCCEED = OperationAction.SUCCEED
_FAIL = OperationAction.FAIL


def _check_duplicate(index: int, update: OperationUpdate, previous: OperationAction) -> None:
    """An operation updated again in the same call: only a STEP or CONTEXT START
    may be followed by its completion."""
    if not (
        (update.type is _STEP or update.type is _CONTEXT)
        and previous is _START
        and update.action is not _START
    ):
        raise invalid_parameter(
            f"Updates[{index}].Id: operation {update.id!r} is updated twice in one call"
            " (only a STEP or CONTEXT START may be followed by its completion)"
        )


def _existing(st: Stage, where: str, u: OperationUpdate) -> OperationRecord | None:
    """The operation ``u`` updates, if recorded (the same identity), or else the
    check of the parent it names."""
    existing = st.op(u.id)
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
    return existing


def _apply(
    st: Stage,
    where: str,
    u: OperationUpdate,
    existing: OperationRecord | None,
    now: float,
    start_child: chained_invoke.StartChild,
) -> None:
    """Hand ``u`` (checked against ``existing``) to its type's state machine."""
    if u.type is OperationType.STEP:
        step.apply(st, where, u, existing, now)
    elif u.type is OperationType.WAIT:
        wait.apply(st, where, u, existing, now)
    elif u.type is OperationType.CALLBACK:
        callback.apply(st, where, u, existing, now)
    elif u.type is OperationType.CONTEXT:
        context.apply(st, where, u, existing, now)
    else:
        chained_invoke.apply(st, where, u, existing, now, start_child)


def _apply_execution(
    st: Stage, where: str, u: OperationUpdate, existing: OperationRecord | None, now: float
) -> None:
    if existing is None or existing.seq != 0:
        raise invalid_parameter(f"{where}.Id: {u.id!r} is not this execution's EXECUTION id")
    if existing.operation.status.is_terminal:
        raise invalid_parameter(
            f"{where}.Action: the EXECUTION operation is already {existing.operation.status.value}"
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
