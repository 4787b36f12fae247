"""``serve``'s live log, read from a real ``trio-durable serve`` process while
boto3 drives executions: text lines, ``--log-format json`` and ``--quiet``."""

from __future__ import annotations

import json
import os
import re
import signal
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cli_harness import Running, background
from local_service_harness import lambda_client, poll

HANDLERS = Path(__file__).parent / "handlers" / "console_workflows.py"


@contextmanager
def serving(*options: str, env: dict[str, str] | None = None) -> Iterator[tuple[Running, Any]]:
    args = ["serve", "--port", "0", "--store", "memory", *options]
    for name in ("approval", "echo"):
        args += ["--function", f"{name}={HANDLERS}:{name}"]
    with background(args, env) as running:
        endpoint = running.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        running.wait_for_line(r"web console: " + endpoint + "/", stream="stdout")
        if "--quiet" not in options:
            running.assert_banner_first()
        yield running, lambda_client(endpoint)


def _callback_id(lam: Any, arn: str) -> str:
    def started() -> str | None:
        for event in lam.get_durable_execution_history(DurableExecutionArn=arn)["Events"]:
            if event["EventType"] == "CallbackStarted":
                return str(event["CallbackStartedDetails"]["CallbackId"])
        return None

    return poll("the callback", started)


def test_text_lines_tagged_with_the_execution(tmp_path: Path) -> None:
    # A local time zone 14 hours ahead of UTC (a POSIX TZ rule: no tz database
    # needed), so that a time shown in local time could not pass for UTC.
    with serving(env={"TZ": "XYZ-14"}) as (running, lam):
        lam.invoke(FunctionName="echo", DurableExecutionName="live-echo", Payload=b'{"a": 1}')
        shown = running.wait_for_line(r"^(\d\d:\d\d:\d\d\.\d{3}) UTC \[live-echo\]", "stdout")
        now = datetime.now(UTC)
        when = datetime.combine(now.date(), time.fromisoformat(shown.group(1)), UTC)
        gap = abs((now - when).total_seconds())
        assert min(gap, 86400 - gap) < 600, (shown.group(0), now)  # UTC (midnight aside)
        for pattern in (
            r"^\d\d:\d\d:\d\d\.\d{3} UTC \[live-echo\] execution 'live-echo' of echo started"
            r" with input \{\"a\": 1\}",
            r"\[live-echo\] invocation #1 started$",
            r"\[live-echo\] step 'echo' started",
            r"\[live-echo\] step 'echo' succeeded -> \{\"a\":1\}",
            r"\[live-echo\] execution succeeded",
        ):
            running.wait_for_line(pattern, stream="stdout")
        arn = lam.invoke(
            FunctionName="approval",
            InvocationType="Event",
            DurableExecutionName="a-long-order-name-to-shorten",
            Payload=b'{"order": 5}',
        )["DurableExecutionArn"]
        running.wait_for_line(r"\[a-long-o\] log INFO: order 5 waits for approval", "stdout")
        running.wait_for_line(r"\[a-long-o\] map item 'map-item-2' succeeded", "stdout")
        running.wait_for_line(r"\[a-long-o\] invocation completed, execution suspended", "stdout")
        lam.send_durable_execution_callback_success(
            CallbackId=_callback_id(lam, arn), Result=b'"yes"'
        )
        running.wait_for_line(
            r"\[a-long-o\] callback 'approval create callback id' succeeded", "stdout"
        )
        running.wait_for_line(r"\[a-long-o\] invocation #2 started \(replay\)", "stdout")
        running.wait_for_line(r"\[a-long-o\] execution succeeded", "stdout")


def test_json_lines() -> None:
    with serving("--log-format", "json") as (running, lam):
        lam.invoke(FunctionName="approval", InvocationType="Event", Payload=b'{"order": 6}')
        running.wait_for_line(r"execution suspended", stream="stdout")
    lines = [json.loads(line) for line in running.lines("stdout") if line.startswith("{")]
    kinds = {line["Kind"] for line in lines}
    assert kinds == {"execution", "invocation", "operation", "log"}
    [log] = [line for line in lines if line["Kind"] == "log"]
    assert log["Record"]["Message"] == "order 6 waits for approval"
    started = lines[0]
    assert started["Event"]["EventType"] == "ExecutionStarted"
    assert started["FunctionName"] == "approval"
    for line in lines:  # ISO 8601 in UTC, as `history --json` shows times
        assert datetime.fromisoformat(line["Timestamp"]).utcoffset() == timedelta(0)
    assert datetime.fromisoformat(started["Event"]["EventTimestamp"]).tzinfo is not None
    assert log["Record"]["Timestamp"] == log["Timestamp"]


def test_quiet_prints_only_the_banner() -> None:
    with serving("--quiet") as (running, lam):
        lam.invoke(FunctionName="echo", Payload=b"{}")
        os.killpg(running.process.pid, signal.SIGINT)
        code, out, _ = running.finish()
    assert code == 0
    printed = out
    assert "execution" not in printed.replace("durable execution", "")
    assert "trio-durable service stopped" in printed


def test_logs_of_handlers_in_worker_processes() -> None:
    with serving("--invoker", "subprocess") as (running, lam):
        arn = lam.invoke(FunctionName="approval", InvocationType="Event", Payload=b'{"order": 11}')[
            "DurableExecutionArn"
        ]
        running.wait_for_line(r"log INFO: order 11 waits for approval", stream="stdout")
        endpoint = lam.meta.endpoint_url
        with urllib.request.urlopen(
            f"{endpoint}/local/executions/{quote(arn, safe='')}/logs", timeout=30
        ) as response:
            records = json.loads(response.read())["Records"]
        assert [r["Message"] for r in records] == ["order 11 waits for approval"]


def test_run_serves_the_console_while_it_runs() -> None:
    target = f"{HANDLERS.parent / 'trio_workflow.py'}:handler"
    with background(["run", target, "--input", '{"sku": "A1"}']) as running:
        endpoint = running.wait_for_line(r"web console: (http://\S+)/$").group(1)
        callback_id = running.wait_for_line(r"callback id (\S+)").group(1)
        with urllib.request.urlopen(endpoint + "/", timeout=30) as response:
            assert b"/console/console.js" in response.read()
        with urllib.request.urlopen(endpoint + "/local/executions", timeout=30) as response:
            [listed] = json.loads(response.read())["DurableExecutions"]
        assert listed["Status"] == "RUNNING"
        lambda_client(endpoint).send_durable_execution_callback_success(
            CallbackId=callback_id, Result=b'"ok"'
        )
        code, _, _ = running.finish()
    assert code == 0


def test_an_output_nobody_reads_does_not_block_the_service() -> None:
    args = ["serve", "--port", "0", "--store", "memory"]
    args += ["--function", f"many_steps={HANDLERS}:many_steps"]
    with background(args) as running:
        endpoint = running.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        # 6,000 steps log over 12,000 lines (far more than a pipe holds) that
        # nobody reads until the execution has ended.
        out = lambda_client(endpoint).invoke(FunctionName="many_steps", Payload=b'{"steps": 6000}')
        assert json.loads(out["Payload"].read()) == 6000
        os.killpg(running.process.pid, signal.SIGINT)
        code, printed, _ = running.finish()
    assert code == 0
    assert re.search(r"\(\d+ log lines dropped: the output did not keep up\)", printed)
    assert "step 'step-0' started" in printed
    assert printed.rstrip().endswith("trio-durable service stopped")
