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
from trio_durable.testing import DurableTestRunner, ExecutionResult
from trio_durable.wire import Operation, OperationStatus, OperationType

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


def double(value: int) -> int:
    if value < 0:
        raise ValueError(f"cannot double {value}")
    return value * 2


async def _double_item(item_ctx: DurableContext, item: int, index: int) -> int:
    doubled: int = await item_ctx.step(double, item, name="double")
    return doubled


@durable_execution
async def nested(event: dict[str, Any], ctx: DurableContext) -> int:
    async def group(child: DurableContext) -> int:
        inner: int = await child.step(double, 5, name="inner")
        return inner + 1

    outer = await ctx.step(double, 1, name="outer")
    grouped = await ctx.run_in_child_context(group, name="group")
    batch = await ctx.map(event["items"], _double_item, name="items")
    return outer + grouped + len(batch.failed())


async def test_operations_are_found_by_name_inside_their_parents(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(nested) as runner:
        result = await runner.run({"items": [1, -2, 3]})
    assert result.status == "SUCCEEDED", result.error
    assert result.value == 2 + 11 + 1
    assert result.result_of("outer") == 2
    assert result.result_of("group") == 11
    inner = result.operation("inner", parent="group")
    assert inner.parent_id == result.operation("group").id
    assert result.result_of("inner", parent="group") == 10
    iterations = result.children("items")  # created in the order the branches ran
    assert sorted(op.name or "" for op in iterations) == ["map-item-0", "map-item-1", "map-item-2"]
    first, second, third = (result.operation(f"map-item-{i}", parent="items") for i in range(3))
    assert [result.result_of("double", parent=op) for op in (first, third)] == [2, 6]
    with pytest.raises(ValueError, match=r"'double' is FAILED: ValueError: cannot double -2"):
        result.result_of("double", parent=second)
    with pytest.raises(KeyError, match=r"no operation named 'inner' inside 'items'"):
        result.operation("inner", parent="items")
    with pytest.raises(KeyError, match=r"no operation named 'missing' \(named ones: ") as missing:
        result.operation("missing")
    for known in ("double", "group", "inner", "items", "map-item-0", "outer"):
        assert repr(known) in str(missing.value)


def test_a_failed_lookup_lists_at_most_twenty_names() -> None:
    ops = tuple(
        Operation(
            id=f"op-{n:02}",
            type=OperationType.STEP,
            status=OperationStatus.SUCCEEDED,
            start_timestamp=0.0,
            name=f"s{n:02}",
        )
        for n in range(25)
    )
    result = ExecutionResult("arn", "SUCCEEDED", None, None, ops, ())
    with pytest.raises(KeyError) as exc:
        result.operation("missing")
    message = str(exc.value)
    assert "'s19', ..." in message and "'s20'" not in message
    assert result.children(ops[0]) == ()


tops: list[int] = []


@durable_execution
async def two_gates(event: Any, ctx: DurableContext) -> Any:
    tops.append(1)
    first = await ctx.create_callback(name="first")
    one = await first.result()
    second = await ctx.create_callback(name="second")
    return [one, await second.result()]


@pytest.mark.parametrize(("warm", "runs"), [(False, 3), (True, 1)])
async def test_a_warm_runner_resumes_the_workflow_instead_of_replaying_it(
    warm: bool, runs: int, autojump_clock: trio.testing.MockClock
) -> None:
    tops.clear()
    async with DurableTestRunner(two_gates, warm=warm) as runner:
        execution = await runner.start()
        await runner.succeed_callback(await execution.wait_for_callback("first"), "a")
        await runner.succeed_callback(await execution.wait_for_callback("second"), "b")
        result = await execution.result()
    assert result.value == ["a", "b"]
    assert result.invocations == 3
    assert len(tops) == runs


def test_a_warm_runner_is_refused_under_asyncio() -> None:
    import asyncio

    async def enter() -> None:
        async with DurableTestRunner(two_gates, warm=True):
            pass

    with pytest.raises(ValueError, match="warm=True\\) runs on Trio only"):
        asyncio.run(enter())
