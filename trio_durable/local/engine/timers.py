"""Timers as data: deadlines kept on the records (a wait's scheduled end, a
retry's next attempt, a callback's timeout and heartbeat deadlines, the
execution's deadline), mirrored in one heap with lazy deletion. An entry is live
only while the record still holds its deadline, so a cancelled wait, an ended
execution or a re-armed heartbeat needs no heap removal."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator

from trio_durable.local.engine import callback, step, wait
from trio_durable.local.engine.staging import Stage, TimerKind, record_of, timeout_paused
from trio_durable.local.store import ExecutionRecord, OperationRecord
from trio_durable.wire import ExecutionStatus, OperationStatus, OperationType

Entry = tuple[float, int, TimerKind, str, str | None]
"""(due, tie-breaking sequence number, kind, execution ARN, operation id)."""


class TimerHeap:
    """Every armed deadline, earliest first; stale entries are dropped as met."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._seq = itertools.count()

    def push(self, due: float, kind: TimerKind, arn: str, op_id: str | None) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), kind, arn, op_id))

    def peek(self) -> Entry | None:
        return self._heap[0] if self._heap else None

    def pop(self) -> Entry:
        return heapq.heappop(self._heap)

    def restore(self, entries: Iterable[Entry]) -> None:
        """Put popped entries back (their firing was not written)."""
        for entry in entries:
            heapq.heappush(self._heap, entry)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._heap)


def is_live(
    due: float, kind: TimerKind, rec: ExecutionRecord, record: OperationRecord | None
) -> bool:
    """Whether a heap entry still stands: ``rec`` is its execution's record and
    ``record`` its operation's (None for the execution timeout, or when gone)."""
    if kind is TimerKind.RETENTION:
        return rec.closed
    if rec.status is not ExecutionStatus.RUNNING:
        return False
    if kind is TimerKind.EXECUTION_TIMEOUT:
        return rec.deadline == due and not timeout_paused(rec)
    if record is None:
        return False
    op = record.operation
    if kind is TimerKind.WAIT:
        return op.status is OperationStatus.STARTED and op.scheduled_end_timestamp == due
    if kind is TimerKind.RETRY:
        return op.status is OperationStatus.PENDING and op.next_attempt_timestamp == due
    if op.status is not OperationStatus.STARTED:
        return False
    if kind is TimerKind.CALLBACK_TIMEOUT:
        return record.timeout_deadline == due
    return record.heartbeat_deadline == due


def timers_of(record: OperationRecord) -> Iterable[tuple[float, TimerKind]]:
    """The deadlines a stored operation record holds (re-armed after a restart)."""
    op = record.operation
    if op.type is OperationType.WAIT and op.status is OperationStatus.STARTED:
        if op.scheduled_end_timestamp is not None:
            yield op.scheduled_end_timestamp, TimerKind.WAIT
    elif op.type is OperationType.STEP and op.status is OperationStatus.PENDING:
        if op.next_attempt_timestamp is not None:
            yield op.next_attempt_timestamp, TimerKind.RETRY
    elif op.type is OperationType.CALLBACK and op.status is OperationStatus.STARTED:
        if record.timeout_deadline is not None:
            yield record.timeout_deadline, TimerKind.CALLBACK_TIMEOUT
        if record.heartbeat_deadline is not None:
            yield record.heartbeat_deadline, TimerKind.CALLBACK_HEARTBEAT


def fire_operation_timer(st: Stage, kind: TimerKind, op_id: str, now: float) -> None:
    """Hand a live operation timer to its operation type's state machine."""
    record = record_of(st, op_id)
    if kind is TimerKind.WAIT:
        wait.fire(st, record, now)
    elif kind is TimerKind.RETRY:
        step.fire_retry(st, record)
    else:
        callback.fire_timeout(st, kind, record, now)
