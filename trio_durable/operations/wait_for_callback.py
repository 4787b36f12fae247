"""wait_for_callback: create a callback, hand its id to a submitter, await the result.

All three run inside a child context of SubType ``WaitForCallback``: the
callback (named ``<name> create callback id``, as AWS's SDK names it), then the
submitter as a step (``<name> submitter``) (with the config's retry strategy,
called ``submitter(callback_id, *args)`` and given a logger-only
``WaitForCallbackContext`` as ``step_context`` if it declares one), then the
callback's result. A submitter that fails for good raises
``CallbackSubmitterError``; a failed or timed-out callback raises
``CallbackFailedError`` / ``CallbackTimeoutError``. The child context records
those with their class (``runtime/failures.py``), so replaying its FAILED
record raises the same class as the first run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trio_durable.config import CallbackConfig, StepConfig, WaitForCallbackConfig
from trio_durable.errors import CallbackSubmitterError, StepError, ValidationError
from trio_durable.operations.callback import create_callback
from trio_durable.operations.child import run_child
from trio_durable.operations.protocols import OperationScope
from trio_durable.operations.step import run_step
from trio_durable.runtime.failures import decode_callback_failure, encode_callback_failure
from trio_durable.runtime.logger import DurableLogger
from trio_durable.runtime.step_context import (
    WaitForCallbackContext,
    callable_traits,
)

SUB_TYPE = "WaitForCallback"


def _submitter_context(logger: DurableLogger, attempt: int) -> object:
    return WaitForCallbackContext(logger=logger)


async def run_wait_for_callback(
    ctx: OperationScope,
    submitter: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    name: str | None,
    config: WaitForCallbackConfig | None,
) -> Any:
    """Run one wait_for_callback (see the module doc); returns the callback's result."""
    if not callable(submitter):
        raise ValidationError(f"wait_for_callback needs a callable, got {type(submitter).__name__}")
    if config is None:
        config = WaitForCallbackConfig()
    elif not isinstance(config, WaitForCallbackConfig):
        raise ValidationError(
            f"config must be a WaitForCallbackConfig, got {type(config).__name__}"
        )
    callback_config = CallbackConfig(
        timeout=config.timeout,
        heartbeat_timeout=config.heartbeat_timeout,
        serializer=config.serializer,
    )
    step_config = StepConfig(retry_strategy=config.retry_strategy)
    prefix = f"{name} " if name else ""

    async def body(child: OperationScope) -> Any:
        callback = await create_callback(
            child, name=f"{prefix}create callback id", config=callback_config
        )
        try:
            await run_step(
                child,
                _discard_result(submitter),
                (callback.callback_id, *args),
                name=f"{prefix}submitter",
                config=step_config,
                context_factory=_submitter_context,
            )
        except StepError as exc:
            raise CallbackSubmitterError(
                exc.message,
                callback_id=callback.callback_id,
                error_type=exc.error_type,
                error_data=exc.error_data,
                stack_trace=exc.stack_trace,
            ) from exc
        return await callback.result()

    return await run_child(
        ctx,
        body,
        (),
        name=name,
        serializer=config.serializer,
        sub_type=SUB_TYPE,
        encode=encode_callback_failure,
        decode=decode_callback_failure,
    )


def _discard_result(submitter: Callable[..., Any]) -> Callable[..., Any]:
    """``submitter`` with its return value dropped (only its success is recorded)."""
    is_async, wants_context = callable_traits(submitter)
    if is_async:

        async def run_async(*args: Any, step_context: object = None) -> None:
            if wants_context:
                await submitter(*args, step_context=step_context)
            else:
                await submitter(*args)

        return run_async

    def run_sync(*args: Any, step_context: object = None) -> None:
        if wants_context:
            submitter(*args, step_context=step_context)
        else:
            submitter(*args)

    return run_sync
