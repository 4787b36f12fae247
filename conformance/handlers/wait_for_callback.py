"""Suite ``wait_for_callback`` (7-x): one durable function per requirement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from trio_durable import DurableContext, durable_execution
from trio_durable.config import Jitter, RetryStrategy, WaitForCallbackConfig
from trio_durable.errors import CallbackError
from trio_durable.serialization import JsonSerializer


def register(callback_id: str) -> None:
    """The submitter: hands the id to the outside world (here, nothing to do)."""
    del callback_id


@durable_execution
async def wfc_basic(event: Any, ctx: DurableContext) -> Any:
    """7-1: wait_for_callback named after the input."""
    return await ctx.wait_for_callback(register, name=event)


@durable_execution
async def wfc_named(event: Any, ctx: DurableContext) -> Any:
    """7-2: wait_for_callback named "approval"."""
    return await ctx.wait_for_callback(register, name="approval")


@durable_execution
async def wfc_anonymous(event: Any, ctx: DurableContext) -> Any:
    """7-3: an inline submitter and no name."""
    return await ctx.wait_for_callback(lambda callback_id: None)


@durable_execution
async def wfc_failure(event: Any, ctx: DurableContext) -> Any:
    """7-4: the external failure is not caught."""
    return await ctx.wait_for_callback(register, name=event)


@durable_execution
async def wfc_timeout(event: Any, ctx: DurableContext) -> Any:
    """7-5: nobody answers within 3 seconds."""
    config = WaitForCallbackConfig(timeout=timedelta(seconds=3))
    return await ctx.wait_for_callback(register, name=event, config=config)


@durable_execution
async def wfc_failure_caught(event: Any, ctx: DurableContext) -> Any:
    """7-6: the external failure is caught and the handler recovers."""
    try:
        return await ctx.wait_for_callback(register, name=event)
    except CallbackError:
        return "recovered"


def failing_submitter(callback_id: str) -> None:
    raise RuntimeError(f"could not hand callback {callback_id} to the approver")


@durable_execution
async def wfc_submitter_retry_exhausted(event: Any, ctx: DurableContext) -> Any:
    """7-7: the submitter fails on both of its 2 attempts, 1 second apart."""
    strategy = RetryStrategy(max_attempts=2, initial_delay=timedelta(seconds=1), jitter=Jitter.NONE)
    config = WaitForCallbackConfig(retry_strategy=strategy)
    return await ctx.wait_for_callback(failing_submitter, name=event, config=config)


async def wait_inside(child: DurableContext, name: str) -> Any:
    return await child.wait_for_callback(register, name=name)


@durable_execution
async def wfc_in_child(event: Any, ctx: DurableContext) -> Any:
    """7-8: wait_for_callback inside a child context named "wrapper"."""
    return await ctx.run_in_child_context(wait_inside, event, name="wrapper")


@durable_execution
async def wfc_two_sequential(event: Any, ctx: DurableContext) -> Any:
    """7-9: two wait_for_callback operations, one after the other."""
    await ctx.wait_for_callback(register, name="first")
    return await ctx.wait_for_callback(register, name="second")


def fixed_data() -> dict[str, str]:
    return {"prepared": "yes"}


@durable_execution
async def wfc_after_wait_and_step(event: Any, ctx: DurableContext) -> Any:
    """7-10: a 1-second wait, a step, then wait_for_callback."""
    await ctx.wait(timedelta(seconds=1))
    await ctx.step(fixed_data)
    return await ctx.wait_for_callback(register, name=event)


@durable_execution
async def wfc_json_result(event: Any, ctx: DurableContext) -> Any:
    """7-11: the payload is read as a JSON object; the handler returns its status."""
    config = WaitForCallbackConfig(serializer=JsonSerializer())
    result = await ctx.wait_for_callback(register, name=event, config=config)
    return result["status"]


@durable_execution
async def wfc_heartbeat_timeout(event: Any, ctx: DurableContext) -> Any:
    """7-12: no heartbeat within 5 seconds."""
    config = WaitForCallbackConfig(heartbeat_timeout=timedelta(seconds=5))
    return await ctx.wait_for_callback(register, name=event, config=config)


@durable_execution
async def wfc_heartbeat_then_success(event: Any, ctx: DurableContext) -> Any:
    """7-13: a heartbeat, then success, within a 10-second heartbeat timeout."""
    config = WaitForCallbackConfig(heartbeat_timeout=timedelta(seconds=10))
    return await ctx.wait_for_callback(register, name=event, config=config)


@durable_execution
async def wfc_timeout_caught(event: Any, ctx: DurableContext) -> Any:
    """7-14: the 3-second timeout is caught and the handler recovers."""
    config = WaitForCallbackConfig(timeout=timedelta(seconds=3))
    try:
        return await ctx.wait_for_callback(register, name=event, config=config)
    except CallbackError:
        return "timed-out-handled"


@durable_execution
async def wfc_empty_result(event: Any, ctx: DurableContext) -> Any:
    """7-15: success with no payload; the handler returns None."""
    return await ctx.wait_for_callback(register, name=event)
