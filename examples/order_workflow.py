"""An order workflow: reserve stock, wait for approval, cool off, ship.

Run it locally (this is what ``python3 dev.py demo`` does)::

    python examples/order_workflow.py

It runs ``trio-durable run`` on this file's ``handler`` against the embedded local
service. The approval request goes to a simulated approver, an external system
that answers a second later through the service's HTTP API (boto3's
``send_durable_execution_callback_success``), as a real one would on AWS. The
one-hour cool-off is skipped by ``--skip-time``. Deployed to Lambda
(``examples/template.yaml``), the same ``handler`` runs unchanged.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta
from typing import Any

from trio_durable import (
    DurableContext,
    RetryPresets,
    StepContext,
    WaitForCallbackConfig,
    durable_execution,
)


def reserve_stock(sku: str, quantity: int, *, step_context: StepContext) -> dict[str, Any]:
    step_context.logger.info("reserving %d x %s", quantity, sku)
    return {"sku": sku, "quantity": quantity, "reservation_id": f"res-{sku}-{quantity}"}


def request_approval(callback_id: str, reservation: dict[str, Any]) -> None:
    """Send the approval request to the (simulated) approver, with the callback id."""
    threading.Thread(target=_approver, args=(callback_id, reservation), daemon=True).start()


def _approver(callback_id: str, reservation: dict[str, Any]) -> None:
    """An external system: approves a second later through the durable execution API."""
    import boto3  # the approver is a separate system with its own AWS client
    import orjson

    time.sleep(1.0)
    client = boto3.client("lambda")  # AWS_ENDPOINT_URL_LAMBDA points at the local service
    decision = {"approved": True, "by": "approver@example.com", "for": reservation["sku"]}
    client.send_durable_execution_callback_success(
        CallbackId=callback_id, Result=orjson.dumps(decision)
    )


async def ship(reservation: dict[str, Any]) -> str:
    return f"shipment-for-{reservation['reservation_id']}"


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    reservation = await ctx.step(reserve_stock, event["sku"], event["quantity"], name="reserve")
    approval = await ctx.wait_for_callback(
        request_approval,
        reservation,
        name="approval",
        config=WaitForCallbackConfig(timeout=timedelta(days=1), retry_strategy=RetryPresets.none()),
    )
    if not approval["approved"]:
        return {"status": "rejected", "reservation": reservation}
    await ctx.wait(timedelta(hours=1), name="cool-off")
    shipment = await ctx.step(ship, reservation, name="ship")
    ctx.logger.info("order shipped: %s", shipment)
    return {"status": "shipped", "shipment": shipment, "approval": approval}


if __name__ == "__main__":
    from trio_durable.cli import main

    sys.exit(
        main(
            [
                "run",
                f"{__file__}:handler",
                "--input",
                '{"sku": "book-42", "quantity": 2}',
                "--skip-time",
                "--function-name",
                "orders",
            ]
        )
    )
