"""Faults injected at the service client, under the real SDK and the real engine.

Each run executes the ``mixed`` workflow in-process, with every invocation's
service client wrapped in a ``FaultInjectingClient`` (throttling, 5xx,
timeouts, responses lost after the engine applied the call, revoked tokens)
around the engine's own client. Virtual time
(``MockClock(autojump_threshold=0)``) skips waits, retry back-off and timeouts.
A fault-free run first gives the baseline every faulty run must match.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import trio
import trio.testing

from stress.clients import Fault, FaultInjectingClient
from stress.driver import all_events, check_finished_run, complete_callbacks
from stress.report import Report
from stress.workflows import mixed
from trio_durable.errors import DurableExecutionError
from trio_durable.local.invokers import InvocationError, InvocationRequest
from trio_durable.local.service import LocalService, open_local_service

FUNCTION = "mixed"
ROUNDS = 3


class FaultyInvoker:
    """Runs ``mixed`` in-process with a fault-injecting client (rate 0: no faults)."""

    def __init__(self, rng: random.Random, rate: float) -> None:
        self._rng = rng
        self._rate = rate
        self.injected: Counter[Fault] = Counter()
        self.faulty: list[FaultInjectingClient] = []

    async def invoke(self, request: InvocationRequest, service: LocalService) -> dict[str, Any]:
        from trio_durable.local.client import LocalServiceClient

        faulty = FaultInjectingClient(LocalServiceClient(service), self._rng, rate=self._rate)
        self.faulty.append(faulty)
        try:
            return await mixed.invoke(request.event, None, client=faulty)
        except DurableExecutionError as exc:  # what Lambda reports for an unhandled error
            raise InvocationError(str(exc), error_type="Runtime.Unhandled") from exc
        finally:
            self.injected.update(faulty.injected)


async def _one_run(
    report: Report, label: str, seed: int, rate: float, log_dir: Path, baseline: Any
) -> tuple[Counter[tuple[str, str]], FaultyInvoker]:
    invoker = FaultyInvoker(random.Random(seed), rate)
    log = log_dir / f"{label}.log"
    async with open_local_service(max_crash_retries=10) as service:
        service.register_function(FUNCTION, invoker)
        arn = service.start_execution(FUNCTION, _input(ROUNDS, log)).arn
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: complete_callbacks(service, arn, poll=0.05))
            execution = await service.wait_until_terminal(arn)
            nursery.cancel_scope.cancel()
        events = all_events(service, arn)
    terminal = check_finished_run(report, label, execution, events, ROUNDS, log, baseline)
    _check_retries(report, label, invoker)
    return terminal, invoker


def _input(rounds: int, log: Path) -> str:
    return json.dumps({"rounds": rounds, "log": str(log)})


def _check_retries(report: Report, label: str, invoker: FaultyInvoker) -> None:
    """A call retried after its answer was lost gets that same answer: the engine
    recognised the ClientToken and did not apply the updates again."""
    for faulty in invoker.faulty:
        lost: dict[str | None, str | None] = {}
        for call in faulty.calls:
            if call.fault is Fault.LOST_RESPONSE:
                lost[call.client_token] = call.answer_token
            elif call.fault is None and call.client_token in lost:
                report.count("clean retries after a lost response")
                report.check(
                    call.answer_token == lost.pop(call.client_token),
                    "a retry after a lost response gets the applied call's answer",
                    f"{label}: ClientToken {call.client_token}",
                )


async def _run_all(report: Report, runs: int, seed: int, rate: float) -> None:
    with tempfile.TemporaryDirectory(prefix="stress-faults-") as tmp:
        baseline, _ = await _one_run(report, "baseline", seed, 0.0, Path(tmp), None)
        injected: Counter[Fault] = Counter()
        for i in range(runs):
            _, invoker = await _one_run(
                report, f"run-{i}", seed * 1000 + i, rate, Path(tmp), baseline
            )
            injected.update(invoker.injected)
            report.count("faulty runs")
    for fault in Fault:
        report.count(f"injected: {fault}", injected[fault])
        report.check(injected[fault] > 0, "every kind of fault was injected", f"{fault}: none")


def run(*, quick: bool, seed: int) -> Report:
    runs = 15 if quick else 60
    report = Report(f"faults at the service client: {runs} runs of 'mixed' x {ROUNDS} rounds")
    trio.run(_run_all, report, runs, seed, 0.3, clock=trio.testing.MockClock(autojump_threshold=0))
    return report
