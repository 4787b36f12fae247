"""A human approval, completed from the command line.

In one terminal::

    trio-durable run examples/human_approval.py:handler --input '{"expense": 120}'

It prints the callback id and the command that completes it. In another::

    trio-durable callback succeed CALLBACK_ID '{"approved": true, "by": "ana"}'

or ``trio-durable callback fail CALLBACK_ID --type Rejected --message "too much"``.
Nobody answering within an hour times the callback out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from trio_durable import CallbackConfig, CallbackError, DurableContext, durable_execution


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    callback = await ctx.create_callback(
        name="manager-approval", config=CallbackConfig(timeout=timedelta(hours=1))
    )
    ctx.logger.info("approval needed for %s: callback %s", event, callback.callback_id)
    try:
        decision = await callback.result()
    except CallbackError as exc:
        return {"expense": event.get("expense"), "approved": False, "reason": exc.error_type}
    return {"expense": event.get("expense"), **decision}
