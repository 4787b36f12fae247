"""Suite ``step`` (1-x): one durable function per requirement."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from conformance.handlers.support import TransientError, UppercaseSerializer
from trio_durable import DurableContext, StepContext, durable_execution
from trio_durable.config import Jitter, RetryPresets, RetryStrategy, StepConfig, StepSemantics
from trio_durable.errors import StepError

NO_RETRY = StepConfig(retry_strategy=RetryPresets.none())


def greet(name: str) -> str:
    return f"Hello, {name}!"


@durable_execution
async def step_basic(event: Any, ctx: DurableContext) -> Any:
    """1-1: one step that greets the input."""
    return await ctx.step(greet, event)


@durable_execution
async def step_named(event: Any, ctx: DurableContext) -> Any:
    """1-2: the same step with an explicit name."""
    return await ctx.step(greet, event, name="custom_step_name")


def step_one() -> str:
    return "first"


def step_two(previous: str) -> str:
    return f"{previous}_second"


@durable_execution
async def step_sequential(event: Any, ctx: DurableContext) -> Any:
    """1-3: the second step uses the first one's result."""
    first = await ctx.step(step_one)
    return await ctx.step(step_two, first)


def build_response(event: dict[str, Any]) -> dict[str, Any]:
    tags = list(event["tags"])
    return {"user": {"name": event["name"], "tags": tags}, "count": len(tags)}


@durable_execution
async def step_complex_result(event: Any, ctx: DurableContext) -> Any:
    """1-4: a nested result survives serialization."""
    return await ctx.step(build_response, event)


def do_nothing() -> None:
    return None


@durable_execution
async def step_null_result(event: Any, ctx: DurableContext) -> Any:
    """1-5: a step returning None."""
    return await ctx.step(do_nothing)


def return_input(value: Any) -> Any:
    return value


@durable_execution
async def step_custom_serializer(event: Any, ctx: DurableContext) -> Any:
    """1-6: a per-step serializer that upper-cases strings."""
    return await ctx.step(return_input, event, config=StepConfig(serializer=UppercaseSerializer()))


def greet_with_logs(name: str, *, step_context: StepContext) -> str:
    step_context.logger.info("Greeting step started for: %s", name)
    greeting = greet(name)
    step_context.logger.info("Greeting step completed with: %s", greeting)
    return greeting


@durable_execution
async def step_context_logger(event: Any, ctx: DurableContext) -> Any:
    """1-7: the step logs through ``step_context.logger``."""
    return await ctx.step(greet_with_logs, event)


def compute() -> str:
    return "computed"


@durable_execution
async def step_then_wait(event: Any, ctx: DurableContext) -> Any:
    """1-8: a step, then a 2-second wait; replay skips the step."""
    result = await ctx.step(compute)
    await ctx.wait(timedelta(seconds=2))
    return result


def cached_value(*, step_context: StepContext) -> str:
    step_context.logger.info("step executed")
    return "cached_value"


@durable_execution
async def step_replay_skips_succeeded(event: Any, ctx: DurableContext) -> Any:
    """1-9: replay returns the recorded result without running the step again."""
    result = await ctx.step(cached_value)
    await ctx.wait(timedelta(seconds=1))
    return result


def fail_once_recorded(*, step_context: StepContext) -> str:
    step_context.logger.info("step executed")
    raise RuntimeError("step failed permanently")


@durable_execution
async def step_replay_rethrows_failed(event: Any, ctx: DurableContext) -> Any:
    """1-10: replay re-raises the recorded failure, which the handler catches again."""
    try:
        await ctx.step(fail_once_recorded, config=NO_RETRY)
    except StepError as exc:
        caught = exc.error_type
    await ctx.wait(timedelta(seconds=1))
    return {"caught": caught}


def unreliable(*, step_context: StepContext) -> str:
    if step_context.attempt == 1:
        raise RuntimeError(f"attempt {step_context.attempt} failed")
    return "Operation succeeded"


@durable_execution
async def step_retry_then_succeed(event: Any, ctx: DurableContext) -> Any:
    """1-11: fails on attempt 1, succeeds on attempt 2 after a 1-second retry delay."""
    strategy = RetryStrategy(max_attempts=3, initial_delay=timedelta(seconds=1), jitter=Jitter.NONE)
    return await ctx.step(unreliable, config=StepConfig(retry_strategy=strategy))


def always_fail(*, step_context: StepContext) -> str:
    raise RuntimeError(f"attempt {step_context.attempt} failed")


@durable_execution
async def step_retry_exhausted(event: Any, ctx: DurableContext) -> Any:
    """1-12: 4 attempts, 1 second apart, all failing."""
    strategy = RetryStrategy(
        max_attempts=4, initial_delay=timedelta(seconds=1), backoff_rate=1.0, jitter=Jitter.NONE
    )
    return await ctx.step(always_fail, config=StepConfig(retry_strategy=strategy))


def fail_twice(*, step_context: StepContext) -> str:
    if step_context.attempt <= 2:
        raise RuntimeError(f"attempt {step_context.attempt} failed")
    return f"succeeded on attempt {step_context.attempt}"


@durable_execution
async def step_default_retry(event: Any, ctx: DurableContext) -> Any:
    """1-13: the SDK's default retry strategy (no config)."""
    return await ctx.step(fail_twice)


@durable_execution
async def step_custom_backoff(event: Any, ctx: DurableContext) -> Any:
    """1-14: 2 s initial delay, 3x backoff, no jitter: delays 2 s then 6 s."""
    strategy = RetryStrategy(
        max_attempts=5, initial_delay=timedelta(seconds=2), backoff_rate=3.0, jitter=Jitter.NONE
    )
    return await ctx.step(fail_twice, config=StepConfig(retry_strategy=strategy))


def transient_once(*, step_context: StepContext) -> str:
    if step_context.attempt == 1:
        raise TransientError("temporary outage")
    return "recovered from transient error"


@durable_execution
async def step_retry_transient_only(event: Any, ctx: DurableContext) -> Any:
    """1-15: the strategy retries TransientError (and nothing else)."""
    strategy = RetryStrategy(
        max_attempts=3,
        initial_delay=timedelta(seconds=1),
        jitter=Jitter.NONE,
        retry_on=(TransientError,),
    )
    return await ctx.step(transient_once, config=StepConfig(retry_strategy=strategy))


def always_transient() -> str:
    raise TransientError("temporary outage")


@durable_execution
async def step_no_retry_on_transient(event: Any, ctx: DurableContext) -> Any:
    """1-16: the strategy does not retry TransientError, so the step fails at once."""
    strategy = RetryStrategy(
        max_attempts=3,
        initial_delay=timedelta(seconds=1),
        jitter=Jitter.NONE,
        retry_on=(ValueError,),
    )
    return await ctx.step(always_transient, config=StepConfig(retry_strategy=strategy))


def crash_after_logging(value: str, *, step_context: StepContext) -> str:
    step_context.logger.info("at-most-once step running for input %s", value)
    os._exit(1)


@durable_execution
async def step_at_most_once_crash(event: Any, ctx: DurableContext) -> Any:
    """1-17: an at-most-once step kills the process; replay fails it as interrupted."""
    config = StepConfig(
        semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY, retry_strategy=RetryPresets.none()
    )
    return await ctx.step(crash_after_logging, event, name="at_most_once_flaky_step", config=config)


def crash_on_first_attempt(value: str, *, step_context: StepContext) -> str:
    step_context.logger.info(
        "at-most-once step attempt %d for input %s", step_context.attempt, value
    )
    if step_context.attempt == 1:
        os._exit(1)
    return "succeeded on second attempt"


@durable_execution
async def step_at_most_once_crash_then_retry(event: Any, ctx: DurableContext) -> Any:
    """1-18: the interrupted attempt is retried and the second attempt succeeds."""
    config = StepConfig(
        semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        retry_strategy=RetryStrategy(
            max_attempts=2, initial_delay=timedelta(seconds=1), jitter=Jitter.NONE
        ),
    )
    return await ctx.step(crash_on_first_attempt, event, config=config)


def failing_func() -> str:
    raise RuntimeError("this step always fails")


@durable_execution
async def step_fails(event: Any, ctx: DurableContext) -> Any:
    """1-19: a failing step with no retries fails the execution."""
    return await ctx.step(failing_func, config=NO_RETRY)


def use_value(value: str) -> str:
    return value


@durable_execution
async def step_failure_caught(event: Any, ctx: DurableContext) -> Any:
    """1-20: the failure is caught and a second step runs with a fallback value."""
    try:
        value = await ctx.step(failing_func, config=NO_RETRY)
    except StepError:
        value = "fallback_result"
    return await ctx.step(use_value, value)
