"""The tracing ids and trace headers (trio_durable/otel/ids.py, sans-IO), the parent
extractors, and how the views are registered."""

from __future__ import annotations

from importlib.metadata import entry_points
from types import SimpleNamespace
from typing import Any

import pytest

from trio_durable import DurableContext, PluginLoadError, durable_execution
from trio_durable.otel import (
    EXECUTION_VIEW,
    INVOCATION_VIEW,
    ExecutionView,
    InvocationView,
    w3c_from_client_context,
    xray_from_environment,
    xray_from_lambda_context,
)
from trio_durable.otel.config import DEFAULT_EXTRACTORS
from trio_durable.otel.ids import (
    RemoteParent,
    execution_root_span_id,
    execution_trace_id,
    format_xray,
    operation_span_id,
    parse_traceparent,
    parse_xray,
    workflow_span_id,
)
from trio_durable.plugin_registry import ENTRY_POINT_GROUP

ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST/durable-execution/a/b"


def test_ids_are_derived_from_the_execution_alone() -> None:
    assert execution_trace_id(ARN, 1_700_000_000.7) == execution_trace_id(ARN, 1_700_000_000.2)
    assert f"{execution_trace_id(ARN, 1_700_000_000):032x}".startswith(f"{1_700_000_000:08x}")
    assert execution_trace_id(ARN, 1) != execution_trace_id(ARN + "x", 1)
    ids = {workflow_span_id(ARN), execution_root_span_id(ARN), operation_span_id(ARN, "op")}
    assert len(ids) == 3 and all(0 < i < 2**64 for i in ids)
    assert operation_span_id(ARN, "a") != operation_span_id(ARN, "b")


def test_an_xray_header_round_trips() -> None:
    trace_id, span_id = 0x5F0C4E1D_0123456789ABCDEF01234567, 0x1122334455667788
    header = format_xray(trace_id, span_id, True)
    assert header == "Root=1-5f0c4e1d-0123456789abcdef01234567;Parent=1122334455667788;Sampled=1"
    assert parse_xray(header) == RemoteParent(trace_id, span_id, True)
    assert parse_xray(header.replace("Sampled=1", "Sampled=0")) == RemoteParent(
        trace_id, span_id, False
    )


def test_partial_and_malformed_xray_headers() -> None:
    assert parse_xray(None) is None and parse_xray("") is None
    assert parse_xray("Root=garbage;Parent=xyz") is None
    only_root = parse_xray("Root=1-5f0c4e1d-0123456789abcdef01234567")
    assert only_root is not None and only_root.span_id is None and not only_root.complete
    assert parse_xray("Root=1-00000000-000000000000000000000000;Sampled=1") == RemoteParent(
        None, None, True
    )


def test_w3c_traceparent() -> None:
    header = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert parse_traceparent(header) == RemoteParent(
        0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, True
    )
    assert parse_traceparent(header[:-2] + "00") == RemoteParent(
        0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, False
    )
    assert parse_traceparent("01-" + header[3:]) is None  # unknown version
    assert parse_traceparent("00-" + "0" * 32 + "-b7ad6b7169203331-01") is None  # invalid id


def test_parent_extractors(monkeypatch: Any) -> None:
    header = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    context = SimpleNamespace(client_context=SimpleNamespace(custom={"traceparent": header}))
    info: Any = SimpleNamespace(lambda_context=context)
    assert w3c_from_client_context(info) == parse_traceparent(header)
    assert w3c_from_client_context(SimpleNamespace(lambda_context=None)) is None
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5f0c4e1d-0123456789abcdef01234567;Sampled=0")
    assert xray_from_environment(info) == RemoteParent(
        0x5F0C4E1D0123456789ABCDEF01234567, None, False
    )
    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    assert xray_from_environment(info) is None
    assert xray_from_lambda_context(info) is None  # no xray_trace_id on this context
    xray = "Root=1-5f0c4e1d-0123456789abcdef01234567;Parent=1122334455667788;Sampled=1"
    traced: Any = SimpleNamespace(lambda_context=SimpleNamespace(xray_trace_id=xray))
    assert xray_from_lambda_context(traced) == parse_xray(xray)
    assert xray_from_lambda_context(SimpleNamespace(lambda_context=None)) is None
    # The context's header comes first: the environment is the process's, not the invocation's.
    assert DEFAULT_EXTRACTORS[0] is xray_from_lambda_context
    assert DEFAULT_EXTRACTORS[1] is xray_from_environment


def test_the_entry_points_name_the_views() -> None:
    points = {p.name: p for p in entry_points(group=ENTRY_POINT_GROUP)}
    assert points["otel-invocation"].load() is INVOCATION_VIEW
    assert points["otel-execution"].load() is EXECUTION_VIEW
    assert INVOCATION_VIEW.exclusive_group == EXECUTION_VIEW.exclusive_group is not None


def test_one_view_per_handler() -> None:
    async def workflow(event: Any, ctx: DurableContext) -> None:
        return None

    with pytest.raises(PluginLoadError, match="mutually exclusive"):
        durable_execution(plugins=[InvocationView(), ExecutionView()])(workflow)
