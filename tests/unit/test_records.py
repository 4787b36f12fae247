"""``records.replace``: the same copies as ``dataclasses.replace``, for less."""

from __future__ import annotations

import dataclasses

import pytest

from trio_durable.config import CallbackConfig
from trio_durable.errors import ValidationError
from trio_durable.local.store import ExecutionRecord, OperationRecord
from trio_durable.records import replace
from trio_durable.wire import (
    ErrorObject,
    ExecutionStatus,
    Operation,
    OperationStatus,
    OperationType,
)

OP = Operation("op-1", OperationType.STEP, OperationStatus.STARTED, 1.0, name="s", attempt=1)


@pytest.mark.parametrize(
    ("record", "changes"),
    [
        (OP, {"status": OperationStatus.SUCCEEDED, "end_timestamp": 2.0, "result": "1"}),
        (OP, {"error": ErrorObject("boom", "ValueError")}),
        (OP, {}),
        (OperationRecord("arn", 3, OP), {"operation": dataclasses.replace(OP, attempt=2)}),
        (
            ExecutionRecord(
                "arn", "name", "fn", ExecutionStatus.RUNNING, 1.0, None, "token", 60, 1
            ),
            {"wake": True, "checkpoint_token": "other", "event_count": 7},
        ),
    ],
)
def test_the_copy_equals_dataclasses_replace(record: object, changes: dict[str, object]) -> None:
    copied = replace(record, **changes)
    assert copied == dataclasses.replace(record, **changes)  # type: ignore[type-var]
    assert type(copied) is type(record) and copied is not record
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(copied, dataclasses.fields(copied)[0].name, None)  # type: ignore[arg-type]


def test_an_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="no field 'colour'"):
        replace(OP, colour="red")


def test_post_init_still_validates() -> None:
    with pytest.raises(ValidationError, match="timeout"):
        replace(CallbackConfig(), timeout=-1)


def test_classes_it_cannot_copy_positionally_go_to_dataclasses() -> None:
    @dataclasses.dataclass(frozen=True)
    class WithInitVar:
        a: int
        b: dataclasses.InitVar[int]
        c: int = 0

        def __post_init__(self, b: int) -> None:
            object.__setattr__(self, "c", self.a + b)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class KeywordOnly:
        a: int
        b: int

    @dataclasses.dataclass(frozen=True)
    class Derived:
        a: int
        b: int = dataclasses.field(init=False, default=5)

    assert replace(WithInitVar(1, 2), a=10, b=3).c == 13
    assert replace(KeywordOnly(a=1, b=2), b=3) == KeywordOnly(a=1, b=3)
    assert replace(Derived(1), a=2) == Derived(2)
    with pytest.raises(ValueError, match="init=False"):
        replace(Derived(1), b=2)
