"""What a step body (or a wait_for_callback submitter) receives as ``step_context``.

A step function that declares a parameter named ``step_context`` gets one as a
keyword argument; other functions are called with their own arguments only.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from trio_durable.runtime.logger import DurableLogger


@dataclass(frozen=True, slots=True)
class StepContext:
    """Given to a step body: a logger with the step's fields, and the attempt (1-based)."""

    logger: DurableLogger
    attempt: int


@dataclass(frozen=True, slots=True)
class WaitForCallbackContext:
    """Given to a wait_for_callback submitter: a logger only."""

    logger: DurableLogger


def _traits(fn: Callable[..., Any]) -> tuple[bool, bool]:
    is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 (an object with async __call__)
    )
    try:
        parameter = inspect.signature(fn).parameters.get("step_context")
    except (TypeError, ValueError):  # builtins without a signature
        parameter = None
    wants_context = parameter is not None and parameter.kind in (
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    return is_async, wants_context


_cached_traits = functools.lru_cache(maxsize=2048)(_traits)


def callable_traits(fn: Callable[..., Any]) -> tuple[bool, bool]:
    """``(is_async, accepts_step_context)`` of ``fn``: whether calling it returns a
    coroutine (``async def``, partials of it...), and whether it declares a
    ``step_context`` parameter. Cached: steps call the same functions many times."""
    try:
        return _cached_traits(fn)
    except TypeError:  # unhashable callable
        return _traits(fn)


# Step functions that declare ``step_context`` (a keyword the SDK passes), as
# typed callables of 0 to 4 positional arguments: mypy cannot match a variadic
# protocol against them, so ``DurableContext.step`` has one overload per arity.
C = TypeVar("C", contravariant=True)
R = TypeVar("R", covariant=True)
A1 = TypeVar("A1", contravariant=True)
A2 = TypeVar("A2", contravariant=True)
A3 = TypeVar("A3", contravariant=True)
A4 = TypeVar("A4", contravariant=True)


class WithContext0(Protocol[C, R]):
    def __call__(self, *, step_context: C) -> R: ...


class WithContext1(Protocol[C, A1, R]):
    def __call__(self, a1: A1, /, *, step_context: C) -> R: ...


class WithContext2(Protocol[C, A1, A2, R]):
    def __call__(self, a1: A1, a2: A2, /, *, step_context: C) -> R: ...


class WithContext3(Protocol[C, A1, A2, A3, R]):
    def __call__(self, a1: A1, a2: A2, a3: A3, /, *, step_context: C) -> R: ...


class WithContext4(Protocol[C, A1, A2, A3, A4, R]):
    def __call__(self, a1: A1, a2: A2, a3: A3, a4: A4, /, *, step_context: C) -> R: ...
