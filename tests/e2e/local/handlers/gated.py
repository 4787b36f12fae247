"""A trio-durable workflow that ends only once a file the test creates exists."""

from __future__ import annotations

from typing import Any

import trio

from trio_durable import DurableContext, durable_execution


def first() -> str:
    return "stepped"


@durable_execution
async def gated(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """One step (so the test sees the invocation running), then a wait outside any
    operation for ``event["gate"]``: the invocation ends when the test says so."""
    stepped = await ctx.step(first, name="first")
    gate = trio.Path(event["gate"])
    while not await gate.exists():  # noqa: ASYNC110 (a file has no event to wait on)
        await trio.sleep(0.02)
    return {"first": stepped}
