"""``SQLiteStore``: the engine's ``Store`` in one SQLite file, written incrementally.

Three tables: ``executions`` (one row per execution, upserted), ``operations``
(one row per operation, upserted when it changes) and ``events`` (append-only
history). ``write`` is one transaction, so a checkpoint costs one upsert per
changed row and one insert per new event, never a rewrite of the execution.

The file is in WAL mode with ``synchronous=NORMAL``: a committed write survives
the process being killed at any point (a power cut may lose the last few). The
connection holds an exclusive lock for its whole life, so a second service on
the same file fails at once instead of silently diverging.

Records are stored as orjson-encoded dataclass fields; ``_decode_*`` rebuild them.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson

from trio_durable.errors import DurableExecutionError, StoreError
from trio_durable.local import history
from trio_durable.local.store import (
    CheckpointBody,
    CheckpointReceipt,
    ControlReceipt,
    ExecutionChange,
    ExecutionRecord,
    OperationRecord,
    PauseState,
    StoredExecution,
    check_change,
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

DEFAULT_PATH = Path(".trio-durable") / "state.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY,
    record BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS operations (
    arn TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (arn, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    arn TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    event BLOB NOT NULL,
    PRIMARY KEY (arn, event_id)
) WITHOUT ROWID;
"""
_UPSERT_EXECUTION = (
    "INSERT INTO executions (arn, record) VALUES (?, ?)"
    " ON CONFLICT (arn) DO UPDATE SET record = excluded.record"
)
_UPSERT_OPERATION = (
    "INSERT INTO operations (arn, id, seq, record) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (arn, id) DO UPDATE SET seq = excluded.seq, record = excluded.record"
)
_INSERT_EVENT = "INSERT INTO events (arn, event_id, event) VALUES (?, ?, ?)"


class StoreLockedError(DurableExecutionError):
    """Another process already serves from this SQLite file."""


class SQLiteStore:
    """A ``Store`` in the SQLite file at ``path`` (created with its folder if missing)."""

    __slots__ = ("_conn", "_event_counts", "path")

    def __init__(self, path: str | Path = DEFAULT_PATH) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are explicit (BEGIN ... COMMIT in write).
            # check_same_thread is off because calls may come from a worker thread,
            # one at a time (the Store contract).
            self._conn = sqlite3.connect(
                self.path, timeout=0.1, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the state file {str(self.path)!r}: {_cause(exc)}"
            ) from None
        try:
            self._conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            # The first write takes the exclusive lock; it is kept after COMMIT.
            self._conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
            self._event_counts: dict[str, int] = dict(
                self._conn.execute("SELECT arn, MAX(event_id) FROM events GROUP BY arn").fetchall()
            )
        except sqlite3.Error as exc:
            self._conn.close()
            if exc.sqlite_errorname == "SQLITE_BUSY":
                raise StoreLockedError(
                    f"store {str(self.path)!r} is in use by another process"
                    " (is a trio-durable service already running on it?)"
                ) from None
            raise StoreError(
                f"the state file {str(self.path)!r} is not usable: {_open_cause(self.path, exc)}"
            ) from None

    def write(self, changes: Sequence[ExecutionChange]) -> None:
        """Apply ``changes`` in one transaction: all of them, or none on any error."""
        counts: dict[str, int] = {}
        for change in changes:
            arn = change.execution.arn
            count = counts.get(arn, self._event_counts.get(arn, 0))
            counts[arn] = check_change(change, count)
        executions = [(c.execution.arn, _encode(c.execution)) for c in changes]
        operations = [
            (c.execution.arn, record.operation.id, record.seq, _encode(record))
            for c in changes
            for record in c.operations
        ]
        events = [
            (c.execution.arn, history.event_id(event), orjson.dumps(history.to_wire(event)))
            for c in changes
            for event in c.events
        ]
        with self._transaction("save a change"):
            conn = self._conn
            conn.executemany(_UPSERT_EXECUTION, executions)
            if operations:
                conn.executemany(_UPSERT_OPERATION, operations)
            if events:
                conn.executemany(_INSERT_EVENT, events)
        self._event_counts.update(counts)

    def load(self) -> Iterator[StoredExecution]:
        """Every execution, in the order they were first written; ``StoreError``
        names the file and the damage when a row cannot be read back."""
        arn = None
        try:
            conn = self._conn
            rows = conn.execute("SELECT arn, record FROM executions ORDER BY rowid").fetchall()
            for arn, record in rows:
                yield self._load_one(arn, record)
        except (sqlite3.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            where = "" if arn is None else f" (execution {arn!r})"
            raise StoreError(
                f"the state file {str(self.path)!r} is damaged{where}: {_cause(exc)}"
            ) from None

    def load_execution(self, arn: str) -> StoredExecution | None:
        """One execution, or None; ``StoreError`` names the file and the cause
        when its rows cannot be read back."""
        try:
            row = self._conn.execute("SELECT record FROM executions WHERE arn = ?", (arn,))
            found = row.fetchone()
            return None if found is None else self._load_one(arn, found[0])
        except (sqlite3.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise StoreError(
                f"cannot read execution {arn!r} from the state file {str(self.path)!r}:"
                f" {_cause(exc)}"
            ) from None

    def _load_one(self, arn: str, record: bytes) -> StoredExecution:
        conn = self._conn
        operations = conn.execute(
            "SELECT record FROM operations WHERE arn = ? ORDER BY seq", (arn,)
        )
        events = conn.execute("SELECT event FROM events WHERE arn = ? ORDER BY event_id", (arn,))
        return StoredExecution(
            execution=_decode_execution(orjson.loads(record)),
            operations=tuple(_decode_operation_record(orjson.loads(r)) for (r,) in operations),
            events=tuple(history.from_wire(orjson.loads(e)) for (e,) in events),
        )

    def delete(self, arn: str) -> None:
        """Remove the execution's rows from the three tables in one transaction."""
        with self._transaction("delete an execution"):
            for table in ("events", "operations", "executions"):
                self._conn.execute(f"DELETE FROM {table} WHERE arn = ?", (arn,))
        self._event_counts.pop(arn, None)

    @contextmanager
    def _transaction(self, what: str) -> Iterator[None]:
        """One transaction: committed at the end, rolled back on any error. A
        failed write (disk full, I/O error) is a ``StoreError`` naming its cause.

        SQLite may already have rolled back on its own (it does on a full disk or
        an I/O error), so ROLLBACK is only sent while a transaction is open, and
        a failing ROLLBACK never hides the error that caused it.
        """
        conn = self._conn
        try:
            conn.execute("BEGIN")
            yield
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(
                    f"could not {what}: writing the state file {str(self.path)!r} failed"
                    f" with {_cause(exc)}; nothing was written"
                ) from None
            raise

    def close(self) -> None:
        self._conn.close()


def _open_cause(path: Path, exc: sqlite3.Error) -> str:
    """Why SQLite could not open ``path``: a read-only file or folder in words
    (SQLite reports them as I/O or locking errors), else SQLite's own message."""
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only"
    if not os.access(path.parent, os.W_OK):
        return f"its folder is read-only (SQLite writes {path.name}-wal next to it)"
    return _cause(exc)


def _cause(exc: BaseException) -> str:
    """What went wrong, in words: SQLite's message and its error name, or the
    OS error, or the decoding error."""
    if isinstance(exc, sqlite3.Error) and exc.sqlite_errorname:
        return f"{exc} ({exc.sqlite_errorname})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, KeyError):
        return f"a record lacks the field {exc}"
    return str(exc) or type(exc).__name__


# --- record codec -----------------------------------------------------------------
# orjson encodes the (slots) dataclasses field by field, enums by value, tuples as
# lists; decoding rebuilds them explicitly, so a stored file never runs code.


def _encode(record: ExecutionRecord | OperationRecord) -> bytes:
    return orjson.dumps(record, default=_encode_other)


def _encode_other(value: object) -> str:
    """A checkpoint receipt's body is written as its digest (what files hold)."""
    if isinstance(value, CheckpointBody):
        return value.digest()
    raise TypeError(f"cannot store a {type(value).__name__}")


def _decode_error(data: Mapping[str, Any] | None) -> ErrorObject | None:
    if data is None:
        return None
    trace = data.get("stack_trace")
    return ErrorObject(
        message=data.get("message"),
        type=data.get("type"),
        data=data.get("data"),
        stack_trace=None if trace is None else tuple(trace),
    )


def _decode_operation(data: Mapping[str, Any]) -> Operation:
    fields = dict(data)
    fields["type"] = OperationType(fields["type"])
    fields["status"] = OperationStatus(fields["status"])
    fields["error"] = _decode_error(fields.get("error"))
    return Operation(**fields)


def _decode_operation_record(data: Mapping[str, Any]) -> OperationRecord:
    fields = dict(data)
    fields["operation"] = _decode_operation(fields["operation"])
    return OperationRecord(**fields)


def _decode_receipt(data: Mapping[str, Any] | None) -> CheckpointReceipt | None:
    if data is None:
        return None
    result = data["result"]
    page = result["new_state"]
    return CheckpointReceipt(
        client_token=data["client_token"],
        checkpoint_token=data["checkpoint_token"],
        body=data.get("body"),
        result=CheckpointResult(
            checkpoint_token=result["checkpoint_token"],
            new_state=StatePage(
                operations=tuple(_decode_operation(op) for op in page["operations"]),
                next_marker=page.get("next_marker"),
            ),
        ),
    )


def _decode_execution(data: Mapping[str, Any]) -> ExecutionRecord:
    """Files written before pausing existed lack ``pause`` and ``last_control``:
    the record's defaults (not paused) apply."""
    fields = dict(data)
    fields["status"] = ExecutionStatus(fields["status"])
    fields["error"] = _decode_error(fields.get("error"))
    fields["last_checkpoint"] = _decode_receipt(fields.get("last_checkpoint"))
    pause = fields.get("pause")
    fields["pause"] = None if pause is None else PauseState(**pause)
    control = fields.get("last_control")
    fields["last_control"] = None if control is None else ControlReceipt(**control)
    return ExecutionRecord(**fields)
