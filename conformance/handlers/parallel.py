"""Suite ``parallel`` (8-x): one durable function per requirement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from trio_durable import (
    BatchResult,
    CompletionConfig,
    DurableContext,
    NestingMode,
    ParallelBranch,
    ParallelConfig,
    durable_execution,
)
from trio_durable.serialization import DEFAULT_SERIALIZER

SEQUENTIAL = ParallelConfig(max_concurrency=1)


def constant(value: Any) -> Any:
    return value


def returns(value: Any) -> Any:
    """A branch that returns ``value`` directly, without an inner step."""

    async def branch(ctx: DurableContext) -> Any:
        return value

    return branch


def steps(value: Any) -> Any:
    """A branch running one step that returns ``value``."""

    async def branch(ctx: DurableContext) -> Any:
        return await ctx.step(constant, value)

    return branch


async def fails(ctx: DurableContext) -> Any:
    raise RuntimeError("branch failed")


def sequential(**completion: Any) -> ParallelConfig:
    return ParallelConfig(max_concurrency=1, completion=CompletionConfig(**completion))


def projection(result: BatchResult, *fields: str) -> dict[str, Any]:
    """The summary the requirements return, with the keys they ask for."""
    values = {
        "completionReason": result.completion_reason.value,
        "status": result.status.value,
        "successCount": result.success_count,
        "failureCount": result.failure_count,
        "totalCount": result.total_count,
    }
    return {key: values[key] for key in fields}


FIVE = ("completionReason", "status", "successCount", "failureCount", "totalCount")
FOUR = ("completionReason", "successCount", "failureCount", "totalCount")


@durable_execution
async def parallel_basic(event: Any, ctx: DurableContext) -> Any:
    """8-1: two branches of one step each, in order."""
    result = await ctx.parallel(
        [steps("task-1"), steps("task-2")], name="parallel", config=SEQUENTIAL
    )
    return result.results()


@durable_execution
async def parallel_unnamed(event: Any, ctx: DurableContext) -> Any:
    """8-2: no operation name; branches return directly."""
    result = await ctx.parallel([returns("alpha"), returns("beta")], config=SEQUENTIAL)
    return result.results()


@durable_execution
async def parallel_named_branches(event: Any, ctx: DurableContext) -> Any:
    """8-3: branches given as ParallelBranch with names."""
    branches = [ParallelBranch(returns("one"), "first"), ParallelBranch(returns("two"), "second")]
    result = await ctx.parallel(branches, name="named", config=SEQUENTIAL)
    return result.results()


@durable_execution
async def parallel_mixed_types(event: Any, ctx: DurableContext) -> Any:
    """8-4: a string, a number and an object keep their types."""
    branches = [returns("hello"), returns(42), returns({"k": "v"})]
    result = await ctx.parallel(branches, name="types", config=SEQUENTIAL)
    return result.results()


@durable_execution
async def parallel_empty(event: Any, ctx: DurableContext) -> Any:
    """8-5: no branches at all."""
    result = await ctx.parallel([], name="empty")
    return result.results()


@durable_execution
async def parallel_fail_fast(event: Any, ctx: DurableContext) -> Any:
    """8-6: the second branch fails; fail-fast never starts the third."""
    branches = [returns("ok"), fails, returns("never")]
    result = await ctx.parallel(
        branches, name="fail-fast", config=sequential(tolerated_failure_count=0)
    )
    return projection(result, *FIVE)


@durable_execution
async def parallel_throw_if_error(event: Any, ctx: DurableContext) -> Any:
    """8-7: the first branch fails; throw_if_error fails the execution."""
    result = await ctx.parallel(
        [fails, returns("never")], name="rethrow", config=sequential(tolerated_failure_count=0)
    )
    result.throw_if_error()
    return result.results()


@durable_execution
async def parallel_min_successful(event: Any, ctx: DurableContext) -> Any:
    """8-8: two successes complete the batch; two branches never start."""
    branches = [returns(f"r{i}") for i in range(4)]
    result = await ctx.parallel(
        branches, name="min-successful", config=sequential(min_successful=2)
    )
    return projection(result, "completionReason", "successCount", "totalCount")


@durable_execution
async def parallel_tolerated_count(event: Any, ctx: DurableContext) -> Any:
    """8-9: one failure is tolerated; all branches run."""
    branches = [returns("a"), fails, returns("c")]
    result = await ctx.parallel(
        branches, name="tolerated", config=sequential(tolerated_failure_count=1)
    )
    return projection(result, *FIVE)


@durable_execution
async def parallel_tolerated_count_exceeded(event: Any, ctx: DurableContext) -> Any:
    """8-10: the second failure exceeds a tolerance of one."""
    result = await ctx.parallel(
        [fails, fails, returns("never")],
        name="tolerated-exceeded",
        config=sequential(tolerated_failure_count=1),
    )
    return projection(result, *FOUR)


@durable_execution
async def parallel_concurrent(event: Any, ctx: DurableContext) -> Any:
    """8-11: two at a time; results in branch order."""
    branches = [returns("r0"), returns("r1"), returns("r2")]
    result = await ctx.parallel(
        branches, name="concurrent", config=ParallelConfig(max_concurrency=2)
    )
    return result.results()


@durable_execution
async def parallel_flat(event: Any, ctx: DurableContext) -> Any:
    """8-12: FLAT nesting: the steps sit directly under the batch."""
    config = ParallelConfig(max_concurrency=1, nesting=NestingMode.FLAT)
    result = await ctx.parallel([steps("fa"), steps("fb")], name="flat", config=config)
    return result.results()


@durable_execution
async def parallel_tolerated_percentage_exceeded(event: Any, ctx: DurableContext) -> Any:
    """8-13: 2 of 4 failed (50%) exceeds 25%."""
    result = await ctx.parallel(
        [fails, fails, returns("c"), returns("d")],
        name="tolerated-pct",
        config=sequential(tolerated_failure_percentage=25),
    )
    return projection(result, *FOUR)


async def wait_then_b1(ctx: DurableContext) -> str:
    await ctx.wait(timedelta(seconds=2))
    return "b1"


@durable_execution
async def parallel_replay_across_wait(event: Any, ctx: DurableContext) -> Any:
    """8-14: the second branch waits; the next invocation skips the first."""
    result = await ctx.parallel([steps("b0"), wait_then_b1], name="replay", config=SEQUENTIAL)
    return result.results()


class WrappingSerializer:
    """Writes ``v`` as ``{"wrapped": v}`` and reads it back as ``v``."""

    def serialize(self, value: Any) -> str | None:
        return DEFAULT_SERIALIZER.serialize({"wrapped": value})

    def deserialize(self, payload: str | None) -> Any:
        return DEFAULT_SERIALIZER.deserialize(payload)["wrapped"]


@durable_execution
async def parallel_item_serializer(event: Any, ctx: DurableContext) -> Any:
    """8-15: each branch result is recorded through a custom serializer."""
    config = ParallelConfig(max_concurrency=1, item_serializer=WrappingSerializer())
    result = await ctx.parallel([returns("x"), returns("y")], name="serdes", config=config)
    return result.results()


@durable_execution
async def parallel_all_fail_tolerated(event: Any, ctx: DurableContext) -> Any:
    """8-16: three failures within a tolerance of three."""
    result = await ctx.parallel(
        [fails, fails, fails], name="all-fail", config=sequential(tolerated_failure_count=3)
    )
    return projection(result, *FIVE)


@durable_execution
async def parallel_min_successful_unmet(event: Any, ctx: DurableContext) -> Any:
    """8-17: min_successful=3 is never reached; every branch runs."""
    result = await ctx.parallel(
        [returns("a"), fails, returns("c")], name="unmet", config=sequential(min_successful=3)
    )
    return projection(result, *FIVE)


@durable_execution
async def parallel_tolerance_before_min(event: Any, ctx: DurableContext) -> Any:
    """8-18: the tolerance is exceeded before min_successful can be met."""
    result = await ctx.parallel(
        [fails, fails, returns("c"), returns("d")],
        name="combined",
        config=sequential(min_successful=3, tolerated_failure_count=1),
    )
    return projection(result, *FOUR)


@durable_execution
async def parallel_bad_concurrency(event: Any, ctx: DurableContext) -> Any:
    """8-19: max_concurrency=0 is a ValidationError; nothing is recorded."""
    config = ParallelConfig(max_concurrency=0)
    result = await ctx.parallel([returns("a"), returns("b")], name="bad-concurrency", config=config)
    return result.results()


@durable_execution
async def parallel_accessors(event: Any, ctx: DurableContext) -> Any:
    """8-20: succeeded(), failed(), errors(), has_failure."""
    result = await ctx.parallel(
        [returns("a"), fails, returns("c")],
        name="accessors",
        config=sequential(tolerated_failure_count=1),
    )
    return {
        "hasFailure": result.has_failure,
        "successCount": len(result.succeeded()),
        "failureCount": len(result.failed()),
        "errorCount": len(result.errors()),
    }


async def inner_parallel(ctx: DurableContext) -> Any:
    result = await ctx.parallel([steps("i1"), steps("i2")], name="inner", config=SEQUENTIAL)
    return result.results()


@durable_execution
async def parallel_nested(event: Any, ctx: DurableContext) -> Any:
    """8-21: a parallel inside a parallel branch."""
    result = await ctx.parallel([inner_parallel], name="outer", config=SEQUENTIAL)
    return result.results()


@durable_execution
async def parallel_percentage_boundary(event: Any, ctx: DurableContext) -> Any:
    """8-22: 1 of 4 failed is exactly 25%: not exceeded, all run."""
    result = await ctx.parallel(
        [fails, returns("b"), returns("c"), returns("d")],
        name="pct-boundary",
        config=sequential(tolerated_failure_percentage=25),
    )
    return projection(result, *FIVE)
