"""Workflows the web console's tests drive: each shows one thing in the console."""

from __future__ import annotations

from typing import Any

from trio_durable import (
    DurableContext,
    RetryStrategy,
    StepConfig,
    StepContext,
    durable_execution,
)


async def _double(ctx: DurableContext, item: int, index: int) -> int:
    return await ctx.step(lambda: item * 2, name="double")


async def _announce(callback_id: str) -> None:
    """The wait_for_callback submitter: someone else (the console) completes it."""


@durable_execution
async def approval(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """A step, a map of three items, then a callback that waits for approval."""
    ctx.logger.info("order %s waits for approval", event.get("order"))
    reserved = await ctx.step(lambda: f"reserved:{event.get('order')}", name="reserve")
    doubled = await ctx.map([1, 2, 3], _double, name="prices")
    decision = await ctx.wait_for_callback(_announce, name="approval")
    return {"reserved": reserved, "prices": doubled.results(), "decision": decision}


@durable_execution
async def sleeper(event: dict[str, Any], ctx: DurableContext) -> str:
    """Waits an hour: something to stop, pause and resume."""
    await ctx.wait(3600, name="nap")
    return "rested"


@durable_execution
async def echo(event: Any, ctx: DurableContext) -> Any:
    """Returns its input from a step."""
    return await ctx.step(lambda: event, name="echo")


@durable_execution
async def many_steps(event: dict[str, Any], ctx: DurableContext) -> int:
    """``event["steps"]`` steps in a row: more than the console shows at once."""
    for n in range(event["steps"]):
        await ctx.step(int, n, name=f"step-{n}")
    return int(event["steps"])


class Flaky(Exception):
    """The first attempt's failure."""


def _charge(*, step_context: StepContext) -> str:
    if step_context.attempt == 1:
        raise Flaky("card declined once")
    return f"charged on attempt {step_context.attempt}"


@durable_execution
async def flaky(event: Any, ctx: DurableContext) -> str:
    """A step that fails its first attempt and succeeds after a 1 s retry delay."""
    retry = RetryStrategy(max_attempts=2, initial_delay=1, backoff_rate=1)
    return str(await ctx.step(_charge, name="charge", config=StepConfig(retry_strategy=retry)))
