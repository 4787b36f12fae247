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


@functools.lru_cache(maxsize=2048)
def _accepts_step_context(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False
    parameter = parameters.get("step_context")
    return parameter is not None and parameter.kind in (
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )


def accepts_step_context(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` declares a ``step_context`` parameter."""
    try:
        return _accepts_step_context(fn)
    except TypeError:  # unhashable callable
        return _accepts_step_context.__wrapped__(fn)


@functools.lru_cache(maxsize=2048)
def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 (an object with async __call__)
    )


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """Whether calling ``fn`` returns a coroutine (``async def``, partials of it, ...)."""
    try:
        return _is_async(fn)
    except TypeError:
        return _is_async.__wrapped__(fn)
