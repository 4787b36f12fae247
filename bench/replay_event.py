"""The invocation event of ``replay-3000``: an execution whose steps are all recorded.

``recorded_event(n)`` runs the ``steps`` workflow (``n`` sync steps named
``add_one``, the name both SDKs give them) once on our local service and turns
its operations into the event Lambda would send to re-invoke it: every step
SUCCEEDED, the EXECUTION operation still STARTED, all in the first page. The
operation ids follow the official SDK's scheme, so the same event replays on
both sides. Re-invoking it replays every step from its record and runs no step
body; neither SDK should call the service (``NoServiceClient`` and
``NoBoto3Client`` fail the sample if one does).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from typing import Any

import trio

from bench import our_workflows
from bench.harness import BenchError
from trio_durable.local.invokers import InProcessInvoker
from trio_durable.local.service import open_local_service
from trio_durable.wire import (
    CheckpointResult,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StatePage,
    operation_to_wire,
)


@functools.lru_cache(maxsize=4)
def recorded_event(n: int) -> str:
    """The JSON text of the re-invocation event of an ``n``-step execution."""

    async def record() -> dict[str, Any]:
        async with open_local_service() as service:
            service.register_function("steps", InProcessInvoker(our_workflows.HANDLERS["steps"]))
            arn = service.start_execution("steps", json.dumps({"n": n})).arn
            await service.wait_until_terminal(arn)
            operations = []
            for op in service.engine.operations(arn):
                if op.type is OperationType.EXECUTION:
                    op = dataclasses.replace(op, status=OperationStatus.STARTED, end_timestamp=None)
                operations.append(operation_to_wire(op))
            return {
                "DurableExecutionArn": arn,
                "CheckpointToken": "bench-replay-token",
                "InitialExecutionState": {"Operations": operations},
            }

    return json.dumps(trio.run(record))


def fresh_event(n: int) -> dict[str, Any]:
    """A new copy of the event (as Lambda would deserialize it for each invocation)."""
    event: dict[str, Any] = json.loads(recorded_event(n))
    return event


def check_answer(answer: Any, n: int) -> None:
    """The handler's answer must be SUCCEEDED with ``n`` (on either SDK)."""
    if not isinstance(answer, dict) or answer.get("Status") != "SUCCEEDED":
        raise BenchError(f"replay answered {answer!r}, expected SUCCEEDED")
    if json.loads(answer["Result"]) != n:
        raise BenchError(f"replay returned {answer['Result']!r}, expected {n}")


class NoServiceClient:
    """Our ``ServiceClient`` for a replay that must not need the service."""

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        raise BenchError(f"the replay checkpointed {len(updates)} update(s)")

    async def get_execution_state(
        self, execution_arn: str, checkpoint_token: str, *, marker: str | None = None
    ) -> StatePage:
        raise BenchError("the replay asked for more state")


class NoBoto3Client:
    """AWS's SDK's boto3 client for a replay that must not need the service."""

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise BenchError(f"the replay called {name}")

        return call
