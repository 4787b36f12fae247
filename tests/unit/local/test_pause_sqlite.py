"""``SQLiteStore`` and pausing: the pause fields round-trip, files written before
they existed still open, a deletion is atomic and keeps the history counters
right, and an engine reloaded from the file equals the one that wrote it."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import orjson
from local_engine_helpers import FUNCTION, START_TIME, ManualClock, start, upd

from trio_durable.local.engine import Engine
from trio_durable.local.history import NO_DETAILS, new_event
from trio_durable.local.sqlite_store import SQLiteStore
from trio_durable.local.store import (
    ControlReceipt,
    ExecutionChange,
    ExecutionRecord,
    PauseState,
)
from trio_durable.wire import ExecutionStatus

ARN = "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST/durable-execution/n/1"
RECORD = ExecutionRecord(
    arn=ARN,
    name="n",
    function_name="f",
    status=ExecutionStatus.RUNNING,
    start_timestamp=1_700_000_000.0,
    input_payload="{}",
    checkpoint_token="t",
    timeout_seconds=100,
    event_count=1,
    deadline=1_700_000_100.0,
    wake=True,
    pause=PauseState(1_700_000_010.5, "night", timeout_paused=True),
    last_control=ControlReceipt("pause", "tok", "night", timeout_paused=True),
)
STARTED = new_event("ExecutionStarted", 1, 1.0, NO_DETAILS)


def test_pause_fields_are_loaded_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with closing(SQLiteStore(path)) as store:
        store.write([ExecutionChange(RECORD, events=(STARTED,))])
    with closing(SQLiteStore(path)) as store:
        [stored] = list(store.load())
    assert stored.execution == RECORD


def test_a_record_written_before_pausing_existed_loads_as_not_paused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with closing(SQLiteStore(path)) as store:
        store.write([ExecutionChange(RECORD, events=(STARTED,))])
    old = orjson.loads(orjson.dumps(replace(RECORD, pause=None, last_control=None)))
    del old["pause"], old["last_control"]
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE executions SET record = ?", (orjson.dumps(old),))
    with closing(SQLiteStore(path)) as store:
        [stored] = list(store.load())
    assert stored.execution == replace(RECORD, pause=None, last_control=None)


def test_delete_removes_every_row_and_the_history_can_start_again(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    other = replace(RECORD, arn=f"{ARN}-other")
    with closing(SQLiteStore(path)) as store:
        store.write([ExecutionChange(RECORD, events=(STARTED,))])
        store.write([ExecutionChange(other, events=(STARTED,))])
        store.delete(ARN)
        assert [s.execution.arn for s in store.load()] == [other.arn]
        store.write([ExecutionChange(RECORD, events=(STARTED,))])  # EventIds from 1 again
    with closing(SQLiteStore(path)) as store:
        assert [s.execution.arn for s in store.load()] == [other.arn, ARN]


def test_an_engine_reloaded_from_sqlite_equals_the_one_that_paused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    clock = ManualClock()
    store = SQLiteStore(path)
    engine = Engine(store=store, clock=clock)
    engine.functions.add(FUNCTION)
    arn, token, request_id = start(engine, timeout_seconds=500)
    engine.pause_execution(arn, reason="r", execution_timeout_paused=True, client_token="c")
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=60)])
    engine.take_cancellations()
    engine.finish_invocation(arn, request_id, None)
    clock.advance(60)
    engine.fire_due_timers()
    done, _, done_request = start(engine)
    engine.finish_invocation(done, done_request, {"Status": "SUCCEEDED"})
    engine.delete_execution(done)
    expected = (engine.get_execution(arn), engine.events(arn), engine.record(arn))
    store.close()
    with closing(SQLiteStore(path)) as reopened:
        again = Engine(store=reopened, clock=clock)
        again.functions.add(FUNCTION)
        assert (again.get_execution(arn), again.events(arn), again.record(arn)) == expected
        assert again.get_execution(arn)["Status"] == "PAUSED"
        assert again.statistics().executions == 1
        assert again.take_invocations() == []
        clock.advance(40)
        again.resume_execution(arn)
        assert [r.execution_arn for r in again.take_invocations()] == [arn]
        expected_end = START_TIME + 500 + 100  # a 500 s timeout, paused for 100 s
        assert again.get_execution(arn)["ExpectedExecutionTimeoutTimestamp"] == expected_end
