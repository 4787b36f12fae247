"""``ctx.patched``: new executions take the new path (recording an ordinary step
as a marker), executions recorded before the change keep the old one on replay,
and one that reaches the change after a deploy takes the new one."""

from __future__ import annotations

from typing import Any

import pytest
import trio.testing

from trio_durable import DurableContext, durable_execution
from trio_durable.errors import ValidationError
from trio_durable.testing import DurableTestRunner
from trio_durable.wire import OperationType

DEPLOYED = {"patched": False}  # which code a "deploy" runs: flipped by the tests


def refund_v1() -> str:
    return "refunded once"


def refund_v2() -> str:
    return "refunded, double-checked"


@durable_execution
async def orders(event: Any, ctx: DurableContext) -> Any:
    before = await ctx.create_callback(name="before")
    await before.result()
    if DEPLOYED["patched"]:
        if await ctx.patched("refund-fix"):
            refund = await ctx.step(refund_v2, name="refund")
        else:
            refund = await ctx.step(refund_v1, name="refund")
    else:
        refund = await ctx.step(refund_v1, name="refund")
    after = await ctx.create_callback(name="after")
    await after.result()
    return refund


@pytest.fixture(autouse=True)
def old_code() -> Any:
    DEPLOYED["patched"] = False
    yield
    DEPLOYED["patched"] = False


async def drive(runner: DurableTestRunner, *, deploy_after: str) -> Any:
    """Run an execution; switch to the patched code once callback ``deploy_after``
    is open (the execution suspended there), then finish it."""
    execution = await runner.start({})
    for name in ("before", "after"):
        callback = await execution.wait_for_callback(name)
        if name == deploy_after:
            DEPLOYED["patched"] = True
        await runner.succeed_callback(callback, None)
    return await execution.result()


async def test_a_new_execution_takes_the_new_path_and_records_an_ordinary_step(
    autojump_clock: trio.testing.MockClock,
) -> None:
    DEPLOYED["patched"] = True
    async with DurableTestRunner(orders) as runner:
        result = await drive(runner, deploy_after="none")
    assert result.status == "SUCCEEDED", result.error
    assert result.value == "refunded, double-checked"
    marker = result.step("patched:refund-fix")
    assert (marker.type, marker.sub_type) == (OperationType.STEP, "Step")
    assert result.result_of("patched:refund-fix") is True


async def test_an_execution_recorded_past_the_change_keeps_the_old_path(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(orders) as runner:
        result = await drive(runner, deploy_after="after")  # refund recorded by old code
    assert result.status == "SUCCEEDED", result.error
    assert result.value == "refunded once"
    assert [op.name for op in result.operations if op.name and op.name.startswith("patched")] == []


async def test_an_execution_that_reaches_the_change_after_the_deploy_takes_the_new_path(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(orders) as runner:
        result = await drive(runner, deploy_after="before")  # suspended before the change
    assert result.status == "SUCCEEDED", result.error
    assert result.value == "refunded, double-checked"


async def test_a_change_id_must_be_a_non_empty_string(
    autojump_clock: trio.testing.MockClock,
) -> None:
    @durable_execution
    async def bad(event: Any, ctx: DurableContext) -> Any:
        try:
            await ctx.patched("")
        except ValidationError as exc:
            return str(exc)
        return "accepted"

    async with DurableTestRunner(bad) as runner:
        result = await runner.run()
    assert result.value == "patched needs a non-empty change id"
