"""The engine's reliability against a real ``trio-durable serve`` process: restarts
spend no crash budget, a reused ClientToken with another body is refused, ended
executions are read from the SQLite file on demand and deleted after their
retention period."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cli_harness import Running, background
from local_service_harness import WAIT, lambda_client, poll

from trio_durable.local.engine import Engine
from trio_durable.local.sqlite_store import SQLiteStore
from trio_durable.wire import OperationAction, OperationType, OperationUpdate

HANDLERS = Path(__file__).parent / "handlers" / "engine_faults.py"
DAY = 86_400


@contextmanager
def _serve(store: Path, *options: str) -> Iterator[tuple[Running, Any]]:
    args = ["serve", "--port", "0", "--store", f"sqlite:{store}", *options]
    with background(args) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        yield server, lambda_client(endpoint)


def _kill(server: Running) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(WAIT)


def _statuses(client: Any, function: str) -> dict[str, str]:
    listed = client.list_durable_executions_by_function(FunctionName=function, MaxItems=1000)
    return {e["DurableExecutionArn"]: e["Status"] for e in listed["DurableExecutions"]}


def test_restarts_with_queued_invocations_never_fail_an_execution(tmp_path: Path) -> None:
    store = tmp_path / "state.db"
    options = ("--invoker", "subprocess", "--function", f"slow={HANDLERS}:slow_step")
    with _serve(store, *options) as (server, client):
        arns = [
            client.invoke(
                FunctionName="slow", InvocationType="Event", Payload=json.dumps({"n": n})
            )["DurableExecutionArn"]
            for n in range(20)
        ]
        time.sleep(0.5)
        _kill(server)
    for _ in range(3):  # three more restarts, each soon after the service started
        with _serve(store, *options) as (server, client):
            time.sleep(0.5)
            _kill(server)
    with _serve(store, *options) as (server, client):

        def all_ended() -> dict[str, str] | None:
            statuses = _statuses(client, "slow")
            return statuses if "RUNNING" not in statuses.values() else None

        statuses = poll("every execution to end", all_ended)
        assert statuses == dict.fromkeys(arns, "SUCCEEDED")
        errors: list[str] = []
        for n, arn in enumerate(arns):
            execution = client.get_durable_execution(DurableExecutionArn=arn)
            assert json.loads(execution["Result"]) == 2 * n
            events = client.get_durable_execution_history(
                DurableExecutionArn=arn, IncludeExecutionData=True
            )["Events"]
            errors.extend(
                e["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"]
                for e in events
                if e["EventType"] == "InvocationCompleted"
                and "Error" in e["InvocationCompletedDetails"]
            )
        # Every restart found invocations in flight (queued or running): each of the
        # 20 was interrupted at least 4 times, and nothing but a restart ended one.
        assert set(errors) == {"Runtime.ServiceRestarted"}
        assert len(errors) >= 4 * 20


def test_a_client_token_reused_with_another_body_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "held"
    folder.mkdir()
    with _serve(tmp_path / "state.db", "--function", f"held={HANDLERS}:holder") as (_, client):
        arn = client.invoke(
            FunctionName="held",
            InvocationType="Event",
            Payload=json.dumps({"dir": str(folder)}),
        )["DurableExecutionArn"]
        event_file = folder / "event.json"
        poll("the handler to start", event_file.exists)
        token = json.loads(event_file.read_text())["CheckpointToken"]
        step = {"Id": "s1", "Type": "STEP", "Action": "START", "Name": "first"}
        wait = {"Id": "w1", "Type": "WAIT", "Action": "START", "WaitOptions": {"WaitSeconds": 5}}

        def checkpoint(updates: list[dict[str, Any]]) -> dict[str, Any]:
            answer: dict[str, Any] = client.checkpoint_durable_execution(
                DurableExecutionArn=arn,
                CheckpointToken=token,
                ClientToken="call-1",
                Updates=updates,
            )
            return answer

        first = checkpoint([step])
        history = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
        with pytest.raises(client.exceptions.InvalidParameterValueException) as refused:
            checkpoint([wait])
        assert "ClientToken" in str(refused.value) and "call-1" in str(refused.value)
        again = checkpoint([step])
        assert again["CheckpointToken"] == first["CheckpointToken"]
        assert client.get_durable_execution_history(DurableExecutionArn=arn)["Events"] == history
        state = client.get_durable_execution_state(
            DurableExecutionArn=arn, CheckpointToken=first["CheckpointToken"]
        )
        assert [op["Id"] for op in state["Operations"]][1:] == ["s1"]  # no WAIT
        (folder / "release").write_text("")


def _ended_long_ago(store_path: Path, days_ago: float, name: str) -> str:
    """An execution of ``held`` that ended ``days_ago`` days ago, written to the file
    by an engine whose clock is set back."""
    store = SQLiteStore(store_path)
    now = time.time() - days_ago * DAY
    try:
        engine = Engine(store=store, clock=lambda: now, retention_period_days=90)
        engine.functions.add("held")
        arn = engine.start_execution("held", '{"dir": "-"}', execution_name=name).arn
        [request] = engine.take_invocations()
        token = request.checkpoint_token
        engine.checkpoint(
            arn,
            token,
            [OperationUpdate("s1", OperationType.STEP, OperationAction.START, name="first")],
        )
        engine.finish_invocation(arn, request.request_id, {"Status": "SUCCEEDED", "Result": "1"})
        assert engine.is_closed(arn)
        return arn
    finally:
        store.close()


def test_ended_executions_are_kept_for_their_retention_period(tmp_path: Path) -> None:
    store = tmp_path / "state.db"
    old = _ended_long_ago(store, 15, "old")
    recent = _ended_long_ago(store, 13, "recent")
    with _serve(store, "--function", f"held={HANDLERS}:holder") as (_, client):
        poll("the old execution to be deleted", lambda: old not in _statuses(client, "held"))
        assert _statuses(client, "held") == {recent: "SUCCEEDED"}
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_durable_execution(DurableExecutionArn=old)
        # The kept one's history is read from the file on demand, complete.
        events = client.get_durable_execution_history(DurableExecutionArn=recent)["Events"]
        assert events[0]["EventType"] == "ExecutionStarted"
        assert events[-1]["EventType"] == "ExecutionSucceeded"
        assert [e["EventId"] for e in events] == list(range(1, len(events) + 1))
    with _serve(store, "--function", f"held={HANDLERS}:holder", "--retention-days", "1") as (
        _,
        client,
    ):
        poll("the recent execution to be deleted", lambda: not _statuses(client, "held"))


def test_a_bad_retention_period_is_refused_in_one_line(tmp_path: Path) -> None:
    from cli_harness import cli

    done = cli("serve", "--port", "0", "--store", "memory", "--retention-days", "0")
    assert done.returncode == 2
    assert "--retention-days" in done.stderr and "1 to 90" in done.stderr
    assert "Traceback" not in done.stderr
