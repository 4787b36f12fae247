"""Memory of a real ``trio-durable serve`` (SQLite store) after many ended executions.

Starts ``serve`` on a fresh SQLite file, runs N one-step executions to their end
through boto3 (Event invokes, a few at a time), then prints the service's resident
memory (VmRSS from /proc) before the first execution, after the N ended, and after
a restart of the service on the same file. Linux only.

    .venv/bin/python bench/serve_memory.py [--executions 10000]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from trio_durable import DurableContext, durable_execution

CLI = Path(sys.executable).parent / "trio-durable"
FUNCTION = "memory"


def _double(value: int) -> int:
    return value * 2


@durable_execution
async def workflow(event: dict[str, Any], ctx: DurableContext) -> int:
    """One step: what the bench runs N times."""
    result: int = await ctx.step(_double, int(event["n"]), name="double")
    return result


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert found is not None
    return int(found.group(1)) / 1024


def _serve(store: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            str(CLI),
            "serve",
            "--port",
            "0",
            "--store",
            f"sqlite:{store}",
            "--function",
            f"{FUNCTION}={Path(__file__).resolve()}:workflow",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return process, found.group(1)
    raise RuntimeError("serve did not start")


def _client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 10, "mode": "standard"}),
    )


def _ended(client: Any) -> int:
    count = 0
    kwargs: dict[str, Any] = {"FunctionName": FUNCTION, "Statuses": ["SUCCEEDED"]}
    while True:
        page = client.list_durable_executions_by_function(**kwargs)
        count += len(page["DurableExecutions"])
        if "NextMarker" not in page:
            return count
        kwargs["Marker"] = page["NextMarker"]


def _stop(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "state.db"
        process, endpoint = _serve(store)
        try:
            client = _client(endpoint)
            time.sleep(0.5)
            start_rss = _rss_mb(process.pid)
            began = time.perf_counter()
            for n in range(args.executions):
                client.invoke(
                    FunctionName=FUNCTION, InvocationType="Event", Payload=f'{{"n": {n}}}'
                )
                if n % 500 == 499:  # let the service catch up now and then
                    while _ended(client) < n + 1 - 500:
                        time.sleep(0.2)
            while _ended(client) < args.executions:
                time.sleep(0.5)
            seconds = time.perf_counter() - began
            time.sleep(1.0)
            ended_rss = _rss_mb(process.pid)
        finally:
            _stop(process)
        process, endpoint = _serve(store)
        try:
            client = _client(endpoint)
            assert _ended(client) == args.executions
            restarted_rss = _rss_mb(process.pid)
        finally:
            _stop(process)
    print(f"serve (SQLite store), {args.executions} ended one-step executions:")
    print(f"  RSS at start:                     {start_rss:7.1f} MB")
    print(f"  RSS after they ended:             {ended_rss:7.1f} MB  ({seconds:.0f} s to run)")
    print(f"  RSS after a restart on the file:  {restarted_rss:7.1f} MB")


if __name__ == "__main__":
    main()
