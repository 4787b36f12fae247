"""PauseDurableExecution, ResumeDurableExecution and DeleteDurableExecution through
real boto3 against the real HTTP service: the test plays the handler
(``ParkedInvoker``), a real trio-durable workflow is paused during its wait, and a
SQLite store keeps a pause across a restart and loses every row of a deletion."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trio.testing
from local_service_harness import ParkedInvoker, Server, lambda_client, poll, running_server

from trio_durable import DurableContext, durable_execution
from trio_durable.local.invokers import InProcessInvoker
from trio_durable.local.sqlite_store import SQLiteStore


def _start(client: Any, name: str) -> str:
    arn: str = client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")[
        "DurableExecutionArn"
    ]
    return arn


def _events(client: Any, arn: str, **options: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get_durable_execution_history(
        DurableExecutionArn=arn, **options
    )["Events"]
    return events


def _types(client: Any, arn: str) -> list[str]:
    return [e["EventType"] for e in _events(client, arn)]


def _status_is(client: Any, arn: str, status: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        execution: dict[str, Any] = client.get_durable_execution(DurableExecutionArn=arn)
        return execution if execution["Status"] == status else None

    return poll(f"{arn} to be {status}", check)


def _step_start(op_id: str = "s1") -> dict[str, Any]:
    return {"Id": op_id, "Type": "STEP", "Action": "START", "SubType": "Step", "Name": op_id}


def test_pause_during_an_invocation_then_resume_and_delete(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    client = server.client
    arn = _start(client, name)
    parked = invoker.next()
    assert (
        client.pause_durable_execution(
            DurableExecutionArn=arn, Reason="deploying a fix", ClientToken="pause-1"
        )["ResponseMetadata"]["HTTPStatusCode"]
        == 202
    )
    execution = client.get_durable_execution(DurableExecutionArn=arn)
    assert execution["Status"] == "PAUSING"
    details = execution["PauseDetails"]
    assert details["Reason"] == "deploying a fix" and details["ExecutionTimeoutPaused"] is False
    assert details["PauseRequestTimestamp"] >= execution["StartTimestamp"]
    client.checkpoint_durable_execution(  # its next checkpoint is applied, then it is cut
        DurableExecutionArn=arn, CheckpointToken=parked.token, Updates=[_step_start()]
    )
    _status_is(client, arn, "PAUSED")
    listed = client.list_durable_executions_by_function(FunctionName=name, Statuses=["PAUSED"])
    assert [e["DurableExecutionArn"] for e in listed["DurableExecutions"]] == [arn]
    running = client.list_durable_executions_by_function(FunctionName=name, Statuses=["RUNNING"])
    assert running["DurableExecutions"] == []
    with pytest.raises(client.exceptions.ResourceConflictException, match="PAUSED"):
        client.pause_durable_execution(DurableExecutionArn=arn)
    with pytest.raises(client.exceptions.ResourceConflictException, match="PAUSED"):
        client.delete_durable_execution(DurableExecutionArn=arn)
    client.pause_durable_execution(  # a retry of the same request
        DurableExecutionArn=arn, Reason="deploying a fix", ClientToken="pause-1"
    )

    client.resume_durable_execution(DurableExecutionArn=arn, Reason="fixed", ClientToken="r-1")
    client.resume_durable_execution(DurableExecutionArn=arn, Reason="fixed", ClientToken="r-1")
    again = invoker.next()  # the cut invocation is owed again
    assert "PauseDetails" not in client.get_durable_execution(DurableExecutionArn=arn)
    with pytest.raises(client.exceptions.ResourceConflictException, match="RUNNING"):
        client.resume_durable_execution(DurableExecutionArn=arn)
    with pytest.raises(client.exceptions.ResourceConflictException, match="RUNNING"):
        client.delete_durable_execution(DurableExecutionArn=arn)
    again.answer({"Status": "SUCCEEDED", "Result": '"done"'})
    _status_is(client, arn, "SUCCEEDED")

    events = _events(client, arn, IncludeExecutionData=True)
    assert [e["EventId"] for e in events] == list(range(1, len(events) + 1))
    assert [e["EventType"] for e in events] == [
        "ExecutionStarted",
        "ExecutionPaused",
        "StepStarted",
        "InvocationCompleted",
        "ExecutionResumed",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    paused = events[1]["ExecutionPausedDetails"]
    assert paused["Reason"] == {"Payload": "deploying a fix", "Truncated": False}
    assert paused["PauseRequestTimestamp"] == details["PauseRequestTimestamp"]
    assert paused["ExecutionTimeoutPaused"] is False
    assert "Error" not in events[3]["InvocationCompletedDetails"]
    assert events[4]["ExecutionResumedDetails"]["Reason"]["Payload"] == "fixed"
    without_data = _events(client, arn)[1]["ExecutionPausedDetails"]
    assert without_data["Reason"] == {"Truncated": False}

    deleted = client.delete_durable_execution(DurableExecutionArn=arn)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert deleted["DeletionRequestTimestamp"] >= events[-1]["EventTimestamp"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_durable_execution(DurableExecutionArn=arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_durable_execution_history(DurableExecutionArn=arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_durable_execution(DurableExecutionArn=arn)
    assert client.list_durable_executions_by_function(FunctionName=name)["DurableExecutions"] == []


def test_a_paused_execution_timeout_shows_the_longest_expected_timeout(
    server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    name, invoker = fn
    client = server.client
    arn = _start(client, name)
    invoker.next().answer({"Status": "PENDING"})  # nothing pending: it fails NoProgress
    _status_is(client, arn, "FAILED")
    with pytest.raises(client.exceptions.ResourceConflictException, match="FAILED"):
        client.pause_durable_execution(DurableExecutionArn=arn)

    arn = _start(client, name)
    parked = invoker.next()
    update = {"Id": "cb", "Type": "CALLBACK", "Action": "START", "Name": "approval"}
    client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=parked.token, Updates=[update]
    )
    parked.answer({"Status": "PENDING"})
    poll("the invocation to end", lambda: _types(client, arn)[-1] == "InvocationCompleted")
    before = client.get_durable_execution(DurableExecutionArn=arn)
    assert before["ExpectedExecutionTimeoutTimestamp"] - before["StartTimestamp"] == timedelta(
        days=1
    )
    client.pause_durable_execution(DurableExecutionArn=arn, ExecutionTimeoutPaused=True)
    paused = client.get_durable_execution(DurableExecutionArn=arn)
    assert paused["Status"] == "PAUSED"
    assert paused["PauseDetails"]["ExecutionTimeoutPaused"] is True
    expected = paused["ExpectedExecutionTimeoutTimestamp"] - paused["StartTimestamp"]
    assert abs(expected - timedelta(days=366)) < timedelta(milliseconds=1)
    client.stop_durable_execution(DurableExecutionArn=arn)  # stop works on a paused execution
    stopped = _status_is(client, arn, "STOPPED")
    assert "PauseDetails" not in stopped and "ExpectedExecutionTimeoutTimestamp" not in stopped
    with pytest.raises(client.exceptions.ResourceConflictException, match="STOPPED"):
        client.resume_durable_execution(DurableExecutionArn=arn)


def test_invalid_requests_name_the_field(server: Server, fn: tuple[str, ParkedInvoker]) -> None:
    name, invoker = fn
    unchecked = lambda_client(server.endpoint, parameter_validation=False)
    arn = _start(server.client, name)
    parked = invoker.next()
    with pytest.raises(unchecked.exceptions.InvalidParameterValueException, match="Reason"):
        unchecked.pause_durable_execution(DurableExecutionArn=arn, Reason="x" * 1025)
    with pytest.raises(
        unchecked.exceptions.InvalidParameterValueException, match="ExecutionTimeoutPaused"
    ):
        unchecked.pause_durable_execution(DurableExecutionArn=arn, ExecutionTimeoutPaused="no")
    with pytest.raises(unchecked.exceptions.InvalidParameterValueException, match="ClientToken"):
        unchecked.resume_durable_execution(DurableExecutionArn=arn, ClientToken="")
    ghost = arn.rsplit("/", 1)[0] + "/ghost"
    with pytest.raises(unchecked.exceptions.ResourceNotFoundException):
        unchecked.pause_durable_execution(DurableExecutionArn=ghost)
    with pytest.raises(unchecked.exceptions.ResourceNotFoundException):
        unchecked.delete_durable_execution(DurableExecutionArn=ghost)
    assert server.client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING"
    parked.answer({"Status": "SUCCEEDED"})


# --- a real workflow, paused during its wait ------------------------------------------------


def _first(value: int) -> int:
    return value + 1


def _second(value: int) -> int:
    return value * 10


@durable_execution
async def waiting_workflow(event: dict[str, Any], ctx: DurableContext) -> int:
    value = await ctx.step(_first, event["n"], name="first")
    await ctx.wait(3600, name="an hour")
    result: int = await ctx.step(_second, value, name="second")
    return result


def test_a_workflow_paused_during_its_wait_goes_on_only_when_resumed() -> None:
    clock = trio.testing.MockClock()  # moves only when the test jumps it
    with running_server(clock=clock) as server:
        server.register("waits", InProcessInvoker(waiting_workflow))
        client = server.client
        arn = client.invoke(FunctionName="waits", InvocationType="Event", Payload=b'{"n": 4}')[
            "DurableExecutionArn"
        ]
        poll(
            "the workflow to suspend in its wait",
            lambda: "InvocationCompleted" in _types(client, arn),
        )
        client.pause_durable_execution(DurableExecutionArn=arn, Reason="hold")
        assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "PAUSED"
        server.call(clock.jump, 3601)  # past the wait's end
        poll("the wait to end", lambda: "WaitSucceeded" in _types(client, arn))
        # The timer fired and the scheduler ran in the same step: nothing was invoked.
        assert server.call(server.service.statistics).invocations_total == 1
        assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "PAUSED"
        client.resume_durable_execution(DurableExecutionArn=arn)
        done = _status_is(client, arn, "SUCCEEDED")
        assert json.loads(done["Result"]) == 50
        types = _types(client, arn)
        assert types.index("ExecutionPaused") < types.index("WaitSucceeded")
        assert types.index("WaitSucceeded") < types.index("ExecutionResumed")
        assert types.index("ExecutionResumed") < types.index(
            "StepStarted", types.index("WaitSucceeded")
        )
        assert types.count("InvocationCompleted") == 2


# --- SQLite: a pause survives a restart, a deletion leaves no rows ------------------------


def _rows(path: Path, arn: str) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        return {
            table: conn.execute(f"SELECT COUNT(*) FROM {table} WHERE arn = ?", (arn,)).fetchone()[0]
            for table in ("executions", "operations", "events")
        }


def _callback_pending(server: Server, invoker: ParkedInvoker, name: str) -> tuple[str, str]:
    client = server.client
    arn = _start(client, name)
    parked = invoker.next()
    update = {"Id": "cb", "Type": "CALLBACK", "Action": "START"}
    result = client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=parked.token, Updates=[update]
    )
    parked.answer({"Status": "PENDING"})
    poll("the invocation to end", lambda: _types(client, arn)[-1] == "InvocationCompleted")
    callback_id: str = result["NewExecutionState"]["Operations"][-1]["CallbackDetails"][
        "CallbackId"
    ]
    return arn, callback_id


def test_sqlite_keeps_a_pause_across_a_restart_and_drops_a_deleted_execution(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    try:
        with running_server(store=store) as server:
            invoker = ParkedInvoker()
            server.register("f", invoker)
            client = server.client
            paused_arn, callback_id = _callback_pending(server, invoker, "f")
            client.pause_durable_execution(
                DurableExecutionArn=paused_arn, Reason="night", ExecutionTimeoutPaused=True
            )
            client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"1")
            before = client.get_durable_execution(DurableExecutionArn=paused_arn)
            assert before["Status"] == "PAUSED"

            doomed = _start(client, "f")
            invoker.next().answer({"Status": "SUCCEEDED"})
            _status_is(client, doomed, "SUCCEEDED")
            client.delete_durable_execution(DurableExecutionArn=doomed)
    finally:
        store.close()
    assert _rows(path, doomed) == {"executions": 0, "operations": 0, "events": 0}
    assert _rows(path, paused_arn)["events"] > 0

    store = SQLiteStore(path)
    try:
        with running_server(store=store) as server:
            invoker = ParkedInvoker()
            server.register("f", invoker)
            client = server.client
            after = client.get_durable_execution(DurableExecutionArn=paused_arn)
            assert after["Status"] == "PAUSED"
            assert after["PauseDetails"] == before["PauseDetails"]
            assert (
                after["ExpectedExecutionTimeoutTimestamp"]
                == (before["ExpectedExecutionTimeoutTimestamp"])
            )
            with pytest.raises(client.exceptions.ResourceNotFoundException):
                client.get_durable_execution(DurableExecutionArn=doomed)
            client.resume_durable_execution(DurableExecutionArn=paused_arn)
            invoker.next().answer({"Status": "SUCCEEDED", "Result": '"after"'})
            _status_is(client, paused_arn, "SUCCEEDED")
            types = _types(client, paused_arn)
            assert types[types.index("CallbackSucceeded") + 1] == "ExecutionResumed"
    finally:
        store.close()
