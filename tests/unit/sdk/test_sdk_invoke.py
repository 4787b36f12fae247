"""``ctx.invoke`` (chained invokes) against the in-memory fake service: what the
first run records, and how each recorded state replays."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest
from sdk_fakes import FakeService

from trio_durable import (
    DurableContext,
    DurableExecutionError,
    InvokeConfig,
    InvokeError,
    NonDeterministicExecutionError,
    ValidationError,
    durable_execution,
)
from trio_durable.runtime.ids import operation_id
from trio_durable.serialization import DEFAULT_SERIALIZER
from trio_durable.wire import (
    MAX_OPERATION_PAYLOAD_BYTES,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
)

S = OperationStatus
INVOKE_ID = operation_id(None, 1)


class Tagged:
    """Writes ``"<tag>:<json>"`` and reads it back: shows which serializer ran."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def serialize(self, value: Any) -> str | None:
        return f"{self.tag}:{DEFAULT_SERIALIZER.serialize(value)}"

    def deserialize(self, payload: str | None) -> Any:
        return {"read_by": self.tag, "payload": payload}


def invokes(service: FakeService) -> list[Any]:
    return [u for c in service.calls for u in c.updates if u.type is OperationType.CHAINED_INVOKE]


def recorded(status: OperationStatus, **fields: Any) -> Operation:
    return Operation(
        id=INVOKE_ID,
        type=OperationType.CHAINED_INVOKE,
        status=status,
        start_timestamp=1.0,
        name="call",
        sub_type="ChainedInvoke",
        **fields,
    )


async def answer(handler: Any, service: FakeService) -> dict[str, Any]:
    result: dict[str, Any] = await handler.invoke(service.event(), client=service)
    return result


@durable_execution
async def call_target(event: Any, ctx: DurableContext) -> Any:
    return await ctx.invoke("target", {"n": 1}, name="call")


# --- InvokeConfig and arguments ---------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tenant_id": ""}, "tenant_id must have 1 to 256 characters, got 0"),
        ({"tenant_id": "t" * 257}, "tenant_id must have 1 to 256 characters, got 257"),
        ({"tenant_id": 7}, "tenant_id must be a str, got int"),
        ({"payload_serializer": object()}, "serializer must implement serialize/deserialize"),
        ({"result_serializer": "json"}, "serializer must implement serialize/deserialize"),
    ],
)
def test_invoke_config_rejects_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        InvokeConfig(**options)


def test_invoke_config_defaults_and_is_frozen() -> None:
    config = InvokeConfig(tenant_id="tenant-1")
    assert (config.payload_serializer, config.result_serializer) == (None, None)
    with pytest.raises(AttributeError):
        config.tenant_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (("",), {}, "function_name must have 1 to 256 characters, got 0"),
        (("f" * 257,), {}, "function_name must have 1 to 256 characters, got 257"),
        ((None,), {}, "function_name must be a str, got NoneType"),
        (("target",), {"name": ""}, "an operation name must have 1 to 256 characters"),
        (("target",), {"config": {"tenant_id": "x"}}, "config must be an InvokeConfig, got dict"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_is_recorded(
    args: tuple[Any, ...], options: dict[str, Any], message: str
) -> None:
    errors: list[BaseException] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.invoke(*args, **options)
        except ValidationError as exc:
            errors.append(exc)
        return "done"

    service = FakeService()
    service.start()
    assert (await answer(handler, service))["Status"] == "SUCCEEDED"
    assert len(errors) == 1 and message in str(errors[0])
    assert isinstance(errors[0], DurableExecutionError)
    assert invokes(service) == []


async def test_a_payload_over_the_limit_is_a_serialization_error_and_records_nothing() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.invoke("target", "x" * MAX_OPERATION_PAYLOAD_BYTES, name="big")

    service = FakeService()
    service.start()
    result = await answer(handler, service)
    assert result["Status"] == "FAILED"
    assert result["Error"]["ErrorType"] == "SerializationError"
    assert "'big'" in result["Error"]["ErrorMessage"]
    assert f"at most {MAX_OPERATION_PAYLOAD_BYTES}" in result["Error"]["ErrorMessage"]
    assert invokes(service) == []


# --- the first run --------------------------------------------------------------------------


async def test_the_first_run_records_start_and_suspends() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        config = InvokeConfig(tenant_id="tenant-1", payload_serializer=Tagged("out"))
        return await ctx.invoke("target", {"n": 1}, name="call", config=config)

    service = FakeService()
    service.start()
    assert (await answer(handler, service))["Status"] == "PENDING"
    (start,) = invokes(service)
    assert (start.id, start.action, start.name, start.sub_type) == (
        INVOKE_ID,
        OperationAction.START,
        "call",
        "ChainedInvoke",
    )
    assert start.payload == 'out:{"n":1}'
    assert (start.invoke_function_name, start.invoke_tenant_id) == ("target", "tenant-1")
    assert service.operations[INVOKE_ID].status is S.STARTED


async def test_a_target_that_ends_during_the_start_checkpoint_is_not_waited_for() -> None:
    def finish_at_once(service: FakeService, updates: Any) -> list[str]:
        service.complete_callback(INVOKE_ID, S.SUCCEEDED, result='"quick"')
        return [INVOKE_ID]

    service = FakeService(on_checkpoint=finish_at_once)
    service.start()
    result = await answer(call_target, service)
    assert result == {"Status": "SUCCEEDED", "Result": '"quick"'}


# --- replay ------------------------------------------------------------------------------------


async def test_a_recorded_success_is_returned_without_a_new_start() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        config = InvokeConfig(result_serializer=Tagged("in"))
        return await ctx.invoke("target", {"n": 1}, name="call", config=config)

    service = FakeService()
    service.start()
    service.operations[INVOKE_ID] = recorded(S.SUCCEEDED, result='"echo"')
    result = await answer(handler, service)
    assert orjson.loads(result["Result"]) == {"read_by": "in", "payload": '"echo"'}
    assert invokes(service) == []


async def test_a_recorded_start_parks_again_without_a_new_start() -> None:
    service = FakeService()
    service.start()
    service.operations[INVOKE_ID] = recorded(S.STARTED)
    assert (await answer(call_target, service))["Status"] == "PENDING"
    assert invokes(service) == []


async def test_a_failed_target_raises_the_same_invoke_error_on_every_replay() -> None:
    caught: list[tuple[Any, ...]] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.invoke("target", name="call")
        except InvokeError as exc:
            caught.append((type(exc), exc.message, exc.error_type, exc.error_data, exc.stack_trace))
        return "recovered"

    service = FakeService()
    service.start()
    assert (await answer(handler, service))["Status"] == "PENDING"
    error = ErrorObject(
        message="no stock", type="LookupError", data='{"sku":1}', stack_trace=("l",)
    )
    service.complete_callback(INVOKE_ID, S.FAILED, error=error)
    assert (await answer(handler, service))["Result"] == '"recovered"'
    assert (await answer(handler, service))["Result"] == '"recovered"'
    assert caught == [(InvokeError, "no stock", "LookupError", '{"sku":1}', ("l",))] * 2
    assert len(invokes(service)) == 1  # the one START of the first run


@pytest.mark.parametrize("status", [S.TIMED_OUT, S.STOPPED])
async def test_a_target_that_timed_out_or_stopped_raises_invoke_error(
    status: OperationStatus,
) -> None:
    service = FakeService()
    service.start()
    service.operations[INVOKE_ID] = recorded(status)
    result = await answer(call_target, service)
    assert result["Status"] == "FAILED"
    assert result["Error"]["ErrorType"] == "InvokeError"
    assert status.value in result["Error"]["ErrorMessage"]


async def test_a_recorded_operation_of_another_kind_is_non_deterministic() -> None:
    caught: list[BaseException] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        try:
            return await ctx.invoke("target", name="call")
        except NonDeterministicExecutionError as exc:
            caught.append(exc)
            return "caught"

    service = FakeService()
    service.start()
    service.operations[INVOKE_ID] = replace(
        recorded(S.SUCCEEDED), type=OperationType.STEP, sub_type="Step"
    )
    await answer(handler, service)
    assert len(caught) == 1 and "type 'CHAINED_INVOKE'" in str(caught[0])
