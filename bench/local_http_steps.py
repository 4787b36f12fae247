"""1,000 sequential steps over HTTP against trio-durable's local service.

Usage: ``.venv/bin/python -m bench.local_http_steps [N]``. For each store
(memory, SQLite) and each SDK (trio-durable, AWS's), the service serves its HTTP
API on a free loopback port; the handler runs in a ``SubprocessInvoker`` worker
and checkpoints every step with boto3 over HTTP; the execution is started and
awaited with a boto3 ``Invoke`` (RequestResponse). A warm-up execution comes
first, so worker start-up is not counted. Prints seconds per execution.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import trio
from botocore.config import Config

from trio_durable.local.http import bind_socket, serve
from trio_durable.local.service import open_local_service
from trio_durable.local.sqlite_store import SQLiteStore
from trio_durable.local.store import MemoryStore, Store
from trio_durable.local.subprocess_invoker import SubprocessInvoker

TARGETS = {
    "trio-durable": "bench.our_workflows:steps",
    "aws-sdk": "bench.aws_side:steps_handler",
}


def _client(endpoint: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}, read_timeout=600),
    )


def _invoke(client: Any, n: int) -> int:
    response = client.invoke(FunctionName="steps", Payload=json.dumps({"n": n}).encode())
    body = response["Payload"].read()
    if "FunctionError" in response:
        raise SystemExit(f"execution failed: {body[:500]!r}")
    result: int = json.loads(body)
    return result


async def _measure(target: str, store: Store, n: int) -> float:
    async with open_local_service(store=store) as service, trio.open_nursery() as nursery:
        endpoint: str = await nursery.start(partial(serve, service, sock=bind_socket(port=0)))
        async with SubprocessInvoker(target, endpoint=endpoint, max_workers=1) as invoker:
            service.register_function("steps", invoker)
            client = _client(endpoint)
            await trio.to_thread.run_sync(_invoke, client, 1)
            start = time.perf_counter()
            result = await trio.to_thread.run_sync(_invoke, client, n)
            elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    if result != n:
        raise SystemExit(f"{target} returned {result!r}, expected {n}")
    return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(f"{n} sequential steps, handler in a worker process, checkpoints over HTTP (boto3)")
    for sdk, target in TARGETS.items():
        for store_name in ("memory", "sqlite"):
            with tempfile.TemporaryDirectory() as folder:
                store: Store = (
                    MemoryStore()
                    if store_name == "memory"
                    else SQLiteStore(Path(folder) / "state.db")
                )
                try:
                    seconds = trio.run(_measure, target, store, n)
                finally:
                    store.close()
            print(f"  {sdk:<13} {store_name:<7} {seconds:7.3f} s", flush=True)


if __name__ == "__main__":
    main()
