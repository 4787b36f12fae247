"""Golden histories: an execution's record in a form that stays the same run to run.

``golden_history(result)`` keeps what a workflow decides (each operation's type,
subtype, name, parent, status and its events' types and payloads) and drops or
replaces what changes between runs: operation ids become their position in
program order (``"2.1"``: the first operation of the second one), timestamps,
stack traces and request ids are dropped, callback ids and ARNs are replaced.
Operations are listed in program order, each with its own events, so concurrent
branches that interleave differently from run to run give the same file.

``check_golden(result, path, update=...)`` writes the file when it does not exist
(or ``update`` is true) and otherwise compares, raising ``GoldenMismatch`` with a
diff.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from trio_durable.runtime.ids import operation_id
from trio_durable.wire import Operation, OperationType, error_to_wire

if TYPE_CHECKING:
    from trio_durable.testing.runner import ExecutionResult

__all__ = [
    "GOLDEN_FORMAT",
    "GoldenMismatch",
    "check_golden",
    "golden_history",
    "operation_positions",
]

GOLDEN_FORMAT = "trio-durable-golden/1"

_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[^\s\"']+")
_DROPPED_KEYS = frozenset({"StackTrace", "RequestId", "Truncated"})
_SKIPPED_EVENTS = frozenset({"InvocationCompleted"})


class GoldenMismatch(AssertionError):
    """An execution's history differs from its golden file."""


def golden_history(result: ExecutionResult[Any]) -> dict[str, Any]:
    """The run-independent form of ``result``'s history (JSON-ready)."""
    positions = operation_positions(result.operations)
    events: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for event in result.events:
        kind = event["EventType"]
        if kind in _SKIPPED_EVENTS:
            continue
        entry: dict[str, Any] = {"type": kind}
        details = _normal(event.get(f"{kind}Details") or {})
        if details:
            entry["details"] = details
        events[event.get("Id")].append(entry)
    execution_events = [
        e for op in result.operations if op.type is OperationType.EXECUTION for e in events[op.id]
    ] + events[None]
    operations = [
        {
            "id": positions[op.id],
            "type": op.type.value,
            "sub_type": op.sub_type,
            "name": op.name,
            "parent": positions.get(op.parent_id) if op.parent_id else None,
            "status": op.status.value,
            "events": events[op.id],
        }
        for op in sorted(
            (op for op in result.operations if op.type is not OperationType.EXECUTION),
            key=lambda op: _sort_key(positions[op.id]),
        )
    ]
    return {
        "format": GOLDEN_FORMAT,
        "status": result.status,
        "result": _normal(result.value),
        "error": None if result.error is None else _normal(error_to_wire(result.error)),
        "execution": execution_events,
        "operations": operations,
    }


def check_golden(result: ExecutionResult[Any], path: Path, *, update: bool = False) -> bool:
    """Compare ``result`` with the golden file at ``path``; write it instead when it
    does not exist or ``update`` is true. Returns whether the file was written."""
    actual = _dump(golden_history(result))
    if update or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return True
    expected = path.read_text(encoding="utf-8")
    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"{path} (golden)",
                tofile="this run",
            )
        )
        raise GoldenMismatch(
            f"the history differs from {path} (rerun with --update-golden to accept it):\n{diff}"
        )
    return False


def _dump(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def operation_positions(operations: tuple[Operation, ...]) -> dict[str, str]:
    """Operation id -> its position in program order: ``"3"`` for the workflow's
    third operation, ``"3.2"`` for the second inside it.

    Ids are ``operation_id(parent, counter)``, so the counter is found by hashing;
    an operation numbered under another prefix (a flat batch branch's) falls back
    to the order it was created in, after its numbered siblings."""
    by_parent: dict[str | None, list[Operation]] = defaultdict(list)
    for op in operations:
        if op.type is not OperationType.EXECUTION:
            by_parent[op.parent_id].append(op)
    counters: dict[str, int] = {}
    for parent, children in by_parent.items():
        wanted = {op.id for op in children}
        for counter in range(len(children) + 1):  # a batch's branches count from 0
            found = operation_id(parent, counter)
            if found in wanted:
                counters[found] = counter
        late = len(children)
        for op in children:
            if op.id not in counters:
                late += 1
                counters[op.id] = late
    by_id = {op.id: op for op in operations}
    positions: dict[str, str] = {}

    def position(op: Operation) -> str:
        known = positions.get(op.id)
        if known is None:
            parent = by_id.get(op.parent_id or "")
            if parent is None or parent.type is OperationType.EXECUTION:
                known = str(counters[op.id])
            else:
                known = f"{position(parent)}.{counters[op.id]}"
            positions[op.id] = known
        return known

    for op in operations:
        if op.type is not OperationType.EXECUTION:
            position(op)
    return positions


def _sort_key(position: str) -> tuple[int, ...]:
    """``"3.10"`` after ``"3.9"``."""
    return tuple(int(part) for part in position.split("."))


def _normal(value: Any) -> Any:
    """``value`` without timestamps, stack traces and request ids; callback ids and
    ARNs replaced; JSON payload strings parsed, so the file shows their content."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _DROPPED_KEYS or key.endswith("Timestamp"):
                continue
            if key == "CallbackId":
                out[key] = "<callback id>"
            elif key == "Payload" and isinstance(item, str):
                out[key] = _normal(_parsed(item))
            else:
                out[key] = _normal(item)
        return out
    if isinstance(value, list | tuple):
        return [_normal(item) for item in value]
    if isinstance(value, str):
        return _ARN.sub("<arn>", value)
    return value


def _parsed(payload: str) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload
