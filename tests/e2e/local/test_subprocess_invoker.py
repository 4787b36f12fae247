"""Handlers in worker processes that reach the service over HTTP: AWS's own SDK,
a process that kills itself, a handler that raises, a target that cannot load."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from local_service_harness import WAIT, Server, poll, running_server

from trio_durable.errors import ValidationError
from trio_durable.local.subprocess_invoker import SubprocessInvoker

HANDLERS = Path(__file__).parent / "handlers"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server(max_crash_retries=1) as running:
        yield running


def _register(server: Server, name: str, target: str) -> SubprocessInvoker:
    invoker = SubprocessInvoker(target, endpoint=server.endpoint, max_workers=1)
    server.register(name, invoker)
    return invoker


def _history(server: Server, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = server.client.get_durable_execution_history(
        DurableExecutionArn=arn, IncludeExecutionData=True
    )["Events"]
    return events


def _wait_for_event(server: Server, arn: str, event_type: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next((e for e in _history(server, arn) if e["EventType"] == event_type), None)

    return poll(f"{event_type} in the history of {arn}", found)


def test_a_handler_written_with_aws_sdk_runs_through_the_service(server: Server) -> None:
    _register(server, "aws-sdk", f"{HANDLERS / 'aws_sdk_workflow.py'}:handler")
    out: list[Any] = []
    caller = threading.Thread(
        target=lambda: out.append(
            server.client.invoke(FunctionName="aws-sdk", Payload=b'{"a": 2, "b": 3}')
        ),
        daemon=True,
    )
    caller.start()
    arn = _wait_for_arn(server, "aws-sdk")
    started = _wait_for_event(server, arn, "CallbackStarted")
    callback_id = started["CallbackStartedDetails"]["CallbackId"]
    server.client.send_durable_execution_callback_success(
        CallbackId=callback_id, Result=b'"approved"'
    )
    caller.join(WAIT)
    [response] = out
    assert "FunctionError" not in response
    # AWS's SDK hands a callback's result over undecoded (its pass-through serdes).
    assert json.loads(response["Payload"].read()) == {"total": 5, "approval": '"approved"'}
    types = [e["EventType"] for e in _history(server, arn)]
    assert types[:3] == ["ExecutionStarted", "StepStarted", "StepSucceeded"]
    assert "CallbackSucceeded" in types
    assert types.count("InvocationCompleted") == 2  # suspended once on the callback
    assert types[-1] == "ExecutionSucceeded"


def _wait_for_arn(server: Server, function: str) -> str:
    def started() -> str | None:
        listed = server.client.list_durable_executions_by_function(FunctionName=function)
        executions = listed["DurableExecutions"]
        return str(executions[0]["DurableExecutionArn"]) if executions else None

    return poll(f"an execution of {function}", started)


def test_a_handler_that_kills_its_process_is_recorded_and_re_invoked(
    server: Server, tmp_path: Path
) -> None:
    invoker = _register(server, "exits", f"{HANDLERS / 'crashing.py'}:exits_once")
    marker = tmp_path / "marker"
    response = server.client.invoke(
        FunctionName="exits", Payload=json.dumps({"marker": str(marker)}).encode()
    )
    assert json.loads(response["Payload"].read()) == "recovered"
    assert marker.read_text() == "crashed once"
    events = _history(server, response["DurableExecutionArn"])
    [crash, clean] = [e for e in events if e["EventType"] == "InvocationCompleted"]
    error = crash["InvocationCompletedDetails"]["Error"]["Payload"]
    assert error["ErrorType"] == "Runtime.ExitError"
    assert "exit status 3" in error["ErrorMessage"]
    assert "Error" not in clean["InvocationCompletedDetails"]
    assert events[-1]["EventType"] == "ExecutionSucceeded"
    stats = invoker.statistics()
    assert stats.crashes_total == 1
    assert stats.invocations_total == 2


def test_a_worker_past_its_invocation_timeout_is_killed_and_re_invoked(
    server: Server, tmp_path: Path
) -> None:
    invoker = SubprocessInvoker(
        f"{HANDLERS / 'crashing.py'}:hangs_once", endpoint=server.endpoint, max_workers=1
    )
    # Long enough that the second invocation (a fresh worker that only answers)
    # never times out on a loaded machine; the first one sleeps far beyond it.
    server.register("hangs", invoker, invocation_timeout_seconds=8)
    marker = tmp_path / "marker"
    response = server.client.invoke(
        FunctionName="hangs", Payload=json.dumps({"marker": str(marker)}).encode()
    )
    assert json.loads(response["Payload"].read()) == "in time"
    left = [int(line) for line in marker.read_text().split()]
    assert len(left) == 2 and all(0 < ms <= 8000 for ms in left)
    events = _history(server, response["DurableExecutionArn"])
    [timed_out, clean] = [e for e in events if e["EventType"] == "InvocationCompleted"]
    assert timed_out["InvocationCompletedDetails"]["Error"]["Payload"] == {
        "ErrorType": "Sandbox.Timedout",
        "ErrorMessage": "Task timed out after 8.00 seconds",
    }
    assert "Error" not in clean["InvocationCompletedDetails"]
    assert invoker.statistics().invocations_total == 2
    assert invoker.statistics().workers_busy == 0


def test_a_handler_that_raises_fails_each_invocation_with_its_error(server: Server) -> None:
    _register(server, "raises", f"{HANDLERS / 'crashing.py'}:always_raises")
    response = server.client.invoke(FunctionName="raises", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    events = _history(server, response["DurableExecutionArn"])
    crashes = [e for e in events if e["EventType"] == "InvocationCompleted"]
    assert len(crashes) == 2  # retried once (max_crash_retries=1), then the execution failed
    for crash in crashes:
        error = crash["InvocationCompletedDetails"]["Error"]["Payload"]
        assert error["ErrorType"] == "ConnectionError"
        assert error["ErrorMessage"] == "database unreachable"
    assert events[-1]["EventType"] == "ExecutionFailed"


def test_an_answer_that_is_not_a_durable_answer_is_an_invocation_error(server: Server) -> None:
    _register(server, "nonsense", f"{HANDLERS / 'crashing.py'}:answers_nonsense")
    response = server.client.invoke(FunctionName="nonsense", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    events = _history(server, response["DurableExecutionArn"])
    crash = next(e for e in events if e["EventType"] == "InvocationCompleted")
    assert "not a durable execution answer" in json.dumps(crash, default=str)


def test_a_target_that_cannot_load_is_reported_by_start_and_by_invocations(
    server: Server,
) -> None:
    target = f"{HANDLERS / 'crashing.py'}:no_such_handler"

    async def start() -> None:
        async with SubprocessInvoker(target, endpoint=server.endpoint) as invoker:
            await invoker.start()

    with pytest.raises(ValidationError, match="has no attribute 'no_such_handler'"):
        trio.run(start)
    _register(server, "unloadable", target)
    response = server.client.invoke(FunctionName="unloadable", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    events = _history(server, response["DurableExecutionArn"])
    crash = next(e for e in events if e["EventType"] == "InvocationCompleted")
    error = crash["InvocationCompletedDetails"]["Error"]["Payload"]
    assert error["ErrorType"] == "Runtime.ImportModuleError"
    assert "no_such_handler" in error["ErrorMessage"]
