"""``python -m conformance --tracing``: AWS's tracing suites against the local service.

The 44 requirements of ``aws-durable-execution-conformance-tests-otel``
(otel-invocation, otel-execution, otel-long-running) run the scenario workflow of
``conformance/handlers/otel.py`` in the view the suite names (otel-long-running:
in both, ``TelemetryAssertions`` judging the invocation view and
``ExecutionTelemetryAssertions`` the execution view). Each requirement is first
validated as any other (history and result, by AWS's validator); then its spans
are judged by the otel package's own ``validate_trace``. The spans are captured
in-process: the handlers run in this process and export through a global tracer
provider into an in-memory exporter; each lookup encodes the captured spans as an
OTLP/HTTP protobuf request (the bytes an OTLP exporter would send to a collector)
and reads them back with the package's ``normalize_otlp_protobuf``.

The package's extension (and its backend registry) imports its S3 collector
backend, which needs Python 3.14 (``compression.zstd``); the steps it takes to
judge one requirement (placeholders, the query, polling, ``validate_trace``) are
taken here, against the in-memory capture instead.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from conformance.handlers.otel import EXECUTION, INVOCATION, TIMEOUT_SECONDS, View
from conformance.output import ThreadRouter, routed_output
from conformance.report import Outcome

SUITES = ("otel-invocation", "otel-execution", "otel-long-running")
SERVICE_NAME = "durable-execution-conformance"
PACKAGE = "aws-durable-execution-conformance-tests-otel==0.2.0"
# How long the spans of an execution may take to arrive once it ended (they are
# exported when each invocation ends, before the service records its end).
POLL_SECONDS = 10.0
POLL_INTERVAL_SECONDS = 0.2


def tracing_sort_key(rid: str) -> tuple[int, int]:
    """``otel-execution-2`` after every ``otel-invocation-*``, and before ``otel-execution-10``."""
    suite, _, number = rid.rpartition("-")
    return (SUITES.index(suite) if suite in SUITES else len(SUITES), int(number))


@dataclass(frozen=True)
class Check:
    """One run of a requirement: the view, the function, and which assertions judge it."""

    view: View
    function: str
    assertions_key: str


def checks_for(suite: str, rid: str) -> list[Check]:
    """The runs requirement ``rid`` of ``suite`` needs."""
    if suite == "otel-long-running":
        return [
            Check(INVOCATION, INVOCATION.function, "TelemetryAssertions"),
            Check(EXECUTION, EXECUTION.function, "ExecutionTelemetryAssertions"),
        ]
    view = INVOCATION if suite == "otel-invocation" else EXECUTION
    function = view.function
    if rid.endswith("-15"):  # wait-interrupted: the execution times out
        function = view.timeout_function
    return [Check(view, function, "TelemetryAssertions")]


class SpanCapture:
    """The global tracer provider's spans, in memory, read back as the package's traces."""

    def __init__(self) -> None:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.exporter = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        trace.set_tracer_provider(provider)
        if trace.get_tracer_provider() is not provider:
            raise RuntimeError("conformance --tracing: a global tracer provider is already set")

    def traces(self) -> list[Any]:
        """Every captured span, as an OTLP export request decoded by the package."""
        from aws_durable_execution_conformance_tests_otel.normalizers import (
            normalize_otlp_protobuf,
        )
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        spans = self.exporter.get_finished_spans()
        if not spans:
            return []
        request = encode_spans(spans)
        return list(normalize_otlp_protobuf(request.SerializeToString()))


def correlated(traces: Sequence[Any], query: Any) -> Any | None:
    """The trace of the query's execution, with every trace that names one of
    ``query.execution_arns`` (a chained invoke's target) appended; ``None`` yet."""
    from aws_durable_execution_conformance_tests_otel.model import Trace

    def arns(candidate: Any) -> set[str]:
        return {
            str(span.attributes["durable.execution.arn"])
            for span in candidate.spans
            if "durable.execution.arn" in span.attributes
        }

    wanted = set(query.execution_arns or (query.execution_arn,))
    primary = next((t for t in traces if query.execution_arn in arns(t)), None)
    if primary is None:
        return None
    others = [t for t in traces if t is not primary and arns(t) & wanted]
    spans = tuple(span for t in (primary, *others) for span in t.spans)
    return Trace(trace_id=primary.trace_id, spans=spans)


def judge_spans(
    capture: SpanCapture, requirement: Mapping[str, Any], key: str, result: Any
) -> list[str]:
    """The package's verdict on the spans of ``result``'s execution."""
    from aws_durable_execution_conformance_tests.variables import PlaceholderContext
    from aws_durable_execution_conformance_tests_otel.model import TelemetryQuery
    from aws_durable_execution_conformance_tests_otel.validators import validate_trace

    raw = requirement.get(key)
    if not isinstance(raw, Mapping):
        return [f"{key} is missing from the requirement"]
    placeholders = PlaceholderContext()
    for name, value in {**result.placeholders, "EXECUTION_ARN": result.execution_arn}.items():
        placeholders.bind(name, value)
    placeholders.bind("SERVICE_NAME", SERVICE_NAME)
    assertions = placeholders.substitute(raw)
    allowed = assertions.get("allowed_execution_arns", ())
    extra = (allowed,) if isinstance(allowed, str) else tuple(allowed)
    query = TelemetryQuery(
        execution_arn=result.execution_arn,
        service_name=SERVICE_NAME,
        started_at=datetime.fromtimestamp(result.invocation_started_at_ms / 1000, tz=UTC)
        - timedelta(seconds=30),
        ended_at=datetime.fromtimestamp(result.invocation_finished_at_ms / 1000, tz=UTC),
        execution_arns=tuple(dict.fromkeys((result.execution_arn, *extra))),
    )
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        trace = correlated(capture.traces(), query)
        errors = (
            ["no span names the execution"]
            if trace is None
            else validate_trace(trace, assertions, query)
        )
        if not errors or time.monotonic() >= deadline:
            return [f"OpenTelemetry ({key}): {e}" for e in errors]
        time.sleep(POLL_INTERVAL_SECONDS)


def validate_tracing(
    suite: str,
    rid: str,
    yaml_path: str,
    description: str,
    capture: SpanCapture,
    invoker: Any,
    clients: Any,
    workdir: Path,
    routed: ThreadRouter,
) -> Outcome:
    """Run requirement ``rid`` in every view it needs; PASSED only if every run passes."""
    from aws_durable_execution_conformance_tests import validate
    from aws_durable_execution_conformance_tests.history import load_yaml_file

    from conformance.runner import REGION

    started = time.monotonic()
    errors: list[str] = []
    arn = None
    requirement = load_yaml_file(yaml_path)
    with routed.capture() as printed:
        for check in checks_for(suite, rid):
            try:
                result = validate.validate_description(
                    function_name=check.function,
                    description_id=rid,
                    test_file=yaml_path,
                    invoker=invoker,
                    tmp_dir=str(workdir),
                    region=REGION,
                    aws_clients=clients,
                    output_dir=str(workdir / "histories"),
                )
                arn = arn or result.execution_arn
                if not result.passed:
                    errors.extend(f"[{check.view.name} view] {e}" for e in result.errors)
                    continue
                found = judge_spans(capture, requirement, check.assertions_key, result)
                errors.extend(f"[{check.view.name} view] {e}" for e in found)
            except Exception:
                errors.append(traceback.format_exc())
    if errors and printed.getvalue().strip():
        errors.append("validator output:\n" + printed.getvalue().rstrip())
    return Outcome(
        id=rid,
        suite=suite,
        status="FAILED" if errors else "PASSED",
        seconds=round(time.monotonic() - started, 2),
        errors=errors,
        function=", ".join(c.function for c in checks_for(suite, rid)),
        handler="conformance.handlers.otel",
        execution_arn=arn,
        description=description,
    )


@contextmanager
def serving_tracing(region: str) -> Iterator[str]:
    """The local service with the tracing functions of both views; yields its endpoint."""
    from conformance.endpoint import in_process_invoker, serving_functions

    async def register(service: Any, endpoint: str, stack: AsyncExitStack) -> None:
        for view in (INVOCATION, EXECUTION):
            handler = f"conformance.handlers.otel:{view.name}_workflow"
            service.register_function(view.function, in_process_invoker(handler))
            service.register_function(
                view.timeout_function,
                in_process_invoker(handler),
                execution_timeout_seconds=TIMEOUT_SECONDS,
            )
            target = f"conformance.handlers.otel:{view.name}_target"
            service.register_function(view.target, in_process_invoker(target))

    with serving_functions(register, region) as endpoint:
        yield endpoint


def discover_tracing() -> list[tuple[str, str, str, str]]:
    """``(suite, id, yaml path, description)`` of every tracing requirement, in id order."""
    from importlib.resources import files

    import yaml

    root = Path(str(files("aws_durable_execution_conformance_tests_otel"))) / "test_requirements"
    found = []
    for suite in SUITES:
        for path in (root / suite).glob("*.yaml"):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            description = " ".join(str(data.get("description", "")).split())
            found.append((suite, path.stem, str(path), description))
    return sorted(found, key=lambda row: tracing_sort_key(row[1]))


def run_tracing(ids: Sequence[str], jobs: int, workdir: Path) -> list[Outcome]:
    """Outcomes of the tracing requirements (those in ``ids``, or all)."""
    from aws_durable_execution_conformance_tests import sam, validate
    from aws_durable_execution_conformance_tests.clients import AwsClients

    from conformance.runner import (
        POLL_INTERVAL_SECONDS as HISTORY_POLL,
    )
    from conformance.runner import (
        REGION,
        STACK_NAME,
        _print_outcome,
        lambda_client,
        point_boto3_at,
    )

    selected = [row for row in discover_tracing() if not ids or row[1] in ids]
    capture = SpanCapture()
    validate.POLL_INTERVAL_SECONDS = HISTORY_POLL
    outcomes: list[Outcome] = []
    with serving_tracing(REGION) as endpoint:
        point_boto3_at(endpoint)
        client = lambda_client(jobs)
        clients = AwsClients(MappingProxyType({"lambda": client}))
        invoker = sam.Invoker(stack_name=STACK_NAME, region=REGION, lambda_client=client)
        functions = [
            f for v in (INVOCATION, EXECUTION) for f in (v.function, v.timeout_function, v.target)
        ]
        invoker._function_map = {f: f for f in functions}
        with routed_output() as routed, ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [
                pool.submit(
                    validate_tracing,
                    suite,
                    rid,
                    path,
                    description,
                    capture,
                    invoker,
                    clients,
                    workdir,
                    routed,
                )
                for suite, rid, path, description in selected
            ]
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                _print_outcome(outcome)
    return sorted(outcomes, key=lambda o: tracing_sort_key(o.id))
