"""Unruly user code under the invoker ``trio-durable serve`` uses in process
(``ThreadInvoker``: each invocation on a thread and Trio loop of its own).

Part one runs many executions of ``unruly`` at once, each round misbehaving once
in a way the plan (from the seed) picks: ``SystemExit`` from the handler,
``KeyboardInterrupt`` from a sync step, a custom ``BaseException`` from an async
step, a sync step that outlives its invocation timeout, or a slow sync step.
Meanwhile a driver pauses and resumes executions at random moments, and stops
some during a sync step. Every execution must end: the unstopped ones SUCCEEDED
with the planned result, the stopped ones STOPPED with ExecutionStopped last (and
deletable); every pause must take effect (PAUSED, or an ended execution) and
never stay PAUSING.

Part two restarts the service (same SQLite file) while invocations queue for
its two handler threads: every execution must still succeed, each operation
completed once.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from stress.driver import TERMINAL_OP_EVENTS, all_events
from stress.report import Report
from trio_durable import DurableContext, durable_execution
from trio_durable.errors import ServiceError
from trio_durable.local.invokers import ThreadInvoker
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.local.sqlite_store import SQLiteStore

FUNCTION = "unruly"
TIMEOUT = 2.0  # the invocation timeout, seconds
MISBEHAVIOURS = ("handler-exit", "step-interrupt", "async-step-custom", "outlives-timeout", "slow")
SETTLE_SECONDS = 60.0  # how long a pause or a stop may take to show, at most


class Custom(BaseException):
    """A ``BaseException`` of the user's own."""


def _first(directory: str, key: str) -> bool:
    """True exactly once per ``key`` (a file created exclusively)."""
    try:
        os.close(os.open(os.path.join(directory, key), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def sync_value(directory: str, key: str, kind: str, value: int) -> int:
    if kind == "step-interrupt" and _first(directory, key):
        raise KeyboardInterrupt
    if kind == "outlives-timeout" and _first(directory, key):
        time.sleep(TIMEOUT * 1.5)
    if kind == "slow":
        time.sleep(0.1)
    return value


@durable_execution
async def unruly(event: dict[str, Any], ctx: DurableContext) -> list[int]:
    directory, plan = event["dir"], event["plan"]
    values: list[int] = []
    for i, kind in enumerate(plan):
        if kind == "handler-exit" and _first(directory, f"exit-{i}"):
            sys.exit(3)
        values.append(await ctx.step(sync_value, directory, f"sync-{i}", kind, i, name=f"sync-{i}"))

        async def async_value(i: int = i, kind: str = kind) -> int:
            await trio.sleep(0.01)
            if kind == "async-step-custom" and _first(directory, f"async-{i}"):
                raise Custom("custom base exception")
            return 10 * i

        values.append(await ctx.step(async_value, name=f"async-{i}"))
    return values


def _expected(plan: list[str]) -> list[int]:
    return [v for i in range(len(plan)) for v in (i, 10 * i)]


def _status(service: LocalService, arn: str) -> str:
    return str(service.get_execution(arn, include_execution_data=False)["Status"])


async def _until(check: Callable[[], bool], *, interval: float) -> None:
    """Until ``check()`` holds, asked every ``interval`` seconds (at most
    ``SETTLE_SECONDS``)."""
    with trio.move_on_after(SETTLE_SECONDS):
        while True:
            if check():
                return
            await trio.sleep(interval)


async def _settle(service: LocalService, arn: str, wanted: set[str]) -> str:
    """The execution's status once it is one of ``wanted`` (or what it is after
    ``SETTLE_SECONDS``)."""
    await _until(lambda: _status(service, arn) in wanted, interval=0.01)
    return _status(service, arn)


async def _drive(
    report: Report, service: LocalService, arn: str, rng: random.Random, stop: bool
) -> None:
    """Pause and resume ``arn`` at random moments; stop it during a sync step if
    ``stop``; then check how it ended."""
    ended = {"SUCCEEDED", "FAILED", "STOPPED", "TIMED_OUT"}
    if stop:
        await _until(lambda: _in_sync_step(service, arn), interval=0.005)
        if _status(service, arn) == "RUNNING":
            service.stop_execution(arn)
            report.count("stops during a sync step")
    for _ in range(0 if stop else rng.randrange(1, 4)):
        await trio.sleep(rng.uniform(0.0, 1.0))
        if _status(service, arn) != "RUNNING":
            break
        service.pause_execution(arn)
        report.count("pauses")
        status = await _settle(service, arn, {"PAUSED", *ended})
        report.check(status != "PAUSING", "a pause takes effect", f"{arn} stayed PAUSING")
        if status != "PAUSED":
            break
        await trio.sleep(rng.uniform(0.0, 0.2))
        service.resume_execution(arn)
    status = await _settle(service, arn, ended)
    report.check(status in ended, "every execution ends", f"{arn} is {status}")


def _in_sync_step(service: LocalService, arn: str) -> bool:
    """Whether the execution's last event is a sync step's start, or it has ended."""
    if _status(service, arn) != "RUNNING":
        return True
    last = service.get_execution_history(arn, reverse_order=True, max_items=1)["Events"][0]
    return bool(last["EventType"] == "StepStarted" and last.get("Name", "").startswith("sync"))


def _events(service: LocalService, arn: str) -> list[dict[str, Any]]:
    """The whole history, with its errors' details."""
    events: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        page = service.get_execution_history(arn, include_execution_data=True, marker=marker)
        events.extend(page["Events"])
        marker = page.get("NextMarker")
        if not marker:
            return events


def _check_ended(
    report: Report, service: LocalService, arn: str, plan: list[str], stopped: bool
) -> Counter[str]:
    events = _events(service, arn)
    execution = service.get_execution(arn)
    errors = Counter(
        e["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"]
        for e in events
        if e["EventType"] == "InvocationCompleted" and "Error" in e["InvocationCompletedDetails"]
    )
    if stopped and execution["Status"] == "STOPPED":
        report.check(
            events[-1]["EventType"] == "ExecutionStopped",
            "a stopped execution ends with ExecutionStopped",
            f"{arn}: last event {events[-1]['EventType']}",
        )
        try:
            service.delete_execution(arn)
            report.count("stopped executions deleted")
        except ServiceError as exc:
            report.check(False, "a stopped execution can be deleted", f"{arn}: {exc}")
        return errors
    result = json.loads(execution["Result"]) if execution.get("Result") else None
    report.check(
        execution["Status"] == "SUCCEEDED" and result == _expected(plan),
        "an execution succeeds with the planned result despite its user code",
        f"{arn}: {execution['Status']} {result if result else execution.get('Error')}",
    )
    done = Counter(e.get("Id") for e in events if e["EventType"] in TERMINAL_OP_EVENTS)
    for op_id, n in done.items():
        report.check(n == 1, "each operation completes once in the history", f"{arn}: {op_id}")
    return errors


async def _misbehaving(report: Report, executions: int, rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="stress-unruly-") as tmp:
        async with open_local_service(max_crash_retries=3 * rounds) as service:
            invoker = ThreadInvoker(unruly)
            service.register_function(FUNCTION, invoker, invocation_timeout_seconds=TIMEOUT)
            runs: list[tuple[str, list[str], bool]] = []
            async with trio.open_nursery() as nursery:
                for i in range(executions):
                    directory = Path(tmp) / str(i)
                    directory.mkdir()
                    plan = [rng.choice(MISBEHAVIOURS) for _ in range(rounds)]
                    if i < len(MISBEHAVIOURS):  # each kind strikes at least once
                        plan[-1] = MISBEHAVIOURS[i]
                    # a stopped execution never reaches its last round: not one
                    # whose last round is the kind it must strike
                    stop = i >= len(MISBEHAVIOURS) and i % 4 == 3
                    if stop:  # a slow sync step for the stop to land in
                        plan[0] = "slow"
                    payload = json.dumps({"dir": str(directory), "plan": plan})
                    arn = service.start_execution(FUNCTION, payload).arn
                    runs.append((arn, plan, stop))
                    nursery.start_soon(
                        _drive, report, service, arn, random.Random(rng.random()), stop
                    )
            crashes: Counter[str] = Counter()
            for arn, plan, stop in runs:
                crashes.update(_check_ended(report, service, arn, plan, stop))
            for error_type, n in crashes.items():
                report.count(f"invocations crashed: {error_type}", n)
            for kind in ("Sandbox.Timedout", "Runtime.ExitError", "KeyboardInterrupt", "Custom"):
                report.check(crashes[kind] > 0, "every kind of fault struck", f"{kind}: none")
            report.count(
                "threads abandoned and not yet ended", invoker.statistics().threads_abandoned
            )


@durable_execution
async def queued(event: dict[str, Any], ctx: DurableContext) -> int:
    total = 0
    for i in range(3):
        total = await ctx.step(_slow_add, total, i, name=f"add-{i}")
    return total


def _slow_add(total: int, i: int) -> int:
    time.sleep(0.1)
    return total + i


async def _restarts(report: Report, executions: int, restarts: int, seed: int) -> None:
    rng = random.Random(seed + 1)
    with tempfile.TemporaryDirectory(prefix="stress-restarts-") as tmp:
        path = Path(tmp) / "state.db"
        arns: list[str] = []
        for round_ in range(restarts + 1):
            store = SQLiteStore(path)
            try:
                async with open_local_service(
                    store=store, max_crash_retries=3 * restarts
                ) as service:
                    service.register_function(
                        "queued", ThreadInvoker(queued, limiter=trio.CapacityLimiter(2))
                    )
                    if round_ == 0:
                        arns = [
                            service.start_execution("queued", "{}").arn for _ in range(executions)
                        ]
                    if round_ < restarts:
                        await trio.sleep(rng.uniform(0.1, 0.6))
                        waiting = service.statistics().invocations_in_flight
                        report.count("invocations in flight or queued at a restart", waiting)
                        report.count("restarts")
                        continue
                    with trio.move_on_after(SETTLE_SECONDS * 2):
                        for arn in arns:
                            await service.wait_until_terminal(arn)
                    for arn in arns:
                        execution = service.get_execution(arn)
                        report.check(
                            execution["Status"] == "SUCCEEDED" and execution.get("Result") == "3",
                            "every queued execution succeeds across restarts",
                            f"{arn}: {execution['Status']} {execution.get('Error')}",
                        )
                        events = all_events(service, arn)
                        done = Counter(
                            e.get("Id") for e in events if e["EventType"] in TERMINAL_OP_EVENTS
                        )
                        report.check(
                            sorted(done.values()) == [1, 1, 1],
                            "each operation completes once in the history",
                            f"{arn}: {dict(done)}",
                        )
            finally:
                store.close()


def run(*, quick: bool, seed: int) -> Report:
    executions, rounds = (12, 3) if quick else (60, 5)
    queued_executions, restarts = (12, 3) if quick else (40, 8)
    report = Report(
        f"unruly user code: {executions} executions x {rounds} misbehaving rounds, paused and"
        f" stopped at random; {queued_executions} queued executions across {restarts} restarts"
    )
    log = logging.getLogger("trio_durable.local")
    level = log.level
    log.setLevel(logging.ERROR)  # not a warning for each abandoned thread
    try:
        trio.run(_misbehaving, report, executions, rounds, seed)
        trio.run(_restarts, report, queued_executions, restarts, seed)
    finally:
        log.setLevel(level)
    return report
