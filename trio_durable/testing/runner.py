"""``DurableTestRunner``: run a workflow to the end in a test, on the local service.

The runner starts an in-memory ``LocalService`` and registers the handler with
the in-process invoker. Callbacks are completed through the service's own API,
as an external system would.

Under Trio the service runs in the runner's own nursery, on the test's clock:
run the test on ``trio.testing.MockClock(autojump_threshold=0)`` and every
wait, retry delay and callback timeout is skipped. Under asyncio the service
runs on a Trio loop of its own in a thread (``local/asyncio_bridge.py``) and the
handler on the test's asyncio loop; ``virtual_time=True`` puts that Trio loop on
a MockClock, which moves only while no invocation runs (so a step's own
``asyncio.sleep`` takes real time, and a durable wait takes none).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, overload

import trio
import trio.testing

from trio_durable.errors import ValidationError
from trio_durable.local.asyncio_bridge import ServiceLoop
from trio_durable.local.engine import InvocationRequest
from trio_durable.local.history import Event
from trio_durable.local.invokers import MAX_INVOCATION_TIMEOUT_SECONDS, InProcessInvoker, Invoker
from trio_durable.local.protocols import ServiceAPI
from trio_durable.local.service import LocalService
from trio_durable.local.store import Store
from trio_durable.payloads import as_type
from trio_durable.runtime.primitives import checkpoint, under_trio
from trio_durable.serialization import DEFAULT_SERIALIZER, Serializer
from trio_durable.wire import (
    ErrorObject,
    Operation,
    OperationStatus,
    OperationType,
    error_from_wire,
)

__all__ = ["CallbackInfo", "DurableTestRunner", "ExecutionResult", "RunningExecution"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class CallbackInfo:
    """A started callback: what an external system needs to complete it."""

    callback_id: str
    operation_id: str
    name: str | None


_NAMES_SHOWN = 20
"""How many operation names a lookup that found nothing lists."""


@dataclass(frozen=True, slots=True)
class ExecutionResult(Generic[T]):
    """A finished execution: its status, deserialized result (a ``T``: the
    ``result_type`` asked for; ``None`` when it did not succeed) or error, and records.

    ``operations`` are in the order they were created; ``operation`` (and the
    typed ``step``, ``wait``, ``callback``, ``invoke``), ``children`` and
    ``result_of`` find them by name, as a test asserts on them.
    """

    arn: str
    status: str
    value: T
    error: ErrorObject | None
    operations: tuple[Operation, ...]
    events: tuple[Event, ...]
    serializer: Serializer = field(default=DEFAULT_SERIALIZER, repr=False, compare=False)

    def operation(
        self,
        name: str,
        *,
        parent: str | Operation | None = None,
        type: OperationType | None = None,
    ) -> Operation:
        """The one operation called ``name`` (of ``type``, if given); with ``parent``
        (a name or an operation), only among that operation's children.

        ``KeyError`` lists the names there are when none matches; ``LookupError``
        lists the candidates when several do (map items and parallel branches often
        share step names: pass the item as ``parent``)."""
        candidates = self.operations if parent is None else self.children(parent)
        matches = [op for op in candidates if op.name == name and (type is None or op.type is type)]
        if len(matches) == 1:
            return matches[0]
        where = "" if parent is None else f" inside {_label(parent)}"
        what = "operation" if type is None else f"{type.value} operation"
        if matches:
            paths = sorted(self._path(op) for op in matches)
            raise LookupError(
                f"{len(matches)} {what}s are named {name!r}{where}, so the name is "
                f"ambiguous: {', '.join(paths)}; pass parent= (a name or an operation) "
                "to choose one"
            )
        known = sorted(
            {op.name for op in candidates if op.name is not None and type in (None, op.type)}
        )
        shown = ", ".join(map(repr, known[:_NAMES_SHOWN])) + (
            ", ..." if known[_NAMES_SHOWN:] else ""
        )
        raise KeyError(f"no {what} named {name!r}{where} (named ones: {shown})")

    def step(self, name: str, *, parent: str | Operation | None = None) -> Operation:
        """The one step (or wait_for_condition) called ``name``; see ``operation``."""
        return self.operation(name, parent=parent, type=OperationType.STEP)

    def wait(self, name: str, *, parent: str | Operation | None = None) -> Operation:
        """The one wait called ``name``; see ``operation``."""
        return self.operation(name, parent=parent, type=OperationType.WAIT)

    def callback(self, name: str, *, parent: str | Operation | None = None) -> Operation:
        """The one callback called ``name``; see ``operation``."""
        return self.operation(name, parent=parent, type=OperationType.CALLBACK)

    def invoke(self, name: str, *, parent: str | Operation | None = None) -> Operation:
        """The one chained invoke called ``name``; see ``operation``."""
        return self.operation(name, parent=parent, type=OperationType.CHAINED_INVOKE)

    def _path(self, op: Operation) -> str:
        """``'items' > 'map-item-2' > 'thumbnail'``: where an operation sits."""
        by_id = {o.id: o for o in self.operations}
        names = [repr(op.name or op.id)]
        parent = by_id.get(op.parent_id or "")
        while parent is not None:
            names.append(repr(parent.name or parent.id))
            parent = by_id.get(parent.parent_id or "")
        return " > ".join(reversed(names))

    def children(self, parent: str | Operation) -> tuple[Operation, ...]:
        """The operations directly inside ``parent`` (a child context, a map or
        parallel, one of their branches, or a wait_for_callback), in the order they
        were created (concurrent branches in the order they ran, not by index)."""
        op = parent if isinstance(parent, Operation) else self.operation(parent)
        return tuple(child for child in self.operations if child.parent_id == op.id)

    @overload
    def result_of(self, name: str, *, parent: str | Operation | None = None) -> Any: ...

    @overload
    def result_of(
        self, name: str, *, parent: str | Operation | None = None, result_type: type[R]
    ) -> R: ...

    def result_of(
        self, name: str, *, parent: str | Operation | None = None, result_type: Any = Any
    ) -> Any:
        """The deserialized result of the SUCCEEDED operation called ``name`` (with
        the runner's serializer; a ``result_type`` when one is given); ``ValueError``
        if it did not succeed. An ambiguous name raises ``LookupError`` listing the
        candidates (see ``operation``)."""
        op = self.operation(name, parent=parent)
        if op.status is not OperationStatus.SUCCEEDED:
            error = f": {op.error.type}: {op.error.message}" if op.error else ""
            raise ValueError(f"operation {name!r} is {op.status.value}{error}")
        return as_type(self.serializer.deserialize(op.result), result_type, what=repr(name))

    @property
    def invocations(self) -> int:
        """How many times the handler was invoked."""
        return sum(1 for e in self.events if e["EventType"] == "InvocationCompleted")


def _label(op: str | Operation) -> str:
    return repr(op) if isinstance(op, str) else f"{op.type.value} {op.name or op.id!r}"


_INVOCATION_AUTOJUMP_SECONDS = 1.0
"""While an invocation runs, a MockClock jumps only after this much real idle time.

Trio counts a task that waits for real I/O (a socket, a subprocess) as blocked,
so with ``autojump_threshold=0`` virtual time would leap ahead while a step
awaits a real response (and a timeout could fire mid-step); sync step bodies in
threads hold the clock themselves (``runtime/threads.py``). Between invocations
the clock jumps at once again, which is where waits and retry delays live.
"""


class _SignallingInvoker:
    """Wraps an invoker: holds a MockClock back while invocations run, and wakes
    the runner whenever one ends."""

    __slots__ = ("_adjust_clock", "_in_flight", "_inner", "_runner", "_saved_threshold")

    def __init__(self, inner: Invoker, runner: DurableTestRunner, *, adjust_clock: bool) -> None:
        self._inner = inner
        self._runner = runner
        self._adjust_clock = adjust_clock
        self._in_flight = 0
        self._saved_threshold = 0.0

    async def invoke(self, request: InvocationRequest, service: ServiceAPI) -> dict[str, Any]:
        clock = trio.lowlevel.current_clock()
        mock = clock if self._adjust_clock and isinstance(clock, trio.testing.MockClock) else None
        if mock is not None:
            if self._in_flight == 0:
                self._saved_threshold = mock.autojump_threshold
                mock.autojump_threshold = max(self._saved_threshold, _INVOCATION_AUTOJUMP_SECONDS)
            self._in_flight += 1
        try:
            return await self._inner.invoke(request, service)
        finally:
            if mock is not None:
                self._in_flight -= 1
                if self._in_flight == 0:
                    mock.autojump_threshold = self._saved_threshold
            self._runner._invocation_ended()


class RunningExecution:
    """An execution started by the runner."""

    def __init__(self, runner: DurableTestRunner, arn: str) -> None:
        self._runner = runner
        self.arn = arn

    def operations(self) -> tuple[Operation, ...]:
        """Every operation recorded so far, in the order they were created."""
        return self._runner._sync(partial(self._runner.service.engine.operations, self.arn))

    def events(self) -> tuple[Event, ...]:
        engine = self._runner.service.engine
        return self._runner._sync(lambda: tuple(engine.events(self.arn)))

    async def wait_for_callback(self, name: str | None = None) -> CallbackInfo:
        """The first open callback called ``name`` (or inside a context called
        ``name``, as ``wait_for_callback`` makes); any open one if ``name`` is None.

        Raises ``LookupError``, listing the callbacks there are, as soon as the
        execution ends or can go no further without a callback none of which is
        ``name`` (only callbacks pending, no invocation due). To let a pending
        callback time out first, advance virtual time (``await trio.sleep(s)``)
        before waiting."""
        while True:
            found = self._open_callback(name)
            if found is not None:
                return found
            if self._runner._sync(partial(self._runner.service.engine.is_closed, self.arn)):
                raise LookupError(
                    f"the execution ended without an open callback {name!r} "
                    f"(callbacks: {self._callbacks_text()})"
                )
            if name is not None and self._runner._sync(self._parked_on_callbacks):
                raise LookupError(
                    f"no open callback {name!r}: the execution is waiting only for "
                    f"callbacks, none of them {name!r} (callbacks: {self._callbacks_text()})"
                )
            await self._runner._wait(self._next_change)

    def _parked_on_callbacks(self) -> bool:
        """Whether nothing but a callback's completion (or timeout) can move the
        execution on: no invocation running or due, and every open operation a
        callback (or a context, which waits for its children). On the service's loop."""
        stats = self._runner.service.statistics()
        if stats.invocations_in_flight or stats.invocations_waiting:
            return False
        open_ops = [
            op
            for op in self._runner.service.engine.operations(self.arn)
            if op.status
            in (OperationStatus.STARTED, OperationStatus.PENDING, OperationStatus.READY)
            and op.type not in (OperationType.EXECUTION, OperationType.CONTEXT)
        ]
        return bool(open_ops) and all(op.type is OperationType.CALLBACK for op in open_ops)

    def _callbacks_text(self) -> str:
        """Every callback so far: its name (or its wait_for_callback's) and status."""
        ops = self.operations()
        names = {op.id: op.name for op in ops}
        shown = [
            f"{(op.name or names.get(op.parent_id or '') or op.id)!r} {op.status.value}"
            for op in ops
            if op.type is OperationType.CALLBACK
        ]
        return ", ".join(shown) or "none"

    @overload
    async def result(self) -> ExecutionResult[Any]: ...

    @overload
    async def result(self, *, result_type: type[R]) -> ExecutionResult[R]: ...

    async def result(self, *, result_type: Any = Any) -> ExecutionResult[Any]:
        """Wait for the execution to end and return its outcome (its value a
        ``result_type`` when one is given and the execution succeeded)."""
        summary = await self._runner._wait(
            partial(self._runner.service.wait_until_terminal, self.arn)
        )
        return ExecutionResult(
            arn=self.arn,
            status=summary["Status"],
            value=_value(self._runner.serializer, summary, result_type),
            error=error_from_wire(summary.get("Error")),
            operations=self.operations(),
            events=self.events(),
            serializer=self._runner.serializer,
        )

    async def _next_change(self) -> None:
        """Return when an invocation ends or the execution closes, whichever is first."""
        async with trio.open_nursery() as nursery:

            async def first(fn: Callable[[], Awaitable[object]]) -> None:
                await fn()
                nursery.cancel_scope.cancel()

            nursery.start_soon(first, self._runner._next_invocation_end)
            nursery.start_soon(first, partial(self._runner.service.wait_until_terminal, self.arn))

    def _open_callback(self, name: str | None) -> CallbackInfo | None:
        ops = self.operations()
        names = {op.id: op.name for op in ops}
        for op in ops:
            if op.type is not OperationType.CALLBACK or op.callback_id is None:
                continue
            if op.status is not OperationStatus.STARTED:
                continue
            if name is None or name in (op.name, names.get(op.parent_id or "")):
                return CallbackInfo(op.callback_id, op.id, op.name)
        return None


class DurableTestRunner:
    """Runs one durable handler on an embedded local service.

    Use as ``async with DurableTestRunner(handler) as runner:``; then
    ``await runner.run(input)`` for a workflow that needs nothing from outside, or
    ``runner.start(input)`` and the callback helpers for one that does.
    ``invocation_timeout_seconds`` is the function's Lambda timeout (see
    ``LocalService.register_function``). Under asyncio, ``virtual_time=True``
    skips durable waits, retry delays and timeouts (see the module doc); under
    Trio, virtual time is the test's clock, and ``virtual_time=True`` checks
    that it is a MockClock. ``warm=True`` (Trio only) runs the handler on a warm
    ``InProcessInvoker``: its workflow stays parked between invocations instead of
    replaying, so the test no longer checks that it is deterministic.
    """

    def __init__(
        self,
        handler: Any,
        *,
        function_name: str = "workflow",
        store: Store | None = None,
        serializer: Serializer = DEFAULT_SERIALIZER,
        invocation_timeout_seconds: float = MAX_INVOCATION_TIMEOUT_SECONDS,
        virtual_time: bool = False,
        warm: bool = False,
    ) -> None:
        self.function_name = function_name
        self.serializer = serializer
        self.service = LocalService(store=store)
        self._handler = handler
        self._invocation_timeout = invocation_timeout_seconds
        self._invoker = InProcessInvoker(handler, warm=warm)
        self._warm = warm
        self._register(self._invoker)
        self._virtual_time = virtual_time
        self._invocation_event = trio.Event()
        self._stack: Any = None
        self._service_loop: ServiceLoop | None = None  # the service's own loop, under asyncio

    def _register(self, invoker: Invoker, *, adjust_clock: bool = True) -> None:
        self.service.register_function(
            self.function_name,
            _SignallingInvoker(invoker, self, adjust_clock=adjust_clock),
            invocation_timeout_seconds=self._invocation_timeout,
        )

    async def __aenter__(self) -> Self:
        if under_trio():
            clock = trio.lowlevel.current_clock()
            if self._virtual_time and not isinstance(clock, trio.testing.MockClock):
                raise ValidationError(
                    "virtual_time=True under Trio needs the test to run on "
                    "trio.testing.MockClock(autojump_threshold=0) (pytest-trio's autojump_clock)"
                )
            self._stack = self._serve()
            await self._stack.__aenter__()
            return self
        if self._warm:
            raise ValidationError("DurableTestRunner(warm=True) runs on Trio only")
        loop = asyncio.get_running_loop()
        self._register(InProcessInvoker(self._handler, loop=loop), adjust_clock=False)
        self._service_loop = ServiceLoop(self.service.run, virtual_time=self._virtual_time)
        await self._service_loop.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._service_loop is not None:
            loop, self._service_loop = self._service_loop, None
            await loop.stop()
        else:
            await self._stack.__aexit__(exc_type, exc, tb)

    def _sync(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the service's loop (it is brief: it never waits)."""
        return fn() if self._service_loop is None else self._service_loop.call(fn)

    async def _wait(self, afn: Callable[[], Awaitable[T]]) -> T:
        """``await afn()`` on the service's loop."""
        if self._service_loop is None:
            return await afn()
        return await self._service_loop.wait(afn)

    @asynccontextmanager
    async def _serve(self) -> AsyncIterator[None]:
        async with self._invoker, trio.open_nursery() as nursery:
            await nursery.start(self.service.run)
            try:
                yield
            finally:
                nursery.cancel_scope.cancel()

    async def start(
        self, input: Any = None, *, name: str | None = None, timeout_seconds: int | None = None
    ) -> RunningExecution:
        """Start an execution with ``input`` (serialized with the runner's serializer)."""
        await checkpoint()
        started = self._sync(
            partial(
                self.service.start_execution,
                self.function_name,
                self.serializer.serialize(input),
                execution_name=name,
                timeout_seconds=timeout_seconds,
            )
        )
        return RunningExecution(self, started.arn)

    @overload
    async def run(
        self, input: Any = None, *, name: str | None = None, timeout_seconds: int | None = None
    ) -> ExecutionResult[Any]: ...

    @overload
    async def run(
        self,
        input: Any = None,
        *,
        name: str | None = None,
        timeout_seconds: int | None = None,
        result_type: type[R],
    ) -> ExecutionResult[R]: ...

    async def run(
        self,
        input: Any = None,
        *,
        name: str | None = None,
        timeout_seconds: int | None = None,
        result_type: Any = Any,
    ) -> ExecutionResult[Any]:
        """Start an execution and wait for its end (see ``RunningExecution.result``)."""
        execution = await self.start(input, name=name, timeout_seconds=timeout_seconds)
        return await execution.result(result_type=result_type)

    async def succeed_callback(self, callback: CallbackInfo | str, value: Any = None) -> None:
        """Complete a callback with ``value`` (serialized), as an external system would."""
        await checkpoint()
        payload = self.serializer.serialize(value)
        self._sync(
            partial(
                self.service.send_callback_success,
                _callback_id(callback),
                None if payload is None else payload.encode(),
            )
        )

    async def fail_callback(
        self,
        callback: CallbackInfo | str,
        *,
        error_type: str | None = None,
        message: str | None = None,
        data: str | None = None,
    ) -> None:
        """Fail a callback with an error, as an external system would."""
        await checkpoint()
        error = ErrorObject(message=message, type=error_type, data=data)
        self._sync(partial(self.service.send_callback_failure, _callback_id(callback), error))

    async def heartbeat_callback(self, callback: CallbackInfo | str) -> None:
        """Send a heartbeat for a callback."""
        await checkpoint()
        self._sync(partial(self.service.send_callback_heartbeat, _callback_id(callback)))

    def _invocation_ended(self) -> None:
        self._invocation_event.set()
        self._invocation_event = trio.Event()

    async def _next_invocation_end(self) -> None:
        await self._invocation_event.wait()


def _value(serializer: Serializer, summary: dict[str, Any], result_type: Any) -> Any:
    value = serializer.deserialize(summary.get("Result"))
    if summary["Status"] != "SUCCEEDED":
        return value
    return as_type(value, result_type, what="the execution's result")


def _callback_id(callback: CallbackInfo | str) -> str:
    if isinstance(callback, CallbackInfo):
        return callback.callback_id
    if not callback:
        raise ValidationError("callback id must not be empty")
    return callback
