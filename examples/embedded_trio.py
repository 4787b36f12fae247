"""A durable workflow embedded in a Trio program.

    python examples/embedded_trio.py

The program runs the local durable execution service in its own nursery, next to
its other tasks (here, a progress ticker), starts three executions at once and
collects their results. Nothing blocks the event loop: the service, every
invocation and the program's own tasks share one Trio run.
"""

from __future__ import annotations

from typing import Any

import orjson
import trio

from trio_durable import DurableContext, durable_execution
from trio_durable.local.invokers import InProcessInvoker
from trio_durable.local.service import LocalService, open_local_service


async def fetch_price(sku: str) -> float:
    await trio.sleep(0.05)  # an async step: awaited on the loop, no thread
    return {"book": 12.5, "pen": 1.25, "lamp": 30.0}[sku]


@durable_execution
async def quote(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    price = await ctx.step(fetch_price, event["sku"], name="price")
    await ctx.wait(1, name="rate-limit")
    return {"sku": event["sku"], "total": price * event["quantity"]}


async def run_quote(service: LocalService, order: dict[str, Any], results: list[Any]) -> None:
    started = service.start_execution("quote", orjson.dumps({**order, "quantity": 2}).decode())
    execution = await service.wait_until_terminal(started.arn)
    results.append(execution["Result"])


async def ticker(stop: trio.Event) -> None:
    while not stop.is_set():
        print("... the program's own task is still running")
        with trio.move_on_after(0.5):
            await stop.wait()


async def main() -> list[Any]:
    results: list[Any] = []
    async with open_local_service() as service, trio.open_nursery() as nursery:
        service.register_function("quote", InProcessInvoker(quote))
        done = trio.Event()
        nursery.start_soon(ticker, done)
        async with trio.open_nursery() as orders:
            for sku in ("book", "pen", "lamp"):
                orders.start_soon(run_quote, service, {"sku": sku}, results)
        done.set()
    for result in sorted(results):
        print("quote:", result)
    return results


if __name__ == "__main__":
    trio.run(main)
