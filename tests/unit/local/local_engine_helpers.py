"""Shared helpers of the local engine's unit tests: a manual clock, an engine on a
MemoryStore, and shortcuts for updates and invariants."""

from __future__ import annotations

from typing import Any

from trio_durable.local.engine import Engine, InvocationRequest
from trio_durable.local.store import MemoryStore
from trio_durable.wire import (
    ErrorObject,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

START_TIME = 1_700_000_000.0
FUNCTION = "fn"


class ManualClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_engine(
    store: MemoryStore | None = None, clock: ManualClock | None = None, **options: Any
) -> tuple[Engine, ManualClock, MemoryStore]:
    store = store or MemoryStore()
    clock = clock or ManualClock()
    engine = Engine(store=store, clock=clock, **options)
    engine.functions.add(FUNCTION)
    return engine, clock, store


def start(engine: Engine, payload: str | None = '"in"', **options: Any) -> tuple[str, str, str]:
    """Start an execution and its first invocation: (arn, checkpoint token, request id)."""
    arn = engine.start_execution(FUNCTION, payload, **options).arn
    request = only_invocation(engine, arn)
    return arn, request.event["CheckpointToken"], request.request_id


def only_invocation(engine: Engine, arn: str) -> InvocationRequest:
    requests = engine.take_invocations()
    assert [r.execution_arn for r in requests] == [arn]
    return requests[0]


def fire_next(engine: Engine, clock: ManualClock) -> int:
    """Move the clock to the next live timer and fire what is due."""
    due = engine.next_timer_due()
    assert due is not None, "no timer is pending"
    clock.now = max(clock.now, due)
    return engine.fire_due_timers()


def upd(
    op_id: str,
    op_type: OperationType | str,
    action: OperationAction | str,
    **fields: Any,
) -> OperationUpdate:
    return OperationUpdate(
        id=op_id,
        type=OperationType(op_type),
        action=OperationAction(action),
        **fields,
    )


def step_start(op_id: str = "s1", **fields: Any) -> OperationUpdate:
    return upd(op_id, "STEP", "START", name=fields.pop("name", "step"), sub_type="Step", **fields)


def step_succeed(op_id: str = "s1", payload: str | None = '"ok"', **fields: Any) -> OperationUpdate:
    return upd(op_id, "STEP", "SUCCEED", payload=payload, **fields)


def boom(message: str = "boom") -> ErrorObject:
    return ErrorObject(message=message, type="ValueError")


def event_types(engine: Engine, arn: str) -> list[str]:
    return [e["EventType"] for e in engine.events(arn)]


def check_history(engine: Engine, arn: str) -> None:
    """Invariants every history keeps: consecutive EventIds from 1, ExecutionStarted
    first, details key on every event, at most one terminal event and it is last
    (after the last InvocationCompleted)."""
    events = list(engine.events(arn))
    assert [e["EventId"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["EventType"] == "ExecutionStarted"
    for e in events:
        assert f"{e['EventType']}Details" in e
        assert isinstance(e["EventTimestamp"], float)
    terminal = [
        i
        for i, e in enumerate(events)
        if e["EventType"]
        in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionStopped")
    ]
    assert len(terminal) <= 1
    if terminal:
        assert terminal[0] == len(events) - 1
    record = engine.record(arn)
    assert record.event_count == len(events)
    assert record.closed == bool(terminal)


def op_status(engine: Engine, arn: str, op_id: str) -> OperationStatus:
    return engine.operation(arn, op_id).status
