"""How the local service calls a durable function: the invoker that runs handlers
on the service's own loop and the one that runs each invocation in a thread (and
loop) of its own (the ``Invoker`` protocol is in ``local/protocols.py``).

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
import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self

import outcome
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
from trio_durable.local.workflow_cache import (
    DEFAULT_WARM_LIMIT,
    WorkflowCache,
    WorkflowCacheStatistics,
)
from trio_durable.runtime.entrypoint import DurableHandler
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
    "ThreadInvokerStatistics",
    "WorkflowCacheStatistics",
    "is_async_handler",
]

_log = logging.getLogger("trio_durable.local")


@dataclass(frozen=True, slots=True)
class LocalLambdaContext:
    """The Lambda context object a locally invoked handler receives.

    ``durable_client`` is the ``ServiceClient`` that reaches the local service
    from where the handler runs; ``tenant_id`` is the tenant the execution was
    invoked for (Lambda's ``context.tenant_id``), None without tenant isolation;
    ``xray_trace_id`` is the invocation's X-Ray header (``local/xray.py``; on
    Lambda, the ``_X_AMZN_TRACE_ID`` variable: in-process invokers never set it,
    so executions running side by side cannot see each other's).
    """

    function_name: str
    aws_request_id: str
    invoked_function_arn: str
    durable_client: LocalServiceClient
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    log_group_name: str = ""
    log_stream_name: str = ""
    tenant_id: str | None = None
    xray_trace_id: str | None = None
    deadline_epoch: float = field(
        default_factory=lambda: time.time() + MAX_INVOCATION_TIMEOUT_SECONDS
    )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_epoch - time.time()) * 1000))


def _context(
    request: InvocationRequest, client: LocalServiceClient, *, service: ServiceAPI
) -> LocalLambdaContext:
    function_arn = request.execution_arn.split("/durable-execution/", 1)[0]
    return LocalLambdaContext(
        function_name=request.function_name,
        aws_request_id=request.request_id,
        invoked_function_arn=function_arn,
        durable_client=client,
        log_group_name=f"/aws/lambda/{request.function_name}",
        tenant_id=request.tenant_id,
        xray_trace_id=request.trace_header,
        deadline_epoch=time.time() + service.invocation_timeout(request.function_name),
    )


def _raised(exc: BaseException) -> InvocationError:
    """What an exception out of a handler is recorded as: a crashed Lambda's error.
    A ``SystemExit`` is an exited runtime; a group of one is its one exception."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, SystemExit):
        return InvocationError(f"Runtime exited with error: sys.exit({exc.code!r})")
    error = error_object_from_exception(exc)
    return InvocationError(f"{error.type}: {error.message}", error_type=error.type or "Error")


def _checked_answer(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise InvocationError(
            f"the handler answered {type(answer).__name__}, not a dict",
            error_type="Runtime.InvalidResponse",
        )
    return answer


class InProcessInvoker:
    """Runs an async handler in the service's process, by default on the
    service's own Trio loop.

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

    On the service's loop it is the fastest invoker and the one
    ``DurableTestRunner`` uses (virtual time covers the handler too), but nothing
    stands between the handler and the service: a handler that blocks blocks the
    loop, and a cancelled invocation ends only when the handler unwinds (after a
    running sync step body returns).
    ``trio-durable serve`` runs handlers with ``ThreadInvoker`` instead. An
    exception out of the handler, ``SystemExit`` and other ``BaseException``
    included, crashes only the invocation; ``KeyboardInterrupt`` is let through
    (on this loop it may be the user's Ctrl-C).

    ``warm=True`` (a ``@durable_execution`` handler on Trio, no plugins, no
    ``loop``) keeps each execution's workflow parked between its invocations
    instead of replaying it (``local/workflow_cache.py``), at most ``warm_limit``
    executions at once; the invoker must then be open (``async with invoker:``),
    which owns the held workflows and drops them at its end. Off by default:
    replaying is how local runs catch a workflow that is not deterministic.
    """

    __slots__ = ("_asyncio", "_cache", "_handler", "_loop", "_opened")

    def __init__(
        self,
        handler: Any,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        backend: str | None = None,
        warm: bool = False,
        warm_limit: int = DEFAULT_WARM_LIMIT,
    ) -> None:
        self._handler = handler
        self._loop = loop
        self._asyncio = (backend or getattr(handler, "backend", "trio")) == "asyncio"
        self._cache: WorkflowCache | None = None
        self._opened: contextlib.AsyncExitStack | None = None
        if warm:
            if not isinstance(handler, DurableHandler):
                raise ValueError("warm=True needs a @durable_execution handler")
            if loop is not None or self._asyncio:
                raise ValueError(
                    "warm=True runs on the service's Trio loop: it cannot be combined "
                    "with loop= or the asyncio backend"
                )
            refusal = handler.warm_refusal()
            if refusal is not None:
                raise ValueError(refusal)
            self._cache = WorkflowCache(handler, limit=warm_limit)

    async def __aenter__(self) -> Self:
        """Open the invoker: with ``warm=True`` its held workflows live until the exit."""
        if self._cache is not None:
            stack = contextlib.AsyncExitStack()
            await stack.enter_async_context(self._cache.open())
            self._opened = stack
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        stack, self._opened = self._opened, None
        if stack is not None:
            await stack.aclose()

    def statistics(self) -> WorkflowCacheStatistics | None:
        """What warm mode did (None without ``warm=True``)."""
        return None if self._cache is None else self._cache.statistics()

    async def invoke(self, request: InvocationRequest, service: ServiceAPI) -> dict[str, Any]:
        if self._cache is not None:
            cache = self._cache
            return await _guarded(
                functools.partial(
                    cache.invoke,
                    request,
                    service,
                    functools.partial(_context, request, service=service),
                )
            )
        elsewhere = self._loop is not None or self._asyncio
        token = trio.lowlevel.current_trio_token() if elsewhere else None
        client = LocalServiceClient(service, trio_token=token)
        context = _context(request, client, service=service)
        event = _event_for(self._handler, request)
        call = functools.partial(_call_handler, self._handler, event, context, client)
        try:
            if self._loop is not None:
                loop = self._loop

                async def on_loop() -> Any:
                    with virtual_time_held():
                        return await await_on_asyncio(loop, call())

                return await _guarded(on_loop)
            if elsewhere:

                async def on_new_loop() -> Any:
                    with virtual_time_held():
                        return await run_on_new_asyncio_loop(call)

                return await _guarded(on_new_loop)
            return await _guarded(call)
        finally:
            client.close()


async def _guarded(call: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    """``call()``'s answer, checked; whatever it raises is a crashed invocation's
    ``InvocationError``, but for a cancellation or a ``KeyboardInterrupt``."""
    try:
        answer = await call()
    except (trio.Cancelled, KeyboardInterrupt):
        raise
    except BaseException as exc:
        if isinstance(exc, BaseExceptionGroup) and exc.subgroup(_passes_through) is not None:
            raise
        raise _raised(exc) from exc
    return _checked_answer(answer)


def _passes_through(exc: BaseException) -> bool:
    return isinstance(exc, trio.Cancelled | KeyboardInterrupt)


def _event_for(handler: Any, request: InvocationRequest) -> dict[str, Any]:
    """The event ``handler`` gets: a trio-durable handler (it has ``invoke``) pages
    through its client; any other gets the first page in the event. Built where the
    engine lives: the first page reads the engine's state (``LazyStatePage``)."""
    if getattr(handler, "invoke", None) is not None:
        return request.paged_event()
    return request.event


async def _call_handler(
    handler: Any, event: dict[str, Any], context: LocalLambdaContext, client: Any
) -> Any:
    invoke = getattr(handler, "invoke", None)
    if invoke is not None:  # trio-durable's own handler: it pages through the client
        return await invoke(event, context, client=client)
    return await handler(event, context)


DEFAULT_HANDLER_THREADS = 64
"""How many invocations ``ThreadInvoker`` runs at once unless given a limiter."""


class ThreadInvoker:
    """Runs each invocation in a thread of its own: an async handler (such as a
    trio-durable one) on a fresh Trio loop there, a plain sync ``handler(event,
    context)`` directly. What ``trio-durable serve --invoker inprocess`` uses.

    The handler reaches the service through ``context.durable_client``, which hops
    to the service's loop and back. So a handler that blocks its thread (a
    ``time.sleep`` in async code, a sync step that never returns) never blocks the
    service, and a cancelled invocation (timed out, stopped, paused at a
    checkpoint) ends at once: the thread is abandoned, its loop is asked to
    cancel, and its later calls are refused. Any exception out of the handler,
    ``SystemExit``, ``KeyboardInterrupt`` and other ``BaseException`` included,
    crashes only its invocation. ``os._exit`` still ends the whole process:
    ``SubprocessInvoker`` isolates that.

    ``limiter`` bounds the invocations running at once (shared between invokers
    if given; default ``DEFAULT_HANDLER_THREADS`` per invoker). Waiting for it does
    not count against the Lambda timeout; an abandoned thread holds its place
    until it really ends. Every invocation replays (warm executions need the
    service's loop: ``InProcessInvoker(warm=True)``).
    """

    __slots__ = ("_abandoned", "_handler", "_invocations", "_is_async", "_limiter", "_running")

    def __init__(self, handler: Any, *, limiter: trio.CapacityLimiter | None = None) -> None:
        self._handler = handler
        self._is_async = is_async_handler(handler)
        self._limiter = limiter or trio.CapacityLimiter(DEFAULT_HANDLER_THREADS)
        self._running = 0
        self._abandoned = 0
        self._invocations = 0

    async def invoke(self, request: InvocationRequest, service: ServiceAPI) -> dict[str, Any]:
        place = object()
        with service.untimed(request):
            await self._limiter.acquire_on_behalf_of(place)
        self._invocations += 1
        client = LocalServiceClient(service, trio_token=trio.lowlevel.current_trio_token())
        context = _context(request, client, service=service)
        call = _ThreadCall(self._handler, self._is_async, request, context)
        try:
            answer = await self._in_thread(call, place, request)
        finally:
            client.close()
        if isinstance(answer, _Raised):
            raise _raised(answer.exception) from answer.exception
        return _checked_answer(answer)

    async def _in_thread(self, call: _ThreadCall, place: object, request: InvocationRequest) -> Any:
        service_token = trio.lowlevel.current_trio_token()
        task = trio.lowlevel.current_task()
        waiting = True

        def ended(result: outcome.Outcome[Any]) -> None:  # on the service's loop
            self._running -= 1
            self._limiter.release_on_behalf_of(place)
            if waiting:
                trio.lowlevel.reschedule(task, result)
            else:
                self._abandoned -= 1
                _log.info(
                    "the abandoned handler thread of %s (%s) has ended",
                    request.function_name,
                    request.execution_arn,
                )

        def deliver(result: outcome.Outcome[Any]) -> None:  # in the handler's thread
            with contextlib.suppress(trio.RunFinishedError):
                service_token.run_sync_soon(ended, result)

        def abort(_: Any) -> trio.lowlevel.Abort:
            nonlocal waiting
            waiting = False
            self._abandoned += 1
            call.cancel()
            _log.warning(
                "invocation %s of %s (%s) was cancelled while its handler ran; its thread"
                " is abandoned and its later calls to the service are refused",
                request.request_id,
                request.function_name,
                request.execution_arn,
            )
            return trio.lowlevel.Abort.SUCCEEDED

        self._running += 1
        trio.lowlevel.start_thread_soon(
            call.run, deliver, name=f"trio-durable handler {request.function_name}"
        )
        with virtual_time_held():
            return await trio.lowlevel.wait_task_rescheduled(abort)

    def statistics(self) -> ThreadInvokerStatistics:
        return ThreadInvokerStatistics(
            threads_running=self._running,
            threads_abandoned=self._abandoned,
            threads_waiting=self._limiter.statistics().tasks_waiting,
            invocations_total=self._invocations,
        )


@dataclass(frozen=True, slots=True)
class ThreadInvokerStatistics:
    threads_running: int
    """Handler threads that have not ended, abandoned ones included."""
    threads_abandoned: int
    """Threads still running a handler whose invocation was cancelled."""
    threads_waiting: int
    """Invocations waiting for a free thread."""
    invocations_total: int


@dataclass(frozen=True, slots=True)
class _Raised:
    exception: BaseException


class _ThreadCall:
    """One invocation's handler, run by ``run`` in its thread; ``cancel`` (from the
    service's thread) asks its own Trio loop, if any, to cancel the handler."""

    __slots__ = ("_cancelled", "_context", "_event", "_handler", "_is_async", "_loop", "_scope")

    def __init__(
        self,
        handler: Any,
        is_async: bool,
        request: InvocationRequest,
        context: LocalLambdaContext,
    ) -> None:
        self._handler = handler
        self._is_async = is_async
        self._event = _event_for(handler, request)  # here, on the service's loop
        self._context = context
        self._cancelled = False
        self._loop: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None

    def run(self) -> Any:
        """The handler's answer, or ``_Raised`` with whatever it raised (even a
        ``KeyboardInterrupt``: in this thread it cannot be the user's Ctrl-C)."""
        try:
            if self._is_async and getattr(self._handler, "backend", "trio") == "asyncio":
                return asyncio.run(self._call())
            if self._is_async:
                return trio.run(self._main)
            return self._handler(self._event, self._context)
        except BaseException as exc:
            return _Raised(exc)

    async def _main(self) -> Any:
        with trio.CancelScope() as scope:
            self._scope = scope
            self._loop = trio.lowlevel.current_trio_token()
            if self._cancelled:  # cancel() ran before the loop was known
                scope.cancel()
            return await self._call()
        return None  # cancelled: nobody waits for this answer any more

    async def _call(self) -> Any:
        return await _call_handler(
            self._handler, self._event, self._context, self._context.durable_client
        )

    def cancel(self) -> None:
        self._cancelled = True
        loop, scope = self._loop, self._scope
        if loop is not None and scope is not None:
            with contextlib.suppress(trio.RunFinishedError):
                loop.run_sync_soon(scope.cancel)


def is_async_handler(handler: Any) -> bool:
    """A trio-durable handler (its ``invoke`` is async) or an ``async def`` handler."""
    return inspect.iscoroutinefunction(getattr(handler, "invoke", None)) or (
        inspect.iscoroutinefunction(handler)
    )
