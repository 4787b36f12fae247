"""wait_for_condition: poll a check durably, threading its state, until the
wait strategy says stop.

It is recorded as a STEP of SubType ``WaitForCondition``, one attempt per poll.
A poll runs ``check(state)`` (sync in a worker thread, async awaited; given a
``StepContext`` as ``step_context`` if it declares one) and hands the new state
to the wait strategy. Stop: SUCCEED carrying the state, which is returned.
Continue: RETRY carrying the state and the delay but no error (the service
records a successful attempt), then park until the service makes the step
READY, which only a later invocation sees, so the invocation suspends; the next
poll starts from the recorded state. A check that raises, a state that cannot
be serialized or a strategy out of attempts is the operation's failure: FAIL,
and ``WaitForConditionError`` (never retried: the strategy decides on states,
not errors).

The first poll gets ``initial_state`` round-tripped through the serializer, so
every poll sees the state as a checkpoint gives it back. On replay, SUCCEEDED
returns the recorded state, FAILED raises, PENDING parks, READY starts the next
poll, and STARTED (a poll an earlier invocation began and did not finish) runs
that poll again without a second START.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trio_durable.config import WaitForConditionConfig
from trio_durable.errors import (
    SerializationError,
    ValidationError,
    WaitForConditionError,
    error_object_from_exception,
)
from trio_durable.operations.protocols import OperationScope
from trio_durable.operations.step import (
    NOT_OPERATION_FAILURES,
    call_body,
    callable_name,
    checked_payload,
    fail_operation,
    make_step_context,
    ready_or_done,
)
from trio_durable.runtime.failures import rebuild
from trio_durable.runtime.step_context import callable_traits
from trio_durable.serialization import Serializer
from trio_durable.wire import OperationAction, OperationStatus, OperationType

SUB_TYPE = "WaitForCondition"


def _initial_state(config: WaitForConditionConfig, serializer: Serializer) -> Any:
    """``initial_state`` as a checkpoint would give it back; ``ValidationError`` if
    the serializer cannot write it (raised before anything is recorded)."""
    try:
        return serializer.deserialize(serializer.serialize(config.initial_state))
    except SerializationError as exc:
        raise ValidationError(f"initial_state cannot be serialized: {exc.message}") from exc


async def run_wait_for_condition(
    ctx: OperationScope,
    check: Callable[..., Any],
    *,
    name: str | None,
    config: WaitForConditionConfig,
) -> Any:
    """Run one wait_for_condition (see the module doc); returns the final state."""
    if not callable(check):
        raise ValidationError(f"wait_for_condition needs a callable, got {type(check).__name__}")
    if not isinstance(config, WaitForConditionConfig):
        raise ValidationError(
            f"config must be a WaitForConditionConfig, got {type(config).__name__}"
        )
    if name is None:
        name = callable_name(check)
    invocation = ctx.invocation
    serializer = config.serializer or invocation.serializer
    op_id, recorded = ctx.next_operation(OperationType.STEP, SUB_TYPE, name)
    update = ctx.updates(op_id, OperationType.STEP, SUB_TYPE, name)
    plugins = invocation.plugins
    info = ctx.plugin_info(op_id, OperationType.STEP, SUB_TYPE, name, recorded)

    batcher = invocation.batcher
    is_async, wants_context = callable_traits(check)
    while True:
        stored: str | None = None  # the state the previous poll recorded
        if recorded is None:
            attempt, state = 1, _initial_state(config, serializer)
            batcher.submit(update(OperationAction.START))
        else:
            status = recorded.status
            if status is OperationStatus.SUCCEEDED:
                await invocation.replay_checkpoint()
                return serializer.deserialize(recorded.result)
            if status.is_terminal:
                await invocation.replay_checkpoint()
                raise rebuild(recorded.error, WaitForConditionError)
            if status is OperationStatus.PENDING:
                recorded = await invocation.state.wait_for(op_id, ready_or_done)
                continue
            if status is OperationStatus.READY:
                batcher.submit(update(OperationAction.START))
            attempt, stored = (recorded.attempt or 0) + 1, recorded.result
            state = _initial_state(config, serializer) if stored is None else None
        if plugins is not None:
            plugins.attempt_started(info, attempt)
        try:
            if stored is not None:
                state = serializer.deserialize(stored)
            new_state = await call_body(
                ctx,
                check,
                (state,),
                op_id,
                name,
                attempt,
                make_step_context,
                is_async,
                wants_context,
            )
            payload = checked_payload(serializer.serialize(new_state), "wait_for_condition state")
            delay = config.wait_strategy.next_delay(serializer.deserialize(payload), attempt)
        except NOT_OPERATION_FAILURES:
            raise
        except Exception as exc:
            error = error_object_from_exception(exc)
            if plugins is not None:
                plugins.attempt_ended(info, attempt, error)
            await fail_operation(ctx, update, error)
            raise rebuild(error, WaitForConditionError) from exc
        if plugins is not None:
            plugins.attempt_ended(info, attempt, None)
        if delay is None:
            await batcher.checkpoint(update(OperationAction.SUCCEED, payload=payload))
            return serializer.deserialize(payload)
        await batcher.checkpoint(
            update(OperationAction.RETRY, payload=payload, next_attempt_delay_seconds=delay)
        )
        recorded = await invocation.state.wait_for(op_id, ready_or_done)
