"""Tracing across a chained invoke on the real local service: the target runs
under the trace header its caller's START carried, so its spans join the
caller's trace, each invocation under the segment Lambda records for it
(``local/xray.py``), whose parent is the caller's chained-invoke span (the
target's ``TraceHeader``); executions running side by side in one process each
see their own header (the Lambda context's ``xray_trace_id``, never the process
environment)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import trio
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sdk_e2e_helpers import events, register, run

from trio_durable import DurableContext, durable_execution
from trio_durable.local.service import LocalService
from trio_durable.local.xray import segment_id
from trio_durable.otel import ExecutionView, InvocationView, OtelConfig, format_xray, parse_xray

VIEWS = [InvocationView, ExecutionView]


def memory_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def roots(spans: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    """The spans whose parent is not among ``spans``."""
    ids = {span.context.span_id for span in spans}
    return [span for span in spans if span.parent is None or span.parent.span_id not in ids]


def segments(service: LocalService, arn: str) -> set[int]:
    """The span ids of the segments of the execution's invocations."""
    return {
        int(segment_id(e["InvocationCompletedDetails"]["RequestId"]), 16)
        for e in events(service, arn)
        if e["EventType"] == "InvocationCompleted"
    }


def shout(text: str) -> str:
    return text.upper()


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
async def test_the_target_joins_the_callers_trace_under_the_invoke_span(
    service: LocalService, view: type[InvocationView | ExecutionView]
) -> None:
    caller_provider, caller_spans = memory_provider()
    target_provider, target_spans = memory_provider()

    @durable_execution(plugins=[view(OtelConfig(tracer_provider=target_provider))])
    async def target(event: Any, ctx: DurableContext) -> str:
        loud: str = await ctx.step(shout, event["text"], name="shout")
        return loud

    target_name = register(service, target)

    @durable_execution(plugins=[view(OtelConfig(tracer_provider=caller_provider))])
    async def caller(event: Any, ctx: DurableContext) -> Any:
        return await ctx.invoke(target_name, {"text": "hi"}, name="call target")

    result = await run(service, caller)
    assert result["Status"] == "SUCCEEDED" and result["Result"] == '"HI"'
    [call, *_] = sorted(
        (s for s in caller_spans.get_finished_spans() if s.name == "call target"),
        key=lambda s: s.start_time or 0,
    )
    spans = target_spans.get_finished_spans()
    assert {s.name for s in spans} >= {"Invocation", "shout"}
    assert {s.context.trace_id for s in spans} == {call.context.trace_id}  # one trace
    history = events(service, result["Arn"])
    [started] = [e for e in history if e["EventType"] == "ChainedInvokeStarted"]
    child_arn = started["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
    # The target's top spans hang under its invocations' segments (never under a
    # span of the SDK: not the caller's invoke span itself, as on AWS) ...
    top = roots(spans)
    assert top and all(s.parent is not None and s.parent.is_remote for s in top)
    parents = {s.parent.span_id for s in top if s.parent is not None}
    assert parents and parents <= segments(service, child_arn)
    invocations = [s for s in spans if s.name == "Invocation"]
    assert {s.parent.span_id for s in invocations if s.parent} == segments(service, child_arn)
    # ... and the target's execution keeps the header naming the caller's invoke span.
    header = service.get_execution(child_arn)["TraceHeader"]["XAmznTraceId"]
    assert header == format_xray(call.context.trace_id, call.context.span_id, True)


@pytest.mark.workflow_on_trio
async def test_side_by_side_executions_each_run_under_their_own_header(
    service: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    provider, exporter = memory_provider()
    arrived = 0
    both_running = trio.Event()

    async def meet() -> str | None:
        """Returns once both executions are inside it: they run at the same time."""
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both_running.set()
        await both_running.wait()
        return os.environ.get("_X_AMZN_TRACE_ID")

    @durable_execution(plugins=[ExecutionView(OtelConfig(tracer_provider=provider))])
    async def handler(event: Any, ctx: DurableContext) -> str | None:
        return await ctx.step(meet, name="meet")

    name = register(service, handler)
    headers = [f"Root=1-5f0c4e1d-{n:024x};Parent={n:016x};Sampled=1" for n in (0xA1, 0xB2)]
    arns = [service.start_execution(name, None, trace_header=h).arn for h in headers]
    for arn in arns:
        described = await service.wait_until_terminal(arn)
        assert described["Status"] == "SUCCEEDED"
        assert described["Result"] == "null"  # the process environment was never set
    workflows = {
        s.attributes["durable.execution.arn"]: s
        for s in exporter.get_finished_spans()
        if s.name == "Workflow" and s.attributes is not None
    }
    for arn, header in zip(arns, headers, strict=True):
        given = parse_xray(header)
        span = workflows[arn]
        assert given is not None and span.parent is not None
        assert span.context.trace_id == given.trace_id  # each its own header's trace
        assert span.parent.span_id in segments(service, arn)
