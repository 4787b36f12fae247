"""A flush storm through real workflows: one ``ctx.map`` and one ``ctx.parallel``
with many branches in flight, all checkpointing through the invocation's one batcher.

Each map item and each parallel branch is a child context holding one step whose
async body returns a payload (most small, every 7th 100 KB, so the byte limit
of a call binds too). The workflows run on the local service through an invoker
that records every checkpoint call.

Checked: every update reaches the service exactly once; every call has at most 250
updates and 750 KB; a step's START comes before its SUCCEED, inside its context's
START and SUCCEED; the service's history completes every operation once; the
execution's result is right (each item's payload length, summed).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import trio

from stress.clients import RecordingClient, check_calls
from stress.driver import all_events
from stress.report import Report
from trio_durable import DurableContext, MapConfig, ParallelConfig, durable_execution
from trio_durable.local.client import LocalServiceClient
from trio_durable.local.invokers import InvocationRequest
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.wire import (
    OperationAction,
    OperationType,
    OperationUpdate,
)

BIG_EVERY = 7
BIG_PAYLOAD = 100 * 1024
SMALL_PAYLOAD = 16


def payload_size(index: int) -> int:
    return BIG_PAYLOAD if index % BIG_EVERY == 0 else SMALL_PAYLOAD


async def make_payload(index: int) -> str:
    await trio.lowlevel.checkpoint()
    return f"{index}:".ljust(payload_size(index), "x")


async def _item(item_ctx: DurableContext, item: int, index: int) -> int:
    payload: str = await item_ctx.step(make_payload, item, name="payload")
    return len(payload)


@durable_execution
async def map_storm(event: dict[str, Any], ctx: DurableContext) -> int:
    """One map over ``n`` items, ``in_flight`` at a time; the sum of payload lengths."""
    batch = await ctx.map(
        list(range(event["n"])),
        _item,
        name="storm",
        config=MapConfig(max_concurrency=event["in_flight"]),
    )
    batch.throw_if_error()
    return sum(batch.results())


@durable_execution
async def parallel_storm(event: dict[str, Any], ctx: DurableContext) -> int:
    """``n`` parallel branches, ``in_flight`` at a time; the sum of payload lengths."""

    def branch(index: int) -> Any:
        async def run(branch_ctx: DurableContext) -> int:
            return await _item(branch_ctx, index, index)

        return run

    batch = await ctx.parallel(
        [branch(i) for i in range(event["n"])],
        name="storm",
        config=ParallelConfig(max_concurrency=event["in_flight"]),
    )
    batch.throw_if_error()
    return sum(batch.results())


class RecordingInvoker:
    """Runs a trio-durable handler in-process, recording its checkpoint calls."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.recordings: list[RecordingClient] = []

    async def invoke(self, request: InvocationRequest, service: LocalService) -> dict[str, Any]:
        recording = RecordingClient(LocalServiceClient(service))
        self.recordings.append(recording)
        answer: dict[str, Any] = await self.handler.invoke(
            request.paged_event(), None, client=recording
        )
        return answer


async def _storm(report: Report, label: str, handler: Any, n: int, in_flight: int) -> None:
    invoker = RecordingInvoker(handler)
    async with open_local_service() as service:
        service.register_function(label, invoker)
        arn = service.start_execution(label, json.dumps({"n": n, "in_flight": in_flight})).arn
        execution = await service.wait_until_terminal(arn)
        history = all_events(service, arn)
    expected = sum(payload_size(i) for i in range(n))
    report.check(
        execution.get("Status") == "SUCCEEDED" and json.loads(execution["Result"]) == expected,
        f"{label}: execution result right",
        f"{execution.get('Status')}: {execution.get('Result') or execution.get('Error')}",
    )
    calls = [call for rec in invoker.recordings for call in rec.calls]
    applied = [call for call in calls if call.applied]
    check_calls(report, calls, f"{label}: ")
    updates = [u for call in applied for u in call.updates]
    _check_order(report, label, updates, n)
    ended = Counter(e.get("Id") for e in history if e["EventType"].endswith("Succeeded"))
    report.check(
        all(count == 1 for count in ended.values()),
        "history completes each operation once",
        f"{label}: {[i for i, c in ended.items() if c != 1][:5]}",
    )
    report.count(f"{label}: invocations", len(invoker.recordings))
    report.count(f"{label}: updates sent", len(updates))


def _check_order(report: Report, label: str, updates: list[OperationUpdate], n: int) -> None:
    position: dict[tuple[str, OperationAction], int] = {}
    seen: Counter[tuple[str, OperationAction]] = Counter()
    by_id: dict[str, OperationUpdate] = {}
    for update in updates:
        key = (update.id, update.action)
        seen[key] += 1
        position.setdefault(key, len(position))
        by_id.setdefault(update.id, update)
    report.check(
        all(count == 1 for count in seen.values()),
        "update reached the service exactly once",
        f"{label}: {[k for k, c in seen.items() if c != 1][:5]}",
    )
    start, succeed = OperationAction.START, OperationAction.SUCCEED
    steps = [u for u in by_id.values() if u.type is OperationType.STEP]
    report.check(len(steps) == n, "one step per branch", f"{label}: {len(steps)} steps for {n}")
    for step in steps:
        s, e = position.get((step.id, start), -1), position.get((step.id, succeed), -1)
        report.check(0 <= s < e, "START before completion", f"{label}: {step.id}: {s} / {e}")
        parent = step.parent_id or ""
        ps, pe = position.get((parent, start), -1), position.get((parent, succeed), -1)
        report.check(
            0 <= ps < s and e < pe,
            "step inside its context's START and SUCCEED",
            f"{label}: {step.id} in {parent}: {ps} < {s} < {e} < {pe}",
        )


async def _run(report: Report, n: int, in_flight: int) -> None:
    report.count("branches per workflow", n)
    report.count("branches in flight", in_flight)
    await _storm(report, "map", map_storm, n, in_flight)
    await _storm(report, "parallel", parallel_storm, n, in_flight)


def run(*, quick: bool, seed: int) -> Report:
    """10,000 items, 1,000 in flight (quick: 1,000 and 100). ``seed`` is unused:
    the storm is the same every time; the batching it meets is not."""
    report = Report("batch storm (map and parallel through one batcher)")
    n, in_flight = (1_000, 100) if quick else (10_000, 1_000)
    trio.run(_run, report, n, in_flight)
    return report
