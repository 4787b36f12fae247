"""Where the local engine keeps executions: the ``Store`` protocol and ``MemoryStore``.

The engine holds its working state in memory and writes every change through a
store, one atomic ``write`` per engine action (a checkpoint call, a callback
completion, a batch of timers firing, an invocation starting or ending). A write
carries only what changed: the execution records touched (small, fixed size),
the operation records that changed, and the history events appended. So a store
that persists incrementally (SQLite: one upsert per changed row, one insert per
event) pays per checkpoint in proportion to the checkpoint, never to the size of
the execution.

Everything the engine needs to rebuild itself lives in these records: timers are
the deadlines kept on operation and execution records, the callback index is the
``callback_id`` of CALLBACK operations, and the current checkpoint token and the
last checkpoint's ClientToken answer are fields of ``ExecutionRecord``. ``load``
returns it all for a restart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

from trio_durable.local.history import HistoryEvent, event_id
from trio_durable.records import quick_init
from trio_durable.wire import (
    CheckpointResult,
    ErrorObject,
    ExecutionStatus,
    Operation,
    OperationUpdate,
)


def body_digest(checkpoint_token: str, updates: Sequence[OperationUpdate]) -> str:
    """The digest of a checkpoint call's body (its CheckpointToken and Updates) that
    receipts compare and stores write; files hold digests made by this function."""
    try:
        data = orjson.dumps([checkpoint_token, list(updates)])
    except TypeError:  # not the shape of updates: never the body of an earlier call
        data = repr(list(updates)).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class CheckpointBody:
    """The body of a checkpoint call made with a ClientToken, digested only when
    needed: when that ClientToken comes again, or when a store writes the receipt.
    Most calls are never retried, and the digest (orjson of every update) cost
    about 1.5 us per update. The updates are let go once digested."""

    __slots__ = ("_checkpoint_token", "_digest", "_updates")

    def __init__(self, checkpoint_token: str, updates: Sequence[OperationUpdate]) -> None:
        self._checkpoint_token = checkpoint_token
        self._updates: tuple[OperationUpdate, ...] = tuple(updates)
        self._digest: str | None = None

    def digest(self) -> str:
        if self._digest is None:
            self._digest = body_digest(self._checkpoint_token, self._updates)
            self._updates = ()
        return self._digest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CheckpointBody):
            return NotImplemented
        return self.digest() == other.digest()

    def __hash__(self) -> int:
        return hash(self.digest())

    def __repr__(self) -> str:
        return f"CheckpointBody(digest={self.digest()!r})"


@dataclass(frozen=True, slots=True)
class CheckpointReceipt:
    """The last checkpoint call of an execution, kept so that a retry of it with the
    same ClientToken (and the token it was made with) gets the same answer.
    ``body`` is the call's CheckpointToken and Updates (a ``CheckpointBody``, or
    its digest as stores load it), so the same ClientToken with another body is
    refused (None in files written before it: any body matches)."""

    client_token: str
    checkpoint_token: str
    result: CheckpointResult
    body: str | CheckpointBody | None = None

    def answers(self, checkpoint_token: str, updates: Sequence[OperationUpdate]) -> bool:
        """Whether a call with ``checkpoint_token`` and ``updates`` is the call
        this receipt answered."""
        if checkpoint_token != self.checkpoint_token:
            return False
        if self.body is None:
            return True
        return self.digest() == body_digest(checkpoint_token, updates)

    def digest(self) -> str | None:
        """The body's digest, as stores write it."""
        body = self.body
        return body if body is None or isinstance(body, str) else body.digest()


@dataclass(frozen=True, slots=True)
class PauseState:
    """A pause request in force: when it came, its reason, and whether it also
    stops the execution timeout's clock (the deadline moves on by the time paused)."""

    request_timestamp: float
    reason: str | None = None
    timeout_paused: bool = False


@dataclass(frozen=True, slots=True)
class ControlReceipt:
    """The last pause or resume request made with a ClientToken, kept so that a
    retry of it succeeds again without a second event."""

    action: str
    client_token: str
    reason: str | None = None
    timeout_paused: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One durable execution: identity, status, outcome, and the scheduler's state.

    ``deadline`` is the execution timeout as epoch seconds. ``closed`` turns true
    when the terminal event is in the history (the status may turn terminal a
    little earlier, while the last invocation winds down). ``invocation_id`` is the
    RequestId of the invocation in flight, if any; ``wake`` records that something
    changed during it, so it must be followed by another; ``crashes`` counts
    consecutive crashed invocations. ``parent_arn``/``parent_operation_id`` link the
    target of a CHAINED_INVOKE back to the operation that started it. ``pause`` is
    set while the execution is paused (its status stays RUNNING: pending operations
    still complete, only invocations are held back); ``last_control`` is the last
    pause or resume request that carried a ClientToken. ``tenant_id`` is the tenant
    it was invoked for (Invoke's TenantId), which every invocation of it carries;
    so does ``trace_header``, the X-Ray header it was started under (a chained
    invoke's XAmznTraceId, an Invoke's X-Amzn-Trace-Id).
    """

    arn: str
    name: str
    function_name: str
    status: ExecutionStatus
    start_timestamp: float
    input_payload: str | None
    checkpoint_token: str
    timeout_seconds: int
    event_count: int
    deadline: float | None = None
    end_timestamp: float | None = None
    result: str | None = None
    error: ErrorObject | None = None
    closed: bool = False
    invocation_id: str | None = None
    invocation_start: float | None = None
    wake: bool = False
    crashes: int = 0
    last_checkpoint: CheckpointReceipt | None = None
    parent_arn: str | None = None
    parent_operation_id: str | None = None
    pause: PauseState | None = None
    last_control: ControlReceipt | None = None
    tenant_id: str | None = None
    trace_header: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class OperationRecord:
    """One operation as the service knows it: the wire ``Operation`` plus the
    service-private data behind its timers.

    ``seq`` is the operation's position in its execution (0 = the EXECUTION
    operation), the order of ``GetDurableExecutionState``. ``timeout_deadline``
    and ``heartbeat_deadline`` (epoch seconds) belong to a CALLBACK; a WAIT's
    timer is ``operation.scheduled_end_timestamp``, a STEP retry's is
    ``operation.next_attempt_timestamp``. ``target_arn`` is the execution a
    CHAINED_INVOKE started.
    """

    execution_arn: str
    seq: int
    operation: Operation
    callback_timeout_seconds: int | None = None
    callback_heartbeat_timeout_seconds: int | None = None
    timeout_deadline: float | None = None
    heartbeat_deadline: float | None = None
    target_arn: str | None = None


@dataclass(frozen=True, slots=True)
class ExecutionChange:
    """What one engine action changed in one execution: the record (upserted), the
    operation records that changed (upserted by ``(execution_arn, operation.id)``)
    and the events appended (their ``EventId`` continues the history)."""

    execution: ExecutionRecord
    operations: tuple[OperationRecord, ...] = ()
    events: tuple[HistoryEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredExecution:
    """One execution as ``Store.load`` returns it: operations in ``seq`` order,
    events in ``EventId`` order."""

    execution: ExecutionRecord
    operations: tuple[OperationRecord, ...]
    events: tuple[HistoryEvent, ...]


class Store(Protocol):
    """Durable home of the engine's state. Calls come from one thread at a time."""

    def write(self, changes: Sequence[ExecutionChange]) -> None:
        """Apply ``changes`` atomically: all of them or (on an exception) none."""
        ...

    def load(self) -> Iterable[StoredExecution]:
        """Every execution stored, in the order they were started."""
        ...

    def load_execution(self, arn: str) -> StoredExecution | None:
        """One execution with its operations and history, or None if absent (the
        engine reads an ended execution's details here when asked for them)."""
        ...

    def delete(self, arn: str) -> None:
        """Remove the execution ``arn`` with its operations and history, atomically."""
        ...

    def close(self) -> None:
        """Release resources; the store is not used afterwards."""
        ...


class MemoryStore:
    """A ``Store`` in process memory: state survives a restart of the engine, not of
    the process. Records are immutable, so sharing them with the engine is safe."""

    __slots__ = ("_events", "_executions", "_operations")

    def __init__(self) -> None:
        self._executions: dict[str, ExecutionRecord] = {}
        self._operations: dict[str, dict[str, OperationRecord]] = {}
        self._events: dict[str, list[HistoryEvent]] = {}

    def write(self, changes: Sequence[ExecutionChange]) -> None:
        counts: dict[str, int] = {}
        for change in changes:
            arn = change.execution.arn
            count = counts.get(arn, len(self._events.get(arn, ())))
            counts[arn] = check_change(change, count)
        for change in changes:
            arn = change.execution.arn
            self._executions[arn] = change.execution
            ops = self._operations.setdefault(arn, {})
            for record in change.operations:
                ops[record.operation.id] = record
            self._events.setdefault(arn, []).extend(change.events)

    def load(self) -> list[StoredExecution]:
        return [self._stored(arn, record) for arn, record in self._executions.items()]

    def load_execution(self, arn: str) -> StoredExecution | None:
        record = self._executions.get(arn)
        return None if record is None else self._stored(arn, record)

    def _stored(self, arn: str, record: ExecutionRecord) -> StoredExecution:
        return StoredExecution(
            execution=record,
            operations=tuple(sorted(self._operations[arn].values(), key=_by_seq)),
            events=tuple(self._events[arn]),
        )

    def delete(self, arn: str) -> None:
        self._executions.pop(arn, None)
        self._operations.pop(arn, None)
        self._events.pop(arn, None)

    def close(self) -> None:
        """Nothing to release."""


def _by_seq(record: OperationRecord) -> int:
    return record.seq


def check_change(change: ExecutionChange, count: int) -> int:
    """The history length after ``change``, given ``count`` events before it; refuses
    (``ValueError``) a change whose events would not continue the history, or whose
    record miscounts them (a bug upstream)."""
    for event in change.events:
        count += 1
        if event_id(event) != count:
            raise ValueError(
                f"event {event_id(event)!r} of {change.execution.arn} does not"
                f" continue the history at EventId {count}"
            )
    if change.execution.event_count != count:
        raise ValueError(
            f"execution record of {change.execution.arn} says"
            f" {change.execution.event_count} events, the history has {count}"
        )
    return count
