"""A step with durable retries.

    trio-durable run examples/retries.py:handler --input '{"order": 7}' --skip-time

``charge_card`` fails its first two attempts. Between attempts the function
suspends (the service re-invokes it when the retry delay has passed), so a long
back-off costs no compute; ``--skip-time`` skips the delays locally.
"""

from __future__ import annotations

from typing import Any

from trio_durable import (
    DurableContext,
    Jitter,
    RetryStrategy,
    StepConfig,
    StepContext,
    durable_execution,
)


class PaymentGatewayBusy(Exception):
    """A transient failure worth retrying."""


def charge_card(order: int, *, step_context: StepContext) -> dict[str, Any]:
    if step_context.attempt < 3:
        step_context.logger.warning("gateway busy (attempt %d)", step_context.attempt)
        raise PaymentGatewayBusy(f"order {order}: gateway busy")
    return {"order": order, "charged_on_attempt": step_context.attempt}


RETRY = RetryStrategy(
    max_attempts=5,
    initial_delay=10,
    backoff_rate=3,
    max_delay=120,
    jitter=Jitter.NONE,
    retry_on=(PaymentGatewayBusy,),
)


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    return await ctx.step(
        charge_card, event["order"], name="charge", config=StepConfig(retry_strategy=RETRY)
    )
