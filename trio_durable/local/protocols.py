"""Where the local service and its invokers meet, without naming each other.

``local/service.py`` runs invocations through an ``Invoker``; an invoker (and
the in-process ``LocalServiceClient`` it hands the handler) reaches back
through ``ServiceAPI``, the part of the service it may use. Both sides import
this module; neither imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from trio_durable.errors import DurableExecutionError
from trio_durable.local.engine import InvocationRequest
from trio_durable.local.logbook import LogBook
from trio_durable.wire import CheckpointResult, OperationUpdate, StatePage

__all__ = [
    "MAX_INVOCATION_TIMEOUT_SECONDS",
    "TIMEOUT_ERROR_TYPE",
    "InvocationError",
    "InvocationRequest",
    "Invoker",
    "ServiceAPI",
]

MAX_INVOCATION_TIMEOUT_SECONDS = 900
"""Lambda's longest function timeout, and the local service's default."""
TIMEOUT_ERROR_TYPE = "Sandbox.Timedout"
"""What Lambda records for an invocation that ran out of time."""


class InvocationError(DurableExecutionError):
    """The invocation crashed; ``error_type`` defaults to ``Runtime.ExitError``."""

    def __init__(self, message: str, *, error_type: str = "Runtime.ExitError") -> None:
        super().__init__(message, error_type=error_type)


class ServiceAPI(Protocol):
    """What an invoker and the in-process client use of the service (its Trio thread only)."""

    @property
    def logs(self) -> LogBook:
        """Where workflow log records are kept (an out-of-process invoker adds its workers')."""
        ...

    def invocation_timeout(self, function_name: str) -> float:
        """Seconds an invocation of ``function_name`` may run."""
        ...

    def untimed(self, request: InvocationRequest) -> AbstractContextManager[None]:
        """Time spent inside does not count against the invocation's Lambda timeout
        (an invoker waiting for a free worker or thread)."""
        ...

    async def wait_until_terminal(self, arn: str) -> dict[str, Any]:
        """The ``GetDurableExecution`` answer once the execution has ended."""
        ...

    def checkpoint(
        self,
        arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        """``CheckpointDurableExecution``: all updates or none."""
        ...

    def get_execution_state(
        self, arn: str, checkpoint_token: str, *, marker: str | None = None
    ) -> StatePage:
        """``GetDurableExecutionState``: one page of operations."""
        ...


class Invoker(Protocol):
    """Runs one invocation of a durable function."""

    async def invoke(self, request: InvocationRequest, service: ServiceAPI) -> dict[str, Any]:
        """The handler's answer; raises ``InvocationError`` when the invocation crashed."""
        ...
