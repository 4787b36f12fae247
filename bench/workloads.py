"""The benchmark workloads of issues 6 and 19, by their fixed names.

Sizes are the issues'; ``quick_size`` keeps every code path but makes a smoke run
(``--quick``) take seconds. ``target`` is the ratio (theirs / ours) the issue asks
for, ``ours_at_most`` a ceiling on our median; ``SCALINGS`` are the targets on how
one workload grows into another. Cold start and peak memory run in a fresh
interpreter for every sample (``bench.cold_start``, ``bench.child``); every
other sample runs again until it has lasted ``MIN_SAMPLE_SECONDS`` (``bench.__main__``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import aws_side, cold_start, http_side, our_side
from bench.child import UNAVAILABLE_EXIT
from bench.harness import BenchError, Measure, Scaling, Unavailable, Workload, not_rerun

ROOT = Path(__file__).resolve().parent.parent


def _fresh(kind: str, side: str, n: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.child", kind, side, str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode == UNAVAILABLE_EXIT:
        raise Unavailable(proc.stderr.strip().splitlines()[-1])
    if proc.returncode != 0:
        raise BenchError(f"bench.child {kind} {side} failed:\n{proc.stderr}")
    result: dict[str, float] = json.loads(proc.stdout)
    return result


def _cold_start(side: str, part: str = "seconds") -> Measure:
    return lambda n: cold_start.measure(side)[part]


def _peak_memory(side: str) -> Measure:
    return lambda n: _fresh("memory", side, n)["max_rss_kb"] / 1024


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "sequential-steps-1000", "s", 1000, 100,
        our_side.sequential_steps, aws_side.sequential_steps, target=20, target_cpus=1,
        note="one execution of sync steps; the 20x is judged on one CPU (taskset -c 0), "
        "as a Lambda function below 1,769 MB has",
    ),
    Workload(
        "sequential-steps-3000", "s", 3000, 300,
        our_side.sequential_steps, aws_side.sequential_steps, target=20,
    ),
    Workload(
        "sequential-steps-1000-async", "s", 1000, 100,
        our_side.sequential_async_steps, aws_side.sequential_steps, target=60,
        note="ours with an async step function (no worker-thread hop); theirs sync steps",
    ),
    Workload(
        "sequential-steps-3000-async", "s", 3000, 300,
        our_side.sequential_async_steps, aws_side.sequential_steps, reps=5, target=20,
        note="as sequential-steps-1000-async, for the linearity of the async variant",
    ),
    Workload(
        "sequential-steps-1000-at-most-once", "s", 1000, 100,
        our_side.sequential_steps_at_most_once, aws_side.sequential_steps_at_most_once,
        note="at-most-once steps on both sides: every START and SUCCEED awaited",
    ),
    Workload(
        "step-wait-100", "s", 100, 3,
        our_side.step_wait, aws_side.step_wait, reps=3, target=20,
        note="101 invocations; time skipped on both sides",
    ),
    Workload(
        "sqlite-steps-1000", "s", 1000, 30,
        our_side.sqlite_steps, aws_side.sqlite_steps, reps=3, target=20,
    ),
    Workload(
        "http-steps-1000", "s", 1000, 20,
        http_side.ours_steps, http_side.theirs_steps, reps=3, target=2, warm_up=False,
        note="both SDKs over boto3 against trio-durable's HTTP service",
    ),
    Workload(
        "http-steps-1000-own-runner", "s", 1000, 20,
        http_side.ours_steps, aws_side.web_runner_steps, reps=3, target=2, warm_up=False,
        note="theirs against AWS's own web runner",
    ),
    Workload(
        "callback-roundtrip", "ms", 20, 2,
        our_side.callback_roundtrip, aws_side.callback_roundtrip, target=2,
        note="per callback: create, complete from outside, resume",
    ),
    Workload(
        "cold-start", "s", 1, 1, _cold_start("ours"), _cold_start("theirs"), target=1.5,
        warm_up=False, repeat_short=False,
        note="fresh interpreter: import the SDK, answer the first invocation over HTTP in "
        "Lambda's environment (theirs through boto3, ours its default client; "
        "bench/cold_start.py)",
    ),
    Workload(
        "cold-start-invocation", "s", 1, 1,
        _cold_start("ours", "invocation_seconds"), _cold_start("theirs", "invocation_seconds"),
        warm_up=False, repeat_short=False,
        note="as cold-start, only the first invocation after the init phase (Lambda's "
        "first request duration; ours creates its client in the init phase)",
    ),
    Workload(
        "memory-steps-10000", "MB", 10_000, 200,
        _peak_memory("ours"), _peak_memory("theirs"), reps=2, target=1,
        warm_up=False, repeat_short=False,
        note="peak RSS of a fresh process running one execution",
    ),
    Workload(
        "map-1000", "s", 1000, 100, our_side.map_items, aws_side.map_items, reps=3,
        note="one map over 1,000 items, a sync step each, 10 at a time (no target set)",
    ),
    Workload(
        "map-1000-async", "s", 1000, 100, our_side.map_async_items, aws_side.map_items, reps=3,
        note="ours with an async step function per item; theirs as map-1000 (no target set)",
    ),
    Workload(
        "parallel-100", "s", 100, 10,
        our_side.parallel_branches, aws_side.parallel_branches,
        note="100 parallel branches, a sync step each, 10 at a time (no target set)",
    ),
    Workload(
        "concurrent-executions-10", "us/step", 10, 2,
        our_side.concurrent_executions, aws_side.concurrent_executions, reps=5,
        note="10 executions x 100 steps at once on one service (ours async steps, theirs sync)",
    ),
    Workload(
        "concurrent-executions-300", "us/step", 300, 6,
        our_side.concurrent_executions, aws_side.concurrent_executions, reps=5,
        note="300 executions x 100 steps at once on one service (as concurrent-executions-10)",
    ),
    Workload(
        "sequential-callbacks-300", "s", 300, 3,
        our_side.sequential_callbacks, aws_side.sequential_callbacks, reps=3,
        note="one execution completing 300 callbacks one after another (each re-invocation "
        "replays every earlier one)",
    ),
    Workload(
        "sequential-callbacks-1000", "s", 1000, 5,
        our_side.sequential_callbacks, aws_side.sequential_callbacks, reps=3,
        note="as sequential-callbacks-300 with 1,000; theirs is given up after "
        f"{aws_side.SEQUENTIAL_CALLBACKS_CAP_SECONDS:.0f} s a sample",
    ),
    Workload(
        "sequential-callbacks-300-warm", "s", 300, 3,
        our_side.sequential_callbacks_warm, not_rerun("sequential-callbacks-300"),
        reps=3,
        note="as sequential-callbacks-300, ours with InProcessInvoker(warm=True): the "
        "workflow stays parked between invocations instead of replaying",
    ),
    Workload(
        "sequential-callbacks-1000-warm", "s", 1000, 5,
        our_side.sequential_callbacks_warm, not_rerun("sequential-callbacks-1000"),
        reps=3,
        note="as sequential-callbacks-1000, ours warm (as sequential-callbacks-300-warm)",
    ),
    Workload(
        "replay-3000", "us/op", 3000, 100,
        our_side.replay, aws_side.replay, ours_at_most=5,
        note="one invocation replaying 3,000 recorded steps (the same event on both sides)",
    ),
)  # fmt: skip

SCALINGS: tuple[Scaling, ...] = (
    Scaling("sequential-steps-1000", "sequential-steps-3000", 3.5),
    Scaling("sequential-steps-1000-async", "sequential-steps-3000-async", 3.5),
    Scaling("concurrent-executions-10", "concurrent-executions-300", 1.15),
    Scaling("sequential-callbacks-300", "sequential-callbacks-1000", None),
    Scaling("sequential-callbacks-300-warm", "sequential-callbacks-1000-warm", 3.6),
)
"""How much more the larger workload may cost ours, in multiples of the smaller (the issues')."""
