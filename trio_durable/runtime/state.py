"""The execution state of one invocation, its actor, and who is parked on it.

``ExecutionState`` holds the operations by id. Only the ``StateActor`` writes
it: merges (``NewExecutionState`` pages the batcher hands over) arrive on its
channel and are applied in order; the acknowledgements that came with a merge
are set only after it is applied, so a task woken by its checkpoint always
sees the merged state (a CallbackId, say). Workflow tasks read it directly
(one thread, no await between read and use) and park on an id until a merge
changes that operation.

``Activity`` counts workflow tasks that can still make progress in this
invocation. A parked task waits for something only a later invocation (or a
merge) delivers; when every live task is parked the invocation may suspend.
Parking and waking adjust the counts at the moment they happen (not when the
woken task next runs), so the supervisor never sees a stale "all parked".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, cast

from trio_durable.runtime.mailbox import Mailbox
from trio_durable.runtime.primitives import Event, checkpoint, new_event
from trio_durable.wire import (
    DETAILS_KEYS,
    Operation,
    OperationStatus,
    OperationType,
    RecordedPage,
    WireDict,
    operation_from_wire,
)

_SUCCEEDED = OperationStatus.SUCCEEDED
NOT_SUCCEEDED: Any = object()
"""What ``ExecutionState.succeeded`` answers for anything but a recorded success."""


def ended(op: Operation) -> bool:
    """Whether ``op`` reached a terminal status: what a wait for an outcome waits for."""
    return op.status.is_terminal


class Activity:
    """Running and parked workflow tasks of one invocation; ``wakes`` counts unparkings."""

    __slots__ = ("_quiescent", "parked", "running", "wakes")

    def __init__(self) -> None:
        self.running = 0
        self.parked = 0
        self.wakes = 0
        self._quiescent = new_event()

    @property
    def is_quiescent(self) -> bool:
        """Every live task is parked (and at least one is)."""
        return self.running == 0 and self.parked > 0

    def task_started(self) -> None:
        self.running += 1

    def task_finished(self) -> None:
        self.running -= 1
        self._changed()

    def park(self) -> None:
        self.running -= 1
        self.parked += 1
        self._changed()

    def unpark(self) -> None:
        self.parked -= 1
        self.running += 1
        self.wakes += 1

    def _changed(self) -> None:
        if self.is_quiescent:
            self._quiescent.set()

    async def wait_quiescent(self) -> None:
        """Return once every live task is parked (re-arms for the next call)."""
        if not self.is_quiescent:
            await self._quiescent.wait()
        self._quiescent = new_event()


class ExecutionState:
    """Operations by id, and the tasks parked on them.

    Records of the first state page may arrive unparsed (``wire.recorded_operations``):
    each is parsed on its first ``get``, and ``succeeded`` answers a replayed
    operation from the unparsed record without parsing it at all.
    """

    __slots__ = (
        "_activity",
        "_operations",
        "_parked",
        "execution_id",
        "ids",
        "replay_checkpoint",
    )

    def __init__(
        self,
        operations: Iterable[Operation | WireDict],
        activity: Activity,
        replay_checkpoint: Callable[[], Awaitable[None]] = checkpoint,
        *,
        page: RecordedPage | None = None,
    ) -> None:
        """``page`` (the first state page; its dicts are taken over, not copied)
        comes first, then ``operations`` (the records of later pages)."""
        self.replay_checkpoint = replay_checkpoint
        self._operations: dict[str, Operation | WireDict] = {}
        self._parked: dict[str, list[Event]] = {}
        self._activity = activity
        self.execution_id: str | None = None
        if page is not None:
            self._operations, self.execution_id = page.operations, page.execution_id
        self.ids: Mapping[str, object] = MappingProxyType(self._operations)
        known = self._operations
        for op in operations:
            if isinstance(op, Operation):
                known[op.id] = op
                if op.type is OperationType.EXECUTION:
                    self.execution_id = op.id
            else:
                known[op["Id"]] = op  # parsed on first use (never an EXECUTION)

    def __len__(self) -> int:
        return len(self._operations)

    def __contains__(self, op_id: str) -> bool:
        return op_id in self._operations

    def get(self, op_id: str) -> Operation | None:
        op = self._operations.get(op_id)
        if isinstance(op, dict):
            op = self._operations[op_id] = operation_from_wire(op)
        return op

    def succeeded(
        self,
        op_id: str,
        op_type: OperationType,
        sub_type: str | None,
        name: str | None,
        parent_id: str | None,
    ) -> Any:
        """The recorded result of ``op_id`` when it is recorded SUCCEEDED as an
        operation of ``op_type``, ``sub_type`` and ``name`` under ``parent_id``;
        ``NOT_SUCCEEDED`` for anything else, which the full replay check then
        looks at. Once per replayed operation: an unparsed record is read where
        it is (``wire.recorded_operations`` vouched for its shape) rather than
        parsed, and the answer is a result, not a pair."""
        op = self._operations.get(op_id)
        if type(op) is dict:
            # An optional field is compared by subscript where the operation has
            # one and must be absent where it has none: a fifth cheaper than
            # three dict.get calls. A field recorded as null answers
            # NOT_SUCCEEDED, and the full path parses the record and replays it.
            try:
                if not (
                    op["Status"] == "SUCCEEDED"
                    and op["Type"] == op_type
                    and (op["Name"] == name if name is not None else "Name" not in op)
                    and (op["SubType"] == sub_type if sub_type is not None else "SubType" not in op)
                    and (
                        op["ParentId"] == parent_id
                        if parent_id is not None
                        else "ParentId" not in op
                    )
                ):
                    return NOT_SUCCEEDED
            except KeyError:  # a field asked for is not there
                return NOT_SUCCEEDED
            try:  # wire.recorded_operations vouched that details are a dict or null
                return op[DETAILS_KEYS[op_type]]["Result"]
            except (KeyError, TypeError):  # no details (or null), no result: nothing recorded
                return None
        if (
            type(op) is Operation
            and op.status is _SUCCEEDED
            and op.type is op_type
            and op.sub_type == sub_type
            and op.name == name
            and op.parent_id == parent_id
        ):
            return op.result
        return NOT_SUCCEEDED

    def view(self) -> Mapping[str, Operation]:
        """The operations by id (live: read-only, do not keep)."""
        self._parse_all()
        return cast("Mapping[str, Operation]", self._operations)

    def snapshot(self) -> dict[str, Operation]:
        """A copy of the operations by id, in the order they became known."""
        return dict(self.view())

    def _parse_all(self) -> None:
        known = self._operations
        for op_id, op in known.items():
            if isinstance(op, dict):
                known[op_id] = operation_from_wire(op)  # same key: the order stays

    def apply(self, operations: Iterable[Operation]) -> None:
        """Merge ``operations`` (newer replaces older) and wake who is parked on them."""
        known, parked = self._operations, self._parked
        for op in operations:
            known[op.id] = op
            if op.type is OperationType.EXECUTION:
                self.execution_id = op.id
            if parked:  # most merges wake nobody
                waiters = parked.pop(op.id, None)
                if waiters:
                    for event in waiters:
                        self._activity.unpark()
                        event.set()

    def park(self, op_id: str) -> Event:
        """An event set by the next merge that touches ``op_id``; counts as parked."""
        event = new_event()
        self._parked.setdefault(op_id, []).append(event)
        self._activity.park()
        return event

    def cancel_park(self, op_id: str, event: Event) -> None:
        """Withdraw a parking that was not woken (its task is leaving)."""
        waiters = self._parked.get(op_id)
        if waiters and event in waiters:
            waiters.remove(event)
            self._activity.unpark()

    async def wait_for(self, op_id: str, done: Callable[[Operation], bool]) -> Operation:
        """The operation once ``done`` holds for it, parking until merges make it so.

        An operation already done (a replayed one) is a ``replay_checkpoint``.
        """
        op = self.get(op_id)
        if op is not None and done(op):
            await self.replay_checkpoint()
            return op
        while True:
            op = self.get(op_id)
            if op is not None and done(op):
                return op
            event = self.park(op_id)
            try:
                await event.wait()
            finally:
                if not event.is_set():
                    self.cancel_park(op_id, event)


@dataclass(frozen=True, slots=True)
class Merge:
    """Operations to merge, and the acknowledgements to set once they are in."""

    operations: tuple[Operation, ...]
    acks: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class StateActorStatistics:
    """Merges waiting, merges applied, and operations known."""

    queued: int
    merges_applied: int
    operations: int


MergeObserver = Callable[
    [tuple[Operation, ...], list[Operation | None], Mapping[str, Operation]], None
]
"""Told of each merge once it is applied, before its acknowledgements are set:
the merged operations, what each replaced (``None``: new), and every operation."""


class StateActor:
    """The one writer of an ``ExecutionState``: applies merges in arrival order
    (and tells its observer, the plugins' ``PluginRunner.merged``, if any)."""

    def __init__(self, state: ExecutionState, observer: MergeObserver | None = None) -> None:
        self.state = state
        self._mailbox: Mailbox[Merge] = Mailbox()
        self._observer = observer
        self.merges_applied = 0

    def submit(self, merge: Merge) -> None:
        """Queue a merge (never blocks: the channel is unbounded)."""
        self._mailbox.put(merge)

    def statistics(self) -> StateActorStatistics:
        return StateActorStatistics(
            queued=len(self._mailbox),
            merges_applied=self.merges_applied,
            operations=len(self.state),
        )

    async def run(self) -> None:
        """Apply merges until cancelled; on the way out, apply what is still queued.

        A merge carries the answer to a call the service has recorded; when the
        invocation is torn down (say, the batcher failed on a later call), a
        caller waiting on it (a shielded flush) must still be woken.
        """
        mailbox = self._mailbox
        try:
            while True:
                if mailbox:
                    await checkpoint()
                else:
                    await mailbox.wait()
                self._apply_queued()
        finally:
            self._apply_queued()

    def _apply_queued(self) -> None:
        mailbox, state, observer = self._mailbox, self.state, self._observer
        while mailbox:
            merge = mailbox.popleft()
            if observer is None:
                state.apply(merge.operations)
            else:
                before = [state.get(op.id) for op in merge.operations]
                state.apply(merge.operations)
                observer(merge.operations, before, state.view())
            self.merges_applied += 1
            for ack in merge.acks:
                ack.set()
