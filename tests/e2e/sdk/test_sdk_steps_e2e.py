"""Steps, waits and child contexts end to end on the real local service (virtual time).

Step bodies here are async, which keeps these tests off worker threads; sync
bodies under virtual time are covered by tests/unit/sdk/test_sdk_threads.py and
tests/e2e/testing/test_runner.py.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
import trio
from sdk_e2e_helpers import SimulatedCrash, events, kinds, run

from trio_durable import (
    ChildContextError,
    DurableContext,
    Jitter,
    RetryPresets,
    RetryStrategy,
    StepConfig,
    StepContext,
    StepError,
    StepSemantics,
    durable_execution,
)
from trio_durable.local.service import LocalService


def error_of(result: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = result["Error"]
    return error


async def test_fresh_run_suspends_and_replays_completed_steps(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    runs: list[str] = []

    async def greet(name: str) -> str:
        runs.append(name)
        return f"hello {name}"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[str]:
        first: str = await ctx.step(greet, event["name"], name="greet")
        await ctx.wait(3600, name="an hour")
        second: str = await ctx.step(greet, "again", name="greet-2")
        return [first, second]

    result = await run(service, handler, '{"name": "ada"}')
    assert result["Status"] == "SUCCEEDED"
    assert orjson.loads(result["Result"]) == ["hello ada", "hello again"]
    assert runs == ["ada", "again"]
    assert kinds(service, result["Arn"]) == [
        "ExecutionStarted",
        "StepStarted/Step",
        "StepSucceeded/Step",
        "WaitStarted/Wait",
        "InvocationCompleted",
        "WaitSucceeded/Wait",
        "StepStarted/Step",
        "StepSucceeded/Step",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    wait = events(service, result["Arn"])[3]
    assert (wait["Name"], wait["WaitStartedDetails"]["Duration"]) == ("an hour", 3600)


@pytest.mark.workflow_on_trio  # the body reads trio.current_time()
async def test_retries_wait_durably_for_their_delay(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    seen: list[tuple[int, float]] = []

    async def flaky(*, step_context: StepContext) -> str:
        seen.append((step_context.attempt, trio.current_time()))
        if step_context.attempt < 3:
            raise ConnectionError("try later")
        return "ok"

    strategy = RetryStrategy(max_attempts=4, initial_delay=10, backoff_rate=3, jitter=Jitter.NONE)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        return await ctx.step(flaky, config=StepConfig(retry_strategy=strategy))

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED"
    assert [attempt for attempt, _ in seen] == [1, 2, 3]
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(seen)]
    assert gaps[0] >= 10 and gaps[1] >= 30  # virtual seconds: the service re-invoked after them
    failed = [e for e in events(service, result["Arn"]) if e["EventType"] == "StepFailed"]
    assert [e["StepFailedDetails"]["RetryDetails"] for e in failed] == [
        {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 10},
        {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 30},
    ]


async def test_retry_exhaustion_fails_the_execution(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        async def always() -> None:
            raise ValueError("still broken")

        await ctx.step(always, config=StepConfig(retry_strategy=RetryStrategy(max_attempts=3)))

    result = await run(service, handler)
    assert result["Status"] == "FAILED"
    assert (error_of(result)["ErrorType"], error_of(result)["ErrorMessage"]) == (
        "ValueError",
        "still broken",
    )
    assert kinds(service, result["Arn"]).count("StepFailed/Step") == 3


async def test_an_at_most_once_step_cut_short_is_an_interrupted_attempt(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    runs: list[int] = []

    async def charge() -> str:
        runs.append(1)
        if len(runs) == 1:
            raise SimulatedCrash
        return "charged"

    config = StepConfig(
        retry_strategy=RetryStrategy(max_attempts=2, initial_delay=1),
        semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
    )

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        return await ctx.step(charge, config=config)

    result = await run(service, handler, crashing=True)
    assert result["Status"] == "SUCCEEDED" and orjson.loads(result["Result"]) == "charged"
    assert runs == [1, 1]  # the crashed attempt, then attempt 2 after the retry delay
    history = events(service, result["Arn"])
    assert [e["EventType"] for e in history][1:5] == [
        "StepStarted",
        "InvocationCompleted",
        "StepFailed",
        "InvocationCompleted",
    ]
    assert history[2]["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"] == (
        "Runtime.ExitError"
    )
    interrupted = history[3]["StepFailedDetails"]
    assert interrupted["Error"]["Payload"]["ErrorType"] == "StepInterruptedError"
    assert interrupted["RetryDetails"]["CurrentAttempt"] == 1


async def test_an_at_least_once_step_cut_short_runs_again_without_a_second_start(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    runs: list[int] = []

    async def work(child: DurableContext) -> str:
        async def body() -> str:
            runs.append(1)
            if len(runs) == 1:
                raise SimulatedCrash
            return "done"

        await child.wait(1)  # makes the START of the step below go out before the crash
        return await child.step(body, config=StepConfig(retry_strategy=RetryPresets.none()))

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        return await ctx.run_in_child_context(work, name="kid")

    result = await run(service, handler, crashing=True)
    assert result["Status"] == "SUCCEEDED" and runs == [1, 1]
    assert kinds(service, result["Arn"]).count("StepStarted/Step") == 1


async def test_non_determinism_fails_the_execution(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    invocations: list[int] = []

    async def noop() -> None:
        pass

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        invocations.append(1)
        await ctx.step(noop, name="first" if len(invocations) == 1 else "renamed")
        await ctx.wait(5)

    result = await run(service, handler)
    assert result["Status"] == "FAILED"
    assert error_of(result)["ErrorType"] == "NonDeterministicExecutionError"
    assert "renamed" in error_of(result)["ErrorMessage"]


async def test_child_contexts_replay_results_and_errors(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    bodies: list[str] = []

    async def ok(child: DurableContext, x: int) -> int:
        bodies.append("ok")

        async def double() -> int:
            return x * 2

        doubled: int = await child.step(double)
        await child.wait(2)
        return doubled

    async def broken(child: DurableContext) -> None:
        bodies.append("broken")
        raise PermissionError("denied")

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        value = await ctx.run_in_child_context(ok, 21)
        try:
            await ctx.run_in_child_context(broken)
        except ChildContextError as exc:
            message = f"{exc.error_type}: {exc.message}"
        await ctx.wait(1)
        return [value, message]

    result = await run(service, handler)
    assert orjson.loads(result["Result"]) == [42, "PermissionError: denied"]
    assert bodies == ["ok", "ok", "broken"]  # ok re-ran once, to finish after its wait
    contexts = [e for e in events(service, result["Arn"]) if e["EventType"].startswith("Context")]
    assert [(e["EventType"], e["Name"], e["SubType"]) for e in contexts] == [
        ("ContextStarted", "ok", "RunInChildContext"),
        ("ContextSucceeded", "ok", "RunInChildContext"),
        ("ContextStarted", "broken", "RunInChildContext"),
        ("ContextFailed", "broken", "RunInChildContext"),
    ]


async def test_large_results_use_replay_children_and_an_execution_update(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def big(child: DurableContext) -> list[str]:
        async def piece() -> str:
            return "z" * 1024

        text: str = await child.step(piece)
        return [text] * 300  # 300 KB: over the 256 KB payload limit

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[str]:
        pieces: list[str] = await ctx.run_in_child_context(big)
        await ctx.wait(1)
        # 5.6 MB of JSON, but over 6 MB once escaped inside the Lambda answer.
        return [p[:8] for p in pieces] * 1700

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED"
    assert len(orjson.loads(result["Result"])) == 300 * 1700
    succeeded = next(
        e for e in events(service, result["Arn"]) if e["EventType"] == "ContextSucceeded"
    )
    assert not succeeded["ContextSucceededDetails"].get("Result", {}).get("Payload")


async def test_a_result_too_large_to_store_fails_clearly(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        return "q" * (7 * 1024 * 1024)

    result = await run(service, handler)
    assert result["Status"] == "FAILED"
    assert error_of(result)["ErrorType"] == "SerializationError"
    assert "stores at most 6291456 bytes" in error_of(result)["ErrorMessage"]


async def test_a_step_error_too_large_to_store_is_recorded_cut_down(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def explode() -> None:
        raise ValueError("x" * 100_000)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.step(explode, config=StepConfig(retry_strategy=RetryPresets.none()))
        except StepError as exc:
            return f"{exc.error_type}: {len(exc.message)} characters"
        return "no error"

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED", result
    assert kinds(service, result["Arn"]) == [
        "ExecutionStarted",
        "StepStarted/Step",
        "StepFailed/Step",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    failed = events(service, result["Arn"])[2]["StepFailedDetails"]["Error"]["Payload"]
    assert failed["ErrorType"] == "ValueError"
    assert failed["ErrorMessage"].startswith("x" * 1000)
    assert "characters kept]" in failed["ErrorMessage"]
    assert orjson.loads(result["Result"]).startswith("ValueError: ")


async def test_the_sync_lambda_entry_runs_its_own_trio_loop_in_a_worker_thread(
    service: LocalService,
) -> None:
    from trio_durable.local.invokers import ThreadInvoker

    def shout(text: str) -> str:
        return text.upper()

    async def inner(child: DurableContext, text: str) -> str:
        value: str = await child.step(shout, text)
        return value

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        return await ctx.run_in_child_context(inner, event["text"])

    # The plain Lambda entry: handler(event, lambda_context), reaching the service
    # through the context's durable_client.
    service.register_function("sync-entry", ThreadInvoker(handler))
    started = service.start_execution("sync-entry", '{"text": "hi"}')
    with trio.fail_after(30):
        result = await service.wait_until_terminal(started.arn)
    assert orjson.loads(result["Result"]) == "HI"
