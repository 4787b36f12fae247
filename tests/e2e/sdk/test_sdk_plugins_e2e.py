"""Plugins end to end on the real local service (virtual time): a retried step,
a wait and a failing plugin, across three invocations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import trio
from sdk_e2e_helpers import events, run

from trio_durable import (
    AttemptEndInfo,
    AttemptInfo,
    DurableContext,
    InvocationEndInfo,
    InvocationInfo,
    Jitter,
    OperationEndInfo,
    OperationInfo,
    Plugin,
    RetryStrategy,
    StepConfig,
    StepContext,
    durable_execution,
)
from trio_durable.local.service import LocalService


class Recorder(Plugin):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.arns: set[str] = set()

    def on_invocation_start(self, info: InvocationInfo) -> None:
        self.arns.add(info.execution_arn)
        self.events.append(("invocation-start", info.is_first_invocation))

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.events.append(("invocation-end", info.status.value))

    def on_operation_start(self, info: OperationInfo) -> None:
        self.events.append(("op-start", info.operation_id, info.is_replayed))

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self.events.append(("op-end", info.operation_id, info.status.value))

    def on_attempt_start(self, info: AttemptInfo) -> None:
        self.events.append(("attempt-start", info.operation_id, info.attempt))

    def on_attempt_end(self, info: AttemptEndInfo) -> None:
        self.events.append(("attempt-end", info.operation_id, info.attempt, info.outcome.value))


class Broken(Plugin):
    def on_operation_start(self, info: OperationInfo) -> None:
        raise RuntimeError("a plugin bug")


async def test_hooks_follow_the_recorded_history(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    recorder = Recorder()

    async def unreliable(*, step_context: StepContext) -> str:
        if step_context.attempt == 1:
            raise RuntimeError("first attempt fails")
        return "done"

    retry = StepConfig(
        retry_strategy=RetryStrategy(
            max_attempts=2, initial_delay=timedelta(seconds=5), jitter=Jitter.NONE
        )
    )

    @durable_execution(plugins=[Broken(), recorder])
    async def handler(event: Any, ctx: DurableContext) -> str:
        value: str = await ctx.step(unreliable, name="unreliable", config=retry)
        await ctx.wait(60, name="pause")
        return value

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED" and result["Result"] == '"done"'
    ids = {e["Name"]: e["Id"] for e in events(service, result["Arn"]) if e.get("Name")}
    step, wait = ids["unreliable"], ids["pause"]
    assert recorder.arns == {result["Arn"]}
    assert recorder.events == [
        ("invocation-start", True),
        ("op-start", step, False),
        ("attempt-start", step, 1),
        ("attempt-end", step, 1, "FAILED"),
        ("invocation-end", "PENDING"),
        ("invocation-start", False),
        ("op-start", step, True),
        ("attempt-start", step, 2),
        ("attempt-end", step, 2, "SUCCEEDED"),
        ("op-start", wait, False),
        # The step's SUCCEED was not waited for: its end comes with the answer.
        ("op-end", step, "SUCCEEDED"),
        ("invocation-end", "PENDING"),
        # The wait ended outside the handler: the next invocation reports it.
        ("invocation-start", False),
        ("op-end", wait, "SUCCEEDED"),
        ("invocation-end", "SUCCEEDED"),
    ]
