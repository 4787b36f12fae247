"""Chained invokes end to end: a caller and its targets on the real local service
(virtual time)."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import orjson
import trio
from sdk_e2e_helpers import events, kinds, register, run
from test_sdk_boto3_e2e import Boto3Invoker

from trio_durable import (
    DurableContext,
    InvokeConfig,
    InvokeError,
    JsonSerializer,
    SerializationError,
    durable_execution,
)
from trio_durable.local.http import serve
from trio_durable.local.invokers import InProcessInvoker
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.testing import DurableTestRunner
from trio_durable.wire import MAX_OPERATION_PAYLOAD_BYTES, OperationType


@durable_execution
async def echo(event: Any, ctx: DurableContext) -> Any:
    return event


@durable_execution
async def out_of_stock(event: Any, ctx: DurableContext) -> Any:
    raise LookupError(f"no stock for {event['sku']}")


def started_details(service: LocalService, arn: str) -> dict[str, Any]:
    (event,) = [e for e in events(service, arn) if e["EventType"] == "ChainedInvokeStarted"]
    details: dict[str, Any] = event["ChainedInvokeStartedDetails"]
    return details


async def test_a_target_that_succeeds_gives_its_result(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    target = register(service, echo)

    @durable_execution
    async def caller(event: Any, ctx: DurableContext) -> Any:
        return {"echoed": await ctx.invoke(target, event, name="call")}

    result = await run(service, caller, '{"order": 7}')
    assert result["Status"] == "SUCCEEDED"
    assert orjson.loads(result["Result"]) == {"echoed": {"order": 7}}
    assert kinds(service, result["Arn"]) == [
        "ExecutionStarted",
        "ChainedInvokeStarted/ChainedInvoke",
        "InvocationCompleted",
        "ChainedInvokeSucceeded/ChainedInvoke",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    details = started_details(service, result["Arn"])
    assert details["FunctionName"] == target
    assert details["Input"]["Payload"] == '{"order":7}'
    assert "TenantId" not in details
    (child,) = service.list_executions(target)["DurableExecutions"]
    assert child["DurableExecutionArn"] == details["DurableExecutionArn"]
    assert child["Status"] == "SUCCEEDED"


async def test_a_failing_target_fails_the_caller_when_uncaught(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    target = register(service, out_of_stock)

    @durable_execution
    async def caller(event: Any, ctx: DurableContext) -> Any:
        return await ctx.invoke(target, {"sku": "a-1"})

    result = await run(service, caller)
    assert result["Status"] == "FAILED"
    assert result["Error"]["ErrorType"] == "LookupError"
    assert result["Error"]["ErrorMessage"] == "no stock for a-1"
    assert kinds(service, result["Arn"])[-3:] == [
        "ChainedInvokeFailed/ChainedInvoke",
        "InvocationCompleted",
        "ExecutionFailed",
    ]


async def test_a_failing_target_is_caught_as_invoke_error_on_every_replay(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    target = register(service, out_of_stock)
    caught: list[tuple[str, str | None]] = []

    @durable_execution
    async def caller(event: Any, ctx: DurableContext) -> Any:
        try:
            await ctx.invoke(target, {"sku": "b-2"})
        except InvokeError as exc:
            caught.append((exc.message, exc.error_type))
        await ctx.wait(5)
        return "fallback"

    result = await run(service, caller)
    assert result["Status"] == "SUCCEEDED" and orjson.loads(result["Result"]) == "fallback"
    assert caught == [("no stock for b-2", "LookupError")] * 2
    assert len(service.list_executions(target)["DurableExecutions"]) == 1


async def test_a_target_that_waits_an_hour_suspends_the_caller(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    @durable_execution
    async def slow(event: Any, ctx: DurableContext) -> Any:
        await ctx.wait(timedelta(hours=1), name="an hour")
        return event * 2

    target = register(service, slow)
    calls: list[int] = []

    @durable_execution
    async def caller(event: Any, ctx: DurableContext) -> Any:
        calls.append(1)
        return await ctx.invoke(target, 21)

    result = await run(service, caller)
    assert orjson.loads(result["Result"]) == 42
    assert len(calls) == 2  # one invocation to start, one to finish
    (child,) = service.list_executions(target)["DurableExecutions"]
    assert "WaitSucceeded/Wait" in kinds(service, child["DurableExecutionArn"])


async def test_an_invoke_inside_a_child_context(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    target = register(service, echo)

    async def body(child: DurableContext, value: str) -> Any:
        return await child.invoke(target, value, name="inner")

    @durable_execution
    async def caller(event: Any, ctx: DurableContext) -> Any:
        return await ctx.run_in_child_context(body, "hi", name="group")

    result = await run(service, caller)
    assert orjson.loads(result["Result"]) == "hi"
    started = {e["EventType"]: e for e in events(service, result["Arn"])}
    assert started["ChainedInvokeStarted"]["Name"] == "inner"
    assert started["ChainedInvokeStarted"]["ParentId"] == started["ContextStarted"]["Id"]


class Shouting:
    """JSON with strings upper-cased on the way out (payloads), tagged on the way in."""

    def serialize(self, value: Any) -> str | None:
        return JsonSerializer().serialize(value.upper() if isinstance(value, str) else value)

    def deserialize(self, payload: str | None) -> Any:
        return {"raw": payload}


async def test_custom_payload_and_result_serializers(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    target = register(service, echo)

    @durable_execution
    async def caller(event: Any, ctx: DurableContext) -> Any:
        config = InvokeConfig(payload_serializer=Shouting(), result_serializer=Shouting())
        return await ctx.invoke(target, "quiet", config=config)

    result = await run(service, caller)
    assert orjson.loads(result["Result"]) == {"raw": '"QUIET"'}
    assert started_details(service, result["Arn"])["Input"]["Payload"] == '"QUIET"'


async def test_the_tenant_id_is_recorded(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    target = register(service, echo, tenant_isolation_mode="PER_TENANT")

    @durable_execution
    async def caller(event: Any, ctx: DurableContext) -> Any:
        return await ctx.invoke(target, 1, config=InvokeConfig(tenant_id="tenant-42"))

    result = await run(service, caller)
    assert result["Status"] == "SUCCEEDED"
    details = started_details(service, result["Arn"])
    assert details["TenantId"] == "tenant-42"
    assert service.engine.record(details["DurableExecutionArn"]).tenant_id == "tenant-42"


async def test_a_payload_too_large_is_refused_before_anything_is_recorded(
    service: LocalService, autojump_clock: trio.abc.Clock
) -> None:
    target = register(service, echo)

    @durable_execution
    async def caller(event: Any, ctx: DurableContext) -> Any:
        try:
            await ctx.invoke(target, "x" * MAX_OPERATION_PAYLOAD_BYTES, name="huge")
        except SerializationError as exc:
            return exc.message
        return "sent"

    result = await run(service, caller)
    message = orjson.loads(result["Result"])
    assert "'huge'" in message and f"at most {MAX_OPERATION_PAYLOAD_BYTES}" in message
    assert kinds(service, result["Arn"]) == [
        "ExecutionStarted",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    assert service.list_executions(target)["DurableExecutions"] == []


@durable_execution
async def checkout(event: Any, ctx: DurableContext) -> Any:
    priced = await ctx.invoke("pricing", event, name="price")
    return {"total": priced["total"]}


@durable_execution
async def pricing(event: Any, ctx: DurableContext) -> Any:
    await ctx.wait(timedelta(minutes=5))
    return {"total": 3 * event["qty"]}


async def test_the_test_runner_runs_a_caller_and_a_target_registered_beside_it(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with DurableTestRunner(checkout) as runner:
        runner.service.register_function("pricing", InProcessInvoker(pricing))
        result = await runner.run({"qty": 4})
    assert result.status == "SUCCEEDED" and result.value == {"total": 12}
    assert result.operation("price").type is OperationType.CHAINED_INVOKE
    assert result.invocations == 2


async def test_an_invoke_over_boto3_and_the_http_api() -> None:
    @durable_execution
    async def caller(event: Any, ctx: DurableContext) -> Any:
        config = InvokeConfig(tenant_id="t-1")
        try:
            await ctx.invoke("broken", {"sku": "c-3"}, name="fails", config=config)
        except InvokeError as exc:
            failed = exc.error_type
        return {"echo": await ctx.invoke("echo", event, name="echoes"), "failed": failed}

    async with open_local_service() as service, trio.open_nursery() as nursery:
        endpoint = await nursery.start(functools.partial(serve, service, port=0))
        service.register_function("caller", Boto3Invoker(caller, endpoint))
        service.register_function("echo", InProcessInvoker(echo))
        service.register_function(
            "broken", InProcessInvoker(out_of_stock), tenant_isolation_mode="PER_TENANT"
        )
        started = service.start_execution("caller", '{"n": 5}')
        with trio.fail_after(30):
            result = await service.wait_until_terminal(started.arn)
        nursery.cancel_scope.cancel()
    assert result["Status"] == "SUCCEEDED", result
    assert orjson.loads(result["Result"]) == {"echo": {"n": 5}, "failed": "LookupError"}
    assert [
        e["ChainedInvokeStartedDetails"].get("TenantId")
        for e in events(service, started.arn)
        if e["EventType"] == "ChainedInvokeStarted"
    ] == ["t-1", None]
