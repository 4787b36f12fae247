"""parallel/map pieces without a service: configs, the completion rule, BatchResult."""

from __future__ import annotations

from typing import Any

import anyio
import orjson
import pytest
from sdk_fakes import FakeService, drive

from trio_durable import (
    BatchItem,
    BatchItemStatus,
    BatchResult,
    ChildContextError,
    CompletionConfig,
    CompletionReason,
    DurableContext,
    MapConfig,
    ParallelConfig,
    SerializationError,
    ValidationError,
    durable_execution,
)
from trio_durable.operations.batch import decide, tolerance_exceeded
from trio_durable.wire import ErrorObject

R = CompletionReason
S = BatchItemStatus


@pytest.mark.parametrize("limit", [0, -1, 1.5, True, "2"])
def test_max_concurrency_must_be_a_positive_int(limit: Any) -> None:
    with pytest.raises(ValidationError, match="max_concurrency"):
        ParallelConfig(max_concurrency=limit)
    with pytest.raises(ValidationError, match="max_concurrency"):
        MapConfig(max_concurrency=limit)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"min_successful": 0}, "min_successful"),
        ({"min_successful": 1.0}, "min_successful"),
        ({"tolerated_failure_count": -1}, "tolerated_failure_count"),
        ({"tolerated_failure_percentage": 101}, "tolerated_failure_percentage"),
        ({"tolerated_failure_percentage": -0.5}, "tolerated_failure_percentage"),
        ({"tolerated_failure_percentage": "5"}, "tolerated_failure_percentage"),
    ],
)
def test_completion_config_rejects_bad_values(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CompletionConfig(**fields)


def test_batch_configs_reject_wrong_types() -> None:
    with pytest.raises(ValidationError, match="completion must be a CompletionConfig"):
        ParallelConfig(completion={"min_successful": 1})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="nesting"):
        MapConfig(nesting="FLAT")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="serializer"):
        MapConfig(item_serializer=object())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="item_namer"):
        MapConfig(item_namer="name")  # type: ignore[arg-type]


def test_no_criteria_means_the_first_failure_stops_the_batch() -> None:
    config = CompletionConfig()
    assert decide(config, total=3, succeeded=2, failed=0) is None
    assert decide(config, total=3, succeeded=1, failed=1) is R.FAILURE_TOLERANCE_EXCEEDED
    assert decide(config, total=3, succeeded=3, failed=0) is R.ALL_COMPLETED


def test_tolerated_count_is_exceeded_only_above_it() -> None:
    config = CompletionConfig(tolerated_failure_count=1)
    assert decide(config, total=3, succeeded=1, failed=1) is None
    assert decide(config, total=3, succeeded=2, failed=1) is R.ALL_COMPLETED
    assert decide(config, total=3, succeeded=0, failed=2) is R.FAILURE_TOLERANCE_EXCEEDED


def test_tolerated_percentage_counts_against_every_branch() -> None:
    config = CompletionConfig(tolerated_failure_percentage=25)
    assert not tolerance_exceeded(config, 1, 4)  # exactly 25%: not over
    assert tolerance_exceeded(config, 2, 4)
    assert decide(config, total=4, succeeded=3, failed=1) is R.ALL_COMPLETED
    assert not tolerance_exceeded(CompletionConfig.all_completed(), 4, 4)


def test_min_successful_completes_early_and_tolerance_wins_a_tie() -> None:
    config = CompletionConfig(min_successful=2)
    assert decide(config, total=4, succeeded=1, failed=1) is None  # failures tolerated
    assert decide(config, total=4, succeeded=2, failed=1) is R.MIN_SUCCESSFUL_REACHED
    both = CompletionConfig(min_successful=3, tolerated_failure_count=1)
    assert decide(both, total=4, succeeded=0, failed=2) is R.FAILURE_TOLERANCE_EXCEEDED
    assert decide(CompletionConfig(), total=0, succeeded=0, failed=0) is R.ALL_COMPLETED


def mixed() -> BatchResult:
    error = ErrorObject(message="boom", type="RuntimeError")
    return BatchResult(
        (
            BatchItem(0, S.SUCCEEDED, "a"),
            BatchItem(1, S.FAILED, error=error),
            BatchItem(2, S.SUCCEEDED, None),
            BatchItem(3, S.STARTED),
        ),
        R.MIN_SUCCESSFUL_REACHED,
    )


def test_batch_result_accessors() -> None:
    result = mixed()
    assert result.results() == ["a", None]
    assert [item.index for item in result.succeeded()] == [0, 2]
    assert [item.index for item in result.started()] == [3]
    assert result.errors() == [ErrorObject(message="boom", type="RuntimeError")]
    assert result.has_failure and result.status is S.FAILED
    assert (result.success_count, result.failure_count, result.total_count) == (2, 1, 4)
    with pytest.raises(ChildContextError, match="boom") as raised:
        result.throw_if_error()
    assert raised.value.error_type == "RuntimeError"


def test_batch_result_without_failures() -> None:
    result = BatchResult((BatchItem(0, S.SUCCEEDED, 1),), R.ALL_COMPLETED)
    assert not result.has_failure and result.status is S.SUCCEEDED
    result.throw_if_error()


def test_batch_result_round_trips_through_its_dict() -> None:
    result = mixed()
    assert BatchResult.from_dict(result.to_dict()) == result


@pytest.mark.parametrize("data", [None, {}, {"all": [], "completionReason": "SOON"}, [1]])
def test_a_malformed_recorded_batch_result_is_a_serialization_error(data: Any) -> None:
    with pytest.raises(SerializationError, match="malformed"):
        BatchResult.from_dict(data)


def test_a_batch_runs_on_asyncio_too() -> None:
    """Off Trio the branches run in an anyio task group, so asyncio works as Trio does."""

    async def item(ctx: DurableContext, value: int, index: int) -> int:
        await ctx.wait(1)
        return await ctx.step(abs, -value, name="abs")

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return (await ctx.map([1, 2, 3], item, config=MapConfig(max_concurrency=2))).results()

    service = FakeService()
    service.start()
    answers = anyio.run(drive, handler, service, backend="asyncio")
    assert answers[0]["Status"] == "PENDING"
    assert answers[-1]["Status"] == "SUCCEEDED"
    assert orjson.loads(answers[-1]["Result"]) == [1, 2, 3]
