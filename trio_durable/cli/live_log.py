"""``serve``'s live log: one line per execution start and end, per invocation, per
operation start and end, and per ``ctx.logger`` record, each tagged with the
execution's short name.

``LiveLog`` observes the store's writes (``hosting.ObservedStore``) and listens to
the service's ``LogBook``. Text lines read ``HH:MM:SS.mmm UTC [name] what`` (the
event's time in UTC); ``json`` writes one object per line instead, for scripts,
its times as ISO 8601 text in UTC.

The service never waits for its terminal: lines go to a bounded queue that a
writer thread empties, so a pipe nobody reads (or a paused pager) cannot block
the service; lines beyond the bound are dropped and counted in a line of their
own once the output moves again. Lines may come from worker threads too (step
bodies log there). Nothing is written before ``start(banner)``: the banner goes
through the same writer, so it is always the first thing printed and no line of
the log ever cuts into it.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson

from trio_durable.cli.render import describe_event, iso_utc, short
from trio_durable.local import history
from trio_durable.local.logbook import LogEntry
from trio_durable.local.store import ExecutionChange, ExecutionRecord, StoredExecution
from trio_durable.wire import ExecutionStatus

LogFormat = Literal["text", "json"]
SHORT_NAME = 8
"""Characters of an execution's name that tag its lines."""
MAX_QUEUED_LINES = 10_000
"""Lines waiting for the terminal beyond which new ones are dropped."""


def short_name(name: str) -> str:
    """An execution's tag: its name, or the first characters of a long one."""
    return name if len(name) <= SHORT_NAME + 4 else name[:SHORT_NAME]


class LiveLog:
    """Writes the live log of every execution to ``out`` (see the module doc)."""

    def __init__(
        self,
        *,
        log_format: LogFormat = "text",
        out: TextIO | None = None,
        max_queued: int = MAX_QUEUED_LINES,
    ) -> None:
        self._format = log_format
        self._out = out if out is not None else sys.stdout
        self._max_queued = max_queued
        self._queue: deque[str] = deque()
        self._dropped = 0
        self._closed = False
        self._ready = threading.Condition()
        self._writer = threading.Thread(target=self._write_lines, name="live log", daemon=True)
        self._names: dict[str, str] = {}
        self._invocation: dict[str, str | None] = {}
        self._invocations: dict[str, int] = {}

    # --- StoreObserver ------------------------------------------------------------

    def on_load(self, stored: StoredExecution) -> None:
        """An execution already in the store: remembered, not replayed into the log."""
        record = stored.execution
        self._names[record.arn] = record.name
        self._invocation[record.arn] = None
        self._invocations[record.arn] = sum(
            1 for event in stored.events if history.event_type(event) == "InvocationCompleted"
        )

    def on_write(self, changes: Sequence[ExecutionChange]) -> None:
        for change in changes:
            record = change.execution
            self._names[record.arn] = record.name
            for event in change.events:
                self._event(record, history.to_wire(event))
            previous = self._invocation.get(record.arn)
            if record.invocation_id is not None and record.invocation_id != previous:
                count = self._invocations.get(record.arn, 0) + 1
                self._invocations[record.arn] = count
                text = f"invocation #{count} started" + (" (replay)" if count > 1 else "")
                self._write(record, record.invocation_start, "invocation", text, None)
            self._invocation[record.arn] = record.invocation_id
            if record.closed:
                self._invocation.pop(record.arn, None)
                self._invocations.pop(record.arn, None)

    # --- LogBook listener ---------------------------------------------------------

    def on_log(self, entry: LogEntry) -> None:
        name = self._names.get(entry.execution_arn, entry.execution_arn.rsplit("/", 2)[-2])
        where = f" ({entry.operation_name})" if entry.operation_name else ""
        text = f"log {entry.level}{where}: {entry.message}"
        if self._format == "json":
            record = entry.to_json()
            record["Timestamp"] = iso_utc(entry.timestamp)
            self._json(
                {
                    "Timestamp": iso_utc(entry.timestamp),
                    "Kind": "log",
                    "ExecutionArn": entry.execution_arn,
                    "ExecutionName": name,
                    "Text": text,
                    "Record": record,
                }
            )
        else:
            self._text(entry.timestamp, name, text)

    # --- writing ------------------------------------------------------------------

    def _event(self, record: ExecutionRecord, event: Mapping[str, Any]) -> None:
        event_type: str = event.get("EventType", "")
        text = describe_event(event)
        if event_type == "ExecutionStarted":
            text = f"execution {record.name!r} of {record.function_name} started"
            payload = ((event.get("ExecutionStartedDetails") or {}).get("Input") or {}).get(
                "Payload"
            )
            if payload is not None:
                text += f" with input {short(payload)}"
        elif event_type == "InvocationCompleted" and record.status is ExecutionStatus.RUNNING:
            if record.pause is not None:
                text += ", execution paused"
            else:
                text += ", re-invoking" if record.wake else ", execution suspended"
        kind = "execution" if event_type.startswith("Execution") else "operation"
        if event_type.startswith("Invocation"):
            kind = "invocation"
        self._write(record, event.get("EventTimestamp"), kind, text, event)

    def _write(
        self,
        record: ExecutionRecord,
        timestamp: float | None,
        kind: str,
        text: str,
        event: Mapping[str, Any] | None,
    ) -> None:
        if self._format == "json":
            line: dict[str, Any] = {
                "Timestamp": None if timestamp is None else iso_utc(timestamp),
                "Kind": kind,
                "ExecutionArn": record.arn,
                "ExecutionName": record.name,
                "FunctionName": record.function_name,
                "Text": text,
            }
            if event is not None:
                line["Event"] = _with_iso_times(event)
            self._json(line)
        else:
            self._text(timestamp, record.name, text)

    def _text(self, timestamp: float | None, name: str, text: str) -> None:
        when = _utc_time(timestamp) if timestamp is not None else " " * 16
        self._put(f"{when} [{short_name(name)}] {text}")

    def _json(self, line: Mapping[str, Any]) -> None:
        self._put(orjson.dumps(line).decode())

    def _put(self, line: str) -> None:
        with self._ready:
            if len(self._queue) >= self._max_queued:
                self._dropped += 1
                return
            self._queue.append(line)
            self._ready.notify()

    def start(self, banner: Sequence[str] = ()) -> None:
        """Start writing: ``banner``'s lines first, then the log queued so far and to come."""
        with self._ready:
            self._queue.extendleft(reversed(banner))
        self._writer.start()

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds), then stop."""
        if self._writer.ident is None:
            self.start()  # never started (serving failed): still show what happened
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._writer.join(timeout)

    def _write_lines(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                lines = list(self._queue)
                self._queue.clear()
                dropped, self._dropped = self._dropped, 0
            if dropped:
                lines.insert(0, f"({dropped} log lines dropped: the output did not keep up)")
            try:
                self._out.write("".join(f"{line}\n" for line in lines))
                self._out.flush()
            except (OSError, ValueError):
                return  # the output is gone (a closed pipe): stop writing


def _utc_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%H:%M:%S.%f")[:-3] + " UTC"


def _with_iso_times(event: Mapping[str, Any]) -> dict[str, Any]:
    """A history event with its time as ISO 8601 text, as ``history --json`` shows it."""
    out = dict(event)
    if isinstance(stamp := out.get("EventTimestamp"), int | float):
        out["EventTimestamp"] = iso_utc(stamp)
    return out
