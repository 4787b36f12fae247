"""Suite ``plugin`` (10-x): one durable function per requirement.

``JsonLinePlugin`` prints one JSON line per hook it records (through
``logcapture.print_json_line``, which also captures it as CloudWatch would),
stamped with the execution ARN every hook info carries. Operation and attempt
hooks are recorded for STEP operations only, as the requirements ask.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conformance.handlers.step import NO_RETRY, failing_func, greet, unreliable
from conformance.logcapture import print_json_line
from trio_durable import (
    AttemptEndInfo,
    AttemptInfo,
    DurableContext,
    InvocationEndInfo,
    InvocationInfo,
    OperationEndInfo,
    OperationInfo,
    Plugin,
    StepContext,
    durable_execution,
)
from trio_durable.config import Jitter, RetryStrategy, StepConfig
from trio_durable.wire import OperationType

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
