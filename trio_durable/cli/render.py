"""Turning history events into text: one line per event, clock offsets, the
commands that complete a callback, and JSON output."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

_PHASES = (
    "Started",
    "Succeeded",
    "Failed",
    "TimedOut",
    "Stopped",
    "Cancelled",
    "Completed",
    "Paused",
    "Resumed",
)
_KINDS = {
    "Execution": "execution",
    "Context": "child context",
    "Step": "step",
    "Wait": "wait",
    "Callback": "callback",
    "ChainedInvoke": "invoke",
    "Invocation": "invocation",
}


def _split_event_type(event_type: str) -> tuple[str, str]:
    for phase in _PHASES:
        if event_type.endswith(phase):
            kind = event_type[: -len(phase)]
            return _KINDS.get(kind, kind), phase.lower()
    return event_type, ""


def short(text: str, limit: int = 80) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_text(details: Mapping[str, Any]) -> str:
    error = (details.get("Error") or {}).get("Payload") or {}
    kind = error.get("ErrorType") or "Error"
    message = error.get("ErrorMessage")
    return f"{kind}: {short(message)}" if message else kind


def describe_event(event: Mapping[str, Any]) -> str:
    """One line saying what ``event`` means."""
    event_type: str = event.get("EventType", "?")
    kind, phase = _split_event_type(event_type)
    details: Mapping[str, Any] = event.get(f"{event_type}Details") or {}
    label = event.get("Name") or (event.get("Id") or "")[:12]
    head = f"{kind} {label!r} {phase}" if label else f"{kind} {phase}"
    extra = ""
    if event_type == "ExecutionStarted":
        payload = (details.get("Input") or {}).get("Payload")
        extra = f" with input {short(payload)}" if payload is not None else ""
    elif event_type == "InvocationCompleted":
        extra = f": crashed with {_error_text(details)}" if details.get("Error") else ""
    elif event_type == "WaitStarted":
        extra = f" for {details.get('Duration')} s"
    elif event_type == "CallbackStarted":
        extra = f", callback id {details.get('CallbackId')}"
    elif event_type in ("ExecutionPaused", "ExecutionResumed"):
        extra = _control_text(details)
    elif phase in ("succeeded", "completed"):
        payload = (details.get("Result") or {}).get("Payload")
        extra = f" -> {short(payload)}" if payload is not None else ""
    elif details.get("Error") is not None:
        extra = f": {_error_text(details)}"
    retry = details.get("RetryDetails") or {}
    if phase == "failed" and retry.get("NextAttemptDelaySeconds") is not None:
        extra += f" (attempt {retry.get('CurrentAttempt')}, retry in"
        extra += f" {retry['NextAttemptDelaySeconds']} s)"
    return head + extra


def _control_text(details: Mapping[str, Any]) -> str:
    """What a pause or resume request said: its reason, and a paused timeout."""
    reason = (details.get("Reason") or {}).get("Payload")
    extra = f": {short(reason)}" if reason else ""
    if details.get("ExecutionTimeoutPaused"):
        extra += " (execution timeout paused)"
    return extra


def clock_text(seconds: float) -> str:
    """An offset from an execution's start: ``HH:MM:SS.mmm`` (with days past 24 h)."""
    hours, rest = divmod(max(0.0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return f"{int(hours // 24)}d{int(hours % 24):02d}:{int(minutes):02d}:{secs:06.3f}"
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def callback_commands(callback_id: str, endpoint: str) -> list[str]:
    """The commands that complete a pending callback."""
    where = f" --endpoint {endpoint}"
    return [
        f"trio-durable callback succeed {callback_id} '<json result>'{where}",
        f"trio-durable callback fail {callback_id} --type T --message M{where}",
    ]


def json_default(value: Any) -> Any:
    """orjson's fallback for what boto3 returns: datetimes become epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError
