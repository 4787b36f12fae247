"""Cost of one ``SQLiteStore.write`` the size of a checkpoint: on the Trio thread,
and handed to a worker thread with ``trio.to_thread``.

Usage: ``.venv/bin/python -m bench.sqlite_write_cost [N]``. Each write upserts the
execution row and one operation and appends two events, as a step checkpoint does.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import trio

from trio_durable.local.history import NO_DETAILS, new_event
from trio_durable.local.sqlite_store import SQLiteStore
from trio_durable.local.store import ExecutionChange, ExecutionRecord, OperationRecord
from trio_durable.wire import ExecutionStatus, Operation, OperationStatus, OperationType

RECORD = ExecutionRecord(
    arn="arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST/durable-execution/n/1",
    name="n",
    function_name="f",
    status=ExecutionStatus.RUNNING,
    start_timestamp=1.7e9,
    input_payload="{}",
    checkpoint_token="token",
    timeout_seconds=86_400,
    event_count=0,
)


def _change(record: ExecutionRecord, n: int) -> tuple[ExecutionRecord, list[ExecutionChange]]:
    record = replace(record, event_count=record.event_count + 2)
    op = Operation(
        id=f"op-{n}",
        type=OperationType.STEP,
        status=OperationStatus.SUCCEEDED,
        start_timestamp=1.7e9,
        end_timestamp=1.7e9,
        name="step",
        result=str(n),
    )
    events = (
        new_event("StepStarted", record.event_count - 1, 1.7e9, NO_DETAILS, op_id=op.id),
        new_event("StepSucceeded", record.event_count, 1.7e9, NO_DETAILS, op_id=op.id),
    )
    return record, [ExecutionChange(record, (OperationRecord(record.arn, n, op),), events)]


async def _measure(store: SQLiteStore, n: int) -> tuple[float, float]:
    record = RECORD
    start = time.perf_counter()
    for i in range(n):
        record, changes = _change(record, i)
        store.write(changes)
    inline = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for i in range(n, 2 * n):
        record, changes = _change(record, i)
        await trio.to_thread.run_sync(store.write, changes)
    threaded = (time.perf_counter() - start) / n
    return inline, threaded


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "state.db")
        try:
            inline, threaded = trio.run(_measure, store, n)
        finally:
            store.close()
    print(f"SQLiteStore.write of one step checkpoint ({n} writes):")
    print(f"  on the Trio thread:   {inline * 1e6:6.0f} us")
    print(f"  via trio.to_thread:   {threaded * 1e6:6.0f} us")


if __name__ == "__main__":
    main()
