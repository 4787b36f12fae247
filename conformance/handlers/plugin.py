"""Suite ``plugin`` (10-x): one durable function per requirement.

``JsonLinePlugin`` prints one JSON line per hook it records (through
``logcapture.print_json_line``, which also captures it as CloudWatch would),
stamped with the execution ARN every hook info carries. Operation and attempt
hooks are recorded for STEP operations only, as the requirements ask. From
10-8 on, each requirement has a ``Probe`` of its own printing the fields it asks
for (10-19 to 10-23, the whole info: ``plugin_shapes.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conformance.handlers.step import NO_RETRY, always_fail, failing_func, greet, unreliable
from conformance.logcapture import print_json_line
from trio_durable import (
    AttemptEndInfo,
    AttemptInfo,
    DurableContext,
    InvocationEndInfo,
    InvocationInfo,
    InvocationStartInfo,
    OperationChangeInfo,
    OperationEndInfo,
    OperationInfo,
    ParallelConfig,
    Plugin,
    StepContext,
    durable_execution,
)
from trio_durable.config import Jitter, RetryStrategy, StepConfig
from trio_durable.wire import InvocationStatus, OperationType

INVOCATION = frozenset({"invocation-start", "invocation-end"})
OPERATION = frozenset({"operation-start", "operation-end"})
ATTEMPT = frozenset({"attempt-start", "attempt-end"})


class JsonLinePlugin(Plugin):
    """Prints ``{"plugin": tag, "hook": ...}`` for each hook in ``hooks``; raises
    after printing when ``raises`` (to show the SDK isolates a failing plugin)."""

    def __init__(self, tag: str, hooks: frozenset[str], *, raises: bool = False) -> None:
        self.tag = tag
        self.hooks = hooks
        self.raises = raises

    def _record(self, hook: str, execution_arn: str, **fields: Any) -> None:
        if hook not in self.hooks:
            return
        print_json_line(
            {"plugin": self.tag, "hook": hook, **fields, "durableExecutionArn": execution_arn}
        )
        if self.raises:
            raise RuntimeError(f"{self.tag} fails in {hook} on purpose")

    def on_invocation_start(self, info: InvocationInfo) -> None:
        self._record("invocation-start", info.execution_arn, first=info.is_first_invocation)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self._record("invocation-end", info.execution_arn, status=info.status.value)

    def on_operation_start(self, info: OperationInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self._record("operation-start", info.execution_arn, op=info.operation_id)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self._record(
                "operation-end", info.execution_arn, op=info.operation_id, status=info.status.value
            )

    def on_attempt_start(self, info: AttemptInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self._record("attempt-start", info.execution_arn, n=info.attempt, op=info.operation_id)

    def on_attempt_end(self, info: AttemptEndInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self._record(
                "attempt-end",
                info.execution_arn,
                n=info.attempt,
                outcome=info.outcome.value,
                op=info.operation_id,
            )


def greet_with_log(name: str, *, step_context: StepContext) -> str:
    step_context.logger.info("Greeting step running for: %s", name)
    return greet(name)


@durable_execution(plugins=[JsonLinePlugin("CONFPLUGIN", INVOCATION)])
async def plugin_invocation_hooks(event: Any, ctx: DurableContext) -> Any:
    """10-1: invocation start (first) and end (SUCCEEDED) around a logging step."""
    return await ctx.step(greet_with_log, event)


@durable_execution(plugins=[JsonLinePlugin("CONFPLUGIN", OPERATION)])
async def plugin_operation_hooks(event: Any, ctx: DurableContext) -> Any:
    """10-2: operation start and end of one step, with its id."""
    return await ctx.step(greet, event)


@durable_execution(plugins=[JsonLinePlugin("CONFPLUGIN", ATTEMPT)])
async def plugin_attempt_hooks(event: Any, ctx: DurableContext) -> Any:
    """10-3: attempt hooks of a step failing once, then succeeding on its retry."""
    strategy = RetryStrategy(max_attempts=3, initial_delay=timedelta(seconds=1), jitter=Jitter.NONE)
    return await ctx.step(unreliable, config=StepConfig(retry_strategy=strategy))


@durable_execution(
    plugins=[JsonLinePlugin("CONFPLUGIN-FAULTY", INVOCATION | OPERATION | ATTEMPT, raises=True)]
)
async def plugin_error_isolation(event: Any, ctx: DurableContext) -> Any:
    """10-4: every hook raises; the execution is as if no plugin were registered."""
    return await ctx.step(greet, event)


@durable_execution(
    plugins=[JsonLinePlugin("CONFPLUGIN-A", INVOCATION), JsonLinePlugin("CONFPLUGIN-B", INVOCATION)]
)
async def plugin_multiple(event: Any, ctx: DurableContext) -> Any:
    """10-5: two plugins, A then B, both see the invocation hooks."""
    return await ctx.step(greet, event)


@durable_execution(plugins=[JsonLinePlugin("CONFPLUGIN", INVOCATION)])
async def plugin_first_invocation_flag(event: Any, ctx: DurableContext) -> None:
    """10-6: a 2-second wait: first=true, then first=false on the replay."""
    await ctx.wait(timedelta(seconds=2))


@durable_execution(plugins=[JsonLinePlugin("CONFPLUGIN", INVOCATION)])
async def plugin_sees_failure(event: Any, ctx: DurableContext) -> Any:
    """10-7: a step failing without retries: invocation end with FAILED."""
    return await ctx.step(failing_func, config=NO_RETRY)


class Probe(Plugin):
    """A plugin printing the JSON lines of one requirement: subclasses call
    ``record(info, hook, **fields)`` from the hooks they implement."""

    tag = "CONFPLUGIN"

    def record(self, info: Any, hook: str, **fields: Any) -> None:
        print_json_line(
            {"plugin": self.tag, "hook": hook, **fields, "durableExecutionArn": info.execution_arn}
        )


def parent_of(info: OperationInfo) -> str:
    return info.parent_id or "NONE"


class ChangeProbe(Probe):
    def on_operation_change(self, info: OperationChangeInfo) -> None:
        for op_id, op in info.updated_operations.items():
            if op.operation_type is OperationType.STEP:
                self.record(
                    info,
                    "operation-change",
                    op=op_id,
                    status=op.status.value,
                    in_full_map=op_id in info.operations,
                )


@durable_execution(plugins=[ChangeProbe()])
async def plugin_operation_change(event: Any, ctx: DurableContext) -> Any:
    """10-8: the step's terminal change is in the updated set and in the full map."""
    return await ctx.step(greet, event)


class UpdatedOnInvokeProbe(Probe):
    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        for op_id, op in info.updated_operations.items():
            if op.operation_type is OperationType.WAIT:
                self.record(
                    info,
                    "updated-on-invoke",
                    op=op_id,
                    status=op.status.value,
                    first=info.is_first_invocation,
                )


@durable_execution(plugins=[UpdatedOnInvokeProbe()])
async def plugin_updated_on_invoke(event: Any, ctx: DurableContext) -> None:
    """10-9: the wait that elapsed between invocations is reported by the replay's start."""
    await ctx.wait(timedelta(seconds=2))


class WaitProbe(Probe):
    def on_operation_start(self, info: OperationInfo) -> None:
        if info.operation_type is OperationType.WAIT:
            self.record(info, "operation-start", op=info.operation_id, type="WAIT")

    def on_operation_end(self, info: OperationEndInfo) -> None:
        if info.operation_type is OperationType.WAIT:
            self.record(
                info, "operation-end", op=info.operation_id, type="WAIT", status=info.status.value
            )


@durable_execution(plugins=[WaitProbe()])
async def plugin_wait_operation_hooks(event: Any, ctx: DurableContext) -> None:
    """10-10: a wait's start (live) and end (in the replay that sees it ended)."""
    await ctx.wait(timedelta(seconds=2))


class ParentProbe(Probe):
    def on_operation_end(self, info: OperationEndInfo) -> None:
        self.record(
            info,
            "operation-end",
            op=info.operation_id,
            parent=parent_of(info),
            status=info.status.value,
        )


async def greet_in_child(child: DurableContext, name: str) -> str:
    return await child.step(greet, name)


@durable_execution(plugins=[ParentProbe()])
async def plugin_parent_linkage(event: Any, ctx: DurableContext) -> Any:
    """10-11: the inner step ends with the child context as its parent, which has none."""
    return await ctx.run_in_child_context(greet_in_child, event)


class BranchProbe(Probe):
    def on_attempt_start(self, info: AttemptInfo) -> None:
        if info.sub_type == "ParallelBranch":
            self.record(info, "fn-start", op=info.operation_id, parent=parent_of(info))

    def on_attempt_end(self, info: AttemptEndInfo) -> None:
        if info.sub_type == "ParallelBranch":
            self.record(
                info,
                "fn-end",
                op=info.operation_id,
                parent=parent_of(info),
                outcome=info.outcome.value,
            )


def constant(value: str) -> Any:
    async def branch(ctx: DurableContext) -> str:
        return value

    return branch


@durable_execution(plugins=[BranchProbe()])
async def plugin_branch_hooks(event: Any, ctx: DurableContext) -> Any:
    """10-12: each branch function runs between its own start and end hooks."""
    branches = [constant("task-1"), constant("task-2")]
    result = await ctx.parallel(branches, name="parallel", config=ParallelConfig(max_concurrency=1))
    return result.results()


class ReplayFlagProbe(Probe):
    def on_operation_start(self, info: OperationInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self.record(info, "operation-start", op=info.operation_id, replay=info.is_replayed)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self.record(info, "operation-end", op=info.operation_id, status=info.status.value)


def step_a() -> str:
    return "task-a"


ONE_RETRY = StepConfig(
    retry_strategy=RetryStrategy(
        max_attempts=2, initial_delay=timedelta(seconds=1), jitter=Jitter.NONE
    )
)


@durable_execution(plugins=[ReplayFlagProbe()])
async def plugin_replay_flag(event: Any, ctx: DurableContext) -> Any:
    """10-13: a terminal step never starts again; the retried one restarts as a replay."""
    await ctx.step(step_a)
    return await ctx.step(unreliable, config=ONE_RETRY)


class PayloadProbe(Probe):
    def on_operation_end(self, info: OperationEndInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self.record(
                info,
                "operation-end",
                op=info.operation_id,
                status=info.status.value,
                result="NONE" if info.result is None else info.result,
                error="NONE" if info.error is None else info.error.message,
            )


def boom() -> str:
    raise RuntimeError("boom")


@durable_execution(plugins=[PayloadProbe()])
async def plugin_end_payload(event: Any, ctx: DurableContext) -> Any:
    """10-14: the end info carries the serialized result, or the error."""
    await ctx.step(step_a)
    return await ctx.step(boom, config=NO_RETRY)


@durable_execution(plugins=[JsonLinePlugin("CONFPLUGIN", OPERATION | ATTEMPT)])
async def plugin_retry_exhaustion(event: Any, ctx: DurableContext) -> Any:
    """10-15: two failing attempts, then one FAILED end."""
    return await ctx.step(always_fail, config=ONE_RETRY)


class SuspensionProbe(Probe):
    """Made per invocation (``PerInvocation``): the two hooks of one invocation."""

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self.record(info, "invocation-start", first=info.is_first_invocation)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.record(
            info,
            "invocation-end",
            first=info.is_first_invocation,
            terminal=info.status in TERMINAL,
            status=info.status.value,
        )


TERMINAL = frozenset({InvocationStatus.SUCCEEDED, InvocationStatus.FAILED})


class PerInvocation:
    """A plugin factory: a new ``cls()`` for every invocation."""

    def __init__(self, cls: type[Plugin]) -> None:
        self.cls = cls

    def create_plugin(self, info: InvocationStartInfo) -> Plugin:
        return self.cls()


@durable_execution(plugins=[PerInvocation(SuspensionProbe)])
async def plugin_end_on_suspension(event: Any, ctx: DurableContext) -> None:
    """10-16: the suspending first invocation ends non-terminal; the replay ends SUCCEEDED."""
    await ctx.wait(timedelta(seconds=2))


@durable_execution(
    plugins=[
        JsonLinePlugin("CONFPLUGIN-FAULTY", INVOCATION | OPERATION | ATTEMPT, raises=True),
        JsonLinePlugin("CONFPLUGIN-HEALTHY", INVOCATION | OPERATION | ATTEMPT),
    ]
)
async def plugin_faulty_beside_healthy(event: Any, ctx: DurableContext) -> Any:
    """10-17: a plugin raising from every hook never keeps the next one from its hooks."""
    return await ctx.step(greet, event)


class PendingWaitProbe(Probe):
    def on_operation_start(self, info: OperationInfo) -> None:
        if info.operation_type is OperationType.WAIT:
            self.record(
                info,
                "operation-start",
                type="WAIT",
                name=info.name,
                replay=info.is_replayed,
                pending=not info.status.is_terminal,
            )

    def on_operation_end(self, info: OperationEndInfo) -> None:
        if info.operation_type is OperationType.WAIT:
            self.record(
                info, "operation-end", type="WAIT", name=info.name, status=info.status.value
            )


def waits(name: str, seconds: int, value: str) -> Any:
    async def branch(ctx: DurableContext) -> str:
        await ctx.wait(timedelta(seconds=seconds), name=name)
        return value

    return branch


@durable_execution(plugins=[PendingWaitProbe()])
async def plugin_pending_wait_replay(event: Any, ctx: DurableContext) -> Any:
    """10-18: the long wait, still pending when the short one ends, restarts as a replay."""
    branches = [waits("short", 2, "short-done"), waits("long", 8, "long-done")]
    result = await ctx.parallel(branches, name="waits", config=ParallelConfig(max_concurrency=2))
    return result.results()
