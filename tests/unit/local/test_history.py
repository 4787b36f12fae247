"""History events: the compact record, its botocore rendering, and its safety."""

from __future__ import annotations

from local_engine_helpers import make_engine, start, step_start, step_succeed

from trio_durable.local import history
from trio_durable.local.history import NO_DETAILS, HistoryEvent
from trio_durable.wire import ErrorObject, Operation, OperationStatus, OperationType

STEP = Operation(
    id="op-1",
    type=OperationType.STEP,
    status=OperationStatus.SUCCEEDED,
    start_timestamp=1.0,
    name="charge",
    parent_id="ctx-1",
    sub_type="Step",
)


def test_an_operation_event_renders_in_the_botocore_shape() -> None:
    details = {"Result": history.payload('"ok"'), "RetryDetails": history.retry_details(2)}
    event = history.operation_event("StepSucceeded", 7, 12.5, STEP, details)
    assert event.to_wire() == {
        "EventType": "StepSucceeded",
        "EventId": 7,
        "EventTimestamp": 12.5,
        "StepSucceededDetails": {
            "Result": {"Truncated": False, "Payload": '"ok"'},
            "RetryDetails": {"CurrentAttempt": 2},
        },
        "Id": "op-1",
        "Name": "charge",
        "ParentId": "ctx-1",
        "SubType": "Step",
    }


def test_an_event_without_details_still_has_its_details_key() -> None:
    rendered = history.event("InvocationCompleted", 3, 1.0, {}).to_wire()
    assert rendered["InvocationCompletedDetails"] == {}
    assert "Id" not in rendered and "Name" not in rendered


def test_from_wire_gives_back_the_event_that_was_rendered() -> None:
    error = ErrorObject(message="no", type="ValueError", data="x", stack_trace=("a", "b"))
    events = [
        history.operation_event("StepFailed", 2, 3.0, STEP, {"Error": history.error(error)}),
        history.event("ExecutionResumed", 3, 4.0, history.execution_resumed(4.0, "go")),
        HistoryEvent("StepStarted", 4, 5.0, NO_DETAILS, op_id="op-2"),
    ]
    for event in events:
        assert HistoryEvent.from_wire(event.to_wire()) == event
        assert HistoryEvent.from_wire(event.to_wire()).to_wire() == event.to_wire()


def test_changing_a_rendered_event_does_not_change_the_history() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    token = engine.checkpoint(arn, token, [step_start()]).checkpoint_token
    engine.checkpoint(arn, token, [step_succeed()])
    before = engine.events(arn)
    succeeded = before[-1]
    succeeded["StepSucceededDetails"]["RetryDetails"]["CurrentAttempt"] = 99
    succeeded["StepSucceededDetails"]["Result"]["Payload"] = "changed"
    before[1]["StepStartedDetails"]["Extra"] = True
    after = engine.events(arn)
    assert after[-1]["StepSucceededDetails"] == {
        "Result": {"Truncated": False, "Payload": '"ok"'},
        "RetryDetails": {"CurrentAttempt": 1},
    }
    assert after[1]["StepStartedDetails"] == {}
    page = engine.get_execution_history(arn, include_execution_data=True)["Events"]
    assert page[-1]["StepSucceededDetails"]["RetryDetails"] == {"CurrentAttempt": 1}


def test_retry_details_are_shared_between_events() -> None:
    assert history.retry_details(1) is history.retry_details(1)
    assert dict(history.retry_details(2, 30)) == {
        "CurrentAttempt": 2,
        "NextAttemptDelaySeconds": 30,
    }
