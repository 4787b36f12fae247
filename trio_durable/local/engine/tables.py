"""The engine's memory: executions and their indexes (by name, by function, by
CallbackId), the timer heap, the invocation queues, and the one write path
(``commit``: one ``Store.write`` for an action, then memory)."""

from __future__ import annotations

from trio_durable.errors import not_found
from trio_durable.local import history
from trio_durable.local.engine import timers
from trio_durable.local.engine.staging import Action, Execution, Stage, TimerKind
from trio_durable.local.store import ExecutionChange, OperationRecord, Store
from trio_durable.records import replace
from trio_durable.wire import ExecutionStatus, OperationStatus, OperationType

CLOSING_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionStopped"}
)


# Read for every operation an action changes (an enum member read through its
# class costs about 0.1 us).
_CALLBACK = OperationType.CALLBACK
_STEP = OperationType.STEP
_PENDING = OperationStatus.PENDING
_STARTED = OperationStatus.STARTED
_WAITING_WHEN_STARTED = (OperationType.WAIT, OperationType.CALLBACK, OperationType.CHAINED_INVOKE)


class Tables:
    """Executions in memory and every index over them. ``ready``: executions
    owed an invocation; ``in_flight``: with one running; ``cancel``: whose
    invocation should be cancelled; ``cut``: cancelled by a pause at a checkpoint;
    ``closed``: that got their terminal event since the service last asked."""

    __slots__ = (
        "by_function",
        "by_name",
        "callbacks",
        "cancel",
        "closed",
        "cut",
        "execution_timeouts",
        "executions",
        "functions",
        "in_flight",
        "invocations_total",
        "ready",
        "retention_days",
        "retention_seconds",
        "store",
        "tenant_isolated",
        "timers",
    )

    def __init__(self, store: Store, retention_seconds: float) -> None:
        self.store = store
        self.retention_seconds = retention_seconds
        self.executions: dict[str, Execution] = {}
        self.by_name: dict[tuple[str, str], str] = {}
        self.by_function: dict[str, list[str]] = {}
        self.callbacks: dict[str, tuple[str, str]] = {}
        self.timers = timers.TimerHeap()
        self.ready: dict[str, None] = {}
        self.in_flight: set[str] = set()
        self.cancel: set[str] = set()
        self.cut: set[str] = set()
        self.closed: list[str] = []
        self.invocations_total = 0
        self.functions: set[str] = set()
        # A function's own execution timeout (its DurableConfig), when it has one.
        self.execution_timeouts: dict[str, int] = {}
        # A function's own retention (its DurableConfig), when it has one.
        self.retention_days: dict[str, int] = {}
        # Functions with tenant isolation (TenancyConfig PER_TENANT).
        self.tenant_isolated: set[str] = set()

    def execution(self, arn: str) -> Execution:
        """The execution, or ResourceNotFoundException."""
        ex = self.executions.get(arn)
        if ex is None:
            raise not_found(f"DurableExecutionArn: no execution {arn!r}")
        return ex

    def full(self, arn: str) -> Execution:
        """The execution with its operations and history: the one in memory while
        it runs, else a copy read from the store (ResourceNotFoundException if gone)."""
        ex = self.execution(arn)
        if ex.resident:
            return ex
        stored = self.store.load_execution(arn)
        if stored is None:
            raise not_found(f"DurableExecutionArn: no execution {arn!r}")
        return Execution.from_stored(stored)

    def retire(self, ex: Execution) -> None:
        """The execution ended: only its record stays in memory, and it is deleted
        after the retention period."""
        rec = ex.record
        ex.unload()
        self.ready.pop(rec.arn, None)
        end = rec.end_timestamp if rec.end_timestamp is not None else rec.start_timestamp
        days = self.retention_days.get(rec.function_name)
        retention = self.retention_seconds if days is None else days * 86_400
        self.timers.push(end + retention, TimerKind.RETENTION, rec.arn, None)

    def timer_live(
        self,
        due: float,
        kind: TimerKind,
        arn: str,
        op_id: str | None,
        action: Action | None = None,
    ) -> bool:
        """Whether a timer still stands, seen through ``action``'s stages if given."""
        ex = self.executions.get(arn)
        if ex is None:
            return False
        st = None if action is None else action.stages.get(arn)
        rec = ex.record if st is None else st.record
        if op_id is None:
            return timers.is_live(due, kind, rec, None)
        record = ex.ops.get(op_id) if st is None else st.op(op_id)
        return timers.is_live(due, kind, rec, record)

    def add(self, ex: Execution) -> None:
        """Index a new (or loaded) execution."""
        rec = ex.record
        self.executions[rec.arn] = ex
        self.by_name[(rec.function_name, rec.name)] = rec.arn
        self.by_function.setdefault(rec.function_name, []).append(rec.arn)

    def remove(self, ex: Execution) -> None:
        """Delete an ended execution from the store, then from every index (its
        timers die lazily)."""
        rec = ex.record
        callback_ids = [
            record.operation.callback_id
            for record in self.full(rec.arn).ops.values()
            if record.operation.callback_id is not None
        ]
        self.store.delete(rec.arn)
        del self.executions[rec.arn]
        if self.by_name.get((rec.function_name, rec.name)) == rec.arn:
            del self.by_name[(rec.function_name, rec.name)]
        siblings = self.by_function[rec.function_name]
        siblings.remove(rec.arn)
        if not siblings:
            del self.by_function[rec.function_name]
        for callback_id in callback_ids:
            self.callbacks.pop(callback_id, None)
        self.ready.pop(rec.arn, None)
        self.cancel.discard(rec.arn)
        self.cut.discard(rec.arn)

    def commit(self, action: Action) -> None:
        """Write the action's stages in one store write, then apply them to memory."""
        changes = []
        for st in action.stages.values():
            count = st.event_count()
            if st.record.event_count != count:
                st.record = replace(st.record, event_count=count)
            changes.append(ExecutionChange(st.record, tuple(st.ops.values()), tuple(st.events)))
        self.store.write(changes)
        for st in action.stages.values():
            self._apply_stage(st)

    def _apply_stage(self, st: Stage) -> None:
        ex = st.ex
        rec = ex.record = st.record
        if st.is_new:
            self.add(ex)
        ex.order.extend(st.new_ops)
        for op_id, record in st.ops.items():
            ex.ops[op_id] = record
            ex.dirty[op_id] = None
            self.track_waiter(ex, record)
        ex.events.extend(st.events)
        for due, kind, timer_op in st.timers:
            self.timers.push(due, kind, rec.arn, timer_op)
        if rec.closed:
            ex.waiters.clear()
            self.ready.pop(rec.arn, None)
            if any(history.event_type(ev) in CLOSING_EVENTS for ev in st.events):
                self.closed.append(rec.arn)
                self.retire(ex)
        elif rec.status is not ExecutionStatus.RUNNING:
            self.cancel.add(rec.arn)  # ends when its invocation in flight does
        elif rec.wake and rec.invocation_id is None:
            self.ready[rec.arn] = None

    def track_waiter(self, ex: Execution, record: OperationRecord) -> None:
        """Index a callback's id; note whether the operation can still complete."""
        op = record.operation
        if op.type is _CALLBACK and op.callback_id is not None:
            self.callbacks[op.callback_id] = (record.execution_arn, op.id)
        waiting = (op.status is _PENDING and op.type is _STEP) or (
            op.status is _STARTED and op.type in _WAITING_WHEN_STARTED
        )
        if waiting:
            ex.waiters.add(op.id)
        else:
            ex.waiters.discard(op.id)
