"""parallel and map end to end on the real local service (virtual time)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import orjson
import trio
from sdk_e2e_helpers import events, kinds, run

from trio_durable import (
    BatchResult,
    CompletionConfig,
    DurableContext,
    MapConfig,
    NestingMode,
    ParallelBranch,
    ParallelConfig,
    ValidationError,
    durable_execution,
)
from trio_durable.local.service import LocalService


def result_of(result: dict[str, Any]) -> Any:
    assert result["Status"] == "SUCCEEDED", result
    return orjson.loads(result["Result"])


def context_events(service: LocalService, arn: str) -> list[tuple[str, str, str | None]]:
    return [
        (e["EventType"], e["SubType"], e.get("Name"))
        for e in events(service, arn)
        if e["EventType"].startswith("Context")
    ]


async def test_branches_really_run_at_the_same_time(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    # Each branch waits for the other's event: only overlapping branches finish.

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        ping, pong = anyio.Event(), anyio.Event()  # of the loop the workflow runs on

        async def left(ctx: DurableContext) -> str:
            ping.set()
            await pong.wait()
            return "left"

        async def right(ctx: DurableContext) -> str:
            pong.set()
            await ping.wait()
            return "right"

        return (await ctx.parallel([left, right], name="both")).results()

    result = await run(service, handler)
    assert result_of(result) == ["left", "right"]


async def test_results_keep_index_order_whatever_order_branches_finish(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    finished: list[int] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        gates = [anyio.Event() for _ in range(4)]  # of the loop the workflow runs on

        async def item(ctx: DurableContext, value: int, index: int) -> int:
            if index < 3:
                await gates[index + 1].wait()  # 3 finishes first, then 2, 1, 0
            finished.append(index)
            gates[index].set()
            return value * 10

        return (await ctx.map([1, 2, 3, 4], item, name="reversed")).results()

    result = await run(service, handler)
    assert result_of(result) == [10, 20, 30, 40]
    assert finished == [3, 2, 1, 0]
    names = [
        name
        for kind, sub, name in context_events(service, result["Arn"])
        if kind == "ContextStarted"
    ]
    # Branch tasks start in scheduling order; their ids and names follow the index.
    assert sorted(names) == ["map-item-0", "map-item-1", "map-item-2", "map-item-3", "reversed"]


async def test_tolerated_failures_are_reported_with_their_errors(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def item(ctx: DurableContext, value: str, index: int) -> str:
        if value.startswith("bad"):
            raise KeyError(value)
        return value

    config = MapConfig(completion=CompletionConfig(tolerated_failure_count=2))

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        batch = await ctx.map(["ok", "bad-1", "fine", "bad-2"], item, config=config)
        return {
            "results": batch.results(),
            "failed": [item.index for item in batch.failed()],
            "errors": [(e.type, e.message) for e in batch.errors() if e is not None],
            "reason": batch.completion_reason,
        }

    assert result_of(await run(service, handler)) == {
        "results": ["ok", "fine"],
        "failed": [1, 3],
        "errors": [["KeyError", "'bad-1'"], ["KeyError", "'bad-2'"]],
        "reason": "ALL_COMPLETED",
    }


async def test_early_completion_cancels_running_branches_and_starts_no_more(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    started: list[int] = []
    cancelled: list[int] = []

    async def item(ctx: DurableContext, value: str, index: int) -> str:
        started.append(index)
        if index == 0:
            return value
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.append(index)
        return value

    config = MapConfig(max_concurrency=2, completion=CompletionConfig(min_successful=1))

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        batch = await ctx.map(["a", "b", "c"], item, name="first", config=config)
        return [(i.index, i.status, i.result) for i in batch.items] + [batch.completion_reason]

    result = await run(service, handler)
    assert result_of(result) == [
        [0, "SUCCEEDED", "a"],
        [1, "STARTED", None],
        "MIN_SUCCESSFUL_REACHED",
    ]
    assert (sorted(started), cancelled) == ([0, 1], [1])
    # Between the batch's start and end, the branches' events come in scheduling order.
    recorded = context_events(service, result["Arn"])
    assert recorded[0] == ("ContextStarted", "Map", "first")
    assert sorted(recorded[1:4]) == [
        ("ContextStarted", "MapIteration", "map-item-0"),
        ("ContextStarted", "MapIteration", "map-item-1"),
        ("ContextSucceeded", "MapIteration", "map-item-0"),
    ]
    assert recorded[4:] == [("ContextSucceeded", "Map", "first")]


async def test_a_wait_in_a_branch_suspends_and_completed_branches_do_not_rerun(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    runs: Counter[str] = Counter()

    async def work(name: str) -> str:
        runs[name] += 1
        return name

    async def quick(ctx: DurableContext) -> str:
        return await ctx.step(work, "quick")

    async def slow(ctx: DurableContext) -> str:
        await ctx.step(work, "before")
        await ctx.wait(3600)
        return await ctx.step(work, "after")

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        runs["handler"] += 1
        return (await ctx.parallel([quick, slow], name="p")).results()

    result = await run(service, handler)
    assert result_of(result) == ["quick", "after"]
    assert runs == {"handler": 2, "quick": 1, "before": 1, "after": 1}
    assert kinds(service, result["Arn"]).count("InvocationCompleted") == 2


async def test_branches_waiting_at_once_suspend_together(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def nap(ctx: DurableContext, seconds: int, index: int) -> float:
        await ctx.wait(seconds)
        return seconds

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return (await ctx.map([30, 10, 20], nap)).results()

    start = trio.current_time()
    result = await run(service, handler)
    assert result_of(result) == [30, 10, 20]
    assert 30 <= trio.current_time() - start < 60  # the waits overlapped
    assert kinds(service, result["Arn"]).count("WaitStarted/Wait") == 3


async def test_nested_parallel_and_map(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def square(ctx: DurableContext, value: int, index: int) -> int:
        return await ctx.step(lambda: value * value, name="square")

    async def squares(ctx: DurableContext) -> Any:
        return (await ctx.map([1, 2, 3], square, name="inner")).results()

    async def constant(ctx: DurableContext) -> str:
        return "c"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        await ctx.wait(1)
        batch = await ctx.parallel([ParallelBranch(squares, "squares"), constant], name="outer")
        return batch.results()

    result = await run(service, handler)
    assert result_of(result) == [[1, 4, 9], "c"]
    by_id = {e["Id"]: e for e in events(service, result["Arn"]) if "Id" in e}
    inner = next(e for e in by_id.values() if e.get("Name") == "inner")
    assert by_id[inner["ParentId"]]["Name"] == "squares"


async def test_a_map_of_200_items_checkpoints_each_operation_exactly_once(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    in_flight = peak = 0

    async def item(ctx: DurableContext, value: int, index: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await anyio.sleep(0.01)
            return await ctx.step(lambda: value + 1, name="inc")
        finally:
            in_flight -= 1

    config = MapConfig(max_concurrency=20)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return (await ctx.map(list(range(200)), item, name="many", config=config)).results()

    result = await run(service, handler)
    assert result_of(result) == list(range(1, 201))
    assert 2 <= peak <= 20
    history = events(service, result["Arn"])
    counts = Counter((e["EventType"], e["Id"]) for e in history if "Id" in e)
    assert set(counts.values()) == {1}
    kinds_seen = Counter(e["EventType"] for e in history)
    assert kinds_seen["StepSucceeded"] == 200
    assert kinds_seen["ContextStarted"] == kinds_seen["ContextSucceeded"] == 201


async def test_flat_nesting_replays_its_steps_across_a_wait(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    runs: Counter[int] = Counter()

    async def item(ctx: DurableContext, value: int, index: int) -> int:
        def body() -> int:
            runs[value] += 1
            return value * 2

        doubled: int = await ctx.step(body, name="double")
        if index == 1:
            await ctx.wait(60)
        return doubled

    config = MapConfig(max_concurrency=1, nesting=NestingMode.FLAT)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return (await ctx.map([5, 6], item, name="flat", config=config)).results()

    result = await run(service, handler)
    assert result_of(result) == [10, 12]
    assert runs == {5: 1, 6: 1}
    history = events(service, result["Arn"])
    batch = next(e for e in history if e["EventType"] == "ContextStarted")
    steps = [e for e in history if e["EventType"] == "StepSucceeded"]
    assert {e["ParentId"] for e in steps} == {batch["Id"]}
    assert [e["SubType"] for e in history if e["EventType"].startswith("Context")] == ["Map", "Map"]


async def test_a_large_batch_result_is_rebuilt_from_its_branches_on_replay(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    calls: Counter[int] = Counter()

    async def big(ctx: DurableContext, value: str, index: int) -> str:
        calls[index] += 1
        return value * (100 * 1024)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        batch = await ctx.map(["a", "b", "c"], big, name="large")
        await ctx.wait(5)
        return [len(text) for text in batch.results()]

    result = await run(service, handler)
    assert result_of(result) == [100 * 1024] * 3
    assert calls == {0: 1, 1: 1, 2: 1}  # the replay read the branches' records
    summary = [e for e in events(service, result["Arn"]) if e.get("SubType") == "Map"][-1]
    assert summary["EventType"] == "ContextSucceeded"
    assert "Payload" not in summary["ContextSucceededDetails"].get("Result", {})


async def test_invalid_batches_raise_validation_error_before_anything_is_recorded(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def noop(ctx: DurableContext, *args: Any) -> None:
        return None

    attempts = [
        lambda ctx: ctx.map(
            [1], noop, config=MapConfig(completion=CompletionConfig(min_successful=2))
        ),
        lambda ctx: ctx.map("abc", noop),
        lambda ctx: ctx.map({"a": 1}, noop),
        lambda ctx: ctx.map([1], "noop"),
        lambda ctx: ctx.parallel([noop, 3]),
        lambda ctx: ctx.parallel(noop),
        lambda ctx: ctx.parallel([ParallelBranch(noop, "")]),
        lambda ctx: ctx.parallel([noop], config=MapConfig()),
        lambda ctx: ctx.map([1], noop, config=MapConfig(item_namer=lambda item, index: 7)),
    ]

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        messages = []
        for attempt in attempts:
            try:
                await attempt(ctx)
            except ValidationError as exc:
                messages.append(str(exc))
        return messages

    result = await run(service, handler)
    messages = result_of(result)
    assert len(messages) == len(attempts)
    assert "min_successful is 2 but the batch has only 1" in messages[0]
    assert kinds(service, result["Arn"]) == [
        "ExecutionStarted",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]


async def test_a_custom_batch_serializer_reads_the_record_back_on_replay(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    class Counts:
        def serialize(self, value: BatchResult) -> str | None:
            return orjson.dumps(value.to_dict()).decode()

        def deserialize(self, payload: str | None) -> BatchResult:
            return BatchResult.from_dict(orjson.loads(payload or "null"))

    async def branch(ctx: DurableContext) -> int:
        return 7

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        batch = await ctx.parallel([branch], config=ParallelConfig(serializer=Counts()))
        await ctx.wait(1)
        return batch.results()

    assert result_of(await run(service, handler)) == [7]


async def test_a_branch_parked_on_a_wait_is_cancelled_when_the_batch_completes(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def fast(ctx: DurableContext) -> str:
        return "fast"

    async def slow(ctx: DurableContext) -> str:
        await ctx.wait(24 * 3600)
        return "slow"

    config = ParallelConfig(completion=CompletionConfig(min_successful=1))

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        batch = await ctx.parallel([slow, fast], config=config)
        return [[i.index, i.status] for i in batch.items]

    start = trio.current_time()
    result = await run(service, handler)
    assert result_of(result) == [[0, "STARTED"], [1, "SUCCEEDED"]]
    assert trio.current_time() - start < 3600  # nobody waited for the day
    assert kinds(service, result["Arn"]).count("InvocationCompleted") == 1


async def test_a_large_batch_with_failures_rebuilds_them_on_replay(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def item(ctx: DurableContext, value: str, index: int) -> str:
        if value == "bad":
            raise ValueError("bad item")
        return value * (200 * 1024)

    config = MapConfig(max_concurrency=1, completion=CompletionConfig.all_completed())

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        batch = await ctx.map(["a", "bad", "b"], item, config=config)
        await ctx.wait(5)
        return {
            "sizes": [len(text) for text in batch.results()],
            "errors": [e.message for e in batch.errors() if e is not None],
            "reason": batch.completion_reason,
        }

    assert result_of(await run(service, handler)) == {
        "sizes": [200 * 1024, 200 * 1024],
        "errors": ["bad item"],
        "reason": "ALL_COMPLETED",
    }
