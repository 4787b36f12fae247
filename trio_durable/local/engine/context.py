"""CONTEXT: START, then SUCCEED or FAIL (a completion may come without a START),
with ReplayChildren kept from either."""

from __future__ import annotations

from trio_durable.errors import invalid_parameter
from trio_durable.local import history
from trio_durable.local.engine.staging import Stage, new_record
from trio_durable.local.store import OperationRecord
from trio_durable.records import replace
from trio_durable.wire import OperationAction, OperationStatus, OperationUpdate


def apply(
    st: Stage, where: str, u: OperationUpdate, existing: OperationRecord | None, now: float
) -> None:
    """Apply one CONTEXT update: START, SUCCEED or FAIL."""
    if u.action is OperationAction.START:
        if existing is not None:
            raise invalid_parameter(f"{where}.Id: CONTEXT {u.id!r} already exists")
        record = new_record(st, u, now, replay_children=u.replay_children)
        st.transition(record, record.operation, "ContextStarted", now)
        return
    if existing is None:
        record = new_record(st, u, now)
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
        st.transition(record, op, "ContextSucceeded", now, {"Result": history.payload(u.payload)})
    else:
        op = replace(
            record.operation,
            status=OperationStatus.FAILED,
            end_timestamp=now,
            error=u.error,
            replay_children=replay,
        )
        st.transition(record, op, "ContextFailed", now, {"Error": history.error(u.error)})
