"""Virtual time: a service on a MockClock over HTTP (the test moves the clock), and
``run --skip-time`` on the command line (the clock jumps whenever nothing else can
move the execution on)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio.testing
from cli_harness import background, cli
from local_service_harness import ParkedInvoker, Server, running_server

WAITS_WORKFLOW = f"{Path(__file__).parent / 'handlers' / 'aws_sdk_waits.py'}:handler"


CLOCK = trio.testing.MockClock()


@pytest.fixture(scope="module")
def virtual_time_server() -> Iterator[Server]:
    with running_server(clock=CLOCK) as running:
        yield running


def _callback(server: Server, invoker: ParkedInvoker, options: dict[str, int]) -> str:
    response = server.client.invoke(FunctionName="timeouts", InvocationType="Event", Payload=b"{}")
    parked = invoker.next()
    update: dict[str, Any] = {
        "Id": "cb",
        "Type": "CALLBACK",
        "Action": "START",
        "CallbackOptions": options,
    }
    result = server.client.checkpoint_durable_execution(
        DurableExecutionArn=response["DurableExecutionArn"],
        CheckpointToken=parked.token,
        Updates=[update],
    )
    parked.answer({"Status": "PENDING"})
    callback_id: str = result["NewExecutionState"]["Operations"][0]["CallbackDetails"]["CallbackId"]
    return callback_id


@pytest.mark.parametrize(
    ("options", "error_type"),
    [
        ({"TimeoutSeconds": 60}, "Callback.Timeout"),
        ({"HeartbeatTimeoutSeconds": 30}, "Callback.Heartbeat"),
    ],
)
def test_a_timed_out_callback_answers_callback_timeout(
    virtual_time_server: Server, options: dict[str, int], error_type: str
) -> None:
    server = virtual_time_server
    invoker = ParkedInvoker()
    server.register("timeouts", invoker)
    callback_id = _callback(server, invoker, options)
    server.call(CLOCK.jump, 61)  # past either timeout: the function is re-invoked
    parked = invoker.next()
    state = server.client.get_durable_execution_state(
        DurableExecutionArn=parked.arn, CheckpointToken=parked.token
    )
    [op] = [o for o in state["Operations"] if o["Id"] == "cb"]
    assert op["Status"] == "TIMED_OUT"
    assert op["CallbackDetails"]["Error"]["ErrorType"] == error_type
    client = server.client
    sends: list[Callable[[], Any]] = [
        lambda: client.send_durable_execution_callback_heartbeat(CallbackId=callback_id),
        lambda: client.send_durable_execution_callback_success(CallbackId=callback_id),
        lambda: client.send_durable_execution_callback_failure(CallbackId=callback_id),
    ]
    for send in sends:
        with pytest.raises(client.exceptions.CallbackTimeoutException):
            send()
    parked.answer({"Status": "SUCCEEDED"})


def test_run_skip_time_skips_a_one_hour_wait() -> None:
    completed = cli("run", WAITS_WORKFLOW, "--input", '{"tag": "t"}', "--skip-time")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == "before-t-after"
    assert "wait 'an-hour' started for 3600 s" in completed.stderr
    assert "[01:00:0" in completed.stderr  # the wait ended an hour into the execution


def test_skip_time_holds_the_clock_while_a_callback_waits_for_the_outside() -> None:
    workflow = f"{Path(__file__).parent / 'handlers' / 'aws_sdk_workflow.py'}:handler"
    args = ["run", workflow, "--input", '{"a": 1, "b": 2}', "--skip-time"]
    with background(args) as run:
        command = run.wait_for_line(r"complete it: (trio-durable callback succeed .*)").group(1)
        run.wait_for_line(r"execution suspended")
        # Skipping the callback's 5-minute timeout now would time it out at once.
        args = shlex.split(command.replace("'<json result>'", "'\"late but fine\"'"))
        completed = cli(*args[1:])
        assert completed.returncode == 0, completed.stderr
        status, out, err = run.finish()
    assert status == 0, err
    assert json.loads(out) == {"total": 3, "approval": '"late but fine"'}
    assert "TimedOut" not in err and "timed out" not in err
