"""The local durable execution service, serving every mapped function over HTTP.

The service runs on its own thread with its own Trio loop, so the validator's
blocking boto3 calls (on the runner's worker threads) reach it exactly as they
would reach AWS: through ``AWS_ENDPOINT_URL_LAMBDA``. Handlers run in-process,
except those whose requirement kills the process, which run in a subprocess.
The functions the invoke requirements call (``mapping.TARGETS``) are always there.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager

import trio

from conformance.mapping import TARGETS, Requirement
from trio_durable.local.http import bind_socket, endpoint_of, serve
from trio_durable.local.invokers import Invoker
from trio_durable.local.service import LocalService, open_local_service


async def make_invoker(
    requirement: Requirement, endpoint: str, region: str, stack: AsyncExitStack
) -> Invoker:
    """The invoker a requirement's function runs under (closed with ``stack``)."""
    from trio_durable.local.subprocess_invoker import SubprocessInvoker

    if requirement.invoker == "subprocess":
        invoker = SubprocessInvoker(
            requirement.handler, endpoint=endpoint, region=region, max_workers=2
        )
        return await stack.enter_async_context(invoker)
    return in_process_invoker(requirement.handler)


def in_process_invoker(handler: str) -> Invoker:
    """The in-process invoker of the handler ``module:attribute``."""
    from trio_durable.local.invokers import InProcessInvoker
    from trio_durable.local.targets import load_target

    return InProcessInvoker(load_target(handler))


Register = Callable[[LocalService, str, AsyncExitStack], Awaitable[None]]


@contextmanager
def serving(requirements: Sequence[Requirement], region: str) -> Iterator[str]:
    """Run the service with ``requirements``' functions registered; yield its endpoint URL."""

    async def register(service: LocalService, endpoint: str, stack: AsyncExitStack) -> None:
        for requirement in requirements:
            invoker = await make_invoker(requirement, endpoint, region, stack)
            service.register_function(requirement.function, invoker)
        for target in TARGETS:
            service.register_function(
                target.function,
                in_process_invoker(target.handler),
                tenant_isolation_mode=target.tenant_isolation_mode,
            )

    with serving_functions(register, region) as endpoint:
        yield endpoint


@contextmanager
def serving_functions(register: Register, region: str) -> Iterator[str]:
    """Run the service on a thread of its own, with the functions ``register``
    registers (before it serves); yield its endpoint URL."""
    sock = bind_socket("127.0.0.1", 0)
    endpoint = endpoint_of(sock)
    started: queue.Queue[BaseException | None] = queue.Queue()
    stop = threading.Event()

    async def main() -> None:
        async with open_local_service(region=region) as service, AsyncExitStack() as stack:
            await register(service, endpoint, stack)
            async with trio.open_nursery() as nursery:
                await nursery.start(functools.partial(serve, service, sock=sock))
                started.put(None)
                await trio.to_thread.run_sync(stop.wait, abandon_on_cancel=True)
                nursery.cancel_scope.cancel()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # reported to the caller waiting for the start
            started.put(exc)

    thread = threading.Thread(target=run, name="trio-durable-local-service", daemon=True)
    thread.start()
    first = started.get()
    if first is not None:
        raise RuntimeError(f"the local service did not start: {first!r}") from first
    try:
        yield endpoint
    finally:
        stop.set()
        thread.join(timeout=30)
