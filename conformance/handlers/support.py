"""Small pieces several conformance handlers share: errors, serializers, crash markers."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from trio_durable.serialization import DEFAULT_SERIALIZER

STATE_DIR_ENV_VAR = "TRIO_DURABLE_CONFORMANCE_STATE_DIR"


class TransientError(Exception):
    """The error the retry-on-specific-exception requirements (1-15, 1-16) raise."""


class UppercaseSerializer:
    """JSON, with every string value upper-cased on the way out (1-6)."""

    def serialize(self, value: Any) -> str | None:
        return DEFAULT_SERIALIZER.serialize(_upper(value))

    def deserialize(self, payload: str | None) -> Any:
        return DEFAULT_SERIALIZER.deserialize(payload)


class RawUppercaseSerializer:
    """Records a string upper-cased as raw text, not JSON (3-14 expects ``HELLO CHILD``)."""

    def serialize(self, value: Any) -> str | None:
        return None if value is None else str(value).upper()

    def deserialize(self, payload: str | None) -> Any:
        return payload


class TimestampedMessageSerializer:
    """Reads ``{"id", "message", "timestamp": ISO-8601}`` into epoch seconds (4-15)."""

    def serialize(self, value: Any) -> str | None:
        return DEFAULT_SERIALIZER.serialize(value)

    def deserialize(self, payload: str | None) -> Any:
        raw = DEFAULT_SERIALIZER.deserialize(payload)
        stamp = datetime.fromisoformat(str(raw["timestamp"]).replace("Z", "+00:00"))
        return {"id": raw["id"], "message": raw["message"], "timestamp": int(stamp.timestamp())}


class NumberSerializer:
    """Reads the callback payload as a number (4-16)."""

    def serialize(self, value: Any) -> str | None:
        return None if value is None else str(value)

    def deserialize(self, payload: str | None) -> Any:
        if payload is None:
            return None
        text = payload.strip().strip('"')
        return float(text) if "." in text else int(text)


def _upper(value: Any) -> Any:
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, list):
        return [_upper(v) for v in value]
    if isinstance(value, dict):
        return {k: _upper(v) for k, v in value.items()}
    return value


def first_time(key: str) -> bool:
    """True the first time ``key`` is seen on this machine, False ever after.

    Durable state outside the execution, standing in for the DynamoDB table the
    requirements' Lambda handlers use: a marker file per key, created atomically,
    in the folder the runner names (shared by every handler process of a run).
    """
    default = Path(tempfile.gettempdir()) / "trio-durable-conformance-markers"
    folder = Path(os.environ.get(STATE_DIR_ENV_VAR) or default)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / key.replace("/", "_").replace(":", "_")
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def wait_for_event(execution_arn: str, event_type: str, *, within: float = 30.0) -> None:
    """Block until the execution's history holds an ``event_type`` event.

    The handler runs in the subprocess invoker's worker, whose environment points
    boto3 at the service (``AWS_ENDPOINT_URL_LAMBDA``), as on Lambda. An
    at-least-once step's START is checkpointed without waiting, so a step that
    must crash only once its START is recorded waits for it here.
    """
    import boto3

    client = boto3.client("lambda")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        history = client.get_durable_execution_history(DurableExecutionArn=execution_arn)
        if any(e.get("EventType") == event_type for e in history.get("Events", [])):
            return
        time.sleep(0.05)
    raise TimeoutError(f"no {event_type} event in {execution_arn} after {within} s")
