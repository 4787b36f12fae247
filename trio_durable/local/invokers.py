"""How the local service calls a durable function: the in-process and
worker-thread invokers (the ``Invoker`` protocol is in ``local/protocols.py``).

An invoker receives the invocation event (``DurableExecutionArn``,
``CheckpointToken``, ``InitialExecutionState``) and returns the handler's
answer dict (``{"Status": ...}``). The handler reaches the service through a
client the invoker provides (``LocalLambdaContext.durable_client``). A crash
(the handler raised, the process died, the answer is unreadable) is reported by
raising ``InvocationError``; the service records it in InvocationCompleted and
retries a bounded number of times.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from trio_durable.errors import error_object_from_exception
from trio_durable.local.asyncio_bridge import await_on_asyncio, run_on_new_asyncio_loop
from trio_durable.local.client import LocalServiceClient
from trio_durable.local.protocols import (
    MAX_INVOCATION_TIMEOUT_SECONDS,
    TIMEOUT_ERROR_TYPE,
    InvocationError,
    InvocationRequest,
    Invoker,
    ServiceAPI,
)
from trio_durable.runtime.threads import virtual_time_held

__all__ = [
    "MAX_INVOCATION_TIMEOUT_SECONDS",
    "TIMEOUT_ERROR_TYPE",
    "InProcessInvoker",
    "InvocationError",
    "InvocationRequest",
    "Invoker",
    "LocalLambdaContext",
    "ThreadInvoker",
]


@dataclass(frozen=True, slots=True)
class LocalLambdaContext:
    """The Lambda context object a locally invoked handler receives.

    ``durable_client`` is the ``ServiceClient`` that reaches the local service
    from where the handler runs.
    """

    function_name: str
    aws_request_id: str
    invoked_function_arn: str
    durable_client: LocalServiceClient
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline_epoch: float = field(
        default_factory=lambda: time.time() + MAX_INVOCATION_TIMEOUT_SECONDS
    )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_epoch - time.time()) * 1000))


def _context(
    request: InvocationRequest, client: LocalServiceClient, service: ServiceAPI
) -> LocalLambdaContext:
    function_arn = request.execution_arn.split("/durable-execution/", 1)[0]
    return LocalLambdaContext(
        function_name=request.function_name,
        aws_request_id=request.request_id,
        invoked_function_arn=function_arn,
        durable_client=client,
        log_group_name=f"/aws/lambda/{request.function_name}",
        deadline_epoch=time.time() + service.invocation_timeout(request.function_name),
    )


def _raised(exc: BaseException) -> InvocationError:
    error = error_object_from_exception(exc)
    return InvocationError(f"{error.type}: {error.message}", error_type=error.type or "Error")


class InProcessInvoker:
    """Runs an async handler in the service's process.

    ``handler`` is a trio-durable handler (it has ``invoke(event, context,
    client=...)``) or any ``async def handler(event, context)`` that speaks the
    protocol through ``context.durable_client``. A trio-durable handler gets
    ``InvocationRequest.paged_event()`` and reads the whole state through its
    client (no wire conversion); any other gets the full event.

    The handler runs in the service's own Trio loop, unless ``loop`` (an asyncio
    loop of another thread) is given: then it runs there. A handler whose
    ``backend`` is ``"asyncio"`` (``backend`` overrides the handler's own)
    otherwise runs on a fresh asyncio loop in a worker thread. Either way its
    client hops to the service's thread.
    """

    __slots__ = ("_asyncio", "_handler", "_loop")

    def __init__(
        self,
        handler: Any,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        backend: str | None = None,
    ) -> None:
        self._handler = handler
        self._loop = loop
        self._asyncio = (backend or getattr(handler, "backend", "trio")) == "asyncio"

    async def invoke(self, request: InvocationRequest, service: ServiceAPI) -> dict[str, Any]:
        elsewhere = self._loop is not None or self._asyncio
        token = trio.lowlevel.current_trio_token() if elsewhere else None
        client = LocalServiceClient(service, trio_token=token)
        context = _context(request, client, service)
        invoke = getattr(self._handler, "invoke", None)
        call: Callable[[], Awaitable[Any]]
        if invoke is not None:  # trio-durable's own handler: it pages through the client
            call = functools.partial(invoke, request.paged_event(), context, client=client)
        else:
            call = functools.partial(self._handler, request.event, context)
        try:
            if self._loop is not None:
                with virtual_time_held():
                    answer = await await_on_asyncio(self._loop, call())
            elif elsewhere:
                with virtual_time_held():
                    answer = await run_on_new_asyncio_loop(call)
            else:
                answer = await call()
        except Exception as exc:
            raise _raised(exc) from exc
        if not isinstance(answer, dict):
            raise InvocationError(
                f"the handler answered {type(answer).__name__}, not a dict",
                error_type="Runtime.InvalidResponse",
            )
        return answer


class ThreadInvoker:
    """Runs a plain sync ``handler(event, context)`` in a worker thread.

    The handler reaches the service through ``context.durable_client``, which hops
    back to the service's Trio thread. A cancelled invocation (execution stopped
    or timed out) abandons the thread; its later checkpoints are refused.
    """

    __slots__ = ("_handler", "_limiter")

    def __init__(
        self,
        handler: Callable[[dict[str, Any], LocalLambdaContext], Any],
        *,
        limiter: trio.CapacityLimiter | None = None,
    ) -> None:
        self._handler = handler
        self._limiter = limiter

    async def invoke(self, request: InvocationRequest, service: ServiceAPI) -> dict[str, Any]:
        client = LocalServiceClient(service, trio_token=trio.lowlevel.current_trio_token())
        context = _context(request, client, service)
        try:
            answer = await trio.to_thread.run_sync(
                self._handler,
                request.event,
                context,
                abandon_on_cancel=True,
                limiter=self._limiter,
            )
        except Exception as exc:
            raise _raised(exc) from exc
        if not isinstance(answer, dict):
            raise InvocationError(
                f"the handler answered {type(answer).__name__}, not a dict",
                error_type="Runtime.InvalidResponse",
            )
        return answer
