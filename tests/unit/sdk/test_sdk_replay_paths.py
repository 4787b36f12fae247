"""The short replay paths (a step or callback answered from its record) keep
every check of the full path, whether the records arrive as wire dicts (the
event's first page) or parsed (later pages, in-process invocations)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import trio
from sdk_fakes import FakeService, drive

from trio_durable import (
    CallbackConfig,
    CallbackFailedError,
    DurableContext,
    NonDeterministicExecutionError,
    StepConfig,
    ValidationError,
    durable_execution,
)
from trio_durable.runtime.entrypoint import DurableHandler
from trio_durable.serialization import JsonSerializer
from trio_durable.wire import ErrorObject, OperationStatus, OperationType, error_from_wire

S = OperationStatus

# page_size 1000: every record in the event (wire dicts); 1: only the EXECUTION,
# the rest fetched as parsed operations.
FORMS = pytest.mark.parametrize("page_size", [1000, 1], ids=["wire", "parsed"])


@dataclass(frozen=True)
class Point:
    x: int
    y: int


def point(x: int) -> Point:
    return Point(x, x + 1)


def double(x: int) -> int:
    return 2 * x


class Tagged:
    """A serializer of its own: results come back as it reads them (no annotation)."""

    def serialize(self, value: Any) -> str | None:
        return JsonSerializer().serialize(value)

    def deserialize(self, payload: str | None) -> Any:
        return {"tagged": JsonSerializer().deserialize(payload)}


async def record_then_replay(
    handler: DurableHandler, page_size: int
) -> tuple[FakeService, dict[str, Any]]:
    """Run ``handler`` to its end, then invoke it once more on its full record."""
    service = FakeService(page_size=page_size)
    service.start()
    answers = await drive(handler, service)
    assert answers[-1]["Status"] == "SUCCEEDED", answers[-1]
    calls = len(service.calls)
    replay = await handler.invoke(service.event(), client=service)
    assert len(service.calls) == calls  # a replay of recorded operations sends nothing
    return service, replay


def failure(answer: dict[str, Any]) -> ErrorObject:
    assert answer["Status"] == "FAILED", answer
    error = error_from_wire(answer["Error"])
    assert error is not None
    return error


@FORMS
async def test_replayed_steps_return_what_their_first_run_returned(page_size: int) -> None:
    runs: list[str] = []
    replaying: list[bool] = []

    def counted(x: int) -> int:
        runs.append("counted")
        return x + 1

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        a = await ctx.step(counted, 1)
        replaying.append(ctx.is_replaying())
        b = await ctx.step(point, a, name="named")
        c = await ctx.step(double, b.y, config=StepConfig(serializer=Tagged()))
        d = await ctx.step(lambda: "anonymous")
        replaying.append(ctx.is_replaying())
        await ctx.wait(1)
        replaying.append(ctx.is_replaying())
        return {"a": a, "b": [type(b).__name__, b.x, b.y], "c": c, "d": d}

    service, replay = await record_then_replay(handler, page_size)
    expected = {"a": 2, "b": ["Point", 2, 3], "c": {"tagged": 6}, "d": "anonymous"}
    assert orjson.loads(replay["Result"]) == expected
    assert runs == ["counted"]
    names = [op.name for op in service.by_type(OperationType.STEP)]
    assert names == ["counted", "named", "double", None]
    # The last invocation replays everything: replaying until past the wait.
    assert replaying[-3:] == [True, True, False]


@FORMS
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ctx: ctx.step(42), "step needs a callable, got int"),
        (lambda ctx: ctx.step(double, 1, config={"retry": 1}), "config must be a StepConfig"),
        (lambda ctx: ctx.step(double, 1, name=""), "an operation name must have 1 to"),
    ],
)
async def test_a_recorded_step_still_refuses_bad_arguments(
    page_size: int, call: Any, message: str
) -> None:
    @durable_execution
    async def first(event: Any, ctx: DurableContext) -> int:
        return await ctx.step(double, 1)

    @durable_execution
    async def changed(event: Any, ctx: DurableContext) -> int:
        result: int = await call(ctx)
        return result

    service, _ = await record_then_replay(first, page_size)
    error = failure(await changed.invoke(service.event(), client=service))
    assert error.type == ValidationError.__name__
    assert message in (error.message or "")


@FORMS
@pytest.mark.parametrize("second", ["renamed", "wait", "callback"])
async def test_a_recorded_step_asked_for_as_another_operation_is_non_deterministic(
    page_size: int, second: str
) -> None:
    @durable_execution
    async def first(event: Any, ctx: DurableContext) -> int:
        return await ctx.step(double, 1, name="original")

    @durable_execution
    async def changed(event: Any, ctx: DurableContext) -> Any:
        if second == "wait":
            return await ctx.wait(1)
        if second == "callback":
            return await ctx.create_callback(name="original")
        return await ctx.step(double, 1, name=second)

    service, _ = await record_then_replay(first, page_size)
    error = failure(await changed.invoke(service.event(), client=service))
    assert error.type == NonDeterministicExecutionError.__name__
    assert "replays differently" in (error.message or "")


@FORMS
async def test_a_recorded_step_replayed_from_another_task_is_refused(page_size: int) -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        if not ctx.is_replaying():
            return str(await ctx.step(double, 1))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ctx.step, double, 1)
        except ExceptionGroup as group:
            (exc,) = group.exceptions
            return f"{type(exc).__name__}: {exc}"
        return "unreachable"

    _, replay = await record_then_replay(handler, page_size)
    outcome = orjson.loads(replay["Result"])
    assert outcome.startswith("ValidationError: a durable context was used from a task other")


@FORMS
def test_under_asyncio_the_owner_task_is_told_apart_too(page_size: int) -> None:
    """Under asyncio a task's identity is its ``asyncio.Task``: the owner replays
    its steps; another task is refused on the first run (the full path) and on
    the replay, where the next record is a success it would match (the short path)."""
    import anyio

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[Any]:
        outcomes: list[Any] = [await ctx.step(double, 1)]
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(ctx.step, double, 2)
        except ExceptionGroup as eg:
            (exc,) = eg.exceptions
            outcomes.append(f"{type(exc).__name__}: {exc}")
        outcomes.append(await ctx.step(double, 3))
        return outcomes

    service, replay = anyio.run(record_then_replay, handler, page_size, backend="asyncio")
    steps = {u.id for call in service.calls for u in call.updates if u.type is OperationType.STEP}
    assert len(steps) == 2  # the refused step was never numbered nor recorded
    doubled, refused, six = orjson.loads(replay["Result"])
    assert (doubled, six) == (2, 6)
    assert refused.startswith("ValidationError: a durable context was used from a task other")


@FORMS
async def test_replayed_callbacks_answer_from_their_records(page_size: int) -> None:
    seen: list[tuple[str, Any]] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        ok = await ctx.create_callback(name="ok", result_type=Point)
        seen.append(("ok", await ok.result()))
        bad = await ctx.create_callback(name="bad", config=CallbackConfig(timeout=60))
        try:
            await bad.result()
        except CallbackFailedError as exc:
            seen.append(("bad", (exc.callback_id == bad.callback_id, exc.message)))
        return len(seen)

    service = FakeService(page_size=page_size)
    service.start()
    assert (await handler.invoke(service.event(), client=service))["Status"] == "PENDING"
    service.complete_callback(service.callback("ok").id, S.SUCCEEDED, result='{"x":1,"y":2}')
    assert (await handler.invoke(service.event(), client=service))["Status"] == "PENDING"
    error = ErrorObject("rejected", "Rejected")
    service.complete_callback(service.callback("bad").id, S.FAILED, error=error)
    seen.clear()
    calls = len(service.calls)
    answer = await handler.invoke(service.event(), client=service)
    assert answer == {"Status": "SUCCEEDED", "Result": "2"}
    assert seen == [("ok", Point(1, 2)), ("bad", (True, "rejected"))]
    assert len(service.calls) == calls  # both replayed from their records
    seen.clear()
    assert await handler.invoke(service.event(), client=service) == answer
    assert seen == [("ok", Point(1, 2)), ("bad", (True, "rejected"))]


@FORMS
async def test_a_replayed_callback_is_awaited_in_the_task_that_created_it(
    page_size: int,
) -> None:
    outcome: list[str] = []
    invocations: list[int] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        invocations.append(1)
        callback = await ctx.create_callback(name="cb")
        if len(invocations) == 1:  # the first: the callback is created
            return await callback.result()

        async def elsewhere() -> None:
            try:
                await callback.result()
            except Exception as exc:
                outcome.append(f"{type(exc).__name__}: {exc}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(elsewhere)
        return await callback.result()

    service = FakeService(page_size=page_size)
    service.start()
    assert (await handler.invoke(service.event(), client=service))["Status"] == "PENDING"
    service.complete_callback(service.callback("cb").id, S.SUCCEEDED, result='"yes"')
    answer = await handler.invoke(service.event(), client=service)
    assert answer == {"Status": "SUCCEEDED", "Result": '"yes"'}
    assert len(outcome) == 1
    assert "await result() in the task that created it" in outcome[0]


@FORMS
async def test_a_recorded_callback_still_refuses_a_bad_config(page_size: int) -> None:
    @durable_execution
    async def first(event: Any, ctx: DurableContext) -> Any:
        return await (await ctx.create_callback(name="cb")).result()

    @durable_execution
    async def changed(event: Any, ctx: DurableContext) -> Any:
        return await ctx.create_callback(name="cb", config={"timeout": 1})  # type: ignore[call-overload]

    service = FakeService(page_size=page_size)
    service.start()
    assert (await first.invoke(service.event(), client=service))["Status"] == "PENDING"
    service.complete_callback(service.callback("cb").id, S.SUCCEEDED, result="1")
    assert (await first.invoke(service.event(), client=service))["Result"] == "1"
    error = failure(await changed.invoke(service.event(), client=service))
    assert error.type == ValidationError.__name__
    assert "config must be a CallbackConfig" in (error.message or "")


@FORMS
@pytest.mark.parametrize(
    ("call", "error_type", "message"),
    [
        (lambda ctx: ctx.wait(0.5), "ValidationError", "wait duration must be at least 1"),
        (lambda ctx: ctx.wait(1, name="other"), "NonDeterministicExecutionError", "name"),
        (lambda ctx: ctx.step(double, 1), "NonDeterministicExecutionError", "type 'STEP'"),
    ],
)
async def test_a_recorded_wait_still_checks_what_the_code_asks_for(
    page_size: int, call: Any, error_type: str, message: str
) -> None:
    @durable_execution
    async def first(event: Any, ctx: DurableContext) -> str:
        await ctx.wait(1, name="pause")
        return "done"

    @durable_execution
    async def changed(event: Any, ctx: DurableContext) -> Any:
        return await call(ctx)

    service, replay = await record_then_replay(first, page_size)
    assert replay == {"Status": "SUCCEEDED", "Result": '"done"'}
    error = failure(await changed.invoke(service.event(), client=service))
    assert error.type == error_type
    assert message in (error.message or "")
