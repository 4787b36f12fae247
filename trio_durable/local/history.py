"""History events: ``HistoryEvent`` as the engine keeps them, and their builders.

An event is kept compact (a slotted record; empty and repeated details shared)
and rendered to the botocore ``Event`` shape only when read: a 10,000-step
history held as botocore dicts took 9 MB. Every rendered event has
``EventType``, ``EventId``, ``EventTimestamp`` (epoch seconds) and its
``<EventType>Details`` key, present even when empty (the conformance validator
requires the key). Operation events also carry ``Id`` and, when the operation
has them, ``Name``, ``ParentId`` and ``SubType``. Payloads are never truncated
here, so ``Truncated`` is always false.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from trio_durable.records import quick_init
from trio_durable.wire import ErrorObject, Operation, error_to_wire

Event = dict[str, Any]
"""A history event in the botocore ``Event`` shape, JSON-ready."""

Details = Mapping[str, Any]
"""The body of an event's ``<EventType>Details``; kept read-only once recorded."""

NO_DETAILS: Details = MappingProxyType({})


@quick_init
@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One history event; ``to_wire`` renders it (a fresh dict each time, so a
    caller cannot change what is recorded)."""

    event_type: str
    event_id: int
    timestamp: float
    details: Details
    op_id: str | None = None
    name: str | None = None
    parent_id: str | None = None
    sub_type: str | None = None

    def to_wire(self) -> Event:
        out: Event = {
            "EventType": self.event_type,
            "EventId": self.event_id,
            "EventTimestamp": self.timestamp,
            f"{self.event_type}Details": _thaw(self.details),
        }
        if self.op_id is not None:
            out["Id"] = self.op_id
        if self.name is not None:
            out["Name"] = self.name
        if self.parent_id is not None:
            out["ParentId"] = self.parent_id
        if self.sub_type is not None:
            out["SubType"] = self.sub_type
        return out

    @classmethod
    def from_wire(cls, event: Mapping[str, Any]) -> HistoryEvent:
        """The event that ``to_wire`` rendered as ``event``."""
        event_type = event["EventType"]
        details = event.get(f"{event_type}Details")
        return cls(
            event_type,
            event["EventId"],
            event["EventTimestamp"],
            details if details else NO_DETAILS,
            event.get("Id"),
            event.get("Name"),
            event.get("ParentId"),
            event.get("SubType"),
        )


def _thaw(value: Any) -> Any:
    """A deep copy of a details value with every mapping as a plain dict."""
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_thaw(item) for item in value]
    return value


def event(event_type: str, event_id: int, timestamp: float, details: Details) -> HistoryEvent:
    """An event that belongs to no operation (execution and invocation events)."""
    return HistoryEvent(event_type, event_id, timestamp, details or NO_DETAILS)


def operation_event(
    event_type: str, event_id: int, timestamp: float, op: Operation, details: Details
) -> HistoryEvent:
    """An event about ``op``: names it with Id, Name, ParentId and SubType."""
    return HistoryEvent(
        event_type,
        event_id,
        timestamp,
        details or NO_DETAILS,
        op.id,
        op.name,
        op.parent_id,
        op.sub_type,
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


@lru_cache(maxsize=256)
def retry_details(attempt: int, next_delay: int | None = None) -> Details:
    """``RetryDetails``; shared between events (most steps end at attempt 1)."""
    out = {"CurrentAttempt": attempt}
    if next_delay is not None:
        out["NextAttemptDelaySeconds"] = next_delay
    return MappingProxyType(out)


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
