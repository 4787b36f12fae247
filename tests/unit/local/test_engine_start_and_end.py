"""A new STEP's or CONTEXT's START followed by its SUCCEED or FAIL in one call is
staged as one record (``checkpoints.START_AND_END``): every call, valid or not,
must leave the same operations, events, answer and error as applying each
update in turn (the table emptied)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from local_engine_helpers import ManualClock, make_engine, start

from trio_durable.errors import ServiceError
from trio_durable.local.engine import Engine, checkpoints
from trio_durable.local.store import MemoryStore
from trio_durable.wire import ErrorObject, OperationAction, OperationType, OperationUpdate

IDS = ["a", "b", "ctx"]
TYPES = [OperationType.STEP, OperationType.CONTEXT, OperationType.WAIT]
ENDS = [OperationAction.SUCCEED, OperationAction.FAIL]

names = st.sampled_from([None, "n1", "n2"])
parents = st.sampled_from([None, None, "ctx", "a", "zz"])
sub_types = st.sampled_from([None, "Step", "Map"])
replays = st.sampled_from([None, True, False])
errors = st.sampled_from([None, ErrorObject(message="boom", type="E")])


@st.composite
def _update(draw: st.DrawFn, /, op_id: str | None = None, **fixed: Any) -> OperationUpdate:
    op_type = fixed.pop("type", None) or draw(st.sampled_from(TYPES))
    action = fixed.pop("action", None) or draw(st.sampled_from(list(OperationAction)))
    fields: dict[str, Any] = {
        "parent_id": draw(parents),
        "name": draw(names),
        "sub_type": draw(sub_types),
        "payload": draw(st.sampled_from([None, '"ok"']))
        if action is not OperationAction.FAIL
        else None,
        "error": draw(errors) if action is OperationAction.FAIL else None,
    }
    if op_type is OperationType.CONTEXT:
        fields["replay_children"] = draw(replays)
    if op_type is OperationType.WAIT and action is OperationAction.START:
        fields["wait_seconds"] = 5
    if op_type is OperationType.STEP and action is OperationAction.RETRY:
        fields["next_attempt_delay_seconds"] = 3
    fields.update(fixed)
    return OperationUpdate(op_id or draw(st.sampled_from(IDS)), op_type, action, **fields)


@st.composite
def _pair(draw: st.DrawFn) -> list[OperationUpdate]:
    """A START and its completion, of one id and type, with matching fields or not."""
    op_id = draw(st.sampled_from(IDS))
    op_type = draw(st.sampled_from(TYPES[:2]))
    started = draw(_update(op_id, type=op_type, action=OperationAction.START))
    ended = draw(_update(op_id, type=op_type, action=draw(st.sampled_from(ENDS))))
    if draw(st.booleans()):  # the same identity, as the SDK sends it
        ended = OperationUpdate(
            op_id,
            op_type,
            ended.action,
            parent_id=draw(st.sampled_from([None, started.parent_id])),
            name=draw(st.sampled_from([None, started.name])),
            sub_type=draw(st.sampled_from([None, started.sub_type])),
            payload=ended.payload,
            error=ended.error,
            replay_children=ended.replay_children,
        )
    return [started, ended]


calls = st.lists(
    st.one_of(_pair(), _pair(), st.lists(_update(), min_size=1, max_size=2)), max_size=4
).map(lambda chunks: [u for chunk in chunks for u in chunk])


def _outcome(
    engine: Engine, store: MemoryStore, arn: str, token: str, updates: list[OperationUpdate]
) -> Any:
    """The answer (or error), and what the engine and its store then hold."""
    try:
        result = engine.checkpoint(arn, token, updates)
    except ServiceError as exc:
        answer: Any = (exc.code, exc.message)
    else:
        answer = result.new_state.operations
    [stored] = store.load()
    seen = (answer, engine.operations(arn), engine.events(arn), stored.operations, stored.events)
    # Each execution has its own ARN and EXECUTION id: the rest must be equal.
    execution_id = engine.operations(arn)[0].id
    return repr(seen).replace(arn, "ARN").replace(execution_id, "EXECUTION-ID")


@settings(max_examples=400, deadline=None)
@given(first=calls, second=calls)
def test_one_record_for_a_start_and_its_end_changes_nothing_seen(
    first: list[OperationUpdate], second: list[OperationUpdate]
) -> None:
    outcomes = []
    for table in (checkpoints.START_AND_END, {}):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(checkpoints, "START_AND_END", table)
            engine, _, store = make_engine(clock=ManualClock())
            arn, token, _ = start(engine, execution_name="same")
            seen = [_outcome(engine, store, arn, token, first)]
            token = engine.record(arn).checkpoint_token
            seen.append(_outcome(engine, store, arn, token, second))
            outcomes.append(seen)
    assert outcomes[0] == outcomes[1]
