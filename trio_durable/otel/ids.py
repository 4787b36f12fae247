"""Trace and span ids derived from an execution, and the trace headers they travel in.

Sans-IO. Every invocation of one execution derives the same trace id (from the
execution ARN and its start time, or from the parent the service passed) and the
same span ids for the Workflow span and for each operation, so spans exported by
different invocations, even different processes, join one trace and can link to
each other without storing any telemetry state in the execution.

Headers: the X-Ray header (``Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=1``),
which Lambda hands a function in ``_X_AMZN_TRACE_ID`` and a chained invoke carries
in ``ChainedInvokeOptions.XAmznTraceId``; and W3C ``traceparent``
(``00-<32 hex>-<16 hex>-<2 hex flags>``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

_MAX_TRACE_ID = 2**128
_MAX_SPAN_ID = 2**64


@dataclass(frozen=True, slots=True)
class RemoteParent:
    """A parent taken from a trace header: ``trace_id`` and ``span_id`` are ``None``
    when the header lacked a valid one; ``sampled`` is ``None`` when it did not say."""

    trace_id: int | None
    span_id: int | None
    sampled: bool | None = None

    @property
    def complete(self) -> bool:
        """Both ids are there: the execution's spans hang under this parent."""
        return self.trace_id is not None and self.span_id is not None


def _digest(text: str, hex_digits: int) -> int:
    return int(hashlib.blake2b(text.encode()).hexdigest()[:hex_digits], 16)


def execution_trace_id(execution_arn: str, start_time: float) -> int:
    """The execution's own trace id: its start second (8 hex digits, as X-Ray asks)
    followed by 24 hex digits of a hash of its ARN."""
    high = int(start_time) & 0xFFFFFFFF
    return (high << 96) | (_digest(execution_arn, 24) or 1)


def workflow_span_id(execution_arn: str) -> int:
    """The span id of the execution's Workflow span (one per execution)."""
    return _digest(f"workflow:{execution_arn}", 16) or 1


def execution_root_span_id(execution_arn: str) -> int:
    """The span id of the execution's ancestor when no parent was passed to it."""
    return _digest(f"execution-root:{execution_arn}", 16) or 1


def operation_span_id(execution_arn: str, operation_id: str) -> int:
    """The span id of an operation's first span (its only one in the execution view)."""
    return _digest(f"{execution_arn}:{operation_id}", 16) or 1


def parse_xray(header: str | None) -> RemoteParent | None:
    """The parent an X-Ray trace header names, or ``None`` when it names nothing usable."""
    if not header:
        return None
    parts: dict[str, str] = {}
    for segment in header.split(";"):
        key, sep, value = segment.partition("=")
        if sep:
            parts[key.strip()] = value.strip()
    trace_id = None
    root = parts.get("Root", "").split("-")
    if len(root) == 3 and root[0] == "1" and len(root[1]) == 8 and len(root[2]) == 24:
        trace_id = _hex_id(root[1] + root[2], _MAX_TRACE_ID)
    span_id = _hex_id(parts.get("Parent", ""), _MAX_SPAN_ID, digits=16)
    sampled = {"1": True, "0": False}.get(parts.get("Sampled", ""))
    if trace_id is None and span_id is None and sampled is None:
        return None
    return RemoteParent(trace_id, span_id, sampled)


def format_xray(trace_id: int, span_id: int, sampled: bool) -> str:
    """The X-Ray header naming span ``span_id`` of trace ``trace_id`` as the parent."""
    text = f"{trace_id:032x}"
    return f"Root=1-{text[:8]}-{text[8:]};Parent={span_id:016x};Sampled={int(sampled)}"


def parse_traceparent(header: str | None) -> RemoteParent | None:
    """The parent a W3C ``traceparent`` header names (version 00), or ``None``."""
    if not header:
        return None
    parts = header.strip().split("-")
    if len(parts) < 4 or parts[0] != "00" or len(parts[1]) != 32 or len(parts[3]) != 2:
        return None
    trace_id = _hex_id(parts[1], _MAX_TRACE_ID)
    span_id = _hex_id(parts[2], _MAX_SPAN_ID, digits=16)
    try:
        flags = int(parts[3], 16)
    except ValueError:
        return None
    if trace_id is None or span_id is None:
        return None
    return RemoteParent(trace_id, span_id, bool(flags & 1))


def _hex_id(text: str, limit: int, *, digits: int | None = None) -> int | None:
    if digits is not None and len(text) != digits:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return value if 0 < value < limit else None
