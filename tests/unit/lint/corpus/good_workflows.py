"""Workflows that replay alike, written near every rule's edge: no finding."""

import os
import random
import time
import uuid
from datetime import datetime

import trio

from trio_durable import DurableContext, ParallelBranch, StepContext, durable_execution

PRICES = {"A1": 1200}


def now() -> float:
    return time.time()  # a step body reads the clock


def read_config(*, step_context: StepContext) -> dict:
    with open("config.json") as file:  # a step body does I/O
        return {"text": file.read(), "region": os.environ.get("AWS_REGION")}


def tally(items: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}  # a local, mutated freely
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


async def fetch_all(urls: list[str]) -> list[str]:
    results: list[str] = []

    async def one(url: str) -> None:
        await trio.sleep(0)
        results.append(url)  # the step's own local, from its own nursery

    async with trio.open_nursery() as nursery:  # a raw nursery inside a step body
        for url in urls:
            nursery.start_soon(one, url)
    return results


async def price(item_ctx: DurableContext, sku: str, index: int) -> int:
    value: int = await item_ctx.step(lambda: PRICES.get(sku, 100), name=f"price {sku}")
    return value


async def branch(branch_ctx: DurableContext) -> str:
    token: str = await branch_ctx.step(lambda: str(uuid.uuid4()), name="token")
    return token


def is_done(state: dict) -> dict:
    return {**state, "done": random.random() < 0.5}


@durable_execution
async def handler(event: dict, ctx: DurableContext) -> dict:
    started = await ctx.step(now)
    stamp = await ctx.step(time.time, name="stamp")
    wall = await ctx.step(lambda: datetime.now().isoformat(), name="wall")
    config = await ctx.step(read_config)
    counts = await ctx.step(tally, event["items"])
    pages = await ctx.step(fetch_all, event["urls"])
    seeded = random.Random(42).random()  # seeded: the same on every replay
    prices = await ctx.map(event["skus"], price, name="prices")
    checks = await ctx.parallel([branch, ParallelBranch(branch, "named")], name="checks")
    total = sum(prices.results())
    totals = {"sum": total}
    totals["count"] = len(prices.results())  # the workflow's own state, outside steps
    ctx.logger.info("priced %d items", len(prices.results()))

    async with trio.open_nursery() as nursery:  # a nursery that runs no durable code

        async def tick() -> None:
            await trio.sleep(0)

        nursery.start_soon(tick)
    state = await ctx.wait_for_condition(is_done, name="poll", config=event["config"])
    return {
        "started": started,
        "stamp": stamp,
        "wall": wall,
        "config": config,
        "counts": counts,
        "pages": pages,
        "seeded": seeded,
        "checks": checks.results(),
        "totals": totals,
        "state": state,
    }


def not_a_workflow() -> float:
    """Not durable code: nothing here replays."""
    return time.time() + random.random() + len(os.environ)
