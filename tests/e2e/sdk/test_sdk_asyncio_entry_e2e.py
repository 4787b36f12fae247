"""The Lambda entries on asyncio, run by the local service's invokers (real clock).

A sync Lambda handler that runs ``asyncio.run(handler.invoke(event, context))``
and the sync entry of a handler declared ``backend="asyncio"`` both reach the
service through the context's ``durable_client`` from an asyncio loop in a
worker thread; ``trio-durable run``'s in-process invoker runs such a handler on
an asyncio loop of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import trio

from trio_durable import DurableContext, ValidationError, durable_execution
from trio_durable.local.invokers import InProcessInvoker, ThreadInvoker
from trio_durable.local.service import LocalService

pytestmark = pytest.mark.workflow_on_trio  # each test picks its invoker itself


async def on_asyncio(text: str) -> dict[str, Any]:
    await asyncio.sleep(0)  # fails on any loop but asyncio's
    return {"text": text.upper(), "loop": type(asyncio.get_running_loop()).__name__}


async def shout_twice(event: dict[str, str], ctx: DurableContext) -> list[Any]:
    first = await ctx.step(on_asyncio, event["text"], name="first")
    callback = await ctx.create_callback(name="approval")
    approval = await callback.result()
    second = await ctx.step(on_asyncio, first["text"] + "!", name="second")
    return [first["text"], approval, second["text"]]


async def complete_the_callback(service: LocalService, arn: str) -> dict[str, Any]:
    with trio.fail_after(30):
        while True:
            ops = service.engine.operations(arn)
            callback = next((op for op in ops if op.callback_id is not None), None)
            if callback is not None:
                break
            await trio.sleep(0.01)
        service.send_callback_success(callback.callback_id, b'"yes"')
        return await service.wait_until_terminal(arn)


def asyncio_run_of_invoke() -> ThreadInvoker:
    """A sync Lambda handler of one's own: ``asyncio.run(handler.invoke(...))``."""
    workflow = durable_execution(shout_twice)

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return asyncio.run(workflow.invoke(event, context))

    return ThreadInvoker(lambda_handler)


def sync_entry_of_an_asyncio_handler() -> ThreadInvoker:
    return ThreadInvoker(durable_execution(backend="asyncio")(shout_twice))


def in_process_asyncio_handler() -> InProcessInvoker:
    """What ``trio-durable run``/``serve`` use: the handler on an asyncio loop of its own."""
    return InProcessInvoker(durable_execution(backend="asyncio")(shout_twice))


@pytest.mark.parametrize(
    "make_invoker",
    [asyncio_run_of_invoke, sync_entry_of_an_asyncio_handler, in_process_asyncio_handler],
)
async def test_an_asyncio_workflow_runs_to_the_end(
    service: LocalService, make_invoker: Callable[[], Any]
) -> None:
    service.register_function("asyncio-workflow", make_invoker())
    started = service.start_execution("asyncio-workflow", '{"text": "hi"}')
    result = await complete_the_callback(service, started.arn)
    assert result["Status"] == "SUCCEEDED", result
    assert orjson.loads(result["Result"]) == ["HI", "yes", "HI!"]
    first = next(op for op in service.engine.operations(started.arn) if op.name == "first")
    assert orjson.loads(first.result or "")["loop"].endswith("EventLoop")


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValidationError, match="backend must be one of"):
        durable_execution(backend="curio")(shout_twice)
