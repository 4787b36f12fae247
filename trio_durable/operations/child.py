"""The child context operation: a group of operations recorded as one.

The body ``fn(child_ctx, *args)`` runs with its own operation numbering under
the CONTEXT operation's id. Recorded states on replay: SUCCEEDED returns the
recorded result without running the body, unless it was recorded with
ReplayChildren (its result was over 256 KB, so it was stored empty): then the
body re-runs against its recorded children; FAILED raises the recorded error;
STARTED (an earlier invocation did not finish it) re-runs the body without a
second START. A virtual child context takes an id but records nothing: its
body runs on every invocation, its operations are recorded under the
enclosing context.

START and SUCCEED are queued without waiting, as an at-least-once step's are:
they go out in order, before any later checkpoint and before the invocation
answers or suspends, and losing them only means the body runs again on replay
(its own operations replay from their records). A body's failure is recorded
(FAIL, awaited) and raised rebuilt from that record, as replay will; errors
that are not the body's own (non-determinism, a service failure, cancellation)
pass through unrecorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from trio_durable.errors import (
    ChildContextError,
    DurableExecutionError,
    NonDeterministicExecutionError,
    ServiceError,
    ValidationError,
    error_object_from_exception,
)
from trio_durable.operations.protocols import OperationScope
from trio_durable.plugins import AttemptOutcome, OperationEndInfo, OperationInfo, PluginRunner
from trio_durable.runtime.failures import rebuild
from trio_durable.serialization import Serializer
from trio_durable.wire import (
    MAX_OPERATION_PAYLOAD_BYTES,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
)

SUB_TYPE = "RunInChildContext"
T = TypeVar("T")

Encode = Callable[[BaseException], ErrorObject]
Decode = Callable[[ErrorObject | None, type[DurableExecutionError]], DurableExecutionError]


def on_context(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """A child body calling the user's ``fn(child_ctx, *args)`` with the child's
    ``DurableContext`` (``run_child`` hands its bodies the child's scope)."""
    if not callable(fn):
        raise ValidationError(f"run_in_child_context needs a callable, got {type(fn).__name__}")

    async def body(scope: OperationScope, *args: Any) -> T:
        return await fn(scope.context, *args)

    return body


async def run_child(
    ctx: OperationScope,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    name: str | None,
    serializer: Serializer | None,
    sub_type: str = SUB_TYPE,
    encode: Encode = error_object_from_exception,
    decode: Decode = rebuild,
    user_code: bool = True,
    virtual: bool = False,
) -> Any:
    """Run ``await fn(child_scope, *args)`` as one child context (see the module
    doc); returns its (recorded) result. Each run of ``fn`` gets the plugins'
    attempt hooks, unless it is not ``user_code`` (a batch's own body)."""
    if not callable(fn):
        raise ValidationError(f"run_in_child_context needs a callable, got {type(fn).__name__}")
    invocation = ctx.invocation
    serializer = serializer or invocation.serializer
    op_id, recorded = ctx.next_operation(OperationType.CONTEXT, sub_type, name)
    if virtual:
        return await _run_virtual(ctx, op_id, fn, args, sub_type, name, encode, decode)

    update = ctx.updates(op_id, OperationType.CONTEXT, sub_type, name)
    labels = (sub_type, name) if user_code else None
    if recorded is not None:
        status = recorded.status
        if status is OperationStatus.SUCCEEDED and not recorded.replay_children:
            await invocation.replay_checkpoint()
            return serializer.deserialize(recorded.result)
        if status.is_terminal and status is not OperationStatus.SUCCEEDED:
            await invocation.replay_checkpoint()
            raise decode(recorded.error, ChildContextError)
        if status is OperationStatus.SUCCEEDED:  # recorded with ReplayChildren
            result = await _body(ctx, fn, args, op_id, recorded, labels)
            await invocation.replay_checkpoint()
            return serializer.deserialize(serializer.serialize(result))
    else:
        invocation.batcher.submit(update(OperationAction.START))
    batcher = invocation.batcher
    try:
        result = await _body(ctx, fn, args, op_id, recorded, labels)
        payload = serializer.serialize(result)
    except (NonDeterministicExecutionError, ServiceError):
        raise
    except Exception as exc:
        error = encode(exc)
        await batcher.checkpoint(update(OperationAction.FAIL, error=error))
        raise decode(error, ChildContextError) from exc
    if payload is not None and len(payload.encode()) > MAX_OPERATION_PAYLOAD_BYTES:
        batcher.submit(update(OperationAction.SUCCEED, replay_children=True))
    else:
        batcher.submit(update(OperationAction.SUCCEED, payload=payload))
    await invocation.checkpoint()
    return serializer.deserialize(payload)


async def _run_virtual(
    ctx: OperationScope,
    op_id: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    sub_type: str,
    name: str | None,
    encode: Encode,
    decode: Decode,
) -> Any:
    """A virtual child context: the body runs on every invocation, nothing of the
    context is checkpointed (so no merge reports its end: it is reported here);
    a failure raises as a recorded one would."""
    plugins = ctx.invocation.plugins
    info = None
    if plugins is not None:
        info = plugins.operation_info(
            op_id, OperationType.CONTEXT, sub_type, name, ctx.parent_id, None
        )
    try:
        result = await fn(ctx.virtual_child(op_id), *args)
    except (NonDeterministicExecutionError, ServiceError):
        raise
    except Exception as exc:
        error = encode(exc)
        _virtual_ended(plugins, info, OperationStatus.FAILED, error)
        raise decode(error, ChildContextError) from exc
    _virtual_ended(plugins, info, OperationStatus.SUCCEEDED, None)
    return result


def _virtual_ended(
    plugins: PluginRunner | None,
    info: OperationInfo | None,
    status: OperationStatus,
    error: ErrorObject | None,
) -> None:
    if plugins is None or info is None:
        return
    recorded = {field.name: getattr(info, field.name) for field in fields(OperationInfo)}
    end = OperationEndInfo(
        **recorded | {"status": status, "error": error, "end_time": datetime.now(UTC)}
    )
    plugins.emit("on_operation_end", end)


async def _body(
    ctx: OperationScope,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    op_id: str,
    recorded: Operation | None,
    labels: tuple[str, str | None] | None,
) -> Any:
    """``await fn(child_scope, *args)``, between the plugins' attempt hooks when
    ``labels`` (its subtype and name) are given: it is user code. The body
    replays its recorded children when the context was recorded before."""
    replaying = recorded is not None
    child = ctx.child(op_id, replaying=replaying)
    plugins = ctx.invocation.plugins
    if plugins is None or labels is None:
        return await fn(child, *args)
    if recorded is None:
        sub_type, name = labels
        info = plugins.operation_info(
            op_id, OperationType.CONTEXT, sub_type, name, ctx.parent_id, None
        )
    else:
        info = OperationInfo.of(plugins.execution_arn, recorded, is_replayed=True)
    outcome, error = AttemptOutcome.INCOMPLETE, None
    plugins.attempt_started(info, None, replaying_children=replaying)
    try:
        result = await fn(child, *args)
    except (NonDeterministicExecutionError, ServiceError):
        raise
    except Exception as exc:
        outcome, error = AttemptOutcome.FAILED, error_object_from_exception(exc)
        raise
    else:
        outcome = AttemptOutcome.SUCCEEDED
    finally:
        plugins.attempt_ended(info, None, error, replaying_children=replaying, outcome=outcome)
    return result
