"""Workflows that report the X-Ray header they run under: Lambda's
``_X_AMZN_TRACE_ID`` and the context's ``xray_trace_id``. The caller starts its
chained invoke under ``CHAINED_HEADER`` (a plugin's answer, as the otel views give)."""

from __future__ import annotations

import os
from typing import Any

from trio_durable import DurableContext, OperationInfo, Plugin, durable_execution

CHAINED_HEADER = "Root=1-6a0b1c2d-00112233445566778899aabb;Parent=0123456789abcdef;Sampled=1"


class ChainedHeader(Plugin):
    def chained_invoke_trace_header(self, info: OperationInfo) -> str | None:
        return CHAINED_HEADER


def seen(lambda_context: Any) -> dict[str, Any]:
    return {
        "env": os.environ.get("_X_AMZN_TRACE_ID"),
        "context": getattr(lambda_context, "xray_trace_id", None),
    }


@durable_execution
async def target(event: Any, ctx: DurableContext) -> dict[str, Any]:
    return await ctx.step(seen, ctx.lambda_context, name="seen")


@durable_execution(plugins=[ChainedHeader()])
async def caller(event: Any, ctx: DurableContext) -> dict[str, Any]:
    own = await ctx.step(seen, ctx.lambda_context, name="seen")
    called = await ctx.invoke("target", {}, name="call target")
    return {"caller": own, "target": called}
