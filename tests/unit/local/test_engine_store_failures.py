"""A store write that fails changes nothing in the engine: the same call made again
once the store takes writes has the effect it would have had."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import trio
import trio.testing
from local_engine_helpers import (
    check_history,
    event_types,
    make_engine,
    op_status,
    start,
    step_start,
    step_succeed,
    upd,
)

from trio_durable.errors import StoreError
from trio_durable.local.invokers import InProcessInvoker, LocalLambdaContext
from trio_durable.local.service import open_local_service
from trio_durable.local.store import ExecutionChange, MemoryStore
from trio_durable.wire import OperationStatus


class FullStore(MemoryStore):
    """A MemoryStore whose writes fail while ``full`` is set, as a full disk's do."""

    def __init__(self) -> None:
        super().__init__()
        self.full = False

    def write(self, changes: Sequence[ExecutionChange]) -> None:
        if self.full:
            raise StoreError("could not save a change: the disk is full; nothing was written")
        super().write(changes)


def test_timers_that_could_not_be_stored_fire_on_the_next_call() -> None:
    store = FullStore()
    engine, clock, _ = make_engine(store)
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=5)])
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    clock.advance(5)
    store.full = True
    with pytest.raises(StoreError):
        engine.fire_due_timers()
    assert op_status(engine, arn, "w") is OperationStatus.STARTED
    store.full = False
    assert engine.fire_due_timers() == 1
    assert op_status(engine, arn, "w") is OperationStatus.SUCCEEDED
    assert [r.execution_arn for r in engine.take_invocations()] == [arn]
    check_history(engine, arn)


def test_an_invocation_end_that_could_not_be_stored_is_recorded_by_the_retry() -> None:
    store = FullStore()
    engine, _, _ = make_engine(store)
    arn, token, request_id = start(engine)
    engine.pause_execution(arn)
    engine.checkpoint(arn, token, [step_start(), step_succeed()])  # the pause cuts here
    assert engine.take_cancellations() == {arn}
    before = event_types(engine, arn)
    store.full = True
    with pytest.raises(StoreError):
        engine.finish_invocation(arn, request_id, None)
    assert event_types(engine, arn) == before
    assert engine.record(arn).invocation_id == request_id  # still in flight
    assert engine.get_execution(arn)["Status"] == "PAUSING"
    store.full = False
    engine.finish_invocation(arn, request_id, None)
    assert engine.get_execution(arn)["Status"] == "PAUSED"  # a cut, not a crash
    assert engine.record(arn).crashes == 0
    engine.resume_execution(arn)
    assert [r.execution_arn for r in engine.take_invocations()] == [arn]
    check_history(engine, arn)


def test_requests_that_could_not_be_stored_change_nothing() -> None:
    store = FullStore()
    engine, _, _ = make_engine(store)
    arn, token, _ = start(engine)
    store.full = True
    with pytest.raises(StoreError):
        engine.checkpoint(arn, token, [step_start()])
    with pytest.raises(StoreError):
        engine.start_execution("fn", '"more"')
    with pytest.raises(StoreError):
        engine.stop_execution(arn)
    store.full = False
    assert engine.list_executions("fn")["DurableExecutions"][0]["Status"] == "RUNNING"
    assert len(engine.list_executions("fn")["DurableExecutions"]) == 1
    engine.checkpoint(arn, token, [step_start()])  # the token was not rotated
    assert op_status(engine, arn, "s1") is OperationStatus.STARTED
    check_history(engine, arn)


async def test_the_service_retries_the_end_of_an_invocation_until_it_is_stored(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FullStore()
    release = trio.Event()

    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        await release.wait()
        return {"Status": "SUCCEEDED", "Result": '"done"'}

    async with open_local_service(store=store) as service:
        service.register_function("fn", InProcessInvoker(handler))
        arn = service.start_execution("fn", None).arn
        await trio.sleep(1)
        store.full = True
        release.set()
        await trio.sleep(60)  # a minute of failing writes, retried with back-off
        failures = service.statistics().store_write_failures
        assert 10 < failures < 100
        assert service.get_execution(arn)["Status"] == "RUNNING"
        store.full = False
        with trio.fail_after(5):
            done = await service.wait_until_terminal(arn)
        assert done["Status"] == "SUCCEEDED"
        assert done["Result"] == '"done"'
