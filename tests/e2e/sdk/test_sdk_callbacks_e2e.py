"""Callbacks and wait_for_callback end to end on the real local service (virtual time).

Submitters here are async (see test_sdk_steps_e2e.py on sync bodies and MockClock).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import trio
from sdk_e2e_helpers import events, kinds, register, run, until

from trio_durable import (
    CallbackConfig,
    CallbackError,
    CallbackTimeoutError,
    DurableContext,
    RetryStrategy,
    SerializationError,
    WaitForCallbackConfig,
    WaitForCallbackContext,
    durable_execution,
)
from trio_durable.local.service import LocalService
from trio_durable.wire import ErrorObject


async def suspended(service: LocalService, arn: str) -> None:
    """Until the execution's latest invocation has answered (and nothing runs)."""
    await until(
        lambda: (
            kinds(service, arn)[-1] == "InvocationCompleted"
            and service.statistics().invocations_in_flight == 0
        )
    )


async def test_an_external_system_completes_a_created_callback(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    ids: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        callback = await ctx.create_callback(name="approval")
        ids.append(callback.callback_id)
        return {"approved": await callback.result()}

    started = service.start_execution(register(service, handler), None)
    await suspended(service, started.arn)
    service.send_callback_success(ids[0], b'{"by": "ops"}')
    result = await service.wait_until_terminal(started.arn)
    assert orjson.loads(result["Result"]) == {"approved": {"by": "ops"}}
    assert ids == [ids[0], ids[0]]
    assert kinds(service, started.arn) == [
        "ExecutionStarted",
        "CallbackStarted/Callback",
        "InvocationCompleted",
        "CallbackSucceeded/Callback",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    started_event = events(service, started.arn)[1]
    assert started_event["Name"] == "approval"
    assert started_event["CallbackStartedDetails"]["CallbackId"] == ids[0]


async def test_a_callback_result_that_is_not_json_names_the_callback(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    ids: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        callback = await ctx.create_callback(name="approval")
        ids.append(callback.callback_id)
        try:
            return await callback.result()
        except SerializationError as exc:
            return {"unreadable": str(exc)}

    started = service.start_execution(register(service, handler), None)
    await suspended(service, started.arn)
    service.send_callback_success(ids[0], b"{not json")
    result = await service.wait_until_terminal(started.arn)
    message = orjson.loads(result["Result"])["unreadable"]
    assert message.startswith(f"callback {ids[0]}: its result could not be read: ")
    assert "not valid JSON" in message


async def test_a_callback_failure_is_raised_by_result_only(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    between: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        callback = await ctx.create_callback(name="cb")
        between.append(callback.callback_id)
        await ctx.wait(5)
        try:
            await callback.result()
        except CallbackError as exc:
            return f"{type(exc).__name__}/{exc.error_type}/{exc.message}"
        return "unreachable"

    started = service.start_execution(register(service, handler), None)
    await suspended(service, started.arn)
    service.send_callback_failure(between[0], ErrorObject("not approved", "RejectedError"))
    result = await service.wait_until_terminal(started.arn)
    assert orjson.loads(result["Result"]) == "CallbackFailedError/RejectedError/not approved"
    assert len(set(between)) == 1 and len(between) >= 2


async def test_callback_timeouts_raise_callback_timeout_error(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    for config, error_type in [
        (CallbackConfig(timeout=30), "Callback.Timeout"),
        (CallbackConfig(heartbeat_timeout=10), "Callback.Heartbeat"),
    ]:

        @durable_execution
        async def handler(event: Any, ctx: DurableContext, config: CallbackConfig = config) -> Any:
            callback = await ctx.create_callback(config=config)
            return await callback.result()

        result = await run(service, handler)
        assert result["Status"] == "FAILED"
        assert result["Error"]["ErrorType"] == error_type
        assert "CallbackTimedOut/Callback" in kinds(service, result["Arn"])


async def test_heartbeats_keep_a_callback_alive(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    ids: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        callback = await ctx.create_callback(config=CallbackConfig(heartbeat_timeout=10))
        ids.append(callback.callback_id)
        return await callback.result()

    started = service.start_execution(register(service, handler), None)
    await suspended(service, started.arn)
    for _ in range(3):  # 18 virtual seconds in all: past the 10 s heartbeat timeout
        await trio.sleep(6)
        service.send_callback_heartbeat(ids[0])
    service.send_callback_success(ids[0], b'"alive"')
    result = await service.wait_until_terminal(started.arn)
    assert result["Status"] == "SUCCEEDED" and orjson.loads(result["Result"]) == "alive"


@pytest.mark.workflow_on_trio  # the submitter calls the service on its own thread
async def test_wait_for_callback_completed_from_its_submitter(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    submitted: list[tuple[str, str]] = []

    async def submit(callback_id: str, order: str, *, step_context: WaitForCallbackContext) -> None:
        step_context.logger.info("submitting %s", order)
        submitted.append((callback_id, order))
        service.send_callback_success(callback_id, orjson.dumps({"order": order, "ok": True}))

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_callback(submit, event["order"], name="approval")

    result = await run(service, handler, '{"order": "A-7"}')
    assert orjson.loads(result["Result"]) == {"order": "A-7", "ok": True}
    assert len(submitted) == 1 and submitted[0][1] == "A-7"
    history = events(service, result["Arn"])
    context = next(e for e in history if e["EventType"] == "ContextStarted")
    assert (context["SubType"], context["Name"]) == ("WaitForCallback", "approval")
    children = [e["EventType"] for e in history if e.get("ParentId") == context["Id"]]
    # The submitter's START is not awaited (at-least-once), so the callback it
    # completed at once may be recorded first.
    assert sorted(children) == [
        "CallbackStarted",
        "CallbackSucceeded",
        "StepStarted",
        "StepSucceeded",
    ]
    assert children[0] == "CallbackStarted"
    # The outcome came back merged into a checkpoint answer of the same invocation,
    # and result() saw it there: no second invocation was needed.
    assert kinds(service, result["Arn"]).count("InvocationCompleted") == 1


async def test_a_submitter_that_keeps_failing_raises_callback_submitter_error(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    async def submit(callback_id: str) -> None:
        raise ConnectionRefusedError("queue unavailable")

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        config = WaitForCallbackConfig(
            retry_strategy=RetryStrategy(max_attempts=2, initial_delay=1)
        )
        return await ctx.wait_for_callback(submit, name="job", config=config)

    result = await run(service, handler)
    assert result["Status"] == "FAILED"
    assert result["Error"]["ErrorType"] == "ConnectionRefusedError"
    history = kinds(service, result["Arn"])
    assert history.count("StepFailed/Step") == 2
    assert "ContextFailed/WaitForCallback" in history
    failed = next(e for e in events(service, result["Arn"]) if e["EventType"] == "ContextFailed")
    assert failed["ContextFailedDetails"]["Error"]["Payload"]["ErrorType"] == (
        "CallbackSubmitterError"
    )


async def test_callback_errors_keep_their_class_after_the_context_failure_replays(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    seen: list[str] = []

    async def ignore(callback_id: str) -> None:
        pass

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[str]:
        async def wrapped(child: DurableContext) -> None:
            config = WaitForCallbackConfig(timeout=20)
            await child.wait_for_callback(ignore, name="approval", config=config)

        outcome: list[str] = []
        try:
            await ctx.run_in_child_context(wrapped, name="wrapper")
        except CallbackError:
            raise AssertionError("the outer child context wraps it") from None
        except Exception as exc:
            outcome.append(f"outer:{type(exc).__name__}")
        try:
            await ctx.wait_for_callback(ignore, config=WaitForCallbackConfig(10))
        except CallbackTimeoutError as exc:
            outcome.append(f"{type(exc).__name__}:{exc.error_type}")
        seen.append(",".join(outcome))
        await ctx.wait(1)
        return outcome

    result = await run(service, handler)
    assert result["Status"] == "SUCCEEDED"
    outcome = orjson.loads(result["Result"])
    assert outcome == ["outer:ChildContextError", "CallbackTimeoutError:Callback.Timeout"]
    # The first invocation to see both raised them fresh, the last one replayed the
    # two FAILED contexts: the same classes and error types both times.
    assert seen == [",".join(outcome)] * 2


async def test_a_callback_still_pending_on_replay_suspends_again(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    ids: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        callback = await ctx.create_callback(name="slow")
        ids.append(callback.callback_id)
        await ctx.wait(5)
        return await callback.result()

    started = service.start_execution(register(service, handler), None)
    # The wait ends first: that invocation replays a STARTED callback and suspends again.
    await trio.sleep(6)  # virtual: past the wait
    await suspended(service, started.arn)
    assert kinds(service, started.arn).count("InvocationCompleted") == 2
    assert "WaitSucceeded/Wait" in kinds(service, started.arn)
    service.send_callback_success(ids[0], b"42")
    result = await service.wait_until_terminal(started.arn)
    assert orjson.loads(result["Result"]) == 42
    assert ids == [ids[0]] * 3
