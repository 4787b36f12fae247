"""Turning what the service answers into text: one line per history event,
clock offsets, times in UTC, the commands that complete a callback, and JSON
output (the one ``print_json``: indented, timestamps as ISO 8601 in UTC)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

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

_SUB_KINDS = {
    "Map": "map",
    "MapIteration": "map item",
    "Parallel": "parallel",
    "ParallelBranch": "parallel branch",
    "WaitForCallback": "wait for callback",
    "WaitForCondition": "wait for condition",
}
"""Operations known better by their SubType than by their type."""


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
    kind = _SUB_KINDS.get(event.get("SubType") or "", kind)
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


def function_of(arn: str) -> str:
    """The function's name in a function or execution ARN."""
    return arn.split(":function:")[-1].split(":")[0]


def utc_text(when: datetime | float, *, milliseconds: bool = False) -> str:
    """A time as ``2026-01-31 18:04:05 UTC`` (``18:04:05.123`` with
    ``milliseconds``); a float is epoch seconds."""
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, UTC)
    text = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"{text[:-3] if milliseconds else text[:-7]} UTC"


def duration_text(seconds: float) -> str:
    """A duration for people: ``850 ms``, ``12.3 s``, ``4m05s``, ``3h02m``, ``2d04h``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout; datetimes (boto3's timestamps) become
    ISO 8601 text in UTC, ``2026-01-31T18:04:05.123000+00:00``."""
    text = orjson.dumps(
        data, default=_json_default, option=orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME
    )
    print(text.decode(), flush=True)


def iso_utc(when: datetime | float) -> str:
    """A time as ISO 8601 text in UTC; a float is epoch seconds."""
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, UTC)
    return when.astimezone(UTC).isoformat()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    raise TypeError
