"""End to end: workflows written with the trio-durable SDK run on the LocalService
(in-process invoker, MockClock), and the history has the event order the
conformance requirements expect."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import trio
import trio.testing

from trio_durable import (
    CallbackConfig,
    DurableContext,
    RetryStrategy,
    StepConfig,
    durable_execution,
)
from trio_durable.local.invokers import InProcessInvoker
from trio_durable.local.service import LocalService, open_local_service


def _history(service: LocalService, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = service.get_execution_history(arn, include_execution_data=True)[
        "Events"
    ]
    return events


async def _callback_ids(service: LocalService, arn: str, count: int) -> list[str]:
    """Callback ids from the history, waiting (in virtual time) until ``count`` exist."""
    while True:
        ids = [
            e["CallbackStartedDetails"]["CallbackId"]
            for e in _history(service, arn)
            if e["EventType"] == "CallbackStarted"
        ]
        if len(ids) >= count:
            return ids
        await trio.sleep(0.5)


async def test_step_wait_and_callback_workflow(autojump_clock: trio.testing.MockClock) -> None:
    # Step functions are async: a sync one would run in a worker thread, and an
    # autojumping MockClock may jump (to the execution timeout) while it runs.
    async def greet(name: str) -> str:
        return f"Hello, {name}!"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> dict[str, Any]:
        greeting = await ctx.step(greet, event, name="greet")
        callback = await ctx.create_callback(
            name="approval", config=CallbackConfig(timeout=timedelta(hours=2))
        )
        await ctx.wait(timedelta(hours=1))
        approval = await callback.result()
        return {"greeting": greeting, "approval": approval}

    async with open_local_service() as service:
        service.register_function("greeter", InProcessInvoker(handler))
        arn = service.start_execution("greeter", '"World"').arn
        (callback_id,) = await _callback_ids(service, arn, 1)
        service.send_callback_success(callback_id, b'"yes"')
        result = await service.wait_until_terminal(arn)
        assert result["Status"] == "SUCCEEDED", result
        assert result["Result"] == '{"greeting":"Hello, World!","approval":"yes"}'
        types = [e["EventType"] for e in _history(service, arn)]
        assert types[:5] == [
            "ExecutionStarted",
            "StepStarted",
            "StepSucceeded",
            "CallbackStarted",
            "WaitStarted",
        ]
        assert types[-1] == "ExecutionSucceeded" and types[-2] == "InvocationCompleted"
        assert "WaitSucceeded" in types and "CallbackSucceeded" in types
        assert [e["EventId"] for e in _history(service, arn)] == list(range(1, len(types) + 1))


async def test_step_retries_are_durable(autojump_clock: trio.testing.MockClock) -> None:
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError(f"attempt {attempts} failed")
        return "finally"

    config = StepConfig(
        retry_strategy=RetryStrategy(max_attempts=5, initial_delay=timedelta(seconds=30))
    )

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        return await ctx.step(flaky, name="flaky", config=config)

    async with open_local_service() as service:
        service.register_function("flaky", InProcessInvoker(handler))
        arn = service.start_execution("flaky", None).arn
        result = await service.wait_until_terminal(arn)
        assert result["Status"] == "SUCCEEDED", result
        assert result["Result"] == '"finally"'
        events = _history(service, arn)
        retries = [
            e["StepFailedDetails"]["RetryDetails"] for e in events if e["EventType"] == "StepFailed"
        ]
        assert [r["CurrentAttempt"] for r in retries] == [1, 2]
        succeeded = [e for e in events if e["EventType"] == "StepSucceeded"]
        assert succeeded[0]["StepSucceededDetails"]["RetryDetails"] == {"CurrentAttempt": 3}
        assert [e["EventType"] for e in events].count("InvocationCompleted") == 3


async def test_in_process_sdk_handlers_read_the_state_through_the_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A trio-durable handler gets an empty first page with a marker and pages the
    state in through its client; a plain handler gets the operations in the event."""

    async def echo(value: str) -> str:
        return value

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        first: str = await ctx.step(echo, "a", name="first")
        await ctx.wait(timedelta(seconds=5))
        second: str = await ctx.step(echo, first + "b", name="second")
        return second

    events: list[dict[str, Any]] = []

    class Recording:
        async def invoke(self, event: dict[str, Any], context: Any, *, client: Any) -> Any:
            events.append(event)
            return await handler.invoke(event, context, client=client)

    plain_events: list[dict[str, Any]] = []

    async def plain(event: dict[str, Any], context: Any) -> dict[str, Any]:
        plain_events.append(event)
        return {"Status": "SUCCEEDED", "Result": '"plain"'}

    async with open_local_service() as service:
        service.register_function("recorded", InProcessInvoker(Recording()))
        service.register_function("plain", InProcessInvoker(plain))
        arn = service.start_execution("recorded", '"x"').arn
        result = await service.wait_until_terminal(arn)
        assert result["Status"] == "SUCCEEDED", result
        assert result["Result"] == '"ab"'
        plain_arn = service.start_execution("plain", '"y"').arn
        assert (await service.wait_until_terminal(plain_arn))["Result"] == '"plain"'
    assert len(events) == 2  # replayed after the wait, from the state read through the client
    for event in events:
        assert event["DurableExecutionArn"] == arn
        assert event["InitialExecutionState"] == {"Operations": [], "NextMarker": "0"}
    (plain_event,) = plain_events
    operations = plain_event["InitialExecutionState"]["Operations"]
    assert [op["Type"] for op in operations] == ["EXECUTION"]
    assert operations[0]["ExecutionDetails"]["InputPayload"] == '"y"'
