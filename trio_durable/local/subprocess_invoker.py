"""``SubprocessInvoker``: runs a Lambda handler in worker processes, isolated from the service.

Each worker is ``python -m trio_durable.local._subprocess_worker TARGET``: it loads
the handler once and then serves one invocation at a time, so the import cost is
paid per worker, not per invocation. The handler talks to the service over HTTP
(the worker's environment has ``AWS_ENDPOINT_URL_LAMBDA`` and dummy credentials),
exactly as it would on Lambda.

Workers start on demand (``check_targets`` loads every target in one
process, to report a handler that cannot load without starting a worker per
function) and stop when idle too long.

A worker serves one tenant only (the ``tenant_id`` of the invocation it started
for; None for functions without tenant isolation), so tenants never share a
process, as Lambda's tenant isolation promises for execution environments.

When a worker dies mid-invocation (``os._exit``, a segfault, an OOM kill) the
invocation raises ``InvocationError`` (``Runtime.ExitError``) and the worker is
replaced on the next invocation; so does a handler that raises. Workers exit
by themselves when their stdin closes, so they never outlive the service.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import orjson
import trio

from trio_durable.errors import ValidationError
from trio_durable.local.logbook import LogEntry
from trio_durable.local.protocols import InvocationError, InvocationRequest, ServiceAPI
from trio_durable.wire import error_from_wire

_HEADER = struct.Struct(">I")
_MAX_ANSWER_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SubprocessInvokerStatistics:
    workers_idle: int
    workers_busy: int
    invocations_waiting: int
    """Invocations waiting for a worker (all ``max_workers`` are busy)."""
    invocations_total: int
    crashes_total: int
    workers_started_total: int
    workers_stopped_idle_total: int


class _Worker:
    __slots__ = ("process", "stdin", "stdout", "tenant_id")

    def __init__(self, process: trio.Process, tenant_id: str | None = None) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.tenant_id = tenant_id
        self.stdin = process.stdin
        self.stdout = process.stdout

    async def kill(self) -> None:
        with trio.CancelScope(shield=True):
            if self.process.returncode is None:
                self.process.kill()
            await self.process.wait()
            await self.stdin.aclose()
            await self.stdout.aclose()


DEFAULT_MAX_WORKERS = 4
"""Worker processes one ``SubprocessInvoker`` runs at most, unless told otherwise."""
DEFAULT_IDLE_TIMEOUT_SECONDS = 300.0
"""How long an idle worker waits for its next invocation before it is stopped."""
LOAD_TIMEOUT_SECONDS = 120.0
"""How long a new worker may take to load its handler (Lambda's init phase)."""


class SubprocessInvoker:
    """An ``Invoker`` running ``target`` (``module:function`` or ``file.py:function``)
    in up to ``max_workers`` worker processes that reach the service at ``endpoint``.

    Workers start when an invocation needs one (none is idle), and stop after
    ``idle_timeout`` seconds without one. Waiting for a free or a new worker does
    not count against the Lambda timeout: the timeout starts when the handler does
    (loading the handler in a new worker may take up to ``LOAD_TIMEOUT_SECONDS``,
    then the invocation fails with ``Runtime.InitError``). Each worker serves
    one tenant: an invocation takes an idle worker of its own tenant or a new
    one, stopping the longest idle worker of another tenant when ``max_workers``
    are running. ``env`` adds to (and overrides) the environment the workers inherit. Use it as
    an async context manager, or call ``aclose`` to stop the idle workers. Every
    invocation replays (warm executions: ``InProcessInvoker(warm=True)``).
    """

    def __init__(
        self,
        target: str,
        *,
        endpoint: str,
        region: str = "us-east-1",
        max_workers: int = DEFAULT_MAX_WORKERS,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT_SECONDS,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValidationError(f"max_workers must be at least 1, got {max_workers!r}")
        if not idle_timeout > 0:
            raise ValidationError(f"idle_timeout must be more than 0, got {idle_timeout!r}")
        self.target = target
        self._env = worker_env(endpoint, region, env)
        self._limiter = trio.CapacityLimiter(max_workers)
        self._max_workers = max_workers
        self._idle_timeout = idle_timeout
        self._idle: list[tuple[_Worker, float]] = []  # with the time each stops; oldest first
        self._reaping = False
        self._busy = 0
        self._invocations = 0
        self._crashes = 0
        self._started = 0
        self._stopped_idle = 0

    async def invoke(self, request: InvocationRequest, service: ServiceAPI) -> dict[str, Any]:
        """Run one invocation in a worker; raises ``InvocationError`` if it crashed."""
        timeout = service.invocation_timeout(request.function_name)
        with service.untimed(request):
            await self._limiter.acquire()
            try:
                worker = await self._worker(request.tenant_id)
            except BaseException:
                self._limiter.release()
                raise
        try:
            self._busy += 1
            self._invocations += 1
            try:
                reply = await self._exchange(worker, request, timeout_seconds=timeout)
            except BaseException:
                await worker.kill()  # cancelled or crashed mid-invocation: never reuse it
                raise
            finally:
                self._busy -= 1
            self._park(worker)
        finally:
            self._limiter.release()
        for entry in reply.get("Logs") or ():
            service.logs.add(LogEntry(**entry))
        raised = reply.get("Raised")
        if raised is not None:
            error = error_from_wire(raised)
            assert error is not None
            raise InvocationError(error.message or "", error_type=error.type or "Runtime.Error")
        answer = reply.get("Answer")
        if not isinstance(answer, dict):
            raise InvocationError(
                f"handler returned {type(answer).__name__}, not a durable execution answer",
                error_type="Runtime.InvalidResponse",
            )
        return answer

    async def start(self) -> None:
        """Start one worker now, so that a handler that cannot be loaded is reported
        here (``ValidationError``) rather than by the first invocation."""
        async with self._limiter:
            try:
                self._park(await self._spawn())
            except InvocationError as exc:
                raise ValidationError(exc.message) from None

    async def _worker(self, tenant_id: str | None) -> _Worker:
        """An idle worker of ``tenant_id`` (the one that ran last), or a new one."""
        for index in range(len(self._idle) - 1, -1, -1):
            if self._idle[index][0].tenant_id == tenant_id:
                return self._idle.pop(index)[0]
        # Every invocation holding a limiter token (this one too) has or gets a
        # worker: make room among the idle ones of other tenants.
        while self._idle and self._limiter.borrowed_tokens + len(self._idle) > self._max_workers:
            worker, _ = self._idle.pop(0)
            await worker.kill()
        with trio.move_on_after(LOAD_TIMEOUT_SECONDS) as loading:
            return await self._spawn(tenant_id)
        assert loading.cancelled_caught
        raise InvocationError(
            f"the worker for {self.target!r} did not load its handler within"
            f" {LOAD_TIMEOUT_SECONDS:g} seconds",
            error_type="Runtime.InitError",
        )

    def _park(self, worker: _Worker) -> None:
        """Keep ``worker`` for the next invocation, until its idle time runs out."""
        self._idle.append((worker, trio.current_time() + self._idle_timeout))
        if not self._reaping:
            self._reaping = True
            trio.lowlevel.spawn_system_task(self._stop_idle_workers)

    async def _stop_idle_workers(self) -> None:
        """While any worker is idle: stop each whose idle time ran out."""
        try:
            while self._idle:
                await trio.sleep_until(self._idle[0][1])
                now = trio.current_time()
                while self._idle and self._idle[0][1] <= now:
                    worker, _ = self._idle.pop(0)
                    self._stopped_idle += 1
                    await worker.kill()
        finally:
            self._reaping = False

    async def _spawn(self, tenant_id: str | None = None) -> _Worker:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "trio_durable.local._subprocess_worker", self.target],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self._env,
        )
        self._started += 1
        worker = _Worker(process, tenant_id)
        try:
            hello = await _receive_frame(worker.stdout)
        except BaseException:
            await worker.kill()
            raise
        if hello is None or "LoadError" in hello:
            await worker.kill()
            if hello is None:
                raise InvocationError(
                    f"worker for {self.target!r} exited while loading it:"
                    f" {_exit_message(worker.process.returncode)}"
                )
            raise InvocationError(hello["LoadError"], error_type="Runtime.ImportModuleError")
        return worker

    async def _exchange(
        self, worker: _Worker, request: InvocationRequest, *, timeout_seconds: float
    ) -> dict[str, Any]:
        frame = orjson.dumps(
            {
                "RequestId": request.request_id,
                "FunctionName": request.function_name,
                "TimeoutSeconds": timeout_seconds,
                "TenantId": request.tenant_id,
                "TraceHeader": request.trace_header,
                "Event": request.event,
            }
        )
        # A worker that is gone makes the read below find EOF and report the exit.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await worker.stdin.send_all(_HEADER.pack(len(frame)) + frame)
        reply = await _receive_frame(worker.stdout)
        if reply is None:
            self._crashes += 1
            await worker.kill()
            raise InvocationError(_exit_message(worker.process.returncode))
        return reply

    def statistics(self) -> SubprocessInvokerStatistics:
        return SubprocessInvokerStatistics(
            workers_idle=len(self._idle),
            workers_busy=self._busy,
            invocations_waiting=self._limiter.statistics().tasks_waiting,
            invocations_total=self._invocations,
            crashes_total=self._crashes,
            workers_started_total=self._started,
            workers_stopped_idle_total=self._stopped_idle,
        )

    async def aclose(self) -> None:
        """Stop the idle workers (busy ones are stopped by cancelling their invocation)."""
        idle, self._idle = self._idle, []
        for worker, _ in idle:
            await worker.kill()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def worker_env(endpoint: str, region: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AWS_ACCESS_KEY_ID", "local")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    env.setdefault("AWS_REGION", region)
    env.setdefault("AWS_DEFAULT_REGION", region)
    env["AWS_ENDPOINT_URL_LAMBDA"] = endpoint
    env.update(extra or {})
    return env


async def _receive_frame(stream: trio.abc.ReceiveStream) -> dict[str, Any] | None:
    """One length-prefixed JSON frame; None at end of stream."""
    header = await _receive_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > _MAX_ANSWER_BYTES:
        raise InvocationError(
            f"handler answer of {size} bytes is too large", error_type="Runtime.Error"
        )
    body = await _receive_exactly(stream, size)
    if body is None:
        return None
    frame: dict[str, Any] = orjson.loads(body)
    return frame


async def _receive_exactly(stream: trio.abc.ReceiveStream, size: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < size:
        chunk = await stream.receive_some(min(size - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _exit_message(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        return f"Runtime exited with error: signal {signal.Signals(-returncode).name}"
    return f"Runtime exited with error: exit status {returncode}"


async def check_targets(targets: Sequence[str], *, env: Mapping[str, str]) -> dict[str, str]:
    """Load every target in one worker process: ``{target: why it cannot load}``
    for those that cannot (empty when all load)."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "trio_durable.local._subprocess_worker", "--check", *targets],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    worker = _Worker(process)
    try:
        report = await _receive_frame(worker.stdout)
    finally:
        await worker.kill()
    if report is None:
        return {
            target: f"exited while loading: {_exit_message(process.returncode)}"
            for target in targets
        }
    errors: dict[str, str] = report["LoadErrors"]
    return errors
