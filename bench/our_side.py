"""The "ours" side: trio-durable's SDK with its local service, one function per workload.

The workflows match ``bench.aws_side`` one for one (same sizes from the input,
same results checked). Each function runs one execution under a fresh
``trio.run`` and returns the elapsed wall time; the step-and-wait workload runs
under ``MockClock(autojump_threshold=0)`` so that every wait is skipped.
Step functions are sync, like AWS's (trio-durable runs them in a worker
thread), except in ``async_steps``.
"""

from __future__ import annotations

import functools
import json
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from bench import our_workflows, replay_event
from bench.harness import BenchError
from trio_durable.errors import ServiceError
from trio_durable.local.invokers import InProcessInvoker
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.local.sqlite_store import SQLiteStore
from trio_durable.local.store import Store
from trio_durable.runtime.ids import operation_id

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


def _complete_callbacks(n: int, *, warm: bool = False) -> float:
    """Seconds to run one execution of ``n`` callbacks, each completed from outside
    (``warm``: the invoker keeps the workflow parked between invocations)."""

    async def body() -> dict[str, Any]:
        invoker = InProcessInvoker(our_workflows.HANDLERS["callbacks"], warm=warm)
        async with open_local_service() as service, invoker:
            service.register_function("callbacks", invoker)
            arn = service.start_execution("callbacks", json.dumps({"n": n})).arn
            for i in range(n):
                callback_id = await _wait_for_callback(service, arn, i)
                service.send_callback_success(callback_id, CALLBACK_PAYLOAD)
            return await service.wait_until_terminal(arn)

    return _timed(body, n)


def callback_roundtrip(n: int) -> float:
    """Milliseconds per callback: create, complete from outside, resume."""
    return _complete_callbacks(n) * 1000 / n


def sequential_callbacks(n: int) -> float:
    """Seconds for one execution completing ``n`` callbacks one after another."""
    return _complete_callbacks(n)


def sequential_callbacks_warm(n: int) -> float:
    """As ``sequential_callbacks``, with the workflow held warm between invocations."""
    return _complete_callbacks(n, warm=True)


async def _wait_for_callback(service: LocalService, arn: str, index: int) -> str:
    """Poll (as an outside system would) for the ``index``-th callback's id.

    It reads that one operation (the workflow's ``index + 1``-th), not the
    history: rendering a history of thousands of events on every poll would
    make the harness, not the SDK, grow quadratically.
    """
    op_id = operation_id(None, index + 1)
    while True:
        try:
            callback_id = service.engine.operation(arn, op_id).callback_id
        except ServiceError:  # not recorded yet
            callback_id = None
        if callback_id:
            return callback_id
        await trio.sleep(0.001)


CONCURRENT_STEPS = 100
"""Async steps per execution in ``concurrent_executions``."""


def concurrent_executions(n: int) -> float:
    """Microseconds per step: ``n`` executions of 100 async steps at once on one service."""

    async def body() -> dict[str, Any]:
        async with open_local_service() as service:
            service.register_function(
                "async_steps", InProcessInvoker(our_workflows.HANDLERS["async_steps"])
            )
            payload = json.dumps({"n": CONCURRENT_STEPS})
            arns = [service.start_execution("async_steps", payload).arn for _ in range(n)]
            executions = [await service.wait_until_terminal(arn) for arn in arns]
        for execution in executions[1:]:
            _check(execution, CONCURRENT_STEPS)
        return executions[0]

    start = time.perf_counter()
    execution = run_trio(body)
    elapsed = time.perf_counter() - start
    _check(execution, CONCURRENT_STEPS)
    return elapsed * 1e6 / (n * CONCURRENT_STEPS)


def replay(n: int) -> float:
    """Microseconds per replayed operation: one invocation of an execution whose
    ``n`` steps are all recorded (``bench.replay_event``), through the sync Lambda entry."""
    event = replay_event.fresh_event(n)
    handler = our_workflows.HANDLERS["steps"]
    client = replay_event.NoServiceClient()
    start = time.perf_counter()
    answer = trio.run(functools.partial(handler.invoke, event, None, client=client))
    elapsed = time.perf_counter() - start
    replay_event.check_answer(answer, n)
    return elapsed * 1e6 / n
