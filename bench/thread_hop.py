"""The floor under a sync step: what one round trip to a worker thread costs here.

Usage: ``.venv/bin/python -m bench.thread_hop [N]`` (optionally under ``taskset -c 0``
to keep every thread on one CPU). Each line is the median of N round trips of a
no-op, after 200 untimed ones:

- ``StepThread.run_sync``: what a sync step body goes through: the
  invocation's own worker thread, the loop waiting on a lock while nothing else
  can run (``trio_durable/runtime/threads.py``);
- ``trio.to_thread.run_sync``: what a sync step body went through before (and
  still does while the invocation's thread is busy);
- ``trio.lowlevel.start_thread_soon``: the same thread cache without the limiter,
  the context copy and the ``from_thread`` plumbing;
- ``threading.Lock`` ping-pong: two plain threads waking each other, no event loop;
- ``trio.lowlevel.checkpoint()``: one pass through Trio's scheduler, for scale.

A sync step costs at least the first of these on top of what an async step costs.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import outcome
import trio
import trio.lowlevel

from trio_durable.runtime.threads import StepThread

WARM_UP = 200


def _noop() -> None:
    return None


async def _start_thread_soon_hop() -> Any:
    token = trio.lowlevel.current_trio_token()
    task = trio.lowlevel.current_task()

    def deliver(result: outcome.Outcome[Any]) -> None:
        token.run_sync_soon(trio.lowlevel.reschedule, task, result)

    trio.lowlevel.start_thread_soon(_noop, deliver)
    return await trio.lowlevel.wait_task_rescheduled(lambda _: trio.lowlevel.Abort.FAILED)


async def _median_us(hop: Callable[[], Awaitable[Any]], n: int) -> float:
    for _ in range(WARM_UP):
        await hop()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await hop()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def _lock_ping_pong_us(n: int) -> float:
    ping, pong = threading.Lock(), threading.Lock()
    ping.acquire()
    pong.acquire()

    def partner() -> None:
        for _ in range(WARM_UP + n):
            ping.acquire()
            pong.release()

    thread = threading.Thread(target=partner)
    thread.start()
    samples = []
    for i in range(WARM_UP + n):
        start = time.perf_counter()
        ping.release()
        pong.acquire()
        if i >= WARM_UP:
            samples.append(time.perf_counter() - start)
    thread.join()
    return statistics.median(samples) * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000

    async def under_trio() -> dict[str, float]:
        step_thread = StepThread()
        try:
            step_thread_us = await _median_us(lambda: step_thread.run_sync(_noop), n)
        finally:
            step_thread.close()
        return {
            "StepThread.run_sync": step_thread_us,
            "trio.to_thread.run_sync": await _median_us(lambda: trio.to_thread.run_sync(_noop), n),
            "trio.lowlevel.start_thread_soon": await _median_us(_start_thread_soon_hop, n),
            "trio.lowlevel.checkpoint()": await _median_us(trio.lowlevel.checkpoint, n),
        }

    results = trio.run(under_trio)
    results["threading.Lock ping-pong"] = _lock_ping_pong_us(n)
    for name, us in results.items():
        print(f"{name:34} {us:7.1f} us per round trip (median of {n})")


if __name__ == "__main__":
    main()
