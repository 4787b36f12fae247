"""The X-Ray trace header an execution runs under, through real boto3: an Invoke's
``X-Amzn-Trace-Id`` and a chained invoke's ``ChainedInvokeOptions.XAmznTraceId``
reach every invocation of the execution they start (as Lambda hands them on: the
same trace, under the invocation's segment), GetDurableExecution shows them as
``TraceHeader``, a SQLite store keeps them, and a malformed one is refused
naming its field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_harness import background
from local_service_harness import ParkedInvoker, Server, lambda_client, poll

from trio_durable.local.xray import invocation_header

HANDLERS = Path(__file__).parent / "handlers"
TRACED = HANDLERS / "traced.py"
HEADER = "Root=1-5f0c4e1d-0123456789abcdef01234567;Parent=1122334455667788;Sampled=1"
CHILD_HEADER = "Root=1-5f0c4e1d-0123456789abcdef01234567;Parent=8877665544332211;Sampled=0"
CHAINED_HEADER = "Root=1-6a0b1c2d-00112233445566778899aabb;Parent=0123456789abcdef;Sampled=1"
"""What the plugin of ``handlers/traced.py``'s caller gives its chained invoke."""


def traced_client(endpoint: str, header: str) -> Any:
    """A boto3 client whose Invoke calls carry ``X-Amzn-Trace-Id: header``, as
    botocore sends it from inside a traced Lambda function."""
    client = lambda_client(endpoint)

    def add_header(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = header

    client.meta.events.register("before-sign.lambda.Invoke", add_header)
    return client


def invoke_start(function_name: str, header: str) -> dict[str, Any]:
    """A CHAINED_INVOKE START update of ``function_name`` under ``header``."""
    return {
        "Id": "call",
        "Type": "CHAINED_INVOKE",
        "Action": "START",
        "ChainedInvokeOptions": {"FunctionName": function_name, "XAmznTraceId": header},
    }


def test_an_invoke_trace_header_reaches_every_invocation_and_get_execution(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    client = traced_client(server.endpoint, HEADER)
    arn = client.invoke(FunctionName=name, InvocationType="Event")["DurableExecutionArn"]
    first = invoker.next()
    assert first.request.trace_header == invocation_header(HEADER, first.request.request_id)
    assert first.request.trace_header.startswith(HEADER.split(";Parent=")[0])
    assert "Parent=1122334455667788" not in first.request.trace_header
    wait = {"Id": "w", "Type": "WAIT", "Action": "START", "WaitOptions": {"WaitSeconds": 1}}
    server.client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=first.token, Updates=[wait]
    )
    first.answer({"Status": "PENDING"})
    second = invoker.next()  # after the wait: the same trace, this invocation's segment
    assert second.request.trace_header == invocation_header(HEADER, second.request.request_id)
    assert second.request.trace_header != first.request.trace_header
    second.answer({"Status": "SUCCEEDED"})
    described = server.client.get_durable_execution(DurableExecutionArn=arn)
    assert described["TraceHeader"] == {"XAmznTraceId": HEADER}


def test_botocore_in_a_lambda_function_sends_the_functions_header(
    server: Server, fn: tuple[str, ParkedInvoker], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside a Lambda function (``AWS_LAMBDA_FUNCTION_NAME`` and ``_X_AMZN_TRACE_ID``
    set), botocore adds ``X-Amzn-Trace-Id`` to its calls: an Invoke from there
    starts its execution in the function's trace with no code of the user's."""
    name, invoker = fn
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "upstream")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", HEADER)
    response = lambda_client(server.endpoint).invoke(FunctionName=name, InvocationType="Event")
    parked = invoker.next()
    assert parked.request.trace_header == invocation_header(HEADER, parked.request.request_id)
    parked.answer({"Status": "SUCCEEDED"})
    arn = response["DurableExecutionArn"]
    described = server.client.get_durable_execution(DurableExecutionArn=arn)
    assert described["TraceHeader"] == {"XAmznTraceId": HEADER}


def test_an_execution_started_without_a_header_has_no_trace_header(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    arn = server.client.invoke(FunctionName=name, InvocationType="Event")["DurableExecutionArn"]
    parked = invoker.next()
    assert parked.request.trace_header is None
    parked.answer({"Status": "SUCCEEDED"})
    assert "TraceHeader" not in server.client.get_durable_execution(DurableExecutionArn=arn)


def test_a_repeated_named_invoke_keeps_the_first_trace_header(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    """An Invoke that names an execution already started returns that execution:
    its trace header stays the one it started under, whatever the repeat sends."""
    name, invoker = fn
    first_arn = traced_client(server.endpoint, HEADER).invoke(
        FunctionName=name, InvocationType="Event", DurableExecutionName="traced-once"
    )["DurableExecutionArn"]
    first = invoker.next()
    again = traced_client(server.endpoint, CHILD_HEADER).invoke(
        FunctionName=name, InvocationType="Event", DurableExecutionName="traced-once"
    )
    assert again["DurableExecutionArn"] == first_arn
    described = server.client.get_durable_execution(DurableExecutionArn=first_arn)
    assert described["TraceHeader"] == {"XAmznTraceId": HEADER}
    assert first.request.trace_header == invocation_header(HEADER, first.request.request_id)
    first.answer({"Status": "SUCCEEDED"})


def test_a_chained_invoke_starts_its_target_under_its_trace_header(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    target, target_invoker = f"{name}-target", ParkedInvoker()
    server.register(target, target_invoker)
    arn = server.client.invoke(FunctionName=name, InvocationType="Event")["DurableExecutionArn"]
    parked = invoker.next()
    start = invoke_start(target, CHILD_HEADER)
    server.client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=parked.token, Updates=[start]
    )
    parked.answer({"Status": "PENDING"})
    child = target_invoker.next()
    assert child.request.trace_header == invocation_header(CHILD_HEADER, child.request.request_id)
    child.answer({"Status": "SUCCEEDED", "Result": '"ok"'})
    described = server.client.get_durable_execution(DurableExecutionArn=child.arn)
    assert described["TraceHeader"] == {"XAmznTraceId": CHILD_HEADER}
    resumed = invoker.next()  # the caller's own execution has none
    assert resumed.request.trace_header is None
    resumed.answer({"Status": "SUCCEEDED"})
    assert "TraceHeader" not in server.client.get_durable_execution(DurableExecutionArn=arn)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("Root=1-" + "a" * 9000, "must be text of 0 to 8192 characters"),
        ("Root=1-5f0c4e1d-café", "must be printable ASCII"),
    ],
)
def test_an_invoke_with_a_malformed_trace_header_is_refused(
    server: Server, fn: tuple[str, ParkedInvoker], header: str, problem: str
) -> None:
    name, invoker = fn
    client = traced_client(server.endpoint, header)
    with pytest.raises(client.exceptions.InvalidParameterValueException) as info:
        client.invoke(FunctionName=name, InvocationType="Event")
    assert f"X-Amzn-Trace-Id: {problem}" in str(info.value)
    listed = server.client.list_durable_executions_by_function(FunctionName=name)
    assert listed["DurableExecutions"] == []  # nothing started
    assert not invoker.pending()


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("x" * 8193, "must be text of 0 to 8192 characters"),
        ("Root=1-5f0c4e1d\n;Parent=1122334455667788", "must be printable ASCII"),
    ],
)
def test_a_chained_invoke_with_a_malformed_trace_header_is_refused(
    server: Server, fn: tuple[str, ParkedInvoker], header: str, problem: str
) -> None:
    name, invoker = fn
    arn = server.client.invoke(FunctionName=name, InvocationType="Event")["DurableExecutionArn"]
    parked = invoker.next()
    start = invoke_start(name, header)
    unchecked = lambda_client(server.endpoint, parameter_validation=False)
    with pytest.raises(unchecked.exceptions.InvalidParameterValueException) as info:
        unchecked.checkpoint_durable_execution(
            DurableExecutionArn=arn, CheckpointToken=parked.token, Updates=[start]
        )
    assert f"Updates[0].ChainedInvokeOptions.XAmznTraceId: {problem}" in str(info.value)
    state = server.client.get_durable_execution_state(
        DurableExecutionArn=arn, CheckpointToken=parked.token
    )
    assert [op["Type"] for op in state["Operations"]] == ["EXECUTION"]  # nothing recorded
    parked.answer({"Status": "SUCCEEDED"})
    listed = server.client.list_durable_executions_by_function(FunctionName=name)
    assert len(listed["DurableExecutions"]) == 1  # no child started


def history(client: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get_durable_execution_history(
        DurableExecutionArn=arn, MaxItems=1000
    )["Events"]
    return events


def first_request_id(client: Any, arn: str) -> str:
    return str(
        next(
            e["InvocationCompletedDetails"]["RequestId"]
            for e in history(client, arn)
            if e["EventType"] == "InvocationCompleted"
        )
    )


def test_served_workers_run_under_the_header_and_a_restart_keeps_it(tmp_path: Path) -> None:
    """``serve`` with worker processes and a SQLite store: each invocation sees its
    header (its execution's, under its own segment) in ``_X_AMZN_TRACE_ID`` and
    ``context.xray_trace_id`` (a worker reused for an execution without one sees
    none); after a restart, GetDurableExecution still shows the headers."""
    store = tmp_path / "state.db"
    args = ["serve", "--port", "0", "--store", f"sqlite:{store}", "--invoker", "subprocess"]
    args += ["--function", f"caller={TRACED}:caller", "--function", f"target={TRACED}:target"]
    with background(args) as served:
        endpoint = served.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        client = traced_client(endpoint, HEADER)
        response = client.invoke(FunctionName="caller", DurableExecutionName="traced")
        assert "FunctionError" not in response
        seen = json.loads(response["Payload"].read())
        caller_arn = response["ResponseMetadata"]["HTTPHeaders"]["x-amz-durable-execution-arn"]
        caller_header = invocation_header(HEADER, first_request_id(client, caller_arn))
        assert seen["caller"] == {"env": caller_header, "context": caller_header}
        [call] = [
            e for e in history(client, caller_arn) if e["EventType"] == "ChainedInvokeStarted"
        ]
        target_arn = call["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
        target_header = invocation_header(CHAINED_HEADER, first_request_id(client, target_arn))
        assert seen["target"] == {"env": target_header, "context": target_header}
        plain = lambda_client(endpoint).invoke(FunctionName="target")
        assert json.loads(plain["Payload"].read()) == {"env": None, "context": None}
    with background(args) as served:
        endpoint = served.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        client = lambda_client(endpoint)

        def executions(function: str) -> list[dict[str, Any]]:
            listed = client.list_durable_executions_by_function(FunctionName=function)
            found: list[dict[str, Any]] = listed["DurableExecutions"]
            return found

        [called] = poll("the caller's execution", lambda: executions("caller"))
        headers = {
            client.get_durable_execution(DurableExecutionArn=e["DurableExecutionArn"])
            .get("TraceHeader", {})
            .get("XAmznTraceId")
            for e in executions("target")
        }
        assert headers == {CHAINED_HEADER, None}
        described = client.get_durable_execution(DurableExecutionArn=called["DurableExecutionArn"])
        assert described["TraceHeader"] == {"XAmznTraceId": HEADER}
