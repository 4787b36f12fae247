"""Suite ``callback`` (4-x): one durable function per requirement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conformance.handlers.support import NumberSerializer, TimestampedMessageSerializer
from trio_durable import DurableContext, durable_execution
from trio_durable.config import CallbackConfig
from trio_durable.errors import CallbackError


def fixed_data() -> dict[str, str]:
    return {"status": "step done"}


@durable_execution
async def callback_basic(event: Any, ctx: DurableContext) -> Any:
    """4-1: a callback named after the input, completed by the external system."""
    callback = await ctx.create_callback(name=event)
    return await callback.result()


@durable_execution
async def callback_named(event: Any, ctx: DurableContext) -> Any:
    """4-2: a callback named "approval"."""
    callback = await ctx.create_callback(name="approval")
    return await callback.result()


@durable_execution
async def callback_timeout(event: Any, ctx: DurableContext) -> Any:
    """4-3: nobody answers within the 5-second timeout."""
    callback = await ctx.create_callback(
        name=event, config=CallbackConfig(timeout=timedelta(seconds=5))
    )
    return await callback.result()


@durable_execution
async def callback_heartbeat_timeout(event: Any, ctx: DurableContext) -> Any:
    """4-4: nobody heartbeats within the 5-second heartbeat timeout."""
    callback = await ctx.create_callback(
        name=event, config=CallbackConfig(heartbeat_timeout=timedelta(seconds=5))
    )
    return await callback.result()


@durable_execution
async def callback_heartbeat_then_success(event: Any, ctx: DurableContext) -> Any:
    """4-5: a heartbeat keeps the callback alive until the success arrives."""
    callback = await ctx.create_callback(
        name=event, config=CallbackConfig(heartbeat_timeout=timedelta(seconds=10))
    )
    return await callback.result()


@durable_execution
async def callback_failure(event: Any, ctx: DurableContext) -> Any:
    """4-6: the external system reports failure; the handler does not catch it."""
    callback = await ctx.create_callback(name=event)
    return await callback.result()


@durable_execution
async def callback_step_then_failure(event: Any, ctx: DurableContext) -> Any:
    """4-7: create the callback, run a step, then await the (failed) callback."""
    callback = await ctx.create_callback(name=event)
    await ctx.step(fixed_data)
    return await callback.result()


@durable_execution
async def callback_step_then_timeout(event: Any, ctx: DurableContext) -> Any:
    """4-8: create a 5-second callback, run a step, then await it until it times out."""
    callback = await ctx.create_callback(
        name=event, config=CallbackConfig(timeout=timedelta(seconds=5))
    )
    await ctx.step(fixed_data)
    return await callback.result()


@durable_execution
async def callback_wait_then_success(event: Any, ctx: DurableContext) -> Any:
    """4-9: the callback succeeds during a 5-second wait."""
    callback = await ctx.create_callback(name=event)
    await ctx.wait(timedelta(seconds=5))
    return await callback.result()


@durable_execution
async def callback_wait_then_failure(event: Any, ctx: DurableContext) -> Any:
    """4-10: the callback fails during a 5-second wait."""
    callback = await ctx.create_callback(name=event)
    await ctx.wait(timedelta(seconds=5))
    return await callback.result()


@durable_execution
async def callback_wait_then_timeout(event: Any, ctx: DurableContext) -> Any:
    """4-11: a 3-second callback times out during a 6-second wait."""
    callback = await ctx.create_callback(
        name=event, config=CallbackConfig(timeout=timedelta(seconds=3))
    )
    await ctx.wait(timedelta(seconds=6))
    return await callback.result()


@durable_execution
async def callback_success_then_wait(event: Any, ctx: DurableContext) -> Any:
    """4-12: await the callback, then a 2-second wait, then return its result."""
    callback = await ctx.create_callback(name=event)
    result = await callback.result()
    await ctx.wait(timedelta(seconds=2))
    return result


@durable_execution
async def callback_failure_caught_then_wait(event: Any, ctx: DurableContext) -> Any:
    """4-13: the callback's failure is caught; a 2-second wait follows."""
    callback = await ctx.create_callback(name=event)
    try:
        message = await callback.result()
    except CallbackError as exc:
        message = f"callback failed: {exc.message}"
    await ctx.wait(timedelta(seconds=2))
    return message


@durable_execution
async def callback_timeout_caught_then_wait(event: Any, ctx: DurableContext) -> Any:
    """4-14: the callback's 3-second timeout is caught; a 2-second wait follows."""
    callback = await ctx.create_callback(
        name=event, config=CallbackConfig(timeout=timedelta(seconds=3))
    )
    try:
        message = await callback.result()
    except CallbackError as exc:
        message = f"callback failed: {exc.message}"
    await ctx.wait(timedelta(seconds=2))
    return message


@durable_execution
async def callback_custom_deserializer(event: Any, ctx: DurableContext) -> Any:
    """4-15: a custom deserializer turns the ISO timestamp into epoch seconds."""
    callback = await ctx.create_callback(
        name=event, config=CallbackConfig(serializer=TimestampedMessageSerializer())
    )
    return {"received": await callback.result()}


@durable_execution
async def callback_numeric_deserializer(event: Any, ctx: DurableContext) -> Any:
    """4-16: a custom deserializer reads the payload as a number."""
    callback = await ctx.create_callback(
        name=event, config=CallbackConfig(serializer=NumberSerializer())
    )
    count = await callback.result()
    return {"count": count, "doubled": count * 2}


@durable_execution
async def callback_two_sequential(event: Any, ctx: DurableContext) -> Any:
    """4-17: create and await A, then create and await B."""
    first = await ctx.create_callback(name=event[0])
    a = await first.result()
    second = await ctx.create_callback(name=event[1])
    b = await second.result()
    return [a, b]


@durable_execution
async def callback_two_in_order(event: Any, ctx: DurableContext) -> Any:
    """4-18: create A and B, then await A, then B."""
    first = await ctx.create_callback(name=event[0])
    second = await ctx.create_callback(name=event[1])
    a = await first.result()
    b = await second.result()
    return [a, b]


@durable_execution
async def callback_two_reverse_order(event: Any, ctx: DurableContext) -> Any:
    """4-19: create A and B, then await B, then A."""
    first = await ctx.create_callback(name=event[0])
    second = await ctx.create_callback(name=event[1])
    b = await second.result()
    a = await first.result()
    return [a, b]
