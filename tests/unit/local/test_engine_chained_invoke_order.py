"""A chained invoke's target that ends while its caller's invocation is still in
flight: the outcome is recorded once that invocation has ended, so the caller's
history reads Started, InvocationCompleted, Succeeded (the order AWS's
conformance requirements 5-x expect) and the caller resumes in a new invocation."""

from __future__ import annotations

from local_engine_helpers import (
    check_history,
    event_types,
    make_engine,
    only_invocation,
    start,
    upd,
)

from trio_durable.local.engine import Engine
from trio_durable.wire import ErrorObject, OperationStatus


def _start_invoke(engine: Engine) -> tuple[str, str, str]:
    """A caller that started a chained invoke of ``target``: (arn, request id, child arn)."""
    engine.functions.add("target")
    arn, token, request_id = start(engine)
    engine.checkpoint(
        arn,
        token,
        [upd("inv", "CHAINED_INVOKE", "START", payload='"x"', invoke_function_name="target")],
    )
    child_arn = engine.events(arn)[-1]["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
    return arn, request_id, child_arn


def test_a_target_that_ends_first_is_recorded_after_the_callers_invocation() -> None:
    engine, _, _ = make_engine()
    arn, request_id, child_arn = _start_invoke(engine)
    child = only_invocation(engine, child_arn)  # the target runs at once
    engine.finish_invocation(child_arn, child.request_id, {"Status": "SUCCEEDED", "Result": "7"})
    assert engine.operation(arn, "inv").status is OperationStatus.STARTED
    assert event_types(engine, arn)[-1] == "ChainedInvokeStarted"
    assert engine.take_invocations() == []

    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    op = engine.operation(arn, "inv")
    assert op.status is OperationStatus.SUCCEEDED and op.result == "7"
    assert event_types(engine, arn)[1:] == [
        "ChainedInvokeStarted",
        "InvocationCompleted",
        "ChainedInvokeSucceeded",
    ]
    only_invocation(engine, arn)
    check_history(engine, arn)


def test_a_failed_target_is_held_the_same_way() -> None:
    engine, _, _ = make_engine()
    arn, request_id, child_arn = _start_invoke(engine)
    child = only_invocation(engine, child_arn)
    engine.finish_invocation(
        child_arn, child.request_id, {"Status": "FAILED", "Error": {"ErrorMessage": "no"}}
    )
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    op = engine.operation(arn, "inv")
    assert op.status is OperationStatus.FAILED and op.error == ErrorObject(message="no")
    assert event_types(engine, arn)[-2:] == ["InvocationCompleted", "ChainedInvokeFailed"]
    check_history(engine, arn)


def test_a_held_outcome_survives_a_service_restart() -> None:
    engine, clock, store = make_engine()
    arn, _, child_arn = _start_invoke(engine)
    child = only_invocation(engine, child_arn)
    engine.finish_invocation(child_arn, child.request_id, {"Status": "SUCCEEDED", "Result": "7"})

    # The caller's invocation was in flight when the service stopped: written off on load.
    restarted, _, _ = make_engine(store=store, clock=clock)
    assert restarted.operation(arn, "inv").status is OperationStatus.SUCCEEDED
    assert event_types(restarted, arn)[-2:] == ["InvocationCompleted", "ChainedInvokeSucceeded"]
    only_invocation(restarted, arn)
    check_history(restarted, arn)


def test_several_held_outcomes_are_recorded_in_operation_order() -> None:
    engine, _, _ = make_engine()
    engine.functions.add("target")
    arn, token, request_id = start(engine)
    engine.checkpoint(
        arn,
        token,
        [
            upd(
                op_id,
                "CHAINED_INVOKE",
                "START",
                payload=f'"{op_id}"',
                invoke_function_name="target",
            )
            for op_id in ("inv-a", "inv-b", "inv-c")
        ],
    )
    children = {r.execution_arn: r for r in engine.take_invocations()}
    assert len(children) == 3
    for child_arn, child in reversed(list(children.items())):  # the last one ends first
        engine.finish_invocation(child_arn, child.request_id, {"Status": "SUCCEEDED"})
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    succeeded = [e["Id"] for e in engine.events(arn) if e["EventType"] == "ChainedInvokeSucceeded"]
    assert succeeded == ["inv-a", "inv-b", "inv-c"]
    check_history(engine, arn)


def test_a_target_with_its_own_execution_timeout_starts_with_it() -> None:
    """A function's ExecutionTimeout (``Engine.execution_timeouts``) applies to its
    executions started without a timeout, chained invokes included."""
    engine, _, _ = make_engine()
    engine.execution_timeouts["target"] = 120
    _, _, child_arn = _start_invoke(engine)
    started = engine.events(child_arn)[0]["ExecutionStartedDetails"]
    assert started["ExecutionTimeout"] == 120
    direct = engine.start_execution("target", '"y"').arn
    assert engine.events(direct)[0]["ExecutionStartedDetails"]["ExecutionTimeout"] == 120
    given = engine.start_execution("target", '"z"', timeout_seconds=30).arn
    assert engine.events(given)[0]["ExecutionStartedDetails"]["ExecutionTimeout"] == 30
    engine.functions.add("other")
    other = engine.start_execution("other", None).arn
    assert engine.events(other)[0]["ExecutionStartedDetails"]["ExecutionTimeout"] == 86_400
