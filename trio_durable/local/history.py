"""History events: ``HistoryEvent`` as the engine and the stores keep them, and their builders.

An event is kept as an exact tuple of strings, numbers and None (its details as
JSON text) and rendered to the botocore ``Event`` shape only when read. Such a
tuple is dropped from the garbage collector's tracking at its first collection,
so a long history costs the full collections nothing: as slotted records, the
two events of each step were a third of the collector's work in
``concurrent-executions-300`` (docs/performance.md, "Concurrency, round 6"); as
botocore dicts, a 10,000-step history took 9 MB. Every rendered event has
``EventType``, ``EventId``, ``EventTimestamp`` (epoch seconds) and its
``<EventType>Details`` key, present even when empty (the conformance validator
requires the key). Operation events also carry ``Id`` and, when the operation
has them, ``Name``, ``ParentId`` and ``SubType``. Payloads are never truncated
here, so ``Truncated`` is always false.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson

from trio_durable.wire import ErrorObject, Operation, error_to_wire

Event = dict[str, Any]
"""A history event in the botocore ``Event`` shape, JSON-ready."""

Details = Mapping[str, Any]
"""The body of an event's ``<EventType>Details``, as the builders below make it."""

NO_DETAILS: Details = MappingProxyType({})

HistoryEvent = tuple[str, int, float, str | None, str | None, str | None, str | None, str | None]
"""One event as kept: (``EventType``, ``EventId``, ``EventTimestamp``, the details
as JSON text or None when empty, ``Id``, ``Name``, ``ParentId``, ``SubType``).
Immutable, so the engine and a store can share it; read it with the functions
below."""


def new_event(
    event_type: str,
    event_id: int,
    timestamp: float,
    details: Details,
    op_id: str | None = None,
    name: str | None = None,
    parent_id: str | None = None,
    sub_type: str | None = None,
) -> HistoryEvent:
    """An event; ``TypeError`` when ``details`` is not JSON-ready."""
    return (
        event_type,
        event_id,
        timestamp,
        _details_text(details),
        op_id,
        name,
        parent_id,
        sub_type,
    )


def event_type(ev: HistoryEvent) -> str:
    return ev[0]


def event_id(ev: HistoryEvent) -> int:
    return ev[1]


def to_wire(ev: HistoryEvent) -> Event:
    """``ev`` rendered (a fresh dict each time, so a caller cannot change what is kept)."""
    kind, number, timestamp, details, op_id, name, parent_id, sub_type = ev
    out: Event = {
        "EventType": kind,
        "EventId": number,
        "EventTimestamp": timestamp,
        f"{kind}Details": {} if details is None else orjson.loads(details),
    }
    if op_id is not None:
        out["Id"] = op_id
    if name is not None:
        out["Name"] = name
    if parent_id is not None:
        out["ParentId"] = parent_id
    if sub_type is not None:
        out["SubType"] = sub_type
    return out


def from_wire(event: Mapping[str, Any]) -> HistoryEvent:
    """The event that ``to_wire`` rendered as ``event``."""
    kind = event["EventType"]
    return new_event(
        kind,
        event["EventId"],
        event["EventTimestamp"],
        event.get(f"{kind}Details") or NO_DETAILS,
        event.get("Id"),
        event.get("Name"),
        event.get("ParentId"),
        event.get("SubType"),
    )


def _details_text(details: Details) -> str | None:
    if not details:
        return None
    try:
        return orjson.dumps(details).decode()
    except orjson.JSONEncodeError as exc:
        raise TypeError(f"event details are not JSON-ready: {exc}") from None


def event(event_type: str, event_id: int, timestamp: float, details: Details) -> HistoryEvent:
    """An event that belongs to no operation (execution and invocation events)."""
    return new_event(event_type, event_id, timestamp, details)


def operation_event(
    event_type: str, event_id: int, timestamp: float, op: Operation, details: Details
) -> HistoryEvent:
    """An event about ``op``: names it with Id, Name, ParentId and SubType."""
    return new_event(
        event_type, event_id, timestamp, details, op.id, op.name, op.parent_id, op.sub_type
    )


def payload(value: str | None) -> Details:
    """``EventInput`` / ``EventResult``: the payload text, if any."""
    out: dict[str, Any] = {"Truncated": False}
    if value is not None:
        out["Payload"] = value
    return out


def error(value: ErrorObject | None) -> Details:
    """``EventError``: the error object, if any."""
    out: dict[str, Any] = {"Truncated": False}
    if value is not None:
        out["Payload"] = error_to_wire(value)
    return out


def retry_details(attempt: int, next_delay: int | None = None) -> Details:
    """``RetryDetails``."""
    out: dict[str, Any] = {"CurrentAttempt": attempt}
    if next_delay is not None:
        out["NextAttemptDelaySeconds"] = next_delay
    return out


def execution_started(
    event_id: int, timestamp: float, op: Operation, input_payload: str | None, timeout: int
) -> HistoryEvent:
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
    details: dict[str, Any] = {
        "StartTimestamp": start,
        "EndTimestamp": end,
        "RequestId": request_id,
    }
    if failure is not None:
        details["Error"] = error(failure)
    return details


def execution_paused(request_timestamp: float, reason: str | None, timeout_paused: bool) -> Details:
    """``ExecutionPausedDetails``; ``Reason`` only when the request gave one."""
    details: dict[str, Any] = {
        "PauseRequestTimestamp": request_timestamp,
        "ExecutionTimeoutPaused": timeout_paused,
    }
    if reason is not None:
        details["Reason"] = payload(reason)
    return details


def execution_resumed(request_timestamp: float, reason: str | None) -> Details:
    """``ExecutionResumedDetails``; ``Reason`` only when the request gave one."""
    details: dict[str, Any] = {"ResumeRequestTimestamp": request_timestamp}
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
