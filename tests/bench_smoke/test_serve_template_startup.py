"""bench.serve_template_startup runs: a project of N functions is served under both invokers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_serve_template_startup_measures_both_invokers() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.serve_template_startup", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^\s+2 functions\s+(\w+)\s+[\d.]+ s\s+(\d+) MB$", done.stdout, re.M)
    assert [invoker for invoker, _ in rows] == ["inprocess", "subprocess"], done.stdout
    assert all(int(mb) > 10 for _, mb in rows)  # a Python process and its workers
