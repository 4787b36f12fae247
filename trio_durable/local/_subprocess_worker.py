"""Child side of ``SubprocessInvoker``: ``python -m trio_durable.local._subprocess_worker TARGET``.

(With ``--check TARGET...`` it only loads each target and answers one frame,
``{"LoadErrors": {target: message}}`` for those that failed, then exits.)

Loads the Lambda handler ``TARGET`` once and says so (``{"Ready": true}``, or
``{"LoadError": message}`` and exit), then serves invocations one at a time over
the pipes it was started with: each frame is a 4-byte big-endian length followed
by that many bytes of JSON. Request: ``{"RequestId", "FunctionName",
"TimeoutSeconds", "TenantId", "TraceHeader", "Event"}``; as Lambda's runtime
does, each invocation's ``TraceHeader`` (X-Ray) is put in ``_X_AMZN_TRACE_ID``
(removed when it has none) and on the context as ``xray_trace_id``. Answer:
``{"Answer": <handler answer>}`` or ``{"Raised": ErrorObject wire}`` when
the handler raised, with ``"Logs"``: the workflow logger's records of the
invocation (``LogEntry`` fields), which the service keeps. The handler's own
stdout is redirected to stderr so that a ``print`` cannot corrupt the protocol.
It exits when its stdin closes (the service went away). The handler reaches the
service through ``AWS_ENDPOINT_URL_LAMBDA``, set by the parent.
"""

from __future__ import annotations

import logging
import os
import struct
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from trio_durable.errors import DurableExecutionError, error_object_from_exception
from trio_durable.local.logbook import LogEntry
from trio_durable.local.targets import load_target
from trio_durable.runtime.logger import WORKFLOW_LOGGER
from trio_durable.wire import error_to_wire

_HEADER = struct.Struct(">I")
XRAY_ENV_VAR = "_X_AMZN_TRACE_ID"


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers commonly read."""

    aws_request_id: str
    function_name: str
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""
    memory_limit_in_mb: int = 128
    log_group_name: str = ""
    log_stream_name: str = ""
    tenant_id: str | None = None
    xray_trace_id: str | None = None
    _deadline: float = field(default=0.0, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _read_exactly(fd: int, size: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < size:
        chunk = os.read(fd, size - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _write_frame(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


class _LogShipper(logging.Handler):
    """Collects the workflow logger's records of the invocation under way, to send
    them to the service with the answer."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[LogEntry] = []

    def emit(self, record: logging.LogRecord) -> None:
        entry = LogEntry.from_record(record)
        if entry is not None:
            self.entries.append(entry)

    def take(self) -> list[dict[str, Any]]:
        taken, self.entries = self.entries, []
        return [asdict(entry) for entry in taken]


def serve(target: str, request_fd: int, answer_fd: int) -> None:
    """Load ``target``, say whether that worked, then answer invocation requests on
    ``request_fd`` until it closes."""
    try:
        handler = load_target(target)
    except DurableExecutionError as exc:
        _write_frame(answer_fd, orjson.dumps({"LoadError": exc.message}))
        return
    _write_frame(answer_fd, orjson.dumps({"Ready": True}))
    shipper = _LogShipper()
    WORKFLOW_LOGGER.addHandler(shipper)
    if WORKFLOW_LOGGER.level == logging.NOTSET:
        WORKFLOW_LOGGER.setLevel(logging.INFO)
    while True:
        header = _read_exactly(request_fd, _HEADER.size)
        if header is None:
            return
        body = _read_exactly(request_fd, _HEADER.unpack(header)[0])
        if body is None:
            return
        request = orjson.loads(body)
        trace_header = request.get("TraceHeader")
        if trace_header is None:
            os.environ.pop(XRAY_ENV_VAR, None)
        else:
            os.environ[XRAY_ENV_VAR] = trace_header
        context = LambdaContext(
            aws_request_id=request["RequestId"],
            function_name=request["FunctionName"],
            invoked_function_arn=request.get("FunctionArn", ""),
            tenant_id=request.get("TenantId"),
            xray_trace_id=trace_header,
            _deadline=time.monotonic() + request["TimeoutSeconds"],
        )
        reply: dict[str, Any]
        try:
            reply = {"Answer": handler(request["Event"], context)}
        except Exception as exc:
            reply = {"Raised": error_to_wire(error_object_from_exception(exc))}
        reply["Logs"] = shipper.take()
        try:
            data = orjson.dumps(reply)
        except TypeError as exc:  # an answer that is not JSON
            data = orjson.dumps({"Raised": error_to_wire(error_object_from_exception(exc))})
        _write_frame(answer_fd, data)


def check(targets: list[str], answer_fd: int) -> None:
    """Load each target; answer which could not be loaded, and why."""
    errors: dict[str, str] = {}
    for target in targets:
        try:
            load_target(target)
        except DurableExecutionError as exc:
            errors[target] = exc.message
    _write_frame(answer_fd, orjson.dumps({"LoadErrors": errors}))


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--check":
        answer_fd = os.dup(1)
        os.dup2(2, 1)
        check(sys.argv[2:], answer_fd)
        return
    if len(sys.argv) != 2:
        sys.exit("usage: python -m trio_durable.local._subprocess_worker [--check] TARGET...")
    request_fd = os.dup(0)
    answer_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    serve(sys.argv[1], request_fd, answer_fd)


if __name__ == "__main__":
    main()
