"""``OtelConfig``: what both tracing views are configured with, and the parent extractors."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trio_durable.otel.ids import RemoteParent, parse_traceparent, parse_xray
from trio_durable.plugins import InvocationInfo

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

Extractor = Callable[[InvocationInfo], RemoteParent | None]
XRAY_ENV_VAR = "_X_AMZN_TRACE_ID"


def xray_from_lambda_context(info: InvocationInfo) -> RemoteParent | None:
    """The parent in the Lambda context's ``xray_trace_id``: the local service's
    invokers put each execution's X-Ray header there (per invocation, so
    executions sharing a process never see each other's)."""
    lambda_context = getattr(info, "lambda_context", None)
    return parse_xray(_text(getattr(lambda_context, "xray_trace_id", None)))


def xray_from_environment(info: InvocationInfo) -> RemoteParent | None:
    """The parent Lambda passes in ``_X_AMZN_TRACE_ID`` (set per invocation)."""
    return parse_xray(os.environ.get(XRAY_ENV_VAR))


def w3c_from_client_context(info: InvocationInfo) -> RemoteParent | None:
    """A W3C ``traceparent`` in the Lambda client context's ``custom`` fields."""
    lambda_context = getattr(info, "lambda_context", None)
    client_context = getattr(lambda_context, "client_context", None)
    custom = getattr(client_context, "custom", None)
    if isinstance(custom, Mapping):
        return parse_traceparent(_text(custom.get("traceparent")))
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


DEFAULT_EXTRACTORS: tuple[Extractor, ...] = (
    xray_from_lambda_context,
    xray_from_environment,
    w3c_from_client_context,
)


@dataclass(frozen=True, slots=True)
class OtelConfig:
    """Configuration of ``InvocationView`` and ``ExecutionView``.

    ``tracer_provider``: the provider to use (default: the global one, e.g. the
    ADOT layer's); ``extractors``: tried in order for the execution's parent
    (the first that finds one wins; none: a parent derived from the execution);
    ``instrument_name``: the instrumentation scope; ``workflow_span_name``;
    ``enrich_logger``: add ``otelTraceID`` / ``otelSpanID`` to ``ctx.logger`` records.
    """

    tracer_provider: TracerProvider | None = None
    extractors: tuple[Extractor, ...] = DEFAULT_EXTRACTORS
    instrument_name: str = "trio-durable"
    workflow_span_name: str = "Workflow"
    enrich_logger: bool = True
