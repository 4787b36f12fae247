"""Checkpoint calls on the engine: tokens, idempotent retries, validation (all or
nothing), limits, NewExecutionState and state paging."""

from __future__ import annotations

import re

import pytest
from local_engine_helpers import (
    boom,
    check_history,
    event_types,
    fire_next,
    make_engine,
    only_invocation,
    start,
    step_start,
    step_succeed,
    upd,
)

from trio_durable.errors import ServiceError
from trio_durable.wire import (
    MAX_CHECKPOINT_UPDATES,
    MAX_OPERATION_PAYLOAD_BYTES,
    ErrorObject,
    OperationStatus,
    OperationType,
    OperationUpdate,
)


def _invalid(exc: pytest.ExceptionInfo[ServiceError], *words: str) -> None:
    assert exc.value.code == "InvalidParameterValueException"
    for word in words:
        assert word in exc.value.message


def test_token_rotates_and_stale_token_is_refused() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    first = engine.checkpoint(arn, token, [step_start()])
    assert first.checkpoint_token != token
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [step_succeed()])
    _invalid(exc)
    assert exc.value.message.startswith("Invalid checkpoint token")
    second = engine.checkpoint(arn, first.checkpoint_token, [step_succeed()])
    assert second.checkpoint_token not in (token, first.checkpoint_token)
    assert engine.operation(arn, "s1").status is OperationStatus.SUCCEEDED


def test_tokens_and_callback_ids_are_long_and_distinct() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    tokens = set()
    callback_ids = set()
    for i in range(20):
        result = engine.checkpoint(arn, token, [upd(f"c{i}", "CALLBACK", "START")])
        token = result.checkpoint_token
        tokens.add(token)
        callback_ids.add(engine.operation(arn, f"c{i}").callback_id)
    assert len(tokens) == 20 and len(callback_ids) == 20
    assert all(len(t) >= 32 for t in tokens)
    assert all(cid is not None and len(cid) >= 32 for cid in callback_ids)


def test_new_invocation_fences_off_the_previous_token() -> None:
    engine, clock, _ = make_engine()
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [upd("w", "WAIT", "START", wait_seconds=5)])
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    fire_next(engine, clock)
    request = only_invocation(engine, arn)
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [step_start()])
    _invalid(exc, "Invalid checkpoint token")
    engine.checkpoint(arn, request.event["CheckpointToken"], [step_start()])


def test_retry_with_client_token_returns_the_same_answer_once_applied() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    first = engine.checkpoint(arn, token, [step_start()], client_token="abc")
    again = engine.checkpoint(arn, token, [step_start()], client_token="abc")
    assert again == first
    assert event_types(engine, arn).count("StepStarted") == 1
    # A different client token with the stale checkpoint token is a new call: refused.
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [step_start()], client_token="xyz")
    _invalid(exc, "Invalid checkpoint token")


def test_client_token_is_validated() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    for bad in ("", "x" * 65, "has space"):
        with pytest.raises(ServiceError) as exc:
            engine.checkpoint(arn, token, [step_start()], client_token=bad)
        _invalid(exc, "ClientToken")


def test_unknown_execution() -> None:
    engine, _, _ = make_engine()
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint("arn:nope", "t", [])
    _invalid(exc, "DurableExecutionArn")


def test_empty_checkpoint_rotates_the_token_only() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    before = len(engine.events(arn))
    result = engine.checkpoint(arn, token, [])
    assert result.checkpoint_token != token
    assert result.new_state.operations == ()
    assert len(engine.events(arn)) == before


# --- validation: each bad update names its field and changes nothing --------------

BAD_UPDATES: list[tuple[list[OperationUpdate], tuple[str, ...]]] = [
    ([upd("", "STEP", "START")], ("Updates[0].Id",)),
    ([upd("x" * 65, "STEP", "START")], ("Updates[0].Id",)),
    ([upd("s", "STEP", "START", name="")], ("Updates[0].Name",)),
    ([upd("s", "STEP", "START", name="n" * 257)], ("Updates[0].Name",)),
    ([upd("s", "STEP", "START", sub_type="t" * 33)], ("Updates[0].SubType",)),
    ([upd("s", "STEP", "START", parent_id="p" * 65)], ("Updates[0].ParentId",)),
    ([upd("s", "STEP", "CANCEL")], ("Updates[0].Action", "CANCEL")),
    ([upd("w", "WAIT", "SUCCEED")], ("Updates[0].Action",)),
    ([upd("c", "CALLBACK", "SUCCEED")], ("Updates[0].Action",)),
    ([upd("x", "CONTEXT", "RETRY")], ("Updates[0].Action",)),
    ([upd("i", "CHAINED_INVOKE", "SUCCEED")], ("Updates[0].Action",)),
    ([upd("w", "WAIT", "START")], ("WaitSeconds", "required")),
    ([upd("w", "WAIT", "START", wait_seconds=0)], ("WaitSeconds",)),
    ([upd("w", "WAIT", "START", wait_seconds=31_622_401)], ("WaitSeconds",)),
    ([upd("s", "STEP", "START", wait_seconds=3)], ("WaitOptions", "WAIT")),
    ([upd("w", "WAIT", "START", wait_seconds=3, callback_timeout_seconds=1)], ("CallbackOptions",)),
    ([upd("s", "STEP", "START", next_attempt_delay_seconds=3)], ("StepOptions", "RETRY")),
    ([upd("s", "STEP", "RETRY")], ("NextAttemptDelaySeconds", "required")),
    ([upd("s", "STEP", "RETRY", next_attempt_delay_seconds=0)], ("NextAttemptDelaySeconds",)),
    ([upd("c", "CALLBACK", "START", callback_timeout_seconds=-1)], ("TimeoutSeconds",)),
    (
        [upd("c", "CALLBACK", "START", callback_heartbeat_timeout_seconds=100_000_000)],
        ("HeartbeatTimeoutSeconds",),
    ),
    ([upd("i", "CHAINED_INVOKE", "START")], ("FunctionName", "required")),
    ([upd("x", "CONTEXT", "START", replay_children=True, wait_seconds=1)], ("WaitOptions",)),
    ([upd("s", "STEP", "START", replay_children=True)], ("ContextOptions",)),
    ([upd("s", "STEP", "FAIL", payload="1")], ("Updates[0].Payload", "FAIL")),
    ([upd("s", "STEP", "SUCCEED", error=ErrorObject(message="x"))], ("Updates[0].Error",)),
    (
        [upd("s", "STEP", "SUCCEED", payload="x" * (MAX_OPERATION_PAYLOAD_BYTES + 1))],
        ("Updates[0].Payload", "exceeds"),
    ),
    ([upd("s", "STEP", "FAIL", error=ErrorObject(message="x" * 40_000))], ("Updates[0].Error",)),
    ([upd("s", "STEP", "START", parent_id="missing")], ("Updates[0].ParentId", "missing")),
    (
        [step_start("a"), upd("b", "STEP", "START", parent_id="a")],
        ("Updates[1].ParentId", "CONTEXT"),
    ),
    ([step_start("a"), step_start("a")], ("Updates[1].Id", "twice")),
    ([upd("w", "WAIT", "START", wait_seconds=1), upd("w", "WAIT", "CANCEL")], ("Updates[1].Id",)),
    ([upd("w", "WAIT", "CANCEL")], ("Updates[0].Action", "does not exist")),
    ([upd("nope", "EXECUTION", "SUCCEED", payload="1")], ("Updates[0].Id", "EXECUTION")),
]


@pytest.mark.parametrize(("updates", "words"), BAD_UPDATES)
def test_bad_update_is_refused_and_changes_nothing(
    updates: list[OperationUpdate], words: tuple[str, ...]
) -> None:
    engine, _, store = make_engine()
    arn, token, _ = start(engine)
    # A valid update first in the same call: it must not be applied either.
    valid = upd("first", "WAIT", "START", wait_seconds=10)
    events_before = list(engine.events(arn))
    stored_before = store.load()
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [valid, *updates])
    assert exc.value.code == "InvalidParameterValueException"
    shifted = [re.sub(r"Updates\[(\d+)\]", lambda m: f"Updates[{int(m[1]) + 1}]", w) for w in words]
    for word in shifted:
        assert word in exc.value.message
    assert list(engine.events(arn)) == events_before
    assert store.load() == stored_before
    # The token was not rotated: the same call without the bad part works.
    engine.checkpoint(arn, token, [valid])
    assert engine.operation(arn, "first").status is OperationStatus.STARTED


def test_identity_of_an_existing_operation_cannot_change() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    token = engine.checkpoint(
        arn, token, [upd("ctx", "CONTEXT", "START"), step_start("s1", parent_id="ctx")]
    ).checkpoint_token
    for bad, field in (
        (upd("s1", "WAIT", "CANCEL"), "Type"),
        (step_succeed("s1", name="other"), "Name"),
        (step_succeed("s1", sub_type="Other"), "SubType"),
        (step_succeed("s1", parent_id="elsewhere"), "ParentId"),
    ):
        with pytest.raises(ServiceError) as exc:
            engine.checkpoint(arn, token, [bad])
        _invalid(exc, f"Updates[0].{field}", "'s1'")
    assert engine.operation(arn, "s1").status is OperationStatus.STARTED


def test_identity_cannot_change_between_a_start_and_its_end_in_one_call() -> None:
    engine, _, store = make_engine()
    arn, token, _ = start(engine)
    token = engine.checkpoint(arn, token, [upd("ctx", "CONTEXT", "START")]).checkpoint_token
    stored = store.load()
    started = step_start("s1", parent_id="ctx")
    for bad, field in (
        (step_succeed("s1", name="other"), "Name"),
        (step_succeed("s1", sub_type="Other"), "SubType"),
        (step_succeed("s1", parent_id="elsewhere"), "ParentId"),
        (upd("s1", "STEP", "FAIL", parent_id="elsewhere"), "ParentId"),
        (upd("ctx2", "CONTEXT", "SUCCEED", name="other"), "Name"),
    ):
        first = started if bad.type is OperationType.STEP else upd("ctx2", "CONTEXT", "START")
        with pytest.raises(ServiceError) as exc:
            engine.checkpoint(arn, token, [first, bad])
        _invalid(exc, f"Updates[1].{field}", repr(bad.id))
    assert store.load() == stored
    engine.checkpoint(arn, token, [started, step_succeed("s1", name="step", parent_id="ctx")])
    assert engine.operation(arn, "s1").status is OperationStatus.SUCCEEDED


def test_unknown_type_or_action_text_is_refused() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    bad_type = OperationUpdate(id="x", type="NOPE", action="START")  # type: ignore[arg-type]
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [bad_type])
    _invalid(exc, "Updates[0].Type", "NOPE")
    bad_action = OperationUpdate(id="x", type="STEP", action="JUMP")  # type: ignore[arg-type]
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [bad_action])
    _invalid(exc, "Updates[0].Action", "JUMP")


def test_update_count_and_call_size_limits() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    too_many = [step_start(f"s{i}") for i in range(MAX_CHECKPOINT_UPDATES + 1)]
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, too_many)
    _invalid(exc, "Updates", str(MAX_CHECKPOINT_UPDATES))
    # Exactly the limit is fine.
    token = engine.checkpoint(arn, token, too_many[:-1]).checkpoint_token
    big = "x" * (200 * 1024)
    heavy = [step_succeed(f"s{i}", payload=big) for i in range(4)]  # 800 KB
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, heavy)
    _invalid(exc, "Updates", "bytes", "Updates[3]")
    assert engine.operation(arn, "s0").status is OperationStatus.STARTED


def test_sizes_count_the_bytes_of_text_not_its_characters() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    half = MAX_OPERATION_PAYLOAD_BYTES // 2
    with pytest.raises(ServiceError) as exc:  # fewer characters than the limit, more bytes
        engine.checkpoint(arn, token, [step_succeed("s0", payload="\u00e9" * (half + 1))])
    _invalid(exc, "Updates[0].Payload", str(MAX_OPERATION_PAYLOAD_BYTES))
    token = engine.checkpoint(
        arn, token, [step_succeed("s0", payload="\u00e9" * half)]
    ).checkpoint_token
    # Four payloads of 100,000 characters: 400 KB in ASCII, 800 KB in two-byte text.
    ascii_call = [step_succeed(f"a{i}", payload="x" * 100_000) for i in range(4)]
    token = engine.checkpoint(arn, token, ascii_call).checkpoint_token
    wide_call = [step_succeed(f"w{i}", payload="\u00e9" * 100_000) for i in range(4)]
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, wide_call)
    _invalid(exc, "Updates", "bytes", "Updates[3]")


def test_execution_update_must_come_last() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    exec_id = engine.events(arn)[0]["Id"]
    with pytest.raises(ServiceError) as exc:
        engine.checkpoint(arn, token, [upd(exec_id, "EXECUTION", "SUCCEED"), step_start()])
    _invalid(exc, "Updates[0]", "last")


def test_new_state_holds_changed_operations_with_the_callback_id() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    result = engine.checkpoint(
        arn, token, [upd("cb", "CALLBACK", "START", name="approval"), step_start("s1")]
    )
    ops = {op.id: op for op in result.new_state.operations}
    assert set(ops) == {"cb", "s1"}
    assert ops["cb"].callback_id is not None
    assert ops["cb"].status is OperationStatus.STARTED
    # Unchanged operations are not repeated; an outside change is reported next time.
    engine.send_callback_success(ops["cb"].callback_id or "", b'"yes"')
    result = engine.checkpoint(arn, result.checkpoint_token, [step_succeed("s1")])
    ops = {op.id: op for op in result.new_state.operations}
    assert set(ops) == {"cb", "s1"}
    assert ops["cb"].result == '"yes"'
    result = engine.checkpoint(arn, result.checkpoint_token, [])
    assert result.new_state.operations == ()


def test_get_execution_state_pages_in_creation_order() -> None:
    engine, _, _ = make_engine(state_page_size=3)
    arn, token, _ = start(engine)
    token = engine.checkpoint(arn, token, [step_start(f"s{i}") for i in range(7)]).checkpoint_token
    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        page = engine.get_execution_state(arn, token, marker=marker)
        pages += 1
        seen.extend(op.id for op in page.operations)
        marker = page.next_marker
        if marker is None:
            break
    assert pages == 3
    assert seen[1:] == [f"s{i}" for i in range(7)]
    assert engine.operation(arn, seen[0]).type.value == "EXECUTION"
    page = engine.get_execution_state(arn, token, max_items=5)
    assert len(page.operations) == 5 and page.next_marker == "5"
    with pytest.raises(ServiceError) as exc:
        engine.get_execution_state(arn, token, marker="99")
    _invalid(exc, "Marker")
    with pytest.raises(ServiceError) as exc:
        engine.get_execution_state(arn, "stale")
    _invalid(exc, "Invalid checkpoint token")
    with pytest.raises(ServiceError) as exc:
        engine.get_execution_state(arn, token, max_items=1001)
    _invalid(exc, "MaxItems")


def test_initial_state_and_new_state_are_paged_when_large() -> None:
    engine, clock, _ = make_engine(state_page_size=4)
    arn, token, request_id = start(engine)
    result = engine.checkpoint(arn, token, [step_start(f"s{i}") for i in range(10)])
    assert len(result.new_state.operations) == 4
    marker = result.new_state.next_marker
    assert marker is not None
    rest: list[str] = []
    while marker is not None:
        page = engine.get_execution_state(arn, result.checkpoint_token, marker=marker)
        rest.extend(op.id for op in page.operations)
        marker = page.next_marker
    assert [op.id for op in result.new_state.operations] + rest == [f"s{i}" for i in range(10)]
    with pytest.raises(ServiceError) as exc:
        engine.get_execution_state(arn, result.checkpoint_token, marker="dforged:1")
    _invalid(exc, "Marker")
    # The next invocation gets the first page of everything, and a marker for the rest.
    engine.checkpoint(arn, result.checkpoint_token, [upd("w", "WAIT", "START", wait_seconds=1)])
    engine.finish_invocation(arn, request_id, {"Status": "PENDING"})
    fire_next(engine, clock)
    request = engine.take_invocations()[0]
    state = request.event["InitialExecutionState"]
    assert len(state["Operations"]) == 4
    assert state["NextMarker"] == "4"


def test_failed_step_error_is_recorded_in_state_and_history() -> None:
    engine, _, _ = make_engine()
    arn, token, _ = start(engine)
    engine.checkpoint(arn, token, [step_start(), upd("s1", "STEP", "FAIL", error=boom())])
    op = engine.operation(arn, "s1")
    assert op.status is OperationStatus.FAILED and op.error == boom()
    failed = engine.events(arn)[-1]
    assert failed["StepFailedDetails"]["Error"]["Payload"] == {
        "ErrorMessage": "boom",
        "ErrorType": "ValueError",
    }
    check_history(engine, arn)
