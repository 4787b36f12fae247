"""Steps, waits and the invocation around them, against the in-memory fake service."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest
import trio
from sdk_fakes import FakeService, drive

from trio_durable import (
    DurableContext,
    Jitter,
    NonDeterministicExecutionError,
    RetryPresets,
    RetryStrategy,
    SerializationError,
    ServiceError,
    StepConfig,
    StepContext,
    StepError,
    StepSemantics,
    ValidationError,
    durable_execution,
)
from trio_durable.runtime import primitives
from trio_durable.runtime.entrypoint import DurableHandler
from trio_durable.wire import (
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    error_from_wire,
)

NO_RETRY = StepConfig(retry_strategy=RetryPresets.none())
AT_MOST_ONCE = StepConfig(
    retry_strategy=RetryPresets.none(), semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY
)


def sent(service: FakeService) -> list[tuple[str, str, str | None]]:
    return [(u.type.value, u.action.value, u.name) for c in service.calls for u in c.updates]


async def test_a_completed_step_is_not_run_again_on_replay() -> None:
    runs: list[str] = []

    def greet(name: str) -> str:
        runs.append(name)
        return f"hello {name}"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        greeting = await ctx.step(greet, event["name"])
        await ctx.wait(3)
        return greeting

    service = FakeService()
    service.start('{"name": "ada"}')
    answers = await drive(handler, service)
    assert [a["Status"] for a in answers] == ["PENDING", "SUCCEEDED"]
    assert answers[-1]["Result"] == '"hello ada"'
    assert runs == ["ada"]
    assert sent(service) == [
        ("STEP", "START", "greet"),
        ("STEP", "SUCCEED", "greet"),
        ("WAIT", "START", None),
    ]
    wait = service.by_type(OperationType.WAIT)[0]
    assert service.calls[-1].updates[-1].wait_seconds == 3 and wait.sub_type == "Wait"


async def test_replayed_steps_of_alternating_functions_each_keep_their_return_type() -> None:
    """A replay remembers the last step function's return type
    (``replayed_step``): another function's result must not be read as it."""

    def pair(i: int) -> tuple[int, int]:
        return (i, i)

    def single(i: int) -> list[int]:
        return [i]

    seen: list[list[type]] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        results = []
        for i in range(3):
            results += [await ctx.step(pair, i), await ctx.step(single, i)]
        seen.append([type(r) for r in results])
        await ctx.wait(3)
        return None

    service = FakeService()
    service.start("{}")
    await drive(handler, service)
    assert seen == [[tuple, list] * 3] * 2  # run, then replayed


async def test_a_replayed_value_not_exactly_of_the_annotated_type_is_converted() -> None:
    """``replayed_step`` returns a value of exactly the annotated ``float`` as it
    is; an ``int`` recorded for it still comes back a ``float``, as on the first run."""

    def whole(i: int) -> float:
        return i  # an int where a float is annotated: recorded as "3"

    def half(i: int) -> float:
        return i / 2

    seen: list[list[object]] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        seen.append([await ctx.step(whole, 3), await ctx.step(half, 3)])
        await ctx.wait(3)
        return None

    service = FakeService()
    service.start("{}")
    await drive(handler, service)
    assert seen == [[3.0, 1.5]] * 2  # run, then replayed
    assert [type(v) for values in seen for v in values] == [float] * 4


async def test_a_replayed_value_that_does_not_fit_names_its_step() -> None:
    """A recorded value the step function's annotation (changed since) cannot
    take fails the replay with an error naming the step by its function."""

    def count() -> int:
        return 5

    def count_as_text() -> str:
        return "5"

    count_as_text.__name__ = "count"
    errors: list[str] = []
    invocations: list[int] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        invocations.append(1)
        try:
            await ctx.step(count if len(invocations) == 1 else count_as_text)
        except SerializationError as exc:
            errors.append(str(exc))
        await ctx.wait(3)
        return None

    service = FakeService()
    service.start("{}")
    await drive(handler, service)
    assert len(invocations) == 2
    assert errors == ["step 'count': expected str, got int 5"]


async def test_replayed_closures_of_one_function_each_keep_their_name() -> None:
    """A replay remembers the last step function's name (``replayed_step``):
    closures of one ``def`` named apart must each replay under their own name."""

    def named(name: str) -> Callable[[int], int]:
        def body(i: int) -> int:
            return i

        body.__name__ = name
        return body

    first, second = named("first"), named("second")
    seen: list[list[int]] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        seen.append([await ctx.step(first, 1), await ctx.step(second, 2), await ctx.step(first, 3)])
        await ctx.wait(3)
        return None

    service = FakeService()
    service.start("{}")
    await drive(handler, service)
    assert seen == [[1, 2, 3]] * 2  # run, then replayed
    assert [u[2] for u in sent(service) if u[:2] == ("STEP", "SUCCEED")] == [
        "first",
        "second",
        "first",
    ]


async def test_sync_steps_run_in_a_worker_thread_and_async_steps_in_the_loop() -> None:
    loop_thread = threading.get_ident()
    seen: dict[str, int] = {}

    def sync_body() -> None:
        seen["sync"] = threading.get_ident()

    async def async_body() -> None:
        seen["async"] = threading.get_ident()

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        await ctx.step(sync_body)
        await ctx.step(async_body)

    service = FakeService()
    service.start()
    await drive(handler, service)
    assert seen["async"] == loop_thread != seen["sync"]


async def test_step_context_is_passed_only_when_declared() -> None:
    contexts: list[StepContext] = []

    async def with_context(x: int, *, step_context: StepContext) -> int:
        contexts.append(step_context)
        step_context.logger.info("working on %s", x)
        return x + 1

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        first: int = await ctx.step(with_context, 1, name="inc")
        second: int = await ctx.step(abs, -5)
        return first + second

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert answers[-1]["Result"] == "7"
    (context,) = contexts
    assert context.attempt == 1
    assert context.logger.fields["operation_name"] == "inc"
    assert context.logger.fields["execution_arn"] == service.arn


async def test_a_failed_step_replays_its_error_without_running() -> None:
    runs: list[int] = []

    def explode() -> None:
        runs.append(1)
        raise KeyError("missing")

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.step(explode, config=NO_RETRY)
        except StepError as exc:
            caught = f"{exc.error_type}:{exc.message}"
        await ctx.wait(1)
        return caught

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert runs == [1]
    assert orjson.loads(answers[-1]["Result"]) == "KeyError:'missing'"
    assert ("STEP", "FAIL", "explode") in sent(service)


async def test_retries_are_durable_and_count_attempts_from_the_service() -> None:
    attempts: list[int] = []

    async def flaky(*, step_context: StepContext) -> str:
        attempts.append(step_context.attempt)
        if step_context.attempt < 3:
            raise RuntimeError(f"attempt {step_context.attempt}")
        return "done"

    strategy = RetryStrategy(max_attempts=5, initial_delay=2, backoff_rate=3, jitter=Jitter.NONE)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        return await ctx.step(flaky, config=StepConfig(retry_strategy=strategy))

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert [a["Status"] for a in answers] == ["PENDING", "PENDING", "SUCCEEDED"]
    assert attempts == [1, 2, 3]
    retries = [u for c in service.calls for u in c.updates if u.action is OperationAction.RETRY]
    assert [u.next_attempt_delay_seconds for u in retries] == [2, 6]
    assert retries[0].error is not None and retries[0].error.message == "attempt 1"
    starts = [u for c in service.calls for u in c.updates if u.action is OperationAction.START]
    assert len(starts) == 3  # one START per attempt, READY -> START


async def test_retries_stop_at_max_attempts_and_only_for_listed_errors() -> None:
    class Transient(Exception):
        pass

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        async def boom() -> None:
            raise Transient("again")

        strategy = RetryStrategy(max_attempts=2, initial_delay=1, retry_on=(Transient,))
        await ctx.step(boom, config=StepConfig(retry_strategy=strategy))

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert [a["Status"] for a in answers] == ["PENDING", "FAILED"]
    error = error_from_wire(answers[-1]["Error"])
    assert error is not None and (error.type, error.message) == ("Transient", "again")

    @durable_execution
    async def not_listed(event: Any, ctx: DurableContext) -> None:
        def bad() -> None:
            raise ValueError("not transient")

        await ctx.step(bad, config=StepConfig(retry_strategy=RetryStrategy(retry_on=(Transient,))))

    other = FakeService()
    other.start()
    assert [a["Status"] for a in await drive(not_listed, other)] == ["FAILED"]


async def test_at_most_once_start_is_acknowledged_before_the_body_runs() -> None:
    observed: list[OperationStatus | None] = []
    service = FakeService()

    def body() -> None:
        ops = service.by_type(OperationType.STEP)
        observed.append(ops[0].status if ops else None)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        await ctx.step(body, config=AT_MOST_ONCE)
        await ctx.step(body, name="second", config=NO_RETRY)

    service.start()
    await drive(handler, service)
    # at-most-once: START recorded first; at-least-once: START still lingering.
    assert observed == [OperationStatus.STARTED, OperationStatus.SUCCEEDED]
    assert [len(c.updates) for c in service.calls][:2] == [1, 1]


def _interrupted(service: FakeService, name: str) -> None:
    """Record a step that an earlier invocation STARTED and never finished."""
    from trio_durable.runtime.ids import operation_id

    service._apply(
        OperationUpdate(
            id=operation_id(None, 1),
            type=OperationType.STEP,
            action=OperationAction.START,
            name=name,
            sub_type="Step",
        )
    )


async def test_an_interrupted_at_most_once_step_is_not_run_again() -> None:
    runs: list[int] = []

    def charge() -> str:
        runs.append(1)
        return "charged"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        return await ctx.step(charge, config=AT_MOST_ONCE)

    service = FakeService()
    service.start()
    _interrupted(service, "charge")
    answers = await drive(handler, service)
    assert runs == []
    error = error_from_wire(answers[-1]["Error"])
    assert error is not None and error.type == "StepInterruptedError"

    @durable_execution
    async def with_retry(event: Any, ctx: DurableContext) -> str:
        config = StepConfig(
            retry_strategy=RetryStrategy(max_attempts=2, initial_delay=1),
            semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        )
        return await ctx.step(charge, config=config)

    retried = FakeService()
    retried.start()
    _interrupted(retried, "charge")
    answers = await drive(with_retry, retried)
    assert [a["Status"] for a in answers] == ["PENDING", "SUCCEEDED"]
    assert runs == [1]
    (step,) = retried.by_type(OperationType.STEP)
    assert step.attempt == 2


async def test_an_interrupted_at_least_once_step_runs_again_without_a_second_start() -> None:
    runs: list[int] = []

    def work() -> str:
        runs.append(1)
        return "ok"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        return await ctx.step(work)

    service = FakeService()
    service.start()
    _interrupted(service, "work")
    answers = await drive(handler, service)
    assert answers[-1] == {"Status": "SUCCEEDED", "Result": '"ok"'}
    assert runs == [1]
    assert sent(service) == [("STEP", "SUCCEED", "work")]


@pytest.mark.parametrize("second", ["other_name", "wait"])
async def test_replay_detects_a_different_operation(second: str) -> None:
    @durable_execution
    async def first(event: Any, ctx: DurableContext) -> None:
        await ctx.step(abs, 1, name="original")
        await ctx.wait(1)

    @durable_execution
    async def changed(event: Any, ctx: DurableContext) -> None:
        if second == "wait":
            await ctx.wait(1)
        else:
            await ctx.step(abs, 1, name=second)

    service = FakeService()
    service.start()
    assert (await first.invoke(service.event(), client=service))["Status"] == "PENDING"
    answer = await changed.invoke(service.event(), client=service)
    error = error_from_wire(answer["Error"])
    assert answer["Status"] == "FAILED"
    assert error is not None and error.type == NonDeterministicExecutionError.__name__
    assert "original" in (error.message or "")


async def test_an_unserializable_step_result_fails_without_retry() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.step(set)
        except SerializationError as exc:
            return exc.message
        return "unreachable"

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert "cannot serialize set" in orjson.loads(answers[-1]["Result"])
    assert ("STEP", "FAIL", "set") in sent(service)
    assert not any(u.action is OperationAction.RETRY for c in service.calls for u in c.updates)


async def test_a_step_result_over_256_kb_is_refused() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        await ctx.step(lambda: "x" * (300 * 1024), name="big")

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    error = error_from_wire(answers[-1]["Error"])
    assert error is not None and error.type == "SerializationError"
    assert "limit is 262144 bytes" in (error.message or "")


async def test_a_result_over_6_mb_is_checkpointed_instead_of_returned() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[str]:
        return ["12345678"] * 520_000  # 5.7 MB, over 6 MB escaped inside the answer

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert answers == [{"Status": "SUCCEEDED"}]
    (update,) = service.calls[-1].updates
    assert (update.type, update.action, update.id) == (
        OperationType.EXECUTION,
        OperationAction.SUCCEED,
        "exec",
    )
    assert update.payload is not None and orjson.loads(update.payload) == ["12345678"] * 520_000


async def test_the_initial_state_is_read_page_by_page() -> None:
    runs: list[int] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        def record(n: int) -> int:
            runs.append(n)
            return n

        total = 0
        for n in range(5):
            total += await ctx.step(record, n, name=f"s{n}")
        await ctx.wait(1)
        return total

    service = FakeService(page_size=2)
    service.start()
    answers = await drive(handler, service)
    assert answers[-1]["Result"] == "10"
    assert runs == [0, 1, 2, 3, 4]
    assert "NextMarker" in service.event()["InitialExecutionState"]


async def test_the_workflow_logger_is_silent_while_replaying(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        ctx.logger.info("before the wait")
        await ctx.wait(1)
        ctx.logger.info("after the wait")

    service = FakeService()
    service.start()
    with caplog.at_level(logging.INFO, logger="trio_durable.workflow"):
        await drive(handler, service)
    messages = [r.getMessage() for r in caplog.records if r.name == "trio_durable.workflow"]
    assert messages == ["before the wait", "after the wait"]
    assert all(getattr(r, "execution_arn", None) == service.arn for r in caplog.records)


async def test_a_logger_including_replay_logs_on_every_invocation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        ctx.logger.including_replay().info("every time")
        ctx.logger.info("once")
        await ctx.wait(1)

    service = FakeService()
    service.start()
    with caplog.at_level(logging.INFO, logger="trio_durable.workflow"):
        await drive(handler, service)
    messages = [r.getMessage() for r in caplog.records if r.name == "trio_durable.workflow"]
    assert messages == ["every time", "once", "every time"]


async def test_invalid_arguments_fail_clearly() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        await ctx.wait(0.5)

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    error = error_from_wire(answers[-1]["Error"])
    assert error is not None and error.type == "ValidationError"
    assert "wait duration must be at least 1 second" in (error.message or "")
    assert service.calls == []  # nothing recorded

    with pytest.raises(ValidationError, match="async function"):
        durable_execution(lambda event, ctx: None)  # type: ignore[arg-type, return-value]
    with pytest.raises(ValidationError, match="missing CheckpointToken"):
        await handler.invoke({"DurableExecutionArn": "arn"}, client=service)


async def test_a_service_failure_is_an_invocation_error_not_a_workflow_failure() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        await ctx.step(abs, 1, config=AT_MOST_ONCE)

    service = FakeService()
    service.start()
    service.fail_next = [ServiceError("InvalidParameterValueException", "token revoked")]
    with pytest.raises(ServiceError, match="token revoked"):
        await handler.invoke(service.event(), client=service)


async def test_a_context_used_from_another_task_is_refused() -> None:
    import trio

    async def noop() -> None:
        pass

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ctx.step, noop)
        except ExceptionGroup as group:
            (exc,) = group.exceptions
            return f"{type(exc).__name__}: {exc}"
        return "unreachable"

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    outcome = orjson.loads(answers[-1]["Result"])
    assert outcome.startswith("ValidationError: a durable context was used from a task other")
    assert not any(u.type is OperationType.STEP for c in service.calls for u in c.updates)


def test_the_runtime_also_runs_on_asyncio() -> None:
    """Written against anyio: the same invocation runs under asyncio (Trio is the default)."""
    import anyio

    async def flaky(*, step_context: StepContext) -> int:
        if step_context.attempt == 1:
            raise RuntimeError("once")
        return step_context.attempt

    async def inner(child: DurableContext) -> int:
        value: int = await child.step(abs, -2, name="abs")
        return value

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[Any]:
        attempt: int = await ctx.step(flaky, config=StepConfig(retry_strategy=RetryStrategy(2, 1)))
        await ctx.wait(1)
        callback = await ctx.create_callback(name="cb")
        return [attempt, await ctx.run_in_child_context(inner), callback.callback_id]

    service = FakeService()
    service.start()
    answers = anyio.run(drive, handler, service, backend="asyncio")
    assert [a["Status"] for a in answers] == ["PENDING", "PENDING", "SUCCEEDED"]
    assert orjson.loads(answers[-1]["Result"]) == [2, 2, "cb-1"]


async def _double(value: int) -> int:
    return 2 * value


@durable_execution
async def twenty_children(event: Any, ctx: DurableContext) -> int:
    async def body(child: DurableContext, n: int) -> int:
        doubled: int = await child.step(_double, n, name="double")
        return doubled

    total = 0
    for n in range(20):
        total += await ctx.run_in_child_context(body, n, name=f"child-{n}")
    return total


async def test_child_context_completions_share_checkpoint_calls() -> None:
    service = FakeService()
    service.start()
    answers = await drive(twenty_children, service)
    assert answers[-1] == {"Status": "SUCCEEDED", "Result": str(2 * sum(range(20)))}
    # Queued without waiting, in order: far fewer calls than child contexts.
    assert len(service.calls) < 5
    assert sent(service)[:4] == [
        ("CONTEXT", "START", "child-0"),
        ("STEP", "START", "double"),
        ("STEP", "SUCCEED", "double"),
        ("CONTEXT", "SUCCEED", "child-0"),
    ]
    assert len(sent(service)) == 80


async def test_a_child_whose_success_was_lost_reruns_its_body_against_its_records() -> None:
    runs: list[int] = []

    async def work(n: int) -> int:
        runs.append(n)
        return n

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        async def body(child: DurableContext) -> int:
            value: int = await child.step(work, 7, name="work")
            return value + 1

        return await ctx.run_in_child_context(body, name="group")

    service = FakeService()
    service.start()
    await drive(handler, service)
    assert runs == [7]
    # The invocation that recorded the step died before the context's SUCCEED went out.
    group = next(op for op in service.operations.values() if op.name == "group")
    service.operations[group.id] = replace(group, status=OperationStatus.STARTED, result=None)
    service.calls.clear()
    answers = await drive(handler, service)
    assert answers[-1] == {"Status": "SUCCEEDED", "Result": "8"}
    assert runs == [7]  # the step replayed its record
    assert sent(service) == [("CONTEXT", "SUCCEED", "group")]


async def _invoke_beside_a_host(
    handler: DurableHandler, service: FakeService
) -> tuple[dict[str, Any], int]:
    """The handler's answer, invoked beside a host task that loops on checkpoints,
    and how many turns the host had meanwhile."""
    turns: list[int] = []

    async def host() -> None:
        while True:
            turns.append(1)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(host)
        answer = await handler.invoke(service.event(), client=service)
        nursery.cancel_scope.cancel()
    return answer, len(turns)


async def _invoke_cancelled_soon(handler: DurableHandler, service: FakeService) -> bool:
    """Invoke, cancelled after a few checkpoints; whether the invocation answered."""
    answers: list[dict[str, Any]] = []
    async with trio.open_nursery() as nursery:

        async def cancel_soon() -> None:
            for _ in range(3):
                await trio.lowlevel.checkpoint()
            nursery.cancel_scope.cancel()

        nursery.start_soon(cancel_soon)
        answers.append(await handler.invoke(service.event(), client=service))
    return bool(answers)


async def test_a_long_replay_lets_the_host_run_and_stays_cancellable() -> None:
    """Replayed operations skip most schedule points (runtime/primitives.py's
    new_replay_checkpoint), yet a replay of many never holds the loop to itself."""
    steps = 20 * primitives.REPLAY_SCHEDULE_EVERY

    async def same(value: int) -> int:
        return value

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        total = 0
        for i in range(steps):
            total += await ctx.step(same, i)
        await ctx.wait(1)
        return total

    service = FakeService()
    service.start()
    assert (await handler.invoke(service.event(), client=service))["Status"] == "PENDING"
    answer, host_turns = await _invoke_beside_a_host(handler, service)  # replays every step
    assert answer["Status"] == "PENDING"  # the wait, still not elapsed
    assert host_turns >= steps // primitives.REPLAY_SCHEDULE_EVERY

    # Cancelled in the middle of a replay: it stops there.
    assert not await _invoke_cancelled_soon(handler, service)


async def test_a_long_run_of_async_steps_lets_the_host_run_and_stays_cancellable() -> None:
    """A step whose body ran on the loop checkpoints as a replayed operation does
    (a cancel point every time, a schedule point once in REPLAY_SCHEDULE_EVERY):
    bodies that never yield still never hold the loop to themselves."""
    steps = 20 * primitives.REPLAY_SCHEDULE_EVERY
    ran: list[int] = []

    async def same(value: int) -> int:
        ran.append(value)
        return value

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        total = 0
        for i in range(steps):
            total += await ctx.step(same, i)
        return total

    service = FakeService()
    service.start()
    answer, host_turns = await _invoke_beside_a_host(handler, service)
    assert answer == {"Status": "SUCCEEDED", "Result": str(sum(range(steps)))}
    assert len(ran) == steps
    assert host_turns >= steps // primitives.REPLAY_SCHEDULE_EVERY

    # Cancelled while running steps: no further body runs.
    ran.clear()
    fresh = FakeService()
    fresh.start()
    assert not await _invoke_cancelled_soon(handler, fresh)
    assert 0 < len(ran) < steps
