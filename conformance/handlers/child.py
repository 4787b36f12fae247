"""Suite ``child`` (3-x): one durable function per requirement."""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta
from typing import Any

from conformance.handlers.support import RawUppercaseSerializer, first_time, wait_for_event
from trio_durable import DurableContext, durable_execution
from trio_durable.config import ChildConfig, Jitter, RetryPresets, RetryStrategy, StepConfig
from trio_durable.errors import ChildContextError
from trio_durable.runtime.logger import DurableLogger

NO_RETRY = StepConfig(retry_strategy=RetryPresets.none())
# Comfortably over the 256 KB a checkpointed payload may hold.
LARGE_RESULT_BYTES = 300 * 1024


def echo(value: Any) -> Any:
    return value


async def step_echo(child: DurableContext, value: Any) -> Any:
    return await child.step(echo, value)


@durable_execution
async def child_basic(event: Any, ctx: DurableContext) -> Any:
    """3-1: a child context around one step."""
    return await ctx.run_in_child_context(step_echo, event)


@durable_execution
async def child_named(event: Any, ctx: DurableContext) -> Any:
    """3-2: the child context is named after the first input."""
    return await ctx.run_in_child_context(step_echo, event["value"], name=event["name"])


async def two_steps(child: DurableContext, value: Any) -> Any:
    first = await child.step(echo, value)
    return await child.step(echo, first)


@durable_execution
async def child_sequential_steps(event: Any, ctx: DurableContext) -> Any:
    """3-3: two dependent steps inside one child context."""
    return await ctx.run_in_child_context(two_steps, event)


def failing_func() -> str:
    raise RuntimeError("step inside the child context failed")


async def failing_step(child: DurableContext) -> Any:
    return await child.step(failing_func, config=NO_RETRY)


@durable_execution
async def child_step_fails(event: Any, ctx: DurableContext) -> Any:
    """3-4: the inner step fails, the child fails, the execution fails."""
    return await ctx.run_in_child_context(failing_step)


@durable_execution
async def child_failure_caught(event: Any, ctx: DurableContext) -> Any:
    """3-5: the child's failure is caught and a recovery step runs."""
    with contextlib.suppress(ChildContextError):
        await ctx.run_in_child_context(failing_step)
    return await ctx.step(echo, event)


async def outer_body(child: DurableContext, value: Any) -> Any:
    await child.step(echo, value)
    return await child.run_in_child_context(step_echo, value)


@durable_execution
async def child_nested(event: Any, ctx: DurableContext) -> Any:
    """3-6: a child context holding a step and a nested child context."""
    return await ctx.run_in_child_context(outer_body, event)


def echo_after_first_attempt(value: Any, *, step_context: Any) -> Any:
    if step_context.attempt == 1:
        raise RuntimeError("first attempt fails")
    return value


async def retrying_step(child: DurableContext, value: Any) -> Any:
    strategy = RetryStrategy(max_attempts=3, initial_delay=timedelta(seconds=1), jitter=Jitter.NONE)
    return await child.step(
        echo_after_first_attempt, value, config=StepConfig(retry_strategy=strategy)
    )


@durable_execution
async def child_step_retry(event: Any, ctx: DurableContext) -> Any:
    """3-7: the inner step fails once, is retried, and succeeds."""
    return await ctx.run_in_child_context(retrying_step, event)


async def exhausted_step(child: DurableContext) -> Any:
    strategy = RetryStrategy(max_attempts=2, initial_delay=timedelta(seconds=1), jitter=Jitter.NONE)
    return await child.step(failing_func, config=StepConfig(retry_strategy=strategy))


@durable_execution
async def child_step_retry_exhausted(event: Any, ctx: DurableContext) -> Any:
    """3-8: the inner step exhausts 2 attempts and the child fails."""
    return await ctx.run_in_child_context(exhausted_step)


@durable_execution
async def child_replay_cached(event: Any, ctx: DurableContext) -> Any:
    """3-9: after the wait, replay takes the child's recorded result."""
    result = await ctx.run_in_child_context(step_echo, event)
    await ctx.wait(timedelta(seconds=1))
    return result


async def step_then_wait(child: DurableContext, value: Any) -> Any:
    result = await child.step(echo, value)
    await child.wait(timedelta(seconds=1))
    return result


@durable_execution
async def child_step_and_wait(event: Any, ctx: DurableContext) -> Any:
    """3-10: a step and a wait inside one child context."""
    return await ctx.run_in_child_context(step_then_wait, event)


def replay_logging(child: DurableContext) -> DurableLogger:
    """The child's logger, logging during replay too, so a re-run body shows in the logs."""
    return child.logger.including_replay()


async def build_large(child: DurableContext, value: str) -> str:
    replay_logging(child).info("building a large result for %s", value)
    small: str = await child.step(echo, value)
    return small * (LARGE_RESULT_BYTES // len(small) + 1)


@durable_execution
async def child_large_result(event: Any, ctx: DurableContext) -> Any:
    """3-11: a child result over 256 KB is rebuilt by re-running the child on replay."""
    large = await ctx.run_in_child_context(build_large, event)
    # 3 s (any Duration passes): the invocation must end before the wait does, and
    # ending one that wrote a result over 256 KB took over 1 s on a loaded machine.
    await ctx.wait(timedelta(seconds=3))
    return {"length": len(large), "prefix": large[: len(event)]}


def crash_once(value: Any, execution_arn: str) -> Any:
    """Kill the process on the first run, once StepStarted is recorded; echo after."""
    if first_time(f"3-12-{execution_arn}"):
        wait_for_event(execution_arn, "StepStarted")
        os._exit(1)
    return value


async def crashing_step(child: DurableContext, value: Any) -> Any:
    return await child.step(crash_once, value, child.execution_arn)


@durable_execution
async def child_crash_in_step(event: Any, ctx: DurableContext) -> Any:
    """3-12: the process dies inside the child's step; the next invocation re-runs it."""
    return await ctx.run_in_child_context(crashing_step, event)


async def wait_then_return(child: DurableContext, value: Any) -> Any:
    await child.wait(timedelta(seconds=1))
    return value


@durable_execution
async def child_wait_only(event: Any, ctx: DurableContext) -> Any:
    """3-13: a child holding only a wait, then a step outside it."""
    result = await ctx.run_in_child_context(wait_then_return, event)
    return await ctx.step(echo, result)


@durable_execution
async def child_custom_serializer(event: Any, ctx: DurableContext) -> Any:
    """3-14: the child's result is recorded through an upper-casing serializer."""
    config = ChildConfig(serializer=RawUppercaseSerializer())
    return await ctx.run_in_child_context(step_echo, event, config=config)


async def raise_directly(child: DurableContext) -> Any:
    raise RuntimeError("child body failed without a durable operation")


@durable_execution
async def child_raises_directly(event: Any, ctx: DurableContext) -> Any:
    """3-15: the child body raises before any durable operation."""
    return await ctx.run_in_child_context(raise_directly)


async def return_none(child: DurableContext) -> None:
    return None


@durable_execution
async def child_returns_none(event: Any, ctx: DurableContext) -> Any:
    """3-16: a child returning None."""
    return await ctx.run_in_child_context(return_none)


async def log_and_return(child: DurableContext, value: Any) -> Any:
    replay_logging(child).info("child context running for %s", value)
    return value


@durable_execution
async def child_logger_only(event: Any, ctx: DurableContext) -> Any:
    """3-17: the child only logs; replay must not run it (nor log) again."""
    result = await ctx.run_in_child_context(log_and_return, event)
    await ctx.wait(timedelta(seconds=1))
    return result


@durable_execution
async def child_mixed_then_outer(event: Any, ctx: DurableContext) -> Any:
    """3-18: step+wait inside a child, then step+wait at the top level."""
    inner = await ctx.run_in_child_context(step_then_wait, event)
    outer = await ctx.step(echo, inner)
    await ctx.wait(timedelta(seconds=1))
    return outer
