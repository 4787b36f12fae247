"""The execution lifecycle: creation (also of chained-invoke children), stop,
pause and resume (with their ClientToken receipts), deletion, and the end of an
execution (its final status now, its terminal event now or when its invocation
ends, the report of a child's end to its caller). Retention (deletion some days
after the end) is a timer (``tables.retire``, ``Engine.fire_due_timers``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trio_durable.errors import conflict, invalid_parameter
from trio_durable.local import arns, history
from trio_durable.local.engine import chained_invoke
from trio_durable.local.engine.staging import (
    Action,
    Execution,
    Stage,
    TimerKind,
    operation_of,
    record_of,
    status_of,
)
from trio_durable.local.engine.tables import Tables
from trio_durable.local.store import ControlReceipt, ExecutionRecord, OperationRecord, PauseState
from trio_durable.local.validation import check_client_token, check_error, check_reason
from trio_durable.records import replace
from trio_durable.wire import (
    ErrorObject,
    ExecutionStatus,
    Operation,
    OperationStatus,
    OperationType,
)

NO_PROGRESS_ERROR_TYPE = "Runtime.NoProgress"
CRASH_ERROR_TYPE = "Runtime.ExitError"
RESTART_ERROR_TYPE = "Runtime.ServiceRestarted"

_TERMINAL_EXECUTION = {
    ExecutionStatus.SUCCEEDED: ("ExecutionSucceeded", OperationStatus.SUCCEEDED),
    ExecutionStatus.FAILED: ("ExecutionFailed", OperationStatus.FAILED),
    ExecutionStatus.TIMED_OUT: ("ExecutionTimedOut", OperationStatus.TIMED_OUT),
    ExecutionStatus.STOPPED: ("ExecutionStopped", OperationStatus.STOPPED),
}


@dataclass(frozen=True, slots=True)
class Config:
    """The engine's settings, as ``Engine`` was given them."""

    clock: Callable[[], float]
    region: str
    account: str
    max_crash_retries: int
    page_size: int
    default_timeout: int


def create_execution(
    tables: Tables,
    config: Config,
    action: Action,
    function_name: str,
    payload: str | None,
    name: str,
    timeout: int,
    parent: tuple[str, str] | None = None,
    tenant_id: str | None = None,
    trace_header: str | None = None,
) -> str:
    """Stage a new RUNNING execution owed its first invocation; its ARN. An empty
    ``trace_header`` is none."""
    now = config.clock()
    execution_id = arns.new_execution_id()
    arn = arns.execution_arn(config.region, config.account, function_name, name, execution_id)
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
        tenant_id=tenant_id,
        trace_header=trace_header or None,
    )
    st = action.stage(Execution(record), is_new=True)
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


def tenancy_problem(tables: Tables, function_name: str, tenant_id: str | None) -> str | None:
    """Why an invoke of ``function_name`` for ``tenant_id`` is refused, if it is:
    as on AWS, a function with tenant isolation takes only invokes that name their
    tenant, and one without it only invokes that name none."""
    if tenant_id is not None and arns.TENANT_ID.fullmatch(tenant_id) is None:
        return (
            f"TenantId: {tenant_id!r} must be 1 to 256 letters, digits, spaces or"
            " any of . _ : / = + - @"
        )
    isolated = function_name in tables.tenant_isolated
    if isolated and tenant_id is None:
        return (
            f"TenantId: function {function_name!r} has tenant isolation (TenancyConfig"
            " PER_TENANT): an invoke of it must name its tenant"
        )
    if not isolated and tenant_id is not None:
        return (
            f"TenantId: function {function_name!r} has no tenant isolation: an invoke"
            f" of it must not name a tenant, got {tenant_id!r}"
        )
    return None


def child_starter(
    tables: Tables, config: Config, action: Action, parent_arn: str
) -> chained_invoke.StartChild:
    """The ``StartChild`` of a checkpoint of ``parent_arn``."""

    def start_child(
        target: str,
        payload: str | None,
        op_id: str,
        tenant_id: str | None,
        trace_header: str | None,
    ) -> str | ErrorObject:
        if target not in tables.functions:
            return ErrorObject(
                message=f"function {target!r} not found", type="ResourceNotFoundException"
            )
        problem = tenancy_problem(tables, target, tenant_id)
        if problem is not None:
            return ErrorObject(message=problem, type="InvalidParameterValueException")
        return create_execution(
            tables,
            config,
            action,
            target,
            payload,
            arns.new_execution_name(),
            tables.execution_timeouts.get(target, config.default_timeout),
            parent=(parent_arn, op_id),
            tenant_id=tenant_id,
            trace_header=trace_header,
        )

    return start_child


def end_execution(
    tables: Tables,
    st: Stage,
    action: Action,
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
    exec_op = operation_of(st, exec_id)
    if not exec_op.status.is_terminal:
        st.put(
            replace(
                record_of(st, exec_id),
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
        close(tables, st, action, now)


def close(tables: Tables, st: Stage, action: Action, now: float) -> None:
    """Write the terminal event; tell the caller of a chained invoke."""
    rec = st.record
    event_type = _TERMINAL_EXECUTION[rec.status][0]
    if rec.status is ExecutionStatus.SUCCEEDED:
        details = {"Result": history.payload(rec.result)}
    else:
        details = {"Error": history.error(rec.error)}
    st.add_event(event_type, now, details)
    # An ended execution answers no checkpoint, so the last call's receipt goes
    # with its updates, undigested (the digest cost about 2 us per update).
    st.record = replace(rec, closed=True, wake=False, last_checkpoint=None)
    if rec.parent_arn is not None and rec.parent_operation_id is not None:
        _report_to_parent(tables, action, rec, now)


def _report_to_parent(tables: Tables, action: Action, child: ExecutionRecord, now: float) -> None:
    """Record a chained invoke's outcome on the caller's operation, unless the
    caller has an invocation in flight (``chained_invoke.deliver_held_outcomes``
    records it when that invocation ends)."""
    parent = tables.executions.get(child.parent_arn or "")
    if (
        parent is None
        or parent.record.status is not ExecutionStatus.RUNNING
        or parent.record.invocation_id is not None
    ):
        return
    st = action.stage(parent)
    record = st.op(child.parent_operation_id or "")
    if record is not None:
        chained_invoke.record_outcome(st, record, child, now)


def receipt(
    action: str, client_token: str | None, reason: str | None, timeout_paused: bool
) -> ControlReceipt | None:
    """What a pause or resume request with a ClientToken leaves on the record."""
    if client_token is None:
        return None
    check_client_token(client_token)
    return ControlReceipt(action, client_token, reason, timeout_paused)


def is_retry(ex: Execution, receipt: ControlReceipt | None) -> bool:
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


# --- requests of the control plane (see the ``Engine`` methods of the same names) ---


def stop(tables: Tables, config: Config, arn: str, error: ErrorObject | None) -> dict[str, Any]:
    ex = tables.execution(arn)
    if ex.record.status is not ExecutionStatus.RUNNING:
        raise invalid_parameter(
            f"DurableExecutionArn: execution is already {ex.record.status.value}"
        )
    if error is not None:
        check_error("Error", error)
    now = config.clock()
    action = Action()
    end_execution(tables, action.stage(ex), action, ExecutionStatus.STOPPED, now, None, error)
    tables.commit(action)
    return {"StopTimestamp": now}


def pause(
    tables: Tables,
    config: Config,
    arn: str,
    reason: str | None,
    execution_timeout_paused: bool,
    client_token: str | None,
) -> None:
    ex = tables.execution(arn)
    check_reason(reason)
    if not isinstance(execution_timeout_paused, bool):
        raise invalid_parameter("ExecutionTimeoutPaused: must be true or false")
    control = receipt("pause", client_token, reason, execution_timeout_paused)
    if is_retry(ex, control):
        return
    rec = ex.record
    if rec.status is not ExecutionStatus.RUNNING or rec.pause is not None:
        raise conflict(
            f"DurableExecutionArn: cannot pause an execution that is {status_of(rec)};"
            " only a RUNNING execution can be paused"
        )
    now = config.clock()
    action = Action()
    st = action.stage(ex)
    st.record = replace(
        rec,
        pause=PauseState(now, reason, execution_timeout_paused),
        last_control=control or rec.last_control,
    )
    st.add_event(
        "ExecutionPaused", now, history.execution_paused(now, reason, execution_timeout_paused)
    )
    tables.commit(action)


def resume(
    tables: Tables, config: Config, arn: str, reason: str | None, client_token: str | None
) -> None:
    ex = tables.execution(arn)
    check_reason(reason)
    control = receipt("resume", client_token, reason, False)
    if is_retry(ex, control):
        return
    rec = ex.record
    paused = rec.pause
    if rec.status is not ExecutionStatus.RUNNING or paused is None:
        raise conflict(
            f"DurableExecutionArn: cannot resume an execution that is {status_of(rec)};"
            " only a PAUSING or PAUSED execution can be resumed"
        )
    now = config.clock()
    action = Action()
    st = action.stage(ex)
    deadline = rec.deadline
    if paused.timeout_paused and deadline is not None:
        deadline += now - paused.request_timestamp
        st.timers.append((deadline, TimerKind.EXECUTION_TIMEOUT, None))
    st.record = replace(
        rec, pause=None, deadline=deadline, last_control=control or rec.last_control
    )
    st.add_event("ExecutionResumed", now, history.execution_resumed(now, reason))
    tables.commit(action)


def delete(tables: Tables, config: Config, arn: str) -> dict[str, Any]:
    ex = tables.execution(arn)
    rec = ex.record
    if rec.status is ExecutionStatus.RUNNING:
        raise conflict(
            f"DurableExecutionArn: cannot delete an execution that is {status_of(rec)};"
            " stop it first (only SUCCEEDED, FAILED, STOPPED or TIMED_OUT executions"
            " can be deleted)"
        )
    if not rec.closed:
        raise conflict(
            f"DurableExecutionArn: the execution is {rec.status.value} but its last"
            " invocation is still ending; retry in a moment"
        )
    now = config.clock()
    tables.remove(ex)
    return {"DeletionRequestTimestamp": now}
