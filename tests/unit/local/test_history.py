"""History events: the kept tuple, its botocore rendering, and its safety."""

from __future__ import annotations

import gc

import pytest
from local_engine_helpers import make_engine, start, step_start, step_succeed

from trio_durable.local import history
from trio_durable.local.engine import Engine
from trio_durable.local.history import NO_DETAILS
from trio_durable.local.store import MemoryStore
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
    assert history.to_wire(event) == {
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
    rendered = history.to_wire(history.event("InvocationCompleted", 3, 1.0, {}))
    assert rendered["InvocationCompletedDetails"] == {}
    assert "Id" not in rendered and "Name" not in rendered


def test_from_wire_gives_back_the_event_that_was_rendered() -> None:
    error = ErrorObject(message="no", type="ValueError", data="x", stack_trace=("a", "b"))
    events = [
        history.operation_event("StepFailed", 2, 3.0, STEP, {"Error": history.error(error)}),
        history.event("ExecutionResumed", 3, 4.0, history.execution_resumed(4.0, "go")),
        history.new_event("StepStarted", 4, 5.0, NO_DETAILS, op_id="op-2"),
    ]
    for event in events:
        assert history.from_wire(history.to_wire(event)) == event
        assert history.to_wire(history.from_wire(history.to_wire(event))) == history.to_wire(event)


def _one_step_recorded() -> tuple[Engine, MemoryStore, str]:
    """An execution whose one step started and succeeded: (engine, store, arn)."""
    engine, _, store = make_engine()
    arn, token, _ = start(engine)
    token = engine.checkpoint(arn, token, [step_start()]).checkpoint_token
    engine.checkpoint(arn, token, [step_succeed()])
    return engine, store, arn


def test_changing_a_rendered_event_does_not_change_the_history() -> None:
    engine, _, arn = _one_step_recorded()
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


def test_retry_details_name_the_attempt_and_the_delay_when_there_is_one() -> None:
    assert history.retry_details(1) == {"CurrentAttempt": 1}
    assert history.retry_details(2, 30) == {
        "CurrentAttempt": 2,
        "NextAttemptDelaySeconds": 30,
    }


def test_a_kept_event_is_not_tracked_by_the_garbage_collector() -> None:
    _, store, arn = _one_step_recorded()
    stored = store.load_execution(arn)
    assert stored is not None and len(stored.events) == 3
    gc.collect()
    assert not any(gc.is_tracked(event) for event in stored.events)


def test_details_that_are_not_json_ready_are_refused_when_the_event_is_made() -> None:
    with pytest.raises(TypeError, match="not JSON-ready"):
        history.event("ExecutionStarted", 1, 1.0, {"Bad": {1, 2}})
