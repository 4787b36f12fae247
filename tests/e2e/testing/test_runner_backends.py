"""The test runner, and every kind of operation, on both backends.

Each test runs twice (``tests/conftest.py``): on Trio with a MockClock, and on
asyncio, where the runner's service runs on a Trio loop of its own and
``virtual_time=True`` skips the durable waits.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from trio_durable import (
    CallbackFailedError,
    DurableContext,
    ParallelBranch,
    Plugin,
    RetryPresets,
    RetryStrategy,
    StepConfig,
    StepContext,
    WaitForConditionConfig,
    WaitStrategy,
    durable_execution,
)
from trio_durable.errors import ValidationError
from trio_durable.plugins import OperationEndInfo
from trio_durable.testing import DurableTestRunner

pytestmark = pytest.mark.anyio


async def double(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return 2 * x


def increment(x: int) -> int:
    return x + 1


async def flaky(*, step_context: StepContext) -> int:
    if step_context.attempt < 3:
        raise RuntimeError(f"attempt {step_context.attempt}")
    return step_context.attempt


async def submit(callback_id: str, sent: list[str]) -> None:
    sent.append(callback_id)


class Ends(Plugin):
    def __init__(self) -> None:
        self.ended: list[tuple[str | None, str]] = []

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self.ended.append((info.name, info.status.value))


def count_up(state: int) -> int:
    return state + 1


def make_workflow(sent: list[str], plugin: Ends) -> Any:
    @durable_execution(plugins=[plugin])
    async def workflow(event: dict[str, int], ctx: DurableContext) -> dict[str, Any]:
        doubled = await ctx.step(double, event["n"], name="double")
        bumped = await ctx.step(increment, doubled, name="increment")
        retried = await ctx.step(
            flaky,
            name="flaky",
            config=StepConfig(
                retry_strategy=RetryStrategy(max_attempts=3, initial_delay=timedelta(seconds=30))
            ),
        )
        await ctx.wait(timedelta(hours=2), name="two hours")

        async def inner(child: DurableContext, x: int) -> int:
            return await child.step(double, x, name="inner double")

        nested = await ctx.run_in_child_context(inner, bumped, name="child")
        mapped = await ctx.map(
            [1, 2, 3], lambda item_ctx, item, index: item_ctx.step(double, item), name="map"
        )

        async def one(branch: DurableContext) -> str:
            await branch.wait(timedelta(minutes=1), name="branch wait")
            return "one"

        async def two(branch: DurableContext) -> str:
            return "two"

        parallel = await ctx.parallel([one, ParallelBranch(two, "second")], name="parallel")
        approval = await ctx.wait_for_callback(submit, sent, name="approval")
        rejected = await ctx.create_callback(name="rejected")
        sent.append(rejected.callback_id)
        try:
            await rejected.result()
            refusal = "accepted"
        except CallbackFailedError as exc:
            refusal = exc.message
        polled = await ctx.wait_for_condition(
            count_up,
            name="poll",
            config=WaitForConditionConfig(
                wait_strategy=WaitStrategy.fixed(lambda state: state < 3, 300), initial_state=0
            ),
        )
        return {
            "steps": [doubled, bumped, retried, nested],
            "map": mapped.results(),
            "parallel": parallel.results(),
            "approval": approval,
            "refusal": refusal,
            "polled": polled,
        }

    return workflow


async def test_every_operation_runs_to_the_end(anyio_backend: Any) -> None:
    sent: list[str] = []
    plugin = Ends()
    async with DurableTestRunner(make_workflow(sent, plugin), virtual_time=True) as runner:
        execution = await runner.start({"n": 5})
        approval = await execution.wait_for_callback("approval")
        await runner.succeed_callback(approval, {"by": "ada"})
        rejected = await execution.wait_for_callback("rejected")
        await runner.fail_callback(rejected, error_type="Rejected", message="no budget")
        result = await execution.result()
    assert result.status == "SUCCEEDED", result.error
    assert result.value == {
        "steps": [10, 11, 3, 22],
        "map": [2, 4, 6],
        "parallel": ["one", "two"],
        "approval": {"by": "ada"},
        "refusal": "no budget",
        "polled": 3,
    }
    assert set(sent) == {approval.callback_id, rejected.callback_id}  # replays append again
    assert result.operation("two hours").status.value == "SUCCEEDED"
    assert result.result_of("inner double", parent="child") == 22
    assert ("approval", "SUCCEEDED") in plugin.ended
    assert ("flaky", "SUCCEEDED") in plugin.ended
    # Three attempts of a durable retry, a wait, a branch wait, two callbacks and
    # the polls each end an invocation.
    assert result.invocations > 5


@durable_execution(backend="asyncio")
async def asyncio_streams(event: dict[str, str], ctx: DurableContext) -> str:
    async def echo_over_tcp(text: str) -> str:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write((await reader.readline()).upper())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(text.encode() + b"\n")
            await writer.drain()
            answer = await reader.readline()
            writer.close()
            await writer.wait_closed()
        return answer.decode().strip()

    shouted = await ctx.step(echo_over_tcp, event["text"], name="echo")
    await ctx.wait(timedelta(hours=12), name="half a day")
    return await ctx.step(echo_over_tcp, shouted + " again", name="echo again")


async def test_step_bodies_use_asyncio_streams_on_either_backend(anyio_backend: Any) -> None:
    """A handler declared ``backend="asyncio"`` runs on asyncio also under a Trio test."""
    async with DurableTestRunner(asyncio_streams, virtual_time=True) as runner:
        result = await runner.run({"text": "hello"})
    assert result.status == "SUCCEEDED", result.error
    assert result.value == "HELLO AGAIN"
    assert result.invocations == 2


@durable_execution
async def failing(event: Any, ctx: DurableContext) -> None:
    async def boom() -> None:
        raise ValueError("boom")

    await ctx.step(boom, name="boom", config=StepConfig(retry_strategy=RetryPresets.none()))


async def test_a_failed_execution_reports_its_error(anyio_backend: Any) -> None:
    async with DurableTestRunner(failing, virtual_time=True) as runner:
        result = await runner.run()
    assert result.status == "FAILED"
    assert result.error is not None and result.error.message == "boom"
    assert result.operation("boom").status.value == "FAILED"


async def test_without_virtual_time_the_runner_runs_in_real_time(anyio_backend: Any) -> None:
    @durable_execution
    async def quick(event: int, ctx: DurableContext) -> int:
        return await ctx.step(increment, event, name="inc")

    async with DurableTestRunner(quick) as runner:
        assert (await runner.run(41)).value == 42


def test_virtual_time_under_trio_needs_a_mock_clock() -> None:
    import trio

    async def main() -> None:
        async with DurableTestRunner(failing, virtual_time=True):
            pass

    with pytest.raises(ValidationError, match="MockClock"):
        trio.run(main)
