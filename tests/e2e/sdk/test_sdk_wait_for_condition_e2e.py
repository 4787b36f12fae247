"""wait_for_condition end to end on the real local service (virtual time)."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
import trio
from sdk_e2e_helpers import SimulatedCrash, events, kinds, run

from trio_durable import (
    DurableContext,
    StepContext,
    WaitForConditionConfig,
    WaitForConditionError,
    WaitStrategy,
    durable_execution,
)
from trio_durable.local.service import LocalService


def below(threshold: int, *, delay: int = 30, max_attempts: int = 60) -> WaitForConditionConfig:
    """Count from 0, polling every ``delay`` seconds while below ``threshold``."""
    return WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(
            lambda state: state < threshold, delay, max_attempts=max_attempts
        ),
        initial_state=0,
    )


@pytest.mark.workflow_on_trio  # the body reads trio.current_time()
async def test_polls_suspend_for_the_delay_until_the_condition_is_met(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    polls: list[tuple[int, int, float]] = []

    async def count(state: int, *, step_context: StepContext) -> int:
        polls.append((state, step_context.attempt, trio.current_time()))
        return state + 1

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_condition(count, name="poll", config=below(event))

    result = await run(service, handler, "3")
    assert result["Status"] == "SUCCEEDED" and result["Result"] == "3"
    assert [(state, attempt) for state, attempt, _ in polls] == [(0, 1), (1, 2), (2, 3)]
    gaps = [later[2] - earlier[2] for earlier, later in itertools.pairwise(polls)]
    assert all(gap >= 30 for gap in gaps)  # virtual seconds: the service waited the delay
    assert kinds(service, result["Arn"]) == [
        "ExecutionStarted",
        *["StepStarted/WaitForCondition", "StepSucceeded/WaitForCondition", "InvocationCompleted"]
        * 3,
        "ExecutionSucceeded",
    ]
    succeeded = [e for e in events(service, result["Arn"]) if e["EventType"] == "StepSucceeded"]
    assert [e["Name"] for e in succeeded] == ["poll"] * 3
    assert [e["StepSucceededDetails"]["Result"]["Payload"] for e in succeeded] == ["1", "2", "3"]
    assert [e["StepSucceededDetails"]["RetryDetails"] for e in succeeded] == [
        {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 30},
        {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 30},
        {"CurrentAttempt": 3},
    ]


async def test_a_condition_met_at_once_completes_without_suspending(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    config = WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(lambda state: state["status"] != "DONE", 5),
        initial_state={"status": "DONE", "polls": 0},
    )

    def poll(state: dict[str, Any]) -> dict[str, Any]:  # sync: runs in a worker thread
        return {**state, "polls": state["polls"] + 1}

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_condition(poll, config=config)

    result = await run(service, handler)
    assert orjson.loads(result["Result"]) == {"status": "DONE", "polls": 1}
    assert kinds(service, result["Arn"]) == [
        "ExecutionStarted",
        "StepStarted/WaitForCondition",
        "StepSucceeded/WaitForCondition",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]


async def test_running_out_of_attempts_fails_the_execution(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def count(state: int) -> int:
        return state + 1

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_condition(count, config=below(100, max_attempts=3))

    result = await run(service, handler)
    assert result["Status"] == "FAILED"
    assert result["Error"]["ErrorType"] == "WaitForConditionError"
    assert "exhausted its 3 attempts" in result["Error"]["ErrorMessage"]
    assert kinds(service, result["Arn"])[-4:] == [
        "StepStarted/WaitForCondition",
        "StepFailed/WaitForCondition",
        "InvocationCompleted",
        "ExecutionFailed",
    ]
    assert kinds(service, result["Arn"]).count("StepSucceeded/WaitForCondition") == 2


async def test_a_check_that_raises_fails_the_execution_when_uncaught(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def broken(state: Any) -> Any:
        raise LookupError("no such order")

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_condition(broken, config=below(3))

    result = await run(service, handler)
    assert result["Status"] == "FAILED"
    assert (result["Error"]["ErrorType"], result["Error"]["ErrorMessage"]) == (
        "LookupError",
        "no such order",
    )
    assert kinds(service, result["Arn"])[1:3] == [
        "StepStarted/WaitForCondition",
        "StepFailed/WaitForCondition",
    ]


async def test_a_check_that_raises_can_be_caught_and_later_replays_the_same_error(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    checks: list[int] = []

    async def broken(state: Any) -> Any:
        checks.append(1)
        raise LookupError("no such order")

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        try:
            await ctx.wait_for_condition(broken, config=below(3))
        except WaitForConditionError as exc:
            caught = [exc.error_type, exc.message]
        await ctx.wait(60)  # the replay after this raises the recorded failure again
        return caught

    result = await run(service, handler)
    assert orjson.loads(result["Result"]) == ["LookupError", "no such order"]
    assert checks == [1]


async def test_a_custom_serializer_writes_and_reads_the_state_across_suspensions(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    class Tagged:
        """A string state recorded as raw text behind a tag."""

        def serialize(self, value: Any) -> str | None:
            return f"tag:{value}"

        def deserialize(self, payload: str | None) -> Any:
            assert payload is not None and payload.startswith("tag:"), payload
            return payload.removeprefix("tag:")

    seen: list[str] = []

    async def grow(state: str) -> str:
        seen.append(state)
        return state + "x"

    config = WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(lambda state: len(state) < 2, 1),
        initial_state="",
        serializer=Tagged(),
    )

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_condition(grow, config=config)

    result = await run(service, handler)
    assert orjson.loads(result["Result"]) == "xx"
    assert seen == ["", "x"]
    payloads = [
        e["StepSucceededDetails"]["Result"]["Payload"]
        for e in events(service, result["Arn"])
        if e["EventType"] == "StepSucceeded"
    ]
    assert payloads == ["tag:x", "tag:xx"]


async def test_replay_after_a_suspension_reruns_nothing_already_recorded(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    runs: list[str] = []

    async def prepare() -> str:
        runs.append("prepare")
        return "order-1"

    async def count(state: int) -> int:
        runs.append(f"poll {state}")
        return state + 1

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        order = await ctx.step(prepare)
        first = await ctx.wait_for_condition(count, name="first", config=below(2))
        second = await ctx.wait_for_condition(
            count,
            name="second",
            config=WaitForConditionConfig(
                wait_strategy=WaitStrategy.fixed(lambda state: state < 4, 10), initial_state=first
            ),
        )
        return [order, first, second]

    result = await run(service, handler)
    assert orjson.loads(result["Result"]) == ["order-1", 2, 4]
    assert runs == ["prepare", "poll 0", "poll 1", "poll 2", "poll 3"]
    assert kinds(service, result["Arn"]).count("InvocationCompleted") == 3


async def test_a_poll_cut_short_by_a_crash_runs_again_from_the_recorded_state(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    polls: list[int] = []

    async def count(state: int) -> int:
        polls.append(state)
        if len(polls) == 2:
            raise SimulatedCrash
        return state + 1

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_condition(count, config=below(2))

    result = await run(service, handler, crashing=True)
    assert result["Status"] == "SUCCEEDED" and result["Result"] == "2"
    assert polls == [0, 1, 1]
