"""WAIT: START with WaitSeconds -> STARTED with a timer, SUCCEEDED when it fires;
CANCEL ends it early."""

from __future__ import annotations

from trio_durable.errors import invalid_parameter
from trio_durable.local import history
from trio_durable.local.engine.staging import Stage, TimerKind, new_record
from trio_durable.local.store import OperationRecord
from trio_durable.records import replace
from trio_durable.wire import OperationAction, OperationStatus, OperationUpdate


def apply(
    st: Stage, where: str, u: OperationUpdate, existing: OperationRecord | None, now: float
) -> None:
    """Apply one WAIT update: START or CANCEL."""
    if u.action is OperationAction.START:
        if existing is not None:
            raise invalid_parameter(f"{where}.Id: WAIT {u.id!r} already exists")
        if u.wait_seconds is None:
            raise invalid_parameter(f"{where}.WaitOptions.WaitSeconds: required for START")
        due = now + u.wait_seconds
        record = new_record(st, u, now, scheduled_end_timestamp=due)
        details = {"Duration": u.wait_seconds, "ScheduledEndTimestamp": due}
        st.transition(record, record.operation, "WaitStarted", now, details)
        st.timers.append((due, TimerKind.WAIT, u.id))
        return
    if existing is None or existing.operation.status is not OperationStatus.STARTED:
        state = "does not exist" if existing is None else existing.operation.status.value
        raise invalid_parameter(f"{where}.Action: cannot CANCEL WAIT {u.id!r}: it {state}")
    op = replace(existing.operation, status=OperationStatus.CANCELLED, end_timestamp=now)
    st.transition(existing, op, "WaitCancelled", now, {"Error": history.error(u.error)})


def fire(st: Stage, record: OperationRecord, now: float) -> None:
    """The wait's scheduled end came: it SUCCEEDED."""
    op = replace(record.operation, status=OperationStatus.SUCCEEDED, end_timestamp=now)
    start = record.operation.start_timestamp
    due = record.operation.scheduled_end_timestamp or now
    st.transition(record, op, "WaitSucceeded", now, {"Duration": round(due - start)})
