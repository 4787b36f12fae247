"""``trio-durable pause``, ``resume`` and ``delete`` through the console script, against
a served function and against ``run``'s own service (whose timeline shows them)."""

from __future__ import annotations

import io
import json
import math
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import trio.testing
from cli_harness import background, cli
from local_service_harness import lambda_client, poll

from trio_durable.cli.render import describe_event
from trio_durable.cli.timeline import Timeline
from trio_durable.local import history
from trio_durable.local.history import NO_DETAILS, new_event
from trio_durable.local.store import ExecutionChange, ExecutionRecord, PauseState
from trio_durable.wire import ExecutionStatus

HANDLERS = Path(__file__).parent / "handlers"


def _suspended_on_callback(client: Any, arn: str) -> str:
    """The callback id, once the execution's invocation has ended waiting for it."""

    def ready() -> str | None:
        events = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
        types = [e["EventType"] for e in events]
        if "CallbackStarted" not in types or types[-1] != "InvocationCompleted":
            return None
        [started] = [e for e in events if e["EventType"] == "CallbackStarted"]
        return str(started["CallbackStartedDetails"]["CallbackId"])

    return poll(f"{arn} to wait for its callback", ready)


def _status(client: Any, arn: str) -> str:
    return str(client.get_durable_execution(DurableExecutionArn=arn)["Status"])


def test_pause_resume_and_delete_commands_against_a_served_function() -> None:
    target = f"{HANDLERS / 'trio_workflow.py'}:handler"
    args = ["serve", "--port", "0", "--store", "memory", "--function", f"orders={target}"]
    with background(args) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        client = lambda_client(endpoint)
        env = {"AWS_ENDPOINT_URL_LAMBDA": endpoint}
        arn = client.invoke(
            FunctionName="orders", InvocationType="Event", Payload=b'{"sku": "C3"}'
        )["DurableExecutionArn"]
        callback_id = _suspended_on_callback(client, arn)

        paused = cli("pause", arn, "--reason", "night", "--execution-timeout-paused", env=env)
        assert paused.returncode == 0, paused.stderr
        assert paused.stdout.strip() == f"execution PAUSED: {arn}"
        details = client.get_durable_execution(DurableExecutionArn=arn)["PauseDetails"]
        assert details["Reason"] == "night" and details["ExecutionTimeoutPaused"] is True

        twice = cli("pause", arn, env=env)
        assert twice.returncode == 1
        assert "ResourceConflictException" in twice.stderr and "PAUSED" in twice.stderr
        early = cli("delete", arn, env=env)
        assert early.returncode == 1 and "ResourceConflictException" in early.stderr

        sent = cli("callback", "succeed", callback_id, '"ok"', env=env)
        assert sent.returncode == 0, sent.stderr
        assert _status(client, arn) == "PAUSED"  # the callback completed; nothing ran
        listed = cli("executions", "--function", "orders", "--status", "PAUSED", env=env)
        assert arn.split("/")[-2] in listed.stdout and "PAUSED" in listed.stdout
        table = cli("history", arn, env=env)
        assert "execution paused: night (execution timeout paused)" in table.stdout

        resumed = cli("resume", arn, "--reason", "morning", env=env)
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stdout.strip() in (
            f"execution RUNNING: {arn}",
            f"execution SUCCEEDED: {arn}",
        )
        poll("the execution to succeed", lambda: _status(client, arn) == "SUCCEEDED")
        assert "execution resumed: morning" in cli("history", arn, env=env).stdout

        deleted = cli("delete", arn, env=env)
        assert deleted.returncode == 0, deleted.stderr
        assert deleted.stdout.strip() == f"execution deleted: {arn}"
        gone = cli("history", arn, env=env)
        assert gone.returncode == 1 and "ResourceNotFoundException" in gone.stderr


def test_run_timeline_shows_a_pause_and_a_resume() -> None:
    workflow = f"{HANDLERS / 'aws_sdk_workflow.py'}:handler"
    with background(["run", workflow, "--input", '{"a": 1, "b": 2}']) as run:
        command = run.wait_for_line(r"complete it: (trio-durable callback succeed .*)").group(1)
        run.wait_for_line(r"execution suspended")
        endpoint = run.wait_for_line(r"--endpoint (http://\S+)").group(1)
        client = lambda_client(endpoint)
        [row] = client.list_durable_executions_by_function(FunctionName="handler")[
            "DurableExecutions"
        ]
        arn = row["DurableExecutionArn"]
        assert cli("pause", arn, "--reason", "hold on", "--endpoint", endpoint).returncode == 0
        run.wait_for_line(r"\] execution paused: hold on$")
        args = shlex.split(command.replace("'<json result>'", """'"yes"'"""))
        assert cli(*args[1:]).returncode == 0
        assert cli("resume", arn, "--endpoint", endpoint).returncode == 0
        run.wait_for_line(r"\] execution resumed$")
        run.wait_for_line(r"invocation #2 started \(replay\)")
        run.wait_for_line(r"execution SUCCEEDED")
        status, out, timeline = run.finish()
    assert status == 0, timeline
    assert json.loads(out) == {"total": 3, "approval": '"yes"'}
    assert timeline.index("execution paused") < timeline.index("callback 'approval' succeeded")
    assert timeline.index("callback 'approval' succeeded") < timeline.index("execution resumed")
    assert timeline.index("execution resumed") < timeline.index("invocation #2 started")


def test_the_timeline_describes_pauses_and_holds_a_virtual_clock_while_paused() -> None:
    clock = trio.testing.MockClock(autojump_threshold=0)
    out = io.StringIO()
    timeline = Timeline("orders", "http://127.0.0.1:1", clock=clock, out=out)
    record = ExecutionRecord(
        arn="arn-1",
        name="n",
        function_name="orders",
        status=ExecutionStatus.RUNNING,
        start_timestamp=1000.0,
        input_payload="{}",
        checkpoint_token="t",
        timeout_seconds=60,
        event_count=0,
        invocation_id="req-1",
    )
    timeline.on_write([ExecutionChange(record)])
    paused = replace(record, pause=PauseState(1001.0, "deploy", timeout_paused=True))
    event = new_event(
        "ExecutionPaused", 2, 1001.0, history.execution_paused(1001.0, "deploy", True)
    )
    timeline.on_write([ExecutionChange(paused, events=(event,))])
    assert "[00:00:01.000] execution paused: deploy (execution timeout paused)" in out.getvalue()
    ended = replace(paused, invocation_id=None, wake=True)
    completed = new_event("InvocationCompleted", 3, 1002.0, NO_DETAILS)
    timeline.on_write([ExecutionChange(ended, events=(completed,))])
    assert "invocation completed, execution paused" in out.getvalue()
    assert clock.autojump_threshold == math.inf  # only a resume moves a paused execution
    resumed = replace(ended, pause=None)
    timeline.on_write([ExecutionChange(resumed)])
    assert clock.autojump_threshold == 0
    plain = {"EventType": "ExecutionResumed", "ExecutionResumedDetails": {}}
    assert describe_event(plain) == "execution resumed"
