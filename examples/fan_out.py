"""Fan out, and call another durable function: map, invoke and parallel.

    trio-durable run examples/fan_out.py:handler --skip-time \\
        --function discounts=examples/fan_out.py:discounts \\
        --input '{"skus": ["A1", "B2", "C3"]}'

``handler`` prices every SKU with ``ctx.map`` (two at a time, each item in its
own child context), asks the ``discounts`` durable function for a discount with
``ctx.invoke`` (the caller suspends until that execution ends), and runs two
independent checks at once with ``ctx.parallel``.
"""

from __future__ import annotations

from typing import Any

from trio_durable import DurableContext, MapConfig, durable_execution

PRICES = {"A1": 1200, "B2": 450, "C3": 999}


async def look_up_price(sku: str) -> int:
    return PRICES.get(sku, 100)


async def price_item(item_ctx: DurableContext, sku: str, index: int) -> int:
    price: int = await item_ctx.step(look_up_price, sku, name=f"price {sku}")
    return price


@durable_execution
async def discounts(event: dict[str, Any], ctx: DurableContext) -> int:
    """A durable function of its own: the discount, in percent, for a basket total."""
    await ctx.wait(60, name="let the promotions load")
    return 10 if event["total"] > 2000 else 0


def screen_for_fraud() -> str:
    return "clear"


def reserve_stock() -> str:
    return "reserved"


async def fraud_check(branch_ctx: DurableContext) -> str:
    verdict: str = await branch_ctx.step(screen_for_fraud)
    return verdict


async def stock_check(branch_ctx: DurableContext) -> str:
    reservation: str = await branch_ctx.step(reserve_stock)
    return reservation


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    prices = await ctx.map(
        event["skus"], price_item, name="prices", config=MapConfig(max_concurrency=2)
    )
    prices.throw_if_error()
    total = sum(prices.results())
    discount: int = await ctx.invoke("discounts", {"total": total}, name="discount")
    checks = await ctx.parallel([fraud_check, stock_check], name="checks")
    checks.throw_if_error()
    return {"total": total, "discount_percent": discount, "checks": checks.results()}
