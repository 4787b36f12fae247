"""Fresh-interpreter measurement: ``python -m bench.child memory {ours|theirs} N``.

Prints one JSON object on stdout: ``memory`` runs one execution of N steps
(each SDK with its local runner) and reports the process's peak RSS: ``VmHWM``
from ``/proc/self/status`` where it exists, since ``ru_maxrss`` survives
``execve`` and so would report the benchmark parent's peak; ``ru_maxrss``
elsewhere. Exit status 3 means this side cannot run yet (the reason is on
stderr).
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

UNAVAILABLE_EXIT = 3


def theirs_handler() -> Any:
    """AWS's SDK: ``event["n"]`` sequential steps, each adding one (imported here,
    so that a fresh interpreter's timing includes the SDK's import)."""
    from aws_durable_execution_sdk_python import (
        DurableContext,
        StepContext,
        durable_execution,
        durable_step,
    )

    @durable_step
    def add_one(step_context: StepContext, value: int) -> int:
        return value + 1

    @durable_execution
    def handler(event: dict[str, Any], ctx: DurableContext) -> int:
        total = 0
        for _ in range(event["n"]):
            total = ctx.step(add_one(total))
        return total

    return handler


def ours_handler() -> Any:
    """trio-durable: the same workflow as ``theirs_handler``."""
    from trio_durable import DurableContext, durable_execution

    def add_one(value: int) -> int:
        return value + 1

    @durable_execution
    async def handler(event: dict[str, Any], ctx: DurableContext) -> int:
        total = 0
        for _ in range(event["n"]):
            total = await ctx.step(add_one, total)
        return total

    return handler


def _theirs(n: int) -> Any:
    from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner

    with DurableFunctionTestRunner(theirs_handler()) as runner:
        result = runner.run(input=json.dumps({"n": n}), execution_timeout=3600)
    return json.loads(result.result)


def _ours(n: int) -> Any:
    import trio

    from trio_durable.local.invokers import InProcessInvoker
    from trio_durable.local.service import open_local_service

    handler = ours_handler()

    async def main() -> Any:
        async with open_local_service() as service:
            service.register_function("steps", InProcessInvoker(handler))
            arn = service.start_execution("steps", json.dumps({"n": n})).arn
            execution = await service.wait_until_terminal(arn)
        return json.loads(execution["Result"])

    return trio.run(main)


def _peak_rss_kb() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str]) -> int:
    kind, side, n = argv[0], argv[1], int(argv[2])
    if kind != "memory":
        print(f"unknown measurement {kind!r} (known: memory)", file=sys.stderr)
        return 2
    run = _ours if side == "ours" else _theirs
    try:
        result = run(n)
    except (ImportError, NotImplementedError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return UNAVAILABLE_EXIT
    if result != n:
        print(f"{side} returned {result!r}, expected {n}", file=sys.stderr)
        return 1
    print(json.dumps({"max_rss_kb": _peak_rss_kb()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
