"""An invocation's checkpoint token dies with the invocation: a handler that runs on
after its invocation ended (here a plain handler whose thread the in-process
invoker abandons at the timeout) has its late checkpoint refused, against a real
``trio-durable serve``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli_harness import background
from local_service_harness import lambda_client, poll

HANDLER = Path(__file__).parent / "handlers" / "late_checkpoint.py"


def _status(client: Any, arn: str) -> str:
    return str(client.get_durable_execution(DurableExecutionArn=arn)["Status"])


def test_a_checkpoint_after_the_invocation_ended_is_refused(tmp_path: Path) -> None:
    args = ["serve", "--port", "0", "--store", "memory", "--invocation-timeout", "2"]
    args += ["--function", f"late={HANDLER}:outlives_its_invocation"]
    with background(args) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        client = lambda_client(endpoint)
        arn = client.invoke(
            FunctionName="late",
            InvocationType="Event",
            Payload=json.dumps({"folder": str(tmp_path)}).encode(),
        )["DurableExecutionArn"]
        poll("the handler to start", (tmp_path / "token").exists)
        # Paused, the execution gets no new invocation (and so no new token) after
        # the timeout ends this one: only rotating the token at the end fences it.
        client.pause_durable_execution(DurableExecutionArn=arn)
        poll("the timed-out invocation to end", lambda: _status(client, arn) == "PAUSED")
        before = client.get_durable_execution_history(
            DurableExecutionArn=arn, IncludeExecutionData=True
        )["Events"]
        (tmp_path / "release").write_text("go")
        outcome = poll(
            "the late checkpoint",
            lambda: (tmp_path / "outcome").exists() and (tmp_path / "outcome").read_text(),
        )
        assert outcome.startswith("InvalidParameterValueException: Invalid checkpoint token")
        after = client.get_durable_execution_history(
            DurableExecutionArn=arn, IncludeExecutionData=True
        )["Events"]
        assert after == before  # nothing of the late checkpoint was recorded
        [completed] = [e for e in after if e["EventType"] == "InvocationCompleted"]
        error = completed["InvocationCompletedDetails"]["Error"]["Payload"]
        assert error["ErrorType"] == "Sandbox.Timedout"
        client.resume_durable_execution(DurableExecutionArn=arn)
        poll("the execution to succeed", lambda: _status(client, arn) == "SUCCEEDED")
