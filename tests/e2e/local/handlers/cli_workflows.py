"""Workflows the command-line tests serve: a quick one, one waiting for a
callback, one failing, and a map with failing items."""

from __future__ import annotations

from typing import Any

from trio_durable import DurableContext, durable_execution
from trio_durable.config import CompletionConfig, MapConfig, RetryPresets, StepConfig


@durable_execution
async def greet(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    ctx.logger.info("greeting %s", event.get("name"))
    name = await ctx.step(lambda: str(event.get("name", "world")).upper(), name="shout")
    return {"hello": name}


@durable_execution
async def approval(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    callback = await ctx.create_callback(name="approval")
    return {"order": event.get("order"), "approved": await callback.result()}


@durable_execution
async def fails(event: dict[str, Any], ctx: DurableContext) -> None:
    raise ValueError(f"cannot take {event!r}")


def _check(item: int) -> int:
    if item % 5 == 3:
        raise ValueError(f"item {item} is bad")
    return item * 10


async def _item(ctx: DurableContext, item: int, index: int) -> int:
    return await ctx.step(_check, item, name="check", config=_ONCE)


_ONCE = StepConfig(retry_strategy=RetryPresets.none())


@durable_execution
async def fan_out(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    # Failures tolerated: by default the first one stops the map and cancels the
    # items still running, and which those are depends on thread scheduling.
    config = MapConfig(
        completion=CompletionConfig(tolerated_failure_percentage=100),
        item_namer=lambda item, index: f"n{item}",
    )
    result = await ctx.map(list(range(event["n"])), _item, name="items", config=config)
    return {"succeeded": len(result.succeeded())}
