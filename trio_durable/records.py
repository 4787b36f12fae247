"""Frozen records at a fraction of ``dataclasses``' cost: ``replace`` and ``quick_init``.

``quick_init`` gives a frozen dataclass a cheaper ``__init__`` (below).

``replace(record, **changes)`` is ``dataclasses.replace`` for less.

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
C = TypeVar("C", bound=type)

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


def quick_init(cls: C) -> C:
    """Give the frozen dataclass ``cls`` a cheaper ``__init__``: the same
    parameters, defaults and result, with frozenness intact.

    A frozen dataclass's own ``__init__`` looks ``object.__setattr__`` up again
    for every field it stores; building a 16-field ``Operation`` costs about
    2 us that way, and a replay builds one per recorded operation, a step two
    ``OperationUpdate``s. This ``__init__`` holds the setter in a closure:
    about 40% less. It is generated once, as ``dataclasses`` generates its
    own. Only for classes whose fields are all positional ``__init__`` fields
    with plain defaults, without ``__post_init__`` (``TypeError`` otherwise).
    """
    target: Any = cls
    fields = dataclasses.fields(target)
    if (
        not target.__dataclass_params__.frozen
        or hasattr(target, "__post_init__")
        or len(fields) != len(target.__dataclass_fields__)  # InitVars
        or any(
            not field.init
            or field.kw_only
            or field.default_factory is not dataclasses.MISSING
            or not field.name.isidentifier()
            or field.name.startswith("_")
            or field.name == "self"
            for field in fields
        )
    ):
        raise TypeError(f"quick_init cannot build {cls.__name__}: use its own __init__")
    defaults = {
        f"_{field.name}": field.default
        for field in fields
        if field.default is not dataclasses.MISSING
    }
    parameters = ", ".join(
        field.name if field.default is dataclasses.MISSING else f"{field.name}=_{field.name}"
        for field in fields
    )
    stores = "".join(f"        _set(self, {field.name!r}, {field.name})\n" for field in fields)
    source = (
        f"def make({', '.join(['_set', *defaults])}):\n"
        f"    def __init__(self, {parameters}):\n{stores}"
        "    return __init__\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<quick_init {cls.__qualname__}>", "exec"), namespace)
    init = namespace["make"](object.__setattr__, **defaults)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = target.__init__.__doc__
    init.__annotations__ = dict(target.__init__.__annotations__)
    target.__init__ = init
    return cls
