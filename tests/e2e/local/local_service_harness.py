"""A real local service with its real HTTP API, served from a background thread, and
boto3 clients for it; plus ``ParkedInvoker``, which lets a test play the handler."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import boto3
import trio
from botocore.config import Config

from trio_durable.local.http import serve
from trio_durable.local.invokers import InvocationRequest, Invoker
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.local.store import Store

T = TypeVar("T")

WAIT = 60.0  # seconds a test waits for something that should happen soon (a hang guard)


def poll(what: str, check: Callable[[], T | None]) -> T:
    """``check()``'s first truthy answer, asked every 10 ms (up to WAIT seconds)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def lambda_client(endpoint: str, **config: Any) -> Any:
    """A boto3 Lambda client for ``endpoint`` that never retries behind the test's back."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, read_timeout=WAIT, **config),
    )


@dataclass
class Server:
    endpoint: str
    service: LocalService
    token: trio.lowlevel.TrioToken
    client: Any

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a sync service call on the service's Trio thread."""
        return trio.from_thread.run_sync(fn, *args, trio_token=self.token)

    def register(self, name: str, invoker: Invoker, **options: Any) -> None:
        self.call(partial(self.service.register_function, name, invoker, **options))


@contextmanager
def running_server(
    *, store: Store | None = None, clock: trio.abc.Clock | None = None, **options: Any
) -> Iterator[Server]:
    """The service and its HTTP API on a free loopback port, in a background thread
    (on ``clock`` if given: a ``MockClock`` makes every timer fire as soon as the
    service is idle); ``options`` go to ``LocalService``."""
    ready: queue.Queue[tuple[str, LocalService, trio.lowlevel.TrioToken, trio.CancelScope]] = (
        queue.Queue()
    )
    failure: list[BaseException] = []

    async def main() -> None:
        async with (
            open_local_service(store=store, **options) as service,
            trio.open_nursery() as nursery,
        ):
            endpoint = await nursery.start(partial(serve, service, port=0))
            ready.put((endpoint, service, trio.lowlevel.current_trio_token(), nursery.cancel_scope))

    def thread() -> None:
        try:
            trio.run(main, clock=clock)
        except BaseException as exc:
            failure.append(exc)
            ready.put_nowait(None)  # type: ignore[arg-type]

    worker = threading.Thread(target=thread, daemon=True)
    worker.start()
    started = ready.get(timeout=WAIT)
    if started is None:
        raise failure[0]
    endpoint, service, token, scope = started
    try:
        yield Server(endpoint, service, token, lambda_client(endpoint))
    finally:
        trio.from_thread.run_sync(scope.cancel, trio_token=token)
        worker.join(WAIT)
        if failure:
            raise failure[0]


@dataclass
class Parked:
    """One invocation waiting for the test's answer."""

    request: InvocationRequest
    answer: Callable[[dict[str, Any]], None]

    @property
    def arn(self) -> str:
        return str(self.request.event["DurableExecutionArn"])

    @property
    def token(self) -> str:
        return str(self.request.event["CheckpointToken"])


@dataclass
class ParkedInvoker:
    """An invoker whose every invocation waits until the test, playing the handler
    over HTTP, answers it."""

    parked: queue.Queue[Parked] = field(default_factory=queue.Queue)

    async def invoke(self, request: InvocationRequest, service: LocalService) -> dict[str, Any]:
        send, receive = trio.open_memory_channel[dict[str, Any]](1)
        token = trio.lowlevel.current_trio_token()

        def answer(value: dict[str, Any]) -> None:
            trio.from_thread.run_sync(send.send_nowait, value, trio_token=token)

        self.parked.put(Parked(request, answer))
        return await receive.receive()

    def next(self) -> Parked:
        return self.parked.get(timeout=WAIT)

    def pending(self) -> bool:
        return not self.parked.empty()
