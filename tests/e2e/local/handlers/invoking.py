"""Two trio-durable workflows: one invokes the other by name."""

from __future__ import annotations

from typing import Any

from trio_durable import DurableContext, durable_execution


def shout(text: str) -> str:
    return text.upper()


@durable_execution
async def shouter(event: dict[str, Any], ctx: DurableContext) -> str:
    loud: str = await ctx.step(shout, event["text"], name="shout")
    return loud


@durable_execution
async def caller(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    loud = await ctx.invoke("shouter", {"text": event["text"]}, name="ask the shouter")
    return {"heard": loud}
