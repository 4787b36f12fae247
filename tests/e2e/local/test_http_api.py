"""Every route of the HTTP API through real boto3, against the real service.

The test plays the durable function: ``ParkedInvoker`` hands each invocation's
event to the test, which checkpoints over HTTP with boto3 as an SDK would, then
answers the invocation.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from local_service_harness import WAIT, ParkedInvoker, Server, lambda_client, poll


def _start(server: Server, name: str, payload: Any = None, **extra: Any) -> str:
    body = b"" if payload is None else json.dumps(payload).encode()
    response = server.client.invoke(
        FunctionName=name, InvocationType="Event", Payload=body, **extra
    )
    assert response["StatusCode"] == 202
    arn: str = response["DurableExecutionArn"]
    return arn


def _code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def _in_thread(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``fn`` in a thread; the returned function joins it and gives its result."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()

    def join() -> Any:
        thread.join(WAIT)
        assert out, "the call did not return"
        return out[0]

    return join


# --- Invoke -------------------------------------------------------------------------


def test_event_invoke_starts_an_execution_and_hands_its_input_to_the_handler(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    arn = _start(server, name, {"sku": "A-1"})
    assert arn.startswith(f"arn:aws:lambda:us-east-1:123456789012:function:{name}:$LATEST/")
    assert "/durable-execution/" in arn
    parked = invoker.next()
    event = parked.request.event
    assert event["DurableExecutionArn"] == arn
    [execution_op] = event["InitialExecutionState"]["Operations"]
    assert execution_op["Type"] == "EXECUTION"
    assert json.loads(execution_op["ExecutionDetails"]["InputPayload"]) == {"sku": "A-1"}
    parked.answer({"Status": "SUCCEEDED", "Result": '"done"'})


def test_request_response_invoke_returns_the_result_when_the_execution_ends(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    join = _in_thread(lambda: server.client.invoke(FunctionName=name, Payload=b'{"n": 2}'))
    parked = invoker.next()
    update = {"Id": "cb", "Type": "CALLBACK", "Action": "START"}
    result = server.client.checkpoint_durable_execution(
        DurableExecutionArn=parked.arn, CheckpointToken=parked.token, Updates=[update]
    )
    parked.answer({"Status": "PENDING"})
    [op] = result["NewExecutionState"]["Operations"]
    callback_id = op["CallbackDetails"]["CallbackId"]
    server.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"2")
    invoker.next().answer({"Status": "SUCCEEDED", "Result": '{"total": 4}'})
    response = join()
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["DurableExecutionArn"] == parked.arn
    assert json.loads(response["Payload"].read()) == {"total": 4}


def test_request_response_invoke_of_a_failed_execution_reports_a_function_error(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    join = _in_thread(lambda: server.client.invoke(FunctionName=name, Payload=b"{}"))
    error = {"ErrorType": "OrderRejected", "ErrorMessage": "no stock"}
    invoker.next().answer({"Status": "FAILED", "Error": error})
    response = join()
    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "OrderRejected"
    assert payload["errorMessage"] == "no stock"


def test_a_named_invoke_is_idempotent_and_refuses_a_different_input(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    first = _start(server, name, {"a": 1}, DurableExecutionName="order-17")
    again = _start(server, name, {"a": 1}, DurableExecutionName="order-17")
    assert again == first
    assert "/durable-execution/order-17/" in first
    with pytest.raises(server.client.exceptions.DurableExecutionAlreadyStartedException):
        _start(server, name, {"a": 2}, DurableExecutionName="order-17")
    invoker.next().answer({"Status": "SUCCEEDED"})
    listed = server.client.list_durable_executions_by_function(FunctionName=name)
    assert [e["DurableExecutionArn"] for e in listed["DurableExecutions"]] == [first]


def test_invoke_of_an_unknown_function_is_resource_not_found(server: Server) -> None:
    with pytest.raises(server.client.exceptions.ResourceNotFoundException):
        server.client.invoke(FunctionName="no-such-function", Payload=b"{}")


def test_invoke_accepts_a_function_arn_and_the_latest_qualifier(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    response = server.client.invoke(
        FunctionName=function_arn, InvocationType="Event", Qualifier="$LATEST", Payload=b"{}"
    )
    assert f":function:{name}:$LATEST/" in response["DurableExecutionArn"]
    invoker.next().answer({"Status": "SUCCEEDED"})
    with pytest.raises(server.client.exceptions.InvalidParameterValueException) as info:
        server.client.invoke(FunctionName=name, Qualifier="7", Payload=b"{}")
    assert "Qualifier" in str(info.value)


def test_invoke_with_a_body_that_is_not_json_is_refused(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, _ = fn
    with pytest.raises(server.client.exceptions.InvalidRequestContentException):
        server.client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{not json")


def test_invoke_types_other_than_request_response_and_event_are_refused(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, _ = fn
    with pytest.raises(server.client.exceptions.InvalidParameterValueException) as info:
        server.client.invoke(FunctionName=name, InvocationType="DryRun", Payload=b"{}")
    assert "DryRun" in str(info.value)


# --- the SDK's side: checkpoint and state -----------------------------------------


def test_checkpoints_and_state_pages_round_trip_through_boto3(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    arn = _start(server, name, {})
    parked = invoker.next()
    client = server.client
    step = {"Id": "step-1", "Type": "STEP", "SubType": "Step", "Name": "reserve"}
    first = client.checkpoint_durable_execution(
        DurableExecutionArn=arn,
        CheckpointToken=parked.token,
        Updates=[{**step, "Action": "START"}],
        ClientToken="c-1",
    )
    second = client.checkpoint_durable_execution(
        DurableExecutionArn=arn,
        CheckpointToken=first["CheckpointToken"],
        Updates=[{**step, "Action": "SUCCEED", "Payload": '"r-9"'}],
    )
    assert second["CheckpointToken"] != first["CheckpointToken"]
    state = client.get_durable_execution_state(
        DurableExecutionArn=arn, CheckpointToken=second["CheckpointToken"]
    )
    ops = {op["Id"]: op for op in state["Operations"]}
    assert ops["step-1"]["Status"] == "SUCCEEDED"
    assert ops["step-1"]["StepDetails"]["Result"] == '"r-9"'
    assert isinstance(ops["step-1"]["StartTimestamp"], datetime)
    paged = client.get_durable_execution_state(
        DurableExecutionArn=arn, CheckpointToken=second["CheckpointToken"], MaxItems=1
    )
    assert len(paged["Operations"]) == 1
    rest = client.get_durable_execution_state(
        DurableExecutionArn=arn,
        CheckpointToken=second["CheckpointToken"],
        Marker=paged["NextMarker"],
    )
    assert [op["Id"] for op in paged["Operations"] + rest["Operations"]] == list(ops)
    parked.answer({"Status": "SUCCEEDED", "Result": '"r-9"'})


def test_a_stale_checkpoint_token_is_an_invalid_parameter(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    arn = _start(server, name, {})
    parked = invoker.next()
    client = server.client
    update = {"Id": "w", "Type": "WAIT", "Action": "START", "WaitOptions": {"WaitSeconds": 5}}
    client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=parked.token, Updates=[update]
    )
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.checkpoint_durable_execution(
            DurableExecutionArn=arn, CheckpointToken="not-the-token", Updates=[]
        )
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.get_durable_execution_state(DurableExecutionArn=arn, CheckpointToken="nope")
    client.stop_durable_execution(DurableExecutionArn=arn)
    parked.answer({"Status": "PENDING"})


def test_malformed_updates_are_refused_naming_the_field(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    arn = _start(server, name, {})
    parked = invoker.next()
    unchecked = lambda_client(server.endpoint, parameter_validation=False)
    cases = [
        ([{"Type": "STEP", "Action": "START"}], "Updates[0]"),
        ([{"Id": "x", "Type": "STEP", "Action": "LEAP"}], "LEAP"),
        ([{"Id": "x", "Type": "SPRINT", "Action": "START"}], "SPRINT"),
        ([{"Id": 5, "Type": "STEP", "Action": "START"}], "Updates[0].Id"),
        (
            [{"Id": "w", "Type": "WAIT", "Action": "START", "WaitOptions": {"WaitSeconds": "x"}}],
            "Updates[0].WaitOptions.WaitSeconds",
        ),
    ]
    for updates, fragment in cases:
        with pytest.raises(unchecked.exceptions.InvalidParameterValueException) as info:
            unchecked.checkpoint_durable_execution(
                DurableExecutionArn=arn, CheckpointToken=parked.token, Updates=updates
            )
        assert fragment in str(info.value), (fragment, str(info.value))
    with pytest.raises(unchecked.exceptions.InvalidParameterValueException) as info:
        unchecked.checkpoint_durable_execution(DurableExecutionArn=arn, Updates=[])
    assert "CheckpointToken" in str(info.value)
    state = server.client.get_durable_execution_state(
        DurableExecutionArn=arn, CheckpointToken=parked.token
    )
    assert [op["Type"] for op in state["Operations"]] == ["EXECUTION"]  # nothing was recorded
    parked.answer({"Status": "SUCCEEDED"})


# --- callbacks ----------------------------------------------------------------------


def _open_callback(server: Server, invoker: ParkedInvoker, name: str, **options: int) -> str:
    arn = _start(server, name, {})
    parked = invoker.next()
    update: dict[str, Any] = {"Id": "cb", "Type": "CALLBACK", "Action": "START", "Name": "ok?"}
    if options:
        update["CallbackOptions"] = options
    result = server.client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=parked.token, Updates=[update]
    )
    [op] = [o for o in result["NewExecutionState"]["Operations"] if o["Id"] == "cb"]
    parked.answer({"Status": "PENDING"})
    callback_id: str = op["CallbackDetails"]["CallbackId"]
    return callback_id


def _callback_op(server: Server, invoker: ParkedInvoker) -> dict[str, Any]:
    parked = invoker.next()
    state = server.client.get_durable_execution_state(
        DurableExecutionArn=parked.arn, CheckpointToken=parked.token
    )
    parked.answer({"Status": "SUCCEEDED"})
    [op] = [o for o in state["Operations"] if o["Id"] == "cb"]
    return dict(op)


def test_callback_success_stores_the_result_verbatim_and_re_invokes(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    callback_id = _open_callback(server, invoker, name)
    server.client.send_durable_execution_callback_heartbeat(CallbackId=callback_id)
    server.client.send_durable_execution_callback_success(
        CallbackId=callback_id, Result=b'{"approved": true}'
    )
    op = _callback_op(server, invoker)
    assert op["Status"] == "SUCCEEDED"
    assert op["CallbackDetails"]["Result"] == '{"approved": true}'
    with pytest.raises(server.client.exceptions.ResourceNotFoundException):
        server.client.send_durable_execution_callback_success(CallbackId=callback_id)


def test_callback_failure_records_the_error(server: Server, fn: tuple[str, ParkedInvoker]) -> None:
    name, invoker = fn
    callback_id = _open_callback(server, invoker, name)
    server.client.send_durable_execution_callback_failure(
        CallbackId=callback_id,
        Error={"ErrorType": "Rejected", "ErrorMessage": "no", "ErrorData": '{"by": "ann"}'},
    )
    op = _callback_op(server, invoker)
    assert op["Status"] == "FAILED"
    assert op["CallbackDetails"]["Error"] == {
        "ErrorType": "Rejected",
        "ErrorMessage": "no",
        "ErrorData": '{"by": "ann"}',
    }


def test_unknown_callbacks_are_resource_not_found(server: Server) -> None:
    client = server.client
    sends: list[Callable[[], Any]] = [
        lambda: client.send_durable_execution_callback_success(CallbackId="NOPE", Result=b"1"),
        lambda: client.send_durable_execution_callback_failure(CallbackId="NOPE", Error={}),
        lambda: client.send_durable_execution_callback_heartbeat(CallbackId="NOPE"),
    ]
    for send in sends:
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            send()


def test_a_callback_result_over_the_payload_limit_is_refused(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    callback_id = _open_callback(server, invoker, name)
    with pytest.raises(server.client.exceptions.RequestTooLargeException):
        server.client.send_durable_execution_callback_success(
            CallbackId=callback_id, Result=b'"' + b"x" * (256 * 1024) + b'"'
        )
    server.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"1")
    assert _callback_op(server, invoker)["CallbackDetails"]["Result"] == "1"


# --- reading executions -------------------------------------------------------------


def test_get_execution_and_history_describe_a_finished_execution(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    arn = _start(server, name, {"x": 1})
    invoker.next().answer({"Status": "SUCCEEDED", "Result": '"fine"'})
    execution = _wait_terminal(server, arn)
    assert execution["Status"] == "SUCCEEDED"
    assert execution["Result"] == '"fine"'
    assert execution["InputPayload"] == '{"x": 1}'
    assert execution["FunctionArn"].endswith(f":function:{name}:$LATEST")
    assert execution["EndTimestamp"] >= execution["StartTimestamp"]
    bare = server.client.get_durable_execution(DurableExecutionArn=arn, IncludeExecutionData=False)
    assert "Result" not in bare and "InputPayload" not in bare

    history = server.client.get_durable_execution_history(
        DurableExecutionArn=arn, IncludeExecutionData=True
    )
    types = [e["EventType"] for e in history["Events"]]
    assert types == ["ExecutionStarted", "InvocationCompleted", "ExecutionSucceeded"]
    assert [e["EventId"] for e in history["Events"]] == [1, 2, 3]
    started = history["Events"][0]["ExecutionStartedDetails"]["Input"]
    assert started["Payload"] == '{"x": 1}'
    stripped = server.client.get_durable_execution_history(DurableExecutionArn=arn)
    assert "Payload" not in stripped["Events"][0]["ExecutionStartedDetails"]["Input"]

    backwards = server.client.get_durable_execution_history(
        DurableExecutionArn=arn, ReverseOrder=True, MaxItems=2
    )
    assert [e["EventId"] for e in backwards["Events"]] == [3, 2]
    tail = server.client.get_durable_execution_history(
        DurableExecutionArn=arn, ReverseOrder=True, Marker=backwards["NextMarker"]
    )
    assert [e["EventId"] for e in tail["Events"]] == [1]


def _wait_terminal(server: Server, arn: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        execution = server.client.get_durable_execution(DurableExecutionArn=arn)
        return dict(execution) if execution["Status"] != "RUNNING" else None

    return poll(f"{arn} to finish", finished)


def test_list_executions_filters_and_pages(server: Server, fn: tuple[str, ParkedInvoker]) -> None:
    name, invoker = fn
    client = server.client
    done = _start(server, name, {}, DurableExecutionName="first")
    invoker.next().answer({"Status": "SUCCEEDED"})
    _wait_terminal(server, done)
    running = _start(server, name, {}, DurableExecutionName="second")
    parked = invoker.next()

    everything = client.list_durable_executions_by_function(FunctionName=name)
    assert [e["DurableExecutionName"] for e in everything["DurableExecutions"]] == [
        "first",
        "second",
    ]
    only_running = client.list_durable_executions_by_function(
        FunctionName=name, Statuses=["RUNNING"]
    )
    assert [e["DurableExecutionArn"] for e in only_running["DurableExecutions"]] == [running]
    both = client.list_durable_executions_by_function(
        FunctionName=name, Statuses=["RUNNING", "SUCCEEDED"], ReverseOrder=True
    )
    assert [e["DurableExecutionName"] for e in both["DurableExecutions"]] == ["second", "first"]
    by_name = client.list_durable_executions_by_function(
        FunctionName=name, DurableExecutionName="first"
    )
    assert [e["DurableExecutionArn"] for e in by_name["DurableExecutions"]] == [done]
    now = datetime.now(UTC)
    later = client.list_durable_executions_by_function(
        FunctionName=name, StartedAfter=now + timedelta(hours=1)
    )
    assert later["DurableExecutions"] == []
    earlier = client.list_durable_executions_by_function(
        FunctionName=name,
        StartedBefore=now + timedelta(hours=1),
        StartedAfter=now - timedelta(hours=1),
    )
    assert len(earlier["DurableExecutions"]) == 2
    page = client.list_durable_executions_by_function(FunctionName=name, MaxItems=1)
    assert len(page["DurableExecutions"]) == 1
    rest = client.list_durable_executions_by_function(FunctionName=name, Marker=page["NextMarker"])
    assert [e["DurableExecutionName"] for e in rest["DurableExecutions"]] == ["second"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_durable_executions_by_function(FunctionName="never-registered")
    with pytest.raises(client.exceptions.InvalidParameterValueException) as info:
        client.list_durable_executions_by_function(FunctionName=name, Statuses=["ASLEEP"])
    assert "ASLEEP" in str(info.value)
    parked.answer({"Status": "SUCCEEDED"})


def test_unknown_executions_are_resource_not_found(server: Server) -> None:
    client = server.client
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST/durable-execution/x/y"
    calls: list[Callable[[], Any]] = [
        lambda: client.get_durable_execution(DurableExecutionArn=arn),
        lambda: client.get_durable_execution_history(DurableExecutionArn=arn),
        lambda: client.stop_durable_execution(DurableExecutionArn=arn),
        lambda: client.pause_durable_execution(DurableExecutionArn=arn),
        lambda: client.resume_durable_execution(DurableExecutionArn=arn),
        lambda: client.delete_durable_execution(DurableExecutionArn=arn),
    ]
    for call in calls:
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            call()


# --- stop, pause, resume, delete --------------------------------------------------------


def test_stop_ends_a_running_execution_with_its_error(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    arn = _start(server, name, {})
    parked = invoker.next()
    stopped = server.client.stop_durable_execution(
        DurableExecutionArn=arn, Error={"ErrorType": "Operator", "ErrorMessage": "enough"}
    )
    assert isinstance(stopped["StopTimestamp"], datetime)
    execution = _wait_terminal(server, arn)
    assert execution["Status"] == "STOPPED"
    assert execution["Error"]["ErrorType"] == "Operator"
    with pytest.raises(server.client.exceptions.InvalidParameterValueException):
        server.client.stop_durable_execution(DurableExecutionArn=arn)
    assert not invoker.pending()
    parked.answer({"Status": "PENDING"})  # too late: the invocation was cancelled


# --- raw HTTP: what boto3 would never send -----------------------------------------


def _raw(server: Server, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    url = urlsplit(server.endpoint)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=WAIT)
    conn.putrequest(method, path)
    for key, value in headers.items():
        conn.putheader(key.replace("_", "-"), value)
    if "Content_Length" not in headers:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheader("x-amzn-ErrorType"), data


def test_a_body_that_is_not_json_is_an_invalid_parameter(server: Server) -> None:
    status, code, body = _raw(
        server, "POST", "/2025-12-01/durable-executions/arn/checkpoint", b"{oops"
    )
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "not valid JSON" in json.loads(body)["message"]
    status, code, body = _raw(
        server, "POST", "/2025-12-01/durable-executions/arn/checkpoint", b"[1, 2]"
    )
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "JSON object" in json.loads(body)["message"]


def test_an_oversized_body_is_refused_from_its_content_length_alone(server: Server) -> None:
    status, code, body = _raw(
        server,
        "POST",
        "/2025-12-01/durable-execution-callbacks/X/succeed",
        Content_Length=str(50 * 1024 * 1024),
    )
    assert (status, code) == (413, "RequestTooLargeException")
    assert "over this operation's limit" in json.loads(body)["message"]


def test_an_unknown_route_is_a_404(server: Server) -> None:
    status, code, _ = _raw(server, "GET", "/2025-12-01/nothing-here")
    assert (status, code) == (404, "UnknownOperationException")
    status, code, _ = _raw(server, "PUT", "/2025-12-01/durable-executions/arn")
    assert (status, code) == (404, "UnknownOperationException")


def test_bad_query_values_name_the_parameter(server: Server) -> None:
    path = "/2025-12-01/durable-executions/arn/history"
    for query, fragment in (
        ("MaxItems=many", "MaxItems"),
        ("ReverseOrder=maybe", "ReverseOrder"),
    ):
        status, code, body = _raw(server, "GET", f"{path}?{query}")
        assert (status, code) == (400, "InvalidParameterValueException")
        assert fragment in json.loads(body)["message"]
    status, code, body = _raw(
        server, "GET", "/2025-12-01/functions/f/durable-executions?StartedAfter=soon"
    )
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "StartedAfter" in json.loads(body)["message"]
