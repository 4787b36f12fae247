"""The callback operation: a service-allocated id an external system completes.

``create_callback`` records CALLBACK START and waits for the answer, whose
merged state carries the ``CallbackId`` (the batcher wakes it only after the
merge). It never raises for a recorded outcome: ``Callback.result()`` does, so
the code between the two behaves the same on every replay.

``result()`` looks at the state first (a later checkpoint of this invocation
may already have merged the outcome), then parks until a merge completes the
callback; only a later invocation can deliver that, so the invocation may
suspend. SUCCEEDED returns the deserialized result; FAILED (and CANCELLED,
STOPPED) raises ``CallbackFailedError``; TIMED_OUT raises ``CallbackTimeoutError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from trio_durable.config import CallbackConfig
from trio_durable.errors import (
    CallbackError,
    CallbackFailedError,
    CallbackTimeoutError,
    DurableExecutionError,
    NonDeterministicExecutionError,
    SerializationError,
    ValidationError,
)
from trio_durable.payloads import as_type
from trio_durable.serialization import Serializer
from trio_durable.wire import (
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

if TYPE_CHECKING:
    from trio_durable.operations.protocols import InvocationParts, OperationScope

SUB_TYPE = "Callback"
_CALLBACK = OperationType.CALLBACK  # an enum member read once
T = TypeVar("T")
_WAITING = frozenset({OperationStatus.STARTED, OperationStatus.PENDING})


_DEFAULT_CONFIG = CallbackConfig()  # built (and validated) once, not per call


def _completed(op: Operation) -> bool:
    return op.status not in _WAITING


class Callback(Generic[T]):
    """A created callback: ``callback_id`` for the external system, ``result()`` to await
    (a ``T``: the ``result_type`` it was created with)."""

    __slots__ = (
        "_ended",
        "_invocation",
        "_op_id",
        "_owner",
        "_result_type",
        "_serializer",
        "callback_id",
    )

    def __init__(
        self,
        callback_id: str,
        op_id: str,
        invocation: InvocationParts,
        serializer: Serializer,
        result_type: Any = Any,
        *,
        ended: Operation | None = None,
    ) -> None:
        self.callback_id = callback_id
        self._result_type = result_type
        self._op_id = op_id
        self._invocation = invocation
        self._owner = invocation.current_task()
        self._serializer = serializer
        self._ended = ended  # its record, when it was replayed with its outcome

    def __repr__(self) -> str:
        return f"Callback(callback_id={self.callback_id!r})"

    async def result(self) -> T:
        """The callback's result; raises ``CallbackFailedError`` / ``CallbackTimeoutError``.

        Await it in the task that created the callback: the invocation suspends
        when that task waits here, which it can only tell for its own tasks.
        """
        if self._invocation.current_task() is not self._owner:
            raise ValidationError(
                f"callback {self.callback_id}: await result() in the task that created it"
            )
        op = self._ended
        if op is not None:  # replayed: the outcome is final, no state to look at
            await self._invocation.replay_checkpoint()
        else:
            op = await self._invocation.state.wait_for(self._op_id, _completed)
        if op.status is OperationStatus.SUCCEEDED:
            try:
                value = self._serializer.deserialize(op.result)
                if self._result_type is Any:
                    return value  # type: ignore[no-any-return]
                result: T = as_type(value, self._result_type, what="result")
                return result
            except SerializationError as exc:
                # The result came from outside the workflow: say which callback sent it.
                raise SerializationError(
                    f"callback {self.callback_id}: its result could not be read: {exc}"
                ) from exc
        error_cls: type[CallbackError]
        if op.status is OperationStatus.TIMED_OUT:
            error_cls, default = CallbackTimeoutError, "callback timed out"
        elif op.status.is_terminal:
            error_cls, default = CallbackFailedError, f"callback {op.status.value.lower()}"
        else:
            raise NonDeterministicExecutionError(
                f"callback {self.callback_id} has unexpected status {op.status.value}"
            )
        error = op.error
        raise error_cls(
            (error.message if error else None) or default,
            callback_id=self.callback_id,
            error_type=error.type if error else None,
            error_data=error.data if error else None,
            stack_trace=error.stack_trace if error else None,
        )


def replayed_callback(
    ctx: OperationScope,
    name: str | None,
    config: CallbackConfig | None,
    result_type: Any = Any,
) -> Callback[Any] | None:
    """The callback when its operation is recorded with its outcome (the common
    replay): the operation is then numbered and the caller owes a
    ``replay_checkpoint``. Else ``None``, nothing is numbered, and
    ``create_callback_fully`` follows with every check. A plain call: the
    replay of a callback does not need ``create_callback``'s coroutine."""
    if config is None:
        config = _DEFAULT_CONFIG
    elif not isinstance(config, CallbackConfig):
        return None  # create_callback_fully names the problem
    replayed = ctx.replayed_record(_CALLBACK, SUB_TYPE, name)
    if replayed is None:
        return None
    op_id, recorded = replayed
    if not recorded.callback_id:
        raise _no_callback_id(op_id)
    invocation = ctx.invocation
    serializer = config.serializer or invocation.serializer
    return Callback(
        recorded.callback_id, op_id, invocation, serializer, result_type, ended=recorded
    )


async def create_callback(
    ctx: OperationScope,
    *,
    name: str | None,
    config: CallbackConfig | None,
    result_type: Any = Any,
) -> Callback[Any]:
    """Create (or, on replay, find) the callback; see the module doc."""
    callback = replayed_callback(ctx, name, config, result_type)
    if callback is not None:
        await ctx.invocation.replay_checkpoint()
        return callback
    return await create_callback_fully(ctx, name=name, config=config, result_type=result_type)


async def create_callback_fully(
    ctx: OperationScope,
    *,
    name: str | None,
    config: CallbackConfig | None,
    result_type: Any = Any,
) -> Callback[Any]:
    """``create_callback`` once ``replayed_callback`` has answered ``None``: the
    config check, then the recorded callback or a new START."""
    invocation = ctx.invocation
    if config is None:
        config = _DEFAULT_CONFIG
    elif not isinstance(config, CallbackConfig):
        raise ValidationError(f"config must be a CallbackConfig, got {type(config).__name__}")
    op_id, recorded = ctx.next_operation(_CALLBACK, SUB_TYPE, name)
    if recorded is not None:
        await invocation.replay_checkpoint()
    else:
        timeout = config.timeout_seconds
        heartbeat = config.heartbeat_timeout_seconds
        await invocation.batcher.checkpoint(
            OperationUpdate(
                id=op_id,
                type=_CALLBACK,
                action=OperationAction.START,
                parent_id=ctx.parent_id,
                name=name,
                sub_type=SUB_TYPE,
                callback_timeout_seconds=timeout or None,
                callback_heartbeat_timeout_seconds=heartbeat or None,
            )
        )
        recorded = invocation.state.get(op_id)
    if recorded is None or not recorded.callback_id:
        raise _no_callback_id(op_id)
    serializer = config.serializer or invocation.serializer
    return Callback(recorded.callback_id, op_id, invocation, serializer, result_type)


def _no_callback_id(op_id: str) -> DurableExecutionError:
    return DurableExecutionError(f"the service recorded callback {op_id} without a CallbackId")
