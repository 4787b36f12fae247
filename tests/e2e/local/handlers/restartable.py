"""AWS's SDK: workflows that are mid-flight when their service is killed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration


@durable_execution
def approve(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """An open callback and a pending wait at the same time."""
    callback = context.create_callback(
        name="approval", config=CallbackConfig(timeout=Duration.from_minutes(10))
    )
    context.wait(Duration.from_seconds(2), name="pause")
    return {"approval": callback.result()}


@durable_execution
def busy(event: dict[str, Any], context: DurableContext) -> str:
    """A step still running (the first time) when the service dies."""

    def slow(step_context: StepContext) -> str:
        marker = Path(event["marker"])
        if not marker.exists():
            marker.write_text("started")
            time.sleep(60)
        return "done"

    result: str = context.step(slow, name="slow")
    return result
