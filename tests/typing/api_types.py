"""Checked by mypy --strict (tests/unit/test_typing.py), never run.

``assert_type`` lines state what the public API's types are; lines marked
``# type: ignore[...]`` must be errors (warn_unused_ignores turns an ignore that
is no longer needed into an error, so these stay honest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, assert_type

from trio_durable import (
    BatchResult,
    DurableContext,
    ParallelBranch,
    StepContext,
    WaitForCallbackContext,
    durable_execution,
)
from trio_durable.operations.callback import Callback
from trio_durable.testing import DurableTestRunner, ExecutionResult
from trio_durable.wire import ErrorObject


@dataclass
class Order:
    sku: str
    quantity: int


def takes_int(x: int) -> int:
    return x


async def fetch(sku: str, quantity: int) -> tuple[str, int]:
    return sku, quantity


def with_context(x: int, *, step_context: StepContext) -> str:
    return str(x + step_context.attempt)


async def submit(callback_id: str, order: Order) -> None: ...


def submit_with_context(
    callback_id: str, note: str, *, step_context: WaitForCallbackContext
) -> None: ...


async def child(ctx: DurableContext, order: Order) -> Order:
    return order


async def item(ctx: DurableContext, value: int, index: int) -> str:
    return str(value)


async def branch(ctx: DurableContext) -> int:
    return 1


@durable_execution
async def workflow(event: Any, ctx: DurableContext) -> None:
    assert_type(await ctx.step(takes_int, 1), int)
    assert_type(await ctx.step(fetch, "book", 2), tuple[str, int])
    assert_type(await ctx.step(with_context, 3), str)
    assert_type(await ctx.run_in_child_context(child, Order("book", 1)), Order)

    await ctx.step(takes_int, "not an int")  # type: ignore[arg-type]
    await ctx.step(fetch, "book")  # type: ignore[arg-type]
    await ctx.run_in_child_context(child, 42)  # type: ignore[arg-type]

    mapped = await ctx.map([1, 2, 3], item)
    assert_type(mapped, BatchResult[str])
    assert_type(mapped.results(), list[str])
    assert_type(mapped.errors(), list[ErrorObject])
    await ctx.map(["a"], item)  # type: ignore[arg-type]

    assert_type((await ctx.parallel([branch, branch])).results(), list[int])
    named = await ctx.parallel([ParallelBranch(branch, "one"), ParallelBranch(branch, "two")])
    assert_type(named, BatchResult[int])

    callback = await ctx.create_callback(result_type=Order)
    assert_type(callback, Callback[Order])
    assert_type(await callback.result(), Order)
    assert_type(await (await ctx.create_callback()).result(), Any)

    assert_type(await ctx.wait_for_callback(submit, Order("a", 1), result_type=Order), Order)
    assert_type(await ctx.wait_for_callback(submit_with_context, "note"), Any)
    await ctx.wait_for_callback(submit, "not an order")  # type: ignore[arg-type]

    assert_type(await ctx.invoke("other", {"a": 1}, result_type=Order), Order)
    assert_type(await ctx.invoke("other"), Any)


async def runner_types() -> None:
    async with DurableTestRunner(workflow) as runner:
        result = await runner.run({"sku": "book"}, result_type=Order)
        assert_type(result, ExecutionResult[Order])
        assert_type(result.value, Order)
        assert_type(result.result_of("fetch", result_type=Order), Order)
        execution = await runner.start()
        assert_type(await execution.result(), ExecutionResult[Any])
