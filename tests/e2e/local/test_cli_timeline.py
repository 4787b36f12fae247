"""The ``run`` timeline: what it prints, and when it lets a virtual clock jump."""

from __future__ import annotations

import io
import math
from dataclasses import replace

import trio.testing

from trio_durable.cli.render import describe_event
from trio_durable.cli.timeline import Timeline
from trio_durable.local.history import HistoryEvent
from trio_durable.local.store import ExecutionChange, ExecutionRecord, StoredExecution
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
CALLBACK_STARTED = HistoryEvent(
    "CallbackStarted", 2, 1001.5, {"CallbackId": "CB123"}, op_id="cb-op", name="approval"
)
CALLBACK_DONE = HistoryEvent(
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
