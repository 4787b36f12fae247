"""The workflow the console screenshots show (``console_screenshots.py``): a map
whose items retry, a wait between invocations, a parallel and an approval."""

from __future__ import annotations

from typing import Any

from trio_durable import (
    DurableContext,
    MapConfig,
    RetryStrategy,
    StepConfig,
    StepContext,
    durable_execution,
)

PRICES = {"A1": 1200, "B2": 450, "C3": 999, "D4": 80}
RETRY = RetryStrategy(max_attempts=3, initial_delay=1, backoff_rate=1)


def look_up_price(sku: str, *, step_context: StepContext) -> int:
    if sku == "C3" and step_context.attempt == 1:
        raise TimeoutError(f"price service slow for {sku}")
    return PRICES[sku]


async def price_item(item_ctx: DurableContext, sku: str, index: int) -> int:
    config = StepConfig(retry_strategy=RETRY)
    price: int = await item_ctx.step(look_up_price, sku, name=f"price {sku}", config=config)
    return price


async def fraud_check(branch_ctx: DurableContext) -> str:
    return str(await branch_ctx.step(lambda: "clear", name="screen for fraud"))


async def stock_check(branch_ctx: DurableContext) -> str:
    return str(await branch_ctx.step(lambda: "reserved", name="reserve stock"))


@durable_execution
async def orders(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    ctx.logger.info("pricing %d items", len(event["skus"]))
    prices = await ctx.map(
        event["skus"], price_item, name="prices", config=MapConfig(max_concurrency=2)
    )
    total = sum(prices.results())
    await ctx.wait(2, name="let the promotions load")
    checks = await ctx.parallel([fraud_check, stock_check], name="checks")
    ctx.logger.info("total %d, checks %s", total, checks.results())
    return {"total": total, "checks": checks.results()}
