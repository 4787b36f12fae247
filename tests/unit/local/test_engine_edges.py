"""Edge cases of the engine: refused calls on finished executions, paging by
bytes, chained invokes whose parent ended, reloads of every timer kind, and the
engine's own arguments."""

from __future__ import annotations

from dataclasses import replace

import pytest
from local_engine_helpers import (
    FUNCTION,
    ManualClock,
    boom,
    fire_next,
    make_engine,
    only_invocation,
    op_status,
    start,
    step_start,
    upd,
)

from trio_durable.errors import ServiceError
from trio_durable.local.engine import Engine
from trio_durable.local.history import NO_DETAILS, event_type, new_event
from trio_durable.local.store import ExecutionChange, MemoryStore
from trio_durable.local.xray import invocation_header
from trio_durable.wire import ExecutionStatus, OperationStatus, OperationUpdate


def test_checkpoint_with_the_current_token_of_a_stopped_execution() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    engine.stop_execution(arn)
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [step_start()])
    assert exc.value.message == "Invalid checkpoint token: the execution is STOPPED"


def test_execution_update_only_once() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    exec_id = engine.events(arn)[0]["Id"]
    token = engine.checkpoint(
        arn, token, [upd(exec_id, "EXECUTION", "SUCCEED", payload="1")]
    ).checkpoint_token
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [upd(exec_id, "EXECUTION", "FAIL", error=boom())])
    assert "already SUCCEEDED" in exc.value.message


def test_chained_invoke_start_twice_and_tenant() -> None:
    engine, _, _ = make_engine()
    engine.tenant_isolated.add(FUNCTION)
    arn, token, _ = start(engine, tenant_id="t0")
    token = engine.checkpoint(
        arn,
        token,
        [upd("i", "CHAINED_INVOKE", "START", invoke_function_name=FUNCTION, invoke_tenant_id="t1")],
    ).checkpoint_token
    details = engine.events(arn)[-1]["ChainedInvokeStartedDetails"]
    assert details["TenantId"] == "t1"
    assert engine.record(details["DurableExecutionArn"]).tenant_id == "t1"
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(
            arn, token, [upd("i", "CHAINED_INVOKE", "START", invoke_function_name=FUNCTION)]
        )
    assert "already exists" in exc.value.message
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(
            arn,
            token,
            [
                upd(
                    "j",
                    "CHAINED_INVOKE",
                    "START",
                    invoke_function_name=FUNCTION,
                    invoke_tenant_id="",
                )
            ],
        )
    assert "TenantId" in exc.value.message


def test_the_trace_header_goes_with_the_execution_it_starts() -> None:
    header = "Root=1-5f0c4e1d-0123456789abcdef01234567;Parent=1122334455667788;Sampled=1"
    child_header = "Root=1-5f0c4e1d-0123456789abcdef01234567;Parent=8877665544332211"
    store = MemoryStore()
    engine, clock, _ = make_engine(store)
    arn = engine.start_execution(FUNCTION, None, trace_header=header).arn
    first = only_invocation(engine, arn)
    assert first.trace_header == invocation_header(header, first.request_id)
    assert engine.get_execution(arn)["TraceHeader"] == {"XAmznTraceId": header}
    token = first.checkpoint_token
    invoke = {"invoke_function_name": FUNCTION}
    engine.checkpoint(
        arn,
        token,
        [
            upd("with", "CHAINED_INVOKE", "START", invoke_trace_header=child_header, **invoke),
            upd("empty", "CHAINED_INVOKE", "START", invoke_trace_header="", **invoke),
            upd("without", "CHAINED_INVOKE", "START", **invoke),
        ],
    )
    children = {
        e["Id"]: e["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
        for e in engine.events(arn)
        if e["EventType"] == "ChainedInvokeStarted"
    }
    requests = {r.execution_arn: r for r in engine.take_invocations()}
    child = requests[children["with"]]
    assert child.trace_header == invocation_header(child_header, child.request_id)
    assert engine.get_execution(children["with"])["TraceHeader"] == {"XAmznTraceId": child_header}
    for op_id in ("empty", "without"):  # none: an empty header, or none given (not the caller's)
        assert requests[children[op_id]].trace_header is None
        assert "TraceHeader" not in engine.get_execution(children[op_id])
    reloaded, _, _ = make_engine(store, clock)
    assert reloaded.record(arn).trace_header == header
    assert reloaded.record(children["with"]).trace_header == child_header


def test_a_malformed_trace_header_starts_nothing() -> None:
    engine, _, _ = make_engine()
    for header, problem in [
        ("x" * 8193, "X-Amzn-Trace-Id: must be text of 0 to 8192 characters"),
        ("Root=1-\x00", "X-Amzn-Trace-Id: must be printable ASCII"),
    ]:
        with pytest.raises(ServiceError) as exc:
            engine.start_execution(FUNCTION, None, trace_header=header)
        assert exc.value.code == "InvalidParameterValueException"
        assert exc.value.message.startswith(problem)
    assert engine.take_invocations() == []


def test_tenancy_decides_which_starts_and_chained_invokes_are_refused() -> None:
    engine, _, _ = make_engine()
    engine.functions.add("isolated")
    engine.tenant_isolated.add("isolated")
    for function, tenant, problem in [
        ("isolated", None, "has tenant isolation (TenancyConfig PER_TENANT): an invoke"),
        (FUNCTION, "t1", "has no tenant isolation: an invoke of it must not name a tenant"),
        ("isolated", "bad#tenant", "must be 1 to 256 letters"),
        ("isolated", "t" * 257, "must be 1 to 256 letters"),
    ]:
        with pytest.raises(ServiceError) as exc:
            engine.start_execution(function, "{}", tenant_id=tenant)
        assert exc.value.code == "InvalidParameterValueException"
        assert problem in exc.value.message
    assert engine.take_invocations() == []  # nothing was started
    # The tenant reaches every invocation; a start by name is the same only for the
    # same tenant.
    blue = engine.start_execution("isolated", "{}", execution_name="n", tenant_id="blue")
    [request] = engine.take_invocations()
    assert request.tenant_id == "blue" and engine.record(blue.arn).tenant_id == "blue"
    again = engine.start_execution("isolated", "{}", execution_name="n", tenant_id="blue")
    assert again.arn == blue.arn and again.already_started
    with pytest.raises(ServiceError) as exc:
        engine.start_execution("isolated", "{}", execution_name="n", tenant_id="green")
    assert exc.value.code == "DurableExecutionAlreadyStartedException"
    assert "different input or tenant" in exc.value.message
    # A chained invoke the target's tenancy refuses fails its operation, as AWS's
    # Invoke refuses it; one it accepts starts the target for the tenant.
    arn, token, _ = start(engine)
    engine.checkpoint(
        arn,
        token,
        [
            upd("a", "CHAINED_INVOKE", "START", invoke_function_name="isolated"),
            upd(
                "b", "CHAINED_INVOKE", "START", invoke_function_name=FUNCTION, invoke_tenant_id="x"
            ),
        ],
    )
    failed = [e for e in engine.events(arn) if e["EventType"] == "ChainedInvokeFailed"]
    assert [e["Id"] for e in failed] == ["a", "b"]
    errors = [e["ChainedInvokeFailedDetails"]["Error"]["Payload"] for e in failed]
    assert {error["ErrorType"] for error in errors} == {"InvalidParameterValueException"}
    assert "must name its tenant" in errors[0]["ErrorMessage"]


def test_a_child_that_ends_after_its_parent_changes_nothing_in_the_parent() -> None:
    engine, _, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(
        arn, token, [upd("i", "CHAINED_INVOKE", "START", invoke_function_name=FUNCTION)]
    )
    child = engine.events(arn)[-1]["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    child_request = only_invocation(engine, child)
    engine.stop_execution(arn)
    parent_events = list(engine.events(arn))
    engine.finish_invocation(child, child_request.request_id, {"Status": "SUCCEEDED"})
    assert engine.record(child).status is ExecutionStatus.SUCCEEDED
    assert list(engine.events(arn)) == parent_events
    assert op_status(engine, arn, "i") is OperationStatus.STARTED


def test_state_pages_are_bounded_by_bytes_too() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    big = '"' + "x" * (240 * 1024) + '"'
    for batch in range(10):
        updates = [upd(f"s{batch}-{i}", "STEP", "SUCCEED", payload=big) for i in range(3)]
        token = engine.checkpoint(arn, token, updates).checkpoint_token
    page = engine.get_execution_state(arn, token)
    assert 1 < len(page.operations) < 31
    assert sum(len(op.result or "") for op in page.operations) <= 5 * 1024 * 1024
    assert page.next_marker == str(len(page.operations))


def test_reload_keeps_retry_and_callback_timers_and_closed_executions() -> None:
    engine, clock, store = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(
        arn,
        token,
        [
            step_start(),
            upd("s1", "STEP", "RETRY", next_attempt_delay_seconds=30),
            upd("cb", "CALLBACK", "START", callback_timeout_seconds=60),
        ],
    )
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    done, _, done_request = start(engine)
    engine.finish_invocation(done, done_request, {"Status": "SUCCEEDED"})

    again = Engine(store=store, clock=clock)
    again.functions.add(FUNCTION)
    assert again.is_closed(done)
    assert again.take_invocations() == []
    fire_next(again, clock)
    assert op_status(again, arn, "s1") is OperationStatus.READY
    fire_next(again, clock)
    assert op_status(again, arn, "cb") is OperationStatus.TIMED_OUT


def test_reload_requeues_an_execution_owed_an_invocation() -> None:
    engine, clock, store = make_engine()
    arn = engine.start_execution(FUNCTION, None).arn
    again = Engine(store=store, clock=clock)
    again.functions.add(FUNCTION)
    only_invocation(again, arn)


def test_executions_of_unregistered_functions_wait_for_registration() -> None:
    engine, _, _ = make_engine()
    engine.functions.discard(FUNCTION)
    arn = engine.start_execution(FUNCTION, None).arn
    assert engine.take_invocations() == []
    engine.functions.add(FUNCTION)
    only_invocation(engine, arn)


def test_engine_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="state_page_size"):
        Engine(store=MemoryStore(), clock=ManualClock(), state_page_size=0)
    with pytest.raises(ValueError, match="max_crash_retries"):
        Engine(store=MemoryStore(), clock=ManualClock(), max_crash_retries=-1)
    with pytest.raises(ServiceError, match="ExecutionTimeout"):
        Engine(store=MemoryStore(), clock=ManualClock(), default_timeout_seconds=0)


def test_oversized_start_payload() -> None:
    engine, _, _ = make_engine()
    with pytest.raises(ServiceError) as exc:
        engine.start_execution(FUNCTION, "x" * (6 * 1024 * 1024 + 1))
    assert exc.value.code == "RequestTooLargeException" and "Payload" in exc.value.message


def test_a_long_unreadable_answer_is_shortened_in_the_error() -> None:
    engine, _, _ = make_engine()
    arn, _, request_id = start(engine)
    engine.finish_invocation(arn, request_id, ["x" * 1000])
    message = engine.events(arn)[-1]["InvocationCompletedDetails"]["Error"]["Payload"][
        "ErrorMessage"
    ]
    assert message.endswith("...") and len(message) < 300


def test_malformed_update_fields_are_refused() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    for update, field in (
        (OperationUpdate("s", "STEP", "SUCCEED", payload=5), "Payload"),  # type: ignore[arg-type]
        (OperationUpdate("s", "STEP", "FAIL", error="bad"), "Error"),  # type: ignore[arg-type]
        (OperationUpdate("s", "STEP", "START"), None),  # type: ignore[arg-type]
    ):
        if field is None:
            engine.checkpoint(arn, token, [update])  # text enums are accepted
            assert op_status(engine, arn, "s") is OperationStatus.STARTED
            continue
        with pytest.raises(ServiceError) as exc:
            engine.checkpoint(arn, token, [update])
        assert f"Updates[0].{field}" in exc.value.message


def test_memory_store_refuses_a_history_that_does_not_continue() -> None:
    engine, _, store = make_engine()
    arn, _, _ = start(engine)
    record = engine.record(arn)
    gap = ExecutionChange(
        replace(record, event_count=3), events=(new_event("X", 3, 1.0, NO_DETAILS),)
    )
    with pytest.raises(ValueError, match="does not continue"):
        store.write([gap])
    miscounted = ExecutionChange(replace(record, event_count=5))
    with pytest.raises(ValueError, match="events"):
        store.write([miscounted])
    assert store.load()[0].execution == record


def test_memory_store_takes_two_changes_of_one_execution_in_one_write() -> None:
    engine, _, store = make_engine()
    arn, _, _ = start(engine)
    record = engine.record(arn)
    count = record.event_count
    first = ExecutionChange(
        replace(record, event_count=count + 1),
        events=(new_event("X", count + 1, 1.0, NO_DETAILS),),
    )
    second = ExecutionChange(
        replace(record, event_count=count + 2),
        events=(new_event("Y", count + 2, 1.0, NO_DETAILS),),
    )
    store.write([first, second])
    assert [event_type(e) for e in store.load()[0].events][-2:] == ["X", "Y"]
    with pytest.raises(ValueError, match="does not continue"):
        store.write([second])
