"""History files: one execution's recorded operations and history, as JSON.

The format (``"format": "trio-durable-history/1"``) is an object with
``execution`` (``DurableExecutionArn``, ``DurableExecutionName``, ``Status``),
``operations`` (the service model's ``Operation`` shapes, in the order they
were created) and ``events`` (its ``Event`` shapes, ``EventTimestamp`` in epoch
seconds). ``export_history`` reads an execution through boto3, from AWS or from
the local service's HTTP API; ``HistoryFile.load`` and ``dump`` read and write
the files ``trio_durable.testing.replay`` checks new code against.

Operations are rebuilt from the history events: ``GetDurableExecutionState``
needs a checkpoint token, which only a running invocation holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import urlopen

import orjson

from trio_durable.errors import ValidationError
from trio_durable.wire import (
    ErrorObject,
    Operation,
    OperationStatus,
    OperationType,
    error_from_wire,
    operation_from_wire,
    operation_to_wire,
    timestamp_from_wire,
)

__all__ = ["HISTORY_FORMAT", "HistoryFile", "export_history", "operations_from_events"]

HISTORY_FORMAT = "trio-durable-history/1"

_TYPES = {
    "Execution": OperationType.EXECUTION,
    "Context": OperationType.CONTEXT,
    "Wait": OperationType.WAIT,
    "Step": OperationType.STEP,
    "ChainedInvoke": OperationType.CHAINED_INVOKE,
    "Callback": OperationType.CALLBACK,
}
_STATUSES = {
    "Started": OperationStatus.STARTED,
    "Succeeded": OperationStatus.SUCCEEDED,
    "Failed": OperationStatus.FAILED,
    "TimedOut": OperationStatus.TIMED_OUT,
    "Stopped": OperationStatus.STOPPED,
    "Cancelled": OperationStatus.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class HistoryFile:
    """One execution's record: what ``export_history`` writes and ``replay`` reads."""

    execution_arn: str
    execution_name: str | None
    status: str
    operations: tuple[Operation, ...]
    events: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": HISTORY_FORMAT,
            "execution": {
                "DurableExecutionArn": self.execution_arn,
                "DurableExecutionName": self.execution_name,
                "Status": self.status,
            },
            "operations": [operation_to_wire(op) for op in self.operations],
            "events": list(self.events),
        }

    def dump(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_bytes(orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2) + b"\n")

    @classmethod
    def from_json(cls, data: Any, *, source: str = "history") -> HistoryFile:
        """Parse a history object; ``ValidationError`` names what is wrong."""
        if not isinstance(data, Mapping) or data.get("format") != HISTORY_FORMAT:
            found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise ValidationError(
                f"{source} is not a trio-durable history file (format {found!r}, "
                f"expected {HISTORY_FORMAT!r})"
            )
        try:
            execution = data["execution"]
            return cls(
                execution_arn=str(execution["DurableExecutionArn"]),
                execution_name=execution.get("DurableExecutionName"),
                status=str(execution["Status"]),
                operations=tuple(operation_from_wire(op) for op in data["operations"]),
                events=tuple(data.get("events", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"{source} is a damaged history file: {exc!r}") from exc

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> HistoryFile:
        """Read a history file; ``ValidationError`` for one that is not."""
        try:
            data = orjson.loads(Path(path).read_bytes())
        except orjson.JSONDecodeError as exc:
            raise ValidationError(f"{path} is not JSON: {exc}") from exc
        return cls.from_json(data, source=str(path))


def operations_from_events(events: Iterable[Mapping[str, Any]]) -> tuple[Operation, ...]:
    """The operations a history records, as the service would hold them, in the
    order they were created."""
    ops: dict[str, Operation] = {}
    execution_id: str | None = None
    for event in events:
        kind = str(event["EventType"])
        family = next((f for f in _TYPES if kind.startswith(f)), None)
        op_id = event.get("Id")
        if family == "Execution":
            op_id = execution_id = op_id or execution_id  # only ExecutionStarted has an Id
        if op_id is None or family is None:
            continue  # InvocationCompleted, ...
        phase = kind[len(family) :]
        status = _STATUSES.get(phase)
        if status is None:
            continue
        details: Mapping[str, Any] = event.get(f"{kind}Details") or {}
        when = timestamp_from_wire(event["EventTimestamp"])
        op = ops.get(op_id) or Operation(
            id=op_id,
            type=_TYPES[family],
            status=status,
            start_timestamp=when,
            parent_id=event.get("ParentId"),
            name=event.get("Name"),
            sub_type=event.get("SubType"),
        )
        ops[op_id] = _apply(op, status, details, when)
    return tuple(ops.values())


def _apply(
    op: Operation, status: OperationStatus, details: Mapping[str, Any], when: float
) -> Operation:
    """``op`` after one more of its events."""
    result = _payload(details.get("Result"))
    error = _error(details.get("Error"))
    if op.type is OperationType.EXECUTION:
        if status is OperationStatus.STARTED:
            return replace(op, input_payload=_payload(details.get("Input")))
        return replace(op, status=status, end_timestamp=when, result=result, error=error)
    if status is OperationStatus.STARTED:
        extra: dict[str, Any] = {"status": status}
        if op.type is OperationType.CALLBACK:
            extra["callback_id"] = details.get("CallbackId")
        if op.type is OperationType.WAIT and details.get("ScheduledEndTimestamp") is not None:
            extra["scheduled_end_timestamp"] = timestamp_from_wire(details["ScheduledEndTimestamp"])
        return replace(op, **extra)
    retry = details.get("RetryDetails") or {}
    attempt = retry.get("CurrentAttempt", op.attempt)
    if op.type is OperationType.STEP and retry.get("NextAttemptDelaySeconds") is not None:
        # A retry is scheduled: the attempt's outcome is kept, the step waits.
        return replace(
            op, status=OperationStatus.PENDING, attempt=attempt, result=result, error=error
        )
    replay_children = (
        result is None
        if op.type is OperationType.CONTEXT and status is OperationStatus.SUCCEEDED
        else None
    )
    return replace(
        op,
        status=status,
        end_timestamp=when,
        result=result,
        error=error,
        attempt=attempt,
        replay_children=replay_children if replay_children else op.replay_children,
    )


def _payload(value: Any) -> str | None:
    if isinstance(value, Mapping):
        payload = value.get("Payload")
        return payload if isinstance(payload, str) else None
    return None


def _error(value: Any) -> ErrorObject | None:
    if isinstance(value, Mapping) and isinstance(value.get("Payload"), Mapping):
        return error_from_wire(value["Payload"])
    return None


def export_history(
    execution: str,
    *,
    client: Any = None,
    function_name: str | None = None,
    endpoint_url: str | None = None,
    region_name: str | None = None,
) -> HistoryFile:
    """One execution's history file, read through boto3 (``GetDurableExecution``
    and ``GetDurableExecutionHistory``).

    ``execution`` is an ARN, or an execution name: of ``function_name``, or
    (without it) of any function of the local service.
    ``client`` is a boto3 ``lambda`` client; by default one is made for
    ``endpoint_url`` (the local service's, say) and ``region_name``, with the
    user's credentials.
    """
    if client is None:
        import boto3

        client = boto3.client("lambda", endpoint_url=endpoint_url, region_name=region_name)
    arn = execution if execution.startswith("arn:") else _arn_of(client, execution, function_name)
    described = client.get_durable_execution(DurableExecutionArn=arn, IncludeExecutionData=False)
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"DurableExecutionArn": arn, "IncludeExecutionData": True}
    while True:
        page = client.get_durable_execution_history(**params)
        events.extend(_plain(event) for event in page.get("Events", ()))
        if not page.get("NextMarker"):
            break
        params["Marker"] = page["NextMarker"]
    return HistoryFile(
        execution_arn=arn,
        execution_name=described.get("DurableExecutionName"),
        status=str(described["Status"]),
        operations=operations_from_events(events),
        events=tuple(events),
    )


def _arn_of(client: Any, name: str, function_name: str | None) -> str:
    """The ARN of the execution called ``name``: of ``function_name``, or of any
    function of the local service (its ``GET /local/executions``)."""
    if function_name is None:
        found = _local_executions_named(client.meta.endpoint_url, name)
    else:
        page = client.list_durable_executions_by_function(
            FunctionName=function_name, DurableExecutionName=name
        )
        found = [e["DurableExecutionArn"] for e in page.get("DurableExecutions", ())]
    if not found:
        of = "" if function_name is None else f" of function {function_name!r}"
        raise ValidationError(f"no execution named {name!r}{of}")
    if len(found) > 1:
        raise ValidationError(
            f"{len(found)} executions are named {name!r} (of different functions): "
            "name the function too, or pass the ARN"
        )
    return str(found[0])


def _local_executions_named(endpoint: str, name: str) -> list[str]:
    """ARNs of the local service's executions called ``name``; ``ValidationError``
    when the endpoint is not a trio-durable service (AWS needs the function)."""
    url = f"{endpoint.rstrip('/')}/local/executions?{urlencode({'NameContains': name})}"
    try:
        with urlopen(url, timeout=30) as response:
            page = orjson.loads(response.read())
    except (OSError, ValueError) as exc:
        raise ValidationError(
            f"{name!r} is not an execution ARN, and {endpoint} lists no executions by name "
            f"({exc}): name its function too, or pass the ARN"
        ) from exc
    return [
        str(item["DurableExecutionArn"])
        for item in page.get("DurableExecutions", ())
        if item.get("DurableExecutionName") == name
    ]


def _plain(value: Any) -> Any:
    """A boto3 value made JSON-ready: datetimes become epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items() if key != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
