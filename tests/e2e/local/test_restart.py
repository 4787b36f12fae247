"""Kill the service mid-execution, start it again on the same SQLite file: every
execution, pending timer, open callback and interrupted invocation carries on."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from cli_harness import background
from local_service_harness import WAIT, lambda_client, poll

HANDLERS = Path(__file__).parent / "handlers" / "restartable.py"


def _serve_args(store: Path) -> list[str]:
    return [
        "serve",
        "--port",
        "0",
        "--store",
        f"sqlite:{store}",
        "--function",
        f"approve={HANDLERS}:approve",
        "--function",
        f"busy={HANDLERS}:busy",
    ]


def _events(client: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get_durable_execution_history(
        DurableExecutionArn=arn, IncludeExecutionData=True
    )["Events"]
    return events


def test_a_killed_service_resumes_everything_from_its_sqlite_file(tmp_path: Path) -> None:
    store = tmp_path / "state.db"
    marker = tmp_path / "busy-marker"
    with background(_serve_args(store)) as first:
        endpoint = first.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        client = lambda_client(endpoint)
        approve = client.invoke(FunctionName="approve", InvocationType="Event", Payload=b"{}")
        approve_arn = approve["DurableExecutionArn"]
        busy = client.invoke(
            FunctionName="busy",
            InvocationType="Event",
            Payload=json.dumps({"marker": str(marker)}).encode(),
        )
        busy_arn = busy["DurableExecutionArn"]

        def suspended() -> list[dict[str, Any]]:
            events = _events(client, approve_arn)
            types = {e["EventType"] for e in events}
            ready = {"CallbackStarted", "WaitStarted", "InvocationCompleted"} <= types
            return events if ready else []

        before = poll("the approval workflow to suspend", suspended)
        poll("the busy step to start", marker.exists)
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(WAIT)

    [callback_started] = [e for e in before if e["EventType"] == "CallbackStarted"]
    callback_id = callback_started["CallbackStartedDetails"]["CallbackId"]

    with background(_serve_args(store)) as second:
        endpoint = second.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        # The busy execution's invocation resumes at once, yet its live log follows
        # the whole banner (the log once raced it, cutting into the endpoint's line).
        second.assert_banner_first()
        client = lambda_client(endpoint)
        client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b'"yes"')

        def finished(arn: str) -> dict[str, Any] | None:
            execution: dict[str, Any] = client.get_durable_execution(DurableExecutionArn=arn)
            return execution if execution["Status"] != "RUNNING" else None

        approved = poll("the approval workflow to finish", lambda: finished(approve_arn))
        assert approved["Status"] == "SUCCEEDED"
        assert json.loads(approved["Result"]) == {"approval": '"yes"'}
        events = _events(client, approve_arn)
        assert events[: len(before)] == before  # the history before the kill is intact
        assert [e["EventId"] for e in events] == list(range(1, len(events) + 1))
        types = [e["EventType"] for e in events]
        assert "WaitSucceeded" in types and "CallbackSucceeded" in types
        assert types[-1] == "ExecutionSucceeded"

        done = poll("the busy workflow to finish", lambda: finished(busy_arn))
        assert done["Status"] == "SUCCEEDED"
        assert json.loads(done["Result"]) == "done"
        busy_events = _events(client, busy_arn)
        crashed = [
            e
            for e in busy_events
            if e["EventType"] == "InvocationCompleted"
            and "Error" in e["InvocationCompletedDetails"]
        ]
        assert len(crashed) == 1  # the invocation the kill interrupted
        assert [e["EventType"] for e in busy_events].count("StepStarted") >= 1
