"""wire.py against botocore's own model: what we build is what AWS accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import botocore.session
import pytest
from botocore.validate import ParamValidator
from hypothesis import given
from hypothesis import strategies as st

from trio_durable import wire
from trio_durable.wire import (
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

MODEL = botocore.session.get_session().get_service_model("lambda")


def _validate(shape_name: str, params: dict[str, object]) -> None:
    report = ParamValidator().validate(params, MODEL.shape_for(shape_name))
    assert not report.has_errors(), report.generate_report()


FULL_UPDATES = [
    OperationUpdate(
        id="a", type=OperationType.STEP, action=OperationAction.RETRY, parent_id="p",
        name="charge", sub_type="Step", error=ErrorObject("boom", "ValueError", "{}", ("l1",)),
        next_attempt_delay_seconds=5,
    ),
    OperationUpdate(id="b", type=OperationType.WAIT, action=OperationAction.START, wait_seconds=60),
    OperationUpdate(
        id="c", type=OperationType.CALLBACK, action=OperationAction.START,
        callback_timeout_seconds=10, callback_heartbeat_timeout_seconds=0,
    ),
    OperationUpdate(
        id="d", type=OperationType.CONTEXT, action=OperationAction.SUCCEED, payload="",
        replay_children=True,
    ),
    OperationUpdate(
        id="e", type=OperationType.CHAINED_INVOKE, action=OperationAction.START,
        invoke_function_name="other", invoke_tenant_id="t1", payload='{"x": 1}',
        invoke_trace_header="Root=1-5f0c4e1d-0123456789abcdef01234567;Parent=1122334455667788",
    ),
]  # fmt: skip


@pytest.mark.parametrize("update", FULL_UPDATES, ids=lambda u: u.type.value)
def test_update_to_wire_is_valid_for_botocore_and_round_trips(update: OperationUpdate) -> None:
    data = wire.update_to_wire(update)
    _validate(
        "CheckpointDurableExecutionRequest",
        {"DurableExecutionArn": "arn", "CheckpointToken": "t", "Updates": [data]},
    )
    assert wire.update_from_wire(data) == update


FULL_OPERATIONS = [
    Operation(
        id="x", type=OperationType.EXECUTION, status=OperationStatus.STARTED,
        start_timestamp=1.5, input_payload='"hi"',
    ),
    Operation(
        id="s", type=OperationType.STEP, status=OperationStatus.PENDING, start_timestamp=2.0,
        parent_id="x", name="n", sub_type="Step", attempt=2, next_attempt_timestamp=9.0,
        error=ErrorObject(message="m", type="T"),
    ),
    Operation(
        id="w", type=OperationType.WAIT, status=OperationStatus.SUCCEEDED, start_timestamp=3.0,
        end_timestamp=4.0, scheduled_end_timestamp=4.0,
    ),
    Operation(
        id="c", type=OperationType.CALLBACK, status=OperationStatus.SUCCEEDED,
        start_timestamp=3.0, callback_id="cb-1", result='"ok"',
    ),
    Operation(
        id="k", type=OperationType.CONTEXT, status=OperationStatus.SUCCEEDED,
        start_timestamp=3.0, replay_children=True, result="",
    ),
    Operation(
        id="i", type=OperationType.CHAINED_INVOKE, status=OperationStatus.FAILED,
        start_timestamp=3.0, error=ErrorObject(message="nope"),
    ),
]  # fmt: skip


@pytest.mark.parametrize("op", FULL_OPERATIONS, ids=lambda o: o.type.value)
def test_operation_round_trips_and_matches_the_model(op: Operation) -> None:
    data = wire.operation_to_wire(op)
    assert wire.operation_from_wire(data) == op
    # The model's Operation is an output shape; validating it as the member of a
    # response checks names and types the same way.
    boto_like = dict(data)
    boto_like["StartTimestamp"] = datetime.fromtimestamp(op.start_timestamp, UTC)
    if op.end_timestamp is not None:
        boto_like["EndTimestamp"] = datetime.fromtimestamp(op.end_timestamp, UTC)
    details_key = next(k for k in data if k.endswith("Details"))
    details = dict(data[details_key])
    for key in ("NextAttemptTimestamp", "ScheduledEndTimestamp"):
        if key in details:
            details[key] = datetime.fromtimestamp(details[key], UTC)
    boto_like[details_key] = details
    _validate("GetDurableExecutionStateResponse", {"Operations": [boto_like]})
    # boto3 hands back datetimes: reading them gives the same operation.
    assert wire.operation_from_wire(boto_like) == op


def test_timestamps_read_from_every_form() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert wire.timestamp_from_wire(moment) == moment.timestamp()
    assert wire.timestamp_from_wire(moment.timestamp()) == moment.timestamp()
    assert wire.timestamp_from_wire("2026-01-02T03:04:05Z") == moment.timestamp()
    assert wire.timestamp_from_wire(moment.replace(tzinfo=None)) == moment.timestamp()
    with pytest.raises(TypeError):
        wire.timestamp_from_wire(None)


def test_bad_update_shape_raises() -> None:
    with pytest.raises(ValueError):
        wire.update_from_wire({"Id": "a", "Type": "NOPE", "Action": "START"})
    with pytest.raises(KeyError):
        wire.update_from_wire({"Type": "STEP", "Action": "START"})


def test_checkpoint_result_round_trip() -> None:
    result = wire.CheckpointResult(
        checkpoint_token="tok",
        new_state=wire.StatePage(operations=tuple(FULL_OPERATIONS), next_marker="m"),
    )
    assert wire.checkpoint_result_from_wire(wire.checkpoint_result_to_wire(result)) == result


def test_terminal_statuses() -> None:
    assert {s for s in OperationStatus if s.is_terminal} == {
        OperationStatus.SUCCEEDED,
        OperationStatus.FAILED,
        OperationStatus.CANCELLED,
        OperationStatus.TIMED_OUT,
        OperationStatus.STOPPED,
    }


_text = st.text(max_size=20)


@given(
    st.builds(
        ErrorObject,
        message=st.none() | _text,
        type=st.none() | _text,
        data=st.none() | _text,
        stack_trace=st.none() | st.lists(_text, max_size=3).map(tuple),
    )
)
def test_error_object_round_trips(error: ErrorObject) -> None:
    assert wire.error_from_wire(wire.error_to_wire(error)) == error


# --- fit_error: an exception of any size still makes a recordable error ---------


def test_fit_error_leaves_a_small_error_alone() -> None:
    error = ErrorObject(message="boom", type="ValueError", data='{"a": 1}', stack_trace=("x",))
    assert wire.fit_error(error) is error


def test_fit_error_cuts_a_long_message_and_says_so() -> None:
    error = ErrorObject(message="x" * 100_000, type="ValueError", stack_trace=("line",))
    fitted = wire.fit_error(error)
    assert wire.error_size(fitted) <= wire.MAX_ERROR_BYTES
    assert fitted.message is not None
    assert fitted.message.startswith("x" * 1000)
    assert "characters kept]" in fitted.message
    assert fitted.type == "ValueError"
    assert fitted.stack_trace == ("line",)


def test_fit_error_keeps_the_innermost_traceback_lines() -> None:
    stack = tuple(f'  File "mod.py", line {i}, in f{i}' for i in range(5000))
    fitted = wire.fit_error(ErrorObject(message="deep", type="RecursionError", stack_trace=stack))
    assert wire.error_size(fitted) <= wire.MAX_ERROR_BYTES
    assert fitted.message == "deep"
    assert fitted.stack_trace is not None
    assert fitted.stack_trace[-1] == stack[-1]
    assert fitted.stack_trace[0].endswith("earlier lines cut")
    assert len(fitted.stack_trace) < len(stack)


def test_fit_error_drops_data_too_large_to_keep_whole() -> None:
    data = '{"blob": "' + "d" * 40_000 + '"}'
    fitted = wire.fit_error(ErrorObject(message="bad", type="E", data=data))
    assert fitted.data is None
    assert fitted.message is not None
    assert fitted.message.startswith("bad [ErrorData of")
    assert wire.error_size(fitted) <= wire.MAX_ERROR_BYTES


@given(st.text(min_size=0, max_size=3000), st.integers(min_value=1, max_value=40))
def test_fit_error_fits_any_text_however_it_escapes(chunk: str, repeat: int) -> None:
    # Control characters escape to six bytes and non-ASCII takes up to four:
    # the cut must count bytes as JSON, not characters.
    message = (chunk + "\n\x01é😀") * repeat
    fitted = wire.fit_error(ErrorObject(message=message, type="E"), limit=4096)
    assert wire.error_size(fitted) <= 4096
    assert fitted.message is not None
    assert message.startswith(fitted.message.split(" ... [message cut:")[0])


def _plain(op: Operation) -> dict[str, object]:
    return wire.operation_to_wire(op)


@pytest.mark.parametrize("op", FULL_OPERATIONS, ids=lambda o: o.type.value)
def test_recorded_operations_defer_only_records_whose_parse_cannot_fail(op: Operation) -> None:
    data = _plain(op)
    page = wire.recorded_operations([data])
    (recorded,) = page.operations.values()
    # EXECUTION is read at once; an error or a timestamp in the details is parsed now.
    deferred = op.type is not OperationType.EXECUTION and not (
        op.error or op.next_attempt_timestamp or op.scheduled_end_timestamp
    )
    assert (recorded is data) is deferred
    later = wire.operation_from_wire(recorded) if isinstance(recorded, dict) else recorded
    assert later == op
    assert page.execution_id == (op.id if op.type is OperationType.EXECUTION else None)


@pytest.mark.parametrize("status", list(OperationStatus), ids=lambda s: s.value)
@pytest.mark.parametrize("kind", [OperationType.STEP, OperationType.WAIT], ids=lambda t: t.value)
def test_records_of_every_status_are_deferred(kind: OperationType, status: OperationStatus) -> None:
    # The pass tells a succeeded step by comparison before any lookup: records
    # of the other types and statuses must be deferred all the same.
    result = "1" if kind is OperationType.STEP else None
    op = Operation("s", kind, status, 2.0, end_timestamp=3.0, result=result)
    data = _plain(op)
    (recorded,) = wire.recorded_operations([data]).operations.values()
    assert recorded is data
    assert wire.operation_from_wire(recorded) == op


@pytest.mark.parametrize(
    "change",
    [
        {"StartTimestamp": datetime.fromtimestamp(3.0, UTC)},  # boto3's form: parsed now
        {"StartTimestamp": "2026-01-01T00:00:00Z"},
        {"EndTimestamp": 7},
        {"Id": 5},
        {"StepDetails": {"Result": "1", "Error": {"ErrorMessage": "m"}}},
        {"StepDetails": {"NextAttemptTimestamp": 4}},
        {"StepDetails": {"ScheduledEndTimestamp": 4.0}},
    ],
)
def test_a_record_of_another_shape_is_parsed_at_once(change: dict[str, object]) -> None:
    op = Operation("s", OperationType.STEP, OperationStatus.SUCCEEDED, 2.0, result="1")
    data = {**_plain(op), **change}
    page = wire.recorded_operations([data])
    (recorded,) = page.operations.values()
    assert isinstance(recorded, Operation)
    assert recorded == wire.operation_from_wire(data)


def test_details_the_parse_does_not_read_leave_a_record_deferred() -> None:
    op = Operation("s", OperationType.STEP, OperationStatus.SUCCEEDED, 2.0, result="1")
    data = {**_plain(op), "StepDetails": {"Result": "1", "Unknown": [1]}}
    (recorded,) = wire.recorded_operations([data]).operations.values()
    assert recorded is data
    assert wire.operation_from_wire(recorded) == op


@pytest.mark.parametrize(
    "bad",
    [
        {"Id": "x", "Type": "NOPE"},
        {"Id": "x", "Type": "STEP", "Status": "?"},
        {"Id": "x", "Type": "STEP", "Status": "SUCCEEDED", "StartTimestamp": 1.0,
         "StepDetails": "not details"},
        {"Id": "x", "Type": "STEP", "Status": "FAILED", "StartTimestamp": 1.0,
         "StepDetails": {"Error": "not an error"}},
        {"Id": "x", "Type": "STEP", "Status": "PENDING", "StartTimestamp": 1.0,
         "StepDetails": {"NextAttemptTimestamp": "not a time"}},
        ["Id", "x"],
    ],
)  # fmt: skip
def test_a_malformed_record_is_refused_before_anything_is_deferred(bad: object) -> None:
    good = _plain(Operation("s", OperationType.STEP, OperationStatus.SUCCEEDED, 2.0))
    with pytest.raises((ValueError, KeyError, TypeError, AttributeError)):
        wire.recorded_operations([good, bad])  # type: ignore[list-item]
