"""Loading after a restart: every stored execution back into memory with its
indexes, timers re-armed from the records, invocations owed queued again. An
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
        ex = Execution(stored.execution)
        rec = stored.execution
        tables.add(ex)
        ex.events.extend(stored.events)
        for record in stored.operations:
            op = record.operation
            ex.order.append(op.id)
            ex.ops[op.id] = record
            tables.track_waiter(ex, record)
            for due, kind in timers.timers_of(record):
                tables.timers.push(due, kind, rec.arn, op.id)
        if rec.closed:
            ex.waiters.clear()
            continue
        running = rec.status is ExecutionStatus.RUNNING
        if rec.deadline is not None and running and not timeout_paused(rec):
            tables.timers.push(rec.deadline, TimerKind.EXECUTION_TIMEOUT, rec.arn, None)
        if rec.invocation_id is not None:
            crashed.append(ex)
        elif rec.wake and running:
            tables.ready[rec.arn] = None
    return crashed
