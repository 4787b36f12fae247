"""How long ``trio-durable serve`` takes to listen with many functions, under each
invoker, and what its processes hold then and after one invocation of each.

Usage: ``.venv/bin/python -m bench.serve_startup [FUNCTIONS]`` (default 80). Each
function is ``bench.our_workflows:steps`` under its own name. The time is from
starting the process to its "listening on" line; the memory is the resident size
of serve and its worker processes, read from /proc.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config

CLI = Path(sys.executable).parent / "trio-durable"
TARGET = "bench.our_workflows:steps"


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, in MB."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(entry.name) == pid or int(stat[1]) == pid:
                total += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e6


def _measure(invoker: str, functions: int) -> tuple[float, float, float]:
    args = [str(CLI), "serve", "--port", "0", "--store", "memory", "--invoker", invoker]
    for i in range(functions):
        args += ["--function", f"fn{i}={TARGET}"]
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        listening = time.perf_counter() - started
        found = re.search(r"listening on (http://\S+)", line)
        if found is None:
            raise RuntimeError(f"serve did not start: {line!r}")
        idle = _rss_mb(process.pid)
        client = boto3.client(
            "lambda",
            endpoint_url=found.group(1),
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"max_attempts": 1}, read_timeout=300),
        )
        for i in range(functions):
            answer = client.invoke(FunctionName=f"fn{i}", Payload=json.dumps({"n": 1}).encode())
            if "FunctionError" in answer:
                raise RuntimeError(answer["Payload"].read())
        used = _rss_mb(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return listening, idle, used


def main() -> None:
    functions = int(sys.argv[1]) if len(sys.argv) > 1 else 80
    print(f"serve with {functions} functions ({TARGET})")
    print(f"{'invoker':>11} {'listening after':>16} {'memory then':>12} {'after 1 run each':>17}")
    for invoker in ("inprocess", "subprocess"):
        listening, idle, used = _measure(invoker, functions)
        print(f"{invoker:>11} {listening:>14.2f} s {idle:>9.0f} MB {used:>14.0f} MB")


if __name__ == "__main__":
    main()
