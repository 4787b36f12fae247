"""The benchmark workflows written with trio-durable (twins of those in ``bench.aws_side``)."""

from __future__ import annotations

from typing import Any

from trio_durable import DurableContext, StepConfig, StepSemantics, durable_execution

CALLBACK_RESULT = "done"


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


HANDLERS: dict[str, Any] = {
    "steps": steps,
    "async_steps": async_steps,
    "steps_at_most_once": steps_at_most_once,
    "step_wait": step_wait,
    "callbacks": callbacks,
}
