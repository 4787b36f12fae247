"""The step operation: run a function once, durably, with durable retries.

Recorded states on replay: SUCCEEDED returns the recorded result, FAILED raises
the recorded error, PENDING (a retry is scheduled) parks until the service
makes it READY, READY starts the next attempt. STARTED means an earlier
invocation began an attempt and did not finish it: an at-least-once step runs
it again (without a second START), an at-most-once step counts it as an
interrupted attempt (``StepInterruptedError``) and applies its retry strategy.

The attempt number is ``StepDetails.Attempt`` (attempts finished) plus one.
A failed attempt is retried with a RETRY checkpoint carrying the delay; the
task then parks until READY, which only a later invocation sees, so the
invocation suspends.

An at-least-once step queues its START and SUCCEED without waiting: they go out
in order, before any later checkpoint and before the invocation answers or
suspends, and losing them only means the step runs again. An at-most-once step
waits for both to be recorded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import FunctionType
from typing import TYPE_CHECKING, Any

from trio_durable.config import RetryPresets, StepConfig, StepSemantics
from trio_durable.errors import (
    NonDeterministicExecutionError,
    SerializationError,
    ServiceError,
    StepError,
    StepInterruptedError,
    ValidationError,
    error_object_from_exception,
)
from trio_durable.payloads import EXACT_TYPES, annotated_type, as_type, return_type
from trio_durable.runtime.failures import rebuild
from trio_durable.runtime.logger import DurableLogger, never_replaying
from trio_durable.runtime.state import NOT_SUCCEEDED
from trio_durable.runtime.step_context import StepContext, callable_traits
from trio_durable.serialization import JsonSerializer
from trio_durable.wire import (
    MAX_OPERATION_PAYLOAD_BYTES,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

if TYPE_CHECKING:
    from trio_durable.operations.protocols import OperationScope

SUB_TYPE = "Step"
_DEFAULT_CONFIG = StepConfig()
_DEFAULT_RETRY = RetryPresets.default()
# Enum members read once: ``OperationType.STEP`` goes through the enum
# metaclass, about 0.1 us a read, several times per step.
_STEP = OperationType.STEP
_START = OperationAction.START
_SUCCEED = OperationAction.SUCCEED
_SUCCEEDED = OperationStatus.SUCCEEDED
_AT_MOST_ONCE = StepSemantics.AT_MOST_ONCE_PER_RETRY

# Errors that are not the operation's own failure: they end the invocation instead.
NOT_OPERATION_FAILURES = (NonDeterministicExecutionError, ServiceError)

ContextFactory = Callable[[DurableLogger, int], object]


def make_step_context(logger: DurableLogger, attempt: int) -> object:
    """The ``step_context`` a step body gets: a ``StepContext``."""
    return StepContext(logger=logger, attempt=attempt)


def callable_name(fn: Callable[..., Any]) -> str | None:
    """The default name of a step: its function's name (none for lambdas)."""
    if type(fn) is FunctionType:  # the common case, without the lookups below
        return None if fn.__name__ == "<lambda>" else fn.__name__
    name = getattr(fn, "__name__", None)
    if isinstance(fn, functools.partial):
        name = getattr(fn.func, "__name__", None)
    return name if isinstance(name, str) and name != "<lambda>" else None


async def fail_operation(
    ctx: OperationScope, update: Callable[..., OperationUpdate], error: ErrorObject
) -> None:
    """Record the operation's FAIL with ``error`` (awaited)."""
    await ctx.invocation.batcher.checkpoint(update(OperationAction.FAIL, error=error))


def _updates(ctx: OperationScope, op_id: str, name: str | None) -> Callable[..., OperationUpdate]:
    """The update builder of step ``op_id`` (built only when a step fails or retries)."""
    return ctx.updates(op_id, _STEP, SUB_TYPE, name)


def ready_or_done(op: Operation) -> bool:
    """Whether a scheduled retry may start (READY) or the operation has ended."""
    return op.status is OperationStatus.READY or op.status.is_terminal


def checked_payload(payload: str | None, what: str = "step result") -> str | None:
    """``payload``, or ``SerializationError`` when it is over the service's limit."""
    if payload is not None and len(payload) * 4 > MAX_OPERATION_PAYLOAD_BYTES:
        size = len(payload.encode())
        if size > MAX_OPERATION_PAYLOAD_BYTES:
            raise SerializationError(
                f"{what} is {size} bytes serialized; the limit is "
                f"{MAX_OPERATION_PAYLOAD_BYTES} bytes (return a smaller value, or a reference)"
            )
    return payload


NOT_REPLAYED: Any = object()
"""What ``replayed_step`` answers when ``run_step`` must run the step."""

ANNOTATED: Any = object()
"""``replayed_step``'s default ``result_type``: the step function's return annotation."""


def replayed_step(
    ctx: OperationScope,
    fn: Callable[..., Any],
    name: str | None,
    config: StepConfig | None,
    result_type: Any = ANNOTATED,
) -> Any:
    """The result of step ``fn`` (as ``run_step`` returns it) when its operation
    is recorded SUCCEEDED: the operation is then numbered and the caller owes a
    ``replay_checkpoint``. Else ``NOT_REPLAYED``, nothing is numbered, and
    ``run_step_fully`` runs the step with every check.

    The common replay, as a plain call: ``run_step``'s coroutine and its checks
    of arguments that replay reads none of cost as much as the rest.
    """
    traits = _last_traits  # one read: another thread may replace it
    if fn is not traits[0]:
        if type(fn) is not FunctionType and not callable(fn):
            return NOT_REPLAYED  # run_step_fully names the problem
        traits = _traits(fn)
    serializer = ctx.invocation.serializer
    if config is not None:
        if not isinstance(config, StepConfig):
            return NOT_REPLAYED
        serializer = config.serializer or serializer
    if name is None:
        name = traits[1]  # (also the name a conversion error below gives)
    recorded = ctx.replayed_success(_STEP, SUB_TYPE, name)
    if recorded is NOT_SUCCEEDED:
        return NOT_REPLAYED
    value = serializer.deserialize(recorded)
    if result_type is ANNOTATED:
        if type(serializer) is not JsonSerializer:
            result_type = annotated_type(fn, serializer)
        elif type(value) is traits[3]:
            return value  # read as the int, str, bool or float annotated: nothing to convert
        else:
            result_type = traits[2]
    if result_type is Any or (type(value) is result_type and result_type in EXACT_TYPES):
        return value
    return as_type(value, result_type, what=f"step {name or ctx.numbered_id()!r}")


def _traits(fn: Callable[..., Any]) -> tuple[object, str | None, Any, type | None]:
    """``fn``, its default step name, its return type and that type again if a
    value of exactly it needs no conversion (``EXACT_TYPES``), which
    ``replayed_step`` keeps for the last plain function it saw: a loop of steps
    replays one function again and again, and reading its name, code object and
    return type each time (``callable_name``, ``return_type``) was a thirtieth
    of a replayed step. So a function is read once per run of steps, as it is then."""
    global _last_traits
    returns = return_type(fn)
    exact = returns if isinstance(returns, type) and returns in EXACT_TYPES else None
    traits = (fn, callable_name(fn), returns, exact)
    if type(fn) is FunctionType:
        _last_traits = traits
    return traits


_last_traits: tuple[object, str | None, Any, type | None] = (object(), None, Any, None)
"""What ``_traits`` last kept (at first, of no function: ``fn is`` never matches it)."""


async def run_step(
    ctx: OperationScope,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    name: str | None,
    config: StepConfig | None,
    context_factory: ContextFactory = make_step_context,
    result_type: Any = Any,
) -> Any:
    """Run one step (see the module doc); returns the recorded result, as a
    ``result_type`` (``payloads.py``)."""
    value = replayed_step(ctx, fn, name, config, result_type)
    if value is not NOT_REPLAYED:  # replay: the common case, answered from the record
        await ctx.invocation.replay_checkpoint()
        return value
    return await run_step_fully(
        ctx,
        fn,
        args,
        name=name,
        config=config,
        context_factory=context_factory,
        result_type=result_type,
    )


async def run_step_fully(
    ctx: OperationScope,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    name: str | None,
    config: StepConfig | None,
    context_factory: ContextFactory = make_step_context,
    result_type: Any = Any,
) -> Any:
    """``run_step`` once ``replayed_step`` has answered ``NOT_REPLAYED``: every
    argument check, then the step's recorded state or a new attempt."""
    if not callable(fn):
        raise ValidationError(f"step needs a callable, got {type(fn).__name__}")
    if config is None:
        config = _DEFAULT_CONFIG
    elif not isinstance(config, StepConfig):
        raise ValidationError(f"config must be a StepConfig, got {type(config).__name__}")
    invocation = ctx.invocation
    if name is None:
        name = callable_name(fn)
    serializer = config.serializer or invocation.serializer
    op_id, recorded = ctx.next_operation(_STEP, SUB_TYPE, name)
    plugins = invocation.plugins
    info = None
    if plugins is not None:
        info = ctx.plugin_info(op_id, _STEP, SUB_TYPE, name, recorded)

    strategy = config.retry_strategy or _DEFAULT_RETRY
    at_most_once = config.semantics is _AT_MOST_ONCE
    batcher = invocation.batcher
    while True:
        failure: BaseException | None = None
        if recorded is None:
            attempt = 1
        else:
            status = recorded.status
            attempt = (recorded.attempt or 0) + 1
            if status is _SUCCEEDED:
                await invocation.replay_checkpoint()
                value = serializer.deserialize(recorded.result)
                return as_type(value, result_type, what=f"step {name or op_id!r}")
            if status.is_terminal:
                await invocation.replay_checkpoint()
                raise rebuild(recorded.error, StepError)
            if status is OperationStatus.PENDING:
                recorded = await invocation.state.wait_for(op_id, ready_or_done)
                continue
            if status is OperationStatus.STARTED and at_most_once:
                failure = StepInterruptedError(
                    f"step {name or op_id!r} attempt {attempt} was interrupted before it "
                    "finished (at-most-once: not run again within this attempt)"
                )
        if failure is None:
            if recorded is None or recorded.status is OperationStatus.READY:
                start = OperationUpdate(op_id, _STEP, _START, ctx.parent_id, name, SUB_TYPE)
                if at_most_once:
                    await batcher.checkpoint(start)
                else:
                    batcher.submit(start)
            is_async, wants_context = callable_traits(fn)
            if plugins is not None:
                plugins.attempt_started(info, attempt)
            try:
                result = await call_body(
                    ctx,
                    fn,
                    args,
                    op_id,
                    name,
                    attempt,
                    context_factory,
                    is_async,
                    wants_context,
                    inline=config.inline,
                )
                payload = checked_payload(serializer.serialize(result))
                value = serializer.deserialize(payload)
                if result_type is not Any:
                    value = as_type(value, result_type, what=f"step {name or op_id!r}")
            except NOT_OPERATION_FAILURES:
                raise
            except SerializationError as exc:
                error = error_object_from_exception(exc)
                if plugins is not None:
                    plugins.attempt_ended(info, attempt, error)
                await fail_operation(ctx, _updates(ctx, op_id, name), error)
                raise rebuild(error, StepError) from exc
            except Exception as exc:
                failure = exc
            else:
                if plugins is not None:
                    plugins.attempt_ended(info, attempt, None)
                succeed = OperationUpdate(
                    op_id,
                    _STEP,
                    _SUCCEED,
                    ctx.parent_id,
                    name,
                    SUB_TYPE,
                    payload,
                )
                if at_most_once:
                    await batcher.checkpoint(succeed)
                else:
                    batcher.submit(succeed)
                    if is_async or config.inline:  # a thread hop is a checkpoint already
                        # The body ran on the loop and may not have yielded: this is
                        # the step's checkpoint. Paced as a replayed operation's (a
                        # cancel point every time, a schedule point once in 64): the
                        # step waits for nothing, so yielding after every step only
                        # paid the loop's round trip; other tasks (the batcher,
                        # sibling branches, a host program) still run at least
                        # every 64 steps, well within a millisecond or two.
                        await invocation.replay_checkpoint()
                return value
        error = error_object_from_exception(failure)
        if plugins is not None and not isinstance(failure, StepInterruptedError):
            plugins.attempt_ended(info, attempt, error)
        delay = strategy.next_delay(failure, attempt)
        if delay is None:
            await fail_operation(ctx, _updates(ctx, op_id, name), error)
            raise rebuild(error, StepError) from failure
        retry = _updates(ctx, op_id, name)
        await batcher.checkpoint(
            retry(OperationAction.RETRY, error=error, next_attempt_delay_seconds=delay)
        )
        recorded = await invocation.state.wait_for(op_id, ready_or_done)


async def call_body(
    ctx: OperationScope,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    op_id: str,
    name: str | None,
    attempt: int,
    context_factory: ContextFactory,
    is_async: bool,
    wants_context: bool,
    *,
    inline: bool = False,
) -> Any:
    """Call ``fn(*args)`` (given a ``step_context`` if it declares one): awaited if
    async, else in a worker thread, or right here on the loop when ``inline``."""
    kwargs: dict[str, Any] = {}
    if wants_context:
        logger = ctx.logger.bind(
            {"operation_id": op_id, "operation_name": name, "attempt": attempt},
            is_replaying=never_replaying,
        )
        kwargs["step_context"] = context_factory(logger, attempt)
    if is_async:
        return await fn(*args, **kwargs)
    if inline:
        return fn(*args, **kwargs)
    return await ctx.invocation.to_thread(functools.partial(fn, *args, **kwargs))
