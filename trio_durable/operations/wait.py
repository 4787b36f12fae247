"""The wait operation: suspend the workflow for a whole number of seconds.

The START checkpoint is queued without waiting for its answer; the task then
parks until the service records the wait as done, which only a later
invocation sees, so the invocation suspends (its checkpoints flushed first).
"""

from __future__ import annotations

from datetime import timedelta

from trio_durable.config import duration_seconds
from trio_durable.operations.protocols import OperationScope
from trio_durable.runtime.state import ended
from trio_durable.wire import (
    MAX_WAIT_SECONDS,
    OperationAction,
    OperationType,
    OperationUpdate,
)

SUB_TYPE = "Wait"
_WAIT = OperationType.WAIT  # an enum member read once


async def run_wait(ctx: OperationScope, duration: timedelta | float, *, name: str | None) -> None:
    """Wait ``duration`` (validated: whole seconds, 1 s to the service maximum)."""
    seconds = duration_seconds(
        duration, "wait duration", allow_zero=False, maximum=MAX_WAIT_SECONDS
    )
    invocation = ctx.invocation
    if ctx.replayed_record(_WAIT, SUB_TYPE, name) is not None:
        await invocation.replay_checkpoint()  # the common replay: the wait has ended
        return
    op_id, recorded = ctx.next_operation(_WAIT, SUB_TYPE, name)
    if recorded is None:
        invocation.batcher.submit(
            OperationUpdate(
                id=op_id,
                type=_WAIT,
                action=OperationAction.START,
                parent_id=ctx.parent_id,
                name=name,
                sub_type=SUB_TYPE,
                wait_seconds=seconds,
            )
        )
    await invocation.state.wait_for(op_id, ended)
