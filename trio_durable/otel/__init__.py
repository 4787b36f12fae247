"""OpenTelemetry tracing of durable executions (the ``otel`` extra).

Two plugins, one per view (``views.py``): ``InvocationView`` (spans per
invocation) and ``ExecutionView`` (one span tree per execution); register one::

    @durable_execution(plugins=[ExecutionView()])
    async def handler(event, ctx): ...

They export through the global tracer provider (or ``OtelConfig.tracer_provider``).
The entry points ``otel-invocation`` and ``otel-execution`` of the group
``aws_durable_execution.plugins`` name ``INVOCATION_VIEW`` and ``EXECUTION_VIEW``.
"""

from trio_durable.otel.config import (
    OtelConfig,
    w3c_from_client_context,
    xray_from_environment,
    xray_from_lambda_context,
)
from trio_durable.otel.ids import RemoteParent, format_xray, parse_traceparent, parse_xray
from trio_durable.otel.views import ExecutionView, InvocationView

INVOCATION_VIEW = InvocationView()
EXECUTION_VIEW = ExecutionView()

__all__ = [
    "EXECUTION_VIEW",
    "INVOCATION_VIEW",
    "ExecutionView",
    "InvocationView",
    "OtelConfig",
    "RemoteParent",
    "format_xray",
    "parse_traceparent",
    "parse_xray",
    "w3c_from_client_context",
    "xray_from_environment",
    "xray_from_lambda_context",
]
