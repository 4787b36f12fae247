"""The error hierarchy and the default serializer."""

from __future__ import annotations

import pytest

from trio_durable.errors import (
    CallbackError,
    CallbackFailedError,
    CallbackTimeoutError,
    DurableExecutionError,
    SerializationError,
    ServiceError,
    StepError,
    ValidationError,
    error_object_from_exception,
)
from trio_durable.serialization import JsonSerializer, Serializer
from trio_durable.wire import ErrorObject


def test_durable_error_round_trips_through_error_object() -> None:
    original = CallbackFailedError(
        "declined", callback_id="cb", error_type="Approval.Declined", error_data='{"by":"x"}'
    )
    recorded = original.to_error_object()
    assert recorded == ErrorObject("declined", "Approval.Declined", '{"by":"x"}', None)
    rebuilt = CallbackFailedError.from_error_object(recorded)
    assert isinstance(rebuilt, CallbackError)
    assert (rebuilt.message, rebuilt.error_type, rebuilt.error_data) == (
        "declined",
        "Approval.Declined",
        '{"by":"x"}',
    )


def test_error_type_defaults_to_class_name() -> None:
    assert CallbackTimeoutError("late").error_type == "CallbackTimeoutError"
    assert StepError.from_error_object(None).error_type == "StepError"


def test_error_object_from_user_exception_keeps_type_message_and_stack() -> None:
    def fail() -> None:
        raise KeyError("sku-1")

    try:
        fail()
    except KeyError as exc:
        recorded = error_object_from_exception(exc)
    assert recorded.type == "KeyError"
    assert recorded.message == "'sku-1'"
    assert recorded.stack_trace is not None
    assert any("in fail" in line for line in recorded.stack_trace)


def test_validation_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError):
        raise ValidationError("timeout must be whole seconds")
    assert issubclass(ValidationError, DurableExecutionError)


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("TooManyRequestsException", 429, True),
        ("ServiceException", 500, True),
        ("InvalidParameterValueException", 400, False),
        ("ResourceNotFoundException", 404, False),
        ("CallbackTimeoutException", 400, False),
    ],
)
def test_service_error_status_and_retryability(code: str, status: int, retryable: bool) -> None:
    error = ServiceError(code, "msg")
    assert (error.http_status, error.retryable) == (status, retryable)
    assert str(error) == f"{code}: msg"


def test_json_serializer_round_trips_and_keeps_none_distinct() -> None:
    serializer = JsonSerializer()
    assert isinstance(serializer, Serializer)
    value = {"a": [1, 2.5, "x", None], "b": {"c": True}}
    assert serializer.deserialize(serializer.serialize(value)) == value
    assert serializer.serialize(None) == "null"
    assert serializer.deserialize(None) is None
    assert serializer.serialize("Hello") == '"Hello"'


def test_json_serializer_errors_are_serialization_errors() -> None:
    serializer = JsonSerializer()
    with pytest.raises(SerializationError, match="cannot serialize object"):
        serializer.serialize(object())
    with pytest.raises(SerializationError, match="not valid JSON"):
        serializer.deserialize("{nope")
