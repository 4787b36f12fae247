"""Operation state machines on the engine: STEP, WAIT, CALLBACK, CONTEXT,
CHAINED_INVOKE and EXECUTION updates, with the events each one writes."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
from local_engine_helpers import (
    FUNCTION,
    boom,
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
from trio_durable.wire import ErrorObject, ExecutionStatus, OperationStatus


def _ops_events(engine: object, arn: str) -> list[str]:
    from trio_durable.local.engine import Engine

    assert isinstance(engine, Engine)
    return [t for t in event_types(engine, arn) if t != "ExecutionStarted"]


# --- STEP -----------------------------------------------------------------------------


def test_step_start_and_succeed_in_one_call_write_both_events() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    engine.checkpoint(arn, token, [step_start(), step_succeed(payload='"r"')])
    started, succeeded = engine.events(arn)[1:3]
    assert started["EventType"] == "StepStarted" and started["StepStartedDetails"] == {}
    assert started["Id"] == "s1" and started["Name"] == "step" and started["SubType"] == "Step"
    assert succeeded["StepSucceededDetails"] == {
        "Result": {"Payload": '"r"', "Truncated": False},
        "RetryDetails": {"CurrentAttempt": 1},
    }
    op = engine.operation(arn, "s1")
    assert op.status is OperationStatus.SUCCEEDED and op.result == '"r"' and op.attempt == 1
    assert op.end_timestamp is not None


def test_step_retry_goes_pending_then_ready_then_next_attempt() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine)
    result = engine.checkpoint(
        arn,
        token,
        [step_start(), upd("s1", "STEP", "RETRY", error=boom(), next_attempt_delay_seconds=7)],
    )
    op = engine.operation(arn, "s1")
    assert op.status is OperationStatus.PENDING
    assert op.attempt == 1
    assert op.next_attempt_timestamp == clock.now + 7
    failed = engine.events(arn)[-1]
    assert failed["EventType"] == "StepFailed"
    assert failed["StepFailedDetails"]["RetryDetails"] == {
        "CurrentAttempt": 1,
        "NextAttemptDelaySeconds": 7,
    }
    # START before the retry is due is refused.
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, result.checkpoint_token, [step_start()])
    assert "PENDING" in exc.value.message
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    assert engine.take_invocations() == []
    assert engine.next_timer_due() == clock.now + 7
    fire_next(engine, clock)
    assert op_status(engine, arn, "s1") is OperationStatus.READY
    request = only_invocation(engine, arn)
    ops = {op["Id"]: op for op in request.event["InitialExecutionState"]["Operations"]}
    assert ops["s1"]["Status"] == "READY"
    token = request.event["CheckpointToken"]
    engine.checkpoint(arn, token, [step_start(), step_succeed()])
    op = engine.operation(arn, "s1")
    assert op.status is OperationStatus.SUCCEEDED and op.attempt == 2
    assert engine.events(arn)[-1]["StepSucceededDetails"]["RetryDetails"] == {"CurrentAttempt": 2}
    assert _ops_events(engine, arn) == [
        "StepStarted",
        "StepFailed",
        "InvocationCompleted",
        "StepStarted",
        "StepSucceeded",
    ]
    check_history(engine, arn)


def test_step_closes_from_started_or_ready_only() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    token = engine.checkpoint(arn, token, [step_start(), step_succeed()]).checkpoint_token
    for again in (step_succeed(), upd("s1", "STEP", "FAIL", error=boom()), step_start()):
        with pytest.raises(ServiceError) as exc:
            engine.checkpoint(arn, token, [again])
        assert "SUCCEEDED" in exc.value.message and "Updates[0].Action" in exc.value.message


def test_step_succeed_without_start_creates_it() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    engine.checkpoint(arn, token, [step_succeed("s9", name="quick")])
    assert op_status(engine, arn, "s9") is OperationStatus.SUCCEEDED
    assert engine.operation(arn, "s9").name == "quick"


def test_step_retry_after_a_crash_counts_the_interrupted_attempt() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [step_start()])
    engine.finish_invocation(
        arn, request_id, failure=ErrorObject(message="exit 1", type="Runtime.ExitError")
    )
    request = only_invocation(engine, arn)
    assert {op["Id"]: op["Status"] for op in request.event["InitialExecutionState"]["Operations"]}[
        "s1"
    ] == "STARTED"
    engine.checkpoint(
        arn,
        request.event["CheckpointToken"],
        [upd("s1", "STEP", "RETRY", error=boom(), next_attempt_delay_seconds=1)],
    )
    assert engine.events(arn)[-1]["StepFailedDetails"]["RetryDetails"]["CurrentAttempt"] == 1
    assert _ops_events(engine, arn) == ["StepStarted", "InvocationCompleted", "StepFailed"]
    crash = engine.events(arn)[2]["InvocationCompletedDetails"]["Error"]
    assert crash["Payload"]["ErrorType"] == "Runtime.ExitError"


# --- WAIT -----------------------------------------------------------------------------------


def test_wait_succeeds_at_its_scheduled_end_and_wakes_the_execution() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine)
    t0 = clock.now
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", name="nap", wait_seconds=30)])
    started = engine.events(arn)[-1]
    assert started["WaitStartedDetails"] == {"Duration": 30, "ScheduledEndTimestamp": t0 + 30}
    assert engine.operation(arn, "w").scheduled_end_timestamp == t0 + 30
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    clock.advance(29)
    assert engine.fire_due_timers() == 0
    assert op_status(engine, arn, "w") is OperationStatus.STARTED
    assert engine.take_invocations() == []
    clock.advance(1)
    assert engine.fire_due_timers() == 1
    assert op_status(engine, arn, "w") is OperationStatus.SUCCEEDED
    assert engine.events(arn)[-1]["WaitSucceededDetails"] == {"Duration": 30}
    only_invocation(engine, arn)
    assert _ops_events(engine, arn) == ["WaitStarted", "InvocationCompleted", "WaitSucceeded"]


def test_wait_cancel_stops_its_timer() -> None:
    engine, clock, _ = make_engine()
    arn, token, _ = start(engine)
    token = engine.checkpoint(
        arn, token, [upd("w", "WAIT", "START", wait_seconds=5)]
    ).checkpoint_token
    engine.checkpoint(arn, token, [upd("w", "WAIT", "CANCEL")])
    assert op_status(engine, arn, "w") is OperationStatus.CANCELLED
    assert engine.events(arn)[-1]["EventType"] == "WaitCancelled"
    clock.advance(10)
    assert engine.fire_due_timers() == 0
    assert op_status(engine, arn, "w") is OperationStatus.CANCELLED


def test_wait_cannot_start_twice() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    token = engine.checkpoint(
        arn, token, [upd("w", "WAIT", "START", wait_seconds=5)]
    ).checkpoint_token
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=5)])
    assert "already exists" in exc.value.message


# --- CALLBACK ---------------------------------------------------------------------------------


def _callback(engine: object, arn: str, token: str, **options: int) -> tuple[str, str]:
    from trio_durable.local.engine import Engine

    assert isinstance(engine, Engine)
    result = engine.checkpoint(
        arn, token, [upd("cb", "CALLBACK", "START", name="approval", **options)]
    )
    callback_id = engine.operation(arn, "cb").callback_id
    assert callback_id is not None
    return callback_id, result.checkpoint_token


def test_callback_started_event_carries_id_and_timeouts() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    callback_id, _ = _callback(
        engine, arn, token, callback_timeout_seconds=60, callback_heartbeat_timeout_seconds=10
    )
    details = engine.events(arn)[-1]["CallbackStartedDetails"]
    assert details == {"CallbackId": callback_id, "Timeout": 60, "HeartbeatTimeout": 10}


def test_callback_success_stores_bytes_verbatim_and_completes_once() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    callback_id, _ = _callback(engine, arn, token)
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    engine.send_callback_success(callback_id, b'{"a": 1,  "b": "\xc3\xa9"}')
    op = engine.operation(arn, "cb")
    assert op.status is OperationStatus.SUCCEEDED
    assert op.result == '{"a": 1,  "b": "\u00e9"}'
    assert engine.events(arn)[-1]["CallbackSucceededDetails"] == {
        "Result": {"Payload": op.result, "Truncated": False}
    }
    only_invocation(engine, arn)
    before = list(engine.events(arn))
    calls: list[Callable[[], None]] = [
        partial(engine.send_callback_success, callback_id, b"2"),
        partial(engine.send_callback_failure, callback_id, boom()),
        partial(engine.send_callback_heartbeat, callback_id),
    ]
    for again in calls:
        with pytest.raises(ServiceError) as exc:
            again()
        assert exc.value.code == "ResourceNotFoundException"
        assert "CallbackId" in exc.value.message
    assert list(engine.events(arn)) == before


def test_callback_success_without_result() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    callback_id, _ = _callback(engine, arn, token)
    engine.send_callback_success(callback_id, None)
    assert engine.operation(arn, "cb").result is None
    assert engine.events(arn)[-1]["CallbackSucceededDetails"] == {"Result": {"Truncated": False}}


def test_callback_failure_records_the_error() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    callback_id, _ = _callback(engine, arn, token)
    error = ErrorObject(message="not approved", type="RejectedError")
    engine.send_callback_failure(callback_id, error)
    assert engine.operation(arn, "cb").error == error
    assert engine.events(arn)[-1]["CallbackFailedDetails"]["Error"]["Payload"] == {
        "ErrorMessage": "not approved",
        "ErrorType": "RejectedError",
    }


def test_unknown_callback_and_bad_result() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    with pytest.raises(ServiceError) as exc:
        engine.send_callback_success("NOPE", b"1")
    assert exc.value.code == "ResourceNotFoundException"
    callback_id, _ = _callback(engine, arn, token)
    with pytest.raises(ServiceError) as exc:
        engine.send_callback_success(callback_id, b"\xff\xfe")
    assert exc.value.code == "InvalidParameterValueException" and "Result" in exc.value.message
    with pytest.raises(ServiceError) as exc:
        engine.send_callback_success(callback_id, b"x" * (256 * 1024 + 1))
    assert exc.value.code == "RequestTooLargeException"
    with pytest.raises(ServiceError) as exc:
        engine.send_callback_failure(callback_id, ErrorObject(message="x" * 40_000))
    assert "Error" in exc.value.message
    assert op_status(engine, arn, "cb") is OperationStatus.STARTED


def test_callback_timeout_then_completion_is_refused() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine)
    callback_id, _ = _callback(engine, arn, token, callback_timeout_seconds=5)
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    clock.advance(5)
    assert engine.fire_due_timers() == 1
    op = engine.operation(arn, "cb")
    assert op.status is OperationStatus.TIMED_OUT
    assert op.error is not None and op.error.type == "Callback.Timeout"
    timed_out = engine.events(arn)[-1]
    assert timed_out["EventType"] == "CallbackTimedOut"
    assert timed_out["CallbackTimedOutDetails"]["Error"]["Payload"]["ErrorType"] == (
        "Callback.Timeout"
    )
    before = list(engine.events(arn))
    calls: list[Callable[[], None]] = [
        partial(engine.send_callback_success, callback_id, b"1"),
        partial(engine.send_callback_failure, callback_id, None),
        partial(engine.send_callback_heartbeat, callback_id),
    ]
    for late in calls:
        with pytest.raises(ServiceError) as exc:
            late()
        assert exc.value.code == "CallbackTimeoutException"
    assert list(engine.events(arn)) == before
    only_invocation(engine, arn)


def test_heartbeat_rearms_the_heartbeat_timeout() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine)
    callback_id, _ = _callback(engine, arn, token, callback_heartbeat_timeout_seconds=10)
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    for _ in range(5):
        clock.advance(8)
        engine.send_callback_heartbeat(callback_id)
        assert engine.fire_due_timers() == 0
    assert op_status(engine, arn, "cb") is OperationStatus.STARTED
    clock.advance(10)
    assert engine.fire_due_timers() == 1
    op = engine.operation(arn, "cb")
    assert op.status is OperationStatus.TIMED_OUT
    assert op.error is not None and op.error.type == "Callback.Heartbeat"


def test_heartbeat_without_heartbeat_timeout_is_accepted() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    callback_id, _ = _callback(engine, arn, token)
    engine.send_callback_heartbeat(callback_id)
    assert op_status(engine, arn, "cb") is OperationStatus.STARTED


def test_callback_completed_during_an_invocation_reinvokes_after_it() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    callback_id, _ = _callback(engine, arn, token)
    engine.send_callback_success(callback_id, b'"early"')
    assert engine.take_invocations() == []  # one invocation in flight at a time
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    request = only_invocation(engine, arn)
    ops = {op["Id"]: op for op in request.event["InitialExecutionState"]["Operations"]}
    assert ops["cb"]["CallbackDetails"]["Result"] == '"early"'


def test_callback_start_twice_is_refused() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    _, token = _callback(engine, arn, token)
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [upd("cb", "CALLBACK", "START")])
    assert "already exists" in exc.value.message


# --- CONTEXT ------------------------------------------------------------------------------------


def test_context_with_children() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    token = engine.checkpoint(
        arn,
        token,
        [
            upd("ctx", "CONTEXT", "START", name="child", sub_type="RunInChildContext"),
            step_start("inner", parent_id="ctx"),
            step_succeed("inner", parent_id="ctx"),
            upd("ctx", "CONTEXT", "SUCCEED", payload='"v"', replay_children=True),
        ],
    ).checkpoint_token
    op = engine.operation(arn, "ctx")
    assert op.status is OperationStatus.SUCCEEDED and op.result == '"v"'
    assert op.replay_children is True
    assert engine.operation(arn, "inner").parent_id == "ctx"
    assert _ops_events(engine, arn) == [
        "ContextStarted",
        "StepStarted",
        "StepSucceeded",
        "ContextSucceeded",
    ]
    inner = engine.events(arn)[2]
    assert inner["ParentId"] == "ctx"
    assert engine.events(arn)[-1]["ContextSucceededDetails"]["Result"]["Payload"] == '"v"'
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [upd("ctx", "CONTEXT", "FAIL", error=boom())])
    assert "SUCCEEDED" in exc.value.message
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [upd("ctx", "CONTEXT", "START")])
    assert "already exists" in exc.value.message


def test_context_fail() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    engine.checkpoint(
        arn, token, [upd("ctx", "CONTEXT", "START"), upd("ctx", "CONTEXT", "FAIL", error=boom())]
    )
    assert op_status(engine, arn, "ctx") is OperationStatus.FAILED
    assert engine.events(arn)[-1]["ContextFailedDetails"]["Error"]["Payload"]["ErrorMessage"] == (
        "boom"
    )


# --- CHAINED_INVOKE ---------------------------------------------------------------------------


def test_chained_invoke_runs_the_target_and_copies_its_result_back() -> None:
    engine, _, _ = make_engine()
    engine.functions.add("target")
    arn, token, request_id = start(engine)
    engine.checkpoint(
        arn,
        token,
        [upd("inv", "CHAINED_INVOKE", "START", payload='"x"', invoke_function_name="target")],
    )
    started = engine.events(arn)[-1]
    child_arn = started["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
    assert started["ChainedInvokeStartedDetails"]["Input"]["Payload"] == '"x"'
    assert ":function:target:" in child_arn
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    child = only_invocation(engine, child_arn)
    exec_op = child.event["InitialExecutionState"]["Operations"][0]
    assert exec_op["ExecutionDetails"]["InputPayload"] == '"x"'
    engine.finish_invocation(child_arn, child.request_id, {"Status": "SUCCEEDED", "Result": "7"})
    assert engine.record(child_arn).status is ExecutionStatus.SUCCEEDED
    op = engine.operation(arn, "inv")
    assert op.status is OperationStatus.SUCCEEDED and op.result == "7"
    assert engine.events(arn)[-1]["ChainedInvokeSucceededDetails"]["Result"]["Payload"] == "7"
    only_invocation(engine, arn)


def test_chained_invoke_of_a_failing_target() -> None:
    engine, _, _ = make_engine()
    engine.functions.add("target")
    arn, token, request_id = start(engine)
    engine.checkpoint(
        arn, token, [upd("inv", "CHAINED_INVOKE", "START", invoke_function_name="target")]
    )
    child_arn = engine.events(arn)[-1]["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    child = only_invocation(engine, child_arn)
    engine.finish_invocation(
        child_arn, child.request_id, {"Status": "FAILED", "Error": {"ErrorMessage": "no"}}
    )
    op = engine.operation(arn, "inv")
    assert op.status is OperationStatus.FAILED and op.error == ErrorObject(message="no")
    assert engine.events(arn)[-1]["EventType"] == "ChainedInvokeFailed"


def test_chained_invoke_of_an_unknown_function_fails_the_operation() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    engine.checkpoint(
        arn, token, [upd("inv", "CHAINED_INVOKE", "START", invoke_function_name="ghost")]
    )
    op = engine.operation(arn, "inv")
    assert op.status is OperationStatus.FAILED
    assert op.error is not None and "ghost" in (op.error.message or "")
    assert _ops_events(engine, arn) == ["ChainedInvokeStarted", "ChainedInvokeFailed"]


# --- EXECUTION ----------------------------------------------------------------------------------


def test_execution_succeed_update_gives_the_result_at_the_end_of_the_invocation() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    exec_id = engine.events(arn)[0]["Id"]
    big = '"' + "x" * (1024 * 1024) + '"'
    engine.checkpoint(arn, token, [upd(exec_id, "EXECUTION", "SUCCEED", payload=big)])
    assert engine.record(arn).status is ExecutionStatus.RUNNING
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED"})
    record = engine.record(arn)
    assert record.status is ExecutionStatus.SUCCEEDED and record.result == big
    assert event_types(engine, arn)[-2:] == ["InvocationCompleted", "ExecutionSucceeded"]
    check_history(engine, arn)


def test_execution_fail_update() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    exec_id = engine.events(arn)[0]["Id"]
    engine.checkpoint(arn, token, [upd(exec_id, "EXECUTION", "FAIL", error=boom())])
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    record = engine.record(arn)
    assert record.status is ExecutionStatus.FAILED and record.error == boom()
    assert engine.get_execution(arn)["Error"] == {"ErrorMessage": "boom", "ErrorType": "ValueError"}


def test_the_execution_operation_comes_first_with_the_input() -> None:
    engine, _, _ = make_engine()
    arn = engine.start_execution(FUNCTION, '{"k": 1}').arn
    request = only_invocation(engine, arn)
    ops = request.event["InitialExecutionState"]["Operations"]
    assert len(ops) == 1
    assert ops[0]["Type"] == "EXECUTION" and ops[0]["Status"] == "STARTED"
    assert ops[0]["ExecutionDetails"] == {"InputPayload": '{"k": 1}'}
    assert request.event["DurableExecutionArn"] == arn
