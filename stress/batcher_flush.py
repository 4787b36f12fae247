"""Many concurrent producers flushing checkpoints through one batcher, into the real engine.

One execution of the local service is driven by an invoker that, instead of a
workflow, runs a ``CheckpointBatcher`` (with its ``StateActor``) and ``producers``
concurrent tasks that together checkpoint ``operations`` operations: plain steps
(START then SUCCEED, each awaited), fire-and-forget steps (both submitted
without waiting, then flushed), child contexts with steps inside, and steps with
payloads near the 256 KB limit so the byte limit of a call binds too.

Checked: every update reaches the service exactly once; the order is legal (an
operation's START before its completion, a context's START before its
children, the children's completions before the context's, each producer's
submissions in submission order); every call has at most 250 updates and
750 KB; a woken caller sees its update merged; the service's final state and
history hold every operation once, SUCCEEDED with its payload; the execution's
result is right; the batcher's statistics agree.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import trio

from stress.clients import RecordingClient, check_calls
from stress.report import Report
from trio_durable.batcher.batcher import CheckpointBatcher
from trio_durable.local.invokers import InvocationRequest
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.runtime.state import Activity, ExecutionState, StateActor
from trio_durable.wire import (
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    operation_from_wire,
)

FUNCTION = "flush-storm"
Key = tuple[str, OperationAction]


@dataclass(frozen=True)
class Op:
    """One planned operation: a step, or a context with child steps."""

    id: str
    kind: str  # "step" | "fire" | "large" | "context"
    payload: str
    parent_id: str | None = None
    children: tuple[Op, ...] = ()

    @property
    def type(self) -> OperationType:
        return OperationType.CONTEXT if self.kind == "context" else OperationType.STEP

    def update(self, action: OperationAction) -> OperationUpdate:
        return OperationUpdate(
            id=self.id,
            type=self.type,
            action=action,
            parent_id=self.parent_id,
            name=self.kind,
            sub_type="RunInChildContext" if self.kind == "context" else "Step",
            payload=self.payload if action is OperationAction.SUCCEED else None,
        )


def _payload(op_id: str, pad: int) -> str:
    return json.dumps({"op": op_id, "pad": "x" * pad})


def plan(rng: random.Random, operations: int, producers: int) -> list[list[Op]]:
    """Operations for each producer; ``operations`` in all, children counted."""
    work: list[list[Op]] = [[] for _ in range(producers)]
    count = 0
    k = 0
    while count < operations:
        p = k % producers
        op_id = f"p{p:04d}-{k // producers:04d}"
        roll = rng.random()
        if roll < 0.02:
            op = Op(op_id, "large", _payload(op_id, rng.randrange(60_000, 200_000)))
        elif roll < 0.12 and operations - count >= 4:
            children = tuple(
                Op(f"{op_id}-c{j}", "step", _payload(f"{op_id}-c{j}", rng.randrange(200)), op_id)
                for j in range(3)
            )
            op = Op(op_id, "context", _payload(op_id, 10), children=children)
        elif roll < 0.35:
            op = Op(op_id, "fire", _payload(op_id, rng.randrange(2_000)))
        else:
            op = Op(op_id, "step", _payload(op_id, rng.randrange(500)))
        work[p].append(op)
        count += 1 + len(op.children)
        k += 1
    return work


def all_ops(work: list[list[Op]]) -> list[Op]:
    return [o for ops in work for op in ops for o in (op, *op.children)]


def digest(ops: list[Op]) -> str:
    h = hashlib.sha256()
    for op in sorted(ops, key=lambda o: o.id):
        h.update(op.id.encode())
        h.update(op.payload.encode())
    return h.hexdigest()


@dataclass
class _Run:
    report: Report
    batcher: CheckpointBatcher
    state: ExecutionState
    submitted: dict[int, list[Key]] = field(default_factory=dict)

    async def checkpoint(self, producer: int, op: Op, action: OperationAction) -> None:
        self.submitted[producer].append((op.id, action))
        await self.batcher.checkpoint(op.update(action))
        merged = self.state.get(op.id)
        want = OperationStatus.STARTED if action is OperationAction.START else None
        ok = merged is not None and (
            merged.status is want if want else merged.status is OperationStatus.SUCCEEDED
        )
        self.report.check(
            ok,
            "woken caller sees its update merged",
            f"{op.id} {action.value}: state has {None if merged is None else merged.status}",
        )

    def submit(self, producer: int, op: Op, action: OperationAction) -> None:
        self.submitted[producer].append((op.id, action))
        self.batcher.submit(op.update(action))

    async def produce(self, producer: int, ops: list[Op], rng: random.Random) -> None:
        self.submitted[producer] = []
        for op in ops:
            if op.kind == "fire":
                self.submit(producer, op, OperationAction.START)
                self.submit(producer, op, OperationAction.SUCCEED)
                if rng.random() < 0.5:
                    await self.batcher.flush()
            elif op.kind == "context":
                await self.checkpoint(producer, op, OperationAction.START)
                for child in op.children:
                    self.submit(producer, child, OperationAction.START)
                    self.submit(producer, child, OperationAction.SUCCEED)
                await self.checkpoint(producer, op, OperationAction.SUCCEED)
            else:
                await self.checkpoint(producer, op, OperationAction.START)
                await self.checkpoint(producer, op, OperationAction.SUCCEED)
            await trio.lowlevel.checkpoint()
        await self.batcher.flush()


class FlushStormInvoker:
    """An ``Invoker`` whose "handler" is the producers and the batcher."""

    def __init__(self, work: list[list[Op]], seed: int, report: Report) -> None:
        self.work = work
        self.seed = seed
        self.report = report
        self.recording: RecordingClient | None = None
        self.batcher: CheckpointBatcher | None = None
        self.final_state: dict[str, Any] = {}

    async def invoke(self, request: InvocationRequest, service: LocalService) -> dict[str, Any]:
        from trio_durable.local.client import LocalServiceClient

        event = request.event
        arn, token = event["DurableExecutionArn"], event["CheckpointToken"]
        initial = [operation_from_wire(o) for o in event["InitialExecutionState"]["Operations"]]
        self.recording = RecordingClient(LocalServiceClient(service))
        state = ExecutionState(initial, Activity())
        actor = StateActor(state)
        producers = trio.CancelScope()
        # A fatal batcher error stops the producers; the state actor keeps running
        # so that every acknowledgement already handed to it is still set.
        batcher = CheckpointBatcher(
            self.recording, arn, token, actor, on_fatal=lambda _: producers.cancel()
        )
        self.batcher = batcher
        run = _Run(self.report, batcher, state)
        async with trio.open_nursery() as actors:
            actors.start_soon(actor.run)
            actors.start_soon(batcher.run)
            with producers:
                async with trio.open_nursery() as nursery:
                    for p, ops in enumerate(self.work):
                        rng = random.Random(self.seed * 7919 + p)
                        nursery.start_soon(run.produce, p, ops, rng)
            await batcher.flush()
            page_token = batcher.checkpoint_token
            actors.cancel_scope.cancel()
        self._check_order(run.submitted)
        failure = batcher.failure
        if failure is not None:
            self.report.check(False, "the batcher never fails", repr(failure))
            return {"Status": "FAILED", "Error": {"ErrorMessage": str(failure)}}
        await self._read_final_state(arn, page_token)
        ops = all_ops(self.work)
        return {
            "Status": "SUCCEEDED",
            "Result": json.dumps({"operations": len(ops), "digest": digest(ops)}),
        }

    async def _read_final_state(self, arn: str, token: str) -> None:
        assert self.recording is not None
        marker: str | None = None
        while True:
            page = await self.recording.get_execution_state(arn, token, marker=marker)
            for op in page.operations:
                self.final_state[op.id] = op
            marker = page.next_marker
            if marker is None:
                return

    def _check_order(self, submitted: dict[int, list[Key]]) -> None:
        assert self.recording is not None
        report = self.report
        position: dict[Key, int] = {}
        seen: Counter[Key] = Counter()
        check_calls(report, self.recording.calls)
        for call in self.recording.calls:
            report.check(call.applied, "call accepted by the engine", f"{call.client_token}")
            if not call.applied:
                continue
            for update in call.updates:
                key = (update.id, update.action)
                seen[key] += 1
                position.setdefault(key, len(position))
        start, succeed = OperationAction.START, OperationAction.SUCCEED
        expected = {(o.id, a) for o in all_ops(self.work) for a in (start, succeed)}
        for key in expected:
            report.check(
                seen[key] == 1, "update reached the service exactly once", f"{key}: {seen[key]}"
            )
        for key in set(seen) - expected:
            report.check(False, "no unexpected update", f"{key}")
        for op in all_ops(self.work):
            s, e = position.get((op.id, start), -1), position.get((op.id, succeed), -1)
            report.check(0 <= s < e, "START before completion", f"{op.id}: {s} / {e}")
            for child in op.children:
                cs = position.get((child.id, start), -1)
                ce = position.get((child.id, succeed), -1)
                report.check(s < cs, "context START before its children", f"{child.id}")
                report.check(ce < e, "children complete before their context", f"{child.id}")
        for producer, keys in submitted.items():
            order = [position.get(k, -1) for k in keys]
            report.check(
                order == sorted(order),
                "producer's updates in submission order",
                f"producer {producer}",
            )
        report.count("updates sent", sum(seen.values()))


async def _run(report: Report, operations: int, producers: int, seed: int) -> None:
    rng = random.Random(seed)
    work = plan(rng, operations, producers)
    ops = all_ops(work)
    report.count("operations", len(ops))
    report.count("producers", producers)
    invoker = FlushStormInvoker(work, seed, report)
    async with open_local_service() as service:
        service.register_function(FUNCTION, invoker)
        arn = service.start_execution(FUNCTION, "{}").arn
        execution = await service.wait_until_terminal(arn)
        history = _all_events(service, arn)
    expected_result = {"operations": len(ops), "digest": digest(ops)}
    report.check(
        execution.get("Status") == "SUCCEEDED"
        and json.loads(execution.get("Result") or "null") == expected_result,
        "execution result right",
        f"{execution.get('Status')}: {execution.get('Result') or execution.get('Error')}",
    )
    for op in ops:
        final = invoker.final_state.get(op.id)
        report.check(
            final is not None
            and final.status is OperationStatus.SUCCEEDED
            and final.result == op.payload,
            "service state holds the operation SUCCEEDED with its payload",
            f"{op.id}: {final}",
        )
    ended = Counter(
        ev.get("Id") for ev in history if ev["EventType"] in ("StepSucceeded", "ContextSucceeded")
    )
    for op in ops:
        report.check(ended[op.id] == 1, "history completes each operation once", f"{op.id}")
    assert invoker.batcher is not None and invoker.recording is not None
    stats = invoker.batcher.statistics()
    applied = [c for c in invoker.recording.calls if c.applied]
    report.check(stats.queued == 0, "batcher queue drained", f"{stats}")
    report.check(
        stats.updates_sent == 2 * len(ops) and stats.calls == len(applied),
        "batcher statistics agree with the service",
        f"{stats} vs {len(applied)} applied calls",
    )


def _all_events(service: LocalService, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        page = service.get_execution_history(arn, marker=marker)
        events.extend(page["Events"])
        marker = page.get("NextMarker")
        if not marker:
            return events


def run(*, quick: bool, seed: int) -> Report:
    operations, producers = (2_000, 500) if quick else (10_000, 1_000)
    report = Report(f"batcher flush storm: {operations} operations, {producers} producers")
    trio.run(_run, report, operations, producers, seed)
    return report
