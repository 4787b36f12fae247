"""How the local service calls a durable function: the ``Invoker`` protocol.

An invoker receives the invocation event (``DurableExecutionArn``,
``CheckpointToken``, ``InitialExecutionState``) and returns the handler's
answer dict (``{"Status": ...}``). The handler reaches the service through the
``LocalService`` it is given (directly, over a client, or over HTTP). A crash
(the handler raised, the process died, the answer is unreadable) is reported by
raising ``InvocationError``; the service records it in InvocationCompleted and
retries a bounded number of times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from trio_durable.errors import DurableExecutionError

if TYPE_CHECKING:
    from trio_durable.local.service import LocalService


@dataclass(frozen=True, slots=True)
class InvocationRequest:
    """One invocation the service asks for."""

    execution_arn: str
    function_name: str
    request_id: str
    event: dict[str, Any]


class InvocationError(DurableExecutionError):
    """The invocation crashed; ``error_type`` defaults to ``Runtime.ExitError``."""

    def __init__(self, message: str, *, error_type: str = "Runtime.ExitError") -> None:
        super().__init__(message, error_type=error_type)


class Invoker(Protocol):
    """Runs one invocation of a durable function."""

    async def invoke(self, request: InvocationRequest, service: LocalService) -> dict[str, Any]:
        """The handler's answer; raises ``InvocationError`` when the invocation crashed."""
        ...
