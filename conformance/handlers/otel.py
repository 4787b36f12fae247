"""The tracing suites (otel-invocation, otel-execution, otel-long-running).

One workflow answers every requirement: the event's ``scenario`` picks what it
does. It is registered twice, once per tracing view (``INVOCATION`` with
``InvocationView``, ``EXECUTION`` with ``ExecutionView``), and so are the
targets its chained invokes call, so that the target executions are traced in
the same view. ``conformance/tracing.py`` registers the functions and judges the
spans.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from conformance.handlers.step import NO_RETRY
from trio_durable import (
    ChildConfig,
    DurableContext,
    Jitter,
    MapConfig,
    ParallelBranch,
    ParallelConfig,
    RetryStrategy,
    StepConfig,
    StepContext,
    WaitForConditionConfig,
    WaitStrategy,
    durable_execution,
)
from trio_durable.otel import ExecutionView, InvocationView
from trio_durable.plugins import Plugin

Workflow = Callable[[Any, DurableContext], Awaitable[Any]]


@dataclass(frozen=True)
class View:
    """One tracing view's functions: the workflow, its target, and a workflow whose
    executions time out after ``TIMEOUT_SECONDS`` (wait-interrupted)."""

    name: str
    function: str
    target: str
    timeout_function: str


TIMEOUT_SECONDS = 3
# The requirements expect the branches' events in order: one branch at a time.
ONE_AT_A_TIME = ParallelConfig(max_concurrency=1)
INVOCATION = View(
    "invocation",
    "conformance-otel-invocation",
    "conformance-otel-invocation-target",
    "conformance-otel-invocation-timeout",
)
EXECUTION = View(
    "execution",
    "conformance-otel-execution",
    "conformance-otel-execution-target",
    "conformance-otel-execution-timeout",
)


def _retry_once(delay: int) -> StepConfig:
    strategy = RetryStrategy(max_attempts=2, initial_delay=delay, jitter=Jitter.NONE)
    return StepConfig(retry_strategy=strategy)


def _fails_first(*, step_context: StepContext) -> str:
    if step_context.attempt == 1:
        raise RuntimeError("the first attempt fails on purpose")
    return "recovered"


def _fails() -> str:
    raise RuntimeError("this step fails on purpose")


def _ok(value: str) -> str:
    return value


def _submit(callback_id: str) -> None:
    """The callback is completed by the validator (CallbackActions)."""


async def _failing_child(ctx: DurableContext) -> None:
    raise RuntimeError("the child context fails on purpose")


def workflow_for(view: View) -> Workflow:
    """The scenario workflow of ``view`` (its invokes call ``view.target``)."""

    async def workflow(event: Any, ctx: DurableContext) -> Any:
        scenario = event.get("scenario") if isinstance(event, dict) else None
        delay = int(event.get("delay_seconds", 1)) if isinstance(event, dict) else 1
        if scenario == "success":
            return await ctx.step(_ok, "done", name="otel-success")
        if scenario in ("wait-resume", "long-wait"):
            long = scenario == "long-wait"
            await ctx.wait(delay, name="otel-long-wait" if long else "otel-wait")
            name = "otel-after-long-wait" if long else "otel-after-resume"
            return await ctx.step(_ok, "resumed", name=name)
        if scenario in ("retry", "long-retry"):
            name = "otel-long-retry" if scenario == "long-retry" else "otel-retry"
            return await ctx.step(_fails_first, name=name, config=_retry_once(delay))
        if scenario == "terminal-failure":
            return await ctx.step(_fails, name="otel-terminal-failure", config=NO_RETRY)
        if scenario == "child-context":
            return await ctx.run_in_child_context(_child_step, name="otel-child-context")
        if scenario == "child-context-failure":
            return await ctx.run_in_child_context(_failing_child, name="otel-failed-child-context")
        if scenario == "parallel-hierarchy":
            branches = [
                ParallelBranch(_branch_step("a"), name="otel-parallel-branch-a"),
                ParallelBranch(_branch_step("b"), name="otel-parallel-branch-b"),
            ]
            result = await ctx.parallel(branches, name="otel-parallel", config=ONE_AT_A_TIME)
            return result.results()
        if scenario == "parallel-failure":
            failing = [ParallelBranch(_failing_child, name="otel-failed-parallel-branch")]
            batch = await ctx.parallel(failing, name="otel-failed-parallel")
            batch.throw_if_error()
            return None
        if scenario == "map-hierarchy":
            config = MapConfig(
                max_concurrency=1, item_namer=lambda _item, index: f"otel-map-iteration-{index}"
            )
            mapped = await ctx.map([0, 1], _map_step, name="otel-map", config=config)
            return mapped.results()
        if scenario == "map-failure":
            config = MapConfig(item_namer=lambda _i, index: f"otel-failed-map-iteration-{index}")
            batch = await ctx.map([0], _map_fails, name="otel-failed-map", config=config)
            batch.throw_if_error()
            return None
        if scenario == "handled-failure":
            try:
                await ctx.step(_fails, name="otel-handled-failure", config=NO_RETRY)
            except Exception:
                return await ctx.step(_ok, "recovered", name="otel-recovery-step")
            return None
        if scenario == "wait-for-condition":
            strategy = WaitStrategy(
                should_continue=lambda state: state < 2, initial_delay=1, jitter=Jitter.NONE
            )
            config = WaitForConditionConfig(strategy, initial_state=0)
            return await ctx.wait_for_condition(_increment, name="otel-condition", config=config)
        if scenario == "wait-for-condition-failure":
            strategy = WaitStrategy(should_continue=lambda state: True, max_attempts=1)
            config = WaitForConditionConfig(strategy, initial_state=0)
            return await ctx.wait_for_condition(
                _increment, name="otel-failed-condition", config=config
            )
        if scenario in ("wait-for-callback", "long-callback"):
            name = "otel-long-callback" if scenario == "long-callback" else "otel-callback"
            return await ctx.wait_for_callback(_submit, name=name)
        if scenario == "wait-for-callback-failure":
            return await ctx.wait_for_callback(_submit, name="otel-failed-callback")
        if scenario in ("chained-invoke", "long-chained-invoke"):
            long = scenario == "long-chained-invoke"
            payload = {"delay_seconds": delay} if long else {}
            name = "otel-long-invoke" if long else "otel-invoke"
            return await ctx.invoke(view.target, payload, name=name)
        if scenario == "chained-invoke-failure":
            return await ctx.invoke(view.target, {"fail": True}, name="otel-failed-invoke")
        if scenario == "execution-failure":
            raise RuntimeError("the handler fails on purpose")
        if scenario == "virtual-context":
            return await ctx.run_in_child_context(
                _virtual_body, name="otel-virtual-context", config=ChildConfig(virtual=True)
            )
        if scenario == "wait-interrupted":
            await ctx.wait(timedelta(hours=1), name="otel-interrupted-wait")
            return None
        raise ValueError(f"unknown scenario {scenario!r}")

    return workflow


async def _virtual_body(ctx: DurableContext) -> str:
    return "virtual-complete"


async def _child_step(ctx: DurableContext) -> str:
    return await ctx.step(_ok, "child", name="otel-child-step")


def _branch_step(label: str) -> Callable[[DurableContext], Awaitable[str]]:
    async def branch(ctx: DurableContext) -> str:
        return await ctx.step(_ok, label, name=f"otel-parallel-step-{label}")

    return branch


async def _map_step(ctx: DurableContext, item: int, index: int) -> str:
    return await ctx.step(_ok, str(item), name=f"otel-map-step-{index}")


async def _map_fails(ctx: DurableContext, item: int, index: int) -> None:
    raise RuntimeError("the map iteration fails on purpose")


def _increment(state: int) -> int:
    return state + 1


async def _target(event: Any, ctx: DurableContext) -> Any:
    """What the chained invokes call: waits ``delay_seconds`` if given, fails if ``fail``."""
    if isinstance(event, dict) and event.get("fail"):
        raise RuntimeError("the invoked function fails on purpose")
    if isinstance(event, dict) and event.get("delay_seconds"):
        await ctx.wait(int(event["delay_seconds"]), name="otel-long-invoke-target-wait")
    return "target-complete"


def _plugins(view: View) -> list[Plugin]:
    return [InvocationView() if view is INVOCATION else ExecutionView()]


invocation_workflow = durable_execution(plugins=_plugins(INVOCATION))(workflow_for(INVOCATION))
execution_workflow = durable_execution(plugins=_plugins(EXECUTION))(workflow_for(EXECUTION))
invocation_target = durable_execution(plugins=_plugins(INVOCATION))(_target)
execution_target = durable_execution(plugins=_plugins(EXECUTION))(_target)
