"""The OpenTelemetry side of the plugins: a tracer whose spans get the ids we choose.

``SpanMaker.span`` starts one span with explicit ids, times, parent and links. The
ids go through an id generator installed on the plugin's own tracer (one per
instrumentation scope, so other instrumentation keeps its generator): it hands
out a chosen span id while ``SpanMaker`` asks for one, and otherwise defers to
the generator it wraps. The trace id always comes from the parent, which is
never absent: the execution's ancestor (passed in a trace header, or derived).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

_install_lock = threading.Lock()


class ChosenIdGenerator(IdGenerator):
    """Returns the span id chosen for the span being started, else the wrapped one's."""

    def __init__(self, fallback: IdGenerator) -> None:
        self._fallback = fallback
        self._chosen: contextvars.ContextVar[int | None] = contextvars.ContextVar(
            "trio_durable_otel_span_id", default=None
        )

    def generate_span_id(self) -> int:
        chosen = self._chosen.get()
        if chosen is not None:
            self._chosen.set(None)
            return chosen
        return self._fallback.generate_span_id()

    def generate_trace_id(self) -> int:
        return self._fallback.generate_trace_id()

    def choose(self, span_id: int | None) -> contextvars.Token[int | None]:
        return self._chosen.set(span_id)

    def release(self, token: contextvars.Token[int | None]) -> None:
        self._chosen.reset(token)


def now_ns() -> int:
    return time.time_ns()


def epoch_seconds(value: float | datetime | None) -> float | None:
    """A timestamp of a hook's info (epoch seconds, or an aware datetime) in seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    return value


def seconds_to_ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


def remote_context(trace_id: int, span_id: int, sampled: bool) -> SpanContext:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)


class SpanMaker:
    """Starts spans with chosen ids on one tracer."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer
        self._ids: ChosenIdGenerator | None = None
        if isinstance(tracer, SdkTracer):
            with _install_lock:
                current = tracer.id_generator
                if not isinstance(current, ChosenIdGenerator):
                    current = ChosenIdGenerator(current or RandomIdGenerator())
                    tracer.id_generator = current
                self._ids = current

    def span(
        self,
        name: str,
        *,
        parent: SpanContext,
        attributes: Mapping[str, Any],
        start_ns: int,
        span_id: int | None = None,
        links: Sequence[SpanContext] = (),
    ) -> Span:
        """A started span under ``parent`` (with ``span_id`` when given)."""
        context = trace.set_span_in_context(NonRecordingSpan(parent))
        token = self._ids.choose(span_id) if self._ids is not None else None
        try:
            return self.tracer.start_span(
                name,
                context=context,
                kind=SpanKind.INTERNAL,
                attributes=dict(attributes),
                links=[Link(link) for link in links],
                start_time=start_ns,
            )
        finally:
            if token is not None and self._ids is not None:
                self._ids.release(token)


def finish(
    span: Span,
    *,
    status: StatusCode,
    end_ns: int,
    attributes: Mapping[str, Any] | None = None,
) -> None:
    """Set ``attributes`` and ``status`` (OK, ERROR or UNSET), and end ``span`` at ``end_ns``."""
    if attributes:
        span.set_attributes(dict(attributes))
    if status is not StatusCode.UNSET:
        span.set_status(Status(status))
    span.end(end_time=end_ns)
