"""Store write failures: a real ``trio-durable serve`` whose disk fills up and
frees again at random while runs of ``mixed`` go on.

The service process's file size limit drops to 0 in random windows (every write
it makes to a file then fails, as on a full disk: its SQLite store, and the
handlers' side-effect log too), from a few tens of milliseconds to, once, longer
than the SDK retries a checkpoint. The driver starts the runs and completes
their callbacks over HTTP with boto3, retrying a refused request as any client
would. Every run must end as an unfaulted one does (result, each operation
completed once, no at-most-once attempt run twice), the service must stay up
and print no traceback, and after a restart on the same file every execution and
history must read back the same, in a file SQLite finds intact.
"""

from __future__ import annotations

import json
import random
import resource
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from stress.driver import check_finished_run
from stress.report import Report
from stress.served import Served, served
from stress.workflows import callback_payload

T = TypeVar("T")
TARGET = "stress.workflows:mixed"
ROUNDS = 2
RUN_TIMEOUT_SECONDS = 240


@contextmanager
def _disk(pid: int) -> Iterator[Callable[[bool], None]]:
    """``full(True)``: every write of process ``pid`` to a file fails (its file size
    limit is 0: EFBIG); ``full(False)``: writes work again (also at the end)."""
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)

    def full(on: bool) -> None:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (0 if on else soft, hard))

    try:
        yield full
    finally:
        full(False)


class _DiskFiller(threading.Thread):
    """Fills and frees the service's disk at random until stopped; the second
    window is longer than the SDK's retries of a checkpoint (about 3 s)."""

    def __init__(self, full: Callable[[bool], None], rng: random.Random, report: Report):
        super().__init__(daemon=True)
        self._full = full
        self._rng = rng
        self._report = report
        self._stopping = threading.Event()

    def run(self) -> None:
        window = 0
        while not self._stopping.wait(self._rng.uniform(0.1, 0.5)):
            seconds = 4.0 if window == 1 else self._rng.uniform(0.02, 0.6)
            self._full(True)
            self._report.count("disk-full windows")
            stopped = self._stopping.wait(seconds)
            self._full(False)
            window += 1
            if stopped:
                return

    def stop(self) -> None:
        self._stopping.set()
        self.join()


class _Driver:
    """The outside world of the runs: boto3 calls, each retried while the service
    answers ServiceException (its store refused the write) or too many requests."""

    def __init__(self, server: Served, report: Report) -> None:
        import boto3
        from botocore.config import Config

        self.report = report
        self.client = boto3.client(
            "lambda",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 1}, read_timeout=60),
        )

    def call(self, fn: Callable[..., T], **params: Any) -> T:
        from botocore.exceptions import ClientError

        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        while True:
            try:
                return fn(**params)
            except ClientError as exc:
                error = exc.response["Error"]
                if error["Code"] not in ("ServiceException", "TooManyRequestsException"):
                    raise
                if time.monotonic() > deadline:
                    raise
                if error["Code"] == "ServiceException":
                    self.report.count("requests refused while the disk was full")
                    self.report.check(
                        "nothing was written" in error["Message"]
                        and "cannot rollback" not in error["Message"],
                        "a refused write names its cause and changed nothing",
                        error["Message"],
                    )
                time.sleep(0.05)

    def events(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        params: dict[str, Any] = {"DurableExecutionArn": arn}
        while True:
            page = self.call(self.client.get_durable_execution_history, **params)
            events.extend(page["Events"])
            if not page.get("NextMarker"):
                return events
            params["Marker"] = page["NextMarker"]

    def complete_callbacks(self, events: list[dict[str, Any]], done: set[str]) -> None:
        for event in events:
            if event["EventType"] != "CallbackStarted":
                continue
            callback_id = event["CallbackStartedDetails"]["CallbackId"]
            if callback_id not in done:
                self.call(
                    self.client.send_durable_execution_callback_success,
                    CallbackId=callback_id,
                    Result=callback_payload(event["Name"]).encode(),
                )
                done.add(callback_id)


def _drive(report: Report, server: Served, runs: int, logs: Path, seed: int) -> dict[str, int]:
    """Start ``runs`` runs under a filling disk, see them through, check each;
    returns the length of each run's history."""
    driver = _Driver(server, report)
    with _disk(server.process.pid) as full:
        filler = _DiskFiller(full, random.Random(seed), report)
        filler.start()
        try:
            arns = {
                driver.call(
                    driver.client.invoke,
                    FunctionName="mixed",
                    InvocationType="Event",
                    Payload=json.dumps({"rounds": ROUNDS, "log": str(logs / f"run-{i}.log")}),
                )["DurableExecutionArn"]: logs / f"run-{i}.log"
                for i in range(runs)
            }
            ended = _see_through(driver, arns)
        finally:
            filler.stop()
    lengths = {}
    for arn, (execution, events) in ended.items():
        check_finished_run(report, arn[-8:], execution, events, ROUNDS, arns[arn], None)
        lengths[arn] = len(events)
    report.check(len(ended) == runs, "every run ends", f"{runs - len(ended)} still running")
    return lengths


def _see_through(
    driver: _Driver, arns: dict[str, Path]
) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    done: set[str] = set()
    ended: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while len(ended) < len(arns) and time.monotonic() < deadline:
        for arn in arns:
            if arn in ended:
                continue
            events = driver.events(arn)
            driver.complete_callbacks(events, done)
            execution = driver.call(driver.client.get_durable_execution, DurableExecutionArn=arn)
            if execution["Status"] != "RUNNING":
                ended[arn] = (execution, driver.events(arn))
        time.sleep(0.05)
    return ended


def _check_restart(report: Report, store: Path, lengths: dict[str, int]) -> None:
    """The file, read again by a fresh service: every run ended, same histories."""
    with served("--store", f"sqlite:{store}", "--function", f"mixed={TARGET}") as again:
        driver = _Driver(again, report)
        for arn, length in lengths.items():
            execution = driver.client.get_durable_execution(DurableExecutionArn=arn)
            report.check(
                execution["Status"] == "SUCCEEDED",
                "after a restart every run is still SUCCEEDED",
                f"{arn[-8:]}: {execution['Status']}",
            )
            report.check(
                len(driver.events(arn)) == length,
                "after a restart every history reads back whole",
                f"{arn[-8:]}: {len(driver.events(arn))} events, not {length}",
            )
        again.stop()
    conn = sqlite3.connect(store)
    try:
        (verdict,) = conn.execute("PRAGMA integrity_check").fetchone()
    finally:
        conn.close()
    report.check(verdict == "ok", "SQLite finds the file intact", verdict)


def run(*, quick: bool, seed: int) -> Report:
    runs = 2 if quick else 20
    report = Report(
        f"store write failures: {runs} runs of 'mixed' x {ROUNDS}, the disk full at random"
    )
    with tempfile.TemporaryDirectory(prefix="stress-store-") as tmp:
        store = Path(tmp) / "state.db"
        with served("--store", f"sqlite:{store}", "--function", f"mixed={TARGET}") as server:
            lengths = _drive(report, server, runs, Path(tmp), seed)
            report.check(server.alive(), "the service stays up", "it exited")
            status = server.stop()
        report.check(status == 0, "the service stops cleanly on SIGTERM", f"exit status {status}")
        report.check(
            not any("Traceback" in line for line in server.stderr),
            "the service prints no traceback",
            "".join(server.stderr)[-2000:],
        )
        report.count(
            "times the service said its store refused a write",
            sum("the service retries until it succeeds" in line for line in server.stderr),
        )
        _check_restart(report, store, lengths)
    return report
