"""The client commands of the console script against one real ``trio-durable serve``:
invoke, describe, stop, executions, history, logs, callback, EXECUTION lookup,
--json, --version, shell completion, and output cut short by ``| head``."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cli_harness import CLI, background, cli
from local_service_harness import WAIT, lambda_client, poll

HANDLERS = Path(__file__).parent / "handlers" / "cli_workflows.py"
FUNCTIONS = ("greet", "approval", "fails", "fan_out")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    args = ["serve", "--port", "0", "--store", "memory"]
    for name in FUNCTIONS:
        args += ["--function", f"{name}={HANDLERS}:{name}"]
    with background(args) as server:
        yield server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)


@pytest.fixture
def env(endpoint: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL_LAMBDA": endpoint}


def _ok(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = cli(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


def _refused(status: int, *args: str, env: dict[str, str]) -> str:
    """The one-line error of a command that must fail with ``status``."""
    done = cli(*args, env=env)
    assert done.returncode == status, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("trio-durable: error: ") or "usage:" in done.stderr
    return done.stderr


def _pending_callback(env: dict[str, str], execution: str) -> str:
    def opened() -> str | None:
        described = json.loads(_ok("describe", execution, "--json", env=env).stdout)
        callbacks = described["PendingCallbacks"]
        return str(callbacks[0]["CallbackId"]) if callbacks else None

    return poll(f"a pending callback of {execution}", opened)


def _is_utc_iso(text: str) -> bool:
    return datetime.fromisoformat(text).utcoffset() is not None and text.endswith("+00:00")


# --- invoke -------------------------------------------------------------------------


def test_invoke_waits_and_prints_the_result(env: dict[str, str]) -> None:
    done = _ok("invoke", "greet", "--input", '{"name": "ana"}', "--name", "greet-1", env=env)
    assert json.loads(done.stdout) == {"hello": "ANA"}
    assert re.search(r"execution started: arn:\S+/durable-execution/greet-1/", done.stderr)
    assert "execution SUCCEEDED" in done.stderr


def test_invoke_json_prints_the_described_execution(env: dict[str, str], tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"name": "bo"}')
    done = _ok("invoke", "greet", "--input", f"@{event}", "--json", env=env)
    described = json.loads(done.stdout)
    assert described["Status"] == "SUCCEEDED"
    assert json.loads(described["Result"]) == {"hello": "BO"}
    assert json.loads(described["InputPayload"]) == {"name": "bo"}
    assert described["PendingCallbacks"] == []
    assert _is_utc_iso(described["StartTimestamp"]) and _is_utc_iso(described["EndTimestamp"])


def test_invoke_runs_under_a_trace_header_that_describe_shows(env: dict[str, str]) -> None:
    header = "Root=1-5f0c4e1d-0123456789abcdef01234567;Parent=1122334455667788;Sampled=1"
    done = _ok("invoke", "greet", "--trace-header", header, "--name", "traced-1", env=env)
    assert json.loads(done.stdout) == {"hello": "WORLD"}
    described = json.loads(_ok("describe", "traced-1", "--json", env=env).stdout)
    assert described["TraceHeader"] == {"XAmznTraceId": header}
    text = _ok("describe", "traced-1", env=env).stdout
    assert re.search(rf"^trace header: +{re.escape(header)}$", text, re.M)
    _ok("invoke", "greet", "--name", "untraced-1", env=env)
    assert "trace header" not in _ok("describe", "untraced-1", env=env).stdout
    bad = _refused(1, "invoke", "greet", "--trace-header", "x" * 8193, env=env)
    assert "X-Amzn-Trace-Id: must be text of 0 to 8192 characters" in bad


def test_invoke_of_a_failing_function_prints_the_error_and_exits_1(env: dict[str, str]) -> None:
    done = cli("invoke", "fails", "--input", "[1]", env=env)
    assert done.returncode == 1
    error = json.loads(done.stdout)
    assert error["ErrorType"] == "ValueError" and error["ErrorMessage"] == "cannot take [1]"
    assert "execution FAILED" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invoke", "nobody"], "ResourceNotFoundException: FunctionName: function 'nobody'"),
        (["invoke", "greet", "--input", "{nope"], "--input is not valid JSON"),
        (["invoke", "greet", "--name", "bad name!"], "InvalidParameterValueException"),
    ],
)
def test_invoke_refuses_bad_requests_in_one_line(
    env: dict[str, str], args: list[str], message: str
) -> None:
    assert message in _refused(1 if "Exception" in message else 2, *args, env=env)


# --- async invoke, describe, callbacks, lookup by name --------------------------------


def test_an_async_execution_is_described_and_completed_by_name(env: dict[str, str]) -> None:
    done = _ok(
        "invoke", "approval", "--input", '{"order": 7}', "--name", "appr-1", "--async", env=env
    )
    arn = done.stdout.strip()
    assert re.fullmatch(
        r"arn:aws:lambda:\S+:function:approval:\$LATEST/durable-execution/appr-1/\w+", arn
    )
    callback_id = _pending_callback(env, "appr-1")

    text = _ok("describe", "appr-1", env=env).stdout
    assert re.search(r"^status: +RUNNING$", text, re.M)
    assert re.search(r"^started: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", text, re.M)
    assert re.search(r"^ended: +not yet \(running for ", text, re.M)
    assert re.search(r"^input: +\{\"order\": 7\}$", text, re.M)
    assert "'approval' waits since" in text and callback_id in text
    assert re.search(r"^function: +approval$", text, re.M)

    missing = _refused(2, "callback", "succeed", callback_id, env=env)
    assert "needs a result: give PAYLOAD (JSON), or --empty for none" in missing
    both = _refused(2, "callback", "succeed", callback_id, "1", "--empty", env=env)
    assert "not both" in both
    _ok("callback", "succeed", callback_id, "--empty", env=env)

    def ended() -> dict[str, Any] | None:
        described = json.loads(_ok("describe", arn, "--json", env=env).stdout)
        return None if described["Status"] == "RUNNING" else described

    described = poll("appr-1 to end", ended)
    assert described["Status"] == "SUCCEEDED"
    assert json.loads(described["Result"]) == {"order": 7, "approved": None}
    assert described["PendingCallbacks"] == []
    text = _ok("describe", "appr", env=env).stdout  # a unique prefix
    assert re.search(r"^ended: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(took ", text, re.M)
    assert re.search(r"^callbacks: +none pending$", text, re.M)


def test_stop_by_prefix_records_the_error_then_delete_by_name(env: dict[str, str]) -> None:
    _ok("invoke", "approval", "--name", "to-stop-1", "--async", env=env)
    _pending_callback(env, "to-stop-1")
    done = _ok("stop", "to-stop", "--error", "Cancelled", "--message", "by ops", env=env)
    assert re.fullmatch(r"execution STOPPED: arn:\S+/to-stop-1/\w+\n", done.stdout)
    described = json.loads(_ok("describe", "to-stop-1", "--json", env=env).stdout)
    assert described["Status"] == "STOPPED"
    assert described["Error"] == {"ErrorType": "Cancelled", "ErrorMessage": "by ops"}
    assert described["PendingCallbacks"] == []
    again = _refused(1, "stop", "to-stop-1", env=env)
    assert "InvalidParameterValueException" in again and "already STOPPED" in again
    assert "execution deleted: arn:" in _ok("delete", "to-stop-1", env=env).stdout
    gone = _refused(2, "describe", "to-stop-1", env=env)
    assert "no execution is named 'to-stop-1' or has a name starting with it" in gone


def test_a_name_that_matches_several_executions_lists_them(env: dict[str, str]) -> None:
    for name in ("twin-a", "twin-b"):
        _ok("invoke", "greet", "--name", name, env=env)
    cli("invoke", "fails", "--name", "twin-a", env=env)  # the same name, another function
    several = _refused(2, "history", "twin", env=env)
    assert "'twin' matches 3 executions" in several
    assert "twin-a (greet, SUCCEEDED)" in several and "twin-b (greet, SUCCEEDED)" in several
    assert "twin-a (fails, FAILED)" in several and "give more of the name, or the ARN" in several
    same_name = _refused(2, "describe", "twin-a", env=env)
    assert "'twin-a' matches 2 executions" in same_name
    assert "twin-b" in _ok("describe", "twin-b", env=env).stdout  # an exact name wins


# --- executions -----------------------------------------------------------------------


def test_executions_lists_every_function_newest_first_with_filters(env: dict[str, str]) -> None:
    _ok("invoke", "greet", "--name", "list-greet", env=env)
    cli("invoke", "fails", "--name", "list-fails", env=env)
    table = _ok("executions", env=env).stdout.splitlines()
    assert table[0].split() == ["STATUS", "STARTED", "DURATION", "FUNCTION", "NAME"]
    names = [line.split()[-1] for line in table[1:]]
    assert names.index("list-fails") < names.index("list-greet")  # newest first
    [fails_row] = [line for line in table if line.endswith("list-fails")]
    assert re.match(
        r"FAILED +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC +[\d.]+ (ms|s) +fails +list-fails$", fails_row
    )

    only = _ok("executions", "--function", "fails", "--names", env=env).stdout.split()
    assert "list-fails" in only and "list-greet" not in only
    failed = _ok("executions", "--status", "failed", "--names", env=env).stdout.split()
    assert "list-fails" in failed and "list-greet" not in failed
    named = _ok("executions", "--name", "LIST-", "--names", env=env).stdout.split()
    assert sorted(named) == ["list-fails", "list-greet"]
    newest = _ok("executions", "--limit", "1", "--names", env=env).stdout.split()
    assert len(newest) == 1
    rows = json.loads(_ok("executions", "--name", "list-", "--json", env=env).stdout)
    assert [row["DurableExecutionName"] for row in rows] == ["list-fails", "list-greet"]
    assert {"DurableExecutionArn", "FunctionArn", "Status", "StartTimestamp"} <= set(rows[0])
    assert _is_utc_iso(rows[0]["StartTimestamp"])
    nothing = cli("executions", "--name", "no-such-execution-xyz", env=env)
    assert nothing.returncode == 0 and nothing.stdout == ""
    assert "no executions match" in nothing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["executions", "--status", "DONE"],
            "invalid choice: 'DONE' (choose from 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT',"
            " 'STOPPED', 'PAUSING', 'PAUSED')",
        ),
        (["executions", "--limit", "0"], "must be a whole number of at least 1, got '0'"),
        (["executions", "--function", "nobody"], "ResourceNotFoundException"),
        (["completion", "fish"], "invalid choice: 'fish' (choose from 'bash', 'zsh')"),
        (["nonsense"], "invalid choice: 'nonsense' (choose from 'run', 'serve', 'invoke'"),
    ],
)
def test_bad_choices_are_listed(env: dict[str, str], args: list[str], message: str) -> None:
    assert message in _refused(1 if "Exception" in message else 2, *args, env=env)


# --- history ------------------------------------------------------------------------


def test_history_nests_a_map_and_sums_it_up(env: dict[str, str]) -> None:
    done = cli("invoke", "fan_out", "--input", '{"n": 10}', "--name", "fan-1", env=env)
    assert done.returncode == 0, done.stderr
    lines = _ok("history", "fan-1", env=env).stdout.splitlines()
    assert re.fullmatch(r"history of arn:\S+/durable-execution/fan-1/\w+", lines[0])
    assert re.fullmatch(
        r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; times below are from the start", lines[1]
    )
    body = [line.split("] ", 1)[1] for line in lines[2:]]
    assert "map 'items' started" in body
    assert "  [3] map item 'n3' started" in body
    assert "    [3] step 'check' failed: ValueError: item 3 is bad" in body
    assert "  [8] map item 'n8' failed: ValueError: item 8 is bad" in body
    assert "    [9] step 'check' succeeded -> 90" in body
    [ended] = [i for i, line in enumerate(body) if line.startswith("map 'items' succeeded")]
    assert body[ended + 1] == "map 'items': 10 items: 8 succeeded, 2 failed"


def test_history_json_has_utc_times_and_survives_head(env: dict[str, str]) -> None:
    _ok("invoke", "greet", "--name", "head-1", env=env)
    events = json.loads(_ok("history", "head-1", "--json", env=env).stdout)
    assert [event["EventId"] for event in events] == list(range(1, len(events) + 1))
    assert all(_is_utc_iso(event["EventTimestamp"]) for event in events)
    for command in (["history", "head-1", "--json"], ["executions"], ["completion", "bash"]):
        piped = subprocess.run(
            f"{CLI} {' '.join(command)} | head -1; exit ${{PIPESTATUS[0]}}",
            shell=True,
            executable="/bin/bash",
            capture_output=True,
            text=True,
            timeout=WAIT,
            env={**os.environ, **env},
        )
        assert len(piped.stdout.splitlines()) == 1
        assert piped.stderr == "", piped.stderr  # no BrokenPipeError traceback
        assert piped.returncode in (0, 141)


# --- version and completion -----------------------------------------------------------


def test_version() -> None:
    from importlib.metadata import version

    done = cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"trio-durable {version('trio-durable')}"


def _complete(line: str, env: dict[str, str]) -> list[str]:
    """What bash offers for ``line`` (ending where the cursor is), with the
    completion script of ``trio-durable completion bash`` loaded."""
    script = cli("completion", "bash").stdout
    words = line.split(" ")
    program = (
        f"{script}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        "_trio_durable; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    path = f"{CLI.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "--norc", "-c", program],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env={**os.environ, **env, "PATH": path},
    )
    assert done.returncode == 0, done.stderr
    return [word for word in done.stdout.splitlines() if word]


def test_bash_completion_offers_commands_options_choices_and_names(env: dict[str, str]) -> None:
    assert "describe" in _complete("trio-durable de", env) and "delete" in _complete(
        "trio-durable de", env
    )
    assert _complete("trio-durable callback s", env) == ["succeed"]
    assert _complete("trio-durable callback succeed X --e", env) == ["--empty", "--endpoint"]
    assert _complete("trio-durable executions --status PA", env) == ["PAUSING", "PAUSED"]
    assert _complete("trio-durable serve --invoker ", env) == ["inprocess", "subprocess"]
    _ok("invoke", "greet", "--name", "complete-me-1", env=env)
    assert _complete("trio-durable history complete-m", env) == ["complete-me-1"]


def test_zsh_completion_loads_the_same_function_through_bashcompinit() -> None:
    script = _ok("completion", "zsh", env={}).stdout
    assert "bashcompinit" in script
    assert "complete -o default -F _trio_durable trio-durable" in script


# --- pause and resume by name ---------------------------------------------------------


def test_pause_and_resume_take_a_name(env: dict[str, str], endpoint: str) -> None:
    _ok("invoke", "approval", "--name", "hold-1", "--async", env=env)
    callback_id = _pending_callback(env, "hold-1")
    assert "execution PAUSED" in _ok("pause", "hold-1", "--reason", "night", env=env).stdout
    text = _ok("describe", "hold-1", env=env).stdout
    assert re.search(r"^paused: +asked \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: night$", text, re.M)
    assert "execution RUNNING" in _ok("resume", "hold-1", env=env).stdout
    _ok("callback", "succeed", callback_id, "true", env=env)
    client = lambda_client(endpoint)
    [row] = json.loads(_ok("executions", "--name", "hold-1", "--json", env=env).stdout)

    def succeeded() -> bool | None:
        status = client.get_durable_execution(DurableExecutionArn=row["DurableExecutionArn"])
        return status["Status"] == "SUCCEEDED" or None

    poll("hold-1 to succeed", succeeded)


# --- logs ---------------------------------------------------------------------------


def test_logs_prints_what_the_workflow_logged(env: dict[str, str]) -> None:
    _ok("invoke", "greet", "--input", '{"name": "cy"}', "--name", "logged-1", env=env)
    lines = _ok("logs", "logged-1", env=env).stdout.splitlines()
    assert any(
        re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC INFO +greeting cy", line)
        for line in lines
    ), lines
    records = json.loads(_ok("logs", "logged-1", "--json", env=env).stdout)
    [greeting] = [record for record in records if record["Message"] == "greeting cy"]
    assert greeting["Level"] == "INFO" and _is_utc_iso(greeting["Timestamp"])
    cli("invoke", "fails", "--name", "quiet-1", env=env)  # logs nothing, then fails
    silent = _ok("logs", "quiet-1", env=env)
    assert silent.stdout == "" and "no log records of arn:" in silent.stderr
