"""What a ``parallel`` or ``map`` batch returns, and when it is complete (sans-IO).

``BatchResult`` holds one ``BatchItem`` per started branch, in index order:
SUCCEEDED with its result, FAILED with its recorded ``ErrorObject``, or STARTED
(still running when the batch completed, so cancelled). Branches never
started are absent. ``decide`` is the completion rule as a pure function of
the counts, so it is tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from trio_durable.config import CompletionConfig
from trio_durable.errors import ChildContextError, SerializationError
from trio_durable.runtime.failures import rebuild
from trio_durable.wire import ErrorObject, error_from_wire, error_to_wire

T = TypeVar("T")


class BatchItemStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STARTED = "STARTED"


class CompletionReason(StrEnum):
    """Why a batch completed."""

    ALL_COMPLETED = "ALL_COMPLETED"
    MIN_SUCCESSFUL_REACHED = "MIN_SUCCESSFUL_REACHED"
    FAILURE_TOLERANCE_EXCEEDED = "FAILURE_TOLERANCE_EXCEEDED"


def tolerance_exceeded(config: CompletionConfig, failed: int, total: int) -> bool:
    """Whether ``failed`` failures out of ``total`` branches stop the batch."""
    count, pct = config.tolerated_failure_count, config.tolerated_failure_percentage
    if count is None and pct is None and config.min_successful is None:
        return failed > 0  # no criteria: the first failure stops it
    if count is not None and failed > count:
        return True
    return pct is not None and total > 0 and failed * 100 / total > pct


def decide(
    config: CompletionConfig, *, total: int, succeeded: int, failed: int
) -> CompletionReason | None:
    """The reason the batch is complete with these counts, or ``None`` while it is not."""
    if tolerance_exceeded(config, failed, total):
        return CompletionReason.FAILURE_TOLERANCE_EXCEEDED
    if succeeded + failed >= total:
        return CompletionReason.ALL_COMPLETED
    if config.min_successful is not None and succeeded >= config.min_successful:
        return CompletionReason.MIN_SUCCESSFUL_REACHED
    return None


@dataclass(frozen=True, slots=True)
class BatchItem(Generic[T]):
    """One started branch: its index, status, and result (a ``T``; ``None`` unless
    it succeeded) or error."""

    index: int
    status: BatchItemStatus
    result: T | None = None
    error: ErrorObject | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status.value,
            "result": self.result,
            "error": None if self.error is None else error_to_wire(self.error),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchItem[Any]:
        return cls(
            index=data["index"],
            status=BatchItemStatus(data["status"]),
            result=data.get("result"),
            error=error_from_wire(data.get("error")),
        )


@dataclass(frozen=True, slots=True)
class BatchResult(Generic[T]):
    """The outcome of a ``parallel`` or ``map`` whose branches return ``T``: started
    branches in index order."""

    items: tuple[BatchItem[T], ...]
    completion_reason: CompletionReason

    def succeeded(self) -> list[BatchItem[T]]:
        return [item for item in self.items if item.status is BatchItemStatus.SUCCEEDED]

    def failed(self) -> list[BatchItem[T]]:
        return [item for item in self.items if item.status is BatchItemStatus.FAILED]

    def started(self) -> list[BatchItem[T]]:
        """Branches still running when the batch completed."""
        return [item for item in self.items if item.status is BatchItemStatus.STARTED]

    def results(self) -> list[T]:
        """The results of the succeeded branches, in index order."""
        return [item.result for item in self.succeeded()]  # type: ignore[misc]

    def errors(self) -> list[ErrorObject]:
        """The recorded errors of the failed branches, in index order."""
        return [item.error for item in self.failed() if item.error is not None]

    @property
    def has_failure(self) -> bool:
        return any(item.status is BatchItemStatus.FAILED for item in self.items)

    @property
    def status(self) -> BatchItemStatus:
        """FAILED if any branch failed, else SUCCEEDED."""
        return BatchItemStatus.FAILED if self.has_failure else BatchItemStatus.SUCCEEDED

    @property
    def success_count(self) -> int:
        return len(self.succeeded())

    @property
    def failure_count(self) -> int:
        return len(self.failed())

    @property
    def total_count(self) -> int:
        """Branches started (never-started ones are not counted)."""
        return len(self.items)

    def throw_if_error(self) -> None:
        """Raise the first failed branch's error (``ChildContextError``, rebuilt)."""
        for item in self.failed():
            raise rebuild(item.error, ChildContextError)

    def to_dict(self) -> dict[str, Any]:
        return {
            "all": [item.to_dict() for item in self.items],
            "completionReason": self.completion_reason.value,
        }

    @classmethod
    def from_dict(cls, data: Any) -> BatchResult[Any]:
        try:
            return cls(
                items=tuple(BatchItem.from_dict(item) for item in data["all"]),
                completion_reason=CompletionReason(data["completionReason"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SerializationError(f"a recorded batch result is malformed: {exc!r}") from exc
