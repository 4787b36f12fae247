"""Finding operations and callbacks by name: ambiguous names are refused (listing
the candidates), typed getters check the kind, and waiting for a callback that is
not there fails at once, listing the ones that are."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import trio
import trio.testing

from trio_durable import CallbackConfig, CallbackError, DurableContext, durable_execution
from trio_durable.local.invokers import InProcessInvoker
from trio_durable.testing import DurableTestRunner
from trio_durable.wire import OperationType


def make_thumbnail(image: str) -> str:
    return f"thumb-of-{image}"


async def _thumbnail_item(item_ctx: DurableContext, image: str, index: int) -> str:
    thumb: str = await item_ctx.step(make_thumbnail, image, name="thumbnail")
    return thumb


@durable_execution
async def gallery(event: dict[str, Any], ctx: DurableContext) -> list[str]:
    batch = await ctx.map(event["images"], _thumbnail_item, name="thumbnails")
    return list(batch.results())


async def test_a_name_shared_by_map_items_is_refused_every_time_listing_the_candidates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    messages = set()
    async with DurableTestRunner(gallery) as runner:
        for _ in range(6):  # the branches' order varies from run to run; the answer does not
            result = await runner.run({"images": ["a.png", "b.png", "c.png"]})
            assert result.status == "SUCCEEDED", result.error
            with pytest.raises(LookupError) as refused:
                result.result_of("thumbnail")
            messages.add(str(refused.value))
            item = result.operation("map-item-1", parent="thumbnails")
            assert result.result_of("thumbnail", parent=item) == "thumb-of-b.png"
    (message,) = messages
    assert not isinstance(refused.value, KeyError)
    assert message.startswith("3 operations are named 'thumbnail', so the name is ambiguous: ")
    for index in range(3):
        assert f"'thumbnails' > 'map-item-{index}' > 'thumbnail'" in message
    assert "pass parent=" in message


def charge() -> str:
    return "charged"


@durable_execution
async def billing(event: dict[str, Any], ctx: DurableContext) -> str:
    return f"billed {event['amount']}"


@durable_execution
async def typed(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    await ctx.wait(60, name="cool-off")
    charged = await ctx.step(charge, name="charge")
    callback = await ctx.create_callback(name="approval")
    billed = await ctx.invoke("billing", {"amount": 5}, name="bill")
    decision = await callback.result()
    return {"charged": charged, "billed": billed, "decision": decision}


async def test_typed_getters_find_each_kind_by_name_and_check_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(typed) as runner:
        runner.service.register_function("billing", InProcessInvoker(billing))
        execution = await runner.start({})
        callback = await execution.wait_for_callback("approval")
        await runner.succeed_callback(callback, "yes")
        result = await execution.result()
    assert result.status == "SUCCEEDED", result.error
    assert result.step("charge").type is OperationType.STEP
    assert result.step("charge").attempt == 1
    assert result.wait("cool-off").type is OperationType.WAIT
    assert result.callback("approval").callback_id == callback.callback_id
    assert result.invoke("bill").type is OperationType.CHAINED_INVOKE
    assert result.result_of("bill") == "billed 5"
    with pytest.raises(
        KeyError, match=r"no STEP operation named 'cool-off' \(named ones: 'charge'"
    ):
        result.step("cool-off")
    with pytest.raises(
        KeyError, match=r"no WAIT operation named 'charge' \(named ones: 'cool-off'"
    ):
        result.wait("charge")


@durable_execution
async def approval_flow(event: dict[str, Any], ctx: DurableContext) -> Any:
    callback = await ctx.create_callback(
        name="approval", config=CallbackConfig(timeout=timedelta(hours=12))
    )
    return await callback.result()


async def test_waiting_for_an_unknown_callback_fails_at_once_listing_the_open_ones(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(approval_flow) as runner:
        execution = await runner.start({})
        start = trio.current_time()
        with pytest.raises(LookupError) as missing:
            await execution.wait_for_callback("approve")
        assert trio.current_time() - start < 60  # virtual seconds: no 12-hour timeout ran
        message = str(missing.value)
        assert "no open callback 'approve'" in message
        assert "callbacks: 'approval' STARTED" in message
        # The real one is still there to complete.
        callback = await execution.wait_for_callback("approval")
        await runner.succeed_callback(callback, "ok")
        assert (await execution.result()).value == "ok"


@durable_execution
async def late_callback(event: dict[str, Any], ctx: DurableContext) -> Any:
    first = await ctx.create_callback(name="first")
    await first.result()
    await ctx.wait(timedelta(hours=1), name="later")
    second = await ctx.create_callback(name="second")
    return await second.result()


async def test_a_callback_created_after_a_wait_or_another_callback_is_still_awaited(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(late_callback) as runner:
        execution = await runner.start({})
        with pytest.raises(LookupError, match=r"callbacks: 'first' STARTED"):
            await execution.wait_for_callback("second")
        await runner.succeed_callback(await execution.wait_for_callback("first"), 1)
        second = await execution.wait_for_callback("second")  # after the hour's wait
        await runner.succeed_callback(second, 2)
        result = await execution.result()
    assert result.value == 2


async def test_a_callback_that_ends_the_execution_unseen_lists_the_callbacks_there_were(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(approval_flow) as runner:
        execution = await runner.start({})
        await runner.succeed_callback(await execution.wait_for_callback("approval"), "ok")
        with pytest.raises(LookupError, match=r"ended without .*'approval' SUCCEEDED"):
            await execution.wait_for_callback("nothing")


@durable_execution
async def escalating(event: dict[str, Any], ctx: DurableContext) -> Any:
    first = await ctx.create_callback(
        name="manager", config=CallbackConfig(timeout=timedelta(hours=1))
    )
    try:
        return await first.result()
    except CallbackError:
        second = await ctx.create_callback(name="director")
        return await second.result()


async def test_a_callback_after_another_ones_timeout_is_reached_by_advancing_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with DurableTestRunner(escalating) as runner:
        execution = await runner.start({})
        with pytest.raises(LookupError, match=r"callbacks: 'manager' STARTED"):
            await execution.wait_for_callback("director")
        await trio.sleep(3601)  # virtual: the manager's callback times out
        director = await execution.wait_for_callback("director")
        await runner.succeed_callback(director, "approved")
        assert (await execution.result()).value == "approved"
