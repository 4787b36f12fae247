"""Property tests: random sequences of valid and invalid engine calls never corrupt
state, and every history stays consistent."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from local_engine_helpers import FUNCTION, ManualClock, check_history

from trio_durable.errors import ServiceError
from trio_durable.local.engine import Engine
from trio_durable.local.store import MemoryStore
from trio_durable.wire import (
    ErrorObject,
    ExecutionStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

IDS = ["a", "b", "c", "d", "ctx", "ctx2"]

errors = st.one_of(st.none(), st.builds(ErrorObject, message=st.text(max_size=5)))
small_ints = st.one_of(st.none(), st.integers(min_value=-1, max_value=40))

updates = st.builds(
    OperationUpdate,
    id=st.sampled_from(IDS),
    type=st.sampled_from(list(OperationType)),
    action=st.sampled_from(list(OperationAction)),
    parent_id=st.one_of(st.none(), st.sampled_from(["ctx", "ctx2", "a", "zz"])),
    name=st.one_of(st.none(), st.sampled_from(["n1", "n2"])),
    payload=st.one_of(st.none(), st.sampled_from(['"p"', "1", "{}"])),
    error=errors,
    next_attempt_delay_seconds=small_ints,
    wait_seconds=small_ints,
    callback_timeout_seconds=small_ints,
    callback_heartbeat_timeout_seconds=small_ints,
    invoke_function_name=st.one_of(st.none(), st.sampled_from([FUNCTION, "ghost"])),
)


def _shaped(op_type: str, action: str, **options: st.SearchStrategy[Any]) -> Any:
    """Updates of one type and action with fitting options: mostly valid."""
    return st.builds(
        OperationUpdate,
        id=st.sampled_from(IDS),
        type=st.just(OperationType(op_type)),
        action=st.just(OperationAction(action)),
        parent_id=st.one_of(st.none(), st.none(), st.none(), st.sampled_from(["ctx", "ctx2"])),
        **options,
    )


delays = st.integers(min_value=1, max_value=30)
shaped_updates = st.one_of(
    _shaped("STEP", "START"),
    _shaped("STEP", "SUCCEED", payload=st.just('"ok"')),
    _shaped("STEP", "FAIL", error=errors),
    _shaped("STEP", "RETRY", next_attempt_delay_seconds=delays, error=errors),
    _shaped("WAIT", "START", wait_seconds=delays),
    _shaped("WAIT", "CANCEL"),
    _shaped(
        "CALLBACK",
        "START",
        callback_timeout_seconds=st.integers(min_value=0, max_value=30),
        callback_heartbeat_timeout_seconds=st.integers(min_value=0, max_value=30),
    ),
    _shaped("CONTEXT", "START"),
    _shaped("CONTEXT", "SUCCEED", payload=st.just("1")),
    _shaped("CONTEXT", "FAIL", error=errors),
    _shaped("CHAINED_INVOKE", "START", invoke_function_name=st.sampled_from([FUNCTION, "ghost"])),
)
any_updates = st.one_of(shaped_updates, shaped_updates, shaped_updates, updates)

answers = st.sampled_from(
    [
        {"Status": "PENDING"},
        {"Status": "PENDING"},
        {"Status": "PENDING"},
        {"Status": "SUCCEEDED", "Result": '"r"'},
        {"Status": "FAILED", "Error": {"ErrorMessage": "x"}},
        "garbage",
        None,
    ]
)


def _snapshot(engine: Engine, arn: str) -> tuple[Any, ...]:
    ops: dict[str, Operation] = {}
    token = engine.record(arn).checkpoint_token
    marker = None
    while True:
        page = engine.get_execution_state(arn, token, marker=marker)
        for op in page.operations:
            assert op.id not in ops, f"operation {op.id} listed twice"
            ops[op.id] = op
        marker = page.next_marker
        if marker is None:
            break
    return tuple(engine.events(arn)), tuple(ops.items())


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.store = MemoryStore()
        self.engine = Engine(
            store=self.store, clock=self.clock, max_crash_retries=2, state_page_size=3
        )
        self.engine.functions.add(FUNCTION)
        self.arns: list[str] = []
        self.requests: dict[str, str] = {}
        self.tokens: dict[str, list[str]] = {}
        self.final: dict[tuple[str, str], Operation] = {}
        self.deleted: list[str] = []

    def _refused(self, arn: str, call: Any) -> None:
        """Run ``call``; a ServiceError must leave the execution exactly as it was."""
        before = _snapshot(self.engine, arn)
        try:
            call()
        except ServiceError:
            assert _snapshot(self.engine, arn) == before

    def _take(self) -> None:
        for request in self.engine.take_invocations():
            assert self.engine.record(request.execution_arn).pause is None, "invoked while paused"
            if request.execution_arn not in self.arns:  # the target of a chained invoke
                self.arns.append(request.execution_arn)
            self.requests[request.execution_arn] = request.request_id
            self.tokens.setdefault(request.execution_arn, []).append(
                request.event["CheckpointToken"]
            )

    @precondition(lambda self: len(self.arns) < 3)
    @rule(timeout=st.integers(min_value=5, max_value=200))
    def start(self, timeout: int) -> None:
        self.arns.append(self.engine.start_execution(FUNCTION, '"x"', timeout_seconds=timeout).arn)
        self._take()

    @precondition(lambda self: self.arns)
    @rule(
        data=st.data(),
        batch=st.lists(any_updates, max_size=4),
        stale=st.integers(min_value=0, max_value=5),
        client_token=st.one_of(st.none(), st.sampled_from(["k1", "k2"])),
    )
    def checkpoint(
        self,
        data: st.DataObject,
        batch: list[OperationUpdate],
        stale: int,
        client_token: str | None,
    ) -> None:
        arn = data.draw(st.sampled_from(self.arns))
        tokens = self.tokens.get(arn) or ["none"]
        token = tokens[0] if stale == 0 else self.engine.record(arn).checkpoint_token

        def call() -> None:
            result = self.engine.checkpoint(arn, token, batch, client_token=client_token)
            self.tokens.setdefault(arn, []).append(result.checkpoint_token)

        self._refused(arn, call)

    @precondition(lambda self: self.arns)
    @rule(seconds=st.integers(min_value=0, max_value=60))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.engine.fire_due_timers()
        self._take()

    @precondition(lambda self: self.arns)
    @rule(data=st.data(), kind=st.sampled_from(["success", "failure", "heartbeat", "bogus"]))
    def callback(self, data: st.DataObject, kind: str) -> None:
        arn = data.draw(st.sampled_from(self.arns))
        ids = [op.callback_id for _, op in _snapshot(self.engine, arn)[1] if op.callback_id]
        callback_id = data.draw(st.sampled_from(ids)) if ids and kind != "bogus" else "BOGUS"
        if kind == "failure":
            self._refused(arn, lambda: self.engine.send_callback_failure(callback_id, None))
        elif kind == "heartbeat":
            self._refused(arn, lambda: self.engine.send_callback_heartbeat(callback_id))
        else:
            self._refused(arn, lambda: self.engine.send_callback_success(callback_id, b"1"))
        self._take()

    @precondition(lambda self: self.requests)
    @rule(data=st.data(), answer=answers, crash=st.integers(min_value=0, max_value=4))
    def finish(self, data: st.DataObject, answer: Any, crash: int) -> None:
        arn = data.draw(st.sampled_from([a for a in self.arns if a in self.requests]))
        request_id = self.requests.pop(arn)
        failure = ErrorObject(message="died", type="Runtime.ExitError") if crash == 0 else None
        self.engine.finish_invocation(arn, request_id, answer, failure=failure)
        self._take()

    @precondition(lambda self: self.arns)
    @rule(data=st.data(), dice=st.integers(min_value=0, max_value=5))
    def stop(self, data: st.DataObject, dice: int) -> None:
        arn = data.draw(st.sampled_from(self.arns))
        if dice:
            return
        self._refused(arn, lambda: self.engine.stop_execution(arn))
        self.engine.take_cancellations()

    @precondition(lambda self: self.arns)
    @rule(
        data=st.data(),
        timeout_paused=st.booleans(),
        client_token=st.one_of(st.none(), st.sampled_from(["p1", "p2"])),
        reason=st.one_of(st.none(), st.sampled_from(["r", "x" * 1025])),
    )
    def pause(
        self,
        data: st.DataObject,
        timeout_paused: bool,
        client_token: str | None,
        reason: str | None,
    ) -> None:
        arn = data.draw(st.sampled_from(self.arns))
        self._refused(
            arn,
            lambda: self.engine.pause_execution(
                arn,
                reason=reason,
                execution_timeout_paused=timeout_paused,
                client_token=client_token,
            ),
        )
        self.engine.take_cancellations()

    @precondition(lambda self: self.arns)
    @rule(data=st.data(), client_token=st.one_of(st.none(), st.sampled_from(["q1", "q2"])))
    def resume(self, data: st.DataObject, client_token: str | None) -> None:
        arn = data.draw(st.sampled_from(self.arns))
        self._refused(arn, lambda: self.engine.resume_execution(arn, client_token=client_token))
        self._take()

    @precondition(lambda self: self.arns)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        arn = data.draw(st.sampled_from(self.arns))
        self._refused(arn, lambda: self.engine.delete_execution(arn))
        try:
            self.engine.record(arn)
        except ServiceError:  # deleted: only an ended execution may be
            self.arns.remove(arn)
            self.requests.pop(arn, None)
            self.deleted.append(arn)

    @invariant()
    def histories_and_states_stay_consistent(self) -> None:
        for arn in self.arns:
            check_history(self.engine, arn)
            _, ops = _snapshot(self.engine, arn)
            _, first = ops[0]
            assert first.type is OperationType.EXECUTION
            record = self.engine.record(arn)
            if record.status is not ExecutionStatus.RUNNING:
                assert record.end_timestamp is not None
                assert record.pause is None
            shown = self.engine.get_execution(arn)
            assert ("PauseDetails" in shown) == (shown["Status"] in ("PAUSING", "PAUSED"))
            for op_id, op in ops:
                key = (arn, op_id)
                if key in self.final:
                    assert op == self.final[key], f"terminal operation {op_id} changed"
                elif op.status.is_terminal:
                    self.final[key] = op
                if op.parent_id is not None:
                    parent = dict(ops).get(op.parent_id)
                    assert parent is not None and parent.type is OperationType.CONTEXT
                if op.status is OperationStatus.PENDING:
                    assert op.type is OperationType.STEP and op.next_attempt_timestamp

    def teardown(self) -> None:
        """A fresh engine loaded from the store sees exactly the same executions."""
        again = Engine(store=self.store, clock=self.clock)
        for arn in self.deleted:
            try:
                again.record(arn)
            except ServiceError:
                continue
            raise AssertionError(f"deleted execution {arn} came back")
        for arn in self.arns:
            record = self.engine.record(arn)
            if record.invocation_id is None:
                assert again.events(arn) == self.engine.events(arn)
                assert again.record(arn) == record


EngineMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineMachine = EngineMachine.TestCase
