"""One invocation of a durable handler: actors, workflow, suspension, answer.

One task group (a Trio nursery under Trio) holds the state actor, the
checkpoint batcher, a supervisor, and (in the caller's task) the workflow,
inside its own cancel scope. The
supervisor waits until every live workflow task is parked on something only a
later invocation delivers, flushes the checkpoints (shielded), and, if that
flush woke nobody, cancels the workflow scope: the invocation answers PENDING.
Given ``suspend`` (a held workflow's: ``runtime/held.py``), the supervisor calls it
instead: the workflow stays parked until ``suspend`` returns, which the next
invocation's operations make it do.
A fatal batcher error cancels everything and is raised to the caller (an
invocation error: the service retries it), never recorded as the workflow's.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import anyio.lowlevel
import orjson

from trio_durable.batcher.batcher import CheckpointBatcher, fetch_more_pages
from trio_durable.batcher.client import ServiceClient
from trio_durable.errors import (
    DurableExecutionError,
    SerializationError,
    ValidationError,
    error_object_from_exception,
)
from trio_durable.plugin_registry import PluginRegistry
from trio_durable.plugins import (
    InvocationEndInfo,
    InvocationStartInfo,
    OperationsView,
    PluginRunner,
    utc_time,
)
from trio_durable.runtime.context import DurableContext, Invocation
from trio_durable.runtime.logger import WORKFLOW_LOGGER, DurableLogger
from trio_durable.runtime.primitives import (
    TaskGroup,
    cancel_scope,
    new_replay_checkpoint,
    open_task_group,
)
from trio_durable.runtime.replay import ReplayHook
from trio_durable.runtime.state import Activity, ExecutionState, StateActor
from trio_durable.runtime.threads import StepThread, ToThread, anyio_run_sync
from trio_durable.serialization import Serializer
from trio_durable.wire import (
    MAX_LAMBDA_RESPONSE_BYTES,
    InvocationStatus,
    Operation,
    OperationAction,
    OperationType,
    OperationUpdate,
    RecordedPage,
    error_from_wire,
    error_to_wire,
    recorded_operations,
)

Workflow = Callable[[Any, DurableContext], Awaitable[Any]]

Suspend = Callable[[Invocation, StateActor], Awaitable[None]]
"""Called, instead of cancelling the workflow, each time an invocation would
answer PENDING (every task parked, checkpoints flushed); the workflow goes on
when it returns. It receives what a later invocation changes: the invocation's
shared parts (the batcher's token, the Lambda context) and the state actor."""

# Below this many characters a result cannot make the answer exceed 6 MB.
_SMALL_RESULT_CHARS = MAX_LAMBDA_RESPONSE_BYTES // 8


def parse_event(
    event: Mapping[str, Any],
) -> tuple[str, str, RecordedPage, str | None]:
    """ARN, checkpoint token, the records of the first state page (some left
    unparsed: ``wire.recorded_operations``) and the marker of the next page."""
    if not isinstance(event, Mapping):
        raise ValidationError(
            f"a durable invocation event must be a mapping, got {type(event).__name__}"
        )
    missing = [key for key in ("DurableExecutionArn", "CheckpointToken") if not event.get(key)]
    if missing:
        raise ValidationError(
            "not a durable execution invocation event: missing " + ", ".join(missing)
        )
    for key in ("DurableExecutionArn", "CheckpointToken"):
        if not isinstance(event[key], str):
            raise ValidationError(f"{key} must be a string, got {type(event[key]).__name__}")
    state = event.get("InitialExecutionState")
    if state is None:
        state = {}
    operations = state.get("Operations", []) if isinstance(state, Mapping) else None
    if not isinstance(operations, list):
        raise ValidationError("InitialExecutionState must be {'Operations': [operation, ...]}")
    try:
        recorded = recorded_operations(operations)  # refuses a record that is not a mapping
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ValidationError(f"malformed InitialExecutionState: {exc!r}") from exc
    marker = state.get("NextMarker") or None
    return event["DurableExecutionArn"], event["CheckpointToken"], recorded, marker


def updated_operation_ids(event: Mapping[str, Any]) -> tuple[str, ...]:
    """The event's ``UpdatedOperationIds``: operations changed outside the handler
    since it last ran (none when the event does not say)."""
    ids = event.get("UpdatedOperationIds")
    if ids is None:
        return ()
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValidationError("UpdatedOperationIds must be a list of operation ids")
    return tuple(ids)


async def run_invocation(
    workflow: Workflow,
    event: Mapping[str, Any],
    *,
    client: ServiceClient,
    serializer: Serializer,
    lambda_context: Any = None,
    plugins: PluginRegistry | None = None,
    replay_hook: ReplayHook | None = None,
    suspend: Suspend | None = None,
) -> dict[str, Any]:
    """Run one invocation and return the handler's answer (``{"Status": ...}``);
    ``replay_hook`` is a replay check's (``runtime/replay.py``). With ``suspend``
    the answer is the workflow's end: PENDING answers go through ``suspend``
    (no plugins, no replay hook: their hooks assume every invocation replays)."""
    if suspend is not None and (plugins is not None or replay_hook is not None):
        raise ValidationError("a held workflow runs without plugins and without a replay hook")
    arn, token, recorded, marker = parse_event(event)
    more = await fetch_more_pages(client, arn, token, marker)
    activity = Activity()
    replay_checkpoint = new_replay_checkpoint()
    state = ExecutionState(more, activity, replay_checkpoint, page=recorded)
    execution = state.get(state.execution_id or "")
    if execution is None:
        raise ValidationError(f"the state of {arn} has no EXECUTION operation")
    first = len(state) <= 1
    runner = start_info = None
    if plugins is not None:
        start_info, runner = _start_plugins(plugins, event, state, execution, lambda_context)
    actor = StateActor(state, None if runner is None else runner.merged)
    checkpoint, current_task, to_thread = _backend_primitives()
    answer: dict[str, Any] | None = None
    async with open_task_group() as group:
        batcher = CheckpointBatcher(
            client, arn, token, actor, on_fatal=lambda _: group.cancel_scope.cancel()
        )
        group.start_soon(actor.run)
        group.start_soon(batcher.run)
        invocation = Invocation(
            execution_arn=arn,
            state=state,
            batcher=batcher,
            activity=activity,
            serializer=serializer,
            logger=DurableLogger(WORKFLOW_LOGGER, {"execution_arn": arn}),
            lambda_context=lambda_context,
            checkpoint=checkpoint,
            replay_checkpoint=replay_checkpoint,
            current_task=current_task,
            to_thread=to_thread,
            plugins=runner,
            replay_hook=replay_hook,
        )
        if runner is not None and start_info is not None:
            runner.emit("on_invocation_start", start_info)
            runner.ended_before(start_info.updated_operations)
        held = None if suspend is None else functools.partial(suspend, invocation, actor)
        answer = await _run_workflow(workflow, invocation, execution, group, held)
        group.cancel_scope.cancel()
    if batcher.failure is not None:
        raise batcher.failure
    if answer is None:  # cancelled from outside before the workflow finished
        raise anyio.get_cancelled_exc_class()()
    if runner is not None and start_info is not None:
        error = answer.get("Error")
        status = InvocationStatus(answer["Status"])
        result = answer.get("Result", "" if status is InvocationStatus.SUCCEEDED else None)
        end_info = InvocationEndInfo(
            execution_arn=arn,
            is_first_invocation=first,
            request_id=start_info.request_id,
            execution_start_time=start_info.execution_start_time,
            operations=OperationsView(arn, state.snapshot(), runner.replayed),
            lambda_context=lambda_context,
            status=status,
            error=None if error is None else error_from_wire(error),
            execution_result=result,
        )
        runner.emit("on_invocation_end", end_info)
    return answer


def _start_plugins(
    registry: PluginRegistry,
    event: Mapping[str, Any],
    state: ExecutionState,
    execution: Operation,
    lambda_context: Any,
) -> tuple[InvocationStartInfo, PluginRunner]:
    """The start info of this invocation, and its plugins (factories called)."""
    arn = event["DurableExecutionArn"]
    operations = state.snapshot()
    replayed = frozenset(operations)
    updated = {i: operations[i] for i in updated_operation_ids(event) if i in operations}
    request_id = getattr(lambda_context, "aws_request_id", None)
    info = InvocationStartInfo(
        execution_arn=arn,
        is_first_invocation=len(operations) <= 1,
        request_id=request_id if isinstance(request_id, str) else None,
        execution_start_time=utc_time(execution.start_timestamp),
        operations=OperationsView(arn, operations, replayed),
        updated_operations=OperationsView(arn, updated, replayed),
        lambda_context=lambda_context,
    )
    return info, registry.start(info, replayed)


async def _run_workflow(
    workflow: Workflow,
    invocation: Invocation,
    execution: Operation,
    group: TaskGroup,
    suspend: Callable[[], Awaitable[None]] | None,
) -> dict[str, Any]:
    state, batcher, activity = invocation.state, invocation.batcher, invocation.activity
    root = DurableContext(invocation, replaying=len(state) > 1)
    with cancel_scope() as workflow_scope:

        async def supervise() -> None:
            while True:
                await activity.wait_quiescent()
                calm, wakes = activity.is_quiescent, activity.wakes
                await batcher.flush()
                if activity.is_quiescent:
                    if suspend is None:
                        workflow_scope.cancel()  # what unwinding submits, the last flush sends
                        return
                    if calm and activity.wakes == wakes and batcher.failure is None:
                        # Nobody ran during the flush, so nothing is left unsent
                        # for a later token: the workflow may stay parked. (A
                        # failed batcher has cancelled everything: it is raised.)
                        await suspend()

        group.start_soon(supervise)
        activity.task_started()
        try:
            event = invocation.serializer.deserialize(execution.input_payload)
            result = await workflow(event, root)
            payload = invocation.serializer.serialize(result)
        except Exception as exc:
            await batcher.flush()
            return _failed(exc)
        finally:
            activity.task_finished()
            if isinstance(invocation.to_thread, StepThread):
                invocation.to_thread.close()  # no sync step body can start any more
        await batcher.flush()
        answer: dict[str, Any] = {"Status": InvocationStatus.SUCCEEDED.value}
        if payload is None:
            return answer
        answer["Result"] = payload
        if _fits_in_response(answer):
            return answer
        size = len(payload.encode())
        if size > MAX_LAMBDA_RESPONSE_BYTES:
            return _failed(
                SerializationError(
                    f"the execution result is {size} bytes serialized; the service stores "
                    f"at most {MAX_LAMBDA_RESPONSE_BYTES} bytes"
                )
            )
        await batcher.checkpoint(
            OperationUpdate(
                id=execution.id,
                type=OperationType.EXECUTION,
                action=OperationAction.SUCCEED,
                payload=payload,
            )
        )
        return {"Status": InvocationStatus.SUCCEEDED.value}
    await batcher.flush()
    return {"Status": InvocationStatus.PENDING.value}


def _backend_primitives() -> tuple[Callable[[], Awaitable[None]], Callable[[], object], ToThread]:
    """The running backend's checkpoint, current-task and worker-thread functions:
    Trio's own under Trio (the hot path of every step skips anyio's backend lookup),
    with the invocation's own worker thread; anyio's otherwise."""
    import trio

    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        import asyncio  # anyio runs on asyncio or Trio: not Trio, so asyncio

        return anyio.lowlevel.checkpoint, asyncio.current_task, anyio_run_sync
    return trio.lowlevel.checkpoint, trio.lowlevel.current_task, StepThread()


def _fits_in_response(answer: dict[str, Any]) -> bool:
    """Whether the answer, as the JSON Lambda sends (result escaped inside), fits in 6 MB."""
    return (
        len(answer["Result"]) < _SMALL_RESULT_CHARS
        or len(orjson.dumps(answer)) <= MAX_LAMBDA_RESPONSE_BYTES
    )


def _failed(exc: Exception) -> dict[str, Any]:
    error = error_object_from_exception(exc)
    if not isinstance(exc, DurableExecutionError):
        WORKFLOW_LOGGER.debug("workflow failed", exc_info=exc)
    return {"Status": InvocationStatus.FAILED.value, "Error": error_to_wire(error)}
