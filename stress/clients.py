"""Service clients that wrap another: one records every call, one injects faults.

Both implement the SDK's ``ServiceClient`` protocol and forward to the client
they wrap (in the stress runs, the one bound to the real local engine), so the
checks look at what actually reached the service.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import trio

from stress.report import Report
from trio_durable.batcher.client import ServiceClient
from trio_durable.errors import ServiceError
from trio_durable.wire import (
    MAX_CHECKPOINT_BYTES,
    MAX_CHECKPOINT_UPDATES,
    CheckpointResult,
    OperationUpdate,
    StatePage,
    update_to_wire,
)


def updates_wire_size(updates: Sequence[OperationUpdate]) -> int:
    """Bytes of the ``Updates`` list as JSON on the wire."""
    return len(json.dumps([update_to_wire(u) for u in updates]).encode())


@dataclass(frozen=True, slots=True)
class CheckpointCall:
    """One ``checkpoint`` call as it left the SDK, and what became of it."""

    execution_arn: str
    checkpoint_token: str
    client_token: str | None
    updates: tuple[OperationUpdate, ...]
    wire_bytes: int
    applied: bool  # the wrapped client returned normally


def check_calls(report: Report, calls: Sequence[CheckpointCall], prefix: str = "") -> None:
    """Every call within the service's limits (250 updates, 750 KB), counted, with
    the largest call's size; ``prefix`` names the run in counts and violations."""
    for call in calls:
        report.count(f"{prefix}checkpoint calls")
        report.check(
            len(call.updates) <= MAX_CHECKPOINT_UPDATES,
            "call within 250 updates",
            f"{prefix}a call carried {len(call.updates)} updates",
        )
        report.check(
            call.wire_bytes <= MAX_CHECKPOINT_BYTES,
            "call within 750 KB",
            f"{prefix}a call carried {call.wire_bytes} bytes",
        )
    report.counts[f"{prefix}largest call (updates)"] = max(
        (len(c.updates) for c in calls), default=0
    )
    report.counts[f"{prefix}largest call (KB)"] = (
        max((c.wire_bytes for c in calls), default=0) // 1024
    )


class RecordingClient:
    """Forwards to ``inner`` and keeps every checkpoint call in ``calls``."""

    def __init__(self, inner: ServiceClient) -> None:
        self._inner = inner
        self.calls: list[CheckpointCall] = []

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        applied = False
        try:
            result = await self._inner.checkpoint(
                execution_arn, checkpoint_token, updates, client_token=client_token
            )
            applied = True
            return result
        finally:
            self.calls.append(
                CheckpointCall(
                    execution_arn,
                    checkpoint_token,
                    client_token,
                    tuple(updates),
                    updates_wire_size(updates),
                    applied,
                )
            )

    async def get_execution_state(
        self, execution_arn: str, checkpoint_token: str, *, marker: str | None = None
    ) -> StatePage:
        return await self._inner.get_execution_state(execution_arn, checkpoint_token, marker=marker)


class Fault(StrEnum):
    THROTTLE = "throttle"  # 429 TooManyRequestsException, nothing applied
    SERVER_ERROR = "server-error"  # 500 ServiceException, nothing applied
    TIMEOUT = "timeout"  # the call hangs, then times out; nothing applied
    LOST_RESPONSE = "lost-response"  # applied by the service, answer lost (a 5xx)
    REVOKED_TOKEN = "revoked-token"  # the service no longer accepts the token


TIMEOUT_SECONDS = 50.0  # boto3's read timeout in the SDK's client; virtual in stress runs
_STATE_FAULTS = (Fault.THROTTLE, Fault.SERVER_ERROR, Fault.TIMEOUT)


@dataclass(frozen=True, slots=True)
class FaultyCall:
    """One checkpoint call through the fault injector: the fault it got, and the
    checkpoint token the service answered with (``None`` if it refused or was
    never reached)."""

    client_token: str | None
    fault: Fault | None
    answer_token: str | None


class FaultInjectingClient:
    """Forwards to ``inner``, failing calls as ``rng`` decides.

    Each checkpoint call fails with probability ``rate``, with a fault drawn from
    ``faults``; at most ``max_consecutive`` calls in a row fail, so the SDK's
    bounded retries can get through. A revoked token is sent to the real
    service with a token it never issued, so the refusal is the engine's own.
    ``injected`` counts what was done; ``calls`` logs every checkpoint call.
    """

    def __init__(
        self,
        inner: ServiceClient,
        rng: random.Random,
        *,
        rate: float,
        faults: Sequence[Fault] = tuple(Fault),
        max_consecutive: int = 2,
    ) -> None:
        self._inner = inner
        self._rng = rng
        self._rate = rate
        self._faults = tuple(faults)
        self._max_consecutive = max_consecutive
        self._consecutive = 0
        self.injected: Counter[Fault] = Counter()
        self.calls: list[FaultyCall] = []

    def _draw(self, allowed: Sequence[Fault]) -> Fault | None:
        choices = [f for f in self._faults if f in allowed]
        if (
            not choices
            or self._consecutive >= self._max_consecutive
            or self._rng.random() >= self._rate
        ):
            self._consecutive = 0
            return None
        self._consecutive += 1
        fault = self._rng.choice(choices)
        self.injected[fault] += 1
        return fault

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        fault = self._draw(tuple(Fault))
        answer: str | None = None
        try:
            if fault is Fault.REVOKED_TOKEN:
                checkpoint_token = f"revoked-{checkpoint_token}"
            elif fault is not None and fault is not Fault.LOST_RESPONSE:
                raise await _failure(fault)
            result = await self._inner.checkpoint(
                execution_arn, checkpoint_token, updates, client_token=client_token
            )
            answer = result.checkpoint_token
            if fault is Fault.LOST_RESPONSE:
                raise await _failure(fault)
            return result
        finally:
            self.calls.append(FaultyCall(client_token, fault, answer))

    async def get_execution_state(
        self, execution_arn: str, checkpoint_token: str, *, marker: str | None = None
    ) -> StatePage:
        fault = self._draw(_STATE_FAULTS)
        if fault is not None:
            raise await _failure(fault)
        return await self._inner.get_execution_state(execution_arn, checkpoint_token, marker=marker)


async def _failure(fault: Fault) -> ServiceError:
    if fault is Fault.THROTTLE:
        return ServiceError("TooManyRequestsException", "Rate exceeded (injected)")
    if fault is Fault.TIMEOUT:
        await trio.sleep(TIMEOUT_SECONDS)
        return ServiceError("ServiceException", "Read timeout on endpoint (injected)")
    return ServiceError("ServiceException", f"Internal failure (injected {fault})")
