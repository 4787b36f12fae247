"""Tracing end to end on the real local service: the views' spans, ids, parents,
links and log fields, exported in memory and over OTLP/HTTP to a receiver that
decodes the protobuf as a collector does."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trio
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sdk_e2e_helpers import events, run

from trio_durable import ChildConfig, DurableContext, StepContext, durable_execution
from trio_durable.local.service import LocalService
from trio_durable.otel import ExecutionView, InvocationView, OtelConfig
from trio_durable.otel.ids import operation_span_id, workflow_span_id
from trio_durable.runtime.logger import WORKFLOW_LOGGER_NAME


def greet(name: str) -> str:
    return f"hello {name}"


def memory_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def by_name(spans: Any) -> dict[str, list[ReadableSpan]]:
    found: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        found.setdefault(span.name, []).append(span)
    return found


class Collector:
    """An OTLP/HTTP trace receiver on 127.0.0.1 (port 0): decodes each export request."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                assert self.path == "/v1/traces"
                assert self.headers["Content-Type"] == "application/x-protobuf"
                collector.requests.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def spans(self) -> list[Any]:
        return [
            span
            for request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    yield running
    running.server.shutdown()
    thread.join()


async def test_execution_view_exports_one_trace_over_otlp_http(
    service: LocalService, collector: Collector, autojump_clock: trio.abc.Clock
) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.endpoint)))

    @durable_execution(plugins=[ExecutionView(OtelConfig(tracer_provider=provider))])
    async def handler(event: Any, ctx: DurableContext) -> str:
        greeting: str = await ctx.step(greet, "ada", name="greet")
        await ctx.wait(30, name="pause")
        return greeting

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED"
    arn = result["Arn"]
    history = events(service, arn)  # before the flush: the autojump clock runs meanwhile
    await trio.to_thread.run_sync(provider.force_flush)
    spans = collector.spans()
    names = sorted(span.name for span in spans)
    assert names == ["Invocation", "Invocation", "Workflow", "greet", "greet attempt 1", "pause"]
    assert {span.trace_id for span in spans} == {spans[0].trace_id}  # one trace
    found = {span.name: span for span in spans}
    workflow = found["Workflow"]
    assert int.from_bytes(workflow.span_id, "big") == workflow_span_id(arn)
    step_id = next(e["Id"] for e in history if e.get("Name") == "greet")
    assert int.from_bytes(found["greet"].span_id, "big") == operation_span_id(arn, step_id)
    # The execution view: operations under the Workflow, attempts under their operation.
    assert found["greet"].parent_span_id == workflow.span_id
    assert found["pause"].parent_span_id == workflow.span_id
    assert found["greet attempt 1"].parent_span_id == found["greet"].span_id
    # The trace id starts with the execution's start second (as X-Ray's ids do).
    started = next(e for e in history if e["EventType"] == "ExecutionStarted")
    assert workflow.trace_id.hex()[:8] == f"{int(started['EventTimestamp']):08x}"
    attributes = {a.key: a.value.string_value for a in workflow.attributes}
    assert attributes == {"durable.execution.arn": arn, "durable.execution.status": "SUCCEEDED"}
    resource = collector.requests[0].resource_spans[0].resource
    assert {a.key: a.value.string_value for a in resource.attributes}["service.name"] == "orders"


async def test_invocation_view_continues_an_operation_in_the_next_invocation(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    provider, exporter = memory_provider()

    @durable_execution(plugins=[InvocationView(OtelConfig(tracer_provider=provider))])
    async def handler(event: Any, ctx: DurableContext) -> str:
        await ctx.wait(30, name="pause")
        return "done"

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED"
    spans = by_name(exporter.get_finished_spans())
    first, second = sorted(spans["Invocation"], key=lambda s: s.start_time or 0)
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["durable.invocation.status"] == "PENDING"
    assert second.attributes["durable.invocation.status"] == "SUCCEEDED"
    started, ended = sorted(spans["pause"], key=lambda s: s.start_time or 0)
    assert started.attributes is not None and ended.attributes is not None
    assert started.attributes["durable.operation.status"] == "STARTED"
    assert ended.attributes["durable.operation.status"] == "SUCCEEDED"
    assert started.parent is not None and ended.parent is not None
    assert started.parent.span_id == first.context.span_id
    assert ended.parent.span_id == second.context.span_id
    (workflow,) = spans["Workflow"]
    # The continuation links to the first span, then (as every operation span) the Workflow.
    assert [link.context.span_id for link in ended.links] == [
        started.context.span_id,
        workflow.context.span_id,
    ]


async def test_an_xray_header_parents_the_execution(
    service: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, exporter = memory_provider()
    root, parent = "5f0c4e1d" + "a" * 24, "b" * 16
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", f"Root=1-{root[:8]}-{root[8:]};Parent={parent};Sampled=1"
    )

    @durable_execution(plugins=[ExecutionView(OtelConfig(tracer_provider=provider))])
    async def handler(event: Any, ctx: DurableContext) -> str:
        return "done"

    assert (await run(service, handler))["Status"] == "SUCCEEDED"
    spans = by_name(exporter.get_finished_spans())
    for name in ("Workflow", "Invocation"):
        (span,) = spans[name]
        assert f"{span.context.trace_id:032x}" == root
        assert span.parent is not None and f"{span.parent.span_id:016x}" == parent


async def test_log_records_carry_the_trace_and_span_ids(
    service: LocalService, caplog: pytest.LogCaptureFixture
) -> None:
    provider, exporter = memory_provider()

    def noisy(*, step_context: StepContext) -> str:
        step_context.logger.info("inside the step")
        return "ok"

    @durable_execution(plugins=[InvocationView(OtelConfig(tracer_provider=provider))])
    async def handler(event: Any, ctx: DurableContext) -> str:
        ctx.logger.info("in the workflow")
        return await ctx.step(noisy, name="noisy")

    with caplog.at_level(logging.INFO, logger=WORKFLOW_LOGGER_NAME):
        assert (await run(service, handler))["Status"] == "SUCCEEDED"
    spans = by_name(exporter.get_finished_spans())
    (invocation,) = spans["Invocation"]
    (attempt,) = spans["noisy attempt 1"]
    records = {r.getMessage(): r for r in caplog.records if r.name == WORKFLOW_LOGGER_NAME}
    workflow_record, step_record = records["in the workflow"], records["inside the step"]
    assert workflow_record.otelTraceID == f"{invocation.context.trace_id:032x}"
    assert workflow_record.otelSpanID == f"{invocation.context.span_id:016x}"
    assert step_record.otelSpanID == f"{attempt.context.span_id:016x}"


async def test_a_virtual_child_context_is_traced_but_not_recorded(service: LocalService) -> None:
    provider, exporter = memory_provider()

    async def group(ctx: DurableContext) -> str:
        return await ctx.step(greet, "grace", name="inner")

    @durable_execution(plugins=[InvocationView(OtelConfig(tracer_provider=provider))])
    async def handler(event: Any, ctx: DurableContext) -> str:
        return await ctx.run_in_child_context(group, name="group", config=ChildConfig(virtual=True))

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED" and result["Result"] == '"hello grace"'
    recorded = [e for e in events(service, result["Arn"]) if e.get("SubType")]
    assert {e["Name"] for e in recorded} == {"inner"}  # no CONTEXT record
    assert all("ParentId" not in e for e in recorded)  # the step sits under the execution
    spans = by_name(exporter.get_finished_spans())
    (group_span,) = spans["group"]
    (inner,) = spans["inner"]
    assert group_span.attributes is not None
    assert group_span.attributes["durable.operation.type"] == "CONTEXT"
    (invocation,) = spans["Invocation"]
    # Spans follow the recorded parents: the step's is the execution, not the group.
    assert inner.parent is not None and inner.parent.span_id == invocation.context.span_id
    assert group_span.parent is not None
    assert group_span.parent.span_id == invocation.context.span_id


async def test_log_fields_can_be_turned_off(
    service: LocalService, caplog: pytest.LogCaptureFixture
) -> None:
    provider, _ = memory_provider()
    config = OtelConfig(tracer_provider=provider, enrich_logger=False)

    @durable_execution(plugins=[InvocationView(config)])
    async def handler(event: Any, ctx: DurableContext) -> str:
        ctx.logger.info("plain")
        return "done"

    with caplog.at_level(logging.INFO, logger=WORKFLOW_LOGGER_NAME):
        assert (await run(service, handler))["Status"] == "SUCCEEDED"
    (record,) = [r for r in caplog.records if r.getMessage() == "plain"]
    assert not hasattr(record, "otelTraceID")
