"""``replace(record, **changes)``: ``dataclasses.replace`` at a fraction of its cost.

The engine copies its frozen records (``Operation``, ``OperationRecord``,
``ExecutionRecord``) with a field or two changed several times per update it
applies. ``dataclasses.replace`` walks the class's fields on every call; this
reads them all at once (one ``operator.attrgetter`` per class, built on first
use) and calls the class positionally, so ``__init__`` and any
``__post_init__`` still run and the result is the same frozen dataclass. A
class it cannot copy that way (not a dataclass; an ``InitVar``, ``init=False``
or keyword-only field) goes to ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

R = TypeVar("R")

_Plan = tuple["Callable[[Any], tuple[Any, ...]]", dict[str, int]]
_PLANS: dict[type, _Plan | None] = {}


def replace(record: R, /, **changes: Any) -> R:
    """A copy of the dataclass instance ``record`` with ``changes`` made (as
    ``dataclasses.replace``; an unknown field raises ``TypeError``)."""
    cls = type(record)
    try:
        plan = _PLANS[cls]
    except KeyError:
        plan = _PLANS[cls] = _plan(cls)
    if plan is None:
        return dataclasses.replace(record, **changes)  # type: ignore[type-var]
    read, positions = plan
    values = list(read(record))
    for name, value in changes.items():
        position = positions.get(name)
        if position is None:
            raise TypeError(f"{cls.__name__} has no field {name!r} to replace")
        values[position] = value
    return cls(*values)


def _plan(cls: type) -> _Plan | None:
    if not dataclasses.is_dataclass(cls):
        return None
    fields = dataclasses.fields(cls)
    if (
        len(fields) < 2  # attrgetter of one name returns the value, not a tuple
        or len(fields) != len(cls.__dataclass_fields__)  # InitVars take positions too
        or any(not field.init or field.kw_only for field in fields)
    ):
        return None
    names = [field.name for field in fields]
    return attrgetter(*names), {name: i for i, name in enumerate(names)}
