"""``DurableContext``: what a workflow uses to run durable operations.

Each context numbers its operations in program order (``runtime/ids.py``), so
ids never depend on task scheduling; for that, a context may only be used from
the task that runs it. A context is *replaying* until it reaches
its last recorded operation; its logger is silent until then.

Longer than 600 lines for two reasons: the public methods' overloads, which give
each operation its precise types (checked arguments, ``step_context`` callables
of each arity, ``result_type=``), whose bodies are short calls into
``operations/`` (the replay short path first, where an operation has one); and
``ContextScope``, which makes the ``DurableContext`` of every child context and
so lives beside it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, overload

from trio_durable.config import (
    CallbackConfig,
    ChildConfig,
    InvokeConfig,
    StepConfig,
    WaitForCallbackConfig,
    WaitForConditionConfig,
)
from trio_durable.errors import ValidationError
from trio_durable.operations import callback as callback_op
from trio_durable.operations import child as child_op
from trio_durable.operations import invoke as invoke_op
from trio_durable.operations import map as map_op
from trio_durable.operations import parallel as parallel_op
from trio_durable.operations import step as step_op
from trio_durable.operations import wait as wait_op
from trio_durable.operations import wait_for_callback as wait_for_callback_op
from trio_durable.operations import wait_for_condition as wait_for_condition_op
from trio_durable.operations.protocols import UpdateBuilder
from trio_durable.payloads import annotated_type, as_type
from trio_durable.runtime.ids import known_ids, operation_id
from trio_durable.runtime.logger import DurableLogger
from trio_durable.runtime.replay import ReplayHook, check_replay
from trio_durable.runtime.state import NOT_SUCCEEDED
from trio_durable.runtime.step_context import (
    StepContext,
    WaitForCallbackContext,
    WithContext0,
    WithContext1,
    WithContext2,
    WithContext3,
    WithContext4,
)
from trio_durable.wire import (
    MAX_OPERATION_NAME_LENGTH,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from trio_durable.batcher.batcher import CheckpointBatcher
    from trio_durable.config import MapConfig, ParallelConfig
    from trio_durable.operations.batch import BatchResult
    from trio_durable.plugins import OperationInfo, PluginRunner
    from trio_durable.runtime.state import Activity, ExecutionState
    from trio_durable.runtime.threads import ToThread
    from trio_durable.serialization import Serializer

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 - a map's item
Ts = TypeVarTuple("Ts")
A1 = TypeVar("A1")
A2 = TypeVar("A2")
A3 = TypeVar("A3")


@dataclass(slots=True)
class Invocation:
    """What every context of one invocation shares."""

    execution_arn: str
    state: ExecutionState
    batcher: CheckpointBatcher
    activity: Activity
    serializer: Serializer
    logger: DurableLogger
    lambda_context: Any
    checkpoint: Callable[[], Awaitable[None]]  # the running backend's own checkpoint
    replay_checkpoint: Callable[[], Awaitable[None]]  # an operation answered from its record
    current_task: Callable[[], object]  # the running task (compared by identity)
    to_thread: ToThread  # runs a sync step body in a worker thread
    plugins: PluginRunner | None = None  # None when no plugin is registered
    replay_hook: ReplayHook | None = None  # a replay check's (testing/replay_check.py)


def check_name(name: str | None) -> str | None:
    """``name`` if it is a valid operation name, else ``ValidationError``."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise ValidationError(f"an operation name must be a str, got {type(name).__name__}")
    if not name or len(name) > MAX_OPERATION_NAME_LENGTH:
        raise ValidationError(
            f"an operation name must have 1 to {MAX_OPERATION_NAME_LENGTH} characters, "
            f"got {len(name)}"
        )
    return name


_SUCCEEDED = OperationStatus.SUCCEEDED  # the common outcome, tested before the others


def _other_task_error() -> ValidationError:
    return ValidationError(
        "a durable context was used from a task other than the one running it: "
        "concurrent tasks would number their operations in scheduling order, "
        "which replay cannot reproduce"
    )


class ContextScope:
    """One context as the operation modules see it (``operations.protocols.OperationScope``).

    It numbers the context's operations in program order and checks each
    against its record; ``context`` is the ``DurableContext`` it belongs to,
    which user callables receive.
    """

    __slots__ = (
        "_counter",
        "_id_prefix",
        "_known_ids",
        "_next_id",
        "_owner",
        "_plain",
        "_replaying",
        "_state",
        "context",
        "invocation",
        "logger",
        "parent_id",
    )

    def __init__(
        self,
        context: DurableContext,
        invocation: Invocation,
        *,
        parent_id: str | None,
        replaying: bool,
        id_prefix: str | None,
    ) -> None:
        self.context = context
        self.invocation = invocation
        self.parent_id = parent_id
        fields = {} if parent_id is None else {"context_id": parent_id}
        self.logger: DurableLogger = invocation.logger.bind(fields, self.is_replaying)
        self._owner = invocation.current_task()
        self._state = invocation.state
        self._counter = 0
        self._next_id: str | None = None  # the id of operation _counter + 1, once computed
        # Ids are numbered under the parent, except in a virtual (FLAT batch
        # branch) context: numbered under the branch, recorded under the batch.
        self._id_prefix = parent_id if id_prefix is None else id_prefix
        self._known_ids = known_ids(self._id_prefix)
        self._replaying = replaying
        # No plugin and no replay hook sees the operations: replays may take the short path.
        self._plain = invocation.plugins is None and invocation.replay_hook is None

    def is_replaying(self) -> bool:
        return self._replaying

    def next_operation(
        self, type: OperationType, sub_type: str | None, name: str | None
    ) -> tuple[str, Operation | None]:
        """The next operation id in program order, and its record if one exists.

        A record must be of the operation the code asks for now (type, subtype,
        name, parent): otherwise ``NonDeterministicExecutionError``.
        """
        op_id = self._number()
        invocation = self.invocation
        recorded = invocation.state.get(op_id)
        if self._replaying:
            self._look_ahead(recorded is not None)
        if invocation.replay_hook is not None:
            recorded = invocation.replay_hook.operation(
                op_id,
                self._id_prefix,
                self._counter,
                type,
                sub_type,
                name,
                self.parent_id,
                recorded,
            )
        if recorded is not None:
            check_replay(
                recorded, type=type, sub_type=sub_type, name=name, parent_id=self.parent_id
            )
        if invocation.plugins is not None:
            info = self.plugin_info(op_id, type, sub_type, name, recorded)
            if info is not None:
                invocation.plugins.emit("on_operation_start", info)
        return op_id, recorded

    def replayed_success(self, type: OperationType, sub_type: str | None, name: str | None) -> Any:
        """The recorded result of the next operation when it is recorded
        SUCCEEDED as this operation: then it is numbered, else nothing is and
        the answer is ``NOT_SUCCEEDED``.

        The replay of a successful operation, answered without parsing its
        record (``ExecutionState.succeeded``). ``NOT_SUCCEEDED`` also when
        plugins or a replay hook must see the operation: ``next_operation``
        serves those. A result, not an (id, result) pair: once per replayed
        operation; ``numbered_id`` names the operation when needed.
        """
        if not (self._replaying and self._plain):
            return NOT_SUCCEEDED
        op_id = self._next_id
        if op_id is None:
            op_id = self._next_id = operation_id(self._id_prefix, self._counter + 1)
        state = self._state
        result = state.succeeded(op_id, type, sub_type, name, self.parent_id)
        if result is NOT_SUCCEEDED:
            return result
        # The numbering (``_number`` and ``_look_ahead``) written out: once per
        # replayed operation, their calls were a tenth of a replay.
        if self.invocation.current_task() is not self._owner:
            raise _other_task_error()
        counter = self._counter = self._counter + 1
        known = self._known_ids  # the id of operation counter + 1 without a call, when known
        self._next_id = following = (
            known[counter] if counter < len(known) else operation_id(self._id_prefix, counter + 1)
        )
        if following not in state.ids:
            self._replaying = False
        return result

    def numbered_id(self) -> str:
        """The id of the operation numbered last in this context."""
        return operation_id(self._id_prefix, self._counter)

    def replayed_record(
        self, type: OperationType, sub_type: str | None, name: str | None
    ) -> tuple[str, Operation] | None:
        """The id and record of the next operation when it is recorded as this
        operation and has ended: then it is numbered, else nothing is.

        ``next_operation`` for a replayed operation that has an outcome, minus
        what only a mismatch, a plugin or a replay hook needs: ``None`` sends
        those (and an operation still under way) to ``next_operation``.
        """
        if not (self._replaying and self._plain):
            return None
        op_id = self._next_id = self._next_id or operation_id(self._id_prefix, self._counter + 1)
        state = self.invocation.state
        recorded = state.get(op_id)
        if (
            recorded is None
            or not (recorded.status is _SUCCEEDED or recorded.status.is_terminal)
            or recorded.type is not type
            or recorded.name != name
            or recorded.sub_type != sub_type
            or recorded.parent_id != self.parent_id
        ):
            return None
        self._number()
        self._look_ahead(True)
        return op_id, recorded

    def _number(self) -> str:
        """Number the next operation of this context, from the task that owns it."""
        if self.invocation.current_task() is not self._owner:
            raise _other_task_error()
        self._counter += 1
        op_id = self._next_id or operation_id(self._id_prefix, self._counter)
        self._next_id = None
        return op_id

    def _look_ahead(self, recorded: bool) -> None:
        """While replaying: past the last recorded operation (this one is not
        recorded, or the next is not), what follows runs for the first time."""
        if recorded:
            counter, known = self._counter, self._known_ids
            if counter < len(known):
                self._next_id = known[counter]
            else:
                self._next_id = operation_id(self._id_prefix, counter + 1)
            if self._next_id in self.invocation.state:
                return
        self._replaying = False

    def updates(
        self, op_id: str, type: OperationType, sub_type: str | None, name: str | None
    ) -> UpdateBuilder:
        """``update(action, **fields)``: an update of operation ``op_id`` of this context."""
        parent_id = self.parent_id

        def update(action: OperationAction, **fields: Any) -> OperationUpdate:
            return OperationUpdate(
                id=op_id,
                type=type,
                action=action,
                parent_id=parent_id,
                name=name,
                sub_type=sub_type,
                **fields,
            )

        return update

    def plugin_info(
        self,
        op_id: str,
        type: OperationType,
        sub_type: str | None,
        name: str | None,
        recorded: Operation | None,
    ) -> OperationInfo | None:
        """The plugin view of an operation (for its end and attempt hooks), or
        ``None`` without plugins or for an operation replayed from its terminal record."""
        plugins = self.invocation.plugins
        if plugins is None:
            return None
        return plugins.operation_info(op_id, type, sub_type, name, self.parent_id, recorded)

    def following(self) -> Operation | None:
        """The record of the operation this context would number next, if any."""
        self._next_id = self._next_id or operation_id(self._id_prefix, self._counter + 1)
        return self.invocation.state.get(self._next_id)

    def child(self, parent_id: str, *, replaying: bool) -> ContextScope:
        return DurableContext(self.invocation, parent_id=parent_id, replaying=replaying)._scope

    def virtual_child(self, op_id: str) -> ContextScope:
        """A scope numbering its operations under ``op_id`` and recording them
        under this scope's parent (a virtual child context)."""
        return DurableContext(
            self.invocation, parent_id=self.parent_id, replaying=self._replaying, id_prefix=op_id
        )._scope

    def branch(self, index: int, *, virtual: bool) -> ContextScope:
        """A scope, owned by the calling task, for branch ``index`` of the batch
        this context runs (``self.parent_id`` is the batch's operation).

        The branch's id is fixed by its index, never by scheduling order. A
        nested branch's context has that id as its next operation (its CONTEXT
        operation); a virtual one numbers its operations under that id and
        records them under the batch.
        """
        branch_id = operation_id(self.parent_id, index)
        if virtual:
            return DurableContext(
                self.invocation,
                parent_id=self.parent_id,
                replaying=self._replaying,
                id_prefix=branch_id,
            )._scope
        slot = DurableContext(self.invocation, parent_id=self.parent_id)._scope
        slot._counter = index - 1
        return slot


class DurableContext:
    """The durable operations of a workflow (or of one child context of it)."""

    __slots__ = ("_scope", "logger", "parent_id")

    def __init__(
        self,
        invocation: Invocation,
        *,
        parent_id: str | None = None,
        replaying: bool = False,
        id_prefix: str | None = None,
    ) -> None:
        self.parent_id = parent_id
        scope = ContextScope(
            self,
            invocation,
            parent_id=parent_id,
            replaying=replaying,
            id_prefix=id_prefix,
        )
        self._scope = scope
        self.logger: DurableLogger = scope.logger

    @property
    def execution_arn(self) -> str:
        return self._scope.invocation.execution_arn

    @property
    def lambda_context(self) -> Any:
        """The Lambda context object the handler was invoked with."""
        return self._scope.invocation.lambda_context

    def is_replaying(self) -> bool:
        """Whether this context is still re-issuing operations the service has recorded."""
        return self._scope.is_replaying()

    # --- the public API ---------------------------------------------------------
    # Overloads state what the data is: a step's arguments are checked against its
    # function (``Ts``), a function that declares ``step_context`` gets it as a
    # keyword, and ``result_type=`` types (and builds) a result from outside.

    @overload
    async def step(
        self,
        fn: Callable[[*Ts], Awaitable[T]],
        /,
        *args: *Ts,
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: Callable[[*Ts], T],
        /,
        *args: *Ts,
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: WithContext0[StepContext, Awaitable[T]],
        /,
        *,
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: WithContext0[StepContext, T],
        /,
        *,
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: WithContext1[StepContext, A1, Awaitable[T]],
        a1: A1,
        /,
        *,
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: WithContext1[StepContext, A1, T],
        a1: A1,
        /,
        *,
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: WithContext2[StepContext, A1, A2, Awaitable[T]],
        a1: A1,
        a2: A2,
        /,
        *,
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: WithContext2[StepContext, A1, A2, T],
        a1: A1,
        a2: A2,
        /,
        *,
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: WithContext3[StepContext, A1, A2, A3, Awaitable[T]],
        a1: A1,
        a2: A2,
        a3: A3,
        /,
        *,
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: WithContext3[StepContext, A1, A2, A3, T],
        a1: A1,
        a2: A2,
        a3: A3,
        /,
        *,
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T: ...

    async def step(  # type: ignore[misc]  # mypy cannot match *Ts against the implementation
        self,
        fn: Callable[..., Any],
        /,
        *args: *tuple[Any, ...],
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> Any:
        """Run ``fn(*args)`` once (durably) and return its recorded result.

        A sync ``fn`` runs in a worker thread, an async one is awaited. If ``fn``
        declares ``step_context``, it gets a ``StepContext`` (logger, attempt).
        Failures are retried per ``config.retry_strategy`` (durably: the
        invocation suspends for the delay); the final failure raises
        ``StepError``. ``name`` defaults to the function's name. The result comes
        back as ``fn``'s return annotation says (a tuple, a dataclass, a pydantic
        model: ``payloads.py``).
        """
        scope = self._scope
        if name is not None:
            name = check_name(name)
        value = step_op.replayed_step(scope, fn, name, config)
        if value is not step_op.NOT_REPLAYED:  # the common replay, without run_step's coroutine
            await scope.invocation.replay_checkpoint()
            return value
        return await step_op.run_step_fully(
            scope,
            fn,
            args,
            name=name,
            config=config,
            result_type=annotated_type(
                fn, getattr(config, "serializer", None) or scope.invocation.serializer
            ),
        )

    async def wait(self, duration: timedelta | float, *, name: str | None = None) -> None:
        """Suspend the workflow for ``duration`` (whole seconds, at least 1)."""
        await wait_op.run_wait(self._scope, duration, name=check_name(name))

    async def run_in_child_context(
        self,
        fn: Callable[[DurableContext, *Ts], Awaitable[T]],
        /,
        *args: *Ts,
        name: str | None = None,
        config: ChildConfig | None = None,
    ) -> T:
        """Run ``await fn(child_ctx, *args)`` as one durable operation.

        Its operations are grouped under it; once it has completed, replay
        returns its recorded result without running ``fn`` (unless the result
        was over 256 KB: then ``fn`` re-runs against its recorded children).
        A failure raises ``ChildContextError``. ``name`` defaults to the
        function's name; the result comes back as ``fn``'s return annotation says.
        With ``ChildConfig(virtual=True)`` nothing of the context itself is
        recorded (its operations are, under this context's parent) and ``fn``
        runs on every invocation that reaches it.
        """
        config = config or ChildConfig()
        if name is None:
            name = step_op.callable_name(fn)
        value = await child_op.run_child(
            self._scope,
            child_op.on_context(fn),
            args,
            name=check_name(name),
            serializer=config.serializer,
            virtual=config.virtual,
        )
        result_type = annotated_type(fn, config.serializer or self._scope.invocation.serializer)
        result: T = as_type(value, result_type, what=f"the result of child context {name!r}")
        return result

    @overload
    async def create_callback(
        self, *, name: str | None = None, config: CallbackConfig | None = None
    ) -> callback_op.Callback[Any]: ...

    @overload
    async def create_callback(
        self,
        *,
        name: str | None = None,
        config: CallbackConfig | None = None,
        result_type: type[T],
    ) -> callback_op.Callback[T]: ...

    async def create_callback(
        self,
        *,
        name: str | None = None,
        config: CallbackConfig | None = None,
        result_type: Any = Any,
    ) -> callback_op.Callback[Any]:
        """Allocate a callback; give ``handle.callback_id`` to an external system.

        Never fails: a recorded failure or timeout is raised by ``await
        handle.result()``, so code between the two runs alike on every replay.
        ``result()`` returns a ``result_type`` (``SerializationError`` naming the
        field when the result does not fit).
        """
        scope = self._scope
        name = check_name(name)
        callback = callback_op.replayed_callback(scope, name, config, result_type)
        if callback is not None:  # the common replay, without create_callback's coroutine
            await scope.invocation.replay_checkpoint()
            return callback
        return await callback_op.create_callback_fully(
            scope, name=name, config=config, result_type=result_type
        )

    @overload
    async def wait_for_callback(
        self,
        submitter: Callable[[str, *Ts], object],
        /,
        *args: *Ts,
        name: str | None = None,
        config: WaitForCallbackConfig | None = None,
    ) -> Any: ...

    @overload
    async def wait_for_callback(
        self,
        submitter: Callable[[str, *Ts], object],
        /,
        *args: *Ts,
        name: str | None = None,
        config: WaitForCallbackConfig | None = None,
        result_type: type[T],
    ) -> T: ...

    @overload
    async def wait_for_callback(
        self,
        submitter: WithContext1[WaitForCallbackContext, str, object]
        | WithContext2[WaitForCallbackContext, str, Any, object]
        | WithContext3[WaitForCallbackContext, str, Any, Any, object]
        | WithContext4[WaitForCallbackContext, str, Any, Any, Any, object],
        /,
        *args: Any,
        name: str | None = None,
        config: WaitForCallbackConfig | None = None,
    ) -> Any: ...

    @overload
    async def wait_for_callback(
        self,
        submitter: WithContext1[WaitForCallbackContext, str, object]
        | WithContext2[WaitForCallbackContext, str, Any, object]
        | WithContext3[WaitForCallbackContext, str, Any, Any, object]
        | WithContext4[WaitForCallbackContext, str, Any, Any, Any, object],
        /,
        *args: Any,
        name: str | None = None,
        config: WaitForCallbackConfig | None = None,
        result_type: type[T],
    ) -> T: ...

    async def wait_for_callback(  # type: ignore[misc]  # as step
        self,
        submitter: Callable[..., Any],
        /,
        *args: *tuple[Any, ...],
        name: str | None = None,
        config: WaitForCallbackConfig | None = None,
        result_type: Any = Any,
    ) -> Any:
        """Create a callback, run ``submitter(callback_id, *args)`` as a step, await the result.

        A failed submitter raises ``CallbackSubmitterError``; a failed or timed
        out callback raises ``CallbackFailedError`` / ``CallbackTimeoutError``,
        on the first run and on every replay alike. The result is a
        ``result_type`` when one is given.
        """
        value = await wait_for_callback_op.run_wait_for_callback(
            self._scope, submitter, args, name=check_name(name), config=config
        )
        return as_type(value, result_type, what=f"the result of wait_for_callback {name!r}")

    @overload
    async def invoke(
        self,
        function_name: str,
        payload: Any = None,
        *,
        name: str | None = None,
        config: InvokeConfig | None = None,
    ) -> Any: ...

    @overload
    async def invoke(
        self,
        function_name: str,
        payload: Any = None,
        *,
        name: str | None = None,
        config: InvokeConfig | None = None,
        result_type: type[T],
    ) -> T: ...

    async def invoke(
        self,
        function_name: str,
        payload: Any = None,
        *,
        name: str | None = None,
        config: InvokeConfig | None = None,
        result_type: Any = Any,
    ) -> Any:
        """Run the durable function ``function_name`` on ``payload``; return its result
        (a ``result_type`` when one is given).

        The invocation suspends until the target's execution ends; replay returns
        the recorded result without invoking again. A target that fails, times
        out or is stopped raises ``InvokeError`` carrying the target's error.
        """
        value = await invoke_op.run_invoke(
            self._scope, function_name, payload, name=check_name(name), config=config
        )
        return as_type(value, result_type, what=f"the result of invoke {function_name!r}")

    @overload
    async def wait_for_condition(
        self,
        check: Callable[[Any], Awaitable[T]] | Callable[[Any], T],
        /,
        *,
        name: str | None = None,
        config: WaitForConditionConfig,
    ) -> T: ...

    @overload
    async def wait_for_condition(
        self,
        check: Callable[..., Any],
        /,
        *,
        name: str | None = None,
        config: WaitForConditionConfig,
        result_type: type[T],
    ) -> T: ...

    async def wait_for_condition(
        self,
        check: Callable[..., Any],
        /,
        *,
        name: str | None = None,
        config: WaitForConditionConfig,
        result_type: Any = Any,
    ) -> Any:
        """Poll ``check(state)`` durably until ``config.wait_strategy`` says stop;
        return the last state (a ``result_type`` when one is given).

        The first poll gets ``config.initial_state``, each later one the state the
        previous poll returned (as recorded). Between polls the invocation
        suspends for the strategy's delay. A check that raises, or a strategy out
        of attempts, raises ``WaitForConditionError``. ``name`` defaults to the
        function's name.
        """
        value = await wait_for_condition_op.run_wait_for_condition(
            self._scope, check, name=check_name(name), config=config
        )
        if result_type is Any:
            result_type = annotated_type(
                check, getattr(config, "serializer", None) or self._scope.invocation.serializer
            )
        return as_type(value, result_type, what=f"the state of wait_for_condition {name!r}")

    async def parallel(
        self,
        branches: Sequence[
            Callable[[DurableContext], Awaitable[T]] | parallel_op.ParallelBranch[T]
        ],
        *,
        name: str | None = None,
        config: ParallelConfig | None = None,
    ) -> BatchResult[T]:
        """Run ``await branch(branch_ctx)`` for every branch, concurrently, as one operation.

        At most ``config.max_concurrency`` run at once; ``config.completion``
        decides when the batch is done. Branch failures do not raise: they are
        in the returned ``BatchResult`` (``throw_if_error()`` raises the first).
        Completed branches replay their recorded results without running.
        """
        return await parallel_op.run_parallel(
            self._scope, branches, name=check_name(name), config=config
        )

    async def map(
        self,
        items: Sequence[I],
        fn: Callable[[DurableContext, I, int], Awaitable[T]],
        /,
        *,
        name: str | None = None,
        config: MapConfig | None = None,
    ) -> BatchResult[T]:
        """Run ``await fn(item_ctx, item, index)`` for every item, concurrently, as one
        operation; like ``parallel``, the ``BatchResult`` holds results in item order."""
        return await map_op.run_map(self._scope, items, fn, name=check_name(name), config=config)

    async def patched(self, change_id: str) -> bool:
        """Whether this execution takes the new code path of change ``change_id``.

        True where the execution reaches this point fresh (it then records a
        marker: an ordinary step named ``patched:<change_id>``) and on every replay
        of such an execution; False when replaying an execution recorded before
        the change, whose next recorded operation is another one (no id is used
        then, so its record still lines up).
        """
        if not isinstance(change_id, str) or not change_id:
            raise ValidationError("patched needs a non-empty change id")
        name = check_name(f"{PATCH_MARKER_PREFIX}{change_id}")
        following = self._scope.following()
        if following is not None and (
            following.type is not OperationType.STEP or following.name != name
        ):
            await self._scope.invocation.replay_checkpoint()
            return False
        await self.step(_patch_marker, name=name)
        return True


PATCH_MARKER_PREFIX = "patched:"
"""The name of the step ``patched`` records is this and the change id."""


async def _patch_marker() -> bool:
    return True
