"""The ``trio-durable`` command line.

``run`` runs one execution against an embedded service and prints a live
timeline; ``serve`` runs the HTTP service; ``callback``, ``history``,
``executions``, ``pause``, ``resume`` and ``delete`` are clients of a running
service (boto3 with ``--endpoint``, which defaults to ``AWS_ENDPOINT_URL_LAMBDA``
or the local default port).
"""

from __future__ import annotations

import argparse
import inspect
import logging
import math
import os
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

import orjson
import trio

from trio_durable.errors import DurableExecutionError
from trio_durable.local import http
from trio_durable.local.invokers import (
    MAX_INVOCATION_TIMEOUT_SECONDS,
    InProcessInvoker,
    Invoker,
    ThreadInvoker,
)
from trio_durable.local.sqlite_store import DEFAULT_PATH, SQLiteStore
from trio_durable.local.store import (
    ExecutionChange,
    ExecutionRecord,
    MemoryStore,
    Store,
    StoredExecution,
)
from trio_durable.local.subprocess_invoker import SubprocessInvoker
from trio_durable.local.targets import load_target, split_target
from trio_durable.runtime.logger import WORKFLOW_LOGGER_NAME
from trio_durable.wire import ExecutionStatus

if TYPE_CHECKING:
    from trio.testing import MockClock

_TERMINAL_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionStopped"}
)
_PHASES = (
    "Started",
    "Succeeded",
    "Failed",
    "TimedOut",
    "Stopped",
    "Cancelled",
    "Completed",
    "Paused",
    "Resumed",
)
_KINDS = {
    "Execution": "execution",
    "Context": "child context",
    "Step": "step",
    "Wait": "wait",
    "Callback": "callback",
    "ChainedInvoke": "invoke",
    "Invocation": "invocation",
}


class CliError(DurableExecutionError):
    """A problem with what was asked on the command line; printed without a traceback."""


# --- stores -------------------------------------------------------------------------


def open_store(spec: str) -> Store:
    """``memory``, ``sqlite`` (the default file) or ``sqlite:PATH``."""
    kind, _, path = spec.partition(":")
    if kind == "memory" and not path:
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(Path(path) if path else DEFAULT_PATH)
    raise CliError(f"bad --store {spec!r}: use memory, sqlite or sqlite:PATH")


class StoreObserver(Protocol):
    def on_load(self, stored: StoredExecution) -> None: ...

    def on_write(self, changes: Sequence[ExecutionChange]) -> None: ...


class ObservedStore:
    """A ``Store`` that shows ``observer`` every execution it loads and every
    successful write."""

    __slots__ = ("_inner", "_observer")

    def __init__(self, inner: Store, observer: StoreObserver):
        self._inner = inner
        self._observer = observer

    def write(self, changes: Sequence[ExecutionChange]) -> None:
        self._inner.write(changes)
        self._observer.on_write(changes)

    def load(self) -> Iterator[StoredExecution]:
        for stored in self._inner.load():
            self._observer.on_load(stored)
            yield stored

    def delete(self, arn: str) -> None:
        self._inner.delete(arn)

    def close(self) -> None:
        self._inner.close()


# --- describing events --------------------------------------------------------------


def _split_event_type(event_type: str) -> tuple[str, str]:
    for phase in _PHASES:
        if event_type.endswith(phase):
            kind = event_type[: -len(phase)]
            return _KINDS.get(kind, kind), phase.lower()
    return event_type, ""


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_text(details: Mapping[str, Any]) -> str:
    error = (details.get("Error") or {}).get("Payload") or {}
    kind = error.get("ErrorType") or "Error"
    message = error.get("ErrorMessage")
    return f"{kind}: {_short(message)}" if message else kind


def describe_event(event: Mapping[str, Any]) -> str:
    """One line saying what ``event`` means."""
    event_type: str = event.get("EventType", "?")
    kind, phase = _split_event_type(event_type)
    details: Mapping[str, Any] = event.get(f"{event_type}Details") or {}
    label = event.get("Name") or (event.get("Id") or "")[:12]
    head = f"{kind} {label!r} {phase}" if label else f"{kind} {phase}"
    extra = ""
    if event_type == "ExecutionStarted":
        payload = (details.get("Input") or {}).get("Payload")
        extra = f" with input {_short(payload)}" if payload is not None else ""
    elif event_type == "InvocationCompleted":
        extra = f": crashed with {_error_text(details)}" if details.get("Error") else ""
    elif event_type == "WaitStarted":
        extra = f" for {details.get('Duration')} s"
    elif event_type == "CallbackStarted":
        extra = f", callback id {details.get('CallbackId')}"
    elif event_type in ("ExecutionPaused", "ExecutionResumed"):
        extra = _control_text(details)
    elif phase in ("succeeded", "completed"):
        payload = (details.get("Result") or {}).get("Payload")
        extra = f" -> {_short(payload)}" if payload is not None else ""
    elif details.get("Error") is not None:
        extra = f": {_error_text(details)}"
    retry = details.get("RetryDetails") or {}
    if phase == "failed" and retry.get("NextAttemptDelaySeconds") is not None:
        extra += f" (attempt {retry.get('CurrentAttempt')}, retry in"
        extra += f" {retry['NextAttemptDelaySeconds']} s)"
    return head + extra


def _control_text(details: Mapping[str, Any]) -> str:
    """What a pause or resume request said: its reason, and a paused timeout."""
    reason = (details.get("Reason") or {}).get("Payload")
    extra = f": {_short(reason)}" if reason else ""
    if details.get("ExecutionTimeoutPaused"):
        extra += " (execution timeout paused)"
    return extra


def _clock_text(seconds: float) -> str:
    hours, rest = divmod(max(0.0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return f"{int(hours // 24)}d{int(hours % 24):02d}:{int(minutes):02d}:{secs:06.3f}"
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def callback_commands(callback_id: str, endpoint: str) -> list[str]:
    """The commands that complete a pending callback."""
    where = f" --endpoint {endpoint}"
    return [
        f"trio-durable callback succeed {callback_id} '<json result>'{where}",
        f"trio-durable callback fail {callback_id} --type T --message M{where}",
    ]


@dataclass
class Timeline:
    """Prints the events of one function's executions as they are loaded and written.

    With ``clock`` (``run --skip-time``) it lets the clock jump only while nothing
    is under way that only real time can move on: an invocation in flight, a
    callback waiting for someone outside, or a pause waiting for a resume.
    """

    function_name: str
    endpoint: str
    clock: MockClock | None = None
    out: TextIO = sys.stderr
    open_callbacks: set[str] = field(default_factory=set)
    invocations: int = 0
    in_flight: bool = False
    paused: set[str] = field(default_factory=set)
    _invocation_id: str | None = None
    _starts: dict[str, float] = field(default_factory=dict)

    def on_load(self, stored: StoredExecution) -> None:
        """An execution that was already in the store: print its history so far."""
        record = stored.execution
        if record.function_name != self.function_name or record.closed:
            return
        self._starts[record.arn] = record.start_timestamp
        print(f"{'':14}history so far of {record.arn}:", file=self.out, flush=True)
        for event in stored.events:
            self._print_event(record, event.to_wire())
        self._note_pause(record)
        self._hold_clock()

    def on_write(self, changes: Sequence[ExecutionChange]) -> None:
        for change in changes:
            record = change.execution
            if record.function_name != self.function_name:
                continue
            self._starts.setdefault(record.arn, record.start_timestamp)
            for event in change.events:
                self._print_event(record, event.to_wire())
            if record.invocation_id is not None and record.invocation_id != self._invocation_id:
                self.invocations += 1
                replay = " (replay)" if self.invocations > 1 else ""
                self._line(
                    record.arn,
                    record.invocation_start,
                    f"invocation #{self.invocations} started{replay}",
                )
            self._invocation_id = record.invocation_id
            self.in_flight = record.invocation_id is not None
            self._note_pause(record)
        self._hold_clock()

    @property
    def idle(self) -> bool:
        """No invocation is running, no callback waits for the outside world and no
        execution waits to be resumed."""
        return not self.in_flight and not self.open_callbacks and not self.paused

    def _note_pause(self, record: ExecutionRecord) -> None:
        if record.pause is None:
            self.paused.discard(record.arn)
        else:
            self.paused.add(record.arn)

    def _hold_clock(self) -> None:
        """Let a virtual clock jump only while idle (else it runs at real speed)."""
        if self.clock is not None:
            self.clock.autojump_threshold = 0 if self.idle else math.inf

    def _print_event(self, record: ExecutionRecord, event: Mapping[str, Any]) -> None:
        event_type = event.get("EventType", "")
        op_id = event.get("Id")
        if event_type == "CallbackStarted" and op_id is not None:
            self.open_callbacks.add(op_id)
        elif event_type.startswith("Callback") and op_id is not None:
            self.open_callbacks.discard(op_id)
        elif event_type in _TERMINAL_EVENTS:
            self.open_callbacks.clear()
        text = describe_event(event)
        if event_type == "InvocationCompleted" and record.status is ExecutionStatus.RUNNING:
            if record.pause is not None:
                text += ", execution paused"
            else:
                text += ", execution suspended" if not record.wake else ", re-invoking"
        self._line(record.arn, event.get("EventTimestamp"), text)
        if event_type == "CallbackStarted":
            details = event.get("CallbackStartedDetails") or {}
            callback_id = details.get("CallbackId", "?")
            for command in callback_commands(callback_id, self.endpoint):
                print(f"{'':14}complete it: {command}", file=self.out, flush=True)

    def _line(self, arn: str, timestamp: float | None, text: str) -> None:
        start = self._starts.get(arn, 0.0)
        when = _clock_text(timestamp - start) if timestamp is not None else ""
        print(f"[{when:>12}] {text}", file=self.out, flush=True)


# --- invokers -----------------------------------------------------------------------


def _is_async_handler(handler: Any) -> bool:
    """A trio-durable handler (its ``invoke`` is async) or an ``async def`` handler."""
    return inspect.iscoroutinefunction(getattr(handler, "invoke", None)) or (
        inspect.iscoroutinefunction(handler)
    )


def make_invoker(target: str, mode: str, *, endpoint: str, region: str) -> Invoker:
    """The invoker for ``target``: ``inprocess`` (an async handler, such as a
    trio-durable one, runs on the service's own Trio loop; any other Lambda handler
    in a worker thread) or ``subprocess`` (worker processes). Handlers that are
    not async reach the service over HTTP at ``endpoint``, as on Lambda."""
    if mode == "subprocess":
        split_target(target)
        return SubprocessInvoker(target, endpoint=endpoint, region=region)
    handler = load_target(target)
    if _is_async_handler(handler):
        return InProcessInvoker(handler)
    _point_sdks_at(endpoint, region)
    return ThreadInvoker(handler)


async def _start_invoker(stack: AsyncExitStack, invoker: Invoker) -> None:
    """Start a subprocess invoker's first worker now: a target that cannot load is
    reported at startup. Its workers stop with ``stack``."""
    if isinstance(invoker, SubprocessInvoker):
        stack.push_async_callback(invoker.aclose)
        await invoker.start()


def _point_sdks_at(endpoint: str, region: str) -> None:
    """Let a handler running in this process reach the service, as Lambda's would."""
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_REGION", region)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)


# --- run ----------------------------------------------------------------------------


def _read_input(text: str) -> str:
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as exc:
            raise CliError(f"cannot read --input file {text[1:]!r}: {exc.strerror}") from None
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CliError(f"--input is not valid JSON ({exc}): {_short(text)!r}") from None
    return text


async def _run(args: argparse.Namespace, clock: MockClock | None) -> int:
    from trio_durable.local.service import open_local_service

    payload = _read_input(args.input)
    function_name = args.function_name or split_target(args.target)[1].rpartition(".")[2]
    targets = {function_name: args.target}
    for name, target in _parse_functions(args.function).items():
        if name in targets:
            raise CliError(f"--function {name!r} is the function being run")
        targets[name] = target
    sock = http.bind_socket(args.host, args.port)
    endpoint = http.endpoint_of(sock)
    timeline = Timeline(function_name, endpoint, clock=clock)
    # Code in this process that reaches for a Lambda client (the handler's own
    # systems, a simulated approver) talks to this run's service, as on Lambda.
    _point_sdks_at(endpoint, args.region)

    async with AsyncExitStack() as stack:
        stack.callback(sock.close)  # unless serving took it over
        invokers: dict[str, Invoker] = {}
        for name, target in targets.items():  # handlers that cannot load stop us here
            invokers[name] = make_invoker(
                target, args.invoker, endpoint=endpoint, region=args.region
            )
            await _start_invoker(stack, invokers[name])
        store = ObservedStore(open_store(args.store), timeline)
        stack.callback(store.close)
        service = await stack.enter_async_context(open_local_service(store=store))
        for name, registered in invokers.items():
            service.register_function(
                name, registered, invocation_timeout_seconds=args.invocation_timeout
            )
        nursery = await stack.enter_async_context(trio.open_nursery())
        await nursery.start(partial(http.serve, service, sock=sock))
        if clock is not None:
            print(
                f"{'':14}(--skip-time: waits are skipped, except while a callback is open)",
                file=sys.stderr,
            )
        started = service.start_execution(
            function_name, payload, execution_name=args.name, timeout_seconds=args.timeout
        )
        execution = await service.wait_until_terminal(started.arn)
        nursery.cancel_scope.cancel()
    status = execution["Status"]
    print(f"execution {status}: {started.arn}", file=sys.stderr, flush=True)
    if status == "SUCCEEDED":
        print(execution.get("Result", "null"), flush=True)
        return 0
    print(orjson.dumps(execution.get("Error") or {}).decode(), flush=True)
    return 1


def _cmd_run(args: argparse.Namespace) -> int:
    from trio.testing import MockClock  # imported here: it pulls in pytest

    clock = MockClock(rate=1.0, autojump_threshold=0) if args.skip_time else None
    sys.path.insert(0, os.getcwd())
    _show_workflow_logs()
    return trio.run(_run, args, clock, clock=clock)


def _show_workflow_logs() -> None:
    """Print what workflows log through ``ctx.logger`` and step loggers (INFO and
    up) in the timeline, unless the program configured that logger itself."""
    logger = logging.getLogger(WORKFLOW_LOGGER_NAME)
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{'':14} log %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


# --- serve --------------------------------------------------------------------------


def _parse_functions(specs: Sequence[str]) -> dict[str, str]:
    functions: dict[str, str] = {}
    for spec in specs:
        name, sep, target = spec.partition("=")
        if not sep or not name or not target:
            raise CliError(f"bad --function {spec!r}: expected NAME=TARGET")
        if name in functions:
            raise CliError(f"--function {name!r} is given twice")
        split_target(target)
        functions[name] = target
    return functions


async def _serve(args: argparse.Namespace) -> int:
    from trio_durable.local.service import open_local_service

    functions = _parse_functions(args.function)
    sock = http.bind_socket(args.host, args.port)
    endpoint = http.endpoint_of(sock)
    async with AsyncExitStack() as stack:
        stack.callback(sock.close)  # unless serving took it over
        invokers: dict[str, Invoker] = {}
        for name, target in functions.items():  # handlers that cannot load stop us here
            invokers[name] = make_invoker(
                target, args.invoker, endpoint=endpoint, region=args.region
            )
            await _start_invoker(stack, invokers[name])
        store = open_store(args.store)
        stack.callback(store.close)
        service = await stack.enter_async_context(open_local_service(store=store))
        for name, registered in invokers.items():
            service.register_function(
                name, registered, invocation_timeout_seconds=args.invocation_timeout
            )
        signals = stack.enter_context(trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT))
        nursery = await stack.enter_async_context(trio.open_nursery())
        await nursery.start(partial(http.serve, service, sock=sock))
        print(f"trio-durable service listening on {endpoint}", flush=True)
        print(f"  store: {args.store}", flush=True)
        for name, target in functions.items():
            print(f"  function {name} -> {target} ({args.invoker})", flush=True)
        print(f"  point boto3 at it: export AWS_ENDPOINT_URL_LAMBDA={endpoint}", flush=True)
        async for _ in signals:
            break  # stop serving; the exit stack closes workers and the store
        nursery.cancel_scope.cancel()
    print("trio-durable service stopped", flush=True)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    sys.path.insert(0, os.getcwd())
    return trio.run(_serve, args)


# --- clients of a running service ---------------------------------------------------


def default_endpoint() -> str:
    return os.environ.get("AWS_ENDPOINT_URL_LAMBDA") or (
        f"http://{http.DEFAULT_HOST}:{http.DEFAULT_PORT}"
    )


def _client(args: argparse.Namespace) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=args.endpoint,
        region_name=args.region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        config=Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=30),
    )


def _cmd_callback(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.action == "succeed":
        params: dict[str, Any] = {"CallbackId": args.callback_id}
        if args.payload is not None:
            if not args.raw:
                try:
                    orjson.loads(args.payload)
                except orjson.JSONDecodeError:
                    raise CliError(
                        f"PAYLOAD {args.payload!r} is not JSON (quote a string: '\"yes\"'),"
                        " or pass --raw to send it as is"
                    ) from None
            params["Result"] = args.payload.encode()
        client.send_durable_execution_callback_success(**params)
    elif args.action == "fail":
        error = {
            key: value
            for key, value in (
                ("ErrorType", args.type),
                ("ErrorMessage", args.message),
                ("ErrorData", args.data),
            )
            if value is not None
        }
        client.send_durable_execution_callback_failure(CallbackId=args.callback_id, Error=error)
    else:
        client.send_durable_execution_callback_heartbeat(CallbackId=args.callback_id)
    print(f"callback {args.callback_id}: {args.action} sent")
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    client = _client(args)
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"DurableExecutionArn": args.arn, "IncludeExecutionData": True}
    while True:
        page = client.get_durable_execution_history(**params)
        events.extend(page["Events"])
        if not page.get("NextMarker"):
            break
        params["Marker"] = page["NextMarker"]
    if args.json:
        print(orjson.dumps(events, default=_json_default, option=orjson.OPT_INDENT_2).decode())
        return 0
    start = events[0]["EventTimestamp"].timestamp() if events else 0.0
    for event in events:
        offset = event["EventTimestamp"].timestamp() - start
        print(f"{event['EventId']:>4} [{_clock_text(offset):>12}] {describe_event(event)}")
    return 0


def _cmd_executions(args: argparse.Namespace) -> int:
    client = _client(args)
    params: dict[str, Any] = {"FunctionName": args.function}
    if args.status:
        params["Statuses"] = args.status
    rows: list[dict[str, Any]] = []
    while True:
        page = client.list_durable_executions_by_function(**params)
        rows.extend(page.get("DurableExecutions", ()))
        if not page.get("NextMarker"):
            break
        params["Marker"] = page["NextMarker"]
    if args.json:
        print(orjson.dumps(rows, default=_json_default, option=orjson.OPT_INDENT_2).decode())
        return 0
    for row in rows:
        started = row["StartTimestamp"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{row['Status']:<10} {started}  {row['DurableExecutionArn']}")
    if not rows:
        print(f"no executions of {args.function!r}", file=sys.stderr)
    return 0


def _cmd_pause(args: argparse.Namespace) -> int:
    client = _client(args)
    params: dict[str, Any] = {
        "DurableExecutionArn": args.arn,
        "ExecutionTimeoutPaused": args.execution_timeout_paused,
    }
    if args.reason is not None:
        params["Reason"] = args.reason
    client.pause_durable_execution(**params)
    return _print_status(client, args.arn)


def _cmd_resume(args: argparse.Namespace) -> int:
    client = _client(args)
    params: dict[str, Any] = {"DurableExecutionArn": args.arn}
    if args.reason is not None:
        params["Reason"] = args.reason
    client.resume_durable_execution(**params)
    return _print_status(client, args.arn)


def _print_status(client: Any, arn: str) -> int:
    """Say where a pause or resume left the execution (PAUSING, PAUSED, RUNNING)."""
    status = client.get_durable_execution(DurableExecutionArn=arn)["Status"]
    print(f"execution {status}: {arn}")
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    _client(args).delete_durable_execution(DurableExecutionArn=args.arn)
    print(f"execution deleted: {args.arn}")
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError


# --- parsing and main ---------------------------------------------------------------


def _invocation_timeout(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAX_INVOCATION_TIMEOUT_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_INVOCATION_TIMEOUT_SECONDS} seconds,"
            f" got {text!r}"
        )
    return seconds


def _port(text: str) -> int:
    """A ``--port`` value: 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 65535, got {text!r}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trio-durable", description="Run and inspect durable executions locally."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def server_options(sub: argparse.ArgumentParser, port: int) -> None:
        sub.add_argument("--host", default=http.DEFAULT_HOST, help="address to listen on")
        sub.add_argument("--port", type=_port, default=port, help=f"port (default {port})")
        sub.add_argument("--region", default="us-east-1", help="region in the ARNs")
        sub.add_argument(
            "--invoker",
            choices=("inprocess", "subprocess"),
            default="inprocess",
            help="where handlers run (default: in this process)",
        )
        sub.add_argument(
            "--invocation-timeout",
            type=_invocation_timeout,
            default=MAX_INVOCATION_TIMEOUT_SECONDS,
            metavar="SECONDS",
            help="each invocation's Lambda timeout (default and most: 900)",
        )

    run = commands.add_parser("run", help="run one execution to the end, printing a timeline")
    run.add_argument("target", metavar="TARGET", help="package.module:handler or file.py:handler")
    run.add_argument("--input", default="{}", help="input event as JSON, or @file.json")
    run.add_argument("--store", default="memory", help="memory (default), sqlite or sqlite:PATH")
    run.add_argument("--skip-time", action="store_true", help="skip waits on a virtual clock")
    run.add_argument("--name", help="execution name (a rerun with the same name resumes it)")
    run.add_argument("--function-name", help="function name (default: the handler's name)")
    run.add_argument("--timeout", type=int, help="execution timeout in seconds")
    run.add_argument(
        "--function",
        action="append",
        default=[],
        metavar="NAME=TARGET",
        help="another durable function the workflow invokes (repeatable)",
    )
    server_options(run, 0)
    run.set_defaults(handler=_cmd_run)

    serve = commands.add_parser("serve", help="serve the local durable execution service")
    serve.add_argument(
        "--function",
        action="append",
        default=[],
        metavar="NAME=TARGET",
        help="a durable function and its handler (repeatable)",
    )
    serve.add_argument("--store", default=f"sqlite:{DEFAULT_PATH}", help="memory or sqlite:PATH")
    server_options(serve, http.DEFAULT_PORT)
    serve.set_defaults(handler=_cmd_serve)

    def client_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--endpoint",
            default=default_endpoint(),
            help="service URL (default: $AWS_ENDPOINT_URL_LAMBDA or the local default)",
        )
        sub.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))

    callback = commands.add_parser("callback", help="complete or heartbeat a pending callback")
    actions = callback.add_subparsers(dest="action", required=True, metavar="ACTION")
    succeed = actions.add_parser("succeed", help="complete a callback with a result")
    succeed.add_argument("callback_id", metavar="ID")
    succeed.add_argument("payload", metavar="PAYLOAD", nargs="?", help="the result, as JSON")
    succeed.add_argument("--raw", action="store_true", help="send PAYLOAD even if not JSON")
    fail = actions.add_parser("fail", help="fail a callback")
    fail.add_argument("callback_id", metavar="ID")
    fail.add_argument("--type", help="error type")
    fail.add_argument("--message", help="error message")
    fail.add_argument("--data", help="error data")
    heartbeat = actions.add_parser("heartbeat", help="send a heartbeat for a callback")
    heartbeat.add_argument("callback_id", metavar="ID")
    for sub in (succeed, fail, heartbeat):
        client_options(sub)
        sub.set_defaults(handler=_cmd_callback)

    history = commands.add_parser("history", help="print an execution's history")
    history.add_argument("arn", metavar="ARN")
    history.add_argument("--json", action="store_true", help="print the raw events")
    client_options(history)
    history.set_defaults(handler=_cmd_history)

    executions = commands.add_parser("executions", help="list a function's executions")
    executions.add_argument("--function", required=True, help="function name")
    executions.add_argument(
        "--status", action="append", help="only this status (repeatable)", metavar="STATUS"
    )
    executions.add_argument("--json", action="store_true", help="print the raw list")
    client_options(executions)
    executions.set_defaults(handler=_cmd_executions)

    pause = commands.add_parser("pause", help="pause an execution until it is resumed")
    pause.add_argument("arn", metavar="ARN")
    pause.add_argument("--reason", help="why (recorded in the history)")
    pause.add_argument(
        "--execution-timeout-paused",
        action="store_true",
        help="stop the execution timeout's clock while paused",
    )
    resume = commands.add_parser("resume", help="resume a paused execution")
    resume.add_argument("arn", metavar="ARN")
    resume.add_argument("--reason", help="why (recorded in the history)")
    delete = commands.add_parser("delete", help="delete an ended execution and its history")
    delete.add_argument("arn", metavar="ARN")
    for sub, handler in ((pause, _cmd_pause), (resume, _cmd_resume), (delete, _cmd_delete)):
        client_options(sub)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trio-durable`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except BaseException as raised:
        exc = _leaf(raised)
        if isinstance(exc, KeyboardInterrupt):
            return 130
        if isinstance(exc, DurableExecutionError):
            print(f"trio-durable: error: {exc.message or exc}", file=sys.stderr)
            return 2
        message = _client_error_message(exc, getattr(args, "endpoint", None))
        if message is None:
            raise
        print(f"trio-durable: error: {message}", file=sys.stderr)
        return 1
    return status


def _leaf(exc: BaseException) -> BaseException:
    """The one exception inside (possibly nested) single-member exception groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _client_error_message(exc: BaseException, endpoint: str | None) -> str | None:
    """A one-line message for the errors a client command meets, or None."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    if isinstance(exc, EndpointConnectionError):
        return (
            f"cannot reach the trio-durable service at {endpoint}"
            " (is `trio-durable serve` running? set --endpoint or AWS_ENDPOINT_URL_LAMBDA)"
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return None
