"""payloads.as_type: JSON-shaped values made into the types the code states."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import pydantic
import pytest

from trio_durable.errors import SerializationError
from trio_durable.payloads import annotated_type, as_type, return_type
from trio_durable.serialization import JsonSerializer


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Order:
    id: str
    lines: list[Line]
    total: float = 0.0
    tags: tuple[str, ...] = field(default=())


class Address(TypedDict):
    street: str
    zip: int


class Customer(pydantic.BaseModel):
    name: str
    age: int


def test_dataclasses_are_built_recursively() -> None:
    value = {"id": "o-1", "lines": [{"sku": "book", "quantity": 2}], "total": 25, "tags": ["a"]}
    order = as_type(value, Order, what="order")
    assert order == Order("o-1", [Line("book", 2)], 25.0, ("a",))
    assert isinstance(order.total, float) and isinstance(order.tags, tuple)


def test_a_field_that_does_not_fit_is_named_with_its_path() -> None:
    value = {"id": "o-1", "lines": [{"sku": "book", "quantity": 2}, {"sku": 7, "quantity": 1}]}
    with pytest.raises(SerializationError, match=r"order\.lines\[1\]\.sku: expected str, got int"):
        as_type(value, Order, what="order")
    with pytest.raises(SerializationError, match=r"order: Order is missing lines"):
        as_type({"id": "o-1"}, Order, what="order")
    with pytest.raises(SerializationError, match=r"order: Order has no field colour"):
        as_type({"id": "o", "lines": [], "colour": "red"}, Order, what="order")


def test_tuples_come_back_as_tuples() -> None:
    assert as_type([1, 2], tuple[int, int], what="pair") == (1, 2)
    assert as_type([1, "a"], tuple[int, str], what="pair") == (1, "a")
    assert as_type([1, 2, 3], tuple[int, ...], what="t") == (1, 2, 3)
    with pytest.raises(SerializationError, match="expected a tuple of 2 items, got 3"):
        as_type([1, 2, 3], tuple[int, int], what="pair")


def test_typed_dicts_are_checked_key_by_key() -> None:
    assert as_type({"street": "Main", "zip": 1}, Address, what="a") == {"street": "Main", "zip": 1}
    with pytest.raises(SerializationError, match="a: Address is missing zip"):
        as_type({"street": "Main"}, Address, what="a")
    with pytest.raises(SerializationError, match=r"a\.zip: expected int, got str"):
        as_type({"street": "Main", "zip": "x"}, Address, what="a")


def test_pydantic_models_are_validated_naming_the_field() -> None:
    assert as_type({"name": "Ada", "age": 36}, Customer, what="c") == Customer(name="Ada", age=36)
    with pytest.raises(SerializationError, match=r"c\.age: "):
        as_type({"name": "Ada", "age": "old"}, Customer, what="c")


def test_unions_literals_and_scalars() -> None:
    assert as_type(None, int | None, what="x") is None
    assert as_type(3, int | str, what="x") == 3
    assert as_type("b", Literal["a", "b"], what="x") == "b"
    with pytest.raises(SerializationError, match="one of"):
        as_type("c", Literal["a", "b"], what="x")
    with pytest.raises(SerializationError, match="expected int, got bool"):
        as_type(True, int, what="x")
    assert as_type({"k": [1]}, dict[str, list[int]], what="x") == {"k": [1]}
    assert as_type({"any": object}, Any, what="x") == {"any": object}


def test_return_types_follow_annotations_only_under_the_json_serializer() -> None:
    async def pair() -> tuple[int, int]:
        return 1, 2

    assert return_type(pair) == tuple[int, int]
    assert annotated_type(pair, JsonSerializer()) == tuple[int, int]

    class Custom:
        def serialize(self, value: Any) -> str | None:
            return None

        def deserialize(self, payload: str | None) -> Any:
            return None

    assert annotated_type(pair, Custom()) is Any
    assert return_type(lambda: 1) is Any


def test_types_json_carries_as_text_and_enums() -> None:
    import datetime
    import enum
    import uuid
    from decimal import Decimal

    class Colour(enum.Enum):
        RED = "red"

    when = datetime.datetime(2026, 12, 2, 23, 0, tzinfo=datetime.UTC)
    assert as_type(when.isoformat(), datetime.datetime, what="x") == when
    assert as_type("2026-12-02", datetime.date, what="x") == datetime.date(2026, 12, 2)
    key = uuid.uuid4()
    assert as_type(str(key), uuid.UUID, what="x") == key
    assert as_type("1.10", Decimal, what="x") == Decimal("1.10")
    assert as_type("red", Colour, what="x") is Colour.RED
    with pytest.raises(SerializationError, match="x: expected datetime, got str"):
        as_type("yesterday", datetime.datetime, what="x")
    with pytest.raises(SerializationError, match="expected a Colour value"):
        as_type("blue", Colour, what="x")
