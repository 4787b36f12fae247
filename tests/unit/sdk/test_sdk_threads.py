"""The worker-thread hop of sync step bodies under Trio (``runtime/threads.py``).

Each test of the hop's contract runs twice: through ``trio_run_sync`` (Trio's
thread pool) and through an invocation's ``StepThread`` (its reused thread,
falling back to the pool while busy)."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

from trio_durable.runtime.threads import PATIENCE_SECONDS, StepThread, trio_run_sync

RunSync = Callable[[Callable[[], Any]], Awaitable[Any]]

REQUEST = contextvars.ContextVar("REQUEST", default="none")


@pytest.fixture(params=["pool", "step_thread"])
async def run_sync(request: pytest.FixtureRequest) -> AsyncIterator[RunSync]:
    if request.param == "pool":
        yield trio_run_sync
        return
    step_thread = StepThread()
    try:
        yield step_thread.run_sync
    finally:
        step_thread.close()


async def test_returns_the_result_from_another_thread(run_sync: RunSync) -> None:
    main = threading.get_ident()
    result = await run_sync(lambda: ("done", threading.get_ident()))
    assert result[0] == "done"
    assert result[1] != main


async def test_raises_the_body_exception(run_sync: RunSync) -> None:
    def body() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        await run_sync(body)
    # The limiter token came back despite the failure.
    assert trio.to_thread.current_default_thread_limiter().borrowed_tokens == 0


async def test_the_body_sees_a_copy_of_the_callers_context(run_sync: RunSync) -> None:
    REQUEST.set("outer")

    def body() -> str:
        seen = REQUEST.get()
        REQUEST.set("inner")
        return seen

    assert await run_sync(body) == "outer"
    assert REQUEST.get() == "outer"


async def test_a_cancelled_caller_waits_for_its_body(run_sync: RunSync) -> None:
    started, release = threading.Event(), threading.Event()
    returned: list[str] = []
    scopes: list[trio.CancelScope] = []

    def body() -> str:
        started.set()
        release.wait()
        return "finished"

    async def caller() -> None:
        with trio.CancelScope() as scope:
            scopes.append(scope)
            returned.append(await run_sync(body))
            await trio.lowlevel.checkpoint()
            returned.append("not cancelled")
        returned.append("cancelled" if scope.cancelled_caught else "left")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(caller)
        await trio.to_thread.run_sync(started.wait)
        scopes[0].cancel()
        await trio.testing.wait_all_tasks_blocked()
        assert returned == []  # still waiting for the body
        release.set()
    assert returned == ["finished", "cancelled"]


async def test_a_caller_cancelled_before_the_hop_runs_nothing(run_sync: RunSync) -> None:
    ran: list[bool] = []
    with trio.CancelScope() as scope:
        scope.cancel()
        await run_sync(lambda: ran.append(True))
    assert scope.cancelled_caught
    assert ran == []


async def test_bodies_run_concurrently(run_sync: RunSync) -> None:
    barrier = threading.Barrier(3, timeout=60)
    results: list[int] = []

    async def one(i: int) -> None:
        results.append(await run_sync(lambda: barrier.wait() * 0 + i))

    async with trio.open_nursery() as nursery:
        for i in range(3):
            nursery.start_soon(one, i)
    assert sorted(results) == [0, 1, 2]


async def test_the_default_thread_limiter_bounds_concurrent_bodies(run_sync: RunSync) -> None:
    limiter = trio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = 1
    first_started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        first_started.set()
        release.wait()
        order.append("first")

    def second() -> None:
        order.append("second")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_sync, first)
        await trio.to_thread.run_sync(first_started.wait, limiter=trio.CapacityLimiter(1))
        nursery.start_soon(run_sync, second)
        await trio.testing.wait_all_tasks_blocked()
        assert limiter.statistics().tasks_waiting == 1
        assert order == []
        release.set()
    assert order == ["first", "second"]
    assert limiter.borrowed_tokens == 0


async def test_the_body_can_call_back_into_the_event_loop(run_sync: RunSync) -> None:
    async def on_the_loop() -> str:
        await trio.lowlevel.checkpoint()
        return "from the loop"

    assert await run_sync(lambda: trio.from_thread.run(on_the_loop)) == "from the loop"


async def test_virtual_time_stands_still_while_bodies_run(
    autojump_clock: trio.testing.MockClock,
    run_sync: RunSync,
) -> None:
    # A sleeper gives autojump somewhere to jump to; without the hold it would
    # jump there as soon as the caller blocked on the thread.
    threshold_during: list[float] = []
    times: list[float] = []

    def body(release: threading.Event) -> None:
        release.wait(5)

    async def hop(release: threading.Event) -> None:
        await run_sync(lambda: body(release))
        times.append(trio.current_time())

    first, second = threading.Event(), threading.Event()
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.sleep, 1000)
        nursery.start_soon(hop, first)
        nursery.start_soon(hop, second)
        await trio.to_thread.run_sync(lambda: None)  # both bodies are in their threads
        threshold_during.append(autojump_clock.autojump_threshold)
        first.set()
        while not times:
            await trio.lowlevel.checkpoint()
        threshold_during.append(autojump_clock.autojump_threshold)  # one body still runs
        second.set()
    assert times == [start, start]
    assert threshold_during == [float("inf"), float("inf")]
    assert autojump_clock.autojump_threshold == 0  # given back once both returned
    assert trio.current_time() >= start + 1000  # and then time jumped for the sleeper


def wait_until_stopped(step_thread: StepThread) -> None:
    deadline = time.monotonic() + 60
    while step_thread.statistics().thread_running:
        assert time.monotonic() < deadline, "the step thread never stopped"
        time.sleep(0.01)


async def test_a_step_thread_runs_consecutive_bodies_on_one_thread() -> None:
    step_thread = StepThread()
    try:
        threads = {await step_thread.run_sync(threading.get_ident) for _ in range(20)}
    finally:
        step_thread.close()
    assert len(threads) == 1
    assert threading.get_ident() not in threads
    statistics = step_thread.statistics()
    assert statistics.on_thread == 20 and statistics.in_pool == 0


async def test_a_body_started_while_the_step_thread_is_busy_goes_to_the_pool() -> None:
    step_thread = StepThread()
    started, release = threading.Event(), threading.Event()
    idents: list[int] = []

    def first() -> None:
        idents.append(threading.get_ident())
        started.set()
        release.wait(60)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(step_thread.run_sync, first)
        await trio.to_thread.run_sync(started.wait)
        idents.append(await step_thread.run_sync(threading.get_ident))
        release.set()
    step_thread.close()
    assert idents[0] != idents[1]
    assert step_thread.statistics().on_thread == 1
    assert step_thread.statistics().in_pool == 1


async def test_the_loop_keeps_running_while_a_body_blocks() -> None:
    # The body waits for something only the event loop does: if the loop waited
    # for the body instead of giving up after its patience, this could not end.
    step_thread = StepThread()
    started, release = threading.Event(), threading.Event()

    def body() -> bool:
        started.set()
        return release.wait(60)

    async def releaser() -> None:
        await trio.to_thread.run_sync(started.wait)
        await trio.sleep(5 * PATIENCE_SECONDS)
        release.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(releaser)
        assert await step_thread.run_sync(body) is True
    step_thread.close()


async def test_a_closed_step_thread_lets_its_thread_go() -> None:
    step_thread = StepThread()
    await step_thread.run_sync(lambda: None)
    assert step_thread.statistics().thread_running
    step_thread.close()
    await trio.to_thread.run_sync(wait_until_stopped, step_thread)
    # Later bodies still run, in the pool.
    assert await step_thread.run_sync(lambda: "late") == "late"
    assert step_thread.statistics().in_pool == 1


async def test_closing_during_a_body_lets_the_thread_go_after_it() -> None:
    step_thread = StepThread()
    started, release = threading.Event(), threading.Event()

    def body() -> str:
        started.set()
        release.wait(60)
        return "finished"

    async with trio.open_nursery() as nursery:

        async def run_body() -> None:
            assert await step_thread.run_sync(body) == "finished"

        nursery.start_soon(run_body)
        await trio.to_thread.run_sync(started.wait)
        step_thread.close()
        assert step_thread.statistics().thread_running
        release.set()
    await trio.to_thread.run_sync(wait_until_stopped, step_thread)
