"""The benchmark workflows written with trio-durable (twins of those in ``bench.aws_side``)."""

from __future__ import annotations

from typing import Any

from trio_durable import (
    DurableContext,
    MapConfig,
    ParallelConfig,
    StepConfig,
    StepSemantics,
    durable_execution,
)

CALLBACK_RESULT = "done"
BATCH_CONCURRENCY = 10
"""Branches or items of one map/parallel that run at once (both sides)."""


def add_one(value: int) -> int:
    return value + 1


@durable_execution
async def steps(event: dict[str, Any], ctx: DurableContext) -> int:
    """``n`` sequential steps, each adding one to the running total."""
    total = 0
    for _ in range(event["n"]):
        total = await ctx.step(add_one, total)
    return total


async def add_one_async(value: int) -> int:
    return value + 1


@durable_execution
async def async_steps(event: dict[str, Any], ctx: DurableContext) -> int:
    """``steps`` with an async step function: no worker-thread hop per step."""
    total = 0
    for _ in range(event["n"]):
        total = await ctx.step(add_one_async, total)
    return total


AT_MOST_ONCE = StepConfig(semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)


@durable_execution
async def steps_at_most_once(event: dict[str, Any], ctx: DurableContext) -> int:
    """``steps`` with at-most-once steps: START and SUCCEED each awaited."""
    total = 0
    for _ in range(event["n"]):
        total = await ctx.step(add_one, total, config=AT_MOST_ONCE)
    return total


@durable_execution
async def step_wait(event: dict[str, Any], ctx: DurableContext) -> int:
    """``n`` x (step + 60 s wait): ``n + 1`` invocations."""
    total = 0
    for _ in range(event["n"]):
        total = await ctx.step(add_one, total)
        await ctx.wait(60, name="pause")
    return total


@durable_execution
async def callbacks(event: dict[str, Any], ctx: DurableContext) -> int:
    """``n`` callbacks one after another, each completed from outside."""
    received = 0
    for i in range(event["n"]):
        callback = await ctx.create_callback(name=f"cb{i}")
        if await callback.result() == CALLBACK_RESULT:
            received += 1
    return received


def same(value: int) -> int:
    return value


async def _one_step(item_ctx: DurableContext, item: int, index: int) -> int:
    value: int = await item_ctx.step(same, item)
    return value


async def same_async(value: int) -> int:
    return value


async def _one_async_step(item_ctx: DurableContext, item: int, index: int) -> int:
    value: int = await item_ctx.step(same_async, item)
    return value


async def _map_sum(ctx: DurableContext, n: int, fn: Any) -> int:
    batch = await ctx.map(
        [1] * n, fn, name="items", config=MapConfig(max_concurrency=BATCH_CONCURRENCY)
    )
    return sum(batch.results())


@durable_execution
async def map_items(event: dict[str, Any], ctx: DurableContext) -> int:
    """A map over ``n`` items, one step each; the sum of the results is ``n``."""
    return await _map_sum(ctx, event["n"], _one_step)


@durable_execution
async def map_async_items(event: dict[str, Any], ctx: DurableContext) -> int:
    """``map_items`` with an async step function: no worker-thread hop per item."""
    return await _map_sum(ctx, event["n"], _one_async_step)


@durable_execution
async def parallel_branches(event: dict[str, Any], ctx: DurableContext) -> int:
    """``n`` parallel branches, one step each; the sum of the results is ``n``."""

    async def branch(branch_ctx: DurableContext) -> int:
        value: int = await branch_ctx.step(same, 1)
        return value

    batch = await ctx.parallel(
        [branch] * event["n"],
        name="branches",
        config=ParallelConfig(max_concurrency=BATCH_CONCURRENCY),
    )
    return sum(batch.results())


HANDLERS: dict[str, Any] = {
    "steps": steps,
    "async_steps": async_steps,
    "steps_at_most_once": steps_at_most_once,
    "step_wait": step_wait,
    "callbacks": callbacks,
    "map_items": map_items,
    "map_async_items": map_async_items,
    "parallel_branches": parallel_branches,
}
