"""Routing of the HTTP API (sans-IO): the botocore operation a method and path
name, and the largest body each may carry.

A JSON body carries payloads as escaped strings, so its bound leaves room for
escaping; the engine enforces the exact payload limits.
"""

from __future__ import annotations

from trio_durable import wire

_KIB = 1024
_MIB = 1024 * _KIB
_JSON_BODY_LIMIT = 1 * _MIB
_CHECKPOINT_BODY_LIMIT = 2 * wire.MAX_LAMBDA_RESPONSE_BYTES + 64 * _KIB
_SYNC_INVOKE_LIMIT = wire.MAX_LAMBDA_RESPONSE_BYTES
ASYNC_INVOKE_LIMIT = 1 * _MIB
"""The body bound of an ``Event`` Invoke (a header, not the path, says which)."""

_EXECUTION_ACTIONS: dict[tuple[str, str], tuple[str, int]] = {
    ("GET", "state"): ("GetDurableExecutionState", 0),
    ("GET", "history"): ("GetDurableExecutionHistory", 0),
    ("POST", "checkpoint"): ("CheckpointDurableExecution", _CHECKPOINT_BODY_LIMIT),
    ("POST", "stop"): ("StopDurableExecution", _JSON_BODY_LIMIT),
    ("POST", "pause"): ("PauseDurableExecution", _JSON_BODY_LIMIT),
    ("POST", "resume"): ("ResumeDurableExecution", _JSON_BODY_LIMIT),
}
_CALLBACK_ACTIONS: dict[str, tuple[str, int]] = {
    "succeed": ("SendDurableExecutionCallbackSuccess", wire.MAX_OPERATION_PAYLOAD_BYTES),
    "fail": ("SendDurableExecutionCallbackFailure", _JSON_BODY_LIMIT),
    "heartbeat": ("SendDurableExecutionCallbackHeartbeat", _JSON_BODY_LIMIT),
}


def route(method: str, labels: tuple[str, ...]) -> tuple[str, int] | None:
    """The botocore operation name and body bound for a request, or None."""
    match labels:
        case ("2015-03-31", "functions", str(), "invocations") if method == "POST":
            return "Invoke", _SYNC_INVOKE_LIMIT
        case ("2025-12-01", "functions", str(), "durable-executions") if method == "GET":
            return "ListDurableExecutionsByFunction", 0
        case ("2025-12-01", "durable-executions", str()):
            if method == "GET":
                return "GetDurableExecution", 0
            if method == "DELETE":
                return "DeleteDurableExecution", 0
        case ("2025-12-01", "durable-executions", str(), str(action)):
            return _EXECUTION_ACTIONS.get((method, action))
        case ("2025-12-01", "durable-execution-callbacks", str(), str(action)) if method == "POST":
            return _CALLBACK_ACTIONS.get(action)
        case ("",) | ("console", str()) if method == "GET":
            return "ConsoleFile", 0
        case ("local", "functions") if method == "GET":
            return "LocalListFunctions", 0
        case ("local", "executions") if method == "GET":
            return "LocalListExecutions", 0
        case ("local", "executions", str(), "logs") if method == "GET":
            return "LocalGetExecutionLogs", 0
    return None
