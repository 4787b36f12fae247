"""Suite ``invoke`` (5-x): one durable function per requirement, and the targets they call.

The targets (``conformance.mapping.TARGETS``) are durable functions too; the local
service registers them under fixed names next to the requirements' functions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conformance.handlers.support import UppercaseSerializer
from conformance.mapping import ECHO_TARGET, FAILING_TARGET, MEASURING_TARGET, TENANT_ECHO_TARGET
from trio_durable import DurableContext, InvokeConfig, InvokeError, durable_execution
from trio_durable.serialization import DEFAULT_SERIALIZER

# Just under the 256 KB the service records for one operation's payload.
LARGE_PAYLOAD_CHARS = 250 * 1024
ECHO = ECHO_TARGET.function
FAILING = FAILING_TARGET.function


# --- the targets --------------------------------------------------------------------------


@durable_execution
async def echo_target(event: Any, ctx: DurableContext) -> Any:
    """Returns its input unchanged."""
    return event


@durable_execution
async def failing_target(event: Any, ctx: DurableContext) -> Any:
    """Always fails."""
    raise RuntimeError("the invoked function failed on purpose")


@durable_execution
async def measuring_target(event: Any, ctx: DurableContext) -> Any:
    """Returns how many characters its input's ``data`` holds."""
    return {"receivedChars": len(event["data"])}


# --- the requirements ---------------------------------------------------------------------


class UppercaseResultSerializer:
    """Reads a result as its raw payload text, upper-cased: 5-16 expects the JSON
    text ``"hello"`` to come back as the string ``"HELLO"``, quotes included."""

    def serialize(self, value: Any) -> str | None:
        return DEFAULT_SERIALIZER.serialize(value)

    def deserialize(self, payload: str | None) -> Any:
        return None if payload is None else payload.upper()


@durable_execution
async def invoke_basic(event: Any, ctx: DurableContext) -> Any:
    """5-1: the echo target returns the input."""
    return await ctx.invoke(ECHO, event)


@durable_execution
async def invoke_named(event: Any, ctx: DurableContext) -> Any:
    """5-2: the invoke is named after the input's ``name``."""
    return await ctx.invoke(ECHO, event["payload"], name=event["name"])


@durable_execution
async def invoke_complex_object(event: Any, ctx: DurableContext) -> Any:
    """5-3: a nested object goes to the echo target and comes back whole."""
    return await ctx.invoke(ECHO, event)


@durable_execution
async def invoke_null(event: Any, ctx: DurableContext) -> Any:
    """5-4: null goes to the echo target and comes back."""
    return await ctx.invoke(ECHO, None)


@durable_execution
async def invoke_target_fails(event: Any, ctx: DurableContext) -> Any:
    """5-5: the target fails; the InvokeError fails the execution."""
    return await ctx.invoke(FAILING)


@durable_execution
async def invoke_target_fails_caught(event: Any, ctx: DurableContext) -> Any:
    """5-6: the target fails; the InvokeError is caught and a fallback returned."""
    try:
        return await ctx.invoke(FAILING)
    except InvokeError as exc:
        return {"fallback": True, "error": exc.message}


@durable_execution
async def invoke_large_payload(event: Any, ctx: DurableContext) -> Any:
    """5-7: a payload just under the service's limit reaches the target."""
    return await ctx.invoke(MEASURING_TARGET.function, {"data": "x" * LARGE_PAYLOAD_CHARS})


@durable_execution
async def invoke_tenant(event: Any, ctx: DurableContext) -> Any:
    """5-8: the invoke carries the input's tenant id to a tenant-isolated target."""
    config = InvokeConfig(tenant_id=event["tenantId"])
    return await ctx.invoke(TENANT_ECHO_TARGET.function, event["payload"], config=config)


@durable_execution
async def invoke_then_wait(event: Any, ctx: DurableContext) -> Any:
    """5-9: after the wait, replay returns the recorded invoke result."""
    result = await ctx.invoke(ECHO, "cached")
    await ctx.wait(timedelta(seconds=1))
    return result


@durable_execution
async def invoke_failure_caught_then_wait(event: Any, ctx: DurableContext) -> Any:
    """5-10: after the wait, replay raises the recorded InvokeError again."""
    caught = 0
    try:
        await ctx.invoke(FAILING)
    except InvokeError:
        caught += 1
    await ctx.wait(timedelta(seconds=1))
    return {"caught": caught}


def make_order() -> dict[str, Any]:
    return {"orderId": "order-1", "items": 2}


@durable_execution
async def step_then_invoke(event: Any, ctx: DurableContext) -> Any:
    """5-11: the step's result is the invoke's payload."""
    order = await ctx.step(make_order)
    return await ctx.invoke(ECHO, order)


def summarize(value: Any) -> str:
    return f"processed {value}"


@durable_execution
async def invoke_then_step(event: Any, ctx: DurableContext) -> Any:
    """5-12: the invoke's result is the step's argument."""
    echoed = await ctx.invoke(ECHO, "from target")
    return await ctx.step(summarize, echoed)


async def invoke_echo(child: DurableContext) -> Any:
    return await child.invoke(ECHO, "inside child")


@durable_execution
async def invoke_in_child(event: Any, ctx: DurableContext) -> Any:
    """5-13: the invoke runs inside a child context, which returns its result."""
    return await ctx.run_in_child_context(invoke_echo)


@durable_execution
async def invoke_two_sequential(event: Any, ctx: DurableContext) -> Any:
    """5-14: two targets, one after the other, each a suspension."""
    first = await ctx.invoke(ECHO, {"data": "first"})
    second = await ctx.invoke(MEASURING_TARGET.function, first)
    return {"first": first, "second": second}


@durable_execution
async def invoke_custom_payload_serializer(event: Any, ctx: DurableContext) -> Any:
    """5-15: the payload is written upper-cased by its own serializer."""
    config = InvokeConfig(payload_serializer=UppercaseSerializer())
    return await ctx.invoke(ECHO, event, config=config)


@durable_execution
async def invoke_custom_result_serializer(event: Any, ctx: DurableContext) -> Any:
    """5-16: the result is read upper-cased by its own serializer."""
    config = InvokeConfig(result_serializer=UppercaseResultSerializer())
    return await ctx.invoke(ECHO, event, config=config)
