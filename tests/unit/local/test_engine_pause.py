"""Pause, resume and delete on the engine: PAUSING and PAUSED, what still completes
while paused, re-invocation on resume, the execution timeout, conflicts,
ClientToken retries, deletion, and restarting from the store."""

from __future__ import annotations

from typing import Any

import pytest
from local_engine_helpers import (
    FUNCTION,
    START_TIME,
    check_history,
    event_types,
    fire_next,
    make_engine,
    only_invocation,
    op_status,
    start,
    step_start,
    step_succeed,
    upd,
)

from trio_durable.errors import ServiceError
from trio_durable.local.engine import Engine
from trio_durable.wire import ExecutionStatus, OperationStatus


def _status(engine: Engine, arn: str) -> str:
    return str(engine.get_execution(arn)["Status"])


def _waiting(engine: Engine, wait_seconds: int = 60, **options: Any) -> str:
    """An execution whose first invocation started a wait and answered PENDING."""
    arn, token, request_id = start(engine, **options)
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=wait_seconds)])
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    return arn


def _callback_waiting(engine: Engine) -> tuple[str, str]:
    """An execution whose first invocation started a callback: (arn, callback id)."""
    arn, token, request_id = start(engine)
    result = engine.checkpoint(arn, token, [upd("cb", "CALLBACK", "START")])
    callback_id = result.new_state.operations[-1].callback_id
    assert callback_id is not None
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    return arn, callback_id


def _conflict(call: Any) -> str:
    with pytest.raises(ServiceError) as info:
        call()
    assert info.value.code == "ResourceConflictException"
    return info.value.message


# --- pausing ------------------------------------------------------------------------


def test_pause_without_an_invocation_is_paused_at_once_and_records_the_request() -> None:
    engine, clock, _ = make_engine()
    arn = _waiting(engine)
    clock.advance(5)
    assert engine.pause_execution(arn, reason="maintenance") is None
    execution = engine.get_execution(arn)
    assert execution["Status"] == "PAUSED"
    assert execution["PauseDetails"] == {
        "PauseRequestTimestamp": START_TIME + 5,
        "Reason": "maintenance",
        "ExecutionTimeoutPaused": False,
    }
    assert execution["ExpectedExecutionTimeoutTimestamp"] == START_TIME + 86_400
    without_data = engine.get_execution(arn, include_execution_data=False)
    assert "Reason" not in without_data["PauseDetails"]  # the reason is execution data
    paused = engine.events(arn)[-1]
    assert paused["EventType"] == "ExecutionPaused"
    assert paused["ExecutionPausedDetails"] == {
        "PauseRequestTimestamp": START_TIME + 5,
        "ExecutionTimeoutPaused": False,
        "Reason": {"Truncated": False, "Payload": "maintenance"},
    }
    stripped = engine.get_execution_history(arn)["Events"][-1]["ExecutionPausedDetails"]
    assert stripped["Reason"] == {"Truncated": False}
    check_history(engine, arn)


def test_pause_before_the_first_invocation_holds_it_back() -> None:
    engine, _, _ = make_engine()
    arn = engine.start_execution(FUNCTION, '"in"').arn
    engine.pause_execution(arn)
    assert _status(engine, arn) == "PAUSED"
    assert engine.take_invocations() == []
    engine.resume_execution(arn)
    only_invocation(engine, arn)


def test_pause_during_an_invocation_is_pausing_until_its_next_checkpoint() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.pause_execution(arn)
    assert _status(engine, arn) == "PAUSING"
    assert engine.get_execution(arn)["PauseDetails"]["ExecutionTimeoutPaused"] is False
    assert engine.take_cancellations() == set()
    result = engine.checkpoint(arn, token, [step_start(), step_succeed()])
    assert op_status(engine, arn, "s1") is OperationStatus.SUCCEEDED  # applied
    assert engine.take_cancellations() == {arn}
    assert _status(engine, arn) == "PAUSING"  # until the cancelled invocation ends
    engine.finish_invocation(arn, request_id, None)  # what the service reports when cancelled
    assert _status(engine, arn) == "PAUSED"
    completed = engine.events(arn)[-1]
    assert completed["EventType"] == "InvocationCompleted"
    assert "Error" not in completed["InvocationCompletedDetails"]
    assert engine.take_invocations() == []
    with pytest.raises(ServiceError, match="Invalid checkpoint token"):
        engine.checkpoint(arn, result.checkpoint_token, [step_start("s2")])
    engine.resume_execution(arn)
    assert only_invocation(engine, arn).execution_arn == arn  # the cut one is owed again
    assert engine.record(arn).crashes == 0
    assert event_types(engine, arn)[-5:] == [
        "ExecutionPaused",
        "StepStarted",
        "StepSucceeded",
        "InvocationCompleted",
        "ExecutionResumed",
    ]
    check_history(engine, arn)


def test_an_invocation_that_ends_by_itself_while_pausing_leaves_it_paused() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=60)])
    engine.pause_execution(arn)  # after the invocation's last checkpoint
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    assert _status(engine, arn) == "PAUSED"
    engine.resume_execution(arn)
    assert engine.take_invocations() == []  # nothing is owed: the wait is still pending
    fire_next(engine, clock)
    assert only_invocation(engine, arn).execution_arn == arn


def test_a_crash_while_pausing_leaves_it_paused_and_resume_retries() -> None:
    engine, _, _ = make_engine()
    arn, _, request_id = start(engine)
    engine.pause_execution(arn)
    engine.finish_invocation(arn, request_id, "not an answer")
    assert _status(engine, arn) == "PAUSED"
    assert engine.record(arn).crashes == 1
    assert engine.take_invocations() == []
    engine.resume_execution(arn)
    only_invocation(engine, arn)


def test_an_invocation_that_completes_the_execution_while_pausing_completes_it() -> None:
    engine, _, _ = make_engine()
    arn, _, request_id = start(engine)
    engine.pause_execution(arn)
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED", "Result": '"done"'})
    execution = engine.get_execution(arn)
    assert execution["Status"] == "SUCCEEDED" and execution["Result"] == '"done"'
    assert "PauseDetails" not in execution
    assert "ExpectedExecutionTimeoutTimestamp" not in execution
    check_history(engine, arn)


def test_an_execution_result_checkpointed_while_pausing_ends_the_execution() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    exec_id = engine.get_execution_state(arn, token).operations[0].id
    engine.pause_execution(arn)
    engine.checkpoint(arn, token, [upd(exec_id, "EXECUTION", "SUCCEED", payload='"big"')])
    assert engine.take_cancellations() == {arn}
    engine.finish_invocation(arn, request_id, None)
    assert engine.get_execution(arn)["Status"] == "SUCCEEDED"
    assert engine.get_execution(arn)["Result"] == '"big"'
    check_history(engine, arn)


# --- while paused and resuming ---------------------------------------------------------


def test_timers_complete_while_paused_without_invoking_and_resume_invokes() -> None:
    engine, clock, _ = make_engine()
    arn = _waiting(engine, 60)
    engine.pause_execution(arn)
    assert fire_next(engine, clock) == 1
    assert op_status(engine, arn, "w") is OperationStatus.SUCCEEDED
    assert engine.take_invocations() == []
    assert _status(engine, arn) == "PAUSED"
    clock.advance(10)
    engine.resume_execution(arn, reason="done")
    resumed = engine.events(arn)[-1]
    assert resumed["ExecutionResumedDetails"] == {
        "ResumeRequestTimestamp": clock.now,
        "Reason": {"Truncated": False, "Payload": "done"},
    }
    assert _status(engine, arn) == "RUNNING"
    assert "PauseDetails" not in engine.get_execution(arn)
    only_invocation(engine, arn)
    check_history(engine, arn)


def test_callbacks_complete_while_paused_and_resume_invokes() -> None:
    engine, _, _ = make_engine()
    arn, callback_id = _callback_waiting(engine)
    engine.pause_execution(arn)
    engine.send_callback_success(callback_id, b'"yes"')
    assert op_status(engine, arn, "cb") is OperationStatus.SUCCEEDED
    assert engine.take_invocations() == []
    engine.resume_execution(arn)
    only_invocation(engine, arn)


def test_resume_with_nothing_owed_keeps_waiting() -> None:
    engine, _, _ = make_engine()
    arn = _waiting(engine)
    engine.pause_execution(arn)
    engine.resume_execution(arn)
    assert engine.take_invocations() == []
    assert _status(engine, arn) == "RUNNING"


def test_resume_while_pausing_cancels_the_pause_and_the_invocation_goes_on() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.pause_execution(arn)
    engine.resume_execution(arn)
    assert _status(engine, arn) == "RUNNING"
    engine.checkpoint(arn, token, [step_start()])
    assert engine.take_cancellations() == set()
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED", "Result": "1"})
    assert _status(engine, arn) == "SUCCEEDED"
    assert event_types(engine, arn) == [
        "ExecutionStarted",
        "ExecutionPaused",
        "ExecutionResumed",
        "StepStarted",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]


def test_resume_after_the_cut_but_before_the_invocation_ended_reinvokes() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.pause_execution(arn)
    engine.checkpoint(arn, token, [step_start()])
    assert engine.take_cancellations() == {arn}
    engine.resume_execution(arn)
    engine.finish_invocation(arn, request_id, None)
    assert engine.record(arn).crashes == 0
    only_invocation(engine, arn)


# --- the execution timeout -----------------------------------------------------------


def test_without_pausing_the_timeout_the_execution_times_out_while_paused() -> None:
    engine, clock, _ = make_engine()
    arn = _waiting(engine, 3600, timeout_seconds=100)
    engine.pause_execution(arn)
    fire_next(engine, clock)
    execution = engine.get_execution(arn)
    assert execution["Status"] == "TIMED_OUT"
    assert clock.now == START_TIME + 100
    assert "PauseDetails" not in execution
    check_history(engine, arn)


def test_a_paused_timeout_is_extended_by_the_time_spent_paused() -> None:
    engine, clock, _ = make_engine()
    arn = _waiting(engine, 3600, timeout_seconds=100)
    clock.advance(10)
    engine.pause_execution(arn, execution_timeout_paused=True)
    execution = engine.get_execution(arn)
    assert execution["ExpectedExecutionTimeoutTimestamp"] == START_TIME + 366 * 86_400
    assert execution["PauseDetails"]["ExecutionTimeoutPaused"] is True
    assert engine.next_timer_due() == START_TIME + 3600  # the wait, not the timeout
    clock.advance(1000)
    engine.resume_execution(arn)
    assert engine.get_execution(arn)["ExpectedExecutionTimeoutTimestamp"] == START_TIME + 1100
    clock.now = START_TIME + 1099
    engine.fire_due_timers()
    assert _status(engine, arn) == "RUNNING"
    fire_next(engine, clock)
    assert _status(engine, arn) == "TIMED_OUT"
    assert clock.now == START_TIME + 1100


# --- stop, conflicts and ClientToken ------------------------------------------------------


def test_stop_while_paused_stops_for_good() -> None:
    engine, _, _ = make_engine()
    arn = _waiting(engine)
    engine.pause_execution(arn)
    engine.stop_execution(arn)
    assert _status(engine, arn) == "STOPPED"
    assert engine.is_closed(arn)
    assert "STOPPED" in _conflict(lambda: engine.resume_execution(arn))
    check_history(engine, arn)


def test_stop_while_pausing_cancels_the_invocation_and_stops() -> None:
    engine, _, _ = make_engine()
    arn, _, request_id = start(engine)
    engine.pause_execution(arn)
    engine.stop_execution(arn)
    assert engine.take_cancellations() == {arn}
    engine.finish_invocation(arn, request_id, None)
    assert _status(engine, arn) == "STOPPED"
    assert event_types(engine, arn)[-2:] == ["InvocationCompleted", "ExecutionStopped"]


def test_conflicts_name_the_status() -> None:
    engine, _, _ = make_engine()
    arn = _waiting(engine)
    message = _conflict(lambda: engine.resume_execution(arn))
    assert "RUNNING" in message and "PAUSED" in message
    engine.pause_execution(arn)
    assert "cannot pause an execution that is PAUSED" in _conflict(
        lambda: engine.pause_execution(arn)
    )
    assert "PAUSED" in _conflict(lambda: engine.delete_execution(arn))
    engine.stop_execution(arn)
    assert "STOPPED" in _conflict(lambda: engine.pause_execution(arn))
    events = len(engine.events(arn))
    with pytest.raises(ServiceError) as info:
        engine.pause_execution("arn:nope")
    assert info.value.code == "ResourceNotFoundException"
    assert len(engine.events(arn)) == events


def test_bad_parameters_are_refused_without_changing_anything() -> None:
    engine, _, _ = make_engine()
    arn = _waiting(engine)
    before = engine.record(arn)
    for call in (
        lambda: engine.pause_execution(arn, reason="x" * 1025),
        lambda: engine.pause_execution(arn, client_token="has space"),
        lambda: engine.pause_execution(arn, execution_timeout_paused="yes"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ServiceError) as info:
            call()
        assert info.value.code == "InvalidParameterValueException"
    assert engine.record(arn) == before
    engine.pause_execution(arn, reason="x" * 1024)


def test_a_retry_with_the_same_client_token_succeeds_without_a_second_event() -> None:
    engine, _, _ = make_engine()
    arn = _waiting(engine)
    engine.pause_execution(arn, reason="r", client_token="p-1")
    engine.pause_execution(arn, reason="r", client_token="p-1")
    with pytest.raises(ServiceError, match="ClientToken: 'p-1' was already used"):
        engine.pause_execution(arn, reason="other", client_token="p-1")
    assert "PAUSED" in _conflict(lambda: engine.pause_execution(arn, client_token="p-2"))
    engine.resume_execution(arn, client_token="r-1")
    engine.resume_execution(arn, client_token="r-1")
    assert event_types(engine, arn).count("ExecutionPaused") == 1
    assert event_types(engine, arn).count("ExecutionResumed") == 1
    assert "RUNNING" in _conflict(lambda: engine.resume_execution(arn, client_token="r-2"))
    engine.pause_execution(arn, client_token="p-1")  # no longer the last request: a new pause
    assert event_types(engine, arn).count("ExecutionPaused") == 2


# --- listing ----------------------------------------------------------------------------


def test_list_filters_by_the_paused_statuses() -> None:
    engine, _, _ = make_engine()
    paused = _waiting(engine)
    engine.pause_execution(paused)
    pausing, _, _ = start(engine)
    engine.pause_execution(pausing)
    running = _waiting(engine)

    def listed(*statuses: str) -> list[tuple[str, str]]:
        page = engine.list_executions(FUNCTION, statuses=list(statuses))
        return [(e["DurableExecutionArn"], e["Status"]) for e in page["DurableExecutions"]]

    assert listed("PAUSED") == [(paused, "PAUSED")]
    assert listed("PAUSING") == [(pausing, "PAUSING")]
    assert listed("RUNNING") == [(running, "RUNNING")]
    assert listed("DELETING") == []
    with pytest.raises(ServiceError, match="unknown execution status"):
        listed("SLEEPING")


# --- delete -------------------------------------------------------------------------------


def test_delete_removes_an_ended_execution_everywhere() -> None:
    engine, _, store = make_engine()
    arn, callback_id = _callback_waiting(engine)
    kept = _waiting(engine)
    name = engine.get_execution(arn)["DurableExecutionName"]
    engine.stop_execution(arn)
    out = engine.delete_execution(arn)
    assert out == {"DeletionRequestTimestamp": START_TIME}
    for call in (
        lambda: engine.get_execution(arn),
        lambda: engine.get_execution_history(arn),
        lambda: engine.delete_execution(arn),
        lambda: engine.send_callback_success(callback_id, b"1"),
    ):
        with pytest.raises(ServiceError) as info:
            call()
        assert info.value.code == "ResourceNotFoundException"
    listed = engine.list_executions(FUNCTION)["DurableExecutions"]
    assert [e["DurableExecutionArn"] for e in listed] == [kept]
    assert [s.execution.arn for s in store.load()] == [kept]
    again = engine.start_execution(FUNCTION, '"in"', execution_name=name)
    assert not again.already_started and again.arn != arn


def test_delete_refuses_an_execution_whose_last_invocation_is_still_ending() -> None:
    engine, _, _ = make_engine()
    arn, _, request_id = start(engine)
    engine.stop_execution(arn)
    assert "still ending" in _conflict(lambda: engine.delete_execution(arn))
    engine.finish_invocation(arn, request_id, None)
    engine.delete_execution(arn)
    assert engine.statistics().executions == 0


def test_delete_of_a_running_execution_is_a_conflict() -> None:
    engine, _, _ = make_engine()
    arn = _waiting(engine)
    message = _conflict(lambda: engine.delete_execution(arn))
    assert "RUNNING" in message and "STOPPED" in message
    assert engine.record(arn).status is ExecutionStatus.RUNNING


# --- restart -------------------------------------------------------------------------------


def test_a_paused_execution_survives_a_restart() -> None:
    engine, clock, store = make_engine()
    arn = _waiting(engine, 3600, timeout_seconds=100)
    clock.advance(10)
    engine.pause_execution(arn, reason="r", execution_timeout_paused=True, client_token="t")
    before = engine.get_execution(arn)
    again, _, _ = make_engine(store=store, clock=clock)
    assert again.get_execution(arn) == before
    assert again.take_invocations() == []
    assert again.next_timer_due() == START_TIME + 3600  # the wait only
    again.pause_execution(arn, reason="r", execution_timeout_paused=True, client_token="t")
    clock.advance(90)
    again.resume_execution(arn)
    assert again.get_execution(arn)["ExpectedExecutionTimeoutTimestamp"] == START_TIME + 190
    check_history(again, arn)


def test_a_restart_while_pausing_records_the_crash_and_stays_paused() -> None:
    engine, clock, store = make_engine()
    arn, _, _ = start(engine)
    engine.pause_execution(arn)
    again, _, _ = make_engine(store=store, clock=clock)
    assert again.get_execution(arn)["Status"] == "PAUSED"
    assert event_types(again, arn)[-1] == "InvocationCompleted"
    assert again.take_invocations() == []
    again.resume_execution(arn)
    only_invocation(again, arn)


def test_a_deleted_execution_stays_deleted_after_a_restart() -> None:
    engine, clock, store = make_engine()
    arn, _, request_id = start(engine)
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED"})
    engine.delete_execution(arn)
    again, _, _ = make_engine(store=store, clock=clock)
    assert again.statistics().executions == 0
