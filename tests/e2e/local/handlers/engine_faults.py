"""Handlers of the engine's reliability tests against a real ``serve``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from trio_durable import DurableContext, durable_execution


def _slow_double(value: int) -> int:
    time.sleep(3)
    return value * 2


@durable_execution
async def slow_step(event: dict[str, Any], ctx: DurableContext) -> int:
    """One step that takes three seconds (in a worker thread): longer than the
    restart test lets a service run, so no step ends before the last restart."""
    result: int = await ctx.step(_slow_double, int(event["n"]), name="double")
    return result


def holder(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A plain Lambda handler that hands its event to the test (``event.json`` in
    the folder its input names) and holds the invocation open until the test
    writes ``release`` there."""
    folder = Path(json.loads(_input(event))["dir"])
    (folder / "event.json").write_text(json.dumps(event))
    deadline = time.monotonic() + 60
    while not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"Status": "SUCCEEDED", "Result": '"released"'}


def _input(event: dict[str, Any]) -> str:
    [execution] = [
        op for op in event["InitialExecutionState"]["Operations"] if op["Type"] == "EXECUTION"
    ]
    payload: str = execution["ExecutionDetails"]["InputPayload"]
    return payload
