"""A durable function written with AWS's own Python SDK: a step, then a callback."""

from __future__ import annotations

from typing import Any

from aws_durable_execution_sdk_python import (
    DurableContext,
    StepContext,
    durable_execution,
    durable_step,
)
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration


@durable_step
def add(step_context: StepContext, a: int, b: int) -> int:
    return a + b


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    total = context.step(add(event["a"], event["b"]), name="add")
    callback = context.create_callback(
        name="approval", config=CallbackConfig(timeout=Duration.from_minutes(5))
    )
    return {"total": total, "approval": callback.result()}
