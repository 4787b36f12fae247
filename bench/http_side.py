"""Workload 4: 1,000 steps over HTTP, both SDKs against trio-durable's HTTP service.

Pending: trio_durable.local.http (issue 4) has not landed yet.
"""

from __future__ import annotations

from bench.harness import Unavailable


def ours_steps(n: int) -> float:
    raise Unavailable("trio_durable.local.http is not implemented yet")


def theirs_steps(n: int) -> float:
    raise Unavailable("trio_durable.local.http is not implemented yet")
