"""The invocation event's UpdatedOperationIds: the operations that changed outside
the handler since it last saw the state (what plugins report as ended between
invocations)."""

from __future__ import annotations

from local_engine_helpers import FUNCTION, make_engine, only_invocation, upd


def test_an_invocation_names_what_changed_since_the_handler_last_saw_the_state() -> None:
    engine, clock, _ = make_engine()
    arn = engine.start_execution(FUNCTION, '"in"').arn
    first = only_invocation(engine, arn)
    assert first.event["UpdatedOperationIds"] == []  # its own start is no update
    engine.checkpoint(arn, first.checkpoint_token, [upd("w", "WAIT", "START", wait_seconds=30)])
    engine.finish_invocation(arn, first.request_id, {"Status": "PENDING"})
    clock.advance(30)
    assert engine.fire_due_timers() == 1
    second = only_invocation(engine, arn)
    assert second.updated_operation_ids == ("w",)
    assert second.event["UpdatedOperationIds"] == ["w"]
    assert second.paged_event()["UpdatedOperationIds"] == ["w"]

    # A change a checkpoint's answer carried was seen: the next invocation does not repeat it.
    answer = engine.checkpoint(arn, second.checkpoint_token, [upd("cb", "CALLBACK", "START")])
    callback_id = engine.operation(arn, "cb").callback_id
    assert callback_id is not None
    engine.send_callback_success(callback_id, b'"yes"')
    answer = engine.checkpoint(arn, answer.checkpoint_token, [])
    assert [op.id for op in answer.new_state.operations] == ["cb"]
    engine.finish_invocation(arn, second.request_id, {"Status": "PENDING"})
    third = only_invocation(engine, arn)
    assert third.updated_operation_ids == ()
