"""The "ours" side: trio-durable's SDK with its local service, one function per workload.

The workflows match ``bench.aws_side`` one for one (same sizes from the input,
same results checked). Each function runs one execution under a fresh
``trio.run`` and returns the elapsed wall time; the step-and-wait workload runs
under ``MockClock(autojump_threshold=0)`` so that every wait is skipped.
Step functions are sync, like AWS's (trio-durable runs them in a worker
thread), except in ``async_steps``.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from bench import our_workflows
from bench.harness import BenchError
from trio_durable.local.invokers import InProcessInvoker
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.local.sqlite_store import SQLiteStore
from trio_durable.local.store import Store

CALLBACK_PAYLOAD = b'"done"'


REAL_TIME_LIMIT_SECONDS = 900.0


def run_trio(fn: Callable[[], Awaitable[Any]], *, virtual_time: bool = False) -> Any:
    """``trio.run(fn)``, cancelled by a real-time watchdog after 15 minutes.

    The watchdog is a thread because under a ``MockClock`` a busy loop freezes
    virtual time, so no Trio deadline would ever expire.
    """

    async def guarded() -> Any:
        token = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as scope:
            timer = threading.Timer(
                REAL_TIME_LIMIT_SECONDS, lambda: token.run_sync_soon(scope.cancel)
            )
            timer.start()
            try:
                return await fn()
            finally:
                timer.cancel()
        raise BenchError(f"no result after {REAL_TIME_LIMIT_SECONDS:.0f} s of real time")

    if not virtual_time:
        return trio.run(guarded)
    from trio.testing import MockClock  # imported only here: it pulls in pytest

    return trio.run(guarded, clock=MockClock(autojump_threshold=0))


def _check(execution: dict[str, Any], expected: int) -> None:
    if execution.get("Status") != "SUCCEEDED":
        raise BenchError(f"trio-durable execution ended {execution.get('Status')}: {execution}")
    value = json.loads(execution["Result"])
    if value != expected:
        raise BenchError(f"trio-durable workflow returned {value!r}, expected {expected}")


def _timed(
    body: Callable[[], Awaitable[dict[str, Any]]], n: int, *, virtual_time: bool = False
) -> float:
    start = time.perf_counter()
    execution = run_trio(body, virtual_time=virtual_time)
    elapsed = time.perf_counter() - start
    _check(execution, n)
    return elapsed


async def _run_in_process(function: str, n: int, store: Store | None = None) -> dict[str, Any]:
    async with open_local_service(store=store) as service:
        service.register_function(function, InProcessInvoker(our_workflows.HANDLERS[function]))
        started = service.start_execution(function, json.dumps({"n": n}))
        return await service.wait_until_terminal(started.arn)


def sequential_steps(n: int) -> float:
    return _timed(lambda: _run_in_process("steps", n), n)


def sequential_async_steps(n: int) -> float:
    return _timed(lambda: _run_in_process("async_steps", n), n)


def sequential_steps_at_most_once(n: int) -> float:
    return _timed(lambda: _run_in_process("steps_at_most_once", n), n)


def map_items(n: int) -> float:
    return _timed(lambda: _run_in_process("map_items", n), n)


def map_async_items(n: int) -> float:
    return _timed(lambda: _run_in_process("map_async_items", n), n)


def parallel_branches(n: int) -> float:
    return _timed(lambda: _run_in_process("parallel_branches", n), n)


def step_wait(n: int) -> float:
    return _timed(lambda: _run_in_process("step_wait", n), n, virtual_time=True)


def sqlite_steps(n: int) -> float:
    async def body() -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="bench-ours-sqlite-") as tmp:
            store = SQLiteStore(Path(tmp) / "executions.db")
            try:
                return await _run_in_process("steps", n, store=store)
            finally:
                store.close()

    return _timed(body, n)


def callback_roundtrip(n: int) -> float:
    """Milliseconds per callback: create, complete from outside, resume."""

    async def body() -> dict[str, Any]:
        async with open_local_service() as service:
            service.register_function(
                "callbacks", InProcessInvoker(our_workflows.HANDLERS["callbacks"])
            )
            arn = service.start_execution("callbacks", json.dumps({"n": n})).arn
            for i in range(n):
                callback_id = await _wait_for_callback(service, arn, f"cb{i}")
                service.send_callback_success(callback_id, CALLBACK_PAYLOAD)
            return await service.wait_until_terminal(arn)

    start = time.perf_counter()
    execution = run_trio(body)
    elapsed = time.perf_counter() - start
    _check(execution, n)
    return elapsed * 1000 / n


async def _wait_for_callback(service: LocalService, arn: str, name: str) -> str:
    """Poll the history (as an outside system would) for callback ``name``'s id."""
    while True:
        history = service.get_execution_history(arn)
        for event in history["Events"]:
            if event.get("EventType") == "CallbackStarted" and event.get("Name") == name:
                callback_id: str = event["CallbackStartedDetails"]["CallbackId"]
                return callback_id
        await trio.sleep(0.001)
