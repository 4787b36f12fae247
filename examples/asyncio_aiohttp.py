"""A durable workflow on asyncio, calling an HTTP API with aiohttp.

    python examples/asyncio_aiohttp.py

``quote`` is declared ``@durable_execution(backend="asyncio")``: on Lambda its
sync entry runs it with ``asyncio.run``, and ``trio-durable run``/``serve`` run
it on an asyncio loop of its own, so its steps may use any asyncio library
(here aiohttp's client). Each line of the order is priced by a step of its own
(a map), then the quote is held for a day (a durable wait: no compute while it
waits) and returned.

``main`` is an asyncio program: it serves the pricing API itself (an aiohttp web
application) and runs ``quote`` to the end on the embedded local service, in
virtual time, next to it. The handler as a Lambda function, against your own
pricing API:

    trio-durable run examples/asyncio_aiohttp.py:quote --skip-time \\
        --input '{"pricing_url": "http://127.0.0.1:8080", "lines": [["book", 2]]}'
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from trio_durable import DurableContext, durable_execution
from trio_durable.testing import DurableTestRunner

PRICES = {"book": 12.5, "pen": 1.25, "lamp": 30.0}


async def fetch_price(pricing_url: str, sku: str) -> float:
    """A step: one GET against the pricing API (retried durably if it fails)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{pricing_url}/prices/{sku}") as response,
    ):
        response.raise_for_status()
        body = await response.json()
        return float(body["price"])


@durable_execution(backend="asyncio")
async def quote(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    url = event["pricing_url"]

    async def price_line(line_ctx: DurableContext, line: list[Any], index: int) -> float:
        sku, quantity = line
        price = await line_ctx.step(fetch_price, url, sku, name=f"price {sku}")
        return price * quantity

    lines = await ctx.map(event["lines"], price_line, name="lines")
    total = sum(lines.results())
    ctx.logger.info("quoted %.2f for %d lines", total, len(event["lines"]))
    await ctx.wait(timedelta(days=1) - timedelta(minutes=1), name="hold the quote")
    return {"total": total, "lines": len(event["lines"])}


async def price(request: web.Request) -> web.Response:
    sku = request.match_info["sku"]
    if sku not in PRICES:
        raise web.HTTPNotFound(text=f"no price for {sku}")
    return web.json_response({"sku": sku, "price": PRICES[sku]})


async def main() -> dict[str, Any]:
    app = web.Application()
    app.router.add_get("/prices/{sku}", price)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        order = {"pricing_url": f"http://127.0.0.1:{port}", "lines": [["book", 2], ["lamp", 1]]}
        async with DurableTestRunner(quote, virtual_time=True) as durable:
            result = await durable.run(order)
    finally:
        await runner.cleanup()
    print("status:", result.status, "after", result.invocations, "invocations")
    print("quote:", result.value)
    return {"status": result.status, "value": result.value}


if __name__ == "__main__":
    asyncio.run(main())
