"""Crashes: the invocation process killed at random points, over many runs of ``mixed``.

The local service runs in this process with its HTTP API on a loopback port;
each run's function has its own ``SubprocessInvoker`` (one worker process,
tagged in its environment) so that a killer can find that run's worker and
``SIGKILL`` it at a random moment of a random invocation: while it imports,
replays, runs a step, or waits on a checkpoint. One uncrashed run gives the
baseline. Every run must end with the same result, every operation completed
exactly once, and no at-most-once attempt run twice (the side-effect log).
"""

from __future__ import annotations

import json
import os
import random
import signal
import tempfile
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import trio

from stress.driver import all_events, check_finished_run, complete_callbacks
from stress.report import Report
from trio_durable.local.http import bind_socket, serve
from trio_durable.local.invokers import InvocationRequest
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.local.subprocess_invoker import SubprocessInvoker

TARGET = "stress.workflows:mixed"
ROUNDS = 2
TAG = "TRIO_DURABLE_STRESS_RUN"
RUN_TIMEOUT_SECONDS = 180
AT_MOST_ONCE_HOLD = 0.1  # seconds the at-most-once step runs after its side effect


def _worker_pids(tag: str) -> list[int]:
    """Our own child processes whose environment carries ``TAG=tag``."""
    me = os.getpid()
    needle = f"{TAG}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == me and needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return found


class KillingInvoker:
    """Wraps a ``SubprocessInvoker``; kills its worker at a random point of some invocations.

    The first invocation of a run is always killed within its first 5 ms (as the
    handler loads and replays), so that every run crashes at least once: a random
    moment of up to 0.3 s can miss every invocation of a fast run.
    """

    def __init__(
        self, inner: SubprocessInvoker, tag: str, rng: random.Random, *, max_kills: int
    ) -> None:
        self._inner = inner
        self._tag = tag
        self._rng = rng
        self._max_kills = max_kills
        self._invocations = 0
        self.kills = 0

    async def invoke(self, request: InvocationRequest, service: LocalService) -> dict[str, Any]:
        self._invocations += 1
        async with trio.open_nursery() as nursery:
            if self._invocations == 1:
                nursery.start_soon(self._kill_after, self._rng.uniform(0.0, 0.005))
            elif self.kills < self._max_kills and self._rng.random() < 0.6:
                nursery.start_soon(self._kill_after, self._rng.uniform(0.0, 0.3))
            try:
                return await self._inner.invoke(request, service)
            finally:
                nursery.cancel_scope.cancel()

    async def _kill_after(self, delay: float) -> None:
        await trio.sleep(delay)
        while True:
            pids = _worker_pids(self._tag)
            if pids:
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                self.kills += 1
                return
            await trio.sleep(0.005)  # the worker is being spawned


async def _one_run(
    report: Report,
    service: LocalService,
    endpoint: str,
    label: str,
    log_dir: Path,
    rng: random.Random | None,
    baseline: Counter[tuple[str, str]] | None,
) -> Counter[tuple[str, str]]:
    log = log_dir / f"{label}.log"
    async with SubprocessInvoker(
        TARGET, endpoint=endpoint, max_workers=1, env={TAG: label}
    ) as worker:
        invoker: Any = worker
        if rng is not None:
            invoker = KillingInvoker(worker, label, rng, max_kills=3)
        service.register_function(label, invoker)
        payload = json.dumps({"rounds": ROUNDS, "log": str(log), "hold": AT_MOST_ONCE_HOLD})
        arn = service.start_execution(label, payload).arn
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(complete_callbacks, service, arn, poll=0.05))
            with trio.move_on_after(RUN_TIMEOUT_SECONDS) as timeout:
                execution = await service.wait_until_terminal(arn)
            nursery.cancel_scope.cancel()
    if timeout.cancelled_caught:
        report.check(False, "run finishes", f"{label}: not terminal after {RUN_TIMEOUT_SECONDS} s")
        return Counter()
    if isinstance(invoker, KillingInvoker):
        report.count("processes killed", invoker.kills)
    return check_finished_run(
        report, label, execution, all_events(service, arn), ROUNDS, log, baseline
    )


async def _run_all(report: Report, runs: int, parallel: int, seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="stress-crashes-") as tmp:
        async with (
            open_local_service(max_crash_retries=10) as service,
            trio.open_nursery() as nursery,
        ):
            sock = bind_socket("127.0.0.1", 0)
            endpoint: str = await nursery.start(partial(serve, service, sock=sock))
            baseline = await _one_run(report, service, endpoint, "baseline", Path(tmp), None, None)
            limiter = trio.CapacityLimiter(parallel)

            async def crashed_run(i: int) -> None:
                async with limiter:
                    await _one_run(
                        report,
                        service,
                        endpoint,
                        f"run-{i}",
                        Path(tmp),
                        random.Random(seed * 1000 + i),
                        baseline,
                    )
                    report.count("crashed runs")

            async with trio.open_nursery() as runs_nursery:
                for i in range(runs):
                    runs_nursery.start_soon(crashed_run, i)
            nursery.cancel_scope.cancel()
    report.check(
        report.counts["processes killed"] > 0, "some processes were killed", "no kill landed"
    )


def run(*, quick: bool, seed: int) -> Report:
    runs, parallel = (5, 5) if quick else (200, 10)
    report = Report(f"crashes: {runs} runs of 'mixed' x {ROUNDS} rounds, workers killed at random")
    trio.run(_run_all, report, runs, parallel, seed)
    return report
