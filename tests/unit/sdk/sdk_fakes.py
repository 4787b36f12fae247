"""An in-memory fake of the durable execution service, for unit tests of the SDK.

It applies updates the way the service does (enough for the SDK's paths),
rotates checkpoint tokens, remembers ClientTokens, records every call, and can
be told to fail the next calls. Time does not pass on its own: tests complete
waits, retries and callbacks explicitly (``advance``, ``complete_callback``...).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from trio_durable.errors import ServiceError
from trio_durable.runtime.entrypoint import DurableHandler
from trio_durable.wire import (
    CheckpointResult,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StatePage,
    operation_to_wire,
)

S = OperationStatus


@dataclass
class Call:
    token: str
    updates: tuple[OperationUpdate, ...]
    client_token: str | None


@dataclass
class FakeService:
    """One execution's worth of service (``arn``), speaking the ServiceClient protocol."""

    arn: str = "arn:aws:lambda:us-east-1:123456789012:function:f/durable-execution/x/1"
    operations: dict[str, Operation] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    fail_next: list[ServiceError] = field(default_factory=list)
    page_size: int = 1000
    token: str = "token-0"
    answered: dict[str, CheckpointResult] = field(default_factory=dict)
    _tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _callbacks: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    now: float = 1_000.0
    # Called after each applied checkpoint; returns ids of operations it changed,
    # which the answer then includes (what a busy real service does).
    on_checkpoint: Callable[[FakeService, Sequence[OperationUpdate]], list[str]] | None = None

    def start(self, input_payload: str | None = None) -> None:
        self.operations["exec"] = Operation(
            id="exec",
            type=OperationType.EXECUTION,
            status=S.STARTED,
            start_timestamp=self.now,
            input_payload=input_payload,
        )

    # --- the ServiceClient protocol ------------------------------------------

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        self.calls.append(Call(checkpoint_token, tuple(updates), client_token))
        if self.fail_next:
            raise self.fail_next.pop(0)
        if client_token is not None and client_token in self.answered:
            return self.answered[client_token]
        if checkpoint_token != self.token:
            raise ServiceError("InvalidParameterValueException", "Invalid checkpoint token")
        changed = [self._apply(u) for u in updates]
        if self.on_checkpoint is not None:
            changed += [self.operations[i] for i in self.on_checkpoint(self, updates)]
        self.token = f"token-{next(self._tokens)}"
        result = CheckpointResult(self.token, StatePage(tuple(changed)))
        if client_token is not None:
            self.answered[client_token] = result
        return result

    async def get_execution_state(
        self, execution_arn: str, checkpoint_token: str, *, marker: str | None = None
    ) -> StatePage:
        ops = list(self.operations.values())
        start = int(marker or 0)
        end = start + self.page_size
        return StatePage(tuple(ops[start:end]), str(end) if end < len(ops) else None)

    # --- what the service does between invocations ------------------------------

    def event(self) -> dict[str, Any]:
        ops = list(self.operations.values())
        first = ops[: self.page_size]
        state: dict[str, Any] = {"Operations": [operation_to_wire(op) for op in first]}
        if len(ops) > self.page_size:
            state["NextMarker"] = str(self.page_size)
        return {
            "DurableExecutionArn": self.arn,
            "CheckpointToken": self.token,
            "InitialExecutionState": state,
        }

    def advance(self) -> None:
        """Let all time pass: waits succeed, scheduled retries become READY."""
        for op in list(self.operations.values()):
            if op.type is OperationType.WAIT and op.status is S.STARTED:
                self.operations[op.id] = replace(op, status=S.SUCCEEDED)
            if op.type is OperationType.STEP and op.status is S.PENDING:
                self.operations[op.id] = replace(op, status=S.READY)

    def callback(self, name: str | None = None) -> Operation:
        found = [
            op
            for op in self.operations.values()
            if op.type is OperationType.CALLBACK and (name is None or op.name == name)
        ]
        assert len(found) == 1, found
        return found[0]

    def complete_callback(
        self,
        op_id: str,
        status: OperationStatus,
        *,
        result: str | None = None,
        error: ErrorObject | None = None,
    ) -> None:
        op = self.operations[op_id]
        self.operations[op_id] = replace(op, status=status, result=result, error=error)

    def by_type(self, op_type: OperationType) -> list[Operation]:
        return [op for op in self.operations.values() if op.type is op_type]

    # --- applying updates ---------------------------------------------------------

    def _apply(self, u: OperationUpdate) -> Operation:
        old = self.operations.get(u.id)
        action = u.action
        if old is None:
            assert action is OperationAction.START or u.type is OperationType.STEP, u
            op = Operation(
                id=u.id,
                type=u.type,
                status=S.STARTED,
                start_timestamp=self.now,
                parent_id=u.parent_id,
                name=u.name,
                sub_type=u.sub_type,
                attempt=0 if u.type is OperationType.STEP else None,
            )
            if u.type is OperationType.CALLBACK:
                op = replace(op, callback_id=f"cb-{next(self._callbacks)}")
            if u.type is OperationType.WAIT:
                op = replace(op, scheduled_end_timestamp=self.now + (u.wait_seconds or 0))
        else:
            op = old
        if action is OperationAction.START:
            op = replace(op, status=S.STARTED)
        elif action is OperationAction.SUCCEED:
            op = replace(
                op,
                status=S.SUCCEEDED,
                result=u.payload,
                replay_children=u.replay_children,
                attempt=_next_attempt(op),
            )
        elif action is OperationAction.FAIL:
            op = replace(op, status=S.FAILED, error=u.error, attempt=_next_attempt(op))
        elif action is OperationAction.RETRY:
            op = replace(
                op,
                status=S.PENDING,
                error=u.error,
                attempt=_next_attempt(op),
                next_attempt_timestamp=self.now + (u.next_attempt_delay_seconds or 0),
            )
        self.operations[u.id] = op
        return op


def _next_attempt(op: Operation) -> int | None:
    return None if op.attempt is None else op.attempt + 1


async def drive(
    handler: DurableHandler, service: FakeService, *, limit: int = 20
) -> list[dict[str, Any]]:
    """Invoke until the answer is not PENDING, advancing time between invocations."""
    answers: list[dict[str, Any]] = []
    for _ in range(limit):
        answer = await handler.invoke(service.event(), client=service)
        answers.append(answer)
        if answer["Status"] != "PENDING":
            return answers
        service.advance()
    raise AssertionError(f"still PENDING after {limit} invocations: {answers}")
