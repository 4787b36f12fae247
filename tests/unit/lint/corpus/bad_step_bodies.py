"""Step bodies that call durable operations or mutate captured state: TD005, TD007."""

from trio_durable import DurableContext, durable_execution

SEEN: list[str] = []
TOTALS: dict[str, int] = {}
COUNT = 0


def record(item: str) -> str:
    SEEN.append(item)  # expect: TD007
    TOTALS[item] = len(item)  # expect: TD007
    return item


def bump() -> int:
    global COUNT
    COUNT += 1  # expect: TD007
    return COUNT


def add_to(bucket: list[str], item: str) -> None:
    bucket.append(item)  # expect: TD007


async def uses_context(ctx: DurableContext) -> None:
    await ctx.wait(5)  # expect: TD005


@durable_execution
async def handler(event: dict, ctx: DurableContext) -> dict:
    results: list[str] = []
    state = {"calls": 0}
    counter = 0

    def collect() -> None:
        results.append("x")  # expect: TD007
        state["calls"] += 1  # expect: TD007

    def count() -> int:
        nonlocal counter
        counter = counter + 1  # expect: TD007
        return counter

    async def sneaky() -> str:
        await ctx.wait(1)  # expect: TD005
        return await ctx.step(record, "inner")  # expect: TD005

    await ctx.step(record, "a")
    await ctx.step(bump)
    await ctx.step(add_to, results, "b")
    await ctx.step(collect)
    await ctx.step(count)
    await ctx.step(sneaky)
    await ctx.step(uses_context, ctx)
    await ctx.step(lambda: results.clear())  # expect: TD007
    await ctx.wait_for_callback(lambda callback_id: ctx.wait(1))  # expect: TD005
    return {"results": results, "state": state, "counter": counter}
