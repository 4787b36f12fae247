"""What a step body (or a wait_for_callback submitter) receives as ``step_context``.

A step function that declares a parameter named ``step_context`` gets one as a
keyword argument; other functions are called with their own arguments only.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
