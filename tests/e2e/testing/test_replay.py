"""The replay check in process: histories of every operation kind and of SUCCEEDED,
FAILED and RUNNING executions replay against their own code, changes are named,
and no step body runs."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from trio_durable import (
    DurableContext,
    StepConfig,
    WaitForConditionConfig,
    durable_execution,
)
from trio_durable.config import Jitter, RetryPresets, WaitStrategy
from trio_durable.local.invokers import InProcessInvoker
from trio_durable.testing import DurableTestRunner
from trio_durable.testing.history import HistoryFile, operations_from_events
from trio_durable.testing.replay_check import replay
from trio_durable.wire import OperationStatus

RUNS: list[str] = []


def body(name: str) -> Any:
    def run() -> str:
        RUNS.append(name)
        return name

    return run


def poll(state: int) -> int:
    RUNS.append("poll")
    return state + 1


async def _item(item_ctx: DurableContext, item: int, index: int) -> str:
    return str(await item_ctx.step(body(f"item-{item}"), name="item"))


async def _branch_a(branch_ctx: DurableContext) -> str:
    return str(await branch_ctx.step(body("a"), name="a"))


async def _branch_b(branch_ctx: DurableContext) -> str:
    await branch_ctx.wait(5, name="b-wait")
    return "b"


async def _child(child_ctx: DurableContext) -> str:
    return str(await child_ctx.step(body("inner"), name="inner"))


def submit(callback_id: str) -> None:
    RUNS.append("submit")


@durable_execution
async def callee(event: Any, ctx: DurableContext) -> str:
    return "called"


def kitchen_sink(*, rename: str | None = None, fail: bool = False) -> Any:
    """A workflow with every operation kind; ``rename`` renames the child's step."""

    async def child(child_ctx: DurableContext) -> str:
        return str(await child_ctx.step(body("inner"), name=rename or "inner"))

    @durable_execution
    async def workflow(event: Any, ctx: DurableContext) -> Any:
        first = await ctx.step(body("first"), name="first")
        await ctx.wait(60, name="pause")
        inner = await ctx.run_in_child_context(child if rename else _child, name="child")
        mapped = await ctx.map([1, 2, 3], _item, name="items")
        branches = await ctx.parallel([_branch_a, _branch_b], name="branches")
        callback = await ctx.create_callback(name="approval")
        approval = await callback.result()
        answer = await ctx.wait_for_callback(submit, name="answer")
        called = await ctx.invoke("callee", {}, name="call")
        state = await ctx.wait_for_condition(
            poll,
            name="poll",
            config=WaitForConditionConfig(
                WaitStrategy(lambda s: s < 3, initial_delay=2, jitter=Jitter.NONE), initial_state=0
            ),
        )
        if fail:
            no_retry = StepConfig(retry_strategy=RetryPresets.none())
            await ctx.step(_explode, name="explode", config=no_retry)
        return [first, inner, mapped.results(), branches.results(), approval, answer, called, state]

    return workflow


def _explode() -> None:
    raise ValueError("boom")


async def record(workflow: Any, *, finish: bool = True) -> HistoryFile:
    """Run ``workflow`` on the runner and make its history file; unfinished, it is
    taken while the execution waits for its second callback."""
    async with DurableTestRunner(workflow) as runner:
        runner.service.register_function("callee", InProcessInvoker(callee))
        execution = await runner.start({})
        await runner.succeed_callback(await execution.wait_for_callback("approval"), "yes")
        answer = await execution.wait_for_callback("answer")
        if not finish:
            events = execution.events()
            status = runner.service.get_execution(execution.arn)["Status"]
            assert status == "RUNNING"
            return HistoryFile(
                execution.arn, None, status, operations_from_events(events), tuple(events)
            )
        await runner.succeed_callback(answer, "ok")
        result = await execution.result()
    history = HistoryFile(
        result.arn, None, result.status, operations_from_events(result.events), result.events
    )
    assert _shapes(history.operations) == _shapes(result.operations)  # rebuilt exactly
    return history


def _shapes(ops: Any) -> list[Any]:
    return [
        (o.id, o.type, o.sub_type, o.name, o.parent_id, o.status, o.result, o.attempt) for o in ops
    ]


@pytest.mark.parametrize("fail", [False, True], ids=["succeeded", "failed"])
async def test_a_finished_history_of_every_operation_kind_replays_without_running_bodies(
    autojump_clock: trio.testing.MockClock, fail: bool
) -> None:
    workflow = kitchen_sink(fail=fail)
    history = await record(workflow)
    assert history.status == ("FAILED" if fail else "SUCCEEDED")
    RUNS.clear()
    report = await trio.to_thread.run_sync(replay, workflow, history)
    assert report.compatible, report.divergence
    assert report.outcome == history.status
    assert report.operations_replayed >= (10 if fail else 9)  # every top-level one, at least
    assert RUNS == []


async def test_a_running_history_replays_to_where_it_ends(
    autojump_clock: trio.testing.MockClock,
) -> None:
    workflow = kitchen_sink()
    history = await record(workflow, finish=False)
    assert any(op.status is OperationStatus.STARTED for op in history.operations)
    RUNS.clear()
    report = await trio.to_thread.run_sync(replay, workflow, history)
    assert report.compatible, report.divergence
    assert report.outcome == "PENDING" and RUNS == []


def waiting_inside_a_child(inner_name: str) -> Any:
    async def child(child_ctx: DurableContext) -> Any:
        await child_ctx.step(body("inner"), name=inner_name)
        callback = await child_ctx.create_callback(name="inside")
        return await callback.result()

    @durable_execution
    async def workflow(event: Any, ctx: DurableContext) -> Any:
        await ctx.step(body("before"), name="before")
        return await ctx.run_in_child_context(child, name="child")

    return workflow


async def test_a_change_inside_a_running_child_context_is_named(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(waiting_inside_a_child("inner")) as runner:
        execution = await runner.start({})
        await execution.wait_for_callback("inside")
        events = execution.events()
    history = HistoryFile(execution.arn, None, "RUNNING", operations_from_events(events), events)
    RUNS.clear()
    same = await trio.to_thread.run_sync(replay, waiting_inside_a_child("inner"), history)
    assert same.compatible and same.operations_replayed == 4
    report = await trio.to_thread.run_sync(replay, waiting_inside_a_child("renamed"), history)
    divergence = report.divergence
    assert divergence is not None and divergence.position == "2.1"
    assert str(divergence).startswith("operation 2.1 (id ")
    assert "recorded STEP 'inner' (subtype Step, parent 2)" in str(divergence)
    assert "the code asks for STEP 'renamed' (subtype Step, parent 2)" in str(divergence)
    assert RUNS == []


async def test_code_inside_a_finished_child_context_does_not_replay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A finished child returns its record without running, so a change inside it
    cannot break the execution; the replay check agrees."""
    history = await record(kitchen_sink())
    report = await trio.to_thread.run_sync(replay, kitchen_sink(rename="renamed"), history)
    assert report.compatible, report.divergence
