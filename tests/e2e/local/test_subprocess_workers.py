"""``serve --invoker subprocess``'s workers: started when needed (``serve`` listens at
once), at most ``--workers`` per function, stopped when idle
(``--worker-idle-timeout``); waiting for one (or, in process, for one of the
``--threads``) does not count against the Lambda timeout. Each test runs a real
``serve``."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from cli_harness import background, cli
from local_service_harness import lambda_client, poll

HANDLERS = Path(__file__).parent / "handlers" / "crashing.py"


def _workers(pid: int) -> int:
    """How many worker processes the process ``pid`` has right now."""
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if ppid == pid and b"_subprocess_worker" in command:
            count += 1
    return count


@pytest.mark.parametrize(
    ("invoker", "option"), [("subprocess", "--workers"), ("inprocess", "--threads")]
)
def test_waiting_for_a_worker_does_not_count_against_the_lambda_timeout(
    invoker: str, option: str
) -> None:
    args = ["serve", "--port", "0", "--store", "memory", "--invoker", invoker]
    args += [option, "2", "--invocation-timeout", "3"]
    with background([*args, "--function", f"sleeps={HANDLERS}:sleeps"]) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        client = lambda_client(endpoint)
        answers: list[Any] = []
        most = 0

        def invoke() -> None:
            payload = json.dumps({"seconds": 1.2}).encode()
            answer = client.invoke(FunctionName="sleeps", Payload=payload)
            # Read the body now: the service is stopped when the block ends.
            answers.append({**answer, "Payload": answer["Payload"].read()})

        callers = [threading.Thread(target=invoke) for _ in range(6)]
        for caller in callers:
            caller.start()
        while any(caller.is_alive() for caller in callers):
            most = max(most, _workers(server.process.pid))
            for caller in callers:
                caller.join(0.05)
    # 6 invocations of 1.2 s, 2 at a time: the last ones waited 2.4 s or more for a
    # worker (or thread), and each still had most of its 3 s when its handler started.
    assert len(answers) == 6
    assert all("FunctionError" not in answer for answer in answers), answers
    assert all(int(json.loads(a["Payload"])) > 1000 for a in answers)
    assert most == (2 if invoker == "subprocess" else 0)


def test_serve_starts_workers_when_needed_and_stops_idle_ones() -> None:
    args = ["serve", "--port", "0", "--store", "memory", "--invoker", "subprocess"]
    # The idle worker is counted between the invoke's answer and its idle timeout
    # running out: 5 s, not 1 s, so that a loaded machine's pause cannot pass it.
    args += ["--worker-idle-timeout", "5"]
    for i in range(5):
        args += ["--function", f"fn{i}={HANDLERS}:sleeps"]
    with background(args) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        pid = server.process.pid
        assert _workers(pid) == 0  # none started for five functions
        client = lambda_client(endpoint)
        answer = client.invoke(FunctionName="fn3", Payload=json.dumps({"seconds": 0}).encode())
        assert "FunctionError" not in answer
        assert _workers(pid) == 1  # the one that ran fn3, idle now
        poll("the idle worker to stop", lambda: _workers(pid) == 0)
        again = client.invoke(FunctionName="fn3", Payload=json.dumps({"seconds": 0}).encode())
        assert "FunctionError" not in again


def test_worker_options_are_checked() -> None:
    for option, value in (("--workers", "0"), ("--worker-idle-timeout", "-1"), ("--threads", "x")):
        completed = cli("serve", "--port", "0", option, value)
        assert completed.returncode == 2
        assert f"argument {option}" in completed.stderr and repr(value) in completed.stderr
