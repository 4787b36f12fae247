"""The two tracing views of a durable execution, as plugins.

Both emit, per invocation, an ``Invocation`` span, and once per execution (by the
invocation that ends it) a ``Workflow`` span from the execution's start to its
end. Both hang under the execution's ancestor: the parent a trace header passed
in, or one derived from the execution, so every invocation joins one trace.

- ``InvocationView``: what happened in each invocation. Operations and attempts
  are children of that invocation's ``Invocation`` span and link to the
  ``Workflow`` span. An operation still running when the invocation ends gets a
  span with status STARTED (otel status UNSET); the invocation that sees it end
  emits a continuation span linking to the first one.
- ``ExecutionView``: the execution as one tree. One span per operation, from its
  recorded start to its end, under the ``Workflow`` span (or its parent
  operation's span), linking to the ``Invocation`` span that saw it end; attempts
  under their operation, linking to their invocation.

Span names: an operation's name (its type when unnamed), ``<name> attempt <n>``.
Attributes: ``durable.execution.arn``; ``durable.invocation.first`` and
``.status``; ``durable.execution.status``; ``durable.operation.id``, ``.type``,
``.subtype``, ``.name``, ``.status``; ``durable.attempt.number``, ``.outcome``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext, StatusCode

from trio_durable.otel.config import OtelConfig
from trio_durable.otel.ids import (
    RemoteParent,
    execution_root_span_id,
    execution_trace_id,
    format_xray,
    operation_span_id,
    workflow_span_id,
)
from trio_durable.otel.logs import install_log_correlation
from trio_durable.otel.tracing import (
    SpanMaker,
    epoch_seconds,
    finish,
    now_ns,
    remote_context,
    seconds_to_ns,
)
from trio_durable.plugins import (
    AttemptEndInfo,
    AttemptInfo,
    InvocationEndInfo,
    InvocationInfo,
    OperationEndInfo,
    OperationInfo,
    Plugin,
)
from trio_durable.wire import InvocationStatus, OperationStatus, OperationType

ARN = "durable.execution.arn"


@dataclass(slots=True)
class _Operation:
    """What a view keeps of an operation during one invocation."""

    attributes: dict[str, Any]
    name: str
    start_ns: int
    parent_id: str | None
    span: Span | None = None
    attempt: int | None = None
    # Children still open in this invocation, and this operation's end while they are.
    open_children: int = 0
    ended: OperationEndInfo | None = None


@dataclass(slots=True)
class _Run:
    """One invocation's trace state."""

    arn: str
    first: bool
    ancestor: SpanContext
    workflow: SpanContext
    invocation: Span
    start_ns: int
    execution_start_ns: int
    operations: dict[str, _Operation] = field(default_factory=dict)
    attempts: dict[str, tuple[Span, int]] = field(default_factory=dict)
    # Ends reported before their parent operation started in this invocation.
    orphans: dict[str, list[OperationEndInfo]] = field(default_factory=dict)

    def context_of(self, op_id: str | None) -> SpanContext:
        """The span a log record of ``op_id`` (or of the workflow) belongs to."""
        if op_id is not None:
            attempt = self.attempts.get(op_id)
            if attempt is not None:
                return attempt[0].get_span_context()
            op = self.operations.get(op_id)
            if op is not None and op.span is not None:
                return op.span.get_span_context()
        return self.invocation.get_span_context()


def _operation_attributes(info: OperationInfo) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        ARN: info.execution_arn,
        "durable.operation.id": info.operation_id,
        "durable.operation.type": info.operation_type.value,
    }
    if info.sub_type is not None:
        attributes["durable.operation.subtype"] = info.sub_type
    if info.name is not None:
        attributes["durable.operation.name"] = info.name
    return attributes


def _status(failed: bool) -> StatusCode:
    return StatusCode.ERROR if failed else StatusCode.OK


class _View(Plugin):
    """What both views share: the per-invocation state, keyed by execution ARN
    (an execution runs one invocation at a time), the Invocation and Workflow spans.
    One view per handler: both views share an exclusive group."""

    exclusive_group: ClassVar[str | None] = "aws-durable-execution-otel-view"

    def __init__(self, config: OtelConfig | None = None) -> None:
        self.config = config or OtelConfig()
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._maker: SpanMaker | None = None
        if self.config.enrich_logger:
            install_log_correlation(self)

    def _spans(self) -> SpanMaker:
        # Resolved at first use: the global provider may be set after the handler is built.
        if self._maker is None:
            provider = self.config.tracer_provider or trace.get_tracer_provider()
            self._maker = SpanMaker(provider.get_tracer(self.config.instrument_name))
        return self._maker

    def run_of(self, execution_arn: str) -> _Run | None:
        with self._lock:
            return self._runs.get(execution_arn)

    def span_context_for(self, execution_arn: str, operation_id: str | None) -> SpanContext | None:
        """The span a log record of the execution (and operation) belongs to, if traced."""
        run = self.run_of(execution_arn)
        return None if run is None else run.context_of(operation_id)

    def _parent(self, info: InvocationInfo) -> RemoteParent | None:
        for extract in self.config.extractors:
            found = extract(info)
            if found is not None:
                return found
        return None

    def on_invocation_start(self, info: InvocationInfo) -> None:
        start = now_ns()
        arn = info.execution_arn
        execution_start = epoch_seconds(info.execution_start_time)
        if execution_start is None:
            execution_start = start / 1e9
        remote = self._parent(info)
        trace_id = execution_trace_id(arn, execution_start)
        if remote is not None and remote.trace_id is not None:
            trace_id = remote.trace_id
        sampled = True if remote is None or remote.sampled is None else remote.sampled
        parent_id = execution_root_span_id(arn)
        if remote is not None and remote.complete and remote.span_id is not None:
            parent_id = remote.span_id
        ancestor = remote_context(trace_id, parent_id, sampled)
        invocation = self._spans().span(
            "Invocation",
            parent=ancestor,
            attributes={ARN: arn, "durable.invocation.first": info.is_first_invocation},
            start_ns=start,
        )
        run = _Run(
            arn=arn,
            first=info.is_first_invocation,
            ancestor=ancestor,
            workflow=remote_context(trace_id, workflow_span_id(arn), sampled),
            invocation=invocation,
            start_ns=start,
            execution_start_ns=min(seconds_to_ns(execution_start), start),
        )
        with self._lock:
            self._runs[arn] = run

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        with self._lock:
            run = self._runs.pop(info.execution_arn, None)
        if run is None:
            return
        self._close_open(run)
        end = now_ns()
        failed = info.status is InvocationStatus.FAILED
        finish(
            run.invocation,
            status=_status(failed),
            end_ns=end,
            attributes={"durable.invocation.status": info.status.value},
        )
        if info.status is InvocationStatus.PENDING:
            return
        workflow = self._spans().span(
            self.config.workflow_span_name,
            parent=run.ancestor,
            span_id=run.workflow.span_id,
            attributes={ARN: run.arn},
            start_ns=min(run.execution_start_ns, run.start_ns),
        )
        finish(
            workflow,
            status=_status(failed),
            end_ns=end,
            attributes={"durable.execution.status": info.status.value},
        )

    def chained_invoke_trace_header(self, info: OperationInfo) -> str | None:
        """The X-Ray header naming the chained invoke's span as the target's parent."""
        run = self.run_of(info.execution_arn)
        if run is None:
            return None
        parent = self._invoke_parent(run, info.operation_id)
        return format_xray(parent.trace_id, parent.span_id, parent.trace_flags.sampled)

    def _invoke_parent(self, run: _Run, op_id: str) -> SpanContext:
        """The span a chained invoke's target hangs under (view-specific)."""
        return run.invocation.get_span_context()

    def _close_open(self, run: _Run) -> None:
        """End what is still open when the invocation ends (view-specific)."""

    def _emit_end(self, run: _Run, op: _Operation, info: OperationEndInfo) -> None:
        """The span of an operation that ended (view-specific)."""

    def _track(self, run: _Run, op_id: str, op: _Operation) -> None:
        run.operations[op_id] = op
        parent = run.operations.get(op.parent_id or "")
        if parent is not None:
            parent.open_children += 1

    def _ended(self, run: _Run, op_id: str, info: OperationEndInfo) -> None:
        """Emit the end of ``op_id``, once its children that are open have ended:
        a parent's end may be reported before its children's."""
        op = run.operations.get(op_id)
        if op is None:
            return
        if op.open_children:
            op.ended = info
            return
        del run.operations[op_id]
        self._emit_end(run, op, info)
        parent = run.operations.get(op.parent_id or "")
        if parent is not None:
            parent.open_children -= 1
            if not parent.open_children and parent.ended is not None:
                self._ended(run, op.parent_id or "", parent.ended)

    def _end_deferred(self, run: _Run) -> None:
        """At the invocation's end: the ends still waiting for children that never ended."""
        for op_id, op in reversed(list(run.operations.items())):
            if op.ended is not None and op_id in run.operations:
                op.open_children = 0
                self._ended(run, op_id, op.ended)

    def _attempt_start(self, info: AttemptInfo, parent: SpanContext, link: SpanContext) -> None:
        run = self.run_of(info.execution_arn)
        if run is None or info.operation_type is not OperationType.STEP:
            return
        op = run.operations.get(info.operation_id)
        name = op.name if op is not None else (info.name or info.operation_type.value)
        number = info.attempt if info.attempt is not None else 1
        attributes = {**_operation_attributes(info), "durable.attempt.number": number}
        span = self._spans().span(
            f"{name} attempt {number}",
            parent=parent,
            attributes=attributes,
            start_ns=now_ns(),
            links=[link],
        )
        run.attempts[info.operation_id] = (span, number)
        if op is not None:
            op.attempt = number

    def on_attempt_end(self, info: AttemptEndInfo) -> None:
        run = self.run_of(info.execution_arn)
        if run is None:
            return
        span, _ = run.attempts.pop(info.operation_id, (None, 0))
        if span is None:
            return
        finish(
            span,
            status=_status(info.error is not None),
            end_ns=now_ns(),
            attributes={"durable.attempt.outcome": info.outcome.value},
        )


class InvocationView(_View):
    """Spans per invocation (see the module doc)."""

    def on_operation_start(self, info: OperationInfo) -> None:
        run = self.run_of(info.execution_arn)
        if run is None:
            return
        self._track(run, info.operation_id, self._open(run, info))
        for orphan in run.orphans.pop(info.operation_id, ()):
            self._end_alone(run, orphan)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        run = self.run_of(info.execution_arn)
        if run is None:
            return
        if info.operation_id in run.operations:
            self._ended(run, info.operation_id, info)
        elif info.parent_id is not None and info.parent_id not in run.operations:
            # Ended between invocations, reported before its parent resumed here.
            run.orphans.setdefault(info.parent_id, []).append(info)
        else:
            self._end_alone(run, info)

    def _end_alone(self, run: _Run, info: OperationEndInfo) -> None:
        """The span of an operation whose end hook comes without a start here."""
        self._track(run, info.operation_id, self._open(run, info))
        self._ended(run, info.operation_id, info)

    def _emit_end(self, run: _Run, op: _Operation, info: OperationEndInfo) -> None:
        if op.span is not None:
            _finish_operation(op.span, info, op.attempt)

    def _invoke_parent(self, run: _Run, op_id: str) -> SpanContext:
        op = run.operations.get(op_id)
        if op is not None and op.span is not None:
            return op.span.get_span_context()
        return run.invocation.get_span_context()

    def _open(self, run: _Run, info: OperationInfo) -> _Operation:
        """The operation's span in this invocation: its first (with the id derived
        from it), or a continuation linking to the first."""
        parent = run.operations.get(info.parent_id or "")
        parent_context = (
            parent.span.get_span_context()
            if parent is not None and parent.span is not None
            else run.invocation.get_span_context()
        )
        first = operation_span_id(run.arn, info.operation_id)
        links = [run.workflow]
        if info.is_replayed:
            links.insert(0, remote_context(run.workflow.trace_id, first, True))
        attributes = _operation_attributes(info)
        name = info.name or info.operation_type.value
        start = now_ns()
        span = self._spans().span(
            name,
            parent=parent_context,
            span_id=None if info.is_replayed else first,
            attributes=attributes,
            start_ns=start,
            links=links,
        )
        return _Operation(attributes, name, start, info.parent_id, span)

    def on_attempt_start(self, info: AttemptInfo) -> None:
        run = self.run_of(info.execution_arn)
        if run is None:
            return
        op = run.operations.get(info.operation_id)
        parent = (
            op.span.get_span_context()
            if op is not None and op.span is not None
            else run.invocation.get_span_context()
        )
        self._attempt_start(info, parent, run.workflow)

    def _close_open(self, run: _Run) -> None:
        for orphans in run.orphans.values():
            for orphan in orphans:
                self._end_alone(run, orphan)
        end = now_ns()
        for span, _ in run.attempts.values():
            finish(span, status=StatusCode.UNSET, end_ns=end)
        self._end_deferred(run)
        for op in reversed(run.operations.values()):
            if op.span is not None:
                finish(
                    op.span,
                    status=StatusCode.UNSET,
                    end_ns=end,
                    attributes=_end_attributes(OperationStatus.STARTED.value, None),
                )


class ExecutionView(_View):
    """One span tree per execution (see the module doc)."""

    def on_operation_start(self, info: OperationInfo) -> None:
        run = self.run_of(info.execution_arn)
        if run is None:
            return
        self._track(run, info.operation_id, _pending(info))

    def on_operation_end(self, info: OperationEndInfo) -> None:
        run = self.run_of(info.execution_arn)
        if run is None:
            return
        if info.operation_id not in run.operations:
            # Ended between invocations: its end hook comes without a start here.
            self._track(run, info.operation_id, _pending(info))
        self._ended(run, info.operation_id, info)

    def _emit_end(self, run: _Run, op: _Operation, info: OperationEndInfo) -> None:
        span = self._spans().span(
            op.name,
            parent=self._operation_parent(run, info.parent_id),
            span_id=operation_span_id(run.arn, info.operation_id),
            attributes=op.attributes,
            start_ns=op.start_ns,
            links=[run.invocation.get_span_context()],
        )
        _finish_operation(span, info, op.attempt)

    def on_attempt_start(self, info: AttemptInfo) -> None:
        run = self.run_of(info.execution_arn)
        if run is None:
            return
        parent = self._operation_parent(run, info.operation_id)
        self._attempt_start(info, parent, run.invocation.get_span_context())

    def _invoke_parent(self, run: _Run, op_id: str) -> SpanContext:
        return self._operation_parent(run, op_id)

    @staticmethod
    def _operation_parent(run: _Run, op_id: str | None) -> SpanContext:
        if op_id is None:
            return run.workflow
        return remote_context(
            run.workflow.trace_id,
            operation_span_id(run.arn, op_id),
            run.workflow.trace_flags.sampled,
        )

    def _close_open(self, run: _Run) -> None:
        end = now_ns()
        for span, _ in run.attempts.values():
            finish(span, status=StatusCode.UNSET, end_ns=end)
        self._end_deferred(run)


def _pending(info: OperationInfo) -> _Operation:
    """An operation of the execution view, whose span is made when it ends."""
    recorded = epoch_seconds(info.start_time)
    start = now_ns() if recorded is None else seconds_to_ns(recorded)
    name = info.name or info.operation_type.value
    return _Operation(_operation_attributes(info), name, start, info.parent_id)


def _finish_operation(span: Span, info: OperationEndInfo, attempt: int | None) -> None:
    finish(
        span,
        status=_status(info.status is not OperationStatus.SUCCEEDED),
        end_ns=now_ns(),
        attributes=_end_attributes(info.status.value, attempt),
    )


def _end_attributes(status: str, attempt: int | None) -> dict[str, Any]:
    attributes: dict[str, Any] = {"durable.operation.status": status}
    if attempt is not None:
        attributes["durable.attempt.number"] = attempt
    return attributes
