"""Plugins: sync lifecycle hooks that observe a durable execution.

A ``Plugin`` overrides the hooks it needs; the runtime calls them, in the
order the plugins were registered, with frozen info objects:

- ``on_invocation_start`` before the workflow runs (``is_first_invocation`` is
  false when the service has recorded operations already: a replay), and
  ``on_invocation_end`` once the invocation's answer is final (``status`` is
  SUCCEEDED, FAILED, or PENDING for a suspension). Both carry the request id,
  the execution's start time and the operations map; the start info also
  ``updated_operations``: what changed outside the handler since it last ran
  (a wait that elapsed, a callback delivered), as the service reports it.
- ``on_operation_start`` when an operation starts in this invocation, or is
  resumed from an earlier invocation's unfinished record (``is_replayed``).
- ``on_operation_end`` once an operation's terminal status is recorded: when
  the service's answer to its terminal checkpoint is merged, or, for one that
  ended outside the handler (a wait, a callback, a chained invoke), at the
  start of the first invocation that sees it ended. Each operation ends once.
- ``on_operation_change`` after each merge of the service's answer that changed
  the status of an operation: the changed ones and the whole map.
- ``on_attempt_start`` / ``on_attempt_end`` around each run of user code an
  operation makes: a step's function (one per attempt), a wait_for_condition
  check, a child context's, parallel branch's or map item's function
  (``is_replaying_children``: it runs again over recorded children).

Hooks are sync and must not block: they run on the workflow's event loop. A
hook that raises is logged (naming the plugin and hook) and ignored: plugins
observe, they never change what is recorded or returned.

Which plugins run, and how many instances: ``plugin_registry.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from trio_durable.wire import (
    ErrorObject,
    InvocationStatus,
    Operation,
    OperationStatus,
    OperationType,
    trace_header_problem,
)

PLUGIN_LOGGER = logging.getLogger("trio_durable.plugins")


def utc_time(timestamp: float | None) -> datetime | None:
    """An epoch-seconds timestamp as an aware UTC datetime."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationInfo:
    """The operation a hook is about, as recorded (or about to be, for a live start).

    ``is_replayed``: the operation was recorded before this invocation began.
    ``status`` is STARTED for a live start; ``start_time``/``end_time`` are the
    service's timestamps (``None`` until it has recorded them); ``attempt`` is a
    step's current attempt; ``result`` the serialized result, ``error`` the error.
    """

    execution_arn: str
    operation_id: str
    operation_type: OperationType
    sub_type: str | None
    name: str | None
    parent_id: str | None
    is_replayed: bool
    status: OperationStatus
    start_time: datetime | None = None
    end_time: datetime | None = None
    attempt: int | None = None
    result: str | None = field(default=None, repr=False)
    error: ErrorObject | None = None

    @classmethod
    def of(cls, execution_arn: str, op: Operation, *, is_replayed: bool) -> OperationInfo:
        """The info of a recorded operation."""
        return cls(
            execution_arn=execution_arn,
            operation_id=op.id,
            operation_type=op.type,
            sub_type=op.sub_type,
            name=op.name,
            parent_id=op.parent_id,
            is_replayed=is_replayed,
            status=op.status,
            start_time=utc_time(op.start_timestamp),
            end_time=utc_time(op.end_timestamp),
            attempt=op.attempt,
            result=op.result,
            error=op.error,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationEndInfo(OperationInfo):
    """An operation at its recorded terminal status."""

    @classmethod
    def of(cls, execution_arn: str, op: Operation, *, is_replayed: bool) -> OperationEndInfo:
        return cls(**_fields(OperationInfo.of(execution_arn, op, is_replayed=is_replayed)))


class OperationsView(Mapping[str, OperationInfo]):
    """Operations by id, as ``OperationInfo``s made on access (a snapshot: later
    changes do not show). ``len()`` and ``in`` cost nothing per operation."""

    __slots__ = ("_arn", "_ops", "_replayed")

    def __init__(
        self, execution_arn: str, ops: Mapping[str, Operation], replayed: frozenset[str]
    ) -> None:
        self._arn = execution_arn
        self._ops = ops
        self._replayed = replayed

    def __getitem__(self, op_id: str) -> OperationInfo:
        return OperationInfo.of(self._arn, self._ops[op_id], is_replayed=op_id in self._replayed)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ops)

    def __len__(self) -> int:
        return len(self._ops)


def _no_operations() -> Mapping[str, OperationInfo]:
    return OperationsView("", {}, frozenset())


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationChangeInfo:
    """Operations whose status a merge of the service's answer changed
    (``updated_operations``, newest state), and every operation (``operations``)."""

    execution_arn: str
    updated_operations: Mapping[str, OperationInfo]
    operations: Mapping[str, OperationInfo] = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class InvocationInfo:
    """The invocation a hook is about.

    ``request_id`` is the Lambda request id (``lambda_context.aws_request_id``),
    ``lambda_context`` the handler's Lambda context itself (``None`` when it was
    given none); ``execution_start_time`` when the execution started;
    ``operations`` the execution's operations as this hook sees them (at the
    invocation's start, or at its end).
    """

    execution_arn: str
    is_first_invocation: bool
    request_id: str | None = None
    execution_start_time: datetime | None = None
    operations: Mapping[str, OperationInfo] = field(default_factory=_no_operations, repr=False)
    lambda_context: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class InvocationStartInfo(InvocationInfo):
    """An invocation about to run the workflow. ``updated_operations``: the
    operations that changed outside the handler since it last ran (the
    invocation event's ``UpdatedOperationIds``; empty on the first invocation)."""

    updated_operations: Mapping[str, OperationInfo] = field(
        default_factory=_no_operations, repr=False
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class InvocationEndInfo(InvocationInfo):
    """How the invocation ended: its answer's status, the error when FAILED, and
    the serialized result when SUCCEEDED (``""`` when it was checkpointed
    because it did not fit the answer)."""

    status: InvocationStatus
    error: ErrorObject | None = None
    execution_result: str | None = field(default=None, repr=False)


class AttemptOutcome(StrEnum):
    """How one run of user code ended; INCOMPLETE: it was cut short (the
    invocation suspended, or failed, while it ran)."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    INCOMPLETE = "INCOMPLETE"


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptInfo(OperationInfo):
    """One run of an operation's user code. ``attempt`` counts a step's (or a
    wait_for_condition check's) runs from 1, ``None`` for a context function;
    ``start_time`` is when this run began; ``is_replaying_children``: a context
    function running again over its recorded children."""

    is_replaying_children: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptEndInfo(AttemptInfo):
    """One run of user code, finished: ``end_time``, ``outcome`` and, when it
    raised, ``error``."""

    outcome: AttemptOutcome


class Plugin:
    """Base class of plugins: every hook is a no-op; override the ones you need.

    ``exclusive_group``: plugins (or factories) of one group may not be
    registered together (two tracers, say); registering both is an error.
    """

    exclusive_group: ClassVar[str | None] = None

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        """Before the workflow runs in this invocation."""

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        """After the invocation's answer is final."""

    def on_operation_start(self, info: OperationInfo) -> None:
        """An operation starts, or is resumed from an earlier invocation."""

    def on_operation_end(self, info: OperationEndInfo) -> None:
        """An operation's terminal status is recorded (reported once)."""

    def on_operation_change(self, info: OperationChangeInfo) -> None:
        """A merge of the service's answer changed the status of operations."""

    def on_attempt_start(self, info: AttemptInfo) -> None:
        """An operation's user code is about to run."""

    def on_attempt_end(self, info: AttemptEndInfo) -> None:
        """An operation's user code returned, raised, or was cut short."""

    def chained_invoke_trace_header(self, info: OperationInfo) -> str | None:
        """The X-Ray trace header a chained invoke starts its target under
        (``ChainedInvokeOptions.XAmznTraceId`` of its START), or ``None``: the
        service then passes the execution's own. The one hook whose answer is
        recorded; the first plugin that gives one wins."""
        return None


class PluginFactory(Protocol):
    """Makes the plugin of one invocation: ``create_plugin`` is called once per
    invocation, before its first hook, with the start info that plugin's
    ``on_invocation_start`` then receives. What outlives an invocation (an
    exporter, say) belongs on the factory; the plugin holds one invocation's."""

    def create_plugin(self, info: InvocationStartInfo, /) -> Plugin: ...


class PluginRunner:
    """Calls the hooks of one invocation's plugins, in order, isolating each
    plugin's failures, and builds the infos the runtime's call sites need.

    The runtime holds one only when plugins are registered, so an invocation
    without plugins pays one ``is None`` check per hook point.
    """

    __slots__ = ("_attempt_starts", "_plugins", "execution_arn", "replayed")

    def __init__(
        self, plugins: tuple[Plugin, ...], execution_arn: str, replayed: frozenset[str]
    ) -> None:
        self._plugins = plugins
        self.execution_arn = execution_arn
        # Operations recorded when the invocation began (their hooks say is_replayed).
        self.replayed = replayed
        self._attempt_starts: dict[str, datetime] = {}

    def operation_info(
        self,
        op_id: str,
        type: OperationType,
        sub_type: str | None,
        name: str | None,
        parent_id: str | None,
        recorded: Operation | None,
    ) -> OperationInfo | None:
        """The info of an operation this invocation starts or resumes; ``None`` for
        one already terminal (replayed silently, so it gets no hooks)."""
        if recorded is None:
            return OperationInfo(
                execution_arn=self.execution_arn,
                operation_id=op_id,
                operation_type=type,
                sub_type=sub_type,
                name=name,
                parent_id=parent_id,
                is_replayed=False,
                status=OperationStatus.STARTED,
            )
        if recorded.status.is_terminal:
            return None
        return OperationInfo.of(self.execution_arn, recorded, is_replayed=True)

    def attempt_started(
        self, info: OperationInfo | None, attempt: int | None, *, replaying_children: bool = False
    ) -> None:
        """``on_attempt_start`` before an operation's user code runs."""
        if info is None:
            return
        now = datetime.now(UTC)
        self._attempt_starts[info.operation_id] = now
        fields = _fields(info) | {"attempt": attempt, "start_time": now}
        self.emit(
            "on_attempt_start", AttemptInfo(**fields, is_replaying_children=replaying_children)
        )

    def attempt_ended(
        self,
        info: OperationInfo | None,
        attempt: int | None,
        error: ErrorObject | None,
        *,
        replaying_children: bool = False,
        outcome: AttemptOutcome | None = None,
    ) -> None:
        """``on_attempt_end``: FAILED with ``error`` when the code raised (unless
        ``outcome`` says otherwise)."""
        if info is None:
            return
        if outcome is None:
            outcome = AttemptOutcome.SUCCEEDED if error is None else AttemptOutcome.FAILED
        now = datetime.now(UTC)
        fields = _fields(info) | {
            "attempt": attempt,
            "start_time": self._attempt_starts.pop(info.operation_id, now),
            "end_time": now,
            "error": error,
        }
        self.emit(
            "on_attempt_end",
            AttemptEndInfo(**fields, is_replaying_children=replaying_children, outcome=outcome),
        )

    def ended_before(self, updated: Mapping[str, OperationInfo]) -> None:
        """``on_operation_end`` for the operations that ended outside the handler
        since it last ran (each reported by the first invocation that sees it)."""
        for info in updated.values():
            if info.status.is_terminal and info.operation_type is not OperationType.EXECUTION:
                self.emit("on_operation_end", OperationEndInfo(**_fields(info)))

    def merged(
        self,
        merged: tuple[Operation, ...],
        before: list[Operation | None],
        state: Mapping[str, Operation],
    ) -> None:
        """The hooks of one merge of the service's answer: ``on_operation_end``
        for each operation it made terminal, then ``on_operation_change``."""
        arn, replayed = self.execution_arn, self.replayed
        changed: dict[str, Operation] = {}
        for op, old in zip(merged, before, strict=True):
            if old is not None and old.status is op.status:
                continue
            changed[op.id] = op
            if op.status.is_terminal and op.type is not OperationType.EXECUTION:
                self.emit(
                    "on_operation_end", OperationEndInfo.of(arn, op, is_replayed=op.id in replayed)
                )
        if changed:
            self.emit(
                "on_operation_change",
                OperationChangeInfo(
                    execution_arn=arn,
                    updated_operations=OperationsView(arn, changed, replayed),
                    operations=OperationsView(arn, dict(state), replayed),
                ),
            )

    def trace_header(self, info: OperationInfo | None) -> str | None:
        """The trace header the first plugin gives for a chained invoke's START
        (one the service takes: ``wire.trace_header_problem``; else ignored)."""
        if info is None:
            return None
        for plugin in self._plugins:
            header: str | None = self._call(plugin, "chained_invoke_trace_header", info)
            if header is None:
                continue
            problem = trace_header_problem(header)
            if problem is None:
                return header
            PLUGIN_LOGGER.error(
                "plugin %s gave a trace header the service would refuse: it %s (ignored)",
                type(plugin).__name__,
                problem,
            )
        return None

    def emit(self, hook: str, info: Any) -> None:
        """Call ``plugin.<hook>(info)`` for each plugin; log and ignore what raises."""
        for plugin in self._plugins:
            self._call(plugin, hook, info)

    def _call(self, plugin: Plugin, hook: str, info: Any) -> Any:
        """``plugin.<hook>(info)``'s answer; what raises is logged and answers None."""
        try:
            return getattr(plugin, hook)(info)
        except Exception:
            PLUGIN_LOGGER.exception(
                "plugin %s raised in %s (ignored)",
                type(plugin).__name__,
                hook,
                extra={"execution_arn": self.execution_arn},
            )
            return None


def _fields(info: OperationInfo) -> dict[str, Any]:
    """The ``OperationInfo`` fields of ``info``, to build a more specific info."""
    return {name: getattr(info, name) for name in _OPERATION_FIELDS}


_OPERATION_FIELDS = tuple(OperationInfo.__dataclass_fields__)
