"""The workflow the fault and crash runs execute, and the result it must produce.

``mixed`` runs ``rounds`` rounds of: a step, a wait (every other round), a child
context holding two steps and a wait, a callback completed from outside, and an
at-most-once step that writes one line per attempt to a side-effect log (the
input's ``log``) and then holds for the input's ``hold`` seconds. Its
result depends only on ``rounds`` and the callback payloads (see
``callback_payload``), so ``expected_result`` states it independently of any run.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from trio_durable import DurableContext, durable_execution
from trio_durable.config import RetryStrategy, StepConfig, StepSemantics

AT_MOST_ONCE = StepConfig(
    semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
    # An interrupted attempt is retried; a crash can interrupt many in a row.
    retry_strategy=RetryStrategy(max_attempts=50, initial_delay=1, max_delay=1),
)


def callback_payload(name: str) -> str:
    """The JSON text the driver completes callback ``name`` with."""
    return f'{{"callback": "{name}", "value": {len(name) * 7}}}'


def add(a: int, b: int) -> int:
    return a + b


def double(a: int) -> int:
    return 2 * a


def record_attempt(log: str, label: str, value: int, hold: float, step_context: Any) -> int:
    """The at-most-once side effect: one line per attempt, written at once; then the
    step holds for ``hold`` seconds, a window in which a crash interrupts it."""
    line = f"{label} attempt={step_context.attempt}\n"
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    time.sleep(hold)
    return value * 3


async def child_body(ctx: DurableContext, i: int) -> int:
    doubled = await ctx.step(double, i, name="double")
    await ctx.wait(1, name="nap")
    result: int = await ctx.step(add, doubled, 1, name="inc")
    return result


@durable_execution
async def mixed(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    total = 0
    children: list[int] = []
    callbacks: list[Any] = []
    once: list[int] = []
    for i in range(event["rounds"]):
        total = await ctx.step(add, total, i, name=f"add-{i}")
        if i % 2 == 0:
            await ctx.wait(1, name=f"wait-{i}")
        children.append(await ctx.run_in_child_context(child_body, i, name=f"child-{i}"))
        callback = await ctx.create_callback(name=f"cb-{i}")
        callbacks.append(await callback.result())
        once.append(
            await ctx.step(
                record_attempt,
                event["log"],
                f"once-{i}",
                i,
                event.get("hold", 0.0),
                name=f"once-{i}",
                config=AT_MOST_ONCE,
            )
        )
    return {"total": total, "children": children, "callbacks": callbacks, "once": once}


def expected_result(rounds: int) -> dict[str, Any]:
    return {
        "total": sum(range(rounds)),
        "children": [2 * i + 1 for i in range(rounds)],
        "callbacks": [json.loads(callback_payload(f"cb-{i}")) for i in range(rounds)],
        "once": [3 * i for i in range(rounds)],
    }


def attempts_by_step(log: Path) -> dict[str, list[int]]:
    """The attempts the side-effect log recorded, by step label."""
    found: dict[str, list[int]] = {}
    if not log.exists():
        return found
    for line in log.read_text().splitlines():
        label, _, attempt = line.partition(" attempt=")
        found.setdefault(label, []).append(int(attempt))
    return found


@durable_execution
async def one_step(event: dict[str, Any], ctx: DurableContext) -> int:
    """The smallest workflow that checkpoints: one step (the flood suite's)."""
    result: int = await ctx.step(add, event["n"], 1, name="add")
    return result
