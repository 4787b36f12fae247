"""LocalService under Trio: timers on the (mock) Trio clock, the invocation
scheduler, invokers and LocalServiceClient, with tiny handwritten handlers that
speak the invocation protocol."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing
from local_engine_helpers import upd

from trio_durable.errors import ServiceError, ValidationError
from trio_durable.local.client import LocalServiceClient
from trio_durable.local.invokers import (
    InProcessInvoker,
    InvocationError,
    LocalLambdaContext,
    ThreadInvoker,
)
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.wire import ErrorObject, OperationUpdate

Handler = Callable[[dict[str, Any], LocalLambdaContext], Awaitable[dict[str, Any]]]


def _ops(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["Id"]: op for op in event["InitialExecutionState"]["Operations"]}


async def _checkpoint(
    event: dict[str, Any], context: LocalLambdaContext, *updates: OperationUpdate
) -> None:
    await context.durable_client.checkpoint(
        event["DurableExecutionArn"], event["CheckpointToken"], list(updates)
    )


def _types(service: LocalService, arn: str) -> list[str]:
    return [e["EventType"] for e in service.get_execution_history(arn)["Events"]]


async def _run(service: LocalService, handler: Handler, payload: str | None = None) -> str:
    service.register_function("fn", InProcessInvoker(handler))
    return service.start_execution("fn", payload).arn


async def test_wait_of_an_hour_is_skipped_by_the_mock_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        wait = _ops(event).get("w")
        if wait is None:
            await _checkpoint(event, context, upd("w", "WAIT", "START", wait_seconds=3600))
            return {"Status": "PENDING"}
        assert wait["Status"] == "SUCCEEDED"
        return {"Status": "SUCCEEDED", "Result": '"done"'}

    async with open_local_service() as service:
        start = trio.current_time()
        arn = await _run(service, handler)
        result = await service.wait_until_terminal(arn)
        assert result["Status"] == "SUCCEEDED" and result["Result"] == '"done"'
        assert trio.current_time() - start >= 3600
        assert _types(service, arn) == [
            "ExecutionStarted",
            "WaitStarted",
            "InvocationCompleted",
            "WaitSucceeded",
            "InvocationCompleted",
            "ExecutionSucceeded",
        ]
        events = service.get_execution_history(arn)["Events"]
        started, succeeded = events[1], events[3]
        assert succeeded["EventTimestamp"] - started["EventTimestamp"] == pytest.approx(3600)
        assert service.statistics().invocations_total == 2


async def test_step_retry_delay_is_skipped(autojump_clock: trio.testing.MockClock) -> None:
    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        step = _ops(event).get("s")
        if step is None:
            await _checkpoint(
                event,
                context,
                upd("s", "STEP", "START"),
                upd("s", "STEP", "RETRY", next_attempt_delay_seconds=600, error=ErrorObject("x")),
            )
            return {"Status": "PENDING"}
        assert step["Status"] == "READY"
        await _checkpoint(
            event, context, upd("s", "STEP", "START"), upd("s", "STEP", "SUCCEED", payload="2")
        )
        return {"Status": "SUCCEEDED", "Result": "2"}

    async with open_local_service() as service:
        arn = await _run(service, handler)
        assert (await service.wait_until_terminal(arn))["Status"] == "SUCCEEDED"
        assert _types(service, arn)[1:] == [
            "StepStarted",
            "StepFailed",
            "InvocationCompleted",
            "StepStarted",
            "StepSucceeded",
            "InvocationCompleted",
            "ExecutionSucceeded",
        ]


async def _callback_handler_factory(
    started: trio.Event, callback_ids: list[str], **options: int
) -> Handler:
    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        cb = _ops(event).get("cb")
        if cb is None:
            result = await context.durable_client.checkpoint(
                event["DurableExecutionArn"],
                event["CheckpointToken"],
                [upd("cb", "CALLBACK", "START", name="approval", **options)],
            )
            (op,) = result.new_state.operations
            assert op.callback_id is not None
            callback_ids.append(op.callback_id)
            started.set()
            return {"Status": "PENDING"}
        if cb["Status"] == "SUCCEEDED":
            return {"Status": "SUCCEEDED", "Result": cb["CallbackDetails"]["Result"]}
        return {"Status": "FAILED", "Error": cb["CallbackDetails"]["Error"]}

    return handler


async def test_callback_completed_from_outside(autojump_clock: trio.testing.MockClock) -> None:
    started = trio.Event()
    ids: list[str] = []
    async with open_local_service() as service:
        arn = await _run(service, await _callback_handler_factory(started, ids))
        await started.wait()
        await trio.sleep(5)
        service.send_callback_heartbeat(ids[0])
        service.send_callback_success(ids[0], b'"approved"')
        result = await service.wait_until_terminal(arn)
        assert result["Result"] == '"approved"'
        assert _types(service, arn)[1:] == [
            "CallbackStarted",
            "InvocationCompleted",
            "CallbackSucceeded",
            "InvocationCompleted",
            "ExecutionSucceeded",
        ]
        with pytest.raises(ServiceError) as exc:
            service.send_callback_success(ids[0], b"again")
        assert exc.value.code == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("options", "error_type"),
    [
        ({"callback_timeout_seconds": 3600}, "Callback.Timeout"),
        ({"callback_heartbeat_timeout_seconds": 300}, "Callback.Heartbeat"),
    ],
)
async def test_callback_timeouts_fire_on_the_mock_clock(
    autojump_clock: trio.testing.MockClock, options: dict[str, int], error_type: str
) -> None:
    started = trio.Event()
    ids: list[str] = []
    async with open_local_service() as service:
        arn = await _run(service, await _callback_handler_factory(started, ids, **options))
        result = await service.wait_until_terminal(arn)
        assert result["Status"] == "FAILED"
        assert result["Error"]["ErrorType"] == error_type
        assert _types(service, arn)[-4:] == [
            "InvocationCompleted",
            "CallbackTimedOut",
            "InvocationCompleted",
            "ExecutionFailed",
        ]
        with pytest.raises(ServiceError) as exc:
            service.send_callback_success(ids[0], b"late")
        assert exc.value.code == "CallbackTimeoutException"


async def test_callback_completed_while_the_invocation_runs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    release = trio.Event()
    created = trio.Event()
    ids: list[str] = []
    invocations = 0

    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        nonlocal invocations
        invocations += 1
        cb = _ops(event).get("cb")
        if cb is None:
            result = await context.durable_client.checkpoint(
                event["DurableExecutionArn"],
                event["CheckpointToken"],
                [upd("cb", "CALLBACK", "START")],
            )
            ids.append(result.new_state.operations[0].callback_id or "")
            created.set()
            await release.wait()
            return {"Status": "PENDING"}
        return {"Status": "SUCCEEDED", "Result": cb["CallbackDetails"]["Result"]}

    async with open_local_service() as service:
        arn = await _run(service, handler)
        await created.wait()
        service.send_callback_success(ids[0], b"1")
        await trio.sleep(1)
        assert service.statistics().invocations_in_flight == 1
        release.set()
        assert (await service.wait_until_terminal(arn))["Result"] == "1"
        assert invocations == 2


async def test_execution_timeout_cancels_a_running_invocation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async with open_local_service() as service:
        service.register_function("fn", InProcessInvoker(handler))
        arn = service.start_execution("fn", None, timeout_seconds=120).arn
        result = await service.wait_until_terminal(arn)
        assert result["Status"] == "TIMED_OUT"
        assert _types(service, arn) == [
            "ExecutionStarted",
            "InvocationCompleted",
            "ExecutionTimedOut",
        ]
        assert service.statistics().invocations_in_flight == 0


async def test_an_invocation_past_its_timeout_is_cut_off_and_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    remaining: list[int] = []

    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        remaining.append(context.get_remaining_time_in_millis())
        if len(remaining) == 1:
            await trio.sleep_forever()
        return {"Status": "SUCCEEDED", "Result": '"second try"'}

    async with open_local_service() as service:
        service.register_function("fn", InProcessInvoker(handler), invocation_timeout_seconds=30)
        assert service.invocation_timeout("fn") == 30
        arn = service.start_execution("fn", None).arn
        start = trio.current_time()
        result = await service.wait_until_terminal(arn)
        assert result["Status"] == "SUCCEEDED" and result["Result"] == '"second try"'
        assert trio.current_time() - start >= 30
        assert all(0 < ms <= 30_000 for ms in remaining) and len(remaining) == 2
        events = service.get_execution_history(arn, include_execution_data=True)["Events"]
        assert [e["EventType"] for e in events] == [
            "ExecutionStarted",
            "InvocationCompleted",
            "InvocationCompleted",
            "ExecutionSucceeded",
        ]
        error = events[1]["InvocationCompletedDetails"]["Error"]["Payload"]
        assert error == {
            "ErrorType": "Sandbox.Timedout",
            "ErrorMessage": "Task timed out after 30.00 seconds",
        }
        assert "Error" not in events[2]["InvocationCompletedDetails"]


async def test_an_invocation_that_always_times_out_fails_the_execution(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async with open_local_service(max_crash_retries=1) as service:
        service.register_function("fn", InProcessInvoker(handler), invocation_timeout_seconds=5)
        arn = service.start_execution("fn", None).arn
        result = await service.wait_until_terminal(arn)
        assert result["Status"] == "FAILED"
        assert result["Error"]["ErrorType"] == "Sandbox.Timedout"
        assert _types(service, arn).count("InvocationCompleted") == 2


@pytest.mark.parametrize("seconds", [0, -1, 900.5, float("nan")])
def test_an_invocation_timeout_outside_lambdas_range_is_refused(seconds: float) -> None:
    service = LocalService()

    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        raise AssertionError("never invoked")

    with pytest.raises(ValidationError, match="invocation_timeout_seconds must be"):
        service.register_function(
            "fn", InProcessInvoker(handler), invocation_timeout_seconds=seconds
        )
    with pytest.raises(ServiceError, match="not registered"):
        service.start_execution("fn", None)


async def test_stop_cancels_a_running_invocation(autojump_clock: trio.testing.MockClock) -> None:
    running = trio.Event()

    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        running.set()
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async with open_local_service() as service:
        arn = await _run(service, handler)
        await running.wait()
        stopped = service.stop_execution(arn, ErrorObject(message="enough"))
        assert isinstance(stopped["StopTimestamp"], float)
        result = await service.wait_until_terminal(arn)
        assert result["Status"] == "STOPPED"
        assert _types(service, arn)[-2:] == ["InvocationCompleted", "ExecutionStopped"]


async def test_a_raising_handler_is_retried_then_fails(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = 0

    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        raise RuntimeError("kaput")

    async with open_local_service(max_crash_retries=2) as service:
        arn = await _run(service, handler)
        result = await service.wait_until_terminal(arn)
        assert calls == 3
        assert result["Status"] == "FAILED"
        events = service.get_execution_history(arn, include_execution_data=True)["Events"]
        crashes = [e for e in events if e["EventType"] == "InvocationCompleted"]
        assert len(crashes) == 3
        error = crashes[0]["InvocationCompletedDetails"]["Error"]["Payload"]
        assert error["ErrorType"] == "RuntimeError" and "kaput" in error["ErrorMessage"]


async def test_invocation_error_type_is_recorded(autojump_clock: trio.testing.MockClock) -> None:
    calls = 0

    class Dying:
        async def invoke(self, request: Any, service: LocalService) -> dict[str, Any]:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise InvocationError("process exited with status 9")
            return {"Status": "SUCCEEDED", "Result": "1"}

    async with open_local_service() as service:
        service.register_function("fn", Dying())
        arn = service.start_execution("fn", None).arn
        assert (await service.wait_until_terminal(arn))["Status"] == "SUCCEEDED"
        first = service.get_execution_history(arn, include_execution_data=True)["Events"][1]
        assert first["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"] == (
            "Runtime.ExitError"
        )


async def test_pending_with_nothing_pending_fails_clearly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        return {"Status": "PENDING"}

    async with open_local_service() as service:
        arn = await _run(service, handler)
        result = await service.wait_until_terminal(arn)
        assert result["Status"] == "FAILED"
        assert result["Error"]["ErrorType"] == "Runtime.NoProgress"


async def test_start_of_an_unregistered_function_is_refused() -> None:
    async with open_local_service() as service:
        with pytest.raises(ServiceError) as exc:
            service.start_execution("ghost", None)
        assert exc.value.code == "ResourceNotFoundException"
        with pytest.raises(ServiceError) as exc:
            await service.wait_until_terminal("arn:none")
        assert exc.value.code == "ResourceNotFoundException"


async def test_chained_invoke_through_the_service(autojump_clock: trio.testing.MockClock) -> None:
    async def child(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        (exec_op,) = event["InitialExecutionState"]["Operations"]
        return {"Status": "SUCCEEDED", "Result": exec_op["ExecutionDetails"]["InputPayload"]}

    async def parent(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        inv = _ops(event).get("inv")
        if inv is None:
            await _checkpoint(
                event,
                context,
                upd("inv", "CHAINED_INVOKE", "START", payload='"hi"', invoke_function_name="kid"),
            )
            return {"Status": "PENDING"}
        return {"Status": "SUCCEEDED", "Result": inv["ChainedInvokeDetails"]["Result"]}

    async with open_local_service() as service:
        service.register_function("kid", InProcessInvoker(child))
        arn = await _run(service, parent)
        assert (await service.wait_until_terminal(arn))["Result"] == '"hi"'
        assert service.list_executions("kid")["DurableExecutions"][0]["Status"] == "SUCCEEDED"


async def test_a_service_restarted_on_the_same_store_resumes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    waiting = trio.Event()

    async def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        if "w" not in _ops(event):
            await _checkpoint(event, context, upd("w", "WAIT", "START", wait_seconds=60))
            waiting.set()
            return {"Status": "PENDING"}
        if _ops(event)["w"]["Status"] != "SUCCEEDED":
            return {"Status": "PENDING"}
        return {"Status": "SUCCEEDED", "Result": "1"}

    async with open_local_service() as first:
        arn = await _run(first, handler)
        await waiting.wait()
        assert first.get_execution(arn)["Status"] == "RUNNING"
    async with open_local_service(store=first.store) as second:
        second.register_function("fn", InProcessInvoker(handler))
        assert (await second.wait_until_terminal(arn))["Status"] == "SUCCEEDED"


def _sync_handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
    """A plain sync Lambda handler that runs its own Trio loop in the worker thread."""

    async def main() -> dict[str, Any]:
        if "s" in _ops(event):
            return {"Status": "SUCCEEDED", "Result": _ops(event)["s"]["StepDetails"]["Result"]}
        await _checkpoint(
            event,
            context,
            upd("s", "STEP", "START"),
            upd("s", "STEP", "SUCCEED", payload='"from thread"'),
        )
        state = await context.durable_client.get_execution_state(
            event["DurableExecutionArn"], "stale-token"
        )
        raise AssertionError(f"stale token accepted: {state}")

    try:
        return trio.run(main)
    except ServiceError as exc:
        assert exc.message.startswith("Invalid checkpoint token")
        return {"Status": "SUCCEEDED", "Result": '"from thread"'}


async def test_thread_invoker_runs_a_sync_handler() -> None:
    async with open_local_service() as service:
        service.register_function("fn", ThreadInvoker(_sync_handler))
        arn = service.start_execution("fn", None).arn
        with trio.fail_after(30):
            result = await service.wait_until_terminal(arn)
        assert result["Result"] == '"from thread"'
        assert _types(service, arn)[1:3] == ["StepStarted", "StepSucceeded"]


async def test_thread_invoker_reports_a_raising_handler() -> None:
    def broken(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        raise KeyError("missing")

    async with open_local_service(max_crash_retries=0) as service:
        service.register_function("fn", ThreadInvoker(broken))
        arn = service.start_execution("fn", None).arn
        with trio.fail_after(30):
            result = await service.wait_until_terminal(arn)
        assert result["Status"] == "FAILED"
        assert result["Error"]["ErrorType"] == "KeyError"


async def test_run_twice_is_refused() -> None:
    async with open_local_service() as service:
        with pytest.raises(RuntimeError):
            await service.run()


async def test_unexpected_invoker_errors_and_bad_answers_are_crashes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class Broken:
        async def invoke(self, request: Any, service: LocalService) -> dict[str, Any]:
            raise ValueError("invoker bug")

    async def not_a_dict(event: dict[str, Any], context: LocalLambdaContext) -> Any:
        return ["PENDING"]

    async with open_local_service(max_crash_retries=0) as service:
        service.register_function("broken", Broken())
        service.register_function("odd", InProcessInvoker(not_a_dict))
        for name, error_type, words in (
            ("broken", "Runtime.ExitError", "ValueError: invoker bug"),
            ("odd", "Runtime.InvalidResponse", "list"),
        ):
            arn = service.start_execution(name, None).arn
            result = await service.wait_until_terminal(arn)
            assert result["Status"] == "FAILED"
            assert result["Error"]["ErrorType"] == error_type
            assert words in result["Error"]["ErrorMessage"]
            # Already terminal: answered at once.
            assert (await service.wait_until_terminal(arn))["Status"] == "FAILED"


async def test_callback_failure_through_the_service(
    autojump_clock: trio.testing.MockClock,
) -> None:
    started = trio.Event()
    ids: list[str] = []
    async with open_local_service() as service:
        arn = await _run(service, await _callback_handler_factory(started, ids))
        await started.wait()
        service.send_callback_failure(ids[0], ErrorObject(message="no", type="Rejected"))
        result = await service.wait_until_terminal(arn)
        assert result["Error"] == {"ErrorMessage": "no", "ErrorType": "Rejected"}
        assert _types(service, arn)[-3:] == [
            "CallbackFailed",
            "InvocationCompleted",
            "ExecutionFailed",
        ]


def test_lambda_context_reports_remaining_time() -> None:
    service = LocalService()
    context = LocalLambdaContext(
        function_name="fn",
        aws_request_id="r",
        invoked_function_arn="arn",
        durable_client=LocalServiceClient(service),
    )
    assert 0 < context.get_remaining_time_in_millis() <= 900_000


def test_a_function_registers_its_own_execution_timeout_and_retention() -> None:
    service = LocalService()
    invoker = InProcessInvoker(lambda event, context: None)
    service.register_function(
        "orders", invoker, execution_timeout_seconds=600, retention_period_days=3
    )
    assert service.engine.execution_timeouts == {"orders": 600}
    assert service.engine.retention_days == {"orders": 3}
    service.register_function("orders", invoker)  # registering again resets them
    assert service.engine.execution_timeouts == {} and service.engine.retention_days == {}
    with pytest.raises(ValidationError, match="retention_period_days must be 1 to 90, got 91"):
        service.register_function("orders", invoker, retention_period_days=91)
    with pytest.raises(ServiceError, match="ExecutionTimeout"):
        service.register_function("orders", invoker, execution_timeout_seconds=0)
    assert service.engine.retention_days == {} and service.engine.execution_timeouts == {}
