"""Suite ``wait_for_condition`` (6-x): one durable function per requirement.

Most checks add one to an integer state; the wait strategies poll again after
one second (two in 6-5) until the state reaches the threshold given as input.
"""

from __future__ import annotations

from typing import Any

from trio_durable import (
    DurableContext,
    WaitForConditionConfig,
    WaitForConditionError,
    WaitStrategy,
    durable_execution,
)


def _increment(state: int) -> int:
    return state + 1


def _until(threshold: int, *, delay: int = 1, initial_state: Any = 0) -> WaitForConditionConfig:
    """Poll every ``delay`` seconds while the state is below ``threshold``."""
    return WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(lambda state: state < threshold, delay),
        initial_state=initial_state,
    )


class _FailingCheck(Exception):
    """What the checks of 6-7 and 6-8 raise."""


def _failing_check(state: Any) -> Any:
    raise _FailingCheck("the check function failed")


class _PrefixedStateSerializer:
    """Records a string state as raw text behind a ``state:`` prefix (6-11)."""

    def serialize(self, value: Any) -> str | None:
        return f"state:{value}"

    def deserialize(self, payload: str | None) -> Any:
        return None if payload is None else payload.removeprefix("state:")


@durable_execution
async def wfcond_basic(event: Any, ctx: DurableContext) -> Any:
    """6-1: count from 0 up to the input threshold, one poll per invocation."""
    return await ctx.wait_for_condition(_increment, config=_until(event))


@durable_execution
async def wfcond_immediate(event: Any, ctx: DurableContext) -> Any:
    """6-2: the initial state already meets the condition: one poll, no suspension."""
    config = WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(lambda state: state < 5, 1), initial_state=5
    )
    return await ctx.wait_for_condition(lambda state: state, config=config)


@durable_execution
async def wfcond_named(event: Any, ctx: DurableContext) -> Any:
    """6-3: the name is recorded on every poll."""
    return await ctx.wait_for_condition(_increment, name="poll-status", config=_until(event))


@durable_execution
async def wfcond_initial_state(event: Any, ctx: DurableContext) -> Any:
    """6-4: the polls start from the initial state 5."""
    return await ctx.wait_for_condition(_increment, config=_until(event, initial_state=5))


@durable_execution
async def wfcond_fixed_delay(event: Any, ctx: DurableContext) -> Any:
    """6-5: every RETRY records a 2-second delay."""
    return await ctx.wait_for_condition(_increment, config=_until(event, delay=2))


@durable_execution
async def wfcond_max_attempts(event: Any, ctx: DurableContext) -> Any:
    """6-6: a condition never met fails after 3 attempts."""
    config = WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(lambda state: True, 1, max_attempts=3),
        initial_state=event,
    )
    return await ctx.wait_for_condition(_increment, config=config)


@durable_execution
async def wfcond_check_fails(event: Any, ctx: DurableContext) -> Any:
    """6-7: the check raises; the failure is not caught."""
    return await ctx.wait_for_condition(_failing_check, config=_until(1))


@durable_execution
async def wfcond_check_fails_caught(event: Any, ctx: DurableContext) -> Any:
    """6-8: the check raises; the handler catches the failure."""
    try:
        await ctx.wait_for_condition(_failing_check, config=_until(1))
    except WaitForConditionError:
        return "recovered"
    return "not reached"


@durable_execution
async def wfcond_complex_state(event: Any, ctx: DurableContext) -> Any:
    """6-9: an object state, DONE after two polls."""

    def check(state: dict[str, Any]) -> dict[str, Any]:
        attempts = state["attempts"] + 1
        return {"status": "DONE" if attempts >= 2 else "PENDING", "attempts": attempts}

    config = WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(lambda state: state["status"] == "PENDING", 1),
        initial_state={"status": "PENDING", "attempts": 0},
    )
    return await ctx.wait_for_condition(check, config=config)


@durable_execution
async def wfcond_null_result(event: Any, ctx: DurableContext) -> Any:
    """6-10: the check returns null and the strategy stops at once."""
    config = WaitForConditionConfig(wait_strategy=WaitStrategy.fixed(lambda state: False, 1))
    return await ctx.wait_for_condition(lambda state: None, config=config)


@durable_execution
async def wfcond_custom_serializer(event: Any, ctx: DurableContext) -> Any:
    """6-11: a string state recorded through a custom serializer, "xx" after two polls."""
    config = WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(lambda state: len(state) < 2, 1),
        initial_state="",
        serializer=_PrefixedStateSerializer(),
    )
    return await ctx.wait_for_condition(lambda state: state + "x", config=config)


@durable_execution
async def wfcond_then_step(event: Any, ctx: DurableContext) -> Any:
    """6-12: the final state feeds a step that multiplies it by 10."""
    state = await ctx.wait_for_condition(_increment, config=_until(event))
    return await ctx.step(lambda: state * 10, name="multiply")


@durable_execution
async def wfcond_two_sequential(event: Any, ctx: DurableContext) -> Any:
    """6-13: two polls in a row; the first's result seeds the second."""
    first = await ctx.wait_for_condition(_increment, config=_until(2))
    return await ctx.wait_for_condition(_increment, config=_until(4, initial_state=first))
