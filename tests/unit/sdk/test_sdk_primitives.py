"""The backend-resolving primitives of the hot paths (``runtime/primitives.py``)."""

from __future__ import annotations

import anyio
import trio
import trio.testing

from trio_durable.runtime import primitives


async def test_under_trio_they_are_trios_own() -> None:
    event = primitives.new_event()
    assert isinstance(event, trio.Event)
    assert isinstance(primitives.shielded(), trio.CancelScope)
    assert isinstance(primitives.move_on_after(1), trio.CancelScope)


async def test_event_wakes_its_waiter() -> None:
    event = primitives.new_event()
    woken: list[bool] = []

    async def waiter() -> None:
        await event.wait()
        woken.append(event.is_set())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        assert woken == []
        event.set()
    assert woken == [True]


async def test_shielded_finishes_its_body_when_cancelled() -> None:
    steps: list[str] = []
    with trio.CancelScope() as outer:
        outer.cancel()
        with primitives.shielded():
            await primitives.checkpoint()
            steps.append("inside")
        await primitives.checkpoint()
        steps.append("after")
    assert steps == ["inside"]
    assert outer.cancelled_caught


async def test_move_on_after_gives_up(autojump_clock: trio.testing.MockClock) -> None:
    for seconds in (5.0, -1.0):
        with primitives.move_on_after(seconds) as scope:
            await trio.sleep_forever()
        assert scope.cancelled_caught


def test_under_asyncio_they_are_anyios() -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        event = primitives.new_event()
        assert isinstance(event, anyio.Event)

        async def setter() -> None:
            await primitives.checkpoint()
            event.set()

        async with anyio.create_task_group() as group:
            group.start_soon(setter)
            await event.wait()
            seen.append("event")
        with primitives.move_on_after(-1) as scope:
            await anyio.sleep_forever()
        if scope.cancelled_caught:
            seen.append("timed out")
        with anyio.CancelScope() as outer:
            outer.cancel()
            with primitives.shielded():
                await primitives.checkpoint()
                seen.append("shielded")
        return seen

    assert anyio.run(main, backend="asyncio") == ["event", "timed out", "shielded"]


async def test_a_replay_checkpoint_is_a_cancel_point_every_time() -> None:
    replayed = primitives.new_replay_checkpoint()
    with trio.CancelScope() as scope:
        scope.cancel()
        await replayed()
        raise AssertionError("not cancelled")  # pragma: no cover
    assert scope.cancelled_caught


async def test_a_replay_checkpoint_lets_other_tasks_run_every_so_often() -> None:
    replayed = primitives.new_replay_checkpoint()
    turns: list[int] = []
    calls = 10 * primitives.REPLAY_SCHEDULE_EVERY

    async def other() -> None:
        while True:
            turns.append(1)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other)
        for _ in range(calls):
            await replayed()
        nursery.cancel_scope.cancel()
    # Not a schedule point every time (that is what it saves), but once in
    # REPLAY_SCHEDULE_EVERY calls (give or take the turn Trio's order decides).
    assert 9 <= len(turns) <= 11


async def test_runnable_tasks_counts_the_tasks_waiting_for_their_turn() -> None:
    async def busy() -> None:
        while True:
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(busy)  # a new task is runnable until its first turn
        assert primitives.runnable_tasks() >= 5
        nursery.cancel_scope.cancel()
    assert primitives.runnable_tasks() == 0
