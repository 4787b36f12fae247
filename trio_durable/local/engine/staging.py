"""The engine's memory of one execution, and the changes one action stages on it.

An engine action (a public ``Engine`` method) stages every change in an ``Action``:
one ``Stage`` per execution it touches, holding the new execution record, the
operation records it replaces, the events it appends and the timers it arms.
``Tables.commit`` then writes them to the store in one write and applies them to
memory; an error before that leaves nothing changed.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from trio_durable.local import history
from trio_durable.local.history import HistoryEvent
from trio_durable.local.store import ExecutionRecord, OperationRecord, StoredExecution
from trio_durable.local.validation import check_same_identity
from trio_durable.records import replace
from trio_durable.wire import (
    ExecutionStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
)

PAUSING = "PAUSING"
PAUSED = "PAUSED"


class TimerKind(Enum):
    WAIT = "wait"
    RETRY = "retry"
    CALLBACK_TIMEOUT = "callback-timeout"
    CALLBACK_HEARTBEAT = "callback-heartbeat"
    EXECUTION_TIMEOUT = "execution-timeout"
    RETENTION = "retention"


class Execution:
    """Memory state of one execution. ``dirty``: operations changed since the
    handler last saw them; ``waiters``: operations that a timer or an outside
    event can still complete; ``delta``: the rest of a paged NewExecutionState.
    ``resident``: false once the execution ended and only its record stays in
    memory (``Tables.full`` reads the rest from the store). ``pending_answer``:
    the request id of the last invocation if it answered PENDING (memory only)."""

    __slots__ = (
        "delta",
        "dirty",
        "events",
        "ops",
        "order",
        "pending_answer",
        "record",
        "resident",
        "waiters",
    )

    def __init__(self, record: ExecutionRecord) -> None:
        self.record = record
        self.resident = True
        self.ops: dict[str, OperationRecord] = {}
        self.order: list[str] = []
        self.events: list[HistoryEvent] = []
        self.dirty: dict[str, None] = {}
        self.waiters: set[str] = set()
        self.delta: tuple[str, tuple[Operation, ...]] | None = None
        self.pending_answer: str | None = None

    @classmethod
    def from_stored(cls, stored: StoredExecution) -> Execution:
        """An execution with every operation and event ``stored`` holds."""
        ex = cls(stored.execution)
        ex.events.extend(stored.events)
        for record in stored.operations:
            ex.order.append(record.operation.id)
            ex.ops[record.operation.id] = record
        return ex

    def unload(self) -> None:
        """Keep only the record in memory (the execution ended)."""
        self.resident = False
        self.ops = {}
        self.order = []
        self.events = []
        self.dirty = {}
        self.waiters = set()
        self.delta = None


class Stage:
    """One execution's pending changes inside an engine action."""

    __slots__ = ("events", "ex", "is_new", "new_ops", "ops", "record", "timers")

    def __init__(self, ex: Execution, is_new: bool) -> None:
        self.ex = ex
        self.is_new = is_new
        self.record = ex.record
        self.ops: dict[str, OperationRecord] = {}
        self.new_ops: list[str] = []
        self.events: list[HistoryEvent] = []
        self.timers: list[tuple[float, TimerKind, str | None]] = []

    def op(self, op_id: str) -> OperationRecord | None:
        staged = self.ops.get(op_id)
        return staged if staged is not None else self.ex.ops.get(op_id)

    def put(self, record: OperationRecord) -> None:
        op_id = record.operation.id
        if op_id not in self.ops and op_id not in self.ex.ops:
            self.new_ops.append(op_id)
        self.ops[op_id] = record

    def new_seq(self) -> int:
        return len(self.ex.order) + len(self.new_ops)

    def event_count(self) -> int:
        """Events in the history once this stage is committed."""
        return len(self.ex.events) + len(self.events)

    def next_event_id(self) -> int:
        return len(self.ex.events) + len(self.events) + 1

    def transition(
        self,
        record: OperationRecord,
        op: Operation,
        event_type: str,
        now: float,
        details: history.Details = history.NO_DETAILS,
    ) -> None:
        """Stage ``record`` with its operation now ``op`` and append ``op``'s event.

        The caller builds ``op`` with ``dataclasses.replace(record.operation, ...)``
        (so mypy checks the field names) or passes ``record.operation`` for a record
        it just created."""
        self.put(record if op is record.operation else replace(record, operation=op))
        self.events.append(
            history.operation_event(event_type, self.next_event_id(), now, op, details)
        )

    def add_event(self, event_type: str, now: float, details: history.Details) -> None:
        self.events.append(history.event(event_type, self.next_event_id(), now, details))


class Action:
    """The stages of one engine action, one per execution it changes."""

    __slots__ = ("stages",)

    def __init__(self) -> None:
        self.stages: dict[str, Stage] = {}

    def stage(self, ex: Execution, *, is_new: bool = False) -> Stage:
        st = self.stages.get(ex.record.arn)
        if st is None:
            st = self.stages[ex.record.arn] = Stage(ex, is_new)
        return st


def record_of(st: Stage, op_id: str) -> OperationRecord:
    """The staged (or else stored) record of an operation known to exist."""
    found = st.op(op_id)
    assert found is not None
    return found


def operation_of(st: Stage, op_id: str) -> Operation:
    return record_of(st, op_id).operation


def new_record(
    st: Stage,
    u: OperationUpdate,
    now: float,
    status: OperationStatus = OperationStatus.STARTED,
    **fields: Any,
) -> OperationRecord:
    """The record of an operation that ``u`` creates, started now (and ``status``
    now: a START and its completion in one call are staged as one record)."""
    op = Operation(
        id=u.id,
        type=u.type,
        status=status,
        start_timestamp=now,
        parent_id=u.parent_id,
        name=u.name,
        sub_type=u.sub_type,
        **fields,
    )
    return OperationRecord(st.record.arn, st.new_seq(), op)


ENDED = {
    OperationAction.SUCCEED: OperationStatus.SUCCEEDED,
    OperationAction.FAIL: OperationStatus.FAILED,
}
"""The status a SUCCEED or FAIL leaves."""


def ended_record(
    st: Stage, start: OperationUpdate, u: OperationUpdate, now: float, **fields: Any
) -> OperationRecord:
    """The record of an operation that ``start`` creates and ``u`` (its SUCCEED
    or FAIL, in the same call) ends now; ``u`` holds a payload only to SUCCEED
    and an error only to FAIL (validated)."""
    return new_record(
        st,
        start,
        now,
        ENDED[u.action],
        end_timestamp=now,
        result=u.payload,
        error=u.error,
        **fields,
    )


def stage_ended(
    st: Stage,
    where: str,
    record: OperationRecord,
    u: OperationUpdate,
    now: float,
    events: tuple[str, str],
    details: history.Details,
) -> None:
    """Stage ``record``, created already ended by ``u`` (its SUCCEED or FAIL, in
    the call that started it), with the START's event and then ``u``'s; ``u``
    must name the identity the START recorded."""
    op = record.operation
    check_same_identity(where, u, op)
    st.put(record)
    first = st.next_event_id()
    st.events.append(history.operation_event(events[0], first, now, op, history.NO_DETAILS))
    st.events.append(history.operation_event(events[1], first + 1, now, op, details))


def wake(st: Stage) -> None:
    """Something the handler waits on changed: an invocation is owed."""
    if st.record.status is ExecutionStatus.RUNNING:
        st.record = replace(st.record, wake=True)


def status_of(rec: ExecutionRecord) -> str:
    """The status the API shows: a paused RUNNING execution is PAUSING while an
    invocation is in flight, PAUSED otherwise."""
    if rec.status is ExecutionStatus.RUNNING and rec.pause is not None:
        return PAUSING if rec.invocation_id is not None else PAUSED
    return rec.status.value


def timeout_paused(rec: ExecutionRecord) -> bool:
    return rec.pause is not None and rec.pause.timeout_paused
