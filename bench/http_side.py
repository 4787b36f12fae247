"""Workload 4: sequential steps over HTTP, both SDKs against trio-durable's HTTP service.

The service runs in this process and serves botocore's REST routes on a free
loopback port; each SDK's handler runs in a worker process of the service's
``SubprocessInvoker`` and reaches the service with boto3 through
``AWS_ENDPOINT_URL_LAMBDA``, as it would on Lambda. The execution is started
and awaited with a boto3 ``Invoke`` (RequestResponse). One warm-up execution
first, so the worker's imports are not counted (cold start is its own workload).
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from bench.aws_side import lambda_client
from bench.harness import BenchError

if TYPE_CHECKING:
    from trio_durable.local.store import Store

OURS_TARGET = "bench.our_workflows:steps"
THEIRS_TARGET = "bench.aws_side:steps_handler"


def _invoke(client: Any, n: int) -> Any:
    response = client.invoke(FunctionName="steps", Payload=json.dumps({"n": n}).encode())
    body = response["Payload"].read()
    if "FunctionError" in response:
        raise BenchError(f"execution over HTTP failed: {body[:500]!r}")
    return json.loads(body)


async def run_over_http(target: str, n: int, store: Store | None = None) -> float:
    """Seconds for one ``n``-step execution of ``target`` over HTTP (``store``:
    the service's store, memory by default)."""
    from trio_durable.local.http import bind_socket, serve
    from trio_durable.local.service import open_local_service
    from trio_durable.local.subprocess_invoker import SubprocessInvoker

    async with open_local_service(store=store) as service, trio.open_nursery() as nursery:
        sock = bind_socket("127.0.0.1", 0)
        endpoint: str = await nursery.start(partial(serve, service, sock=sock))
        async with SubprocessInvoker(target, endpoint=endpoint, max_workers=1) as invoker:
            service.register_function("steps", invoker)
            client = lambda_client(endpoint)
            await trio.to_thread.run_sync(_invoke, client, 1)
            start = time.perf_counter()
            result = await trio.to_thread.run_sync(_invoke, client, n)
            elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    if result != n:
        raise BenchError(f"{target} over HTTP returned {result!r}, expected {n}")
    return elapsed


def ours_steps(n: int) -> float:
    return trio.run(run_over_http, OURS_TARGET, n)


def theirs_steps(n: int) -> float:
    return trio.run(run_over_http, THEIRS_TARGET, n)
