"""``run``'s live timeline: the events of one function's executions, printed as
the store loads and writes them, nested by parent operation (``tree``); it also
decides when ``--skip-time`` may jump."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from trio_durable.cli.render import callback_commands, clock_text, describe_event
from trio_durable.cli.tree import EventTree
from trio_durable.local import history
from trio_durable.local.store import ExecutionChange, ExecutionRecord, StoredExecution
from trio_durable.wire import ExecutionStatus

if TYPE_CHECKING:
    from trio.testing import MockClock

_TERMINAL_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionStopped"}
)


@dataclass
class Timeline:
    """Prints the events of one function's executions as they are loaded and written.

    With ``clock`` (``run --skip-time``) it lets the clock jump only while nothing
    is under way that only real time can move on: an invocation in flight, a
    callback waiting for someone outside, or a pause waiting for a resume.
    """

    function_name: str
    endpoint: str
    clock: MockClock | None = None
    out: TextIO = sys.stderr
    open_callbacks: set[str] = field(default_factory=set)
    invocations: int = 0
    in_flight: bool = False
    paused: set[str] = field(default_factory=set)
    _invocation_id: str | None = None
    _starts: dict[str, float] = field(default_factory=dict)
    _trees: dict[str, EventTree] = field(default_factory=dict)

    def on_load(self, stored: StoredExecution) -> None:
        """An execution that was already in the store: print its history so far."""
        record = stored.execution
        if record.function_name != self.function_name or record.closed:
            return
        self._starts[record.arn] = record.start_timestamp
        print(f"{'':14}history so far of {record.arn}:", file=self.out, flush=True)
        for event in stored.events:
            self._print_event(record, history.to_wire(event))
        self._note_pause(record)
        self._hold_clock()

    def on_write(self, changes: Sequence[ExecutionChange]) -> None:
        for change in changes:
            record = change.execution
            if record.function_name != self.function_name:
                continue
            self._starts.setdefault(record.arn, record.start_timestamp)
            for event in change.events:
                self._print_event(record, history.to_wire(event))
            if record.invocation_id is not None and record.invocation_id != self._invocation_id:
                self.invocations += 1
                replay = " (replay)" if self.invocations > 1 else ""
                self._line(
                    record.arn,
                    record.invocation_start,
                    f"invocation #{self.invocations} started{replay}",
                )
            self._invocation_id = record.invocation_id
            self.in_flight = record.invocation_id is not None
            self._note_pause(record)
        self._hold_clock()

    @property
    def idle(self) -> bool:
        """No invocation is running, no callback waits for the outside world and no
        execution waits to be resumed."""
        return not self.in_flight and not self.open_callbacks and not self.paused

    def _note_pause(self, record: ExecutionRecord) -> None:
        if record.pause is None:
            self.paused.discard(record.arn)
        else:
            self.paused.add(record.arn)

    def _hold_clock(self) -> None:
        """Let a virtual clock jump only while idle (else it runs at real speed)."""
        if self.clock is not None:
            self.clock.autojump_threshold = 0 if self.idle else math.inf

    def _print_event(self, record: ExecutionRecord, event: Mapping[str, Any]) -> None:
        event_type = event.get("EventType", "")
        op_id = event.get("Id")
        if event_type == "CallbackStarted" and op_id is not None:
            self.open_callbacks.add(op_id)
        elif event_type.startswith("Callback") and op_id is not None:
            self.open_callbacks.discard(op_id)
        elif event_type in _TERMINAL_EVENTS:
            self.open_callbacks.clear()
        tree = self._trees.setdefault(record.arn, EventTree())
        placement = tree.place(event)
        text = placement.prefix + describe_event(event)
        if event_type == "InvocationCompleted" and record.status is ExecutionStatus.RUNNING:
            if record.pause is not None:
                text += ", execution paused"
            else:
                text += ", execution suspended" if not record.wake else ", re-invoking"
        self._line(record.arn, event.get("EventTimestamp"), text)
        if placement.summary is not None:
            self._line(record.arn, event.get("EventTimestamp"), placement.summary)
        if event_type == "CallbackStarted":
            details = event.get("CallbackStartedDetails") or {}
            callback_id = details.get("CallbackId", "?")
            indent = " " * (len(placement.prefix) - len(placement.prefix.lstrip()))
            for command in callback_commands(callback_id, self.endpoint):
                print(f"{'':14}{indent}complete it: {command}", file=self.out, flush=True)

    def _line(self, arn: str, timestamp: float | None, text: str) -> None:
        start = self._starts.get(arn, 0.0)
        when = clock_text(timestamp - start) if timestamp is not None else ""
        print(f"[{when:>12}] {text}", file=self.out, flush=True)
