"""AWS's SDK: a step, a one-hour wait, another step (for ``run --skip-time``)."""

from __future__ import annotations

from typing import Any

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> str:
    first: str = context.step(lambda _: "before", name="before")
    context.wait(Duration.from_hours(1), name="an-hour")
    second: str = context.step(lambda _: "after", name="after")
    return f"{first}-{event['tag']}-{second}"
