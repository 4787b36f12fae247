"""Durable operations in raw tasks, and contexts used from other tasks: TD006, TD008."""

import asyncio
import threading
from functools import partial

import anyio
import trio

from trio_durable import DurableContext, durable_execution


def slow(value: int) -> int:
    return value


async def worker(worker_ctx: DurableContext, value: int) -> int:
    result: int = await worker_ctx.step(slow, value)
    return result


async def only_logs(log_ctx: DurableContext) -> None:
    log_ctx.logger.info("hello")


def in_thread(thread_ctx: DurableContext) -> None:
    thread_ctx.logger.info("from a thread")


@durable_execution
async def handler(event: dict, ctx: DurableContext) -> str:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(worker, ctx, 1)  # expect: TD006
        nursery.start_soon(ctx.wait, 5)  # expect: TD006
        nursery.start_soon(partial(worker, ctx), 2)  # expect: TD006
        nursery.start_soon(only_logs, ctx)  # expect: TD008

        async def closure() -> None:
            await ctx.step(slow, 3)

        nursery.start_soon(closure)  # expect: TD006
    async with anyio.create_task_group() as group:
        group.start_soon(worker, ctx, 4)  # expect: TD006
    await trio.to_thread.run_sync(in_thread, ctx)  # expect: TD008
    threading.Thread(target=in_thread, args=(ctx,)).start()  # expect: TD008
    return "done"


@durable_execution
async def asyncio_handler(event: dict, ctx: DurableContext) -> list:
    first = asyncio.create_task(worker(ctx, 1))  # expect: TD006
    both = await asyncio.gather(ctx.step(slow, 1), ctx.step(slow, 2))  # expect: TD006
    async with asyncio.TaskGroup() as group:
        group.create_task(ctx.wait(1))  # expect: TD006
    return [await first, both]
