"""Handler logs for the requirements with ``ExpectedLogs``, without CloudWatch.

In the processes that run handlers, a logging handler appends every record that
carries a durable execution ARN to ``<dir>/<pid>.jsonl`` as one JSON object (the
shape a structured Lambda log line has: ``message``, ``level``, ``timestamp``,
``durableExecutionArn``). The runner gives the validator duck-typed ``logs`` and
``cloudformation`` clients that read those files back, so the validator's own
``CloudWatchLogRetriever`` and ``CloudWatchLogValidator`` run unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

ENV_VAR = "TRIO_DURABLE_CONFORMANCE_LOG_DIR"
# Record attributes that may carry the execution's ARN, most specific first.
ARN_ATTRIBUTES = ("durableExecutionArn", "durable_execution_arn", "execution_arn", "executionArn")

_installed_lock = threading.Lock()
_installed: JsonLinesHandler | None = None


class JsonLinesHandler(logging.Handler):
    """Writes each record that names an execution as one JSON line."""

    def __init__(self, path: Path) -> None:
        super().__init__(level=logging.DEBUG)
        self._file = path.open("a", encoding="utf-8", buffering=1)

    def emit(self, record: logging.LogRecord) -> None:
        arn = execution_arn_of(record)
        if arn is None:
            return
        line = {
            "timestamp": int(record.created * 1000),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "durableExecutionArn": arn,
        }
        self.write_line(line)

    def write_line(self, line: dict[str, Any]) -> None:
        """Append one JSON line (under the handler's lock: handlers may share it)."""
        with self.lock:
            self._file.write(json.dumps(line) + "\n")

    def close(self) -> None:
        self._file.close()
        super().close()


def execution_arn_of(record: logging.LogRecord) -> str | None:
    for name in ARN_ATTRIBUTES:
        value = getattr(record, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def install_from_env() -> None:
    """Capture into the folder named by ``TRIO_DURABLE_CONFORMANCE_LOG_DIR``, if set; once."""
    global _installed
    folder = os.environ.get(ENV_VAR)
    if not folder:
        return
    with _installed_lock:
        if _installed is not None:
            return
        _installed = JsonLinesHandler(Path(folder) / f"{os.getpid()}.jsonl")
        root = logging.getLogger()
        root.addHandler(_installed)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)


def print_json_line(record: dict[str, Any]) -> None:
    """Print ``record`` as one JSON line on stdout, and capture it like a log record.

    Lambda sends a function's plain stdout lines to CloudWatch as they are, so a
    JSON line that names its execution (``durableExecutionArn``) is found by the
    validator's execution-scoped query; this captures it the same way.
    """
    line = json.dumps(record)
    print(line, flush=True)
    with _installed_lock:
        capture = _installed
    if capture is not None and isinstance(record.get("durableExecutionArn"), str):
        capture.write_line({"timestamp": int(time.time() * 1000), **record})


def uninstall() -> None:
    """Remove the handler ``install_from_env`` added (the runner calls this when done)."""
    global _installed
    with _installed_lock:
        if _installed is None:
            return
        logging.getLogger().removeHandler(_installed)
        _installed.close()
        _installed = None


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every captured record, from every process, as dicts."""
    records: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


class CapturedLogsClient:
    """The ``filter_log_events`` of CloudWatch Logs, over the captured files.

    The validator asks for one execution's records with a JSON filter pattern
    naming its ARN; the ARNs quoted in the pattern select the records.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def filter_log_events(self, **kwargs: Any) -> dict[str, Any]:
        pattern = str(kwargs.get("filterPattern", ""))
        arns = {_unescape(m) for m in _QUOTED.findall(pattern)}
        start = int(kwargs.get("startTime", 0))
        end = int(kwargs.get("endTime", 2**63))
        events = [
            {"timestamp": r["timestamp"], "ingestionTime": r["timestamp"], "message": json.dumps(r)}
            for r in read_records(self._folder)
            if (not arns or r.get("durableExecutionArn") in arns) and start <= r["timestamp"] <= end
        ]
        return {"events": events}


class LocalFunctionsStack:
    """The ``describe_stack_resource`` of CloudFormation: every function is its own name."""

    def describe_stack_resource(self, **kwargs: Any) -> dict[str, Any]:
        return {"StackResourceDetail": {"PhysicalResourceId": kwargs["LogicalResourceId"]}}


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\")
