"""A trio-durable workflow: two steps around a callback."""

from __future__ import annotations

from typing import Any

from trio_durable import DurableContext, durable_execution


def reserve(sku: str) -> str:
    return f"reserved:{sku}"


async def confirm(reservation: str) -> str:
    return f"confirmed:{reservation}"


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    reservation = await ctx.step(reserve, event["sku"], name="reserve")
    callback = await ctx.create_callback(name="approval")
    approval = await callback.result()
    confirmation = await ctx.step(confirm, reservation, name="confirm")
    return {"confirmation": confirmation, "approval": approval}
