"""The worker-thread hop of sync step bodies under Trio (``runtime/threads.py``)."""

from __future__ import annotations

import contextvars
import threading

import pytest
import trio
import trio.testing

from trio_durable.runtime.threads import trio_run_sync

REQUEST = contextvars.ContextVar("REQUEST", default="none")


async def test_returns_the_result_from_another_thread() -> None:
    main = threading.get_ident()
    result = await trio_run_sync(lambda: ("done", threading.get_ident()))
    assert result[0] == "done"
    assert result[1] != main


async def test_raises_the_body_exception() -> None:
    def body() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        await trio_run_sync(body)
    # The limiter token came back despite the failure.
    assert trio.to_thread.current_default_thread_limiter().borrowed_tokens == 0


async def test_the_body_sees_a_copy_of_the_callers_context() -> None:
    REQUEST.set("outer")

    def body() -> str:
        seen = REQUEST.get()
        REQUEST.set("inner")
        return seen

    assert await trio_run_sync(body) == "outer"
    assert REQUEST.get() == "outer"


async def test_a_cancelled_caller_waits_for_its_body() -> None:
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
            returned.append(await trio_run_sync(body))
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


async def test_a_caller_cancelled_before_the_hop_runs_nothing() -> None:
    ran: list[bool] = []
    with trio.CancelScope() as scope:
        scope.cancel()
        await trio_run_sync(lambda: ran.append(True))
    assert scope.cancelled_caught
    assert ran == []


async def test_bodies_run_concurrently() -> None:
    barrier = threading.Barrier(3, timeout=60)
    results: list[int] = []

    async def one(i: int) -> None:
        results.append(await trio_run_sync(lambda: barrier.wait() * 0 + i))

    async with trio.open_nursery() as nursery:
        for i in range(3):
            nursery.start_soon(one, i)
    assert sorted(results) == [0, 1, 2]


async def test_the_default_thread_limiter_bounds_concurrent_bodies() -> None:
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
        nursery.start_soon(trio_run_sync, first)
        await trio.to_thread.run_sync(first_started.wait, limiter=trio.CapacityLimiter(1))
        nursery.start_soon(trio_run_sync, second)
        await trio.testing.wait_all_tasks_blocked()
        assert limiter.statistics().tasks_waiting == 1
        assert order == []
        release.set()
    assert order == ["first", "second"]
    assert limiter.borrowed_tokens == 0


async def test_the_body_can_call_back_into_the_event_loop() -> None:
    async def on_the_loop() -> str:
        await trio.lowlevel.checkpoint()
        return "from the loop"

    assert await trio_run_sync(lambda: trio.from_thread.run(on_the_loop)) == "from the loop"


async def test_virtual_time_stands_still_while_bodies_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A sleeper gives autojump somewhere to jump to; without the hold it would
    # jump there as soon as the caller blocked on the thread.
    threshold_during: list[float] = []
    times: list[float] = []

    def body(release: threading.Event) -> None:
        release.wait(5)

    async def hop(release: threading.Event) -> None:
        await trio_run_sync(lambda: body(release))
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
