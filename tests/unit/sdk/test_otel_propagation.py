"""A chained invoke's START carries the trace header a plugin gives
(ChainedInvokeOptions.XAmznTraceId)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sdk_fakes import FakeService

from trio_durable import DurableContext, OperationInfo, Plugin, durable_execution
from trio_durable.otel import ExecutionView, InvocationView, OtelConfig, parse_xray
from trio_durable.otel.ids import operation_span_id
from trio_durable.wire import OperationAction, OperationType, OperationUpdate


def invoke_start(service: FakeService) -> OperationUpdate:
    (update,) = [
        u
        for call in service.calls
        for u in call.updates
        if u.type is OperationType.CHAINED_INVOKE and u.action is OperationAction.START
    ]
    return update


async def invoking(*plugins: Plugin) -> FakeService:
    @durable_execution(plugins=list(plugins))
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.invoke("target", {"n": 1}, name="call-target")

    service = FakeService()
    service.start()
    answer = await handler.invoke(service.event(), client=service)
    assert answer["Status"] == "PENDING"
    return service


async def test_the_invocation_view_names_the_invoke_span_as_the_parent() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    service = await invoking(InvocationView(OtelConfig(tracer_provider=provider)))
    parent = parse_xray(invoke_start(service).invoke_trace_header)
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "call-target"]
    assert parent is not None and parent.sampled is True
    assert (parent.trace_id, parent.span_id) == (span.context.trace_id, span.context.span_id)


async def test_the_execution_view_names_the_operation_span() -> None:
    service = await invoking(ExecutionView(OtelConfig(tracer_provider=TracerProvider())))
    update = invoke_start(service)
    parent = parse_xray(update.invoke_trace_header)
    assert parent is not None and parent.span_id == operation_span_id(service.arn, update.id)


class Junk(Plugin):
    def __init__(self, header: str) -> None:
        self.header = header

    def chained_invoke_trace_header(self, info: OperationInfo) -> str | None:
        return self.header


@pytest.mark.parametrize(
    "header",
    ["x" * 9000, "Root=1-5f0c4e1d\n;Parent=1122334455667788", "Root=1-café"],
    ids=["too long", "control character", "not ASCII"],
)
async def test_a_header_the_service_would_refuse_is_not_sent(header: str) -> None:
    service = await invoking(Junk(header))
    assert invoke_start(service).invoke_trace_header is None


async def test_the_first_plugin_with_a_valid_header_wins() -> None:
    service = await invoking(Junk("bad\x00"), Junk("Root=1-ok"), Junk("Root=1-later"))
    assert invoke_start(service).invoke_trace_header == "Root=1-ok"


class Raising(Plugin):
    def chained_invoke_trace_header(self, info: OperationInfo) -> str | None:
        raise RuntimeError("no header today")


async def test_a_plugin_that_raises_is_logged_and_the_next_one_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = await invoking(Raising(), Junk("Root=1-ok"))
    assert invoke_start(service).invoke_trace_header == "Root=1-ok"
    assert "plugin Raising raised in chained_invoke_trace_header (ignored)" in caplog.text
