"""Suite ``wait`` (2-x): one durable function per requirement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from trio_durable import DurableContext, durable_execution


@durable_execution
async def wait_basic(event: Any, ctx: DurableContext) -> Any:
    """2-1: one 2-second wait."""
    await ctx.wait(timedelta(seconds=2))
    return "waited"


@durable_execution
async def wait_named(event: Any, ctx: DurableContext) -> Any:
    """2-2: a named 2-second wait."""
    await ctx.wait(timedelta(seconds=2), name="custom_wait_name")
    return "waited"


@durable_execution
async def wait_sequential(event: Any, ctx: DurableContext) -> Any:
    """2-3: two named waits, each suspending the execution."""
    completed = 0
    for name in ("wait-1", "wait-2"):
        await ctx.wait(timedelta(seconds=2), name=name)
        completed += 1
    return {"completedWaits": completed}


@durable_execution
async def wait_minutes(event: Any, ctx: DurableContext) -> Any:
    """2-4: a wait given in minutes is recorded as 60 seconds."""
    await ctx.wait(timedelta(minutes=1))
    return "waited"


@durable_execution
async def wait_hours(event: Any, ctx: DurableContext) -> Any:
    """2-5: a wait given in hours is recorded as 3600 seconds."""
    await ctx.wait(timedelta(hours=1))
    return "waited"
