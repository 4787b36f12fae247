"""The installed ``trio-durable`` console script: run, serve and the client commands."""

from __future__ import annotations

import json
import shlex
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_harness import background, cli
from local_service_harness import WAIT, lambda_client, poll

HANDLERS = Path(__file__).parent / "handlers"
CALLBACK_WORKFLOW = f"{HANDLERS / 'aws_sdk_workflow.py'}:handler"


def test_run_prints_a_timeline_and_the_callback_command_that_completes_it() -> None:
    with background(["run", CALLBACK_WORKFLOW, "--input", '{"a": 4, "b": 5}']) as run:
        run.wait_for_line(r"step 'add' succeeded -> 9")
        command = run.wait_for_line(r"complete it: (trio-durable callback succeed .*)").group(1)
        run.wait_for_line(r"execution suspended")
        args = shlex.split(command.replace("'<json result>'", """'{"ok": 1}'"""))
        completed = cli(*args[1:])
        assert completed.returncode == 0, completed.stderr
        status, out, err = run.finish()
    assert status == 0, err
    assert json.loads(out) == {"total": 9, "approval": '{"ok": 1}'}
    assert "invocation #2 started (replay)" in err
    assert "callback 'approval' succeeded" in err
    assert "execution SUCCEEDED" in err


def test_run_registers_the_functions_its_workflow_invokes() -> None:
    handlers = HANDLERS / "invoking.py"
    completed = cli(
        "run", f"{handlers}:caller", "--input", '{"text": "hi"}',
        "--function", f"shouter={handlers}:shouter",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"heard": "HI"}
    assert "invoke 'ask the shouter' started" in completed.stderr
    assert "invoke 'ask the shouter' succeeded -> \"HI\"" in completed.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nonexistent_module_xyz:handler"], "no module named 'nonexistent_module_xyz'"),
        (["run", "no-colon"], "expected 'package.module:function'"),
        (["run", CALLBACK_WORKFLOW, "--input", "{nope"], "--input is not valid JSON"),
        (["run", CALLBACK_WORKFLOW, "--store", "redis:x"], "bad --store 'redis:x'"),
        (["serve", "--function", "f"], "bad --function 'f': expected NAME=TARGET"),
        (
            ["run", CALLBACK_WORKFLOW, "--function", f"handler={CALLBACK_WORKFLOW}"],
            "--function 'handler' is the function being run",
        ),
        (["run", CALLBACK_WORKFLOW, "--invocation-timeout", "0"], "at most 900 seconds, got '0'"),
        (["serve", "--invocation-timeout", "soon"], "at most 900 seconds, got 'soon'"),
        (["serve", "--port", "0", "--function", "f=json:nothing"], "has no attribute 'nothing'"),
        (["serve", "--port", "99999"], "from 0 to 65535, got '99999'"),
        (["serve", "--port", "http"], "from 0 to 65535, got 'http'"),
    ],
)
def test_bad_arguments_are_reported_in_one_line(
    args: list[str], message: str, tmp_path: Path
) -> None:
    completed = cli(*args, cwd=tmp_path)
    assert completed.returncode == 2
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []  # refused before any store was created


def test_a_subprocess_target_that_cannot_load_is_reported_at_startup(tmp_path: Path) -> None:
    completed = cli(
        "serve",
        "--port",
        "0",
        "--store",
        "memory",
        "--invoker",
        "subprocess",
        "--function",
        f"f={HANDLERS / 'crashing.py'}:missing_handler",
    )
    assert completed.returncode == 2
    assert "has no attribute 'missing_handler'" in completed.stderr


def test_serve_refuses_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = cli("serve", "--port", str(port), "--store", "memory")
    assert completed.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in completed.stderr


def test_client_commands_say_when_the_service_is_unreachable() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    for args in (["history", "arn"], ["executions", "--function", "f"]):
        completed = cli(*args, "--endpoint", f"http://127.0.0.1:{port}")
        assert completed.returncode == 1
        assert f"cannot reach the trio-durable service at http://127.0.0.1:{port}" in (
            completed.stderr
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("serve") / "state.db"
    args = ["serve", "--port", "0", "--store", f"sqlite:{store}"]
    args += ["--function", f"approve={CALLBACK_WORKFLOW}"]
    with background(args) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        yield endpoint


def test_served_functions_are_reached_with_boto3_and_inspected_with_the_cli(served: str) -> None:
    client = lambda_client(served)
    started = client.invoke(
        FunctionName="approve",
        InvocationType="Event",
        DurableExecutionName="order-1",
        Payload=b'{"a": 1, "b": 1}',
    )
    arn = started["DurableExecutionArn"]
    env = {"AWS_ENDPOINT_URL_LAMBDA": served}  # the client commands' default endpoint

    listed = cli("executions", "--function", "approve", "--status", "RUNNING", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "order-1" in listed.stdout and "RUNNING" in listed.stdout

    callback_id = _callback_id(client, arn)

    assert cli("callback", "heartbeat", callback_id, env=env).returncode == 0
    failed = cli(
        "callback", "fail", callback_id, "--type", "Rejected", "--message", "nope", env=env
    )
    assert failed.returncode == 0, failed.stderr
    again = cli("callback", "succeed", callback_id, '"late"', env=env)
    assert again.returncode == 1
    assert "ResourceNotFoundException" in again.stderr

    def finished() -> str | None:
        status: str = client.get_durable_execution(DurableExecutionArn=arn)["Status"]
        return None if status == "RUNNING" else status

    assert poll("the execution to finish", finished) == "FAILED"
    table = cli("history", arn, env=env)
    assert table.returncode == 0, table.stderr
    assert "callback 'approval' failed: Rejected: nope" in table.stdout
    assert "execution failed" in table.stdout
    done = cli("executions", "--function", "approve", "--status", "FAILED", "--json", env=env)
    assert [row["DurableExecutionArn"] for row in json.loads(done.stdout)] == [arn]
    raw = cli("history", arn, "--json", env=env)
    assert [e["EventId"] for e in json.loads(raw.stdout)] == list(
        range(1, len(json.loads(raw.stdout)) + 1)
    )


def test_serve_runs_a_trio_durable_handler_in_worker_processes_over_http() -> None:
    target = f"{HANDLERS / 'trio_workflow.py'}:handler"
    args = ["serve", "--port", "0", "--store", "memory", "--invoker", "subprocess"]
    with background([*args, "--function", f"orders={target}"]) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        client = lambda_client(endpoint)
        out: list[Any] = []
        caller = threading.Thread(
            target=lambda: out.append(
                client.invoke(FunctionName="orders", Payload=b'{"sku": "B7"}')
            ),
            daemon=True,
        )
        caller.start()

        def started() -> str | None:
            listed = client.list_durable_executions_by_function(FunctionName="orders")
            executions = listed["DurableExecutions"]
            return str(executions[0]["DurableExecutionArn"]) if executions else None

        callback_id = _callback_id(client, poll("the execution to start", started))
        sent = cli("callback", "succeed", callback_id, '"ok"', "--endpoint", endpoint)
        assert sent.returncode == 0, sent.stderr
        caller.join(WAIT)
    [response] = out
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {
        "confirmation": "confirmed:reserved:B7",
        "approval": "ok",
    }


def test_a_killed_run_on_sqlite_resumes_when_run_again(tmp_path: Path) -> None:
    args = ["run", CALLBACK_WORKFLOW, "--input", '{"a": 2, "b": 2}', "--name", "resumable"]
    args += ["--store", f"sqlite:{tmp_path / 'state.db'}"]
    with background(args) as first:
        first.wait_for_line(r"execution suspended")
        callback_id = first.wait_for_line(r"callback id (\w+)").group(1)
        first.process.kill()
        first.process.wait(30)
    with background(args) as second:
        second.wait_for_line(r"history so far of .*/durable-execution/resumable/")
        command = second.wait_for_line(r"complete it: (trio-durable callback succeed .*)").group(1)
        assert callback_id in command
        completed = cli(*shlex.split(command.replace("'<json result>'", "7"))[1:])
        assert completed.returncode == 0, completed.stderr
        status, out, err = second.finish()
    assert status == 0, err
    assert json.loads(out) == {"total": 4, "approval": "7"}
    assert "step 'add' started" in err  # from the history, not run again:
    assert err.count("step 'add' started") == 1


def _callback_id(client: Any, arn: str) -> str:
    """The id of the first callback the execution opens."""

    def opened() -> str | None:
        events = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
        found = [e for e in events if e["EventType"] == "CallbackStarted"]
        return str(found[0]["CallbackStartedDetails"]["CallbackId"]) if found else None

    return poll(f"a callback of {arn}", opened)


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    store = tmp_path / "state.db"
    with background(["serve", "--port", "0", "--store", f"sqlite:{store}"]) as server:
        server.wait_for_line(r"listening on", stream="stdout")
        server.process.send_signal(signal.SIGTERM)
        status, out, _ = server.finish()
    assert status == 0
    assert "trio-durable service stopped" in out
    assert not Path(f"{store}-wal").exists()  # the store was closed, its log folded in
