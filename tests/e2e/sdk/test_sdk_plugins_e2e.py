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
    AttemptOutcome,
    DurableContext,
    InvocationEndInfo,
    InvocationInfo,
    InvocationStartInfo,
    Jitter,
    OperationChangeInfo,
    OperationEndInfo,
    OperationInfo,
    Plugin,
    RetryStrategy,
    StepConfig,
    StepContext,
    durable_execution,
)
from trio_durable.local.service import LocalService
from trio_durable.wire import InvocationStatus, OperationStatus, OperationType


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


class Infos(Plugin):
    """Keeps every info, by hook."""

    def __init__(self) -> None:
        self.by_hook: dict[str, list[Any]] = {}

    def _keep(self, hook: str, info: Any) -> None:
        self.by_hook.setdefault(hook, []).append(info)

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self._keep("invocation-start", info)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self._keep("invocation-end", info)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self._keep("operation-end", info)

    def on_operation_change(self, info: OperationChangeInfo) -> None:
        self._keep("operation-change", info)

    def on_attempt_start(self, info: AttemptInfo) -> None:
        self._keep("attempt-start", info)

    def on_attempt_end(self, info: AttemptEndInfo) -> None:
        self._keep("attempt-end", info)


async def test_infos_carry_what_the_service_recorded(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    infos = Infos()

    async def body(child: DurableContext) -> str:
        value: str = await child.step(lambda: "hi", name="greet")
        await child.wait(5, name="pause")  # suspends inside the child context
        return value

    @durable_execution(plugins=[infos])
    async def handler(event: Any, ctx: DurableContext) -> str:
        result: str = await ctx.run_in_child_context(body, name="child")
        return result

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED"
    ids = {e["Name"]: e["Id"] for e in events(service, result["Arn"]) if e.get("Name")}
    first, second = infos.by_hook["invocation-start"]
    assert first.is_first_invocation and not second.is_first_invocation
    assert first.request_id and second.request_id and first.request_id != second.request_id
    assert first.lambda_context.aws_request_id == first.request_id
    assert first.execution_start_time == second.execution_start_time is not None
    assert len(first.operations) == 1 and not first.updated_operations
    # The wait elapsed between the invocations: the service says so, and it ends then.
    assert list(second.updated_operations) == [ids["pause"]]
    assert second.updated_operations[ids["pause"]].status is OperationStatus.SUCCEEDED
    assert {ids["child"], ids["greet"], ids["pause"]} <= second.operations.keys()

    ends = {i.name: i for i in infos.by_hook["operation-end"]}
    assert set(ends) == {"greet", "pause", "child"}
    greet = ends["greet"]
    assert (greet.status, greet.result, greet.attempt, greet.error) == (
        OperationStatus.SUCCEEDED,
        '"hi"',
        1,
        None,
    )
    assert greet.parent_id == ids["child"] and not greet.is_replayed
    assert greet.start_time is not None and greet.end_time is not None
    assert greet.start_time <= greet.end_time
    assert ends["pause"].is_replayed and ends["child"].result == '"hi"'

    changed = [
        (op_id, op.status, op_id in change.operations)
        for change in infos.by_hook["operation-change"]
        for op_id, op in change.updated_operations.items()
    ]
    assert (ids["greet"], OperationStatus.SUCCEEDED, True) in changed
    assert (ids["child"], OperationStatus.SUCCEEDED, True) in changed

    # The child's function: live, cut short by the suspension, then run again
    # over its recorded children.
    runs = [
        (i.is_replaying_children, i.attempt, getattr(i, "outcome", None))
        for i in infos.by_hook["attempt-start"] + infos.by_hook["attempt-end"]
        if i.operation_type is OperationType.CONTEXT
    ]
    assert runs == [
        (False, None, None),
        (True, None, None),
        (False, None, AttemptOutcome.INCOMPLETE),
        (True, None, AttemptOutcome.SUCCEEDED),
    ]
    suspended, succeeded = infos.by_hook["invocation-end"]
    assert (suspended.status, suspended.execution_result) == (InvocationStatus.PENDING, None)
    assert suspended.is_first_invocation and suspended.request_id == first.request_id
    assert (succeeded.status, succeeded.execution_result) == (InvocationStatus.SUCCEEDED, '"hi"')
    assert len(succeeded.operations) == 4
