"""``python -m bench --quick --json`` end to end, on the cheapest workloads: the file's schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.machine_speed import window_spread
from bench.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parents[2]
ISSUE_NAMES = {
    "sequential-steps-1000",
    "sequential-steps-3000",
    "step-wait-100",
    "sqlite-steps-1000",
    "http-steps-1000",
    "callback-roundtrip",
    "cold-start",
    "memory-steps-10000",
    # issue 19
    "concurrent-executions-10",
    "concurrent-executions-300",
    "sequential-callbacks-300",
    "sequential-callbacks-1000",
    "replay-3000",
}


def _run_module(*args: str, timeout: float = 120) -> list[str]:
    """``python -m *args`` from the project root: its stdout lines (it must exit 0)."""
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_every_workload_named_by_the_issue_exists() -> None:
    assert {wl.name for wl in WORKLOADS} >= ISSUE_NAMES


def test_quick_json_schema(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    lines = _run_module(
        "bench", "--quick", "--json", str(out),
        "--only", "sequential-steps-1000", "--only", "cold-start",
        timeout=300,
    )  # fmt: skip
    rows = json.loads(out.read_text())
    assert [row["workload"] for row in rows] == ["sequential-steps-1000", "cold-start"]
    for row in rows:
        assert set(row) == {"workload", "unit", "ours", "theirs", "ratio"}
        assert row["unit"] == "s"
        assert row["ours"] > 0 and row["theirs"] > 0
        assert abs(row["ratio"] - row["theirs"] / row["ours"]) < 1e-3
    assert lines[-1] == f"wrote {out}"


def test_thread_hop_prints_a_median_for_each_way_of_hopping() -> None:
    lines = _run_module("bench.thread_hop", "50")
    assert [line.split()[0] for line in lines] == [
        "StepThread.run_sync",
        "trio.to_thread.run_sync",
        "trio.lowlevel.start_thread_soon",
        "trio.lowlevel.checkpoint()",
        "threading.Lock",
    ]
    for line in lines:
        assert float(line.split(" us per round trip")[0].split()[-1]) > 0
        assert line.endswith("(median of 50)")


def test_machine_speed_spread_shrinks_when_windows_outlast_the_phases() -> None:
    # 30 ms at 1 ms a run, then 30 ms at 2 ms a run, over and over: two speeds.
    times = ([0.001] * 30 + [0.002] * 15) * 100
    count, median, spread = window_spread(times, 0.015)
    assert count > 300 and spread == pytest.approx(2.0)
    count, median, spread = window_spread(times, 0.6)
    assert count in (9, 10) and spread == pytest.approx(1.0, rel=0.02)
    assert median == pytest.approx(0.06 / 45, rel=0.02)
    with pytest.raises(ValueError, match="too few runs"):
        window_spread(times, 10.0)


def test_machine_speed_prints_a_line_per_window() -> None:
    lines = _run_module("bench.machine_speed", "3.2")
    assert [line.split(":")[0] for line in lines] == [
        "window 15 ms", "window 150 ms", "window 1500 ms",
    ]  # fmt: skip
    for line in lines:
        spread = float(line.rsplit(" ", 1)[1])
        assert spread >= 1.0


def test_quick_runs_each_sample_once_unless_told_otherwise() -> None:
    """``--quick`` takes one run per sample; ``--min-sample`` repeats short runs."""
    quick = _run_module("bench", "--quick", "--only", "parallel-100", "--reps", "2")
    assert [line for line in quick if line.startswith("   rep ")]
    assert not [line for line in quick if "(mean of" in line]
    repeated = _run_module(
        "bench", "--quick", "--only", "parallel-100", "--reps", "1", "--min-sample", "0.5"
    )
    assert [line for line in repeated if line.startswith("   rep 1 ours") and "(mean of" in line]
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--min-sample", "-1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "--min-sample must not be negative" in proc.stderr
