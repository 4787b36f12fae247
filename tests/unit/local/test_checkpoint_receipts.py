"""The receipt of the last checkpoint call made with a ClientToken: a retry with
the same body gets the same answer, another body or CheckpointToken is refused,
on the memory and the SQLite store, before and after the engine restarts. The
body is digested only when needed, and the digest written to files is the one
earlier versions wrote (so their files still compare)."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from local_engine_helpers import (
    FUNCTION,
    ManualClock,
    event_types,
    start,
    step_start,
    step_succeed,
    upd,
)

from trio_durable.errors import ServiceError
from trio_durable.local import store as store_module
from trio_durable.local.engine import Engine
from trio_durable.local.sqlite_store import SQLiteStore
from trio_durable.local.store import (
    CheckpointBody,
    CheckpointReceipt,
    ExecutionChange,
    MemoryStore,
    Store,
    body_digest,
)
from trio_durable.wire import (
    CheckpointResult,
    ErrorObject,
    OperationAction,
    OperationType,
    OperationUpdate,
    StatePage,
)

# Digests computed by the engine before bodies were digested lazily (commit
# 4de8bdd): files written then hold these, and must still compare equal.
PINNED = [
    (
        [
            OperationUpdate("s1", OperationType.STEP, OperationAction.START, name="first"),
            OperationUpdate("s1", OperationType.STEP, OperationAction.SUCCEED, payload='"ok"'),
        ],
        "924bc06dfc18a8aacaf1db2b5761e175",
    ),
    (
        [
            OperationUpdate(
                "s1",
                OperationType.STEP,
                OperationAction.FAIL,
                error=ErrorObject(message="boom", type="E", stack_trace=("a", "b")),
            )
        ],
        "05675c00b25d315bfe9756d667c782fd",
    ),
]


@pytest.mark.parametrize(("updates", "digest"), PINNED)
def test_the_digest_is_the_one_earlier_files_hold(
    updates: list[OperationUpdate], digest: str
) -> None:
    assert body_digest("tok-1", updates) == digest
    assert CheckpointBody("tok-1", updates).digest() == digest
    assert CheckpointBody("tok-1", tuple(updates)).digest() == digest


def test_bodies_compare_by_content() -> None:
    updates, _ = PINNED[0]
    assert CheckpointBody("tok-1", updates) == CheckpointBody("tok-1", list(updates))
    assert CheckpointBody("tok-1", updates) != CheckpointBody("tok-2", updates)
    assert CheckpointBody("tok-1", updates) != CheckpointBody("tok-1", updates[:1])


def test_a_body_kept_undigested_is_not_changed_by_its_caller_list() -> None:
    updates, digest = PINNED[0]
    given = list(updates)
    body = CheckpointBody("tok-1", given)
    given.append(step_start("other"))  # the caller reuses its list
    assert body.digest() == digest


def test_a_receipt_answers_its_own_call_only() -> None:
    updates, digest = PINNED[0]
    result = CheckpointResult("tok-2", StatePage(()))
    for body in (CheckpointBody("tok-1", updates), digest):
        receipt = CheckpointReceipt("ct", "tok-1", result, body)
        assert receipt.answers("tok-1", updates)
        assert receipt.answers("tok-1", tuple(updates))
        assert not receipt.answers("tok-1", updates[:1])
        assert not receipt.answers("tok-0", updates)
        assert receipt.digest() == digest
    # A receipt from a file written before bodies were kept matches any body.
    old = CheckpointReceipt("ct", "tok-1", result)
    assert old.answers("tok-1", updates[:1]) and not old.answers("tok-0", updates)
    assert old.digest() is None


class _State:
    """One test's store, opened again as a restarted service opens it: the same
    MemoryStore (state outlives the engine, not the process), or the same file."""

    def __init__(self, kind: str, path: Path) -> None:
        self.kind = kind
        self.path = path
        self.store: Store | None = None

    def open(self) -> Store:
        if self.kind == "memory":
            self.store = self.store or MemoryStore()
        else:
            self.close()
            self.store = SQLiteStore(self.path)
        return self.store

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


@pytest.fixture(params=["memory", "sqlite"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_State]:
    opened = _State(request.param, tmp_path / "state.db")
    yield opened
    opened.close()


def _engine(store: Store, clock: ManualClock) -> Engine:
    engine = Engine(store=store, clock=clock)
    engine.functions.add(FUNCTION)
    return engine


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
def test_a_retry_is_answered_once_and_another_body_refused(state: _State, restart: bool) -> None:
    clock = ManualClock()
    engine = _engine(state.open(), clock)
    arn, token, _ = start(engine)
    body = [step_start(), step_succeed()]
    first = engine.checkpoint(arn, token, body, client_token="call-1")
    if restart:
        engine = _engine(state.open(), clock)
    history = event_types(engine, arn)
    for other_token, other_body in (
        (token, [step_start()]),
        (token, [step_start(), step_succeed(payload='"other"')]),
        (first.checkpoint_token, body),
    ):
        with pytest.raises(ServiceError) as refused:
            engine.checkpoint(arn, other_token, other_body, client_token="call-1")
        assert refused.value.code == "InvalidParameterValueException"
        assert refused.value.message == (
            "ClientToken: 'call-1' was already used for a checkpoint"
            " with another CheckpointToken or other Updates"
        )
    assert engine.checkpoint(arn, token, list(body), client_token="call-1") == first
    assert engine.checkpoint(arn, token, tuple(body), client_token="call-1") == first
    assert event_types(engine, arn) == history
    assert history.count("StepSucceeded") == 1
    if not restart:  # (a restart ends the invocation, and its token with it)
        # The next call, with a new ClientToken, goes on from the answer's token.
        wait = upd("w", "WAIT", "START", wait_seconds=5)
        engine.checkpoint(arn, first.checkpoint_token, [wait], client_token="call-2")
        assert event_types(engine, arn)[-1] == "WaitStarted"


def test_the_file_holds_the_digest_of_the_body(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    engine = _engine(store, ManualClock())
    arn, token, _ = start(engine)
    body = [step_start(), step_succeed()]
    engine.checkpoint(arn, token, body, client_token="call-1")
    store.close()
    with closing(sqlite3.connect(tmp_path / "state.db")) as conn:
        rows = [orjson.loads(record) for (record,) in conn.execute("SELECT record FROM executions")]
    [receipt] = [row["last_checkpoint"] for row in rows]
    assert receipt["client_token"] == "call-1" and receipt["checkpoint_token"] == token
    assert receipt["body"] == body_digest(token, body)
    assert set(receipt) == {"client_token", "checkpoint_token", "result", "body"}


def test_the_updates_are_let_go_once_the_execution_ends() -> None:
    engine = _engine(MemoryStore(), ManualClock())
    arn, token, request_id = start(engine)
    ended = step_succeed()
    engine.checkpoint(arn, token, [step_start(), ended], client_token="call-1")
    held = sys.getrefcount(ended)  # the receipt holds the call's updates
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED", "Result": '"done"'})
    assert engine.is_closed(arn)
    assert sys.getrefcount(ended) == held - 1


def test_the_end_lets_the_updates_go_without_digesting_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The digest costs about 2 us per update, and an ended execution answers no
    # checkpoint: its last call's body is dropped, not digested.
    digests: list[str] = []

    def counted(checkpoint_token: str, updates: Sequence[OperationUpdate]) -> str:
        digests.append(checkpoint_token)
        return body_digest(checkpoint_token, updates)

    monkeypatch.setattr(store_module, "body_digest", counted)
    engine = _engine(MemoryStore(), ManualClock())
    arn, token, request_id = start(engine)
    engine.checkpoint(arn, token, [step_start(), step_succeed()], client_token="call-1")
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED", "Result": '"done"'})
    assert engine.is_closed(arn)
    assert digests == []


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
def test_an_ended_execution_refuses_a_retry_of_its_last_call(state: _State, restart: bool) -> None:
    clock = ManualClock()
    engine = _engine(state.open(), clock)
    arn, token, request_id = start(engine)
    body = [step_start(), step_succeed()]
    engine.checkpoint(arn, token, body, client_token="call-1")
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED", "Result": '"done"'})
    if restart:
        engine = _engine(state.open(), clock)
    history = event_types(engine, arn)
    with pytest.raises(ServiceError) as refused:
        engine.checkpoint(arn, token, body, client_token="call-1")
    assert refused.value.code == "InvalidParameterValueException"
    assert event_types(engine, arn) == history
    assert history[-1] == "ExecutionSucceeded"


def test_a_receipt_an_earlier_version_kept_with_an_ended_execution_still_answers(
    state: _State,
) -> None:
    clock = ManualClock()
    store = state.open()
    engine = _engine(store, clock)
    arn, token, request_id = start(engine)
    body = [step_start(), step_succeed()]
    first = engine.checkpoint(arn, token, body, client_token="call-1")
    stored = store.load_execution(arn)
    assert stored is not None and stored.execution.last_checkpoint is not None
    receipt = stored.execution.last_checkpoint
    engine.finish_invocation(arn, request_id, {"Status": "SUCCEEDED", "Result": '"done"'})
    # Earlier versions kept the receipt when the execution ended: store it so.
    ended = store.load_execution(arn)
    assert ended is not None and ended.execution.last_checkpoint is None
    store.write([ExecutionChange(replace(ended.execution, last_checkpoint=receipt))])
    engine = _engine(state.open(), clock)
    assert engine.checkpoint(arn, token, body, client_token="call-1") == first


def test_a_store_that_writes_the_receipt_digests_it_at_once(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    engine = _engine(store, ManualClock())
    arn, token, _ = start(engine)
    ended = step_succeed()
    before = sys.getrefcount(ended)
    engine.checkpoint(arn, token, [step_start(), ended], client_token="call-1")
    assert sys.getrefcount(ended) == before  # written as its digest: no update kept
    store.close()
