"""The state actor never leaves a caller waiting on a checkpoint that was recorded."""

from __future__ import annotations

import trio

from trio_durable.runtime.state import Activity, ExecutionState, Merge, StateActor
from trio_durable.wire import Operation, OperationStatus, OperationType


def _op(op_id: str) -> Operation:
    return Operation(
        id=op_id, type=OperationType.STEP, status=OperationStatus.SUCCEEDED, start_timestamp=1.0
    )


async def test_merges_queued_when_the_actor_is_cancelled_are_applied_and_acknowledged() -> None:
    # The batcher hands a recorded call's answer to the actor, then fails fatally on
    # its next call, which cancels the invocation's task group. A shielded flush
    # waiting on that answer's acknowledgement must still be woken.
    actor = StateActor(ExecutionState([], Activity()))
    ack = trio.Event()
    actor.submit(Merge((_op("a"),), (ack,)))
    with trio.move_on_after(5):  # a hang would be the bug; fail rather than wait
        async with trio.open_nursery() as nursery:
            nursery.cancel_scope.cancel()
            nursery.start_soon(actor.run)
    assert ack.is_set()
    assert actor.state.get("a") == _op("a")
    assert actor.statistics().queued == 0
