"""What the read-only API calls answer, rendered from the records:
``GetDurableExecution``, one page of ``GetDurableExecutionHistory``, the filter
and summaries of ``ListDurableExecutionsByFunction``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trio_durable.errors import invalid_parameter
from trio_durable.local import history
from trio_durable.local.engine.staging import PAUSED, PAUSING, status_of, timeout_paused
from trio_durable.local.history import HistoryEvent
from trio_durable.local.store import ExecutionRecord, PauseState
from trio_durable.local.validation import MAX_PAGE_ITEMS, offset_marker, page_limit
from trio_durable.wire import ExecutionStatus, error_to_wire, trace_header_to_wire

STATUS_NAMES = frozenset({*(s.value for s in ExecutionStatus), PAUSING, PAUSED, "DELETING"})
"""Every status the API knows (``DELETING`` never shows: deletion is immediate)."""
_PAUSED_TIMEOUT_SECONDS = 366 * 86_400
"""While the execution timeout is paused, the expected timeout is this long after
the start (the longest execution timeout)."""


def describe(rec: ExecutionRecord, function_arn: str, *, with_data: bool) -> dict[str, Any]:
    """``GetDurableExecution`` output (JSON-ready, timestamps in epoch seconds)."""
    out: dict[str, Any] = {
        "DurableExecutionArn": rec.arn,
        "DurableExecutionName": rec.name,
        "FunctionArn": function_arn,
        "StartTimestamp": rec.start_timestamp,
        "Status": status_of(rec),
        "Version": "$LATEST",
        "DurableConfig": {"ExecutionTimeout": rec.timeout_seconds},
    }
    expected = _expected_timeout(rec)
    if expected is not None:
        out["ExpectedExecutionTimeoutTimestamp"] = expected
    if rec.pause is not None:
        out["PauseDetails"] = _pause_details(rec.pause, with_reason=with_data)
    if rec.end_timestamp is not None:
        out["EndTimestamp"] = rec.end_timestamp
    if rec.error is not None:
        out["Error"] = error_to_wire(rec.error)
    if rec.trace_header is not None:
        out["TraceHeader"] = trace_header_to_wire(rec.trace_header)
    if with_data:
        out["ExecutionDataIncluded"] = True
        if rec.input_payload is not None:
            out["InputPayload"] = rec.input_payload
        if rec.result is not None:
            out["Result"] = rec.result
    return out


def history_page(
    events: Sequence[HistoryEvent],
    *,
    with_data: bool,
    max_items: int | None,
    marker: str | None,
    reverse_order: bool,
) -> dict[str, Any]:
    """``GetDurableExecutionHistory`` output: one page of events."""
    limit = page_limit(max_items, MAX_PAGE_ITEMS)
    start = offset_marker(marker, len(events))
    if reverse_order:
        stop = len(events) - start
        chosen = events[max(0, stop - limit) : stop][::-1]
    else:
        chosen = events[start : start + limit]
    page = [history.to_wire(ev) for ev in chosen]
    if not with_data:
        page = [history.strip_payloads(ev) for ev in page]
    out: dict[str, Any] = {"Events": page}
    if start + len(page) < len(events):
        out["NextMarker"] = str(start + len(page))
    return out


def check_statuses(statuses: Sequence[str] | None) -> set[str] | None:
    """The statuses a listing asks for (None: all), refused when one is unknown."""
    if not statuses:
        return None
    wanted = set(statuses)
    if not wanted <= STATUS_NAMES:
        raise invalid_parameter(f"Statuses: {list(statuses)!r} holds an unknown execution status")
    return wanted


def matches(
    rec: ExecutionRecord,
    wanted: set[str] | None,
    started_after: float | None,
    started_before: float | None,
    execution_name: str | None,
) -> bool:
    """Whether a listing with these filters shows ``rec``."""
    if wanted is not None and status_of(rec) not in wanted:
        return False
    if started_after is not None and rec.start_timestamp < started_after:
        return False
    if started_before is not None and rec.start_timestamp > started_before:
        return False
    return execution_name is None or rec.name == execution_name


def summary(rec: ExecutionRecord, function_arn: str) -> dict[str, Any]:
    """One execution of a ``ListDurableExecutionsByFunction`` page."""
    out: dict[str, Any] = {
        "DurableExecutionArn": rec.arn,
        "DurableExecutionName": rec.name,
        "FunctionArn": function_arn,
        "Status": status_of(rec),
        "StartTimestamp": rec.start_timestamp,
    }
    if rec.end_timestamp is not None:
        out["EndTimestamp"] = rec.end_timestamp
    return out


def _expected_timeout(rec: ExecutionRecord) -> float | None:
    """``ExpectedExecutionTimeoutTimestamp``: none once the execution ended."""
    if rec.status is not ExecutionStatus.RUNNING:
        return None
    if timeout_paused(rec):
        return rec.start_timestamp + _PAUSED_TIMEOUT_SECONDS
    return rec.deadline


def _pause_details(pause: PauseState, *, with_reason: bool) -> dict[str, Any]:
    """``PauseDetails``; its ``Reason`` is execution data, shown only when asked for."""
    out: dict[str, Any] = {
        "PauseRequestTimestamp": pause.request_timestamp,
        "ExecutionTimeoutPaused": pause.timeout_paused,
    }
    if with_reason and pause.reason is not None:
        out["Reason"] = pause.reason
    return out
