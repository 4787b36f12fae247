"""wait_for_condition: its config, and its first-run and replay paths against the
in-memory fake service."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sdk_fakes import FakeService, drive

from trio_durable import (
    DurableContext,
    JsonSerializer,
    NonDeterministicExecutionError,
    StepContext,
    ValidationError,
    WaitForConditionConfig,
    WaitForConditionError,
    WaitStrategy,
    durable_execution,
)
from trio_durable.config import Jitter
from trio_durable.runtime.ids import operation_id
from trio_durable.wire import (
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

FIRST = operation_id(None, 1)


class StateKeepingService(FakeService):
    """The fake service, keeping a RETRY's payload as the step's result (as the
    real service does for a wait_for_condition poll)."""

    def _apply(self, u: OperationUpdate) -> Operation:
        op = super()._apply(u)
        if u.action is OperationAction.RETRY:
            op = replace(op, result=u.payload)
            self.operations[u.id] = op
        return op


def below(threshold: int) -> WaitForConditionConfig:
    """Count from 0, polling every 2 seconds while below ``threshold``."""
    return WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(lambda s: s < threshold, 2), initial_state=0
    )


def sent(service: FakeService) -> list[tuple[str, str | None, int | None]]:
    return [
        (u.action.value, u.payload, u.next_attempt_delay_seconds)
        for c in service.calls
        for u in c.updates
    ]


def record(status: OperationStatus, **fields: Any) -> Operation:
    """A recorded wait_for_condition step at the first operation id."""
    return Operation(
        id=FIRST,
        type=OperationType.STEP,
        status=status,
        start_timestamp=1.0,
        name="poll",
        sub_type="WaitForCondition",
        **fields,
    )


# --- configuration ------------------------------------------------------------------


def test_a_fixed_strategy_polls_at_a_constant_delay_until_the_condition_is_met() -> None:
    strategy = WaitStrategy.fixed(lambda s: s < 3, timedelta(seconds=7), max_attempts=5)
    assert [strategy.next_delay(s, s) for s in (1, 2)] == [7, 7]
    assert strategy.next_delay(3, 3) is None


def test_a_met_condition_wins_over_the_last_attempt() -> None:
    strategy = WaitStrategy.fixed(lambda s: s < 3, 1, max_attempts=3)
    assert strategy.next_delay(3, 3) is None
    with pytest.raises(WaitForConditionError, match="exhausted its 3 attempts"):
        strategy.next_delay(2, 3)


def test_the_default_strategy_backs_off_up_to_its_maximum() -> None:
    strategy = WaitStrategy(
        lambda s: True, initial_delay=4, max_delay=10, backoff_rate=2, jitter=Jitter.NONE
    )
    assert [strategy.next_delay(None, n) for n in (1, 2, 3, 4)] == [4, 8, 10, 10]
    assert WaitStrategy(lambda s: True).max_attempts == 60


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: WaitStrategy("state < 3"), "should_continue must be a callable"),  # type: ignore[arg-type]
        (lambda: WaitStrategy(bool, max_attempts=0), "max_attempts must be at least 1"),
        (lambda: WaitStrategy(bool, initial_delay=0.5), "at least 1 second"),
        (lambda: WaitStrategy(bool, jitter="SOME"), "jitter must be one of"),  # type: ignore[arg-type]
        (lambda: WaitStrategy.fixed(bool, -1), "must not be negative"),
        (lambda: WaitForConditionConfig(wait_strategy=bool), "must be a WaitStrategy"),  # type: ignore[arg-type]
        (
            lambda: WaitForConditionConfig(wait_strategy=WaitStrategy(bool), serializer=object()),  # type: ignore[arg-type]
            "serializer must implement",
        ),
    ],
)
def test_bad_configurations_are_rejected_when_built(build: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build()


@pytest.mark.parametrize(
    ("check", "config", "message"),
    [
        ("not callable", below(3), "needs a callable"),
        (lambda s: s, None, "must be a WaitForConditionConfig"),
        (
            lambda s: s,
            WaitForConditionConfig(wait_strategy=WaitStrategy(bool), initial_state={1, 2}),
            "initial_state cannot be serialized",
        ),
    ],
)
async def test_bad_arguments_fail_before_anything_is_recorded(
    check: Any, config: Any, message: str
) -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        with pytest.raises(ValidationError, match=message):
            await ctx.wait_for_condition(check, config=config)
        return "checked"

    service = StateKeepingService()
    service.start()
    answers = await drive(handler, service)
    assert answers[-1]["Result"] == '"checked"'
    assert sent(service) == []


# --- first run and replay --------------------------------------------------------------


async def test_each_poll_runs_once_and_threads_its_state_through_the_record() -> None:
    seen: list[tuple[int, int]] = []

    def count(state: int, *, step_context: StepContext) -> int:
        seen.append((state, step_context.attempt))
        return state + 1

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_condition(count, name="poll", config=below(3))

    service = StateKeepingService()
    service.start()
    answers = await drive(handler, service)
    assert [a["Status"] for a in answers] == ["PENDING", "PENDING", "SUCCEEDED"]
    assert answers[-1]["Result"] == "3"
    assert seen == [(0, 1), (1, 2), (2, 3)]
    assert sent(service) == [
        ("START", None, None),
        ("RETRY", "1", 2),
        ("START", None, None),
        ("RETRY", "2", 2),
        ("START", None, None),
        ("SUCCEED", "3", None),
    ]
    (step,) = service.by_type(OperationType.STEP)
    assert (step.name, step.sub_type, step.attempt) == ("poll", "WaitForCondition", 3)


async def test_an_async_check_is_awaited_and_the_name_defaults_to_its_own() -> None:
    async def poll_status(state: dict[str, int]) -> dict[str, int]:
        return {"n": state["n"] * 2}

    config = WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(lambda s: s["n"] < 8, 1), initial_state={"n": 1}
    )

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_condition(poll_status, config=config)

    service = StateKeepingService()
    service.start()
    answers = await drive(handler, service)
    assert orjson.loads(answers[-1]["Result"]) == {"n": 8}
    assert service.by_type(OperationType.STEP)[0].name == "poll_status"


async def replay_ended(op: Operation) -> tuple[Any, FakeService]:
    """Replay a handler whose poll ended as ``op``: what it returned (or the
    ``[error_type, message]`` of the ``WaitForConditionError`` it raised)."""

    def never(state: Any) -> Any:
        raise AssertionError("the check ran again")

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        try:
            return await ctx.wait_for_condition(never, name="poll", config=below(3))
        except WaitForConditionError as exc:
            return [exc.error_type, exc.message]

    service = StateKeepingService()
    service.start()
    service.operations[FIRST] = op
    answers = await drive(handler, service)
    return orjson.loads(answers[-1]["Result"]), service


async def test_a_succeeded_record_is_returned_without_polling() -> None:
    result, service = await replay_ended(record(OperationStatus.SUCCEEDED, result="3", attempt=3))
    assert result == 3
    assert sent(service) == []


async def test_a_failed_record_raises_its_error_without_polling() -> None:
    error = ErrorObject(message="boom", type="ValueError")
    result, service = await replay_ended(record(OperationStatus.FAILED, error=error, attempt=1))
    assert result == ["ValueError", "boom"]
    assert sent(service) == []


async def test_a_poll_cut_short_runs_again_from_its_recorded_state_without_a_start() -> None:
    seen: list[int] = []

    def count(state: int) -> int:
        seen.append(state)
        return state + 1

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_condition(count, name="poll", config=below(3))

    service = StateKeepingService()
    service.start()
    # Poll 1 recorded state 1; poll 2 was STARTED by an invocation that died.
    service.operations[FIRST] = record(OperationStatus.STARTED, result="1", attempt=1)
    answers = await drive(handler, service)
    assert answers[-1]["Result"] == "3"
    assert seen == [1, 2]
    assert [action for action, _, _ in sent(service)] == ["RETRY", "START", "SUCCEED"]


async def test_a_check_that_raises_fails_the_operation_without_retrying() -> None:
    def broken(state: Any) -> Any:
        raise KeyError("status")

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        await ctx.wait_for_condition(broken, name="poll", config=below(3))

    service = StateKeepingService()
    service.start()
    answers = await drive(handler, service)
    assert answers[-1]["Status"] == "FAILED"
    assert answers[-1]["Error"]["ErrorType"] == "KeyError"
    assert [action for action, _, _ in sent(service)] == ["START", "FAIL"]


async def test_a_state_the_serializer_cannot_write_fails_the_operation() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        await ctx.wait_for_condition(lambda s: {1, 2}, name="poll", config=below(3))

    service = StateKeepingService()
    service.start()
    answers = await drive(handler, service)
    assert answers[-1]["Error"]["ErrorType"] == "SerializationError"
    assert [action for action, _, _ in sent(service)] == ["START", "FAIL"]


async def test_a_different_operation_at_the_recorded_id_is_non_deterministic() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        with pytest.raises(NonDeterministicExecutionError):
            await ctx.wait_for_condition(lambda s: s, name="other", config=below(3))
        return "detected"

    service = StateKeepingService()
    service.start()
    service.operations[FIRST] = record(OperationStatus.SUCCEEDED, result="3", attempt=1)
    answers = await drive(handler, service)
    assert answers[-1]["Result"] == '"detected"'


async def test_the_state_serializer_writes_every_recorded_state() -> None:
    sorted_json = JsonSerializer(sort_keys=True)
    config = WaitForConditionConfig(
        wait_strategy=WaitStrategy.fixed(lambda s: s["b"] < 2, 1),
        initial_state={"b": 0, "a": "x"},
        serializer=sorted_json,
    )

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.wait_for_condition(
            lambda s: {"b": s["b"] + 1, "a": s["a"]}, name="poll", config=config
        )

    service = StateKeepingService()
    service.start()
    await drive(handler, service)
    payloads = [p for _, p, _ in sent(service) if p is not None]
    assert payloads == ['{"a":"x","b":1}', '{"a":"x","b":2}']
