"""STEP: START -> STARTED; SUCCEED/FAIL from STARTED or READY; RETRY -> PENDING
with a timer, READY when it fires, then START begins the next attempt."""

from __future__ import annotations

from trio_durable.errors import invalid_parameter
from trio_durable.local import history
from trio_durable.local.engine.staging import (
    Stage,
    TimerKind,
    ended_record,
    new_record,
    stage_ended,
)
from trio_durable.local.store import OperationRecord
from trio_durable.records import replace
from trio_durable.wire import OperationAction, OperationStatus, OperationUpdate


def apply(
    st: Stage, where: str, u: OperationUpdate, existing: OperationRecord | None, now: float
) -> None:
    """Apply one STEP update (validated by the caller but for its transition)."""
    if existing is None:
        record = new_record(st, u, now, attempt=0)
        if u.action is OperationAction.START:
            st.transition(record, record.operation, "StepStarted", now)
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
                f"{where}.Action: cannot {u.action.value} STEP {u.id!r} in status {status.value}"
            )
        if u.action is OperationAction.START:
            op = replace(
                existing.operation,
                status=OperationStatus.STARTED,
                next_attempt_timestamp=None,
            )
            st.transition(existing, op, "StepStarted", now)
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
        st.transition(record, op, "StepSucceeded", now, _succeeded(u, attempt))
    elif u.action is OperationAction.FAIL:
        op = replace(
            record.operation,
            status=OperationStatus.FAILED,
            end_timestamp=now,
            attempt=attempt,
            error=u.error,
            result=None,
        )
        st.transition(record, op, "StepFailed", now, _failed(u, attempt))
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
        st.transition(record, op, kind, now, {**details, "RetryDetails": retry})
        st.timers.append((due, TimerKind.RETRY, u.id))


def start_and_end(
    st: Stage, where: str, start: OperationUpdate, u: OperationUpdate, now: float
) -> None:
    """A new STEP's START and then ``u``, its SUCCEED or FAIL, in one call: the
    record, events and errors of ``apply`` of each in turn, without building the
    STARTED record in between (an async step's updates arrive so)."""
    record = ended_record(st, start, u, now, attempt=1)
    if u.action is _SUCCEED:
        events, details = ("StepStarted", "StepSucceeded"), _succeeded(u, 1)
    else:
        events, details = ("StepStarted", "StepFailed"), _failed(u, 1)
    stage_ended(st, where, record, u, now, events, details)


def _succeeded(u: OperationUpdate, attempt: int) -> history.Details:
    return {"Result": history.payload(u.payload), "RetryDetails": history.retry_details(attempt)}


def _failed(u: OperationUpdate, attempt: int) -> history.Details:
    return {"Error": history.error(u.error), "RetryDetails": history.retry_details(attempt)}


def fire_retry(st: Stage, record: OperationRecord) -> None:
    """The retry delay elapsed: the step is READY for its next attempt."""
    op = replace(record.operation, status=OperationStatus.READY)
    st.put(replace(record, operation=op))


_SUCCEED = OperationAction.SUCCEED  # read once: through the class it costs 0.1 us
