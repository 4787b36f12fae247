"""The Lambda entry: sync call, client resolution, decorator forms."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from sdk_fakes import FakeService

from trio_durable import DurableContext, DurableHandler, JsonSerializer, durable_execution
from trio_durable.batcher.boto3_client import Boto3ServiceClient
from trio_durable.errors import ValidationError
from trio_durable.runtime.entrypoint import as_service_client


async def double(x: int) -> int:
    return 2 * x


@durable_execution
async def plain(event: Any, ctx: DurableContext) -> int:
    value: int = await ctx.step(double, event["x"])
    return value


def test_the_sync_entry_runs_trio_and_finds_the_contexts_durable_client() -> None:
    service = FakeService()
    service.start('{"x": 21}')
    answer = plain(service.event(), SimpleNamespace(durable_client=service))
    assert answer == {"Status": "SUCCEEDED", "Result": "42"}
    assert len(service.calls) >= 1


def test_the_decorator_keeps_the_function_and_takes_options() -> None:
    assert isinstance(plain, DurableHandler) and getattr(plain, "__name__", None) == "plain"
    serializer = JsonSerializer(sort_keys=True)

    @durable_execution(serializer=serializer)
    async def configured(event: Any, ctx: DurableContext) -> None:
        pass

    assert configured.serializer is serializer


def test_clients_are_service_clients_or_wrapped_boto3_clients() -> None:
    service = FakeService()
    assert as_service_client(service) is service
    boto = boto3.client(
        "lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    assert isinstance(as_service_client(boto), Boto3ServiceClient)
    with pytest.raises(ValidationError, match="ServiceClient or a boto3"):
        as_service_client(object())
    with pytest.raises(ValidationError, match="serializer"):
        durable_execution(serializer=object())(plain.workflow)  # type: ignore[call-overload]


ARN = "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST/durable-execution/a/b"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "must be a mapping, got NoneType"),
        ("{}", "must be a mapping, got str"),
        ({}, "missing DurableExecutionArn, CheckpointToken"),
        ({"DurableExecutionArn": ARN}, "missing CheckpointToken"),
        ({"DurableExecutionArn": 5, "CheckpointToken": "t"}, "DurableExecutionArn must be a str"),
        ({"DurableExecutionArn": ARN, "CheckpointToken": ["t"]}, "CheckpointToken must be a str"),
        (
            {"DurableExecutionArn": ARN, "CheckpointToken": "t", "InitialExecutionState": []},
            "InitialExecutionState must be {'Operations': [operation, ...]}",
        ),
        (
            {
                "DurableExecutionArn": ARN,
                "CheckpointToken": "t",
                "InitialExecutionState": {"Operations": "nope"},
            },
            "InitialExecutionState must be {'Operations': [operation, ...]}",
        ),
        (
            {
                "DurableExecutionArn": ARN,
                "CheckpointToken": "t",
                "InitialExecutionState": {"Operations": [{"Id": "x", "Type": "NOPE"}]},
            },
            "malformed InitialExecutionState",
        ),
        (
            {
                "DurableExecutionArn": ARN,
                "CheckpointToken": "t",
                "InitialExecutionState": {
                    "Operations": [
                        {
                            "Id": "x",
                            "Type": "STEP",
                            "Status": "SUCCEEDED",
                            "StartTimestamp": 1.0,
                            "StepDetails": "not details",
                        }
                    ]
                },
            },
            "malformed InitialExecutionState",
        ),
        (
            {"DurableExecutionArn": ARN, "CheckpointToken": "t", "InitialExecutionState": {}},
            f"the state of {ARN} has no EXECUTION operation",
        ),
    ],
)
def test_a_malformed_event_is_refused_with_what_is_wrong(event: Any, message: str) -> None:
    service = FakeService()
    with pytest.raises(ValidationError) as raised:
        plain(event, SimpleNamespace(durable_client=service))
    assert message in str(raised.value)
    assert service.calls == []  # nothing was sent to the service
