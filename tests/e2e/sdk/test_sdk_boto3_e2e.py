"""The boto3 path: the SDK's Boto3ServiceClient over the local service's real HTTP API,
and its error mapping checked against botocore's own stubbed client."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import boto3
import orjson
import pytest
import trio
from botocore.config import Config
from botocore.stub import ANY, Stubber
from sdk_e2e_helpers import kinds

from trio_durable import DurableContext, RetryStrategy, StepConfig, durable_execution
from trio_durable.batcher.batcher import CheckpointBatcher
from trio_durable.batcher.boto3_client import Boto3ServiceClient
from trio_durable.errors import ServiceError
from trio_durable.local.http import serve
from trio_durable.local.invokers import InvocationRequest
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.runtime.state import Activity, ExecutionState, StateActor
from trio_durable.wire import OperationAction, OperationType, OperationUpdate

ARN = "arn:aws:lambda:us-east-1:123456789012:function:f/durable-execution/n/1"


def lambda_client(endpoint: str | None = None) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}),
    )


class Boto3Invoker:
    """Invokes a handler the way Lambda would, the handler reaching the service over HTTP."""

    def __init__(self, handler: Any, endpoint: str) -> None:
        self._handler = handler
        self._client = Boto3ServiceClient(lambda_client(endpoint))

    async def invoke(self, request: InvocationRequest, service: LocalService) -> dict[str, Any]:
        answer: dict[str, Any] = await self._handler.invoke(request.event, client=self._client)
        return answer


async def test_a_workflow_checkpoints_through_boto3_and_the_http_api() -> None:
    attempts: list[int] = []

    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise TimeoutError("first try")
        return "ok"

    async def inner(child: DurableContext) -> int:
        value: int = await child.step(len, "four", name="length")
        return value

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[Any]:
        first: str = await ctx.step(flaky, config=StepConfig(retry_strategy=RetryStrategy(2, 1)))
        second = await ctx.run_in_child_context(inner, name="inner")
        await ctx.wait(1)
        return [first, second, event["n"]]

    async with open_local_service() as service, trio.open_nursery() as nursery:
        endpoint = await nursery.start(functools.partial(serve, service, port=0))
        service.register_function("over-http", Boto3Invoker(handler, endpoint))
        started = service.start_execution("over-http", '{"n": 3}')
        with trio.fail_after(30):
            result = await service.wait_until_terminal(started.arn)
        nursery.cancel_scope.cancel()
    assert result["Status"] == "SUCCEEDED", result
    assert orjson.loads(result["Result"]) == ["ok", 4, 3]
    assert kinds(service, started.arn).count("InvocationCompleted") == 3


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber, list[dict[str, Any]]]]:
    client = lambda_client()
    seen: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.lambda.CheckpointDurableExecution",
        lambda params, **_: seen.append(dict(params)),
    )
    with Stubber(client) as stubber:
        yield client, stubber, seen


def _throttled(stubber: Stubber, code: str, status: int) -> None:
    stubber.add_client_error(
        "checkpoint_durable_execution",
        service_error_code=code,
        service_message="slow down",
        http_status_code=status,
    )


async def test_boto3_throttling_is_retried_with_one_client_token(
    stubbed: tuple[Any, Stubber, list[dict[str, Any]]], autojump_clock: trio.abc.Clock
) -> None:
    client, stubber, seen = stubbed
    _throttled(stubber, "TooManyRequestsException", 429)
    _throttled(stubber, "ServiceException", 500)
    stubber.add_response(
        "checkpoint_durable_execution",
        {
            "CheckpointToken": "t-1",
            "NewExecutionState": {
                "Operations": [
                    {
                        "Id": "s1",
                        "Type": "STEP",
                        "Status": "STARTED",
                        "StartTimestamp": 1_700_000_000,
                        "StepDetails": {"Attempt": 0},
                    }
                ]
            },
        },
        {"DurableExecutionArn": ARN, "CheckpointToken": "t-0", "Updates": ANY, "ClientToken": ANY},
    )
    state = ExecutionState([], Activity())
    actor = StateActor(state)
    batcher = CheckpointBatcher(Boto3ServiceClient(client), ARN, "t-0", actor)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(actor.run)
        nursery.start_soon(batcher.run)
        update = OperationUpdate("s1", OperationType.STEP, OperationAction.START, name="s")
        await batcher.checkpoint(update)
        nursery.cancel_scope.cancel()
    stubber.assert_no_pending_responses()
    assert len(seen) == 3 and len({p["ClientToken"] for p in seen}) == 1
    assert seen[0]["Updates"] == [{"Id": "s1", "Type": "STEP", "Action": "START", "Name": "s"}]
    op = state.get("s1")
    assert op is not None and op.start_timestamp == 1_700_000_000
    assert batcher.checkpoint_token == "t-1" and batcher.statistics().retries == 2


async def test_boto3_client_errors_become_service_errors(
    stubbed: tuple[Any, Stubber, list[dict[str, Any]]],
) -> None:
    client, stubber, _ = stubbed
    stubber.add_client_error(
        "get_durable_execution_state",
        service_error_code="InvalidParameterValueException",
        service_message="bad token",
        http_status_code=400,
    )
    with pytest.raises(ServiceError) as caught:
        await Boto3ServiceClient(client).get_execution_state(ARN, "t-0")
    assert (caught.value.code, caught.value.message, caught.value.http_status) == (
        "InvalidParameterValueException",
        "bad token",
        400,
    )
    assert not caught.value.retryable
