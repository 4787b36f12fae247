"""``records``: the same records as ``dataclasses`` builds and copies, for less."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from trio_durable.config import CallbackConfig
from trio_durable.errors import ValidationError
from trio_durable.local.store import ExecutionRecord, OperationRecord
from trio_durable.records import quick_init, replace
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
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
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


def _twins(slots: bool) -> tuple[type, type]:
    """The same frozen dataclass twice: with its own ``__init__`` and with ``quick_init``'s."""

    def make() -> type:
        @dataclasses.dataclass(frozen=True, slots=slots)
        class Record:
            a: int
            b: str
            c: float | None = None
            d: tuple[int, ...] = ()

        return Record

    return make(), quick_init(make())


@pytest.mark.parametrize("slots", [True, False], ids=["slots", "dict"])
def test_quick_init_builds_what_the_dataclass_init_builds(slots: bool) -> None:
    plain, quick = _twins(slots)
    assert inspect.signature(quick) == inspect.signature(plain)
    assert vars(quick)["__init__"].__qualname__.endswith("Record.__init__")
    for args, kwargs in [((1, "x"), {}), ((1, "x", 2.5, (3,)), {}), ((1,), {"b": "y", "d": (4,)})]:
        built, expected = quick(*args, **kwargs), plain(*args, **kwargs)
        assert dataclasses.astuple(built) == dataclasses.astuple(expected)
        assert repr(built).split("(", 1)[1] == repr(expected).split("(", 1)[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick(1, "x").a = 2
    for bad_args, bad_kwargs in [((1,), {}), ((1, "x", 2.0, (), 5), {}), ((1, "x"), {"e": 1})]:
        with pytest.raises(TypeError):
            plain(*bad_args, **bad_kwargs)
        with pytest.raises(TypeError):
            quick(*bad_args, **bad_kwargs)


def test_the_wire_and_engine_records_use_quick_init() -> None:
    from trio_durable.wire import OperationUpdate

    for cls in (Operation, OperationUpdate, OperationRecord, ExecutionRecord):
        assert vars(cls)["__init__"].__code__.co_filename.startswith("<quick_init")
    by_keyword = Operation(
        id="op-1", type=OperationType.STEP, status=OperationStatus.STARTED,
        start_timestamp=1.0, name="s", attempt=1,
    )  # fmt: skip
    assert by_keyword == OP
    assert OP.result is None and OP.callback_id is None


def test_quick_init_refuses_what_it_cannot_build() -> None:
    @dataclasses.dataclass(frozen=True)
    class WithPostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True)
    class WithFactory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class KeywordOnly:
        a: int

    for cls in (WithPostInit, WithFactory, NotFrozen, KeywordOnly):
        with pytest.raises(TypeError, match="quick_init cannot build"):
            quick_init(cls)
