"""Frozen records at a fraction of ``dataclasses``' cost: ``replace`` and ``quick_init``.

``replace(record, **changes)`` is ``dataclasses.replace`` for less. The engine
copies its frozen records (``Operation``, ``OperationRecord``,
``ExecutionRecord``) with a field or two changed several times per update it
applies. ``dataclasses.replace`` walks the class's fields on every call; this
calls a copier generated once per class (as ``dataclasses`` generates its
methods): keyword-only parameters, one per field, and the class called
positionally with each field changed or read from the record, so
``__init__`` and any ``__post_init__`` still run and the result is the same
frozen dataclass. A class it cannot copy that way (not a dataclass; an
``InitVar``, ``init=False`` or keyword-only field) goes to
``dataclasses.replace``.

``quick_init`` gives a frozen dataclass a cheaper ``__init__`` (below).
"""

from __future__ import annotations

import dataclasses
import inspect
from types import MemberDescriptorType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

R = TypeVar("R")
C = TypeVar("C", bound=type)

_COPIERS: dict[type, Callable[..., Any] | None] = {}

# Names the generated functions use for themselves; a field of one of these
# names is left to ``dataclasses``.
_OWN_NAMES = frozenset({"self", "record", "make"})


def replace(record: R, /, **changes: Any) -> R:
    """A copy of the dataclass instance ``record`` with ``changes`` made (as
    ``dataclasses.replace``; an unknown field raises ``TypeError`` naming it)."""
    cls = type(record)
    try:
        copy = _COPIERS[cls]
    except KeyError:
        copy = _COPIERS[cls] = _copier(cls)
    if copy is None:
        return dataclasses.replace(record, **changes)  # type: ignore[type-var]
    result: R = copy(record, **changes)
    return result


def _copier(cls: type) -> Callable[..., Any] | None:
    if not dataclasses.is_dataclass(cls):
        return None
    fields = dataclasses.fields(cls)
    if len(fields) != len(cls.__dataclass_fields__) or any(  # InitVars take positions too
        not field.init or field.kw_only or not _plain_name(field.name) for field in fields
    ):
        return None
    names = [field.name for field in fields]
    keep = object()  # the default of a field left as it is
    source = (
        "def make(_cls, _keep):\n"
        f"    def replace(record, /, *, {', '.join(f'{n}=_keep' for n in names)}):\n"
        f"        return _cls({', '.join(f'record.{n} if {n} is _keep else {n}' for n in names)})\n"
        "    return replace\n"
    )
    copier: Callable[..., Any] = _generated(cls, "replace", source)(cls, keep)
    return copier


def _plain_name(name: str) -> bool:
    return name.isidentifier() and not name.startswith("_") and name not in _OWN_NAMES


def _generated(cls: type, what: str, source: str) -> Callable[..., Any]:
    """The ``make`` function that ``source`` defines (code generated for ``cls``)."""
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{what} {cls.__qualname__}>", "exec"), namespace)
    make: Callable[..., Any] = namespace["make"]
    return make


def quick_init(cls: C) -> C:
    """Give the frozen dataclass ``cls`` a cheaper ``__init__``: the same
    parameters, defaults and result, with frozenness intact.

    A frozen dataclass's own ``__init__`` looks ``object.__setattr__`` up again
    for every field it stores; building a 16-field ``Operation`` costs about
    2 us that way, and a step builds two ``OperationUpdate``s, the engine
    several records per update. This ``__init__`` stores each field of a
    slotted class through its slot's descriptor, held in a closure (half the
    cost of a store), and any other field through ``object.__setattr__``. It
    is generated once, as ``dataclasses`` generates its own. Only for classes
    whose fields are all positional ``__init__`` fields with plain defaults,
    without ``__post_init__`` (``TypeError`` otherwise).
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
            or not _plain_name(field.name)
            for field in fields
        )
    ):
        raise TypeError(f"quick_init cannot build {cls.__name__}: use its own __init__")
    defaults = {
        f"_default_{field.name}": field.default
        for field in fields
        if field.default is not dataclasses.MISSING
    }
    parameters = ", ".join(
        field.name
        if field.default is dataclasses.MISSING
        else f"{field.name}=_default_{field.name}"
        for field in fields
    )
    # A slot's own descriptor stores its field at half the cost of
    # ``object.__setattr__`` (which looks the descriptor up by name each time).
    setters = {
        f"_set_{field.name}": slot.__set__
        for field in fields
        if isinstance(
            slot := inspect.getattr_static(target, field.name, None), MemberDescriptorType
        )
    }
    stores = "".join(
        f"        _set_{field.name}(self, {field.name})\n"
        if f"_set_{field.name}" in setters
        else f"        _set(self, {field.name!r}, {field.name})\n"
        for field in fields
    )
    source = (
        f"def make({', '.join(['_set', *setters, *defaults])}):\n"
        f"    def __init__(self, {parameters}):\n{stores}"
        "    return __init__\n"
    )
    init = _generated(cls, "quick_init", source)(object.__setattr__, **setters, **defaults)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = target.__init__.__doc__
    init.__annotations__ = dict(target.__init__.__annotations__)
    target.__init__ = init
    return cls
