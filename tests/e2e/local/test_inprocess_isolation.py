"""What ``trio-durable serve --invoker inprocess`` survives from its handlers: a sync
step or a blocked loop outliving its invocation (timed out, stopped, paused), and
``BaseException``s out of handlers and steps. Each test runs a real ``serve``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cli_harness import Running, background
from local_service_harness import WAIT, lambda_client, poll

HANDLERS = Path(__file__).parent / "handlers" / "unruly.py"
FUNCTIONS = [
    "sync_step_blocks",
    "loop_blocks",
    "handler_raises",
    "sync_step_raises",
    "async_step_raises",
    "plain_raises",
    "quick",
]
SHORT_TIMEOUT = 3


@contextmanager
def _serve(*options: str) -> Iterator[tuple[Running, Any]]:
    args = ["serve", "--port", "0", "--store", "memory", *options]
    for name in FUNCTIONS:
        args += ["--function", f"{name}={HANDLERS}:{name}"]
    with background(args) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        yield server, lambda_client(endpoint)


@pytest.fixture(scope="module")
def patient() -> Iterator[tuple[Running, Any]]:
    """A service whose invocations may run 900 s."""
    with _serve() as served:
        yield served


@pytest.fixture(scope="module")
def hasty() -> Iterator[tuple[Running, Any]]:
    """A service whose invocations time out after a few seconds."""
    with _serve("--invocation-timeout", str(SHORT_TIMEOUT)) as served:
        yield served


@pytest.fixture
def files(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The handler's files; released at the end, so no thread stays blocked."""
    paths = {name: str(tmp_path / name) for name in ("started", "release", "once")}
    yield paths
    Path(paths["release"]).write_text("released")


def _start(client: Any, function: str, event: dict[str, Any]) -> str:
    started = client.invoke(
        FunctionName=function, InvocationType="Event", Payload=json.dumps(event).encode()
    )
    return str(started["DurableExecutionArn"])


def _events(client: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get_durable_execution_history(
        DurableExecutionArn=arn, IncludeExecutionData=True
    )["Events"]
    return events


def _status(client: Any, arn: str) -> str:
    return str(client.get_durable_execution(DurableExecutionArn=arn)["Status"])


def _until_status(client: Any, arn: str, *wanted: str) -> str:
    return poll(
        f"{arn} to be {' or '.join(wanted)}",
        lambda: _status(client, arn) in wanted and _status(client, arn),
    )


def _invocation_errors(client: Any, arn: str) -> list[dict[str, Any]]:
    return [
        e["InvocationCompletedDetails"]["Error"]["Payload"]
        for e in _events(client, arn)
        if e["EventType"] == "InvocationCompleted" and "Error" in e["InvocationCompletedDetails"]
    ]


def _until_step_started(client: Any, arn: str, files: dict[str, str]) -> None:
    """Until the blocking step body runs and its StepStarted is checkpointed (so
    the invocation's next checkpoint is the step's end)."""
    poll("the step to block", Path(files["started"]).exists)
    poll("its start", lambda: _events(client, arn)[-1]["EventType"] == "StepStarted")


def _result(client: Any, arn: str) -> Any:
    assert _until_status(client, arn, "SUCCEEDED", "FAILED") == "SUCCEEDED", _events(client, arn)
    return json.loads(client.get_durable_execution(DurableExecutionArn=arn)["Result"])


def test_a_sync_step_outliving_its_invocation_timeout_is_timed_out_and_retried(
    hasty: tuple[Running, Any], files: dict[str, str]
) -> None:
    _, client = hasty
    arn = _start(client, "sync_step_blocks", files)
    # The first attempt's body stays blocked in its thread; the invocation ends anyway.
    assert _result(client, arn) == ["step done", "after"]
    [timed_out] = _invocation_errors(client, arn)
    assert timed_out["ErrorType"] == "Sandbox.Timedout"
    assert Path(files["started"]).exists() and not Path(files["release"]).exists()


def test_stopping_an_execution_during_a_sync_step_ends_it_at_once(
    patient: tuple[Running, Any], files: dict[str, str]
) -> None:
    server, client = patient
    arn = _start(client, "sync_step_blocks", files)
    poll("the step to block", Path(files["started"]).exists)
    client.stop_durable_execution(DurableExecutionArn=arn)
    server.wait_for_line(rf"sync_step_blocks \({re.escape(arn)}\) was cancelled .* abandoned")
    poll("ExecutionStopped", lambda: _events(client, arn)[-1]["EventType"] == "ExecutionStopped")
    assert _status(client, arn) == "STOPPED"
    client.delete_durable_execution(DurableExecutionArn=arn)  # its last invocation has ended
    assert not Path(files["release"]).exists()  # while the step body still blocks


def test_a_pause_during_a_sync_step_takes_effect_at_its_checkpoint_and_resume_finishes(
    patient: tuple[Running, Any], files: dict[str, str]
) -> None:
    _, client = patient
    arn = _start(client, "sync_step_blocks", files)
    _until_step_started(client, arn, files)
    client.pause_durable_execution(DurableExecutionArn=arn)
    assert _status(client, arn) == "PAUSING"  # until the invocation's next checkpoint
    Path(files["release"]).write_text("released")
    _until_status(client, arn, "PAUSED")
    client.resume_durable_execution(DurableExecutionArn=arn)
    assert _result(client, arn) == ["step done", "after"]


def test_a_paused_execution_whose_sync_step_outlives_the_timeout_is_paused_and_resumes(
    hasty: tuple[Running, Any], files: dict[str, str]
) -> None:
    _, client = hasty
    arn = _start(client, "sync_step_blocks", files)
    _until_step_started(client, arn, files)
    client.pause_durable_execution(DurableExecutionArn=arn)
    _until_status(client, arn, "PAUSED")  # the timed-out invocation ended the PAUSING
    [timed_out] = _invocation_errors(client, arn)
    assert timed_out["ErrorType"] == "Sandbox.Timedout"
    client.resume_durable_execution(DurableExecutionArn=arn)
    assert _result(client, arn) == ["step done", "after"]


def test_a_handler_blocking_its_loop_neither_freezes_the_service_nor_escapes_its_timeout(
    hasty: tuple[Running, Any], files: dict[str, str]
) -> None:
    _, client = hasty
    arn = _start(client, "loop_blocks", files)
    poll("the handler to block", Path(files["started"]).exists)
    # While it blocks, another execution runs from start to end.
    answer = client.invoke(FunctionName="quick", Payload=b"{}")
    assert json.loads(answer["Payload"].read()) == "served"
    assert _result(client, arn) == "unblocked"  # after the timed-out first attempt
    [timed_out] = _invocation_errors(client, arn)
    assert timed_out["ErrorType"] == "Sandbox.Timedout"
    assert not Path(files["release"]).exists()


@pytest.mark.parametrize(
    ("function", "kind", "error_type"),
    [
        ("handler_raises", "SystemExit", "Runtime.ExitError"),
        ("handler_raises", "KeyboardInterrupt", "KeyboardInterrupt"),
        ("handler_raises", "Custom", "Custom"),
        ("sync_step_raises", "SystemExit", "Runtime.ExitError"),
        ("sync_step_raises", "Custom", "Custom"),
        ("async_step_raises", "KeyboardInterrupt", "KeyboardInterrupt"),
        ("plain_raises", "SystemExit", "Runtime.ExitError"),
    ],
)
def test_a_base_exception_from_user_code_crashes_only_its_invocation(
    patient: tuple[Running, Any], function: str, kind: str, error_type: str
) -> None:
    server, client = patient
    answer = client.invoke(FunctionName=function, Payload=json.dumps({"kind": kind}).encode())
    assert answer["FunctionError"] == "Unhandled"
    arn = answer["DurableExecutionArn"]
    assert _status(client, arn) == "FAILED"
    crashes = _invocation_errors(client, arn)
    assert len(crashes) == 4  # the first invocation and the service's 3 retries
    assert {crash["ErrorType"] for crash in crashes} == {error_type}
    assert server.process.poll() is None
    served = client.invoke(FunctionName="quick", Payload=b"{}")
    assert json.loads(served["Payload"].read()) == "served"


def test_os_exit_in_a_handler_ends_an_inprocess_service(tmp_path: Path) -> None:
    """What the in-process invoker cannot isolate (``--invoker subprocess`` does)."""
    args = ["serve", "--port", "0", "--store", "memory"]
    with background([*args, "--function", f"exits={HANDLERS}:exits_process"]) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        _start(lambda_client(endpoint), "exits", {})
        assert server.process.wait(WAIT) == 9
