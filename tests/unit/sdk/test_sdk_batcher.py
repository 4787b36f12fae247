"""The checkpoint batcher against an in-memory fake service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import trio
import trio.testing
from sdk_fakes import FakeService

from trio_durable.batcher import batcher as batcher_module
from trio_durable.batcher.batcher import CheckpointBatcher, update_size
from trio_durable.errors import ServiceError
from trio_durable.runtime.state import Activity, ExecutionState, StateActor
from trio_durable.wire import (
    MAX_CHECKPOINT_BYTES,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)


def step_update(n: int, payload: str | None = None) -> OperationUpdate:
    return OperationUpdate(
        id=f"op-{n}",
        type=OperationType.STEP,
        action=OperationAction.SUCCEED if payload else OperationAction.START,
        name=f"s{n}",
        payload=payload,
    )


@dataclass
class Rig:
    service: FakeService
    state: ExecutionState
    actor: StateActor
    batcher: CheckpointBatcher
    fatal: list[BaseException]


@asynccontextmanager
async def rig(service: FakeService | None = None, **options: Any) -> AsyncIterator[Rig]:
    service = service or FakeService()
    state = ExecutionState([], Activity())
    actor = StateActor(state)
    fatal: list[BaseException] = []
    batcher = CheckpointBatcher(
        service, service.arn, service.token, actor, on_fatal=fatal.append, **options
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(actor.run)
        nursery.start_soon(batcher.run)
        yield Rig(service, state, actor, batcher, fatal)
        nursery.cancel_scope.cancel()


async def test_updates_go_out_in_submission_order() -> None:
    async with rig() as r:
        for n in range(10):
            r.batcher.submit(step_update(n))
        await r.batcher.flush()
        await r.batcher.checkpoint(step_update(10))
    sent = [u.id for call in r.service.calls for u in call.updates]
    assert sent == [f"op-{n}" for n in range(11)]


async def test_a_call_carries_at_most_250_updates() -> None:
    async with rig() as r:
        for n in range(600):
            r.batcher.submit(step_update(n))
        await r.batcher.flush()
        stats = r.batcher.statistics()
    assert [len(c.updates) for c in r.service.calls] == [250, 250, 100]
    assert (stats.calls, stats.updates_sent, stats.queued) == (3, 600, 0)


async def test_a_call_stays_within_750_kb() -> None:
    payload = "x" * (200 * 1024)
    async with rig() as r:
        for n in range(5):
            r.batcher.submit(step_update(n, payload))
        await r.batcher.flush()
    sizes = [sum(update_size(u) for u in c.updates) for c in r.service.calls]
    assert [len(c.updates) for c in r.service.calls] == [3, 2]
    assert all(size <= MAX_CHECKPOINT_BYTES for size in sizes)


async def test_a_waiter_wakes_only_after_its_answer_is_merged() -> None:
    async with rig() as r:
        for n in range(3):
            r.batcher.submit(step_update(n))
        await r.batcher.checkpoint(step_update(3))
        # Nothing else ran between the wake-up and this line: the merge came first.
        merged = [r.state.get(f"op-{n}") for n in range(4)]
    assert all(op is not None and op.status is OperationStatus.STARTED for op in merged)
    stats = r.actor.statistics()
    assert (stats.queued, stats.operations) == (0, 4) and stats.merges_applied >= 1


async def test_throttling_is_retried_with_the_same_client_token(
    autojump_clock: trio.abc.Clock,
) -> None:
    service = FakeService()
    service.fail_next = [
        ServiceError("TooManyRequestsException", "slow down"),
        ServiceError("ServiceException", "oops", http_status=500),
    ]
    async with rig(service) as r:
        await r.batcher.checkpoint(step_update(1))
        stats = r.batcher.statistics()
    tokens = {c.client_token for c in service.calls}
    assert len(service.calls) == 3 and len(tokens) == 1 and None not in tokens
    assert {c.token for c in service.calls} == {"token-0"}
    assert stats.retries == 2
    assert r.state.get("op-1") is not None


async def test_a_replayed_client_token_is_applied_once(autojump_clock: trio.abc.Clock) -> None:
    service = FakeService()
    first = await service.checkpoint(service.arn, "token-0", [step_update(1)], client_token="c1")
    again = await service.checkpoint(service.arn, "token-0", [step_update(1)], client_token="c1")
    assert again == first  # the fake keeps the contract the batcher relies on
    async with rig(service) as r:
        await r.batcher.checkpoint(step_update(2))
    assert r.batcher.checkpoint_token == service.token


async def test_a_stale_token_is_fatal_and_not_retried(autojump_clock: trio.abc.Clock) -> None:
    service = FakeService()
    async with rig(service) as r:
        service.token = "token-9"  # the batcher still holds token-0: stale
        with pytest.raises(ServiceError):
            await r.batcher.checkpoint(step_update(1))
        await r.batcher.flush()  # returns: nobody waits on a failed batcher
    assert len(service.calls) == 1
    assert isinstance(r.batcher.failure, ServiceError)
    assert r.batcher.failure.code == "InvalidParameterValueException"
    assert r.fatal == [r.batcher.failure]


async def test_retries_give_up_after_max_attempts(autojump_clock: trio.abc.Clock) -> None:
    service = FakeService()
    service.fail_next = [ServiceError("TooManyRequestsException", "slow") for _ in range(10)]
    async with rig(service, max_attempts=3) as r:
        r.batcher.submit(step_update(1))
        await r.batcher.flush()
    assert len(service.calls) == 3
    assert isinstance(r.batcher.failure, ServiceError) and r.batcher.failure.retryable


async def test_unawaited_updates_linger_then_go_out_together(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with rig(linger=1.0) as r:
        r.batcher.submit(step_update(1))
        await trio.sleep(0.5)
        r.batcher.submit(step_update(2))
        queued = r.batcher.statistics().queued
        await trio.sleep(1.0)
        calls = len(r.service.calls)
    assert queued == 2
    assert calls == 1 and [u.id for u in r.service.calls[0].updates] == ["op-1", "op-2"]


async def test_new_state_pages_are_all_merged() -> None:
    class Paged(FakeService):
        async def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
            result = await super().checkpoint(*args, **kwargs)
            first = result.new_state.operations[:1]
            return type(result)(result.checkpoint_token, type(result.new_state)(first, "1"))

    service = Paged(page_size=1)
    async with rig(service) as r:
        r.batcher.submit(step_update(1))
        await r.batcher.checkpoint(step_update(2))
    assert r.state.get("op-1") is not None and r.state.get("op-2") is not None


@pytest.mark.parametrize("limit", [1, 2])
async def test_small_limits_still_send_everything(limit: int) -> None:
    async with rig(max_updates=limit) as r:
        for n in range(5):
            r.batcher.submit(step_update(n))
        await r.batcher.flush()
    assert all(len(c.updates) <= limit for c in r.service.calls)
    assert sum(len(c.updates) for c in r.service.calls) == 5


class StalledService(FakeService):
    """A service whose calls never answer (a checkpoint in flight at a stop)."""

    async def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        await trio.sleep_forever()


async def test_a_shielded_flush_returns_when_the_batcher_is_cancelled() -> None:
    # A stop cancels the invocation with the batcher in the middle of a call while
    # the workflow's last flush (shielded) waits: it must return, not hang.
    service = StalledService()
    state = ExecutionState([], Activity())
    actor = StateActor(state)
    batcher = CheckpointBatcher(service, service.arn, service.token, actor)
    flushed: list[str] = []

    async def last_flush() -> None:
        await batcher.flush()
        flushed.append("returned")

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(actor.run)
            nursery.start_soon(batcher.run)
            batcher.submit(step_update(1))
            nursery.start_soon(last_flush)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    assert flushed == ["returned"]
    await batcher.flush()  # and later flushes return at once


async def test_the_linger_stretches_with_the_tasks_waiting_for_the_loop(
    autojump_clock: trio.abc.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = [10 * batcher_module.TASKS_PER_LINGER]
    monkeypatch.setattr(batcher_module, "runnable_tasks", lambda: waiting[0])
    async with rig(linger=1.0) as r:
        r.batcher.submit(step_update(1))
        await trio.sleep(9.5)  # ten lingers: this loop is busy
        calls_while_lingering = len(r.service.calls)
        await trio.sleep(1.0)
        calls_after = len(r.service.calls)
        start = trio.current_time()
        await r.batcher.checkpoint(step_update(2))  # awaited: sent at once, however busy
        awaited_took = trio.current_time() - start
        waiting[0] = 10**6
        r.batcher.submit(step_update(3))
        await trio.sleep(batcher_module.MAX_LINGER_STRETCH + 0.5)  # the stretch is capped
        calls_at_the_cap = len(r.service.calls)
    assert (calls_while_lingering, calls_after, calls_at_the_cap) == (0, 1, 3)
    assert awaited_took < 1.0


async def test_an_idle_loop_lingers_the_plain_linger(autojump_clock: trio.abc.Clock) -> None:
    async with rig(linger=1.0) as r:
        r.batcher.submit(step_update(1))
        await trio.sleep(1.5)
        calls = len(r.service.calls)
    assert calls == 1
