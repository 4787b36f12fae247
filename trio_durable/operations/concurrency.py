"""The batch core of ``parallel`` and ``map``: branches run as concurrent tasks.

A batch is a CONTEXT operation (subtype ``Parallel`` / ``Map``) recorded like a
child context (``operations/child.py``): its result is the ``BatchResult[Any]``,
and one over 256 KB is recorded with ReplayChildren and rebuilt from the
branches' records on replay. Each branch is a child CONTEXT operation
(``ParallelBranch`` / ``MapIteration``) whose id is fixed by its index; with
FLAT nesting it is a virtual context that records nothing of its own.

The coordinator (the caller's task) starts branches in index order, at most
``max_concurrency`` at a time, each in its own task of a task group with a
context created for it there; it collects outcomes, and once ``decide`` says
the batch is complete it starts no more and cancels those still running (they
are reported STARTED). A completed branch replays its recorded result without
running again; a branch that parks (a wait) parks the invocation when all do.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from trio_durable.config import CompletionConfig, MapConfig, NestingMode, ParallelConfig
from trio_durable.errors import (
    DurableExecutionError,
    NonDeterministicExecutionError,
    SerializationError,
    ServiceError,
    ValidationError,
    error_object_from_exception,
)
from trio_durable.operations.batch import (
    BatchItem,
    BatchItemStatus,
    BatchResult,
    CompletionReason,
    decide,
)
from trio_durable.operations.child import run_child
from trio_durable.operations.protocols import OperationScope
from trio_durable.runtime.ids import operation_id
from trio_durable.runtime.primitives import Event, checkpoint, new_event, open_task_group
from trio_durable.runtime.state import Activity
from trio_durable.serialization import Serializer
from trio_durable.wire import MAX_OPERATION_NAME_LENGTH, OperationStatus

BranchFn = Callable[[Any], Awaitable[Any]]
"""A user's branch: ``await fn(branch_ctx)`` with the branch's ``DurableContext``."""
ScopeBody = Callable[[OperationScope], Awaitable[Any]]

# Errors that are not a branch's own failure: they end the invocation instead.
_FATAL = (NonDeterministicExecutionError, ServiceError)


@dataclass(frozen=True, slots=True)
class BatchKind:
    """The subtypes and default branch names of one batch operation."""

    sub_type: str
    branch_sub_type: str
    branch_prefix: str


@dataclass(frozen=True, slots=True)
class Branch:
    """One branch: ``await fn(branch_scope)``, recorded under ``name``."""

    fn: ScopeBody
    name: str


def branch_name(name: Any, index: int) -> str:
    """``name`` if it is a valid branch name, else ``ValidationError``."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_OPERATION_NAME_LENGTH:
        raise ValidationError(
            f"the name of branch {index} must be a str of 1 to {MAX_OPERATION_NAME_LENGTH} "
            f"characters, got {name!r}"
        )
    return name


async def run_batch(
    ctx: OperationScope,
    kind: BatchKind,
    branches: Sequence[Branch],
    *,
    name: str | None,
    config: ParallelConfig | MapConfig,
) -> BatchResult[Any]:
    """Run the batch (see the module doc) and return its (recorded) ``BatchResult``."""
    completion = config.completion
    if completion.min_successful is not None and completion.min_successful > len(branches):
        raise ValidationError(
            f"min_successful is {completion.min_successful} but the batch has only "
            f"{len(branches)} branches"
        )
    invocation = ctx.invocation
    codec = _BatchCodec(config.serializer, invocation.serializer)
    batch = _Batch(kind, branches, config, config.item_serializer or invocation.serializer)
    result: BatchResult[Any] = await run_child(
        ctx, batch.run, (), name=name, serializer=codec, sub_type=kind.sub_type, user_code=False
    )
    return result


class _BatchCodec:
    """Writes a ``BatchResult`` with the operation's serializer (which gets the
    ``BatchResult`` itself), or as JSON of its items with the handler's."""

    def __init__(self, custom: Serializer | None, default: Serializer) -> None:
        self._custom = custom
        self._default = default

    def serialize(self, value: BatchResult[Any]) -> str | None:
        if self._custom is not None:
            return self._custom.serialize(value)
        return self._default.serialize(value.to_dict())

    def deserialize(self, payload: str | None) -> BatchResult[Any]:
        if self._custom is None:
            return BatchResult.from_dict(self._default.deserialize(payload))
        value = self._custom.deserialize(payload)
        if not isinstance(value, BatchResult):
            raise SerializationError(
                f"the batch serializer must read back a BatchResult, got {type(value).__name__}"
            )
        return value


class _Inbox:
    """Outcomes of finished branches, and the coordinator's sleep.

    Each task counts once in ``Activity.running`` while it can make progress.
    The coordinator stops counting while it sleeps; the branch that wakes it
    hands its own count over, so no moment shows "all parked" falsely.
    """

    def __init__(self, activity: Activity) -> None:
        self._activity = activity
        self._sleeping: Event | None = None
        self.outcomes: deque[tuple[int, BatchItem[Any] | BaseException | None]] = deque()

    def put(self, index: int, outcome: BatchItem[Any] | BaseException | None) -> None:
        """Called by a branch task as it ends (``None``: it was cancelled)."""
        self.outcomes.append((index, outcome))
        sleeping = self._sleeping
        if sleeping is not None and not sleeping.is_set():
            sleeping.set()  # the coordinator takes over this task's count
        else:
            self._activity.task_finished()

    async def wait(self) -> None:
        """Return once an outcome is queued."""
        if self.outcomes:
            await checkpoint()
            return
        sleeping = self._sleeping = new_event()
        self._activity.task_finished()
        try:
            await sleeping.wait()
        finally:
            self._sleeping = None
            if not sleeping.is_set():  # cancelled asleep: count again
                self._activity.task_started()


class _Batch:
    """One run of a batch body, over the batch's own context."""

    def __init__(
        self,
        kind: BatchKind,
        branches: Sequence[Branch],
        config: ParallelConfig | MapConfig,
        item_serializer: Serializer,
    ) -> None:
        self.kind = kind
        self.branches = branches
        self.completion: CompletionConfig = config.completion
        self.limit = config.max_concurrency or max(len(branches), 1)
        self.virtual = config.nesting is NestingMode.FLAT
        self.item_serializer = item_serializer

    async def run(self, bctx: OperationScope) -> BatchResult[Any]:
        state = bctx.invocation.state
        recorded = state.get(bctx.parent_id or "")
        replay_children = recorded is not None and recorded.status is OperationStatus.SUCCEEDED
        if replay_children and not self.virtual:
            return await self._rebuild(bctx)
        return await self._execute(bctx)

    async def _execute(self, bctx: OperationScope) -> BatchResult[Any]:
        total = len(self.branches)
        items: dict[int, BatchItem[Any]] = {}
        succeeded = failed = started = 0
        fatal: BaseException | None = None
        reason = decide(self.completion, total=total, succeeded=0, failed=0)
        activity = bctx.invocation.activity
        inbox = _Inbox(activity)
        async with open_task_group() as group:
            running = 0
            while reason is None and fatal is None:
                while started < total and running < self.limit:
                    activity.task_started()
                    group.start_soon(self._branch_task, bctx, started, inbox)
                    started += 1
                    running += 1
                await inbox.wait()
                while inbox.outcomes:
                    index, outcome = inbox.outcomes.popleft()
                    running -= 1
                    if isinstance(outcome, BatchItem):
                        items[index] = outcome
                        if outcome.status is BatchItemStatus.SUCCEEDED:
                            succeeded += 1
                        else:
                            failed += 1
                    elif outcome is not None:
                        fatal = fatal or outcome
                reason = decide(self.completion, total=total, succeeded=succeeded, failed=failed)
            group.cancel_scope.cancel()
        if fatal is not None:
            raise fatal
        assert reason is not None
        return BatchResult(
            tuple(items.get(i, BatchItem(i, BatchItemStatus.STARTED)) for i in range(started)),
            reason,
        )

    async def _branch_task(self, bctx: OperationScope, index: int, inbox: _Inbox) -> None:
        outcome: BatchItem[Any] | BaseException | None = None
        try:
            outcome = await self._run_branch(bctx, index)
        except _FATAL as exc:
            outcome = exc
        finally:
            inbox.put(index, outcome)

    async def _run_branch(self, bctx: OperationScope, index: int) -> BatchItem[Any]:
        """Run branch ``index`` in a context created in the calling task."""
        branch = self.branches[index]
        serializer = self.item_serializer
        if self.virtual:
            vctx = bctx.branch(index, virtual=True)
            try:
                value = serializer.deserialize(serializer.serialize(await branch.fn(vctx)))
            except _FATAL:
                raise
            except Exception as exc:
                return BatchItem(
                    index, BatchItemStatus.FAILED, error=error_object_from_exception(exc)
                )
            return BatchItem(index, BatchItemStatus.SUCCEEDED, value)
        slot = bctx.branch(index, virtual=False)
        try:
            value = await run_child(
                slot,
                branch.fn,
                (),
                name=branch.name,
                serializer=serializer,
                sub_type=self.kind.branch_sub_type,
            )
        except _FATAL:
            raise
        except DurableExecutionError as exc:
            return BatchItem(index, BatchItemStatus.FAILED, error=exc.to_error_object())
        return BatchItem(index, BatchItemStatus.SUCCEEDED, value)

    async def _rebuild(self, bctx: OperationScope) -> BatchResult[Any]:
        """The result of a batch recorded with ReplayChildren, from its branches' records.

        Branches with a terminal record replay (a succeeded one re-reads its
        result, no body runs again); one left STARTED is reported so; branches
        without a record were never started.
        """
        state = bctx.invocation.state
        items: list[BatchItem[Any]] = []
        for index in range(len(self.branches)):
            record = state.get(operation_id(bctx.parent_id, index))
            if record is None:
                continue
            if record.status.is_terminal:
                items.append(await self._run_branch(bctx, index))
            else:
                items.append(BatchItem(index, BatchItemStatus.STARTED))
        succeeded = sum(item.status is BatchItemStatus.SUCCEEDED for item in items)
        failed = sum(item.status is BatchItemStatus.FAILED for item in items)
        reason = decide(
            self.completion, total=len(self.branches), succeeded=succeeded, failed=failed
        )
        return BatchResult(tuple(items), reason or CompletionReason.ALL_COMPLETED)
