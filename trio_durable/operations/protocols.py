"""What an operation module may use of the context that runs it.

The operation modules never import ``runtime/context.py`` (which imports them
all): they receive an ``OperationScope``, the narrow view below, and
``runtime/context.py`` implements it (``ContextScope``). User callables never
see a scope; they get ``scope.context``, the ``DurableContext`` it belongs to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from trio_durable.batcher.batcher import CheckpointBatcher
    from trio_durable.plugins import OperationInfo, PluginRunner
    from trio_durable.runtime.logger import DurableLogger
    from trio_durable.runtime.state import Activity, ExecutionState
    from trio_durable.runtime.threads import ToThread
    from trio_durable.serialization import Serializer
    from trio_durable.wire import Operation, OperationType, OperationUpdate

__all__ = ["InvocationParts", "OperationScope", "UpdateBuilder"]

UpdateBuilder = Callable[..., "OperationUpdate"]
"""``update(action, **fields)``: an update of one operation (see ``OperationScope.updates``)."""


class InvocationParts(Protocol):
    """What every context of one invocation shares, as the operations use it."""

    @property
    def state(self) -> ExecutionState:
        """The state actor: the operations by id; ``wait_for`` parks until a record fits."""
        ...

    @property
    def batcher(self) -> CheckpointBatcher:
        """The checkpoint batcher's mailbox: ``submit`` queues, ``checkpoint`` waits."""
        ...

    @property
    def activity(self) -> Activity:
        """Running-task counts the supervisor suspends on."""
        ...

    @property
    def serializer(self) -> Serializer:
        """The handler's serializer (an operation's own config may override it)."""
        ...

    @property
    def plugins(self) -> PluginRunner | None:
        """The plugin runner; ``None`` when no plugin is registered."""
        ...

    @property
    def checkpoint(self) -> Callable[[], Awaitable[None]]:
        """The running backend's own checkpoint."""
        ...

    @property
    def replay_checkpoint(self) -> Callable[[], Awaitable[None]]:
        """The checkpoint of an operation answered from its record: a cancel point,
        and a schedule point once in a while (``primitives.new_replay_checkpoint``)."""
        ...

    @property
    def current_task(self) -> Callable[[], object]:
        """The running task (the same object each time a task asks: compare with ``is``)."""
        ...

    @property
    def to_thread(self) -> ToThread:
        """Runs a sync step body in a worker thread."""
        ...


class OperationScope(Protocol):
    """One context as the operation modules see it: ids in program order, updates,
    plugin views, and the child and branch scopes it opens."""

    @property
    def parent_id(self) -> str | None:
        """The operation this context's operations are recorded under."""
        ...

    @property
    def invocation(self) -> InvocationParts: ...

    @property
    def logger(self) -> DurableLogger:
        """The context's replay-aware logger."""
        ...

    @property
    def context(self) -> Any:
        """The ``DurableContext`` user callables receive for this scope."""
        ...

    def next_operation(
        self, type: OperationType, sub_type: str | None, name: str | None
    ) -> tuple[str, Operation | None]:
        """The next operation id in program order and its record, if one exists
        (``NonDeterministicExecutionError`` if the record is of another operation)."""
        ...

    def replayed_success(self, type: OperationType, sub_type: str | None, name: str | None) -> Any:
        """The recorded result of the next operation when its record SUCCEEDED as
        this operation (it is then numbered); else ``NOT_SUCCEEDED``
        (``runtime/state.py``), and ``next_operation`` follows."""
        ...

    def numbered_id(self) -> str:
        """The id of the operation numbered last in this context."""
        ...

    def replayed_record(
        self, type: OperationType, sub_type: str | None, name: str | None
    ) -> tuple[str, Operation] | None:
        """The id and record of the next operation when it is recorded as this
        operation and has ended (it is then numbered); else ``None``, and
        ``next_operation`` follows."""
        ...

    def updates(
        self, op_id: str, type: OperationType, sub_type: str | None, name: str | None
    ) -> UpdateBuilder:
        """A builder of updates of operation ``op_id`` of this context."""
        ...

    def plugin_info(
        self,
        op_id: str,
        type: OperationType,
        sub_type: str | None,
        name: str | None,
        recorded: Operation | None,
    ) -> OperationInfo | None:
        """The plugins' view of an operation, or ``None`` (no plugins, or replayed
        from its terminal record)."""
        ...

    def child(self, parent_id: str, *, replaying: bool) -> OperationScope:
        """The scope of a child context whose operations are recorded under ``parent_id``."""
        ...

    def virtual_child(self, op_id: str) -> OperationScope:
        """The scope of a virtual child context ``op_id``: its operations are numbered
        under ``op_id`` and recorded under this scope's parent."""
        ...

    def branch(self, index: int, *, virtual: bool) -> OperationScope:
        """The scope, owned by the calling task, of branch ``index`` of the batch
        this scope runs (a nested branch's next operation is its CONTEXT; a
        virtual one records its operations under the batch)."""
        ...
