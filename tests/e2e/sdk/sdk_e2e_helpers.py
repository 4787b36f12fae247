"""Helpers for the SDK's end-to-end tests: run a handler on the local service,
read what it recorded, and play a process that dies mid-invocation."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import trio
import trio.lowlevel

from trio_durable.local.invokers import InProcessInvoker, InvocationError, InvocationRequest
from trio_durable.local.service import LocalService

_names = itertools.count(1)

BACKEND = {"name": "trio"}
"""The loop ``register`` runs workflows on (set per test by conftest's ``workflow_backend``):
``trio`` is the service's own loop, ``asyncio`` a fresh asyncio loop in a worker thread."""


def in_process(handler: Any) -> InProcessInvoker:
    """The in-process invoker, running ``handler`` on the test's workflow backend."""
    return InProcessInvoker(handler, backend=BACKEND["name"])


def register(service: LocalService, handler: Any, *, crashing: bool = False, **options: Any) -> str:
    """Register ``handler`` under a fresh function name (``options`` go to
    ``register_function``) and return the name."""
    name = f"fn-{next(_names)}"
    invoker = CrashingInvoker(handler) if crashing else in_process(handler)
    service.register_function(name, invoker, **options)
    return name


async def run(
    service: LocalService, handler: Any, payload: str | None = None, *, crashing: bool = False
) -> dict[str, Any]:
    """Start ``handler`` and wait for the end: ``GetDurableExecution`` plus ``Arn``."""
    started = service.start_execution(register(service, handler, crashing=crashing), payload)
    result = await service.wait_until_terminal(started.arn)
    return {"Arn": started.arn, **result}


def events(service: LocalService, arn: str) -> list[dict[str, Any]]:
    history = service.get_execution_history(arn, include_execution_data=True)
    events: list[dict[str, Any]] = history["Events"]
    return events


def kinds(service: LocalService, arn: str) -> list[str]:
    """Event types, with the SubType of operation events: ``StepStarted/Step``."""
    return [
        f"{e['EventType']}/{e['SubType']}" if e.get("SubType") else e["EventType"]
        for e in events(service, arn)
    ]


async def until(predicate: Callable[[], bool], *, limit: int = 100_000) -> None:
    """Yield to other tasks until ``predicate()`` holds (never advances the clock)."""
    for _ in range(limit):
        if predicate():
            return
        await trio.lowlevel.checkpoint()
    raise AssertionError("condition never held")


class SimulatedCrash(BaseException):
    """Raised by a step body to play a Lambda process that dies mid-invocation."""


class CrashingInvoker:
    """The in-process invoker, reporting a ``SimulatedCrash`` as a dead process."""

    def __init__(self, handler: Any) -> None:
        self._inner = in_process(handler)

    async def invoke(self, request: InvocationRequest, service: LocalService) -> dict[str, Any]:
        try:
            return await self._inner.invoke(request, service)
        except InvocationError as exc:  # the in-process invoker reports what the handler raised
            if exc.__cause__ is not None and _contains_crash(exc.__cause__):
                raise InvocationError("the process exited") from None
            raise


def _contains_crash(exc: BaseException) -> bool:
    if isinstance(exc, SimulatedCrash):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_contains_crash(e) for e in exc.exceptions)
    return False
