"""What running each invocation on a loop and thread of its own costs, against
running it on the service's loop.

Usage: ``.venv/bin/python -m bench.invoker_cost [EXECUTIONS]``. Each row runs
EXECUTIONS executions of a workflow (1 or 20 async steps each, one invocation per
execution; one by one, then all at once) through a ``LocalService`` in this process, with:

- ``InProcessInvoker``: the handler on the service's own Trio loop (what
  ``DurableTestRunner`` and embedding use);
- ``ThreadInvoker``: each invocation in a thread, on a fresh Trio loop there, its
  service calls hopping between the loops (what ``serve --invoker inprocess`` uses).

It prints the wall time per execution of each and the difference.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import trio

from trio_durable import DurableContext, durable_execution
from trio_durable.local.invokers import InProcessInvoker, Invoker, ThreadInvoker
from trio_durable.local.service import open_local_service


async def _nothing() -> int:
    return 1


@durable_execution
async def steps(event: dict[str, Any], ctx: DurableContext) -> int:
    total = 0
    for i in range(event["steps"]):
        total += await ctx.step(_nothing, name=f"s{i}")
    return total


async def _seconds(invoker: Invoker, executions: int, steps_each: int, parallel: bool) -> float:
    async with open_local_service() as service:
        service.register_function("steps", invoker)
        payload = f'{{"steps": {steps_each}}}'
        started = time.perf_counter()
        if parallel:
            arns = [service.start_execution("steps", payload).arn for _ in range(executions)]
        else:
            arns = []
            for _ in range(executions):
                arns.append(service.start_execution("steps", payload).arn)
                await service.wait_until_terminal(arns[-1])
        for arn in arns:
            done = await service.wait_until_terminal(arn)
            assert done["Status"] == "SUCCEEDED", done
        return time.perf_counter() - started


def main() -> None:
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    print(f"{executions} executions, one invocation each; ms per execution")
    print(
        f"{'steps':>6} {'executions':>11} {'service loop':>13} {'own thread':>11}"
        f" {'difference':>11}"
    )
    for parallel in (False, True):
        for steps_each in (1, 20):
            args = (executions, steps_each, parallel)
            shared = trio.run(_seconds, InProcessInvoker(steps), *args)
            own = trio.run(_seconds, ThreadInvoker(steps), *args)
            per = 1000 / executions
            print(
                f"{steps_each:>6} {'in parallel' if parallel else 'one by one':>11}"
                f" {shared * per:>13.3f} {own * per:>11.3f} {(own - shared) * per:>+11.3f}"
            )


if __name__ == "__main__":
    main()
