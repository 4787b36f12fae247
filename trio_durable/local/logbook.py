"""What workflows log, kept per execution while the service runs.

``LogBook`` is a ``logging.Handler`` for the workflow logger (``ctx.logger`` and
step loggers, ``runtime/logger.py``): it keeps the latest records of each
execution, keyed by the ``execution_arn`` field that ``DurableLogger`` adds, for
the console and ``GET /local/executions/{arn}/logs``. The records live in the
service's memory only (a restart forgets them), bounded per execution and in
the number of executions. Listeners (``serve``'s live log) see each record as
it is kept. Records come from worker threads too, hence the lock.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trio_durable.runtime.logger import WORKFLOW_LOGGER

__all__ = ["LogBook", "LogEntry"]

MAX_RECORDS_PER_EXECUTION = 1000
MAX_EXECUTIONS = 1000


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One workflow log record, with the durable fields the logger added."""

    execution_arn: str
    timestamp: float
    level: str
    message: str
    operation_id: str | None = None
    operation_name: str | None = None
    attempt: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as the logs endpoint answers it."""
        out: dict[str, Any] = {
            "Timestamp": self.timestamp,
            "Level": self.level,
            "Message": self.message,
        }
        if self.operation_id is not None:
            out["OperationId"] = self.operation_id
        if self.operation_name is not None:
            out["OperationName"] = self.operation_name
        if self.attempt is not None:
            out["Attempt"] = self.attempt
        return out

    @classmethod
    def from_record(cls, record: logging.LogRecord) -> LogEntry | None:
        """The entry for ``record``, or None when it names no execution."""
        arn = getattr(record, "execution_arn", None)
        if not isinstance(arn, str):
            return None
        try:
            message = record.getMessage()
        except Exception as exc:  # a bad format string must not lose the record
            message = f"{record.msg!r} (unformattable: {exc})"
        attempt = getattr(record, "attempt", None)
        name = getattr(record, "operation_name", None)
        op_id = getattr(record, "operation_id", None)
        return cls(
            arn,
            record.created,
            record.levelname,
            message,
            op_id if isinstance(op_id, str) else None,
            name if isinstance(name, str) else None,
            attempt if isinstance(attempt, int) else None,
        )


class LogBook(logging.Handler):
    """The latest workflow log records of each execution (see the module doc)."""

    def __init__(
        self,
        *,
        per_execution: int = MAX_RECORDS_PER_EXECUTION,
        executions: int = MAX_EXECUTIONS,
    ) -> None:
        super().__init__(logging.NOTSET)
        self._per_execution = per_execution
        self._executions = executions
        self._records: OrderedDict[str, deque[LogEntry]] = OrderedDict()
        self._guard = threading.Lock()
        self._listeners: list[Callable[[LogEntry], None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        entry = LogEntry.from_record(record)
        if entry is not None:
            self.add(entry)

    def add(self, entry: LogEntry) -> None:
        """Keep ``entry`` (dropping the oldest beyond the bounds) and tell listeners."""
        with self._guard:
            kept = self._records.get(entry.execution_arn)
            if kept is None:
                kept = self._records[entry.execution_arn] = deque(maxlen=self._per_execution)
                while len(self._records) > self._executions:
                    self._records.popitem(last=False)
            kept.append(entry)
            listeners = tuple(self._listeners)
        for listener in listeners:
            listener(entry)

    def records(self, execution_arn: str) -> list[LogEntry]:
        """The kept records of one execution, oldest first."""
        with self._guard:
            return list(self._records.get(execution_arn, ()))

    def forget(self, execution_arn: str) -> None:
        """Drop an execution's records (it was deleted)."""
        with self._guard:
            self._records.pop(execution_arn, None)

    def listen(self, listener: Callable[[LogEntry], None]) -> None:
        """Call ``listener(entry)`` for every record kept from now on."""
        with self._guard:
            self._listeners.append(listener)

    def attach(self, logger: logging.Logger = WORKFLOW_LOGGER) -> None:
        """Receive ``logger``'s records: INFO and up, unless the program set its level."""
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        logger.addHandler(self)

    def detach(self, logger: logging.Logger = WORKFLOW_LOGGER) -> None:
        logger.removeHandler(self)

    def statistics(self) -> dict[str, int]:
        with self._guard:
            return {
                "executions": len(self._records),
                "records": sum(len(kept) for kept in self._records.values()),
            }
