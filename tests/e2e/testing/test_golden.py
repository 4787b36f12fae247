"""Golden histories stay the same from run to run, whatever order concurrent
branches run in, and keep what the workflow decided."""

from __future__ import annotations

from typing import Any

import trio.testing

from trio_durable import DurableContext, StepConfig, durable_execution
from trio_durable.config import RetryPresets
from trio_durable.testing import DurableTestRunner
from trio_durable.testing.golden import golden_history


async def _item(item_ctx: DurableContext, image: str, index: int) -> str:
    await item_ctx.wait(1 + index % 2, name="settle")
    thumb: str = await item_ctx.step(lambda: f"thumb-{image}", name="thumbnail")
    return thumb


@durable_execution
async def gallery(event: dict[str, Any], ctx: DurableContext) -> list[str]:
    batch = await ctx.map(event["images"], _item, name="thumbnails")
    return list(batch.results())


async def test_concurrent_branches_give_one_golden_history(
    autojump_clock: trio.testing.MockClock,
) -> None:
    images = [f"{n}.png" for n in range(8)]
    histories = []
    orders = set()
    async with DurableTestRunner(gallery) as runner:
        for _ in range(6):
            result = await runner.run({"images": images})
            assert result.status == "SUCCEEDED", result.error
            histories.append(golden_history(result))
            orders.add(tuple(e.get("Id") for e in result.events))
    assert all(history == histories[0] for history in histories)
    items = [op for op in histories[0]["operations"] if op["parent"] == "1"]
    assert [op["name"] for op in items] == [f"map-item-{n}" for n in range(8)]
    assert [op["id"] for op in items] == [f"1.{n}" for n in range(8)]
    print(f"{len(orders)} distinct event orders over 6 runs")


def explode() -> None:
    raise ValueError("no thumbnails today")


@durable_execution
async def failing(event: Any, ctx: DurableContext) -> None:
    await ctx.step(explode, name="explode", config=StepConfig(retry_strategy=RetryPresets.none()))


async def test_a_failed_execution_keeps_its_error_without_the_stack_trace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(failing) as runner:
        result = await runner.run()
    history = golden_history(result)
    assert history["status"] == "FAILED"
    assert history["error"] == {"ErrorMessage": "no thumbnails today", "ErrorType": "ValueError"}
    assert "StackTrace" not in str(history)
    (step,) = history["operations"]
    assert (step["name"], step["status"]) == ("explode", "FAILED")
    assert step["events"][-1]["type"] == "StepFailed"
