"""State pages: the first page of an invocation's state (``InvocationRequest``),
the pages of ``GetDurableExecutionState``, and the rest of a checkpoint's
NewExecutionState when it does not fit one page (a ``d``-marker)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from trio_durable.errors import invalid_parameter
from trio_durable.local import arns
from trio_durable.local.engine.staging import Execution
from trio_durable.local.validation import offset_marker
from trio_durable.wire import Operation, StatePage, error_size, state_page_to_wire

MAX_PAGE_BYTES = 5 * 1024 * 1024
"""Rough byte budget of one page of operations, so a page fits a Lambda event."""

START_MARKER = "0"
"""The marker of a state listing's first page (``get_execution_state`` offsets)."""


class LazyStatePage:
    """An invocation's first state page, built on first use: only invokers that
    send the event somewhere need it, and building it costs a pass over up to a
    page of operations. It shows the operations as they are then (an outside
    change made meanwhile is in it: as if the handler had read the state a
    moment later)."""

    __slots__ = ("_ex", "_page", "_page_size")

    def __init__(self, ex: Execution, page_size: int) -> None:
        self._ex = ex
        self._page_size = page_size
        self._page: StatePage | None = None

    def get(self) -> StatePage:
        if self._page is None:
            ex, size = self._ex, self._page_size
            first, rest_marker, _ = first_page(
                tuple(ex.ops[op_id].operation for op_id in ex.order[: size + 1]), "s", size
            )
            self._page = StatePage(first, rest_marker)
        return self._page


@dataclass(frozen=True, slots=True)
class InvocationRequest:
    """One invocation the engine asks for, with the first page of the state, the
    operations that changed since the handler last saw the state (a timer, a
    callback, a chained invoke's end), the tenant the execution was invoked for,
    and the X-Ray header of the invocation (the execution's, its ``Parent`` the
    invocation's segment: ``local/xray.py``)."""

    execution_arn: str
    function_name: str
    request_id: str
    checkpoint_token: str
    lazy_first_page: LazyStatePage
    updated_operation_ids: tuple[str, ...] = ()
    tenant_id: str | None = None
    trace_header: str | None = None
    updated_operations: tuple[Operation, ...] = ()
    after_pending: str | None = None
    operation_count: int = 0

    @property
    def first_page(self) -> StatePage:
        """The first page of the state (built on first use: ``LazyStatePage``)."""
        return self.lazy_first_page.get()

    @property
    def event(self) -> dict[str, Any]:
        """The Lambda event (rendered on each access: only invokers that send it
        somewhere pay for the wire conversion)."""
        return self._event(self.first_page)

    def paged_event(self) -> dict[str, Any]:
        """The event with an empty first page whose marker points at the start of
        the state: a handler in this process then reads every page through its
        client, as dataclasses, with no wire conversion either way."""
        return self._event(StatePage((), START_MARKER))

    def _event(self, page: StatePage) -> dict[str, Any]:
        return {
            "DurableExecutionArn": self.execution_arn,
            "CheckpointToken": self.checkpoint_token,
            "InitialExecutionState": state_page_to_wire(page),
            "UpdatedOperationIds": list(self.updated_operation_ids),
        }


def first_page(
    ops: tuple[Operation, ...], kind: str, page_size: int
) -> tuple[tuple[Operation, ...], str | None, tuple[Operation, ...]]:
    """The first page of ``ops``, the marker of the rest (if any) and ``ops``:
    kind ``s`` pages the state by offset, ``d`` a checkpoint's delta."""
    page = take_page(ops[:page_size])
    if len(page) == len(ops):
        return page, None, ops
    if kind == "s":
        return page, str(len(page)), ops
    return page, f"d{arns.new_request_id()}:{len(page)}", ops


def state_page(ex: Execution, marker: str | None, limit: int) -> StatePage:
    """One page of the state in creation order, or of the rest of a paged
    NewExecutionState when ``marker`` came from a checkpoint."""
    if marker is not None and marker.startswith("d"):
        prefix, _, offset_text = marker.rpartition(":")
        if ex.delta is None or ex.delta[0] != prefix:
            raise invalid_parameter(f"Marker: {marker!r} is not a marker of this execution")
        ops = ex.delta[1]
        offset = offset_marker(offset_text, len(ops))
        page = take_page(ops[offset : offset + limit])
        end = offset + len(page)
        return StatePage(page, f"{prefix}:{end}" if end < len(ops) else None)
    offset = offset_marker(marker, len(ex.order))
    page = take_page(ex.ops[op_id].operation for op_id in ex.order[offset : offset + limit])
    end = offset + len(page)
    return StatePage(page, str(end) if end < len(ex.order) else None)


def take_page(ops: Iterable[Operation]) -> tuple[Operation, ...]:
    """The leading ``ops`` that fit the page byte budget (at least one, so paging
    always progresses)."""
    page: list[Operation] = []
    budget = MAX_PAGE_BYTES
    for op in ops:
        cost = _op_bytes(op)
        if page and cost > budget:
            break
        budget -= cost
        page.append(op)
    return tuple(page)


def _op_bytes(op: Operation) -> int:
    size = 300
    for text in (op.result, op.input_payload):
        if text is not None:
            size += len(text)
    if op.error is not None:
        size += error_size(op.error)
    return size
