"""DurableTestRunner drives real workflows on the embedded service, in virtual time."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import trio
import trio.testing

from trio_durable import (
    CallbackConfig,
    CallbackFailedError,
    DurableContext,
    RetryStrategy,
    StepConfig,
    WaitForCallbackConfig,
    durable_execution,
)
from trio_durable.testing import DurableTestRunner

submitted: list[str] = []


def reserve(sku: str) -> dict[str, Any]:
    return {"sku": sku, "reservation": f"r-{sku}"}


async def notify_approver(callback_id: str, reservation: str) -> None:
    submitted.append(callback_id)


@durable_execution
async def order(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    reservation = await ctx.step(reserve, event["sku"], name="reserve")
    approval = await ctx.wait_for_callback(
        notify_approver,
        reservation["reservation"],
        name="approval",
        config=WaitForCallbackConfig(timeout=timedelta(days=1)),
    )
    await ctx.wait(timedelta(hours=1), name="cool-off")
    return {"reservation": reservation, "approval": approval}


async def test_callback_completed_from_outside_then_a_long_wait_in_virtual_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    submitted.clear()
    started = trio.current_time()
    async with DurableTestRunner(order) as runner:
        execution = await runner.start({"sku": "book"})
        callback = await execution.wait_for_callback("approval")
        assert submitted == [callback.callback_id]
        await runner.succeed_callback(callback, {"approved": True})
        result = await execution.result()
    assert result.status == "SUCCEEDED", result.error
    assert result.value == {
        "reservation": {"sku": "book", "reservation": "r-book"},
        "approval": {"approved": True},
    }
    assert result.operation("reserve").result == '{"sku":"book","reservation":"r-book"}'
    # Suspended at the callback and at the wait: three invocations in all.
    assert result.invocations == 3
    assert trio.current_time() - started >= 3600


@durable_execution
async def approval_only(event: Any, ctx: DurableContext) -> Any:
    callback = await ctx.create_callback(name="gate", config=CallbackConfig(timeout=60))
    try:
        return await callback.result()
    except CallbackFailedError as exc:
        return {"failed": exc.error_type}


async def test_failed_callback_is_seen_by_the_workflow(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(approval_only) as runner:
        execution = await runner.start()
        callback = await execution.wait_for_callback("gate")
        await runner.fail_callback(callback.callback_id, error_type="Denied", message="no")
        result = await execution.result()
    assert (result.status, result.value) == ("SUCCEEDED", {"failed": "Denied"})


async def test_wait_for_callback_raises_when_the_execution_ends_without_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    flaky_calls = 0

    def flaky() -> str:
        nonlocal flaky_calls
        flaky_calls += 1
        if flaky_calls < 3:
            raise TimeoutError("upstream slow")
        return "done"

    @durable_execution
    async def retrying(event: Any, ctx: DurableContext) -> str:
        strategy = RetryStrategy(max_attempts=3, initial_delay=30, max_delay=30)
        return await ctx.step(flaky, name="flaky", config=StepConfig(retry_strategy=strategy))

    async with DurableTestRunner(retrying) as runner:
        execution = await runner.start()
        with pytest.raises(LookupError, match="ended without an open callback"):
            await execution.wait_for_callback()
        result = await execution.result()
    assert (result.status, result.value, flaky_calls) == ("SUCCEEDED", "done", 3)
    assert result.operation("flaky").attempt == 3


async def test_an_invocation_that_hangs_times_out_in_virtual_time_and_is_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    attempts: list[float] = []

    async def slow_lookup() -> str:
        attempts.append(trio.current_time())
        if len(attempts) == 1:
            await trio.sleep_forever()  # the first invocation never comes back
        return "found"

    @durable_execution
    async def lookup(event: Any, ctx: DurableContext) -> str:
        found: str = await ctx.step(slow_lookup)
        return found

    async with DurableTestRunner(lookup, invocation_timeout_seconds=120) as runner:
        result = await runner.run()
    assert result.status == "SUCCEEDED" and result.value == "found"
    assert result.invocations == 2
    assert attempts[1] - attempts[0] >= 120
    first = next(e for e in result.events if e["EventType"] == "InvocationCompleted")
    error = first["InvocationCompletedDetails"]["Error"]["Payload"]
    assert error["ErrorType"] == "Sandbox.Timedout"


async def test_a_sync_step_slower_than_the_runners_patience_does_not_let_time_jump(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[float] = []

    def slow_report() -> str:
        seen.append(trio.from_thread.run_sync(trio.current_time))
        time.sleep(1.3)  # real time: past the runner's 1 s autojump threshold
        seen.append(trio.from_thread.run_sync(trio.current_time))
        return "report"

    @durable_execution
    async def reporting(event: Any, ctx: DurableContext) -> str:
        report: str = await ctx.step(slow_report)
        await ctx.wait(60)
        return report

    async with DurableTestRunner(reporting, invocation_timeout_seconds=30) as runner:
        start = trio.current_time()
        result = await runner.run()
    assert result.status == "SUCCEEDED" and result.value == "report"
    assert result.invocations == 2
    assert seen[0] == seen[1]  # virtual time stood still while the step ran
    assert 60 <= trio.current_time() - start < 90
