"""Where each history event sits in its execution's tree of operations, for the
nested timelines of ``run`` and ``history``: the depth of its operation (child
contexts, map items, parallel branches), the item indexes on the way to it, and
each map's or parallel's tally, summed up in one line when it ends.

Fed the events of one execution in order (sans-IO). An item's index is found
from its operation id, which the SDK derives from the batch's id and the index
(``runtime/ids.py``), so it is right whatever order the items ran in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trio_durable.runtime.ids import operation_id

_BATCHES = {
    "Map": ("map", "MapIteration", "item", "items"),
    "Parallel": ("parallel", "ParallelBranch", "branch", "branches"),
}
"""A batch's SubType -> what to call it, its items' SubType, what to call them."""
_MAX_ITEMS = 200_000
"""How far an item's index is looked for (a map this long is far beyond any page)."""


@dataclass
class _Batch:
    """A map or parallel: its items' ids by index, and how each item ended."""

    batch_id: str
    kind: str
    branch_sub_type: str
    noun: tuple[str, str]
    indexes: dict[str, int] = field(default_factory=dict)
    searched: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)

    def index_of(self, op_id: str) -> int | None:
        while op_id not in self.indexes and self.searched < _MAX_ITEMS:
            self.indexes[operation_id(self.batch_id, self.searched)] = self.searched
            self.searched += 1
        return self.indexes.get(op_id)

    def summary(self) -> str:
        """``50 items: 46 succeeded, 4 failed`` (and those that did not finish)."""
        total = len(self.outcomes)
        counts: dict[str, int] = {}
        for outcome in self.outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        parts = [f"{counts[word]} {word}" for word in _OUTCOME_ORDER if counts.get(word)]
        noun = self.noun[0] if total == 1 else self.noun[1]
        return f"{total} {noun}: {', '.join(parts)}" if parts else f"{total} {noun}"


_OUTCOME_ORDER = ("succeeded", "failed", "did not finish")


@dataclass(frozen=True)
class Placement:
    """How to show one event: ``prefix`` goes before its line (indent and item
    indexes); ``summary``, when the event ends a map or parallel, is the line
    that follows it (already indented)."""

    prefix: str
    summary: str | None = None


@dataclass(frozen=True)
class _Node:
    depth: int
    path: str


class EventTree:
    """The tree of one execution's operations, built from its events in order."""

    def __init__(self) -> None:
        self._nodes: dict[str, _Node] = {}
        self._batches: dict[str, _Batch] = {}

    def place(self, event: Mapping[str, Any]) -> Placement:
        """Note ``event`` and say how to show it."""
        op_id = event.get("Id")
        if op_id is None:  # the execution's and invocations' own events
            return Placement("")
        node = self._nodes.get(op_id) or self._add(op_id, event)
        prefix = "  " * node.depth + (f"{node.path} " if node.path else "")
        parent = self._batches.get(event.get("ParentId") or "")
        event_type: str = event.get("EventType", "")
        if parent is not None and event.get("SubType") == parent.branch_sub_type:
            if event_type.endswith("Started"):
                parent.outcomes.setdefault(op_id, "did not finish")
            elif event_type.endswith("Succeeded"):
                parent.outcomes[op_id] = "succeeded"
            elif event_type.endswith(("Failed", "TimedOut", "Stopped", "Cancelled")):
                parent.outcomes[op_id] = "failed"
        batch = self._batches.get(op_id)
        ended = event_type in ("ContextSucceeded", "ContextFailed")
        if batch is not None and ended and batch.outcomes:
            label = event.get("Name") or op_id[:12]
            line = f"{batch.kind} {label!r}: {batch.summary()}"
            return Placement(prefix, "  " * node.depth + line)
        return Placement(prefix)

    def _add(self, op_id: str, event: Mapping[str, Any]) -> _Node:
        parent_id = event.get("ParentId")
        parent = self._nodes.get(parent_id) if parent_id else None
        depth = 0 if not parent_id else (parent.depth + 1 if parent else 1)
        path = parent.path if parent else ""
        batch = self._batches.get(parent_id or "")
        if batch is not None and event.get("SubType") == batch.branch_sub_type:
            index = batch.index_of(op_id)
            if index is not None:
                path += f"[{index}]"
        node = self._nodes[op_id] = _Node(depth, path)
        kind = _BATCHES.get(event.get("SubType") or "")
        if kind is not None:
            self._batches[op_id] = _Batch(op_id, kind[0], kind[1], (kind[2], kind[3]))
        return node
