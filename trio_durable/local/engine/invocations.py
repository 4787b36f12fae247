"""Invocations: starting one for every execution owed one (a fresh checkpoint
token and the first state page each), and what the end of one means (the
execution's end, a re-invocation after a crash, or waiting)."""

from __future__ import annotations

from typing import Any

from trio_durable.local import arns, history, xray
from trio_durable.local.engine import lifecycle, pages
from trio_durable.local.engine.chained_invoke import deliver_held_outcomes
from trio_durable.local.engine.lifecycle import Config
from trio_durable.local.engine.pages import InvocationRequest
from trio_durable.local.engine.staging import Action, Stage
from trio_durable.local.engine.tables import Tables
from trio_durable.records import replace
from trio_durable.wire import (
    ErrorObject,
    ExecutionStatus,
    InvocationStatus,
    OperationStatus,
    OperationType,
    error_from_wire,
)


def take(tables: Tables, config: Config) -> list[InvocationRequest]:
    """Start an invocation for every execution that needs one and has none in
    flight; each gets a fresh checkpoint token (fencing off older invocations)."""
    if not tables.ready:
        return []
    now = config.clock()
    page_size = config.page_size
    action = Action()
    requests: list[InvocationRequest] = []
    done: list[str] = []
    for arn in tables.ready:
        ex = tables.executions[arn]
        rec = ex.record
        if rec.function_name not in tables.functions:
            continue  # waits until its function is registered
        done.append(arn)  # a paused one is queued again by its resume
        if (
            rec.status is not ExecutionStatus.RUNNING
            or rec.invocation_id is not None
            or rec.pause is not None
        ):
            continue
        st = action.stage(ex)
        request_id = arns.new_request_id()
        token = arns.new_checkpoint_token()
        st.record = replace(
            rec,
            checkpoint_token=token,
            invocation_id=request_id,
            invocation_start=now,
            wake=False,
            last_checkpoint=None,
        )
        # Changed since the handler last saw the state: every change a checkpoint
        # answered is cleared from ``dirty`` (the execution's own start is no update).
        updated = tuple(
            op_id
            for op_id in ex.dirty
            if ex.ops[op_id].operation.type is not OperationType.EXECUTION
        )
        requests.append(
            InvocationRequest(
                arn,
                rec.function_name,
                request_id,
                token,
                pages.LazyStatePage(ex, page_size),
                updated,
                rec.tenant_id,
                None
                if rec.trace_header is None
                else xray.invocation_header(rec.trace_header, request_id),
                updated_operations=tuple(ex.ops[op_id].operation for op_id in updated),
                after_pending=ex.pending_answer,
                operation_count=len(ex.order),
            )
        )
    if action.stages:
        tables.commit(action)
    for arn in done:
        del tables.ready[arn]
    for request in requests:
        ex = tables.executions[request.execution_arn]
        ex.dirty.clear()
        ex.delta = None
        ex.pending_answer = None
        tables.in_flight.add(request.execution_arn)
    tables.invocations_total += len(requests)
    return requests


def finish(
    tables: Tables,
    config: Config,
    arn: str,
    request_id: str,
    answer: Any = None,
    *,
    failure: ErrorObject | None = None,
) -> None:
    """Record the end of an invocation: ``answer`` is the handler's answer dict,
    or ``failure`` the error of a crashed invocation. Writes InvocationCompleted,
    rotates the checkpoint token, then ends the execution, re-invokes it, or
    leaves it waiting."""
    ex = tables.execution(arn)
    rec = ex.record
    if rec.invocation_id != request_id:
        return  # a late answer from an invocation already written off
    now = config.clock()
    # Cancelled by a pause at its checkpoint: owed a new invocation, not a crash.
    cut = arn in tables.cut and answer is None and failure is None
    status: InvocationStatus | None = None
    if failure is None and rec.status is ExecutionStatus.RUNNING and not cut:
        status, failure = read_answer(answer)
    action = Action()
    st = action.stage(ex)
    start = rec.invocation_start if rec.invocation_start is not None else now
    st.add_event(
        "InvocationCompleted",
        now,
        history.invocation_details(start, now, request_id, failure),
    )
    # A fresh token fences off the ended invocation: a checkpoint or state read it
    # makes later (a thread abandoned at a timeout, a stop or a pause goes on
    # running) is refused, state untouched; the next invocation gets a token of its own.
    st.record = replace(
        rec, invocation_id=None, invocation_start=None, checkpoint_token=arns.new_checkpoint_token()
    )
    if cut:  # cancelled by a pause at its checkpoint: owed a new invocation
        st.record = replace(st.record, wake=True)
    if rec.status is ExecutionStatus.RUNNING:
        deliver_held_outcomes(st, tables.executions, now)
    after_invocation(tables, config, action, st, status, answer, failure, now)
    tables.commit(action)
    ex.pending_answer = request_id if status is InvocationStatus.PENDING and not cut else None
    tables.cut.discard(arn)
    tables.in_flight.discard(arn)


def after_invocation(
    tables: Tables,
    config: Config,
    action: Action,
    st: Stage,
    status: InvocationStatus | None,
    answer: Any,
    failure: ErrorObject | None,
    now: float,
) -> None:
    """Decide what an ended invocation means: the execution's end, a retry after
    a crash (until the crash budget is spent; a restart of the service is no
    crash of the handler and spends none), or waiting for what it waits on."""
    rec = st.record
    if rec.status is not ExecutionStatus.RUNNING:
        lifecycle.close(tables, st, action, now)
        return
    exec_op = st.ex.ops[st.ex.order[0]].operation
    if exec_op.status is OperationStatus.SUCCEEDED:
        lifecycle.end_execution(
            tables, st, action, ExecutionStatus.SUCCEEDED, now, exec_op.result, None
        )
    elif exec_op.status is OperationStatus.FAILED:
        lifecycle.end_execution(
            tables, st, action, ExecutionStatus.FAILED, now, None, exec_op.error
        )
    elif failure is not None and failure.type == lifecycle.RESTART_ERROR_TYPE:
        # The service stopped, not the handler: invoke again, charging nothing.
        st.record = replace(rec, wake=True)
    elif failure is not None:
        crashes = rec.crashes + 1
        st.record = replace(rec, crashes=crashes)
        if crashes > config.max_crash_retries:
            lifecycle.end_execution(tables, st, action, ExecutionStatus.FAILED, now, None, failure)
        else:
            st.record = replace(st.record, wake=True)
    elif status is InvocationStatus.SUCCEEDED:
        result = answer.get("Result")
        lifecycle.end_execution(tables, st, action, ExecutionStatus.SUCCEEDED, now, result, None)
    elif status is InvocationStatus.FAILED:
        error = error_from_wire(answer.get("Error")) or ErrorObject(
            message="the handler answered FAILED without an error"
        )
        lifecycle.end_execution(tables, st, action, ExecutionStatus.FAILED, now, None, error)
    else:
        st.record = replace(rec, crashes=0)
        if not rec.wake and not st.ex.waiters:
            error = ErrorObject(
                message=(
                    "the invocation returned PENDING but nothing can resume the"
                    " execution: no wait, step retry, callback or chained invoke is pending"
                ),
                type=lifecycle.NO_PROGRESS_ERROR_TYPE,
            )
            lifecycle.end_execution(tables, st, action, ExecutionStatus.FAILED, now, None, error)


def read_answer(answer: Any) -> tuple[InvocationStatus | None, ErrorObject | None]:
    """The status of a handler's answer, or the error that makes it unreadable."""
    if isinstance(answer, dict):
        try:
            status = InvocationStatus(str(answer.get("Status")))
        except ValueError:
            pass
        else:
            result = answer.get("Result")
            error = answer.get("Error")
            if (result is None or isinstance(result, str)) and (
                error is None or isinstance(error, dict)
            ):
                return status, None
    text = repr(answer)
    if len(text) > 200:
        text = text[:200] + "..."
    return None, ErrorObject(
        message=f"the handler's answer is not a durable invocation output: {text}",
        type="Runtime.InvalidResponse",
    )
