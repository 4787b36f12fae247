"""The ``run`` timeline: what it prints, how it nests operations, and when it lets a
virtual clock jump."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
import trio.testing

from trio_durable.cli.hosting import ObservedStore
from trio_durable.cli.render import describe_event
from trio_durable.cli.timeline import Timeline
from trio_durable.cli.tree import EventTree
from trio_durable.local.history import new_event
from trio_durable.local.store import ExecutionChange, ExecutionRecord, MemoryStore, StoredExecution
from trio_durable.runtime.ids import operation_id
from trio_durable.wire import ExecutionStatus

RECORD = ExecutionRecord(
    arn="arn-1",
    name="n",
    function_name="orders",
    status=ExecutionStatus.RUNNING,
    start_timestamp=1000.0,
    input_payload="{}",
    checkpoint_token="t",
    timeout_seconds=60,
    event_count=0,
)
CALLBACK_STARTED = new_event(
    "CallbackStarted", 2, 1001.5, {"CallbackId": "CB123"}, op_id="cb-op", name="approval"
)
CALLBACK_DONE = new_event(
    "CallbackSucceeded",
    4,
    1090.0,
    {"Result": {"Payload": '"yes"'}},
    op_id="cb-op",
    name="approval",
)


def _timeline() -> tuple[Timeline, trio.testing.MockClock, io.StringIO]:
    clock = trio.testing.MockClock(autojump_threshold=0)
    out = io.StringIO()
    return Timeline("orders", "http://127.0.0.1:1", clock=clock, out=out), clock, out


def test_the_clock_is_held_while_an_invocation_runs_or_a_callback_is_open() -> None:
    timeline, clock, out = _timeline()
    timeline.on_write([ExecutionChange(replace(RECORD, invocation_id="req-1"))])
    assert clock.autojump_threshold == math.inf
    assert "invocation #1 started" in out.getvalue()
    timeline.on_write([ExecutionChange(replace(RECORD, event_count=2), events=(CALLBACK_STARTED,))])
    assert clock.autojump_threshold == math.inf  # invocation over, callback still open
    assert "trio-durable callback succeed CB123 '<json result>'" in out.getvalue()
    assert "--endpoint http://127.0.0.1:1" in out.getvalue()
    timeline.on_write([ExecutionChange(replace(RECORD, event_count=4), events=(CALLBACK_DONE,))])
    assert clock.autojump_threshold == 0
    assert "[00:01:30.000] callback 'approval' succeeded -> \"yes\"" in out.getvalue()


def test_other_functions_are_ignored_and_loaded_history_is_replayed() -> None:
    timeline, clock, out = _timeline()
    other = replace(RECORD, function_name="billing", invocation_id="req-9")
    timeline.on_write([ExecutionChange(other, events=(CALLBACK_STARTED,))])
    assert out.getvalue() == ""
    assert clock.autojump_threshold == 0
    timeline.on_load(StoredExecution(replace(RECORD, event_count=2), (), (CALLBACK_STARTED,)))
    assert "history so far of arn-1" in out.getvalue()
    assert "CB123" in out.getvalue()
    assert clock.autojump_threshold == math.inf


def test_events_are_described_in_words() -> None:
    assert (
        describe_event(
            {
                "EventType": "StepFailed",
                "Name": "charge",
                "StepFailedDetails": {
                    "Error": {"Payload": {"ErrorType": "CardDeclined", "ErrorMessage": "no funds"}},
                    "RetryDetails": {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 5},
                },
            }
        )
        == "step 'charge' failed: CardDeclined: no funds (attempt 1, retry in 5 s)"
    )
    assert (
        describe_event(
            {"EventType": "WaitStarted", "Id": "w1", "WaitStartedDetails": {"Duration": 60}}
        )
        == "wait 'w1' started for 60 s"
    )
    crash = {
        "EventType": "InvocationCompleted",
        "InvocationCompletedDetails": {
            "Error": {"Payload": {"ErrorType": "Runtime.ExitError", "ErrorMessage": "exit 3"}}
        },
    }
    assert describe_event(crash) == "invocation completed: crashed with Runtime.ExitError: exit 3"


def _event(
    event_type: str, op_id: str, parent: str | None, sub_type: str, name: str
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "EventType": event_type,
        "Id": op_id,
        "SubType": sub_type,
        "Name": name,
    }
    if parent is not None:
        event["ParentId"] = parent
    return event


def test_the_tree_nests_batches_indexes_their_items_and_sums_them_up() -> None:
    tree = EventTree()
    outer = operation_id(None, 1)
    branches = [operation_id(outer, index) for index in range(2)]
    inner = operation_id(branches[1], 1)
    items = [operation_id(inner, index) for index in range(3)]
    step = operation_id(items[2], 1)
    placed = [
        tree.place(_event("ContextStarted", outer, None, "Parallel", "checks")),
        tree.place(_event("ContextStarted", branches[1], outer, "ParallelBranch", "b")),
        tree.place(_event("ContextStarted", inner, branches[1], "Map", "items")),
        tree.place(_event("ContextStarted", items[2], inner, "MapIteration", "last")),
        tree.place(_event("StepStarted", step, items[2], "Step", "charge")),
        tree.place(_event("StepFailed", step, items[2], "Step", "charge")),
        tree.place(_event("ContextFailed", items[2], inner, "MapIteration", "last")),
        tree.place(_event("ContextStarted", items[0], inner, "MapIteration", "first")),
        tree.place(_event("ContextSucceeded", items[0], inner, "MapIteration", "first")),
        tree.place(_event("ContextStarted", items[1], inner, "MapIteration", "middle")),
        tree.place(_event("ContextSucceeded", inner, branches[1], "Map", "items")),
        tree.place(_event("ContextSucceeded", branches[1], outer, "ParallelBranch", "b")),
        tree.place(_event("ContextSucceeded", outer, None, "Parallel", "checks")),
        tree.place({"EventType": "InvocationCompleted"}),
    ]
    assert [p.prefix for p in placed] == [
        "",
        "  [1] ",
        "    [1] ",
        "      [1][2] ",
        "        [1][2] ",
        "        [1][2] ",
        "      [1][2] ",
        "      [1][0] ",
        "      [1][0] ",
        "      [1][1] ",
        "    [1] ",
        "  [1] ",
        "",
        "",
    ]
    summaries = [(i, p.summary) for i, p in enumerate(placed) if p.summary is not None]
    assert summaries == [
        (10, "    map 'items': 3 items: 1 succeeded, 1 failed, 1 did not finish"),
        (12, "parallel 'checks': 1 branch: 1 succeeded"),
    ]


def test_a_failing_timeline_never_fails_the_store(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken:
        def on_load(self, stored: StoredExecution) -> None:
            raise RuntimeError("cannot show it")

        def on_write(self, changes: Sequence[ExecutionChange]) -> None:
            raise RuntimeError("cannot show it")

    inner = MemoryStore()
    store = ObservedStore(inner, Broken())
    store.write([ExecutionChange(RECORD)])
    assert [stored.execution.arn for stored in store.load()] == ["arn-1"]
    assert capsys.readouterr().err.count("the timeline failed to show a change") == 2
