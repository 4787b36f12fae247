"""Typed payloads: a deserialized value (JSON-shaped) made into the type the code states.

``as_type(value, tp, what=...)`` returns ``value`` as a ``tp``: dataclasses and
pydantic models (when pydantic is installed) are built from their dicts,
tuples come back as tuples, ``list``/``dict``/unions/``Optional``/``Literal``
and ``TypedDict`` are checked field by field, and ``Any`` or ``object`` take
anything; datetimes, dates, times, UUIDs and Decimals are read from the text
JSON carries them as, enums from their values. A value that does not fit
raises ``SerializationError`` naming the path of the field
(``what.lines[1].sku``). Beyond those, conversion never guesses: an ``int`` is
accepted for a ``float``, nothing else is coerced.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import sys
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from trio_durable.errors import SerializationError
from trio_durable.serialization import JsonSerializer, Serializer

__all__ = ["EXACT_TYPES", "annotated_type", "as_type", "return_type"]

T = TypeVar("T")

_NONE_TYPE = type(None)


def as_type(value: Any, tp: type[T] | Any, *, what: str) -> T:
    """``value`` as a ``tp`` (see the module doc); ``what`` names it in errors."""
    if tp is Any or (type(value) is tp and tp in EXACT_TYPES):
        return cast(T, value)  # the common cases, before any look at the type's form
    return cast(T, _convert(value, tp, what))


EXACT_TYPES = frozenset({int, str, bool, float})
"""A value of exactly one of these types is already what that type asks for
(``as_type``'s first test, which a hot path may make itself before building ``what``)."""


def return_type(fn: Callable[..., Any]) -> Any:
    """The return annotation of ``fn`` (an awaitable's result type for ``async def``),
    or ``Any`` when it has none or it cannot be resolved. Cached per code object,
    so closures made anew on every call cost one lookup (a replay also keeps the
    last answer: ``operations.step.replayed_step``)."""
    target: Any
    code: types.CodeType | None
    if type(fn) is types.FunctionType:  # the common case, without the lookups below
        target, code = fn, fn.__code__
    else:
        target = getattr(fn, "__func__", fn)
        code = getattr(target, "__code__", None)
        if code is None:
            return Any
    found = _RETURN_TYPES.get(code, _UNSEEN)
    if found is _UNSEEN:
        try:
            found = typing.get_type_hints(target).get("return", Any)
        except Exception:
            found = Any
        if len(_RETURN_TYPES) < _MAX_CACHED:
            _RETURN_TYPES[code] = found
    return found


_UNSEEN = object()
_MAX_CACHED = 10_000
_RETURN_TYPES: dict[types.CodeType, Any] = {}


def annotated_type(fn: Callable[..., Any], serializer: Serializer) -> Any:
    """The type ``fn``'s result is read back as: its return annotation when the JSON
    serializer reads it; ``Any`` under a custom serializer, which owns its types."""
    return return_type(fn) if isinstance(serializer, JsonSerializer) else Any


def _fail(path: str, expected: str, value: Any) -> SerializationError:
    return SerializationError(
        f"{path}: expected {expected}, got {type(value).__name__} {_short(value)}"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _convert(value: Any, tp: Any, path: str) -> Any:
    if tp is Any or tp is object:
        return value
    if tp is None or tp is _NONE_TYPE:
        if value is not None:
            raise _fail(path, "None", value)
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _convert(value, typing.get_args(tp)[0], path)
    if origin is typing.Union or origin is types.UnionType:
        return _union(value, typing.get_args(tp), path)
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise _fail(path, f"one of {typing.get_args(tp)!r}", value)
        return value
    if origin is not None:
        return _generic(value, origin, typing.get_args(tp), path)
    if isinstance(tp, TypeVar):
        return value
    if not isinstance(tp, type):
        return value  # a type form this module does not know: taken as it is
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(path, "float", value)
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise _fail(path, tp.__name__, value)
        return value
    if tp in _FROM_TEXT:
        return _from_text(value, tp, path)
    if issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise _fail(path, f"a {tp.__name__} value", value) from None
    if typing.is_typeddict(tp):
        return _typed_dict(value, tp, path)
    if dataclasses.is_dataclass(tp):
        return _dataclass(value, tp, path)
    model = _pydantic_model(tp)
    if model is not None:
        return model(value, tp, path)
    if tp is tuple:
        return _generic(value, tuple, (Any, ...), path)
    if tp in (list, dict):
        return _generic(value, tp, (), path)
    if isinstance(value, tp):
        return value
    raise _fail(path, tp.__name__, value)


_FROM_TEXT: dict[type, Callable[[str], Any]] = {
    datetime.datetime: datetime.datetime.fromisoformat,
    datetime.date: datetime.date.fromisoformat,
    datetime.time: datetime.time.fromisoformat,
    uuid.UUID: uuid.UUID,
    decimal.Decimal: decimal.Decimal,
}
"""Types JSON carries as text (as orjson writes them), read back from it."""


def _from_text(value: Any, tp: type, path: str) -> Any:
    if isinstance(value, tp):
        return value
    if tp is decimal.Decimal and isinstance(value, int | float) and not isinstance(value, bool):
        return decimal.Decimal(str(value))
    if not isinstance(value, str):
        raise _fail(path, tp.__name__, value)
    try:
        return _FROM_TEXT[tp](value)
    except (ValueError, decimal.InvalidOperation):
        raise _fail(path, tp.__name__, value) from None


def _union(value: Any, options: tuple[Any, ...], path: str) -> Any:
    if value is None and _NONE_TYPE in options:
        return None
    errors: list[SerializationError] = []
    for option in options:
        if option is _NONE_TYPE:
            continue
        try:
            return _convert(value, option, path)
        except SerializationError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    names = " | ".join(getattr(option, "__name__", repr(option)) for option in options)
    raise _fail(path, names, value)


def _generic(value: Any, origin: Any, args: tuple[Any, ...], path: str) -> Any:
    if origin in (list, set, frozenset, Sequence, typing.Sequence) or origin is tuple:
        if not isinstance(value, list | tuple):
            raise _fail(path, getattr(origin, "__name__", "a sequence"), value)
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
            if args and len(args) != len(value):
                raise SerializationError(
                    f"{path}: expected a tuple of {len(args)} items, got {len(value)}"
                )
            if not args:
                return tuple(value)
            return tuple(
                _convert(v, a, f"{path}[{i}]")
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        item = args[0] if args else Any
        items = [_convert(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
        return items if origin in (list, Sequence, typing.Sequence) else origin(items)
    if origin in (dict, Mapping, typing.Mapping):
        if not isinstance(value, dict):
            raise _fail(path, "dict", value)
        key_type, value_type = args if len(args) == 2 else (Any, Any)
        return {
            _convert(k, key_type, f"{path} key"): _convert(v, value_type, f"{path}[{k!r}]")
            for k, v in value.items()
        }
    if isinstance(origin, type) and isinstance(value, origin):
        return value
    return value


def _typed_dict(value: Any, tp: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, tp.__name__, value)
    hints = typing.get_type_hints(tp)
    missing = sorted(tp.__required_keys__ - value.keys())
    if missing:
        raise SerializationError(f"{path}: {tp.__name__} is missing {', '.join(missing)}")
    return {
        key: _convert(item, hints[key], f"{path}.{key}") if key in hints else item
        for key, item in value.items()
    }


def _dataclass(value: Any, tp: Any, path: str) -> Any:
    if isinstance(value, tp):
        return value
    if not isinstance(value, dict):
        raise _fail(path, tp.__name__, value)
    hints = typing.get_type_hints(tp)
    fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise SerializationError(f"{path}: {tp.__name__} has no field {', '.join(unknown)}")
    missing = [
        name
        for name, f in fields.items()
        if name not in value
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise SerializationError(f"{path}: {tp.__name__} is missing {', '.join(missing)}")
    return tp(**{k: _convert(v, hints.get(k, Any), f"{path}.{k}") for k, v in value.items()})


def _pydantic_model(tp: type) -> Callable[[Any, type, str], Any] | None:
    pydantic = sys.modules.get("pydantic")
    if pydantic is None or not issubclass(tp, pydantic.BaseModel):
        return None

    def build(value: Any, model: type, path: str) -> Any:
        try:
            return model.model_validate(value)  # type: ignore[attr-defined]
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
            )
            raise SerializationError(f"{path}{where}: {first['msg']}") from exc

    return build
