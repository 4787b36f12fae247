"""Replay checks: a recorded operation must be the one the code asks for.

``ReplayHook`` lets a replay check (``trio_durable.testing.replay``) see every
operation the code asks for, and answer what to treat as its record.
"""

from __future__ import annotations

from typing import Protocol

from trio_durable.errors import NonDeterministicExecutionError
from trio_durable.wire import Operation, OperationType


class ReplayHook(Protocol):
    """Called by a context for each operation, before the usual replay check."""

    def operation(
        self,
        op_id: str,
        prefix: str | None,
        counter: int,
        type: OperationType,
        sub_type: str | None,
        name: str | None,
        parent_id: str | None,
        recorded: Operation | None,
    ) -> Operation | None:
        """The record to use for operation ``op_id`` (the ``counter``-th of the
        context numbered under ``prefix``), given the one the state holds."""
        ...


def check_replay(
    recorded: Operation,
    *,
    type: OperationType,
    sub_type: str | None,
    name: str | None,
    parent_id: str | None,
) -> None:
    """Raise ``NonDeterministicExecutionError`` naming every field that differs."""
    if (
        recorded.type is type
        and recorded.name == name
        and recorded.sub_type == sub_type
        and recorded.parent_id == parent_id
    ):
        return  # the common case, checked without building the comparison
    differences = [
        f"{field} {got!r} (recorded {was!r})"
        for field, got, was in (
            ("type", type.value, recorded.type.value),
            ("subtype", sub_type, recorded.sub_type),
            ("name", name, recorded.name),
            ("parent", parent_id, recorded.parent_id),
        )
        if got != was
    ]
    if differences:
        raise NonDeterministicExecutionError(
            f"operation {recorded.id} replays differently: the code now asks for "
            + ", ".join(differences)
            + "; a workflow must issue the same durable operations in the same order"
        )
