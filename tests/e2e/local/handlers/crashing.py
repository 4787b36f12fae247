"""Plain Lambda handlers (no SDK, so their workers start fast) that crash in various ways."""

from __future__ import annotations

import os
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
