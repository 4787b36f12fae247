"""The stress suites' fault injector and report (against a one-piece in-memory service)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
import trio

from stress.clients import Fault, FaultInjectingClient, RecordingClient, updates_wire_size
from stress.report import Report
from trio_durable.errors import ServiceError
from trio_durable.wire import (
    CheckpointResult,
    OperationAction,
    OperationType,
    OperationUpdate,
    StatePage,
)

UPDATE = OperationUpdate(id="a", type=OperationType.STEP, action=OperationAction.START)


class CountingService:
    """Applies every call it receives and answers token ``t<n>``; refuses unknown tokens."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, tuple[OperationUpdate, ...]]] = []

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        await trio.lowlevel.checkpoint()
        if checkpoint_token.startswith("revoked-"):
            raise ServiceError("InvalidParameterValueException", "Invalid checkpoint token")
        self.applied.append((checkpoint_token, tuple(updates)))
        return CheckpointResult(f"t{len(self.applied)}", StatePage(()))

    async def get_execution_state(
        self, execution_arn: str, checkpoint_token: str, *, marker: str | None = None
    ) -> StatePage:
        await trio.lowlevel.checkpoint()
        return StatePage(())


async def test_lost_response_is_applied_then_fails_retryably() -> None:
    service = CountingService()
    client = FaultInjectingClient(service, random.Random(0), rate=1.0, faults=[Fault.LOST_RESPONSE])
    with pytest.raises(ServiceError) as info:
        await client.checkpoint("arn", "t0", [UPDATE], client_token="c1")
    assert info.value.retryable
    assert service.applied == [("t0", (UPDATE,))]
    assert [(c.client_token, c.fault, c.answer_token) for c in client.calls] == [
        ("c1", Fault.LOST_RESPONSE, "t1")
    ]


async def test_revoked_token_reaches_the_service_and_is_refused_there() -> None:
    service = CountingService()
    client = FaultInjectingClient(service, random.Random(0), rate=1.0, faults=[Fault.REVOKED_TOKEN])
    with pytest.raises(ServiceError) as info:
        await client.checkpoint("arn", "t0", [UPDATE])
    assert info.value.code == "InvalidParameterValueException" and not info.value.retryable
    assert service.applied == []


async def test_throttle_never_reaches_the_service_and_consecutive_faults_are_bounded() -> None:
    service = CountingService()
    client = FaultInjectingClient(
        service, random.Random(0), rate=1.0, faults=[Fault.THROTTLE], max_consecutive=2
    )
    outcomes = []
    for _ in range(6):
        try:
            await client.checkpoint("arn", "t0", [UPDATE])
            outcomes.append("ok")
        except ServiceError as exc:
            outcomes.append(exc.code)
    assert outcomes == ["TooManyRequestsException"] * 2 + ["ok"] + [
        "TooManyRequestsException"
    ] * 2 + ["ok"]
    assert len(service.applied) == 2 and client.injected[Fault.THROTTLE] == 4


async def test_state_reads_only_get_faults_that_fit_a_read() -> None:
    client = FaultInjectingClient(
        CountingService(), random.Random(0), rate=1.0, faults=[Fault.LOST_RESPONSE]
    )
    assert await client.get_execution_state("arn", "t0") == StatePage(())
    assert not client.injected


async def test_recording_client_keeps_failed_calls_too() -> None:
    recording = RecordingClient(CountingService())
    await recording.checkpoint("arn", "t0", [UPDATE], client_token="c1")
    with pytest.raises(ServiceError):
        await recording.checkpoint("arn", "revoked-t1", [UPDATE], client_token="c2")
    assert [(c.client_token, c.applied) for c in recording.calls] == [("c1", True), ("c2", False)]
    assert recording.calls[0].wire_bytes == updates_wire_size([UPDATE]) > 0


def test_report_counts_checks_and_keeps_violations() -> None:
    report = Report("r")
    assert report.check(True, "x", "unused")
    assert not report.check(False, "x", "detail")
    assert report.counts["checked: x"] == 2
    assert report.violations == ["x: detail"] and not report.passed
