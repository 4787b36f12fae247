"""CHAINED_INVOKE: START runs the target function as an execution of its own (a
child, under the X-Ray header the START carries); the child's outcome is copied
back onto the operation when it ends, or, while the caller has an invocation in
flight, when that invocation ends."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from trio_durable.errors import invalid_parameter
from trio_durable.local import arns, history
from trio_durable.local.engine.staging import Execution, Stage, new_record, wake
from trio_durable.local.store import ExecutionRecord, OperationRecord
from trio_durable.records import replace
from trio_durable.wire import (
    ErrorObject,
    ExecutionStatus,
    OperationStatus,
    OperationUpdate,
)

StartChild = Callable[[str, str | None, str, str | None, str | None], str | ErrorObject]
"""``start_child(target, payload, operation_id, tenant_id, trace_header)``: start
an execution of the function ``target`` (for ``tenant_id``, under the X-Ray
``trace_header``) as the child of the caller's operation and return its ARN, or
the error the operation fails with when it cannot start (no function ``target``,
a tenant its tenancy refuses)."""

_CHILD_OUTCOME = {
    ExecutionStatus.SUCCEEDED: ("ChainedInvokeSucceeded", OperationStatus.SUCCEEDED),
    ExecutionStatus.FAILED: ("ChainedInvokeFailed", OperationStatus.FAILED),
    ExecutionStatus.TIMED_OUT: ("ChainedInvokeTimedOut", OperationStatus.TIMED_OUT),
    ExecutionStatus.STOPPED: ("ChainedInvokeStopped", OperationStatus.STOPPED),
}


def apply(
    st: Stage,
    where: str,
    u: OperationUpdate,
    existing: OperationRecord | None,
    now: float,
    start_child: StartChild,
) -> None:
    """Apply a CHAINED_INVOKE START: start the child, or fail at once when it
    cannot start (the target function does not exist or refuses the tenant)."""
    if existing is not None:
        raise invalid_parameter(f"{where}.Id: CHAINED_INVOKE {u.id!r} already exists")
    if u.invoke_function_name is None:
        raise invalid_parameter(f"{where}.ChainedInvokeOptions.FunctionName: required for START")
    target = arns.function_name_of(u.invoke_function_name)
    record = new_record(st, u, now)
    details: dict[str, Any] = {
        "FunctionName": u.invoke_function_name,
        "Input": history.payload(u.payload),
        "ExecutedVersion": "$LATEST",
    }
    if u.invoke_tenant_id is not None:
        details["TenantId"] = u.invoke_tenant_id
    child = start_child(target, u.payload, u.id, u.invoke_tenant_id, u.invoke_trace_header)
    if isinstance(child, ErrorObject):
        st.transition(record, record.operation, "ChainedInvokeStarted", now, details)
        error = child
        op = replace(
            record.operation, status=OperationStatus.FAILED, end_timestamp=now, error=error
        )
        st.transition(record, op, "ChainedInvokeFailed", now, {"Error": history.error(error)})
        return
    details["DurableExecutionArn"] = child
    started = replace(record, target_arn=child)
    st.transition(started, started.operation, "ChainedInvokeStarted", now, details)


def deliver_held_outcomes(st: Stage, executions: Mapping[str, Execution], now: float) -> None:
    """Record the outcomes of chained invokes whose targets ended while the
    caller's invocation was in flight (see ``record_outcome``)."""
    held = []
    for op_id in st.ex.waiters:
        record = st.op(op_id)
        target = executions.get(record.target_arn or "") if record else None
        if record is not None and target is not None and target.record.closed:
            held.append((record, target.record))
    for record, child in sorted(held, key=lambda pair: pair[0].seq):
        record_outcome(st, record, child, now)


def record_outcome(st: Stage, record: OperationRecord, child: ExecutionRecord, now: float) -> None:
    """Copy the ended child's outcome onto the caller's operation. The caller
    must have no invocation in flight: the outcome then waits for that
    invocation's end, so that the caller resumes in a new invocation and its
    history shows the outcome after the InvocationCompleted, as AWS's does."""
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
    if op_status is OperationStatus.SUCCEEDED:
        details = {"Result": history.payload(child.result)}
    else:
        details = {"Error": history.error(child.error)}
    st.transition(record, op, event_type, now, details)
    wake(st)
