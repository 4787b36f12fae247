"""Typed payloads end to end, on both backends: annotations and ``result_type=``
build tuples, dataclasses and pydantic models, on the first run and on replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pydantic
import pytest

from trio_durable import DurableContext, durable_execution
from trio_durable.testing import DurableTestRunner

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Order:
    sku: str
    quantity: int


class Approval(pydantic.BaseModel):
    approved: bool
    by: str


async def split(text: str) -> tuple[str, int]:
    sku, quantity = text.split(":")
    return sku, int(quantity)


async def submit(callback_id: str) -> None:
    pass


@durable_execution(input_type=Order)
async def typed(order: Order, ctx: DurableContext) -> dict[str, Any]:
    pair = await ctx.step(split, f"{order.sku}:{order.quantity}", name="split")
    await ctx.wait(timedelta(minutes=1), name="pause")  # the rest replays the step
    approval = await ctx.wait_for_callback(submit, name="approval", result_type=Approval)
    return {
        "pair_is_tuple": isinstance(pair, tuple),
        "order_is_order": isinstance(order, Order),
        "approved_by": approval.by if isinstance(approval, Approval) else None,
    }


async def test_types_are_built_on_every_run(anyio_backend: Any) -> None:
    async with DurableTestRunner(typed, virtual_time=True) as runner:
        execution = await runner.start({"sku": "book", "quantity": 2})
        callback = await execution.wait_for_callback("approval")
        await runner.succeed_callback(callback, {"approved": True, "by": "ada"})
        result = await execution.result(result_type=dict[str, Any])
    assert result.status == "SUCCEEDED", result.error
    assert result.value == {"pair_is_tuple": True, "order_is_order": True, "approved_by": "ada"}
    assert result.result_of("split", result_type=tuple[str, int]) == ("book", 2)


async def test_a_callback_result_that_does_not_fit_names_the_field(anyio_backend: Any) -> None:
    async with DurableTestRunner(typed, virtual_time=True) as runner:
        execution = await runner.start({"sku": "book", "quantity": 2})
        callback = await execution.wait_for_callback("approval")
        await runner.succeed_callback(callback, {"approved": "perhaps", "by": "ada"})
        result = await execution.result()
    assert result.status == "FAILED"
    assert result.error is not None
    assert result.error.type == "SerializationError"
    assert "approved" in (result.error.message or "")


async def test_an_event_that_does_not_fit_fails_the_execution(anyio_backend: Any) -> None:
    async with DurableTestRunner(typed, virtual_time=True) as runner:
        result = await runner.run({"sku": "book", "quantity": "two"})
    assert result.status == "FAILED"
    assert result.error is not None
    assert "the event.quantity: expected int, got str" in (result.error.message or "")
