"""Executions on the engine: starting, invocations and their outcomes, crashes,
stop, execution timeout, the read APIs, and restarting from the store."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from local_engine_helpers import (
    FUNCTION,
    check_history,
    event_types,
    fire_next,
    make_engine,
    only_invocation,
    op_status,
    start,
    step_start,
    upd,
)

from trio_durable.errors import ServiceError
from trio_durable.local.engine import Engine
from trio_durable.local.store import ExecutionChange, MemoryStore
from trio_durable.wire import ErrorObject, ExecutionStatus, Operation, OperationStatus

# --- starting ---------------------------------------------------------------------------


def test_start_by_name_is_idempotent_for_the_same_input() -> None:
    engine, _, _ = make_engine()
    first = engine.start_execution(FUNCTION, '"a"', execution_name="order-1")
    again = engine.start_execution(FUNCTION, '"a"', execution_name="order-1")
    assert not first.already_started and again.already_started and again.arn == first.arn
    assert "/durable-execution/order-1/" in first.arn
    with pytest.raises(ServiceError) as exc:
        engine.start_execution(FUNCTION, '"b"', execution_name="order-1")
    assert exc.value.code == "DurableExecutionAlreadyStartedException"
    assert "order-1" in exc.value.message
    assert len(engine.list_executions(FUNCTION)["DurableExecutions"]) == 1


def test_start_validates_its_arguments() -> None:
    engine, _, _ = make_engine()
    for kwargs, field in (
        ({"execution_name": "has space"}, "DurableExecutionName"),
        ({"execution_name": "x" * 65}, "DurableExecutionName"),
        ({"timeout_seconds": 0}, "ExecutionTimeout"),
        ({"timeout_seconds": 31_622_401}, "ExecutionTimeout"),
    ):
        with pytest.raises(ServiceError) as exc:
            engine.start_execution(FUNCTION, None, **kwargs)
        assert exc.value.code == "InvalidParameterValueException"
        assert field in exc.value.message
    with pytest.raises(ServiceError) as exc:
        engine.start_execution("bad name!", None)
    assert "FunctionName" in exc.value.message
    assert engine.statistics().executions == 0


def test_arn_shape_and_function_arn_forms() -> None:
    engine, _, _ = make_engine(region="eu-west-1", account="111122223333")
    arn = engine.start_execution(
        "arn:aws:lambda:eu-west-1:111122223333:function:fn:$LATEST", None
    ).arn
    assert arn.startswith("arn:aws:lambda:eu-west-1:111122223333:function:fn:$LATEST/")
    execution = engine.get_execution(arn)
    assert execution["FunctionArn"] == "arn:aws:lambda:eu-west-1:111122223333:function:fn:$LATEST"
    import re

    import botocore.session

    model = botocore.session.get_session().get_service_model("lambda")
    pattern = model.shape_for("DurableExecutionArn").metadata["pattern"]
    assert re.fullmatch(pattern, arn)


# --- invocation outcomes -----------------------------------------------------------------


def test_succeeded_answer_ends_the_execution_after_invocation_completed() -> None:
    engine, _, _ = make_engine()
    arn, _, request_id = start(engine)
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED", "Result": '"r"'})
    assert event_types(engine, arn) == [
        "ExecutionStarted",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    assert engine.events(arn)[-1]["ExecutionSucceededDetails"] == {
        "Result": {"Payload": '"r"', "Truncated": False}
    }
    completed = engine.events(arn)[1]["InvocationCompletedDetails"]
    assert completed["RequestId"] == request_id and "Error" not in completed
    assert engine.is_closed(arn)
    assert engine.take_closed() == [arn]
    execution = engine.get_execution(arn)
    assert execution["Status"] == "SUCCEEDED" and execution["Result"] == '"r"'
    check_history(engine, arn)


def test_failed_answer() -> None:
    engine, _, _ = make_engine()
    arn, _, request_id = start(engine)
    engine.finish_invocation(
        arn, request_id, {"Status": "FAILED", "Error": {"ErrorMessage": "m", "ErrorType": "T"}}
    )
    record = engine.record(arn)
    assert record.status is ExecutionStatus.FAILED
    assert record.error == ErrorObject(message="m", type="T")
    assert engine.events(arn)[-1]["ExecutionFailedDetails"]["Error"]["Payload"] == {
        "ErrorMessage": "m",
        "ErrorType": "T",
    }


def test_pending_with_nothing_to_wake_it_fails_the_execution() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [step_start()])
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    record = engine.record(arn)
    assert record.status is ExecutionStatus.FAILED
    assert record.error is not None and record.error.type == "Runtime.NoProgress"
    assert "PENDING" in (record.error.message or "")
    check_history(engine, arn)


def test_pending_with_a_waiter_waits() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [upd("cb", "CALLBACK", "START")])
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    assert engine.record(arn).status is ExecutionStatus.RUNNING
    assert engine.take_invocations() == []


@pytest.mark.parametrize(
    "answer", [None, "text", {"Status": "DONE"}, {"Status": "SUCCEEDED", "Result": 5}]
)
def test_unreadable_answer_counts_as_a_crash(answer: object) -> None:
    engine, _, _ = make_engine()
    arn, _, request_id = start(engine)
    engine.finish_invocation(arn, request_id, answer)
    error = engine.events(arn)[-1]["InvocationCompletedDetails"]["Error"]["Payload"]
    assert error["ErrorType"] == "Runtime.InvalidResponse"
    assert engine.record(arn).status is ExecutionStatus.RUNNING
    only_invocation(engine, arn)


def test_crashes_are_retried_a_bounded_number_of_times() -> None:
    engine, _, _ = make_engine(max_crash_retries=2)
    arn, _, request_id = start(engine)
    crash = ErrorObject(message="exit status 1", type="Runtime.ExitError")
    for _ in range(2):
        engine.finish_invocation(arn, request_id, failure=crash)
        request_id = only_invocation(engine, arn).request_id
    engine.finish_invocation(arn, request_id, failure=crash)
    assert engine.take_invocations() == []
    record = engine.record(arn)
    assert record.status is ExecutionStatus.FAILED and record.error == crash
    assert event_types(engine, arn).count("InvocationCompleted") == 3
    check_history(engine, arn)


def test_a_successful_invocation_resets_the_crash_count() -> None:
    engine, clock, _ = make_engine(max_crash_retries=1)
    arn, _, request_id = start(engine)
    crash = ErrorObject(message="exit", type="Runtime.ExitError")
    engine.finish_invocation(arn, request_id, failure=crash)
    request = only_invocation(engine, arn)
    engine.checkpoint(
        arn, request.event["CheckpointToken"], [upd("w", "WAIT", "START", wait_seconds=1)]
    )
    engine.finish_invocation(arn, request.request_id, {"Status": "PENDING"})
    fire_next(engine, clock)
    request = only_invocation(engine, arn)
    engine.finish_invocation(arn, request.request_id, failure=crash)
    assert engine.record(arn).status is ExecutionStatus.RUNNING
    only_invocation(engine, arn)


def test_late_answer_of_an_unknown_invocation_is_ignored() -> None:
    engine, _, _ = make_engine()
    arn, _, _ = start(engine)
    before = list(engine.events(arn))
    engine.finish_invocation(arn, "someone-else", {"Status": "SUCCEEDED"})
    assert list(engine.events(arn)) == before


def test_one_invocation_in_flight_and_changes_during_it_reinvoke() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=1)])
    fire_next(engine, clock)  # the wait ends while the invocation still runs
    assert engine.take_invocations() == []
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    only_invocation(engine, arn)


def test_a_request_after_a_pending_answer_names_it_with_what_changed_since() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=1)])
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    fire_next(engine, clock)
    request = only_invocation(engine, arn)
    assert request.after_pending == request_id
    assert request.updated_operation_ids == ("w",)
    assert [op.status for op in request.updated_operations] == [OperationStatus.SUCCEEDED]
    assert request.operation_count == 2  # the EXECUTION and the wait
    crash = ErrorObject(message="exit", type="Runtime.ExitError")
    engine.finish_invocation(arn, request.request_id, failure=crash)
    assert only_invocation(engine, arn).after_pending is None


def test_the_first_page_is_built_when_first_read() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(
        arn, token, [upd("w", "WAIT", "START", wait_seconds=1), upd("cb", "CALLBACK", "START")]
    )
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    fire_next(engine, clock)
    request = only_invocation(engine, arn)
    callback_id = engine.operation(arn, "cb").callback_id
    assert callback_id is not None
    engine.send_callback_success(callback_id, b'"done"')  # before the invoker reads the page
    page = request.first_page
    assert {op.id: op.status for op in page.operations}["cb"] is OperationStatus.SUCCEEDED
    assert request.first_page is page  # built once


def test_paged_event_leads_to_the_same_state_through_get_execution_state() -> None:
    engine, clock, _ = make_engine(state_page_size=2)
    arn, token, request_id = start(engine)
    steps = [upd(f"s{i}", "STEP", "SUCCEED", payload=f'"{i}"') for i in range(4)]
    engine.checkpoint(arn, token, [*steps, upd("w", "WAIT", "START", wait_seconds=1)])
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    fire_next(engine, clock)
    request = only_invocation(engine, arn)
    event = request.event
    assert event["CheckpointToken"] == request.checkpoint_token
    assert [op["Id"] for op in event["InitialExecutionState"]["Operations"]] == [
        op.id for op in request.first_page.operations
    ]
    assert event["InitialExecutionState"]["NextMarker"] == "2"
    paged = request.paged_event()
    assert paged["DurableExecutionArn"] == arn
    assert paged["CheckpointToken"] == request.checkpoint_token
    assert paged["InitialExecutionState"] == {"Operations": [], "NextMarker": "0"}
    ops: list[Operation] = []
    marker: str | None = paged["InitialExecutionState"]["NextMarker"]
    while marker is not None:
        page = engine.get_execution_state(arn, request.checkpoint_token, marker=marker)
        ops.extend(page.operations)
        marker = page.next_marker
    assert tuple(ops[:2]) == request.first_page.operations
    assert [op.id for op in ops[1:]] == ["s0", "s1", "s2", "s3", "w"]
    assert ops[-1].status is OperationStatus.SUCCEEDED


# --- stop and timeout ----------------------------------------------------------------------


def test_stop_without_invocation_in_flight() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [upd("cb", "CALLBACK", "START")])
    callback_id = engine.operation(arn, "cb").callback_id or ""
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    answer = engine.stop_execution(arn, ErrorObject(message="operator said so"))
    assert answer == {"StopTimestamp": clock.now}
    record = engine.record(arn)
    assert record.status is ExecutionStatus.STOPPED and record.closed
    assert engine.events(arn)[-1]["ExecutionStoppedDetails"]["Error"]["Payload"] == {
        "ErrorMessage": "operator said so"
    }
    with pytest.raises(ServiceError) as exc:
        engine.send_callback_success(callback_id, b"1")
    assert exc.value.code == "ResourceNotFoundException"
    with pytest.raises(ServiceError) as exc:
        engine.stop_execution(arn)
    assert "STOPPED" in exc.value.message
    check_history(engine, arn)


def test_stop_during_an_invocation_writes_the_stop_after_it() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=100)])
    engine.stop_execution(arn)
    assert engine.take_cancellations() == {arn}
    assert engine.get_execution(arn)["Status"] == "STOPPED"
    assert not engine.is_closed(arn)
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [step_start()])
    assert exc.value.message.startswith("Invalid checkpoint token")
    engine.finish_invocation(arn, request_id)
    assert event_types(engine, arn)[-2:] == ["InvocationCompleted", "ExecutionStopped"]
    assert engine.next_timer_due() == _retention_deadline(engine, arn)  # no other timer
    check_history(engine, arn)


def test_execution_timeout() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine, timeout_seconds=60)
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=600)])
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    assert fire_next(engine, clock) == 1
    record = engine.record(arn)
    assert record.status is ExecutionStatus.TIMED_OUT and record.closed
    assert clock.now == record.start_timestamp + 60
    assert event_types(engine, arn)[-1] == "ExecutionTimedOut"
    assert op_status(engine, arn, "w") is OperationStatus.STARTED
    assert engine.next_timer_due() == _retention_deadline(engine, arn)  # no other timer
    check_history(engine, arn)


def test_execution_timeout_during_an_invocation() -> None:
    engine, clock, _ = make_engine()
    arn, _, request_id = start(engine, timeout_seconds=5)
    clock.advance(5)
    engine.fire_due_timers()
    assert engine.take_cancellations() == {arn}
    assert not engine.is_closed(arn)
    engine.finish_invocation(arn, request_id)
    assert event_types(engine, arn)[-2:] == ["InvocationCompleted", "ExecutionTimedOut"]


# --- read APIs ------------------------------------------------------------------------------


def test_history_paging_reverse_and_execution_data() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine, payload='"secret"')
    engine.checkpoint(arn, token, [step_start(f"s{i}") for i in range(5)])
    full = engine.get_execution_history(arn, include_execution_data=True)
    assert [e["EventId"] for e in full["Events"]] == list(range(1, 7))
    assert "NextMarker" not in full
    assert full["Events"][0]["ExecutionStartedDetails"]["Input"]["Payload"] == '"secret"'
    plain = engine.get_execution_history(arn)
    assert "Payload" not in plain["Events"][0]["ExecutionStartedDetails"]["Input"]
    first = engine.get_execution_history(arn, max_items=4)
    second = engine.get_execution_history(arn, max_items=4, marker=first["NextMarker"])
    assert [e["EventId"] for e in first["Events"] + second["Events"]] == list(range(1, 7))
    assert "NextMarker" not in second
    back = engine.get_execution_history(arn, max_items=4, reverse_order=True)
    back2 = engine.get_execution_history(
        arn, max_items=4, reverse_order=True, marker=back["NextMarker"]
    )
    assert [e["EventId"] for e in back["Events"] + back2["Events"]] == list(range(6, 0, -1))
    with pytest.raises(ServiceError):
        engine.get_execution_history(arn, marker="x")
    with pytest.raises(ServiceError) as exc:
        engine.get_execution_history("arn:missing")
    assert exc.value.code == "ResourceNotFoundException"


def test_get_execution_without_data() -> None:
    engine, _, _ = make_engine()
    arn, _, request_id = start(engine, payload='"in"')
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED", "Result": '"out"'})
    execution = engine.get_execution(arn, include_execution_data=False)
    assert "InputPayload" not in execution and "Result" not in execution
    assert execution["Status"] == "SUCCEEDED"


def test_list_executions_filters_and_pages() -> None:
    engine, clock, _ = make_engine()
    arns = []
    for i in range(5):
        arn, _, request_id = start(engine, execution_name=f"e{i}")
        if i % 2 == 0:
            engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED"})
        arns.append(arn)
        clock.advance(10)
    listing = engine.list_executions(FUNCTION)
    assert [e["DurableExecutionArn"] for e in listing["DurableExecutions"]] == arns
    done = engine.list_executions(FUNCTION, statuses=["SUCCEEDED"])
    assert [e["DurableExecutionName"] for e in done["DurableExecutions"]] == ["e0", "e2", "e4"]
    late = engine.list_executions(FUNCTION, started_after=engine.record(arns[3]).start_timestamp)
    assert [e["DurableExecutionName"] for e in late["DurableExecutions"]] == ["e3", "e4"]
    early = engine.list_executions(FUNCTION, started_before=engine.record(arns[1]).start_timestamp)
    assert [e["DurableExecutionName"] for e in early["DurableExecutions"]] == ["e0", "e1"]
    named = engine.list_executions(FUNCTION, execution_name="e3")
    assert [e["DurableExecutionArn"] for e in named["DurableExecutions"]] == [arns[3]]
    page1 = engine.list_executions(FUNCTION, max_items=2, reverse_order=True)
    page2 = engine.list_executions(
        FUNCTION, max_items=2, reverse_order=True, marker=page1["NextMarker"]
    )
    names = [
        e["DurableExecutionName"] for e in page1["DurableExecutions"] + page2["DurableExecutions"]
    ]
    assert names == ["e4", "e3", "e2", "e1"]
    with pytest.raises(ServiceError) as exc:
        engine.list_executions(FUNCTION, statuses=["NOPE"])
    assert "Statuses" in exc.value.message
    with pytest.raises(ServiceError) as exc:
        engine.list_executions("other")
    assert exc.value.code == "ResourceNotFoundException"


# --- restart from the store ----------------------------------------------------------------


def test_engine_reloads_from_its_store_and_resumes_timers_and_callbacks() -> None:
    engine, clock, store = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(
        arn,
        token,
        [
            upd("w", "WAIT", "START", wait_seconds=30),
            upd("cb", "CALLBACK", "START", callback_heartbeat_timeout_seconds=100),
            step_start(),
        ],
    )
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    callback_id = engine.operation(arn, "cb").callback_id or ""
    events = list(engine.events(arn))

    again = Engine(store=store, clock=clock)
    again.functions.add(FUNCTION)
    assert list(again.events(arn)) == events
    assert again.next_timer_due() == clock.now + 30
    again.send_callback_success(callback_id, b'"ok"')
    assert op_status(again, arn, "cb") is OperationStatus.SUCCEEDED
    request = only_invocation(again, arn)
    assert request.event["CheckpointToken"] != token
    check_history(again, arn)


def test_an_invocation_in_flight_at_restart_counts_as_crashed() -> None:
    engine, clock, store = make_engine()
    arn, token, _ = start(engine)
    engine.checkpoint(arn, token, [step_start()])
    again = Engine(store=store, clock=clock)
    again.functions.add(FUNCTION)
    completed = again.events(arn)[-1]
    assert completed["EventType"] == "InvocationCompleted"
    assert completed["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"] == (
        "Runtime.ServiceRestarted"
    )
    only_invocation(again, arn)


class _FlakyStore(MemoryStore):
    """A MemoryStore whose writes fail while ``broken`` is set."""

    broken = False

    def write(self, changes: Sequence[ExecutionChange]) -> None:
        if self.broken:
            raise OSError("disk full")
        super().write(changes)


def test_store_failure_leaves_the_engine_unchanged() -> None:
    store = _FlakyStore()
    engine, _, _ = make_engine(store=store)
    arn, token, _ = start(engine)
    store.broken = True
    before = list(engine.events(arn))
    with pytest.raises(OSError):
        engine.checkpoint(arn, token, [step_start(), upd("cb", "CALLBACK", "START")])
    assert list(engine.events(arn)) == before
    with pytest.raises(ServiceError):
        engine.operation(arn, "s1")
    store.broken = False
    engine.checkpoint(arn, token, [step_start()])
    assert op_status(engine, arn, "s1") is OperationStatus.STARTED
    check_history(engine, arn)


def test_statistics_count_what_is_going_on() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=5), step_start()])
    engine.start_execution(FUNCTION, None)
    stats = engine.statistics()
    assert stats.executions == 2 and stats.running_executions == 2
    assert stats.invocations_in_flight == 1 and stats.invocations_ready == 1
    assert stats.invocations_total == 1
    assert stats.timers_scheduled == 3  # two execution timeouts and the wait


def test_statistics_count_only_live_timers() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    token = engine.checkpoint(
        arn, token, [upd("w", "WAIT", "START", wait_seconds=5)]
    ).checkpoint_token
    assert engine.statistics().timers_scheduled == 2  # the execution timeout and the wait
    engine.checkpoint(arn, token, [upd("w", "WAIT", "CANCEL")])
    assert engine.statistics().timers_scheduled == 1
    engine.stop_execution(arn)
    assert engine.statistics().timers_scheduled == 0


def _retention_deadline(engine: Engine, arn: str) -> float:
    """When an ended execution is deleted (the default retention: 14 days after its end)."""
    end = engine.record(arn).end_timestamp
    assert end is not None
    return end + 14 * 86_400
