"""``SubprocessInvoker``: runs a Lambda handler in worker processes, isolated from the service.

Each worker is ``python -m trio_durable.local._subprocess_worker TARGET``: it loads
the handler once and then serves one invocation at a time, so the import cost is
paid per worker, not per invocation. The handler talks to the service over HTTP
(the worker's environment has ``AWS_ENDPOINT_URL_LAMBDA`` and dummy credentials),
exactly as it would on Lambda.

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
from collections.abc import Mapping
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
    invocations_total: int
    crashes_total: int


class _Worker:
    __slots__ = ("process", "stdin", "stdout")

    def __init__(self, process: trio.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.stdin = process.stdin
        self.stdout = process.stdout

    async def kill(self) -> None:
        with trio.CancelScope(shield=True):
            if self.process.returncode is None:
                self.process.kill()
            await self.process.wait()
            await self.stdin.aclose()
            await self.stdout.aclose()


class SubprocessInvoker:
    """An ``Invoker`` running ``target`` (``module:function`` or ``file.py:function``)
    in up to ``max_workers`` worker processes that reach the service at ``endpoint``.

    ``env`` adds to (and overrides) the environment the workers inherit. Use it as
    an async context manager, or call ``aclose`` to stop the idle workers.
    """

    def __init__(
        self,
        target: str,
        *,
        endpoint: str,
        region: str = "us-east-1",
        max_workers: int = 4,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.target = target
        self._env = _worker_env(endpoint, region, env)
        self._limiter = trio.CapacityLimiter(max_workers)
        self._idle: list[_Worker] = []
        self._busy = 0
        self._invocations = 0
        self._crashes = 0

    async def invoke(self, request: InvocationRequest, service: ServiceAPI) -> dict[str, Any]:
        """Run one invocation in a worker; raises ``InvocationError`` if it crashed."""
        async with self._limiter:
            worker = self._idle.pop() if self._idle else await self._spawn()
            self._busy += 1
            self._invocations += 1
            try:
                timeout = service.invocation_timeout(request.function_name)
                reply = await self._exchange(worker, request, timeout_seconds=timeout)
            except BaseException:
                await worker.kill()  # cancelled or crashed mid-invocation: never reuse it
                raise
            finally:
                self._busy -= 1
            self._idle.append(worker)
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
                self._idle.append(await self._spawn())
            except InvocationError as exc:
                raise ValidationError(exc.message) from None

    async def _spawn(self) -> _Worker:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "trio_durable.local._subprocess_worker", self.target],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self._env,
        )
        worker = _Worker(process)
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
            invocations_total=self._invocations,
            crashes_total=self._crashes,
        )

    async def aclose(self) -> None:
        """Stop the idle workers (busy ones are stopped by cancelling their invocation)."""
        idle, self._idle = self._idle, []
        for worker in idle:
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


def _worker_env(endpoint: str, region: str, extra: Mapping[str, str] | None) -> dict[str, str]:
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
