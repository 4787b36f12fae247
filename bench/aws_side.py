"""The "theirs" side: AWS's Python SDK with its local runner, one function per workload.

Every workflow reads its size from the input (``{"n": ...}``), returns a value
the measurement checks, and runs through the runner a user of AWS's pair would
pick for that job: ``DurableFunctionTestRunner`` in-process (time skipping on,
its default), its SQLite store, or its ``WebRunner`` behind HTTP. Each function
runs one execution and returns the elapsed wall time (seconds, or milliseconds
per callback for the callback round trip).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from aws_durable_execution_sdk_python import (
    DurableContext,
    StepContext,
    durable_execution,
    durable_step,
)
from aws_durable_execution_sdk_python.config import (
    Duration,
    MapConfig,
    ParallelConfig,
    StepConfig,
    StepSemantics,
)
from aws_durable_execution_sdk_python_testing import (
    DurableFunctionTestRunner,
    WebRunner,
    WebRunnerConfig,
)
from aws_durable_execution_sdk_python_testing.invoker import create_test_lambda_context
from aws_durable_execution_sdk_python_testing.runner import _get_callback_id_from_events
from aws_durable_execution_sdk_python_testing.stores.sqlite import SQLiteExecutionStore
from aws_durable_execution_sdk_python_testing.web.server import WebServiceConfig
from botocore.config import Config

from bench import replay_event
from bench.harness import BenchError, Unavailable
from bench.lambda_endpoint import LambdaEndpoint

REGION = "us-west-2"
CALLBACK_PAYLOAD = b'"done"'


@durable_step
def add_one(step_context: StepContext, value: int) -> int:
    return value + 1


def steps_workflow(event: dict[str, Any], ctx: DurableContext) -> int:
    """``n`` sequential steps, each adding one to the running total."""
    total = 0
    for _ in range(event["n"]):
        total = ctx.step(add_one(total))
    return total


AT_MOST_ONCE = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)


def steps_at_most_once_workflow(event: dict[str, Any], ctx: DurableContext) -> int:
    """``steps_workflow`` with at-most-once steps."""
    total = 0
    for _ in range(event["n"]):
        total = ctx.step(add_one(total), config=AT_MOST_ONCE)
    return total


def step_wait_workflow(event: dict[str, Any], ctx: DurableContext) -> int:
    """``n`` x (step + 60 s wait): ``n + 1`` invocations."""
    total = 0
    for _ in range(event["n"]):
        total = ctx.step(add_one(total))
        ctx.wait(Duration.from_seconds(60), name="pause")
    return total


def callbacks_workflow(event: dict[str, Any], ctx: DurableContext) -> int:
    """``n`` callbacks one after another, each completed from outside."""
    received = 0
    for i in range(event["n"]):
        callback = ctx.create_callback(name=f"cb{i}")
        # AWS's SDK hands back the callback's payload text as sent.
        if callback.result() == CALLBACK_PAYLOAD.decode():
            received += 1
    return received


BATCH_CONCURRENCY = 10
"""Branches or items of one map/parallel that run at once (both sides)."""


@durable_step
def same(step_context: StepContext, value: int) -> int:
    return value


def map_workflow(event: dict[str, Any], ctx: DurableContext) -> int:
    """A map over ``n`` items, one step each; the sum of the results is ``n``."""
    batch = ctx.map(
        [1] * event["n"],
        lambda item_ctx, item, index, items: item_ctx.step(same(item)),
        name="items",
        config=MapConfig(max_concurrency=BATCH_CONCURRENCY),
    )
    return sum(batch.get_results())


def parallel_workflow(event: dict[str, Any], ctx: DurableContext) -> int:
    """``n`` parallel branches, one step each; the sum of the results is ``n``."""
    branches = [lambda branch_ctx: branch_ctx.step(same(1)) for _ in range(event["n"])]
    batch = ctx.parallel(
        branches, name="branches", config=ParallelConfig(max_concurrency=BATCH_CONCURRENCY)
    )
    return sum(batch.get_results())


steps_handler = durable_execution(steps_workflow)
map_handler = durable_execution(map_workflow)
parallel_handler = durable_execution(parallel_workflow)
steps_at_most_once_handler = durable_execution(steps_at_most_once_workflow)
step_wait_handler = durable_execution(step_wait_workflow)
callbacks_handler = durable_execution(callbacks_workflow)


def _check(result: Any, expected: int) -> None:
    value = json.loads(result) if isinstance(result, str) else result
    if value != expected:
        raise BenchError(f"AWS SDK workflow returned {value!r}, expected {expected}")


def _run_in_process(handler: Callable[..., Any], n: int, **runner_options: Any) -> float:
    start = time.perf_counter()
    with DurableFunctionTestRunner(handler, **runner_options) as runner:
        result = runner.run(input=json.dumps({"n": n}), execution_timeout=3600)
    elapsed = time.perf_counter() - start
    _check(result.result, n)
    return elapsed


def sequential_steps(n: int) -> float:
    return _run_in_process(steps_handler, n)


def sequential_steps_at_most_once(n: int) -> float:
    return _run_in_process(steps_at_most_once_handler, n)


def map_items(n: int) -> float:
    return _run_in_process(map_handler, n)


def parallel_branches(n: int) -> float:
    return _run_in_process(parallel_handler, n)


def step_wait(n: int) -> float:
    return _run_in_process(step_wait_handler, n, skip_time=True)


def sqlite_steps(n: int) -> float:
    tmp = Path(tempfile.mkdtemp(prefix="bench-aws-sqlite-"))
    try:
        store = SQLiteExecutionStore.create_and_initialize(tmp / "executions.db")
        return _run_in_process(steps_handler, n, store=store)
    finally:
        # The runner's worker threads may still be writing its WAL files when it
        # returns; give them a moment before removing the directory.
        for _ in range(50):
            shutil.rmtree(tmp, ignore_errors=True)
            if not tmp.exists():
                break
            time.sleep(0.1)


def _complete_callbacks(n: int, *, cap_seconds: float | None = None) -> float:
    """Seconds to run one execution of ``n`` callbacks, each completed from outside;
    ``Unavailable`` once ``cap_seconds`` have passed (saying how far it got)."""
    start = time.perf_counter()
    with DurableFunctionTestRunner(callbacks_handler, poll_interval=0.001) as runner:
        arn = runner.run_async(input=json.dumps({"n": n}), execution_timeout=3600)
        for i in range(n):
            elapsed = time.perf_counter() - start
            wait = 120.0
            if cap_seconds is not None:
                wait = min(wait, cap_seconds - elapsed)
            try:
                if wait <= 0:
                    raise TimeoutError
                callback_id = _wait_for_callback(runner, arn, f"cb{i}", wait)
            except TimeoutError:
                elapsed = time.perf_counter() - start
                if cap_seconds is not None and elapsed >= cap_seconds:
                    raise Unavailable(
                        f"capped: {i} of {n} callbacks completed in {elapsed:.0f} s "
                        f"(the cap is {cap_seconds:.0f} s)"
                    ) from None
                raise BenchError(f"AWS SDK: callback {i} did not appear in {wait:.0f} s") from None
            runner.send_callback_success(callback_id, CALLBACK_PAYLOAD)
        result = runner.wait_for_result(arn, timeout=120)
    elapsed = time.perf_counter() - start
    _check(result.result, n)
    return elapsed


def _wait_for_callback(runner: DurableFunctionTestRunner, arn: str, name: str, wait: float) -> str:
    """The id of callback ``name``, polling the whole history every millisecond.

    The runner's own ``wait_for_callback`` reads only the history's first page
    (100 events), so it never finds a callback after the 33rd; this asks for
    every event (its executor's ``max_items``) and reads them with the runner's
    own helper."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        history = runner._executor.get_execution_history(arn, max_items=1_000_000)
        callback_id = _get_callback_id_from_events(events=history.events, name=name)
        if callback_id:
            return callback_id
        time.sleep(0.001)
    raise TimeoutError(name)


def callback_roundtrip(n: int) -> float:
    """Milliseconds per callback: create, complete from outside, resume."""
    return _complete_callbacks(n) * 1000 / n


SEQUENTIAL_CALLBACKS_CAP_SECONDS = 150.0
"""How long one sample of ``sequential_callbacks`` may run before it is given up."""


def sequential_callbacks(n: int) -> float:
    """Seconds for one execution completing ``n`` callbacks one after another (capped)."""
    return _complete_callbacks(n, cap_seconds=SEQUENTIAL_CALLBACKS_CAP_SECONDS)


CONCURRENT_STEPS = 100
"""Steps per execution in ``concurrent_executions`` (sync: AWS's SDK has no async steps)."""


def concurrent_executions(n: int) -> float:
    """Microseconds per step: ``n`` executions of 100 steps at once on one runner."""
    start = time.perf_counter()
    with DurableFunctionTestRunner(steps_handler) as runner:
        payload = json.dumps({"n": CONCURRENT_STEPS})
        arns = [
            runner.run_async(input=payload, execution_timeout=3600, execution_name=f"bench-{i}")
            for i in range(n)
        ]
        results = [runner.wait_for_result(arn, timeout=3600) for arn in arns]
    elapsed = time.perf_counter() - start
    for result in results:
        _check(result.result, CONCURRENT_STEPS)
    return elapsed * 1e6 / (n * CONCURRENT_STEPS)


def replay(n: int) -> float:
    """Microseconds per replayed operation: one invocation of an execution whose
    ``n`` steps are all recorded (``bench.replay_event``), through the Lambda entry."""
    event = replay_event.fresh_event(n)
    handler = durable_execution(steps_workflow, boto3_client=replay_event.NoBoto3Client())
    lambda_context = create_test_lambda_context()
    start = time.perf_counter()
    answer = handler(event, lambda_context)
    elapsed = time.perf_counter() - start
    replay_event.check_answer(answer, n)
    return elapsed * 1e6 / n


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def lambda_client(endpoint_url: str) -> Any:
    """A boto3 Lambda client for a local endpoint (dummy credentials)."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}, read_timeout=600),
    )


def web_runner_steps(n: int) -> float:
    """``n`` steps through AWS's own web runner: every checkpoint is a boto3 HTTP call."""
    # The runner's own Invoke client reads credentials from the environment.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    port = _free_port()
    runner_url = f"http://127.0.0.1:{port}"
    handler = durable_execution(steps_workflow, boto3_client=lambda_client(runner_url))
    with LambdaEndpoint(handler, create_test_lambda_context) as endpoint:
        config = WebRunnerConfig(
            web_service=WebServiceConfig(host="127.0.0.1", port=port, log_level=logging.WARNING),
            lambda_endpoint=endpoint.url,
            local_runner_region=REGION,
            skip_time=True,
        )
        runner = WebRunner(config)
        runner.start()
        server = threading.Thread(target=runner.serve_forever, daemon=True)
        server.start()
        try:
            start = time.perf_counter()
            arn = _start_on_web_runner(runner_url, n)
            result = _poll_until_done(lambda_client(runner_url), arn)
            elapsed = time.perf_counter() - start
        finally:
            web_server = runner._server  # shutdown() ends serve_forever; stop() only closes
            if web_server is not None:
                web_server.shutdown()
            runner.stop()
            server.join()
    _check(result, n)
    return elapsed


def _start_on_web_runner(runner_url: str, n: int) -> str:
    body = {
        "AccountId": "123456789012",
        "FunctionName": "bench-steps",
        "FunctionQualifier": "$LATEST",
        "ExecutionName": f"bench-{time.monotonic_ns()}",
        "ExecutionTimeoutSeconds": 3600,
        "ExecutionRetentionPeriodDays": 1,
        "Input": json.dumps({"n": n}),
    }
    request = urllib.request.Request(
        f"{runner_url}/start-durable-execution",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        arn: str = json.loads(response.read())["ExecutionArn"]
        return arn


def _poll_until_done(client: Any, arn: str, *, interval: float = 0.005) -> Any:
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        execution = client.get_durable_execution(DurableExecutionArn=arn)
        status = execution["Status"]
        if status == "SUCCEEDED":
            return execution.get("Result")
        if status != "RUNNING":
            raise BenchError(f"AWS SDK execution ended {status}: {execution.get('Error')}")
        time.sleep(interval)
    raise BenchError("AWS SDK execution did not finish within an hour")
