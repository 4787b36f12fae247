"""Plain Lambda handlers (no SDK, so their workers start fast) that crash in various ways."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def exits_once(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Kills its process the first time (marker file absent), then succeeds."""
    operations = event["InitialExecutionState"]["Operations"]
    marker = Path(_input(operations)["marker"])
    if not marker.exists():
        marker.write_text("crashed once")
        os._exit(3)
    return {"Status": "SUCCEEDED", "Result": '"recovered"'}


def hangs_once(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Outlives its invocation timeout the first time (marker file absent), then
    succeeds; each time it notes the time its context says it has left."""
    marker = Path(_input(event["InitialExecutionState"]["Operations"])["marker"])
    first = not marker.exists()
    with marker.open("a") as notes:
        notes.write(f"{context.get_remaining_time_in_millis()}\n")
    if first:
        time.sleep(60)
    return {"Status": "SUCCEEDED", "Result": '"in time"'}


def always_raises(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Never gets as far as answering."""
    raise ConnectionError("database unreachable")


def answers_nonsense(event: dict[str, Any], context: Any) -> Any:
    return ["not", "an", "answer"]


def _input(operations: list[dict[str, Any]]) -> dict[str, Any]:
    import json

    [execution] = [op for op in operations if op["Type"] == "EXECUTION"]
    loaded: dict[str, Any] = json.loads(execution["ExecutionDetails"]["InputPayload"])
    return loaded


def sleeps(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sleeps for the input's ``seconds``, then succeeds with the time it had left."""
    seconds = _input(event["InitialExecutionState"]["Operations"])["seconds"]
    time.sleep(seconds)
    return {"Status": "SUCCEEDED", "Result": str(context.get_remaining_time_in_millis())}
