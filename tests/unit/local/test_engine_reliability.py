"""The engine's side of the service's reliability: a restart spends no crash
budget, a ClientToken reused with another body is refused, ended executions keep
only their record in memory and are deleted after the retention period."""

from __future__ import annotations

import pytest
from local_engine_helpers import (
    FUNCTION,
    ManualClock,
    check_history,
    event_types,
    make_engine,
    only_invocation,
    start,
    step_start,
    step_succeed,
    upd,
)

from trio_durable.errors import ServiceError
from trio_durable.local.engine import Engine
from trio_durable.local.store import MemoryStore, StoredExecution

DAY = 86_400


def _restart(store: MemoryStore, clock: ManualClock, **options: object) -> Engine:
    engine = Engine(store=store, clock=clock, **options)  # type: ignore[arg-type]
    engine.functions.add(FUNCTION)
    return engine


def _succeed(engine: Engine, arn: str, token: str, request_id: str) -> None:
    engine.checkpoint(arn, token, [step_start(), step_succeed()])
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED", "Result": '"done"'})
    assert engine.is_closed(arn)


# --- restarts -------------------------------------------------------------------------


def test_restarts_never_spend_the_crash_budget() -> None:
    engine, clock, store = make_engine(max_crash_retries=1)
    arn, _, _ = start(engine)
    for _ in range(5):  # five restarts, each with the invocation in flight
        engine = _restart(store, clock, max_crash_retries=1)
        assert engine.get_execution(arn)["Status"] == "RUNNING"
        assert engine.record(arn).crashes == 0
        request = only_invocation(engine, arn)
    errors = [
        event["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"]
        for event in engine.events(arn)
        if event["EventType"] == "InvocationCompleted"
    ]
    assert errors == ["Runtime.ServiceRestarted"] * 5
    _succeed(engine, arn, request.event["CheckpointToken"], request.request_id)
    assert engine.get_execution(arn)["Status"] == "SUCCEEDED"
    check_history(engine, arn)


def test_a_crash_of_the_handler_still_spends_the_budget_after_a_restart() -> None:
    engine, clock, store = make_engine(max_crash_retries=1)
    arn, _, _ = start(engine)
    engine = _restart(store, clock, max_crash_retries=1)
    for _ in range(2):
        request = only_invocation(engine, arn)
        engine.finish_invocation(arn, request.request_id, {"Status": "nonsense"})
    assert engine.get_execution(arn)["Status"] == "FAILED"


# --- ClientToken ----------------------------------------------------------------------


def test_a_client_token_reused_with_other_updates_is_refused_and_changes_nothing() -> None:
    engine, _, store = make_engine()
    arn, token, _ = start(engine)
    first = engine.checkpoint(arn, token, [step_start()], client_token="call-1")
    before = (store.load(), engine.operations(arn), engine.record(arn))
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(
            arn, token, [upd("w", "WAIT", "START", wait_seconds=5)], client_token="call-1"
        )
    assert exc.value.code == "InvalidParameterValueException"
    assert "ClientToken" in exc.value.message and "call-1" in exc.value.message
    assert (store.load(), engine.operations(arn), engine.record(arn)) == before
    # The same body again still gets the original answer.
    assert engine.checkpoint(arn, token, [step_start()], client_token="call-1") == first
    assert event_types(engine, arn).count("StepStarted") == 1


def test_a_client_token_reused_with_another_checkpoint_token_is_refused() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    first = engine.checkpoint(arn, token, [step_start()], client_token="call-1")
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, first.checkpoint_token, [step_succeed()], client_token="call-1")
    assert exc.value.code == "InvalidParameterValueException"
    assert "ClientToken" in exc.value.message
    engine.checkpoint(arn, first.checkpoint_token, [step_succeed()], client_token="call-2")


# --- ended executions -----------------------------------------------------------------


class _CountingStore(MemoryStore):
    """A MemoryStore that counts the executions read one by one."""

    reads = 0

    def load_execution(self, arn: str) -> StoredExecution | None:
        self.reads += 1
        return super().load_execution(arn)


def test_an_ended_execution_is_read_from_the_store_when_asked_for() -> None:
    store = _CountingStore()
    engine, _, _ = make_engine(store=store)
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [upd("cb", "CALLBACK", "START")])
    callback_id = engine.operation(arn, "cb").callback_id or ""
    running_events = list(engine.events(arn))
    assert store.reads == 0  # a running execution is in memory
    engine.stop_execution(arn)
    engine.finish_invocation(arn, request_id)
    assert engine.is_closed(arn)
    assert engine.get_execution(arn)["Status"] == "STOPPED"
    assert store.reads == 0  # the record stays in memory
    events = engine.events(arn)
    assert store.reads == 1
    assert list(events[: len(running_events)]) == running_events
    assert [op.id for op in engine.operations(arn)][1:] == ["cb"]
    page = engine.get_execution_history(arn, max_items=2)
    assert [e["EventId"] for e in page["Events"]] == [1, 2]
    with pytest.raises(ServiceError) as exc:
        engine.send_callback_success(callback_id, b'"late"')
    assert exc.value.code == "ResourceNotFoundException"
    assert "STOPPED" in exc.value.message
    check_history(engine, arn)


# --- retention ------------------------------------------------------------------------


def test_an_ended_execution_is_deleted_after_the_default_retention_of_14_days() -> None:
    engine, clock, store = make_engine()
    arn, token, request_id = start(engine)
    _succeed(engine, arn, token, request_id)
    running, _, _ = start(engine)  # a running one is never deleted
    assert engine.statistics().timers_scheduled == 1  # the running one's timeout
    clock.advance(14 * DAY - 1)
    engine.fire_due_timers()
    assert engine.get_execution(arn)["Status"] == "SUCCEEDED"
    assert engine.next_timer_due() is not None
    clock.advance(1)
    engine.fire_due_timers()
    with pytest.raises(ServiceError) as exc:
        engine.get_execution(arn)
    assert exc.value.code == "ResourceNotFoundException"
    assert [s.execution.arn for s in store.load()] == [running]
    listed = engine.list_executions(FUNCTION)["DurableExecutions"]
    assert [e["DurableExecutionArn"] for e in listed] == [running]


def test_retention_is_counted_from_the_end_and_applies_after_a_restart() -> None:
    engine, clock, store = make_engine(retention_period_days=2)
    arn, token, request_id = start(engine)
    clock.advance(DAY)
    _succeed(engine, arn, token, request_id)
    clock.advance(2 * DAY - 1)
    engine = _restart(store, clock, retention_period_days=2)
    engine.fire_due_timers()
    assert engine.get_execution(arn)["Status"] == "SUCCEEDED"
    clock.advance(1)
    engine = _restart(store, clock, retention_period_days=2)
    engine.fire_due_timers()
    assert store.load() == []
    with pytest.raises(ServiceError):
        engine.events(arn)


@pytest.mark.parametrize("days", [0, 91, 1.5, True])
def test_the_retention_period_is_checked(days: object) -> None:
    with pytest.raises(ValueError, match="retention_period_days"):
        Engine(store=MemoryStore(), clock=ManualClock(), retention_period_days=days)  # type: ignore[arg-type]


def test_a_function_with_its_own_retention_keeps_its_executions_that_long() -> None:
    """``Engine.retention_days`` (a template's RetentionPeriodInDays) wins over the
    service-wide retention for that function's executions."""
    engine, clock, store = make_engine()
    engine.retention_days[FUNCTION] = 3
    arn, token, request_id = start(engine)
    _succeed(engine, arn, token, request_id)
    clock.advance(3 * DAY - 1)
    engine.fire_due_timers()
    assert engine.get_execution(arn)["Status"] == "SUCCEEDED"
    clock.advance(1)
    engine.fire_due_timers()
    assert store.load() == []
