"""Suite ``plugin``, 10-19 to 10-23: each hook's whole info, dumped.

``canonical`` maps every field an info has to the camelCase name the
requirements use, leaving out unset ones: timestamps as ISO-8601, errors as
their message, maps as ``<name>Count``, enums as their tokens. A field this
SDK lacked would be missing from the line, and its probe would fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from conformance.handlers.plugin import Probe, constant
from trio_durable import (
    AttemptEndInfo,
    AttemptInfo,
    DurableContext,
    InvocationEndInfo,
    InvocationStartInfo,
    OperationChangeInfo,
    OperationEndInfo,
    OperationInfo,
    ParallelBranch,
    ParallelConfig,
    StepContext,
    durable_execution,
)
from trio_durable.config import Jitter, RetryStrategy, StepConfig
from trio_durable.wire import ErrorObject, InvocationStatus, OperationType

CANONICAL = {
    "execution_arn": "executionArn",
    "operation_id": "id",
    "name": "name",
    "operation_type": "type",
    "sub_type": "subType",
    "parent_id": "parentId",
    "status": "status",
    "start_time": "startTimestamp",
    "end_time": "endTimestamp",
    "error": "error",
    "result": "result",
    "attempt": "attempt",
    "is_replayed": "isReplay",
    "outcome": "outcome",
    "is_replaying_children": "isReplayingChildren",
    "is_first_invocation": "isFirstInvocation",
    "request_id": "requestId",
    "execution_start_time": "executionStartTimestamp",
    "operations": "operations",
    "updated_operations": "updatedOperations",
    "execution_result": "executionResult",
}


# Not data: the Lambda context object the handler was given.
NOT_DUMPED = frozenset({"lambda_context"})


def canonical(info: Any, **renamed: str) -> dict[str, Any]:
    """Every set field of ``info`` under its canonical name (``renamed`` overrides)."""
    out: dict[str, Any] = {}
    for field in fields(info):
        value = getattr(info, field.name)
        if value is None or field.name in NOT_DUMPED:
            continue
        key = renamed.get(field.name) or CANONICAL[field.name]
        if isinstance(value, Mapping):
            out[f"{key}Count"] = len(value)
        elif isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, ErrorObject):
            out[key] = value.message or value.type or ""
        elif isinstance(value, Enum):
            out[key] = value.value
        else:
            out[key] = value
    return out


class InvocationShape(Probe):
    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self.record(info, "invocation-start", **canonical(info))

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        terminal = info.status in (InvocationStatus.SUCCEEDED, InvocationStatus.FAILED)
        dump = canonical(info, error="executionError")
        self.record(info, "invocation-end", **dump, terminal=terminal)


@durable_execution(plugins=[InvocationShape()])
async def plugin_invocation_info_shape(event: Any, ctx: DurableContext) -> str:
    """10-19: both invocation infos, suspending and terminal, with every field."""
    await ctx.wait(timedelta(seconds=2))
    return f"done-{event}"


class OperationShape(Probe):
    def on_operation_start(self, info: OperationInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self.record(info, "operation-start", **canonical(info))

    def on_operation_end(self, info: OperationEndInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self.record(info, "operation-end", **canonical(info))


def task_a() -> str:
    return "task-a"


@durable_execution(plugins=[OperationShape()])
async def plugin_operation_info_shape(event: Any, ctx: DurableContext) -> str:
    """10-20: a step's start and end infos, with every field."""
    result: str = await ctx.step(task_a, name="greet")
    return result


class AttemptShape(Probe):
    def on_attempt_start(self, info: AttemptInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self.record(info, "attempt-start", **canonical(info))

    def on_attempt_end(self, info: AttemptEndInfo) -> None:
        if info.operation_type is OperationType.STEP:
            self.record(info, "attempt-end", **canonical(info))


def flaky(*, step_context: StepContext) -> str:
    if step_context.attempt == 1:
        raise RuntimeError("flaky fails its first attempt")
    return "ok"


RETRY_ONCE = StepConfig(
    retry_strategy=RetryStrategy(
        max_attempts=2, initial_delay=timedelta(seconds=1), jitter=Jitter.NONE
    )
)


@durable_execution(plugins=[AttemptShape()])
async def plugin_attempt_info_shape(event: Any, ctx: DurableContext) -> str:
    """10-21: both attempts' start and end infos, with every field."""
    result: str = await ctx.step(flaky, name="flaky", config=RETRY_ONCE)
    return result


class ChangeShape(Probe):
    def on_operation_change(self, info: OperationChangeInfo) -> None:
        for op_id, item in info.updated_operations.items():
            if item.operation_type is OperationType.STEP:
                self.record(
                    info,
                    "operation-change",
                    **canonical(item),
                    updatedOperationsCount=len(info.updated_operations),
                    operationsCount=len(info.operations),
                    inFullMap=op_id in info.operations,
                )


@durable_execution(plugins=[ChangeShape()])
async def plugin_operation_change_shape(event: Any, ctx: DurableContext) -> str:
    """10-22: each changed step of a merge, as a full operation info."""
    result: str = await ctx.step(task_a, name="greet")
    return result


class ContextShape(Probe):
    def on_operation_start(self, info: OperationInfo) -> None:
        if info.operation_type is OperationType.CONTEXT:
            self.record(info, "operation-start", **canonical(info))

    def on_attempt_start(self, info: AttemptInfo) -> None:
        if info.operation_type is OperationType.CONTEXT:
            self.record(info, "fn-start", **canonical(info))


def inner_value() -> str:
    return "x"


async def branch_a(ctx: DurableContext) -> str:
    await ctx.step(inner_value, name="inner")
    await ctx.wait(timedelta(seconds=2))
    return "a-done"


@durable_execution(plugins=[ContextShape()])
async def plugin_context_info_shape(event: Any, ctx: DurableContext) -> Any:
    """10-23: the contexts' subtypes, and the branch functions' children-replay flag."""
    branches = [
        ParallelBranch(branch_a, "branch-a"),
        ParallelBranch(constant("b-done"), "branch-b"),
    ]
    result = await ctx.parallel(branches, name="ctx", config=ParallelConfig(max_concurrency=1))
    return result.results()
