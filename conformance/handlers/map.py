"""Suite ``map`` (9-x): one durable function per requirement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conformance.handlers.parallel import FIVE, FOUR, constant, projection
from trio_durable import (
    BatchItem,
    BatchItemStatus,
    BatchResult,
    CompletionConfig,
    CompletionReason,
    DurableContext,
    MapConfig,
    NestingMode,
    durable_execution,
)

SEQUENTIAL = MapConfig(max_concurrency=1)
# Four items of this size make a batch result over the 256 KB a payload may hold.
LARGE_ITEM_CHARS = 70 * 1024


def sequential(**completion: Any) -> MapConfig:
    return MapConfig(max_concurrency=1, completion=CompletionConfig(**completion))


async def greet(ctx: DurableContext, item: str, index: int) -> str:
    return await ctx.step(constant, f"Hello, {item}!")


async def double(ctx: DurableContext, item: int, index: int) -> int:
    return item * 2


async def plus_index(ctx: DurableContext, item: int, index: int) -> int:
    return item + index


async def times_ten(ctx: DurableContext, item: int, index: int) -> int:
    return item * 10


async def upper(ctx: DurableContext, item: str, index: int) -> str:
    return item.upper()


async def itself(ctx: DurableContext, item: Any, index: int) -> Any:
    return item


async def step_itself(ctx: DurableContext, item: Any, index: int) -> Any:
    return await ctx.step(constant, item)


async def fail_marked(ctx: DurableContext, item: str, index: int) -> str:
    """Items spelled ``fail`` raise; others return themselves."""
    if item == "fail":
        raise RuntimeError(f"item {index} failed")
    return item


@durable_execution
async def map_basic(event: Any, ctx: DurableContext) -> Any:
    """9-1: one step per item, in order."""
    return (await ctx.map(event, greet, name="map", config=SEQUENTIAL)).results()


@durable_execution
async def map_unnamed(event: Any, ctx: DurableContext) -> Any:
    """9-2: no operation name; items doubled directly."""
    return (await ctx.map(event, double, config=SEQUENTIAL)).results()


@durable_execution
async def map_with_index(event: Any, ctx: DurableContext) -> Any:
    """9-3: the function gets each item's index."""
    return (await ctx.map(event, plus_index, name="indexed", config=SEQUENTIAL)).results()


@durable_execution
async def map_empty(event: Any, ctx: DurableContext) -> Any:
    """9-4: no items at all."""
    return (await ctx.map(event, itself, name="empty")).results()


@durable_execution
async def map_fail_fast(event: Any, ctx: DurableContext) -> Any:
    """9-5: the second item fails; fail-fast never starts the third."""
    result = await ctx.map(
        ["ok", "fail", "never"],
        fail_marked,
        name="failfast",
        config=sequential(tolerated_failure_count=0),
    )
    return projection(result, *FIVE)


@durable_execution
async def map_throw_if_error(event: Any, ctx: DurableContext) -> Any:
    """9-6: the first item fails; throw_if_error fails the execution."""
    result = await ctx.map(
        ["fail", "never"],
        fail_marked,
        name="throwing",
        config=sequential(tolerated_failure_count=0),
    )
    result.throw_if_error()
    return result.results()


@durable_execution
async def map_min_successful(event: Any, ctx: DurableContext) -> Any:
    """9-7: two successes complete the batch; two items never start."""
    result = await ctx.map(
        ["a", "b", "c", "d"], itself, name="min-successful", config=sequential(min_successful=2)
    )
    return projection(result, "completionReason", "successCount", "totalCount")


@durable_execution
async def map_tolerated_count(event: Any, ctx: DurableContext) -> Any:
    """9-8: one failure is tolerated; all items run."""
    result = await ctx.map(
        ["a", "fail", "c"],
        fail_marked,
        name="tolerated",
        config=sequential(tolerated_failure_count=1),
    )
    return projection(result, *FIVE)


@durable_execution
async def map_tolerated_count_exceeded(event: Any, ctx: DurableContext) -> Any:
    """9-9: the second failure exceeds a tolerance of one."""
    result = await ctx.map(
        ["fail", "fail", "never"],
        fail_marked,
        name="tolerated-exceeded",
        config=sequential(tolerated_failure_count=1),
    )
    return projection(result, *FOUR)


@durable_execution
async def map_tolerated_percentage_exceeded(event: Any, ctx: DurableContext) -> Any:
    """9-10: 2 of 4 failed (50%) exceeds 25%."""
    result = await ctx.map(
        ["fail", "fail", "c", "d"],
        fail_marked,
        name="tolerated-pct",
        config=sequential(tolerated_failure_percentage=25),
    )
    return projection(result, *FOUR)


@durable_execution
async def map_concurrent(event: Any, ctx: DurableContext) -> Any:
    """9-11: two at a time; results in item order."""
    result = await ctx.map(
        ["r0", "r1", "r2"], itself, name="concurrent", config=MapConfig(max_concurrency=2)
    )
    return result.results()


@durable_execution
async def map_flat(event: Any, ctx: DurableContext) -> Any:
    """9-12: FLAT nesting: the steps sit directly under the batch."""
    config = MapConfig(max_concurrency=1, nesting=NestingMode.FLAT)
    return (await ctx.map(["fa", "fb"], step_itself, name="flat", config=config)).results()


def item_name(item: Any, index: int) -> str:
    return f"item-{item}"


@durable_execution
async def map_item_namer(event: Any, ctx: DurableContext) -> Any:
    """9-13: each item's operation is named by the item namer."""
    config = MapConfig(max_concurrency=1, item_namer=item_name)
    return (await ctx.map(event, times_ten, name="named-items", config=config)).results()


class WrappedTextSerializer:
    """Writes a string ``v`` as the raw text ``wrapped:v`` and reads it back."""

    def serialize(self, value: Any) -> str | None:
        return f"wrapped:{value}"

    def deserialize(self, payload: str | None) -> Any:
        return (payload or "").removeprefix("wrapped:")


@durable_execution
async def map_item_serializer(event: Any, ctx: DurableContext) -> Any:
    """9-14: each item's result is recorded through a custom serializer."""
    config = MapConfig(max_concurrency=1, item_serializer=WrappedTextSerializer())
    return (await ctx.map(["x", "y"], upper, name="serdes", config=config)).results()


async def wait_on_second(ctx: DurableContext, item: str, index: int) -> Any:
    if index == 1:
        await ctx.wait(timedelta(seconds=1))
    return await ctx.step(constant, item)


@durable_execution
async def map_replay_across_wait(event: Any, ctx: DurableContext) -> Any:
    """9-15: the second item waits; the next invocation skips the first."""
    return (
        await ctx.map(["r0", "r1"], wait_on_second, name="suspend", config=SEQUENTIAL)
    ).results()


async def large(ctx: DurableContext, item: str, index: int) -> str:
    return item * LARGE_ITEM_CHARS


@durable_execution
async def map_large_result(event: Any, ctx: DurableContext) -> Any:
    """9-16: the batch result is over 256 KB: recorded with ReplayChildren."""
    result = await ctx.map(["a", "b", "c", "d"], large, name="large", config=SEQUENTIAL)
    return projection(result, "successCount", "totalCount")


@durable_execution
async def map_then_wait(event: Any, ctx: DurableContext) -> Any:
    """9-17: a wait after the map; the map replays from its record."""
    result = await ctx.map(["a", "b"], upper, name="then-wait", config=SEQUENTIAL)
    await ctx.wait(timedelta(seconds=1))
    return result.results()


@durable_execution
async def map_failure_then_wait(event: Any, ctx: DurableContext) -> Any:
    """9-18: a tolerated failure, then a wait; the failed item replays as failed."""
    result = await ctx.map(
        ["ok", "fail"],
        fail_marked,
        name="fail-then-wait",
        config=sequential(tolerated_failure_count=1),
    )
    await ctx.wait(timedelta(seconds=1))
    return projection(result, *FIVE)


class OperationSerializer:
    """Writes a whole batch result as ``OPSERDE:`` and its results comma-joined."""

    def serialize(self, value: BatchResult) -> str | None:
        return "OPSERDE:" + ",".join(value.results())

    def deserialize(self, payload: str | None) -> BatchResult:
        results = (payload or "").removeprefix("OPSERDE:").split(",")
        items = tuple(
            BatchItem(index, BatchItemStatus.SUCCEEDED, result)
            for index, result in enumerate(results)
        )
        return BatchResult(items, CompletionReason.ALL_COMPLETED)


OPERATION_SERIALIZED = MapConfig(max_concurrency=1, serializer=OperationSerializer())


@durable_execution
async def map_operation_serializer(event: Any, ctx: DurableContext) -> Any:
    """9-19: the whole batch result is recorded through a custom serializer."""
    return (
        await ctx.map(["x", "y"], upper, name="op-serde", config=OPERATION_SERIALIZED)
    ).results()


@durable_execution
async def map_operation_serializer_replay(event: Any, ctx: DurableContext) -> Any:
    """9-20: after a wait, the batch result is read back through that serializer."""
    result = await ctx.map(["x", "y"], upper, name="op-serde-replay", config=OPERATION_SERIALIZED)
    await ctx.wait(timedelta(seconds=1))
    return result.results()
