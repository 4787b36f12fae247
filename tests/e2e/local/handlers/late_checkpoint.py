"""A plain Lambda handler (boto3 over HTTP, no SDK) that outlives its invocation
and then checkpoints with the token that invocation was given."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError


def outlives_its_invocation(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The first time: note the token, wait until ``release`` exists (long past the
    invocation's timeout), checkpoint a step START with the old token and note the
    answer in ``outcome``. Later times: succeed."""
    [execution] = [
        op for op in event["InitialExecutionState"]["Operations"] if op["Type"] == "EXECUTION"
    ]
    folder = Path(json.loads(execution["ExecutionDetails"]["InputPayload"])["folder"])
    if (folder / "token").exists():
        return {"Status": "SUCCEEDED", "Result": '"done"'}
    token = event["CheckpointToken"]
    (folder / "token").write_text(token)
    deadline = time.monotonic() + 120
    while not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    client = boto3.client("lambda")
    try:
        client.checkpoint_durable_execution(
            DurableExecutionArn=event["DurableExecutionArn"],
            CheckpointToken=token,
            Updates=[{"Id": "late-step", "Type": "STEP", "Action": "START", "Name": "late"}],
        )
        outcome = "accepted"
    except ClientError as exc:
        outcome = f"{exc.response['Error']['Code']}: {exc.response['Error']['Message']}"
    (folder / "outcome").write_text(outcome)
    return {"Status": "PENDING"}
