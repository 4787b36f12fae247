"""The one serializer interface, and its orjson-based default.

Every payload the SDK checkpoints (step results, child context results, the
execution's result) and every payload it reads back (callback results, the
execution input) passes through a ``Serializer``. A value that cannot be
serialized raises ``SerializationError``, which is never retried.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import orjson

from trio_durable.errors import SerializationError


@runtime_checkable
class Serializer(Protocol):
    """Turns values into payload text and back. Both methods are pure."""

    def serialize(self, value: Any) -> str | None:
        """Payload text for ``value`` (``None`` records no payload)."""
        ...

    def deserialize(self, payload: str | None) -> Any:
        """The value for payload text (``None`` when nothing was recorded)."""
        ...


class JsonSerializer:
    """JSON via orjson: fast, strict about types, UTF-8 text out.

    ``None`` is recorded as the JSON text ``null`` so that a step which returned
    ``None`` is told apart from one that recorded nothing.
    """

    __slots__ = ("_option",)

    def __init__(self, *, sort_keys: bool = False) -> None:
        self._option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_SORT_KEYS if sort_keys else 0)

    def serialize(self, value: Any) -> str | None:
        try:
            return orjson.dumps(value, option=self._option).decode()
        except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
            raise SerializationError(
                f"cannot serialize {type(value).__name__} to JSON: {exc}"
            ) from exc

    def deserialize(self, payload: str | None) -> Any:
        if not payload:  # None or "": nothing recorded
            return None
        try:
            return _loads(payload)  # once per replayed step: no module lookup
        except orjson.JSONDecodeError as exc:
            raise SerializationError(f"payload is not valid JSON: {exc}") from exc


_loads = orjson.loads

DEFAULT_SERIALIZER: Serializer = JsonSerializer()
