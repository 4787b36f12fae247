"""Trace and span ids on ``ctx.logger`` records.

A filter on the workflow logger sets ``otelTraceID``, ``otelSpanID`` and
``otelTraceSampled`` (the names OpenTelemetry's logging instrumentation uses, so
``%(otelTraceID)s`` works in a format) on every record that names an execution a
view is tracing: the span of the record's step attempt or operation when there
is one, else the invocation's span.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Protocol

from opentelemetry.trace import SpanContext

from trio_durable.runtime.logger import WORKFLOW_LOGGER

_lock = threading.Lock()


class TracedInvocations(Protocol):
    """What the filter asks a view: the span a record of ``execution_arn`` (and of
    ``operation_id``, if any) belongs to, or ``None`` when the view is not tracing it."""

    def span_context_for(
        self, execution_arn: str, operation_id: str | None
    ) -> SpanContext | None: ...


class TraceIdsFilter(logging.Filter):
    """Adds the current span's ids to workflow log records (never drops one)."""

    def __init__(self) -> None:
        super().__init__()
        self.views: weakref.WeakSet[TracedInvocations] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        arn = getattr(record, "execution_arn", None)
        if not isinstance(arn, str):
            return True
        op_id = getattr(record, "operation_id", None)
        for view in list(self.views):
            context = view.span_context_for(arn, op_id if isinstance(op_id, str) else None)
            if context is None:
                continue
            record.otelTraceID = f"{context.trace_id:032x}"
            record.otelSpanID = f"{context.span_id:016x}"
            record.otelTraceSampled = context.trace_flags.sampled
            break
        return True


def install_log_correlation(view: TracedInvocations) -> None:
    """Let the workflow logger's filter find ``view``'s invocations (installed once)."""
    with _lock:
        found = next((f for f in WORKFLOW_LOGGER.filters if isinstance(f, TraceIdsFilter)), None)
        if found is None:
            found = TraceIdsFilter()
            WORKFLOW_LOGGER.addFilter(found)
        found.views.add(view)
