"""Child contexts, callbacks and wait_for_callback, against the in-memory fake service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from sdk_fakes import FakeService, drive

from trio_durable import (
    CallbackConfig,
    CallbackError,
    CallbackFailedError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    ChildContextError,
    DurableContext,
    RetryStrategy,
    StepConfig,
    StepSemantics,
    WaitForCallbackConfig,
    WaitForCallbackContext,
    durable_execution,
)
from trio_durable.wire import (
    ErrorObject,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    error_from_wire,
)

S = OperationStatus


def result_of(answer: dict[str, Any]) -> Any:
    return orjson.loads(answer["Result"])


# --- child contexts -------------------------------------------------------------


async def test_a_child_context_groups_its_operations_and_replays_its_result() -> None:
    runs: list[str] = []

    async def double(child: DurableContext, x: int) -> int:
        runs.append("body")
        value: int = await child.step(abs, -x, name="inner")
        return value * 2

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        result: int = await ctx.run_in_child_context(double, 21)
        await ctx.wait(1)
        return result

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert result_of(answers[-1]) == 42 and runs == ["body"]
    (context,) = service.by_type(OperationType.CONTEXT)
    (step,) = service.by_type(OperationType.STEP)
    assert (context.name, context.sub_type, context.result) == ("double", "RunInChildContext", "42")
    assert step.parent_id == context.id


async def test_a_failed_child_context_raises_the_same_error_on_replay() -> None:
    caught: list[tuple[type[BaseException], str, str | None]] = []

    async def broken(child: DurableContext) -> None:
        raise LookupError("no such thing")

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.run_in_child_context(broken, name="kid")
        except ChildContextError as exc:
            caught.append((type(exc), exc.message, exc.error_type))
        await ctx.wait(1)
        return "recovered"

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert result_of(answers[-1]) == "recovered"
    assert caught == [(ChildContextError, "no such thing", "LookupError")] * 2


async def test_a_large_child_result_is_rebuilt_by_replaying_its_children() -> None:
    runs: list[int] = []

    async def big(child: DurableContext) -> str:
        runs.append(1)
        small: str = await child.step(str.upper, "abc", name="small")
        return small * (100 * 1024)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        value: str = await ctx.run_in_child_context(big)
        await ctx.wait(1)
        return len(value)

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert result_of(answers[-1]) == 300 * 1024
    assert runs == [1, 1]  # the body ran again on replay...
    (context,) = service.by_type(OperationType.CONTEXT)
    assert context.replay_children is True and context.result is None
    steps = [u for c in service.calls for u in c.updates if u.type is OperationType.STEP]
    assert len(steps) == 2  # ...but its step did not: one START, one SUCCEED


# --- create_callback ----------------------------------------------------------------


def approve(service: FakeService, status: OperationStatus, **fields: Any) -> None:
    service.complete_callback(service.callback().id, status, **fields)


async def test_a_callback_id_comes_from_the_merged_start_and_the_result_suspends() -> None:
    ids: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        callback = await ctx.create_callback(name="approval", config=CallbackConfig(timeout=60))
        ids.append(callback.callback_id)
        return await callback.result()

    service = FakeService()
    service.start()
    first = await handler.invoke(service.event(), client=service)
    assert first == {"Status": "PENDING"}
    start = service.calls[0].updates[0]
    assert (start.sub_type, start.callback_timeout_seconds) == ("Callback", 60)
    assert start.callback_heartbeat_timeout_seconds is None
    assert ids == [service.callback("approval").callback_id]

    again = await handler.invoke(service.event(), client=service)  # still pending
    assert again == {"Status": "PENDING"}

    approve(service, S.SUCCEEDED, result='{"ok": true}')
    final = await handler.invoke(service.event(), client=service)
    assert result_of(final) == {"ok": True}
    assert ids == [ids[0]] * 3


@pytest.mark.parametrize(
    ("status", "error_cls", "error_type"),
    [
        (S.FAILED, CallbackFailedError, "RejectedError"),
        (S.TIMED_OUT, CallbackTimeoutError, "Callback.Timeout"),
    ],
)
async def test_callback_errors_are_deferred_to_result(
    status: OperationStatus, error_cls: type[CallbackError], error_type: str
) -> None:
    between: list[str] = []
    raised: list[CallbackError] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        callback = await ctx.create_callback(name="cb")
        between.append(callback.callback_id)  # runs alike on every replay
        try:
            await callback.result()
        except CallbackError as exc:
            raised.append(exc)
            return "handled"
        return "unreachable"

    service = FakeService()
    service.start()
    assert (await handler.invoke(service.event(), client=service))["Status"] == "PENDING"
    approve(
        service, status, error=ErrorObject("not approved", error_type, '{"who": "bob"}', ("tb",))
    )
    answer = await handler.invoke(service.event(), client=service)
    assert result_of(answer) == "handled"
    assert len(between) == 2
    (exc,) = raised
    assert type(exc) is error_cls
    assert (exc.callback_id, exc.message, exc.error_type, exc.error_data, exc.stack_trace) == (
        between[0],
        "not approved",
        error_type,
        '{"who": "bob"}',
        ("tb",),
    )


async def test_result_sees_an_outcome_merged_by_a_later_checkpoint() -> None:
    """The review's ordering bug: a waiter must see the merged state."""

    def deliver(service: FakeService, updates: Sequence[OperationUpdate]) -> list[str]:
        if any(u.name == "notify" and u.action is OperationAction.SUCCEED for u in updates):
            approve(service, S.SUCCEEDED, result='"yes"')
            return [service.callback().id]
        return []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        callback = await ctx.create_callback(name="cb")
        config = StepConfig(semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)
        await ctx.step(lambda: None, name="notify", config=config)
        return await callback.result()

    service = FakeService(on_checkpoint=deliver)
    service.start()
    answer = await handler.invoke(service.event(), client=service)
    assert answer == {"Status": "SUCCEEDED", "Result": '"yes"'}


async def test_the_flush_before_suspending_can_wake_a_parked_result() -> None:
    def deliver(service: FakeService, updates: Sequence[OperationUpdate]) -> list[str]:
        if any(u.name == "notify" for u in updates):
            approve(service, S.SUCCEEDED, result="7")
            return [service.callback().id]
        return []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        callback = await ctx.create_callback(name="cb")
        await ctx.step(lambda: None, name="notify")  # its checkpoints linger
        return await callback.result()

    service = FakeService(on_checkpoint=deliver)
    service.start()
    answer = await handler.invoke(service.event(), client=service)
    assert answer == {"Status": "SUCCEEDED", "Result": "7"}


# --- wait_for_callback ----------------------------------------------------------------


async def test_wait_for_callback_runs_create_submit_and_result_in_a_child_context() -> None:
    submitted: list[tuple[str, str, WaitForCallbackContext]] = []

    def submit(callback_id: str, ticket: str, *, step_context: WaitForCallbackContext) -> str:
        submitted.append((callback_id, ticket, step_context))
        return "ignored"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_callback(submit, "T-1", name="approval")

    service = FakeService()
    service.start()
    assert (await handler.invoke(service.event(), client=service))["Status"] == "PENDING"
    callback = service.callback()
    (context,) = service.by_type(OperationType.CONTEXT)
    (step,) = service.by_type(OperationType.STEP)
    assert (context.name, context.sub_type) == ("approval", "WaitForCallback")
    assert callback.parent_id == step.parent_id == context.id
    assert [(c, t) for c, t, _ in submitted] == [(callback.callback_id, "T-1")]
    assert isinstance(submitted[0][2], WaitForCallbackContext)
    order = [(u.type, u.action) for c in service.calls for u in c.updates]
    assert order[:3] == [
        (OperationType.CONTEXT, OperationAction.START),
        (OperationType.CALLBACK, OperationAction.START),
        (OperationType.STEP, OperationAction.START),
    ]

    approve(service, S.SUCCEEDED, result='"approved"')
    answer = await handler.invoke(service.event(), client=service)
    assert result_of(answer) == "approved" and len(submitted) == 1
    (context,) = service.by_type(OperationType.CONTEXT)
    assert context.status is S.SUCCEEDED and context.result == '"approved"'


async def test_a_failing_submitter_raises_callback_submitter_error_after_its_retries() -> None:
    attempts: list[int] = []

    def submit(callback_id: str) -> None:
        attempts.append(1)
        raise ConnectionError("queue down")

    seen: list[tuple[str, str | None, str | None]] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        config = WaitForCallbackConfig(retry_strategy=RetryStrategy(max_attempts=2))
        try:
            await ctx.wait_for_callback(submit, name="job", config=config)
        except CallbackSubmitterError as exc:
            seen.append((exc.message, exc.error_type, exc.callback_id))
        await ctx.wait(1)
        return "done"

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert [a["Status"] for a in answers] == ["PENDING", "PENDING", "SUCCEEDED"]
    assert len(attempts) == 2
    callback_id = service.callback().callback_id
    assert seen == [("queue down", "ConnectionError", callback_id)] * 2  # first run, replay


@pytest.mark.parametrize(
    ("status", "error_cls"),
    [(S.FAILED, CallbackFailedError), (S.TIMED_OUT, CallbackTimeoutError)],
)
async def test_a_callback_error_keeps_its_class_through_the_context_replay(
    status: OperationStatus, error_cls: type[CallbackError]
) -> None:
    seen: list[CallbackError] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.wait_for_callback(lambda callback_id: None, name="approval")
        except CallbackError as exc:
            seen.append(exc)
        await ctx.wait(1)
        return "ok"

    service = FakeService()
    service.start()
    assert (await handler.invoke(service.event(), client=service))["Status"] == "PENDING"
    approve(service, status, error=ErrorObject("nope", "RejectedError", '{"n": 1}'))
    answers = await drive(handler, service)
    assert result_of(answers[-1]) == "ok"
    (context,) = service.by_type(OperationType.CONTEXT)
    assert context.status is S.FAILED  # the second run replayed this record
    callback_id = service.callback().callback_id
    assert [type(e) for e in seen] == [error_cls, error_cls]
    assert all(
        (e.message, e.error_type, e.error_data, e.callback_id)
        == ("nope", "RejectedError", '{"n": 1}', callback_id)
        for e in seen
    )


async def test_an_uncaught_callback_failure_fails_the_execution_with_its_message() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_callback(lambda callback_id: None)

    service = FakeService()
    service.start()
    await handler.invoke(service.event(), client=service)
    approve(service, S.FAILED, error=ErrorObject("not approved", "RejectedError"))
    answer = await handler.invoke(service.event(), client=service)
    error = error_from_wire(answer["Error"])
    assert answer["Status"] == "FAILED"
    assert error is not None and (error.message, error.type) == ("not approved", "RejectedError")
    (context,) = service.by_type(OperationType.CONTEXT)
    assert context.name is None and context.error is not None
    assert context.error.type == "CallbackFailedError"


class Tagged:
    """A serializer that marks what it wrote, to see where it was used."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def serialize(self, value: Any) -> str | None:
        return f"{self.tag}:{orjson.dumps(value).decode()}"

    def deserialize(self, payload: str | None) -> Any:
        if payload is None:
            return None
        tag, _, body = payload.partition(":")
        return {"tag": tag, "value": orjson.loads(body)}


async def test_serializers_can_be_chosen_per_handler_and_per_operation() -> None:
    from trio_durable import ChildConfig

    async def one() -> int:
        return 1

    async def kid(child: DurableContext) -> int:
        return 2

    @durable_execution(serializer=Tagged("handler"))
    async def handler(event: Any, ctx: DurableContext) -> Any:
        a = await ctx.step(one, config=StepConfig(serializer=Tagged("step")))
        b = await ctx.run_in_child_context(kid, config=ChildConfig(serializer=Tagged("child")))
        callback = await ctx.create_callback(config=CallbackConfig(serializer=Tagged("cb")))
        c = await callback.result()
        return [a, b, c, event]

    service = FakeService()
    service.start('handler:"input"')
    assert (await handler.invoke(service.event(), client=service))["Status"] == "PENDING"
    approve(service, S.SUCCEEDED, result='sent:"three"')
    answer = await handler.invoke(service.event(), client=service)
    (step,) = service.by_type(OperationType.STEP)
    (context,) = service.by_type(OperationType.CONTEXT)
    assert (step.result, context.result) == ("step:1", "child:2")
    assert answer["Result"] == (
        'handler:[{"tag":"step","value":1},{"tag":"child","value":2},'
        '{"tag":"sent","value":"three"},{"tag":"handler","value":"input"}]'
    )


@pytest.mark.parametrize("name", ["", "x" * 257, 42])
async def test_bad_operation_names_are_refused(name: Any) -> None:
    from trio_durable import ValidationError

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.wait(1, name=name)
        except ValidationError as exc:
            return exc.message
        return "unreachable"

    service = FakeService()
    service.start()
    answer = await handler.invoke(service.event(), client=service)
    assert "operation name must" in result_of(answer)
    assert service.calls == []


async def test_a_callback_result_is_awaited_in_the_task_that_created_it() -> None:
    import trio

    outcome: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        callback = await ctx.create_callback()

        async def elsewhere() -> None:
            try:
                await callback.result()
            except CallbackError:
                outcome.append("callback error")
            except Exception as exc:
                outcome.append(f"{type(exc).__name__}: {exc}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(elsewhere)

    service = FakeService()
    service.start()
    await handler.invoke(service.event(), client=service)
    assert len(outcome) == 1
    assert outcome[0].startswith("ValidationError: callback cb-1: await result() in the task")
