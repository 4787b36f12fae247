"""The replay check: does new code still replay a recorded execution?

``replay(handler, history)`` runs one invocation of the handler against the
history's operations, as the service would after a deploy, with no side effects:
a client that records nothing, no plugins, and a hook (``runtime/replay.py``)
that sees every operation the code asks for. A recorded step is never run again
(one recorded as in flight waits instead); where the record ends (a new
operation, or one still open) that part of the workflow waits, as a suspension
would. The first divergence in program order is reported: the operation's id and
position, and what was recorded against what the code asks for. A recorded
operation the code no longer reaches (inside a part of the workflow that ran) is
a divergence too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

import trio
import trio.testing

from trio_durable.runtime.invocation import run_invocation
from trio_durable.runtime.replay import ReplayHook
from trio_durable.serialization import DEFAULT_SERIALIZER, Serializer
from trio_durable.testing.golden import operation_positions
from trio_durable.testing.history import HistoryFile
from trio_durable.wire import (
    CheckpointResult,
    Operation,
    OperationStatus,
    OperationType,
    StatePage,
    operation_to_wire,
)

__all__ = ["Divergence", "ReplayReport", "replay"]


@dataclass(frozen=True, slots=True)
class Shape:
    """What identifies an operation on replay: type, subtype, name and parent."""

    type: str
    sub_type: str | None
    name: str | None
    parent: str | None  # the parent's position, "-" at the top

    def __str__(self) -> str:
        name = "unnamed" if self.name is None else repr(self.name)
        return f"{self.type} {name} (subtype {self.sub_type}, parent {self.parent or '-'})"


@dataclass(frozen=True, slots=True)
class Divergence:
    """The first place where the code no longer matches the record."""

    operation_id: str
    position: str
    recorded: Shape | None  # None: the code asks for an operation the record lacks
    code: Shape | None  # None: the code no longer reaches the recorded operation

    def __str__(self) -> str:
        where = f"operation {self.position} (id {self.operation_id[:12]})"
        if self.code is None:
            return f"{where}: recorded {self.recorded}, which the code no longer reaches"
        return f"{where}: recorded {self.recorded}, the code asks for {self.code}"


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """The outcome of replaying one history."""

    divergence: Divergence | None
    operations_replayed: int  # recorded operations the code reached
    outcome: str  # the code's answer: SUCCEEDED, FAILED or PENDING (it reached the record's end)

    @property
    def compatible(self) -> bool:
        return self.divergence is None


def replay(handler: Any, history: HistoryFile | str | os.PathLike[str]) -> ReplayReport:
    """Replay ``history`` (a ``HistoryFile`` or its path) against ``handler`` (a
    ``@durable_execution`` handler or its workflow function), with no side effects."""
    if not isinstance(history, HistoryFile):
        history = HistoryFile.load(history)
    workflow = getattr(handler, "workflow", handler)
    serializer: Serializer = getattr(handler, "serializer", DEFAULT_SERIALIZER)
    check = _Check(history.operations)
    answer = trio.run(
        _invoke,
        workflow,
        serializer,
        history,
        check,
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
    return ReplayReport(check.first_divergence(), len(check.reached), answer["Status"])


async def _invoke(
    workflow: Any, serializer: Serializer, history: HistoryFile, check: _Check
) -> dict[str, Any]:
    event = {
        "DurableExecutionArn": history.execution_arn,
        "CheckpointToken": "replay",
        "InitialExecutionState": {
            "Operations": [operation_to_wire(op) for op in history.operations]
        },
    }
    return await run_invocation(
        workflow, event, client=_NoService(), serializer=serializer, replay_hook=check
    )


class _NoService:
    """A service client that records nothing: what the replayed code checkpoints
    (a child context ending, say) is dropped."""

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Any,
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        await trio.lowlevel.checkpoint()
        return CheckpointResult(checkpoint_token, StatePage((), None))

    async def get_execution_state(
        self, execution_arn: str, checkpoint_token: str, *, marker: str | None = None
    ) -> StatePage:
        await trio.lowlevel.checkpoint()
        return StatePage((), None)


class _Check(ReplayHook):
    """Sees each operation the code asks for; answers what to treat as its record."""

    def __init__(self, operations: tuple[Operation, ...]) -> None:
        self.recorded = {op.id: op for op in operations}
        self.positions = operation_positions(operations)
        self.reached: set[str] = set()
        self.divergences: list[Divergence] = []

    def operation(
        self,
        op_id: str,
        prefix: str | None,
        counter: int,
        type: OperationType,
        sub_type: str | None,
        name: str | None,
        parent_id: str | None,
        recorded: Operation | None,
    ) -> Operation | None:
        position = self.positions.get(op_id) or self._position(prefix, counter)
        self.positions.setdefault(op_id, position)
        code = Shape(type.value, sub_type, name, self._parent(parent_id))
        if recorded is not None:
            self.reached.add(op_id)
            was = Shape(
                recorded.type.value,
                recorded.sub_type,
                recorded.name,
                self._parent(recorded.parent_id),
            )
            if was != code:
                self.divergences.append(Divergence(op_id, position, was, code))
                return _waiting(op_id, type, sub_type, name, parent_id)
            if type is OperationType.STEP and recorded.status in (
                OperationStatus.STARTED,
                OperationStatus.READY,
            ):
                return replace(recorded, status=OperationStatus.PENDING)  # never re-run
            return recorded
        return _waiting(op_id, type, sub_type, name, parent_id)

    def _position(self, prefix: str | None, counter: int) -> str:
        if prefix is None:
            return str(counter)
        return f"{self.positions.get(prefix, prefix[:8])}.{counter}"

    def _parent(self, parent_id: str | None) -> str | None:
        if parent_id is None:
            return None
        parent = self.recorded.get(parent_id)
        if parent is not None and parent.type is OperationType.EXECUTION:
            return None
        return self.positions.get(parent_id, parent_id[:12])

    def first_divergence(self) -> Divergence | None:
        found = list(self.divergences)
        entered = {self.recorded[i].parent_id for i in self.reached}
        for op in self.recorded.values():
            if op.type is OperationType.EXECUTION or op.id in self.reached:
                continue
            parent = self.recorded.get(op.parent_id or "")
            top = parent is None or parent.type is OperationType.EXECUTION
            if top or op.parent_id in entered:
                was = Shape(op.type.value, op.sub_type, op.name, self._parent(op.parent_id))
                found.append(Divergence(op.id, self.positions[op.id], was, None))
        if not found:
            return None
        return min(found, key=lambda d: _order(d.position))


def _waiting(
    op_id: str,
    type: OperationType,
    sub_type: str | None,
    name: str | None,
    parent_id: str | None,
) -> Operation:
    """A record that makes the operation wait, as past the end of a real record:
    a step waits for a retry, anything else for its end."""
    status = OperationStatus.PENDING if type is OperationType.STEP else OperationStatus.STARTED
    return Operation(
        id=op_id,
        type=type,
        status=status,
        start_timestamp=0.0,
        parent_id=parent_id,
        name=name,
        sub_type=sub_type,
    )


def _order(position: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in position.split("."))
