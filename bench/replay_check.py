"""How long the replay check takes for a history of N operations (default 3,000).

Usage: ``.venv/bin/python -m bench.replay_check [N]``. Records an execution of N
sequential async steps on the in-memory test runner, makes its history file, and
prints the median of five ``trio_durable.testing.replay`` runs of it (every step
is replayed from its record), and the time to load the file.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
import trio.testing

from trio_durable import DurableContext, durable_execution
from trio_durable.testing import DurableTestRunner
from trio_durable.testing.history import HistoryFile, operations_from_events
from trio_durable.testing.replay_check import replay


async def _echo(value: int) -> int:
    return value


def workflow_of(steps: int) -> Any:
    @durable_execution
    async def many(event: Any, ctx: DurableContext) -> int:
        total = 0
        for n in range(steps):
            total += await ctx.step(_echo, n, name=f"step-{n}")
        return total

    return many


async def _record(workflow: Any) -> HistoryFile:
    async with DurableTestRunner(workflow) as runner:
        result = await runner.run({})
    assert result.status == "SUCCEEDED", result.error
    return HistoryFile(
        result.arn, None, result.status, operations_from_events(result.events), result.events
    )


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    workflow = workflow_of(steps)
    history = trio.run(_record, workflow, clock=trio.testing.MockClock(autojump_threshold=0))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.json"
        history.dump(path)
        started = time.perf_counter()
        loaded = HistoryFile.load(path)
        load_seconds = time.perf_counter() - started
        size = path.stat().st_size
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        report = replay(workflow, loaded)
        timings.append(time.perf_counter() - started)
        assert report.compatible, report.divergence
        assert report.operations_replayed == steps
    print(
        f"replay check of a {len(loaded.operations) - 1}-operation history "
        f"({len(loaded.events)} events, {size / 1e6:.1f} MB file): "
        f"median {statistics.median(timings):.3f} s of 5 (min {min(timings):.3f} s); "
        f"loading the file {load_seconds:.3f} s"
    )


if __name__ == "__main__":
    main()
