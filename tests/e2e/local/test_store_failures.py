"""A real ``trio-durable serve`` whose state file stops taking writes (the disk is
full) keeps serving, changes nothing it cannot store, and catches up once there is
room; started on a damaged state file, it says so in one line."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cli_harness import CLI, background
from local_service_harness import WAIT, lambda_client, poll

from trio_durable.local.service import LocalService
from trio_durable.local.sqlite_store import SQLiteStore

GATED = Path(__file__).parent / "handlers" / "gated.py"


@contextmanager
def disk_full(pid: int) -> Iterator[None]:
    """Every write of process ``pid`` to a regular file fails, as on a full disk
    (its file size limit drops to 0: writes fail with EFBIG), until the block ends."""
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, hard))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))


def _serve_args(store: Path) -> list[str]:
    return [
        "serve",
        "--port",
        "0",
        "--store",
        f"sqlite:{store}",
        "--function",
        f"gated={GATED}:gated",
    ]


def _event_types(client: Any, arn: str) -> list[str]:
    events = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    return [event["EventType"] for event in events]


def test_a_full_disk_neither_stops_the_service_nor_loses_an_ending_invocation(
    tmp_path: Path,
) -> None:
    store = tmp_path / "state.db"
    gate = tmp_path / "gate"
    with background(_serve_args(store)) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        client = lambda_client(endpoint)
        payload = json.dumps({"gate": str(gate)}).encode()
        arn = client.invoke(FunctionName="gated", InvocationType="Event", Payload=payload)[
            "DurableExecutionArn"
        ]
        poll("the step to be stored", lambda: "StepSucceeded" in _event_types(client, arn))
        with disk_full(server.process.pid):
            # Inside a request: a modeled error that names the real cause.
            with pytest.raises(ClientError) as refused:
                client.invoke(FunctionName="gated", InvocationType="Event", Payload=payload)
            error = refused.value.response["Error"]
            assert error["Code"] == "ServiceException"
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
            assert str(store) in error["Message"]
            assert "disk I/O error" in error["Message"]
            assert "nothing was written" in error["Message"]
            # The invocation ends while nothing can be stored: the service retries.
            gate.touch()
            server.wait_for_line(
                r"could not save a change: .*; the service retries until it succeeds"
            )
            running = client.get_durable_execution(DurableExecutionArn=arn)
            assert running["Status"] == "RUNNING"  # nothing half-written
            listed = client.list_durable_executions_by_function(FunctionName="gated")
            assert [e["DurableExecutionArn"] for e in listed["DurableExecutions"]] == [arn]
            assert server.process.poll() is None
        server.wait_for_line(r"the store takes writes again")
        done = poll(
            "the execution to end once there is room",
            lambda: (
                (e := client.get_durable_execution(DurableExecutionArn=arn))["Status"] != "RUNNING"
                and e
            ),
        )
        assert done["Status"] == "SUCCEEDED"
        assert json.loads(done["Result"]) == {"first": "stepped"}
        second = client.invoke(FunctionName="gated", InvocationType="Event", Payload=payload)
        poll(
            "a new execution to succeed",
            lambda: (
                client.get_durable_execution(DurableExecutionArn=second["DurableExecutionArn"])[
                    "Status"
                ]
                == "SUCCEEDED"
            ),
        )
        server.process.send_signal(signal.SIGTERM)
        status, _, err = server.finish()
    assert status == 0, err
    assert "Traceback" not in err
    assert err.count("the service retries until it succeeds") == 1  # one line per outage
    assert err.count("the store takes writes again") == 1
    # What the file holds after a restart: both executions, each ended once.
    with background(_serve_args(store)) as again:
        endpoint = again.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        client = lambda_client(endpoint)
        listed = client.list_durable_executions_by_function(FunctionName="gated")
        assert sorted(e["Status"] for e in listed["DurableExecutions"]) == ["SUCCEEDED"] * 2
        types = _event_types(client, arn)
        assert types.count("ExecutionSucceeded") == 1
        assert types.count("InvocationCompleted") == 1
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --- a damaged state file at startup -------------------------------------------------


def _filled_store(path: Path) -> Path:
    """A real state file holding 50 executions (started, never run)."""
    service = LocalService(store=SQLiteStore(path))
    service.register_function("gated", _NeverInvoked())
    for n in range(50):
        service.start_execution("gated", json.dumps({"n": n, "pad": "x" * 400}))
    service.store.close()
    return path


class _NeverInvoked:
    async def invoke(self, request: Any, service: Any) -> Any:
        raise AssertionError("no invocation runs: the service is never run")


def _without_root_file_access() -> None:
    """In the child: as root, give up the capabilities that ignore file permissions,
    so a read-only file is read-only for it (a user's service is not root)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _serve_on(store: Path, command: str = "serve") -> subprocess.CompletedProcess[str]:
    target = [f"{GATED}:gated"] if command == "run" else []
    return subprocess.run(
        [str(CLI), command, *target, "--port", "0", "--store", f"sqlite:{store}"],
        capture_output=True,
        text=True,
        timeout=WAIT,
        preexec_fn=_without_root_file_access,
    )


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garble_a_record(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE executions SET record = ? WHERE rowid = 7", (b"{not json",))
    conn.commit()
    conn.close()


def _make_read_only(path: Path) -> None:
    path.chmod(0o444)


def _make_folder_read_only(path: Path) -> None:
    path.parent.chmod(0o555)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda p: p.write_bytes(os.urandom(64 * 1024)), "is not usable: file is not a database"),
        (_truncate, "is not usable: database disk image is malformed"),
        (_garble_a_record, "is damaged (execution 'arn:aws:lambda:"),
        (_make_read_only, "is not usable: the file is read-only"),
        (_make_folder_read_only, "is not usable: its folder is read-only"),
    ],
    ids=["garbage", "truncated", "garbled-record", "read-only", "read-only-folder"],
)
def test_serve_on_a_damaged_state_file_says_so_in_one_line(
    tmp_path: Path, damage: Any, problem: str
) -> None:
    store = _filled_store(tmp_path / "state" / "state.db")
    damage(store)
    try:
        completed = _serve_on(store)
    finally:
        store.parent.chmod(0o755)
    _assert_one_line(completed, store, problem)


def test_run_on_a_damaged_state_file_says_so_in_one_line(tmp_path: Path) -> None:
    store = tmp_path / "state.db"
    store.write_bytes(b"not a database" * 1000)
    completed = _serve_on(store, "run")
    _assert_one_line(completed, store, "is not usable: file is not a database")


def _assert_one_line(
    completed: subprocess.CompletedProcess[str], store: Path, problem: str
) -> None:
    assert completed.returncode == 2
    assert completed.stdout == ""  # it never started
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(f"trio-durable: error: the state file {str(store)!r} ")
    assert problem in lines[0]
