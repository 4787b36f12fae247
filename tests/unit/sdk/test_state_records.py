"""``ExecutionState`` with records of the first page left unparsed
(``wire.recorded_operations``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from trio_durable.runtime.state import NOT_SUCCEEDED, Activity, ExecutionState
from trio_durable.wire import (
    Operation,
    OperationStatus,
    OperationType,
    operation_to_wire,
    recorded_operations,
)

S = OperationStatus
EXECUTION = Operation("e", OperationType.EXECUTION, S.STARTED, 1.0, input_payload="{}")
STEPS = [
    Operation(f"s{i}", OperationType.STEP, S.SUCCEEDED, 2.0, parent_id=None, name="n",
              sub_type="Step", result=str(i))
    for i in range(3)
]  # fmt: skip
FAILED = Operation("f", OperationType.STEP, S.STARTED, 2.0, name="n", sub_type="Step")


def _state() -> ExecutionState:
    wire = [operation_to_wire(op) for op in (EXECUTION, *STEPS, FAILED)]
    return ExecutionState([], Activity(), page=recorded_operations(wire))


def _key(name: str, parent_id: str | None = None) -> tuple[OperationType, str, str, str | None]:
    """What a step named ``name`` under ``parent_id`` asks ``succeeded`` for."""
    return (OperationType.STEP, "Step", name, parent_id)


def test_a_deferred_record_is_parsed_once_on_first_get() -> None:
    state = _state()
    assert state.execution_id == "e" and len(state) == 5 and "s1" in state
    first = state.get("s1")
    assert first == STEPS[1]
    assert state.get("s1") is first
    assert state.get("missing") is None and "missing" not in state


def test_views_parse_everything_and_keep_the_order() -> None:
    state = _state()
    state.get("s2")
    snapshot = state.snapshot()
    assert list(snapshot) == ["e", "s0", "s1", "s2", "f"]
    assert all(isinstance(op, Operation) for op in snapshot.values())
    assert dict(state.view()) == snapshot


def test_succeeded_reads_unparsed_and_parsed_records_alike() -> None:
    for parse_first in (False, True):
        state = _state()
        if parse_first:
            state.snapshot()
        assert state.succeeded("s0", *_key("n")) == "0"
        assert state.succeeded("s0", *_key("other")) is NOT_SUCCEEDED
        assert state.succeeded("s0", *_key("n", "p")) is NOT_SUCCEEDED
        assert state.succeeded("s0", OperationType.CALLBACK, "Step", "n", None) is NOT_SUCCEEDED
        assert state.succeeded("f", *_key("n")) is NOT_SUCCEEDED
        assert state.succeeded("none", *_key("n")) is NOT_SUCCEEDED


def test_a_success_that_recorded_nothing_answers_none() -> None:
    # No details (or null ones), or details without a result: no payload.
    empty = Operation("s", OperationType.STEP, S.SUCCEEDED, 2.0, name="n", sub_type="Step")
    bare = {k: v for k, v in operation_to_wire(empty).items() if k != "StepDetails"}
    attempted = {**bare, "Id": "a", "StepDetails": {"Attempt": 1}}
    nulled = {**bare, "Id": "z", "StepDetails": None}
    page = recorded_operations([operation_to_wire(EXECUTION), bare, attempted, nulled])
    state = ExecutionState([], Activity(), page=page)
    assert state.succeeded("s", *_key("n")) is None
    assert state.succeeded("a", *_key("n")) is None
    assert state.succeeded("z", *_key("n")) is None


def test_optional_fields_are_compared_where_asked_for_and_absent_elsewhere() -> None:
    # A field recorded as null is left to the full path (NOT_SUCCEEDED here),
    # whose parse reads it as absent.
    child = replace(STEPS[0], id="c", parent_id="p")
    unnamed = replace(STEPS[1], id="u", name=None)
    records = [operation_to_wire(op) for op in (EXECUTION, child, unnamed)]
    nulled = {**records[2], "Id": "z", "Name": None}
    state = ExecutionState([], Activity(), page=recorded_operations([*records, nulled]))
    assert state.succeeded("c", *_key("n", "p")) == "0"
    assert state.succeeded("c", *_key("n")) is NOT_SUCCEEDED
    assert state.succeeded("u", OperationType.STEP, "Step", None, None) == "1"
    assert state.succeeded("u", *_key("n")) is NOT_SUCCEEDED
    assert state.succeeded("u", OperationType.STEP, None, None, None) is NOT_SUCCEEDED
    assert state.succeeded("z", OperationType.STEP, "Step", None, None) is NOT_SUCCEEDED
    assert state.get("z") == replace(unnamed, id="z")


def test_parsed_records_answer_succeeded_without_a_page() -> None:
    state = ExecutionState([EXECUTION, *STEPS, FAILED], Activity())
    assert state.succeeded("s2", *_key("n")) == "2"
    assert state.succeeded("s2", OperationType.STEP, "Other", "n", None) is NOT_SUCCEEDED
    assert state.succeeded("f", *_key("n")) is NOT_SUCCEEDED


def test_a_merge_replaces_an_unparsed_record() -> None:
    state = _state()
    newer = Operation(
        "f", OperationType.STEP, S.SUCCEEDED, 2.0, name="n", sub_type="Step", result="9"
    )
    state.apply([newer])
    assert state.get("f") is newer
    assert state.succeeded("f", *_key("n")) == "9"


def test_a_merge_replaces_a_recorded_success() -> None:
    state = _state()
    assert state.succeeded("s1", *_key("n")) == "1"
    state.apply([replace(STEPS[1], result="changed")])
    assert state.succeeded("s1", *_key("n")) == "changed"
    state.apply([replace(STEPS[1], status=S.STARTED)])
    assert state.succeeded("s1", *_key("n")) is NOT_SUCCEEDED


def test_a_later_page_replaces_a_recorded_success() -> None:
    wire = [operation_to_wire(op) for op in (EXECUTION, *STEPS)]
    later = replace(STEPS[0], status=S.PENDING, result=None)
    state = ExecutionState([later], Activity(), page=recorded_operations(wire))
    assert state.execution_id == "e"
    assert state.succeeded("s0", *_key("n")) is NOT_SUCCEEDED
    assert state.get("s0") is later
    assert state.succeeded("s1", *_key("n")) == "1"


def test_the_ids_view_and_the_answers_of_succeeded_follow_merges() -> None:
    state = _state()
    assert "s1" in state.ids and "new" not in state.ids
    assert state.succeeded("s1", *_key("n")) == "1"
    state.apply([replace(STEPS[1], status=S.STARTED), replace(STEPS[1], id="new")])
    assert "new" in state.ids
    assert state.succeeded("s1", *_key("n")) is NOT_SUCCEEDED  # the merged record answers now
    with pytest.raises(TypeError):
        state.ids["s0"] = state.ids["s0"]  # type: ignore[index]


@pytest.mark.parametrize(
    "op",
    [
        Operation("k", OperationType.CONTEXT, S.SUCCEEDED, 2.0, parent_id="p", name="c",
                  sub_type="RunInChildContext", result='"ctx"'),
        Operation("c", OperationType.CALLBACK, S.SUCCEEDED, 2.0, name="cb",
                  sub_type="Callback", callback_id="cb-1", result='"ok"'),
        Operation("w", OperationType.WAIT, S.SUCCEEDED, 2.0, end_timestamp=3.0),
        Operation("i", OperationType.CHAINED_INVOKE, S.SUCCEEDED, 2.0, name="f", result="7"),
    ],
    ids=lambda op: op.type.value,
)  # fmt: skip
def test_an_unparsed_success_of_each_type_answers_from_its_own_details(op: Operation) -> None:
    state = ExecutionState([], Activity(), page=recorded_operations([operation_to_wire(op)]))
    assert isinstance(state.ids[op.id], dict)  # deferred: read where it is
    assert state.succeeded(op.id, op.type, op.sub_type, op.name, op.parent_id) == op.result
    other = OperationType.STEP if op.type is not OperationType.STEP else OperationType.WAIT
    assert state.succeeded(op.id, other, op.sub_type, op.name, op.parent_id) is NOT_SUCCEEDED
    assert state.succeeded(op.id, op.type, op.sub_type, "renamed", op.parent_id) is NOT_SUCCEEDED
    assert state.succeeded(op.id, op.type, "Other", op.name, op.parent_id) is NOT_SUCCEEDED
    assert state.succeeded(op.id, op.type, op.sub_type, op.name, "q") is NOT_SUCCEEDED
    assert isinstance(state.ids[op.id], dict)  # still unparsed


def test_a_success_without_details_or_result_answers_none() -> None:
    op = Operation("s", OperationType.STEP, S.SUCCEEDED, 2.0, name="n")
    bare = {k: v for k, v in operation_to_wire(op).items() if k != "StepDetails"}
    for details in (None, {}, {"Attempt": 1}):
        data = bare if details is None else {**bare, "StepDetails": details}
        state = ExecutionState([], Activity(), page=recorded_operations([data]))
        assert state.succeeded("s", OperationType.STEP, None, "n", None) is None
        assert state.succeeded("s", OperationType.STEP, None, None, None) is NOT_SUCCEEDED
