"""Builders for history events: JSON-ready, botocore-shaped ``Event`` dicts.

Every event has ``EventType``, ``EventId``, ``EventTimestamp`` (epoch seconds)
and its ``<EventType>Details`` key, present even when empty (the conformance
validator requires the key). Operation events also carry ``Id`` and, when the
operation has them, ``Name``, ``ParentId`` and ``SubType``. Payloads are never
truncated here, so ``Truncated`` is always false.
"""

from __future__ import annotations

from typing import Any

from trio_durable.local.store import Event
from trio_durable.wire import ErrorObject, Operation, error_to_wire

Details = dict[str, Any]


def event(event_type: str, event_id: int, timestamp: float, details: Details) -> Event:
    """An event that belongs to no operation (execution and invocation events)."""
    return {
        "EventType": event_type,
        "EventId": event_id,
        "EventTimestamp": timestamp,
        f"{event_type}Details": details,
    }


def operation_event(
    event_type: str, event_id: int, timestamp: float, op: Operation, details: Details
) -> Event:
    """An event about ``op``: names it with Id, Name, ParentId and SubType."""
    out = event(event_type, event_id, timestamp, details)
    out["Id"] = op.id
    if op.name is not None:
        out["Name"] = op.name
    if op.parent_id is not None:
        out["ParentId"] = op.parent_id
    if op.sub_type is not None:
        out["SubType"] = op.sub_type
    return out


def payload(value: str | None) -> Details:
    """``EventInput`` / ``EventResult``: the payload text, if any."""
    out: Details = {"Truncated": False}
    if value is not None:
        out["Payload"] = value
    return out


def error(value: ErrorObject | None) -> Details:
    """``EventError``: the error object, if any."""
    out: Details = {"Truncated": False}
    if value is not None:
        out["Payload"] = error_to_wire(value)
    return out


def retry_details(attempt: int, next_delay: int | None = None) -> Details:
    out: Details = {"CurrentAttempt": attempt}
    if next_delay is not None:
        out["NextAttemptDelaySeconds"] = next_delay
    return out


def execution_started(
    event_id: int, timestamp: float, op: Operation, input_payload: str | None, timeout: int
) -> Event:
    """The first event: ``Id`` is the EXECUTION operation, ``Name`` the execution name."""
    return operation_event(
        "ExecutionStarted",
        event_id,
        timestamp,
        op,
        {"Input": payload(input_payload), "ExecutionTimeout": timeout},
    )


def invocation_details(
    start: float, end: float, request_id: str, failure: ErrorObject | None
) -> Details:
    """``InvocationCompletedDetails``; ``Error`` only when the invocation crashed."""
    details: Details = {"StartTimestamp": start, "EndTimestamp": end, "RequestId": request_id}
    if failure is not None:
        details["Error"] = error(failure)
    return details


def execution_paused(request_timestamp: float, reason: str | None, timeout_paused: bool) -> Details:
    """``ExecutionPausedDetails``; ``Reason`` only when the request gave one."""
    details: Details = {
        "PauseRequestTimestamp": request_timestamp,
        "ExecutionTimeoutPaused": timeout_paused,
    }
    if reason is not None:
        details["Reason"] = payload(reason)
    return details


def execution_resumed(request_timestamp: float, reason: str | None) -> Details:
    """``ExecutionResumedDetails``; ``Reason`` only when the request gave one."""
    details: Details = {"ResumeRequestTimestamp": request_timestamp}
    if reason is not None:
        details["Reason"] = payload(reason)
    return details


def strip_payloads(ev: Event) -> Event:
    """A copy of ``ev`` without execution data (payloads and error objects), for
    ``IncludeExecutionData=false``; ``ev`` itself is returned when it holds none."""
    details_key = f"{ev['EventType']}Details"
    details = ev.get(details_key)
    if not isinstance(details, dict) or not any(
        isinstance(v, dict) and "Payload" in v for v in details.values()
    ):
        return ev
    stripped = {
        key: (
            {k: v for k, v in value.items() if k != "Payload"} if isinstance(value, dict) else value
        )
        for key, value in details.items()
    }
    return {**ev, details_key: stripped}
