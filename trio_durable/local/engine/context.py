"""CONTEXT: START, then SUCCEED or FAIL (a completion may come without a START),
with ReplayChildren kept from either."""

from __future__ import annotations

from trio_durable.errors import invalid_parameter
from trio_durable.local import history
from trio_durable.local.engine.staging import Stage, ended_record, new_record, stage_ended
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
    else:
        op = replace(
            record.operation,
            status=OperationStatus.FAILED,
            end_timestamp=now,
            error=u.error,
            replay_children=replay,
        )
    kind, details = _ended(u)
    st.transition(record, op, kind, now, details)


def start_and_end(
    st: Stage, where: str, start: OperationUpdate, u: OperationUpdate, now: float
) -> None:
    """A new CONTEXT's START and then ``u``, its SUCCEED or FAIL, in one call: the
    record, events and errors of ``apply`` of each in turn, without building the
    STARTED record in between (a child context with nothing to wait for ends so)."""
    record = ended_record(
        st,
        start,
        u,
        now,
        replay_children=(
            u.replay_children if u.replay_children is not None else start.replay_children
        ),
    )
    kind, details = _ended(u)
    stage_ended(st, where, record, u, now, ("ContextStarted", kind), details)


def _ended(u: OperationUpdate) -> tuple[str, history.Details]:
    """The event of a SUCCEED or FAIL: its type and details."""
    if u.action is _SUCCEED:
        return "ContextSucceeded", {"Result": history.payload(u.payload)}
    return "ContextFailed", {"Error": history.error(u.error)}


_SUCCEED = OperationAction.SUCCEED  # read once: through the class it costs 0.1 us
