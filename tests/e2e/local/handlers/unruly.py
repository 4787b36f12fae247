"""Handlers that misbehave inside the service's process: they block their thread,
run sync steps that outlast their invocation, or raise ``BaseException``s.

Each takes its files from its input: ``started`` (written when the blocking part
begins), ``release`` (it blocks until this file exists) and ``once`` (present
after the first attempt, so that only the first attempt misbehaves).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from trio_durable import DurableContext, durable_execution


def _block_until_released(event: dict[str, Any]) -> None:
    """Block the calling thread (no checkpoint) until the ``release`` file exists,
    the first time only."""
    once = Path(event["once"])
    if once.exists():
        return
    once.write_text("first attempt")
    Path(event["started"]).write_text("blocking")
    release = Path(event["release"])
    while not release.exists():
        time.sleep(0.02)


def blocking_step(event: dict[str, Any]) -> str:
    _block_until_released(event)
    return "step done"


@durable_execution
async def sync_step_blocks(event: dict[str, Any], ctx: DurableContext) -> list[str]:
    """A sync step body (in a worker thread) that blocks the first time."""
    first: str = await ctx.step(blocking_step, event, name="blocking")
    second: str = await ctx.step(lambda: "after", name="after")
    return [first, second]


@durable_execution
async def loop_blocks(event: dict[str, Any], ctx: DurableContext) -> str:
    """Blocks its own event loop (``time.sleep`` in async code) the first time."""
    _block_until_released(event)
    done: str = await ctx.step(lambda: "unblocked", name="after")
    return done


class Custom(BaseException):
    """A ``BaseException`` of the user's own."""


def _raise(kind: str) -> None:
    if kind == "SystemExit":
        sys.exit(7)
    if kind == "KeyboardInterrupt":
        raise KeyboardInterrupt
    raise Custom("custom base exception")


@durable_execution
async def handler_raises(event: dict[str, Any], ctx: DurableContext) -> None:
    _raise(event["kind"])


def raising_step(kind: str) -> None:
    _raise(kind)


@durable_execution
async def sync_step_raises(event: dict[str, Any], ctx: DurableContext) -> None:
    await ctx.step(raising_step, event["kind"], name="raises")


@durable_execution
async def async_step_raises(event: dict[str, Any], ctx: DurableContext) -> None:
    async def raises() -> None:
        _raise(event["kind"])

    await ctx.step(raises, name="raises")


def plain_raises(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A plain sync Lambda handler (no SDK) that raises ``SystemExit``."""
    sys.exit(3)


@durable_execution
async def exits_process(event: dict[str, Any], ctx: DurableContext) -> None:
    """``os._exit``: nothing in the process survives it."""
    os._exit(9)


@durable_execution
async def quick(event: dict[str, Any], ctx: DurableContext) -> str:
    """A well-behaved workflow, to show the service still serves."""
    done: str = await ctx.step(lambda: "served", name="quick")
    return done
