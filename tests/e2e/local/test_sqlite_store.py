"""``SQLiteStore``: faithful round trips, atomic writes, history checks, one owner per file."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from trio_durable.errors import StoreError
from trio_durable.local.history import NO_DETAILS, event_id, new_event
from trio_durable.local.sqlite_store import SQLiteStore, StoreLockedError
from trio_durable.local.store import (
    CheckpointReceipt,
    ExecutionChange,
    ExecutionRecord,
    OperationRecord,
)
from trio_durable.wire import (
    CheckpointResult,
    ErrorObject,
    ExecutionStatus,
    Operation,
    OperationStatus,
    OperationType,
    StatePage,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST/durable-execution/n/1"

STEP = Operation(
    id="op-1",
    type=OperationType.STEP,
    status=OperationStatus.FAILED,
    start_timestamp=1_700_000_000.25,
    end_timestamp=1_700_000_001.5,
    parent_id="parent",
    name="reserve",
    sub_type="Step",
    error=ErrorObject(message="boom", type="ValueError", data="{}", stack_trace=("a", "b")),
    attempt=2,
    next_attempt_timestamp=1_700_000_009.0,
)
EXECUTION = ExecutionRecord(
    arn=ARN,
    name="n",
    function_name="f",
    status=ExecutionStatus.RUNNING,
    start_timestamp=1_700_000_000.0,
    input_payload='{"sku": 1}',
    checkpoint_token="token-2",
    timeout_seconds=3600,
    event_count=2,
    deadline=1_700_003_600.0,
    invocation_id="req-1",
    invocation_start=1_700_000_000.1,
    wake=True,
    last_checkpoint=CheckpointReceipt(
        client_token="ct",
        checkpoint_token="token-1",
        result=CheckpointResult("token-2", StatePage((STEP,), next_marker=None)),
    ),
    tenant_id="tenant-1",
    trace_header="Root=1-5f0c4e1d-0123456789abcdef01234567;Parent=1122334455667788;Sampled=1",
)
CALLBACK = OperationRecord(
    execution_arn=ARN,
    seq=2,
    operation=Operation(
        id="op-2",
        type=OperationType.CALLBACK,
        status=OperationStatus.STARTED,
        start_timestamp=1_700_000_002.0,
        callback_id="cb-1",
    ),
    callback_timeout_seconds=60,
    callback_heartbeat_timeout_seconds=10,
    timeout_deadline=1_700_000_062.0,
    heartbeat_deadline=1_700_000_012.0,
)
FIRST = ExecutionChange(
    execution=EXECUTION,
    operations=(OperationRecord(ARN, 1, STEP), CALLBACK),
    events=(
        new_event("ExecutionStarted", 1, 1.5, {"ExecutionTimeout": 60}),
        new_event("StepStarted", 2, 1.6, NO_DETAILS, op_id="op-1", sub_type="Step"),
    ),
)


def test_everything_written_is_loaded_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.db"
    store = SQLiteStore(path)
    store.write([FIRST])
    store.close()
    store = SQLiteStore(path)
    [stored] = list(store.load())
    assert stored.execution == EXECUTION
    assert stored.operations == FIRST.operations
    assert stored.events == FIRST.events
    store.close()


def test_a_record_written_before_tenants_and_trace_headers_loads_without_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    with closing(SQLiteStore(path)) as store:
        store.write([FIRST])
    old = orjson.loads(orjson.dumps(EXECUTION))
    del old["tenant_id"], old["trace_header"]
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE executions SET record = ?", (orjson.dumps(old),))
    with closing(SQLiteStore(path)) as store:
        [stored] = list(store.load())
    assert stored.execution == replace(EXECUTION, tenant_id=None, trace_header=None)


def test_changed_operations_are_upserted_and_events_appended(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    store.write([FIRST])
    done = replace(CALLBACK.operation, status=OperationStatus.SUCCEEDED, result='"ok"')
    second = ExecutionChange(
        execution=replace(EXECUTION, event_count=3, status=ExecutionStatus.SUCCEEDED),
        operations=(replace(CALLBACK, operation=done),),
        events=(new_event("CallbackSucceeded", 3, 2.0, NO_DETAILS),),
    )
    store.write([second])
    [stored] = list(store.load())
    assert stored.execution.status is ExecutionStatus.SUCCEEDED
    assert [r.operation for r in stored.operations] == [STEP, done]
    assert [event_id(e) for e in stored.events] == [1, 2, 3]
    store.close()


def test_executions_load_in_the_order_they_were_started(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    arns = [f"{ARN}-{n}" for n in (3, 1, 2)]
    for arn in arns:
        store.write([ExecutionChange(replace(EXECUTION, arn=arn, event_count=0))])
    store.write([ExecutionChange(replace(EXECUTION, arn=arns[0], event_count=0, wake=False))])
    assert [s.execution.arn for s in store.load()] == arns
    store.close()


def test_a_write_that_breaks_the_history_changes_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    store.write([FIRST])
    gap = ExecutionChange(
        execution=replace(EXECUTION, event_count=4, status=ExecutionStatus.FAILED),
        events=(new_event("StepFailed", 4, 2.0, NO_DETAILS),),
    )
    with pytest.raises(ValueError, match="does not continue the history at EventId 3"):
        store.write([gap])
    miscounted = ExecutionChange(execution=replace(EXECUTION, event_count=7))
    with pytest.raises(ValueError, match="says 7 events, the history has 2"):
        store.write([miscounted])
    [stored] = list(store.load())
    assert stored.execution == EXECUTION
    assert len(stored.events) == 2
    store.close()


def test_a_failing_write_rolls_back_every_change_in_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    store.write([FIRST])
    other = ExecutionChange(
        replace(EXECUTION, arn="other", event_count=1),
        events=(new_event("ExecutionStarted", 1, 1.0, NO_DETAILS),),
    )
    bad_operation = replace(STEP, result={1, 2})  # type: ignore[arg-type]  # not storable
    unserialisable = ExecutionChange(
        execution=replace(EXECUTION, event_count=3),
        operations=(OperationRecord(ARN, 3, bad_operation),),
        events=(new_event("StepSucceeded", 3, 2.0, NO_DETAILS),),
    )
    with pytest.raises(TypeError):
        store.write([other, unserialisable])
    assert [s.execution.arn for s in store.load()] == [ARN]
    store.write([other])  # the failed write left the history counters untouched
    assert [s.execution.arn for s in store.load()] == [ARN, "other"]
    store.close()


def test_a_second_store_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    with pytest.raises(StoreLockedError, match="in use by another process"):
        SQLiteStore(path)
    store.close()
    SQLiteStore(path).close()


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_file_that_is_not_sqlite_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, just some text" * 100)
    with pytest.raises(Exception, match="is not usable: file is not a database"):
        SQLiteStore(path)


def test_a_write_touches_only_the_rows_it_changes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    many = tuple(
        OperationRecord(ARN, n, replace(STEP, id=f"op-{n}", status=OperationStatus.SUCCEEDED))
        for n in range(1, 501)
    )
    events = tuple(new_event("StepSucceeded", n, 2.0, NO_DETAILS) for n in range(1, 501))
    store.write([ExecutionChange(replace(EXECUTION, event_count=500), many, events)])
    conn = store._conn  # the one connection: count the rows the next write changes
    before = conn.total_changes
    one_more = ExecutionChange(
        replace(EXECUTION, event_count=501),
        (OperationRecord(ARN, 501, replace(STEP, id="op-501")),),
        (new_event("StepStarted", 501, 2.0, NO_DETAILS),),
    )
    store.write([one_more])
    assert conn.total_changes - before == 3  # the execution row, one operation, one event
    store.close()


def test_one_execution_is_read_back_on_demand(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    store.write([FIRST])
    found = store.load_execution(ARN)
    assert found is not None
    assert (found.execution, found.operations, found.events) == (
        EXECUTION,
        FIRST.operations,
        FIRST.events,
    )
    assert store.load_execution("no-such-arn") is None
    store.close()


def test_a_damaged_row_read_on_demand_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    store.write([FIRST])
    store.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE operations SET record = ? WHERE id = 'op-2'", (b"{not json",))
    conn.close()
    store = SQLiteStore(path)
    with pytest.raises(StoreError) as exc:
        store.load_execution(ARN)
    assert exc.value.code == "ServiceException"
    assert str(path) in exc.value.message and ARN in exc.value.message
    store.close()
