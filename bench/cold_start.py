"""Workloads ``cold-start`` and ``cold-start-invocation``: a fresh interpreter
answering its first invocation over HTTP.

As on Lambda: a new process runs the init phase (imports the SDK and the
handler's module, decorating the handler), is then handed the invocation event,
and answers it, checkpointing over HTTP to trio-durable's service
(``AWS_ENDPOINT_URL_LAMBDA``; the function name, region and credentials from the
environment, as Lambda sets them, and no other ``AWS_*`` variable or shared
config file, as on Lambda): theirs through a boto3 client, ours through its
default client, which in such an environment is ``LambdaHttpClient`` (botocore's
signer and HTTP session, no botocore client). The service runs in the benchmark's process;
its invoker starts ``python -m bench.cold_start SIDE`` for the invocation,
writes the event to its stdin and reads the answer from its stdout.
``cold-start`` is the child's own time from its first line to its answer (the
interpreter's start-up, the same for both sides, is left out);
``cold-start-invocation`` only the invocation, from the event to the answer
(what Lambda reports as the first request's duration, after its init phase).
Both sides import bytecode compiled ahead of time (ours is compiled first, as a
wheel's install would). The workflow is ``bench.child``'s, with one step.

``python -m bench.cold_start SIDE`` is the child: it prints ``{"answer",
"seconds", "invocation_seconds", "cpu", "modules"}`` (``cpu``: the process's
CPU time, less sensitive to a loaded machine; ``modules``: how many were loaded).
"""

from __future__ import annotations

import time

_START = time.perf_counter()
_CPU_START = time.process_time()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-west-2"


class _LambdaContext:
    """What the handlers read of Lambda's context object."""

    aws_request_id = "cold-start"
    function_name = "cold"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def child(side: str) -> int:
    """Lambda's init phase (import ``side``'s SDK, decorate the handler), then the
    first invocation (the event on stdin); print the answer and the times."""
    from bench.child import ours_handler, theirs_handler

    handler = ours_handler() if side == "ours" else theirs_handler()
    event = json.loads(sys.stdin.buffer.read())
    invoked = time.perf_counter()
    answer = handler(event, _LambdaContext())
    end = time.perf_counter()
    report = {
        "answer": answer,
        "seconds": end - _START,
        "invocation_seconds": end - invoked,
        "cpu": time.process_time() - _CPU_START,
        "modules": len(sys.modules),
    }
    print(json.dumps(report))
    return 0


def measure(side: str) -> dict[str, float]:
    """One sample of a fresh child answering the first invocation of a one-step
    execution: ``seconds`` (init and invocation), ``invocation_seconds``, ``cpu``,
    ``modules``."""
    import trio

    _compile_ours()
    return trio.run(_measure, side)


def _compile_ours() -> None:
    """Compile trio-durable's modules to bytecode, as installing a wheel does (theirs
    come from site-packages compiled at install): a checkout run with
    ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module from source
    at each start."""
    import compileall

    compileall.compile_dir(ROOT / "trio_durable", quiet=1)


async def _measure(side: str) -> dict[str, float]:
    from functools import partial

    import trio

    from bench.harness import BenchError
    from trio_durable.local.http import bind_socket, serve
    from trio_durable.local.service import open_local_service

    samples: list[dict[str, Any]] = []
    async with open_local_service() as service, trio.open_nursery() as nursery:
        sock = bind_socket("127.0.0.1", 0)
        endpoint: str = await nursery.start(partial(serve, service, sock=sock))
        service.register_function("cold", _FreshProcessInvoker(side, endpoint, samples))
        arn = service.start_execution("cold", json.dumps({"n": 1})).arn
        execution = await service.wait_until_terminal(arn)
        nursery.cancel_scope.cancel()
    if execution.get("Status") != "SUCCEEDED" or json.loads(execution["Result"]) != 1:
        raise BenchError(f"cold start ({side}) ended {execution}")
    if len(samples) != 1:
        raise BenchError(f"cold start ({side}) took {len(samples)} invocations, expected 1")
    return {key: samples[0][key] for key in ("seconds", "invocation_seconds", "cpu", "modules")}


class _FreshProcessInvoker:
    """Each invocation in a new ``python -m bench.cold_start SIDE`` process."""

    def __init__(self, side: str, endpoint: str, samples: list[dict[str, Any]]) -> None:
        self._side = side
        self._env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO"))},
            "AWS_CONFIG_FILE": str(ROOT / "bench" / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(ROOT / "bench" / "no-aws-credentials"),
            "AWS_LAMBDA_FUNCTION_NAME": "cold",
            "AWS_ENDPOINT_URL_LAMBDA": endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
        }
        self._samples = samples

    async def invoke(self, request: Any, service: Any) -> dict[str, Any]:
        import trio

        from bench.harness import BenchError

        proc = await trio.run_process(
            [sys.executable, "-m", "bench.cold_start", self._side],
            stdin=json.dumps(request.event).encode(),
            capture_stdout=True,
            capture_stderr=True,
            env=self._env,
            cwd=ROOT,
            check=False,
        )
        if proc.returncode != 0:
            raise BenchError(f"cold start child failed:\n{proc.stderr.decode()}")
        sample: dict[str, Any] = json.loads(proc.stdout)
        self._samples.append(sample)
        answer: dict[str, Any] = sample["answer"]
        return answer


if __name__ == "__main__":
    sys.exit(child(sys.argv[1]))
