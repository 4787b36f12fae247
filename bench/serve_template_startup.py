"""How long ``trio-durable serve --template`` takes to listen, with N functions.

Usage: ``.venv/bin/python -m bench.serve_template_startup [N ...]`` (default 1 and
80). Writes a SAM template with N durable functions (each its own CodeUri folder
and handler file) into a temporary folder, starts ``serve --template`` under each
invoker, and prints the seconds from the start of the process to the line that
says it listens, and the resident memory of the service and its worker processes
then (Linux ``/proc``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = Path(sys.executable).with_name("trio-durable")
HANDLER = """\
from trio_durable import durable_execution

@durable_execution
async def handler(event, ctx):
    return event
"""


def write_project(folder: Path, n: int) -> Path:
    lines = [
        "Transform: AWS::Serverless-2016-10-31",
        "Globals:",
        "  Function: {Runtime: python3.11, Timeout: 30}",
        "Resources:",
    ]
    for i in range(n):
        (folder / f"f{i}").mkdir()
        (folder / f"f{i}" / "app.py").write_text(HANDLER)
        lines += [
            f"  Fn{i}:",
            "    Type: AWS::Serverless::Function",
            "    Properties:",
            f"      CodeUri: f{i}/",
            "      Handler: app.handler",
            "      DurableConfig: {ExecutionTimeout: 600}",
            f"      Environment: {{Variables: {{INDEX_{i}: '{i}'}}}}",
        ]
    template = folder / "template.yaml"
    template.write_text("\n".join(lines) + "\n")
    return template


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MB."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            tasks = list(Path(f"/proc/{current}/task").iterdir())
            # Children are listed under the thread that started them.
            children = [c for task in tasks for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        pending.extend(int(child) for child in children)
    return total / 1024


def time_to_listen(template: Path, invoker: str) -> tuple[float, float]:
    start = time.perf_counter()
    args = ["serve", "--port", "0", "--store", "memory", "--invoker", invoker]
    process = subprocess.Popen(
        [str(CLI), *args, "--template", str(template)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "listening on" in line:
                return time.perf_counter() - start, rss_mb(process.pid)
        raise RuntimeError(f"serve exited with status {process.wait()} before listening")
    finally:
        process.terminate()
        process.wait(60)


def main() -> None:
    counts = [int(arg) for arg in sys.argv[1:]] or [1, 80]
    os.environ.pop("AWS_ENDPOINT_URL_LAMBDA", None)
    print("serve --template: seconds until it listens, and memory then")
    for n in counts:
        with tempfile.TemporaryDirectory() as folder:
            template = write_project(Path(folder), n)
            for invoker in ("inprocess", "subprocess"):
                seconds, memory = time_to_listen(template, invoker)
                print(
                    f"  {n:>3} functions  {invoker:<10} {seconds:6.2f} s  {memory:7.0f} MB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
