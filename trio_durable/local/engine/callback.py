"""CALLBACK: START allocates the CallbackId and arms the timeout and heartbeat
timers; completed once from outside (success, failure), or TIMED_OUT by a timer.
A heartbeat re-arms the heartbeat timer."""

from __future__ import annotations

from typing import Any

from trio_durable.errors import ServiceError, invalid_parameter, not_found
from trio_durable.local import arns, history
from trio_durable.local.engine.staging import Execution, Stage, TimerKind, new_record
from trio_durable.local.store import OperationRecord
from trio_durable.records import replace
from trio_durable.wire import ErrorObject, ExecutionStatus, OperationStatus, OperationUpdate


def apply(
    st: Stage, where: str, u: OperationUpdate, existing: OperationRecord | None, now: float
) -> None:
    """Apply a CALLBACK START (the only action a handler sends for a callback)."""
    if existing is not None:
        raise invalid_parameter(f"{where}.Id: CALLBACK {u.id!r} already exists")
    timeout = u.callback_timeout_seconds or 0
    heartbeat = u.callback_heartbeat_timeout_seconds or 0
    callback_id = arns.new_callback_id()
    record = new_record(st, u, now, callback_id=callback_id)
    record = replace(
        record,
        callback_timeout_seconds=timeout or None,
        callback_heartbeat_timeout_seconds=heartbeat or None,
        timeout_deadline=now + timeout if timeout else None,
        heartbeat_deadline=now + heartbeat if heartbeat else None,
    )
    details: dict[str, Any] = {"CallbackId": callback_id}
    if timeout:
        details["Timeout"] = timeout
        st.timers.append((now + timeout, TimerKind.CALLBACK_TIMEOUT, u.id))
    if heartbeat:
        details["HeartbeatTimeout"] = heartbeat
        st.timers.append((now + heartbeat, TimerKind.CALLBACK_HEARTBEAT, u.id))
    st.transition(record, record.operation, "CallbackStarted", now, details)


def check_open(callback_id: str, ex: Execution, record: OperationRecord) -> None:
    """Refuse a completion or heartbeat of a callback that is no longer open."""
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


def complete(
    st: Stage,
    record: OperationRecord,
    status: OperationStatus,
    result: str | None,
    error: ErrorObject | None,
    now: float,
) -> None:
    """SendDurableExecutionCallbackSuccess or ...Failure arrived."""
    op = replace(record.operation, status=status, end_timestamp=now, result=result, error=error)
    if status is OperationStatus.SUCCEEDED:
        st.transition(record, op, "CallbackSucceeded", now, {"Result": history.payload(result)})
    else:
        st.transition(record, op, "CallbackFailed", now, {"Error": history.error(error)})


def heartbeat(st: Stage, record: OperationRecord, now: float) -> None:
    """Re-arm the heartbeat timeout (only called when the callback has one)."""
    seconds = record.callback_heartbeat_timeout_seconds or 0
    deadline = now + seconds
    st.put(replace(record, heartbeat_deadline=deadline))
    st.timers.append((deadline, TimerKind.CALLBACK_HEARTBEAT, record.operation.id))


def fire_timeout(st: Stage, kind: TimerKind, record: OperationRecord, now: float) -> None:
    """The callback's timeout or heartbeat timeout elapsed: it is TIMED_OUT."""
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
    op = replace(record.operation, status=OperationStatus.TIMED_OUT, end_timestamp=now, error=error)
    st.transition(record, op, "CallbackTimedOut", now, {"Error": history.error(error)})
