"""Loading after a restart: every stored execution back into memory with its
indexes, timers re-armed from the records, invocations owed queued again; an
ended one keeps only its record in memory (and its retention timer). An
execution whose invocation was in flight when the service stopped is returned
so that the engine ends that invocation."""

from __future__ import annotations

from trio_durable.local.engine import timers
from trio_durable.local.engine.staging import Execution, TimerKind, timeout_paused
from trio_durable.local.engine.tables import Tables
from trio_durable.wire import ExecutionStatus


def load(tables: Tables) -> list[Execution]:
    """Load the store into ``tables``; the executions that had an invocation in flight."""
    crashed: list[Execution] = []
    for stored in tables.store.load():
        ex = Execution.from_stored(stored)
        rec = stored.execution
        tables.add(ex)
        for record in stored.operations:
            tables.track_waiter(ex, record)
            if not rec.closed:
                for due, kind in timers.timers_of(record):
                    tables.timers.push(due, kind, rec.arn, record.operation.id)
        if rec.closed:
            tables.retire(ex)
            continue
        running = rec.status is ExecutionStatus.RUNNING
        if rec.deadline is not None and running and not timeout_paused(rec):
            tables.timers.push(rec.deadline, TimerKind.EXECUTION_TIMEOUT, rec.arn, None)
        if rec.invocation_id is not None:
            crashed.append(ex)
        elif rec.wake and running:
            tables.ready[rec.arn] = None
    return crashed
