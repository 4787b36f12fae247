"""Sync step bodies end to end on the real local service: where they run.

By default a sync body runs in a worker thread (the invocation's own, reused,
under Trio), so a body that blocks leaves the rest of the workflow running;
``StepConfig(inline=True)`` runs it on the event loop's thread instead.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import anyio.to_thread
import orjson
import pytest
import trio
from sdk_e2e_helpers import kinds, run

from trio_durable import (
    DurableContext,
    Jitter,
    RetryStrategy,
    StepConfig,
    durable_execution,
)
from trio_durable.local.service import LocalService

INLINE = StepConfig(inline=True)


@pytest.mark.workflow_on_trio
async def test_the_sync_bodies_of_an_invocation_share_one_worker_thread(
    service: LocalService,
) -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> dict[str, Any]:
        loop_thread = threading.get_ident()
        threads = [await ctx.step(threading.get_ident, name=f"s{i}") for i in range(10)]
        return {"distinct": len(set(threads)), "on_loop": loop_thread in threads}

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED"
    assert orjson.loads(result["Result"]) == {"distinct": 1, "on_loop": False}


async def test_a_blocking_sync_step_does_not_freeze_the_other_branches(
    service: LocalService,
) -> None:
    # The left branch's body blocks until the right branch, on the event loop,
    # releases it: were the loop stuck waiting for that body, neither could end.
    started, release = threading.Event(), threading.Event()

    def blocking() -> bool:
        started.set()
        return release.wait(60)

    async def releasing() -> str:
        assert await anyio.to_thread.run_sync(started.wait, 60)
        await anyio.sleep(0.01)  # well past the loop's patience for a body
        release.set()
        return "released"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        async def left(ctx: DurableContext) -> bool:
            released: bool = await ctx.step(blocking)
            return released

        async def right(ctx: DurableContext) -> str:
            done: str = await ctx.step(releasing)
            return done

        return (await ctx.parallel([left, right], name="both")).results()

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED"
    assert orjson.loads(result["Result"]) == [True, "released"]


async def test_an_inline_step_runs_on_the_loop_thread_and_replays_from_its_record(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    calls: list[int] = []

    def flaky(value: int) -> int:
        calls.append(threading.get_ident())
        if len(calls) == 1:
            raise ConnectionError("first attempt fails")
        return value * 2

    retry_once = StepConfig(
        inline=True,
        retry_strategy=RetryStrategy(max_attempts=2, initial_delay=1, jitter=Jitter.NONE),
    )

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> dict[str, Any]:
        loop_thread = threading.get_ident()
        doubled: int = await ctx.step(flaky, 21, config=retry_once)
        await ctx.wait(10)
        again: int = await ctx.step(lambda: doubled + 1, name="plus-one", config=INLINE)
        return {"value": again, "on_loop": set(calls) == {loop_thread}}

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED"
    assert orjson.loads(result["Result"]) == {"value": 43, "on_loop": True}
    assert len(calls) == 2  # the failed attempt and the retry; replays ran neither
    assert kinds(service, result["Arn"]).count("StepSucceeded/Step") == 2
