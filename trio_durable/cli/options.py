"""What commands share on the command line: ``CliError``, argument types, the
option groups (server, client, ``EXECUTION``, ``--json``, errors) and reading
``--input``."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from trio_durable.cli.render import short
from trio_durable.errors import DurableExecutionError
from trio_durable.local import http
from trio_durable.local.admission import HttpLimits
from trio_durable.local.engine import MAX_RETENTION_DAYS
from trio_durable.local.invokers import DEFAULT_HANDLER_THREADS, MAX_INVOCATION_TIMEOUT_SECONDS
from trio_durable.local.subprocess_invoker import (
    DEFAULT_IDLE_TIMEOUT_SECONDS,
    DEFAULT_MAX_WORKERS,
)
from trio_durable.wire import ExecutionStatus

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


STATUSES = (*(status.value for status in ExecutionStatus), "PAUSING", "PAUSED")
"""Every status an execution shows (``--status`` choices)."""


class CliError(DurableExecutionError):
    """A problem with what was asked on the command line; printed without a traceback."""


def invocation_timeout(text: str) -> float:
    """An ``--invocation-timeout`` value: more than 0, at most Lambda's 900 s."""
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


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    return int(_number(text, int, lambda n: n >= 1, "a whole number of at least 1"))


def positive_seconds(text: str) -> float:
    """A number of seconds more than 0."""
    return _number(text, float, lambda n: 0 < n < math.inf, "a number of seconds more than 0")


def _number(
    text: str, parse: Callable[[str], float], ok: Callable[[float], bool], wanted: str
) -> float:
    try:
        number = parse(text)
    except ValueError:
        number = math.nan
    if not ok(number):
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
    return number


def port(text: str) -> int:
    """A ``--port`` value: 0 (any free port) to 65535."""
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 65535, got {text!r}")
    return number


def retention_days(text: str) -> int:
    """A ``--retention-days`` value: 1 to 90 whole days (AWS's RetentionPeriodInDays)."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_RETENTION_DAYS:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, got {text!r}"
        )
    return number


def server_options(sub: argparse.ArgumentParser, default_port: int) -> None:
    """The options of a command that hosts the service (run, serve)."""
    sub.add_argument("--host", default=http.DEFAULT_HOST, help="address to listen on")
    sub.add_argument(
        "--port", type=port, default=default_port, help=f"port (default {default_port})"
    )
    sub.add_argument("--region", default="us-east-1", help="region in the ARNs")
    sub.add_argument(
        "--invoker",
        choices=("inprocess", "subprocess"),
        default="inprocess",
        help="where handlers run (default: in this process)",
    )
    sub.add_argument(
        "--invocation-timeout",
        type=invocation_timeout,
        default=MAX_INVOCATION_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="each invocation's Lambda timeout (default and most: 900)",
    )
    sub.add_argument(
        "--workers",
        type=positive_int,
        default=DEFAULT_MAX_WORKERS,
        metavar="N",
        help=f"--invoker subprocess: worker processes per function, at most"
        f" (default {DEFAULT_MAX_WORKERS}; started when needed)",
    )
    sub.add_argument(
        "--worker-idle-timeout",
        type=positive_seconds,
        default=DEFAULT_IDLE_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="--invoker subprocess: stop a worker idle this long"
        f" (default {DEFAULT_IDLE_TIMEOUT_SECONDS:g})",
    )
    sub.add_argument(
        "--threads",
        type=positive_int,
        default=DEFAULT_HANDLER_THREADS,
        metavar="N",
        help="--invoker inprocess: invocations running at once, across all functions"
        f" (default {DEFAULT_HANDLER_THREADS})",
    )
    defaults = HttpLimits()
    sub.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host header is NAME (repeatable; * for any)",
    )
    sub.add_argument(
        "--max-requests",
        type=positive_int,
        default=defaults.max_requests,
        metavar="N",
        help="requests worked on at once; more are refused with TooManyRequestsException"
        f" (default {defaults.max_requests})",
    )
    sub.add_argument(
        "--body-timeout",
        type=positive_seconds,
        default=defaults.body_timeout,
        metavar="SECONDS",
        help=f"time a request body may take to arrive (default {defaults.body_timeout:g})",
    )
    sub.add_argument(
        "--idle-timeout",
        type=positive_seconds,
        default=defaults.idle_timeout,
        metavar="SECONDS",
        help="close a connection that waits this long for its next request"
        f" (default {defaults.idle_timeout:g})",
    )


def http_limits(args: argparse.Namespace) -> HttpLimits:
    """The ``HttpLimits`` of the server options."""
    return HttpLimits(
        max_requests=args.max_requests,
        body_timeout=args.body_timeout,
        idle_timeout=args.idle_timeout,
        allowed_hosts=tuple(args.allow_host),
    )


def default_endpoint() -> str:
    return os.environ.get("AWS_ENDPOINT_URL_LAMBDA") or (
        f"http://{http.DEFAULT_HOST}:{http.DEFAULT_PORT}"
    )


def client_options(sub: argparse.ArgumentParser) -> None:
    """The options of a command that talks to a running service."""
    sub.add_argument(
        "--endpoint",
        default=default_endpoint(),
        help="service URL (default: $AWS_ENDPOINT_URL_LAMBDA or the local default)",
    )
    sub.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))


def execution_argument(sub: argparse.ArgumentParser) -> None:
    """``EXECUTION``: an ARN, an execution name or a unique prefix of one
    (``client.resolve_execution`` finds the ARN)."""
    sub.add_argument(
        "execution",
        metavar="EXECUTION",
        help="the execution: its ARN, its name, or a prefix of its name that is unique",
    )


def json_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--json", action="store_true", help="print JSON (shape in docs/local-service.md)"
    )


def status_option(sub: argparse.ArgumentParser) -> None:
    """``--status``, repeatable, any case, checked against ``STATUSES``."""
    sub.add_argument(
        "--status",
        action="append",
        type=str.upper,
        choices=STATUSES,
        metavar="STATUS",
        help=f"only executions in this status (repeatable): {', '.join(STATUSES)}",
    )


def error_options(sub: argparse.ArgumentParser) -> None:
    """The ``ErrorObject`` a command sends: ``--error TYPE``, ``--message``, ``--data``."""
    sub.add_argument("--error", "--type", dest="error_type", metavar="TYPE", help="error type")
    sub.add_argument("--message", help="error message")
    sub.add_argument("--data", help="error data")


def error_object(args: argparse.Namespace) -> dict[str, str]:
    """The wire ``ErrorObject`` of ``error_options``, with only the fields given."""
    fields = (
        ("ErrorType", args.error_type),
        ("ErrorMessage", args.message),
        ("ErrorData", args.data),
    )
    return {key: value for key, value in fields if value is not None}


def function_options(sub: argparse.ArgumentParser, help_text: str) -> None:
    """``--function NAME=TARGET``, repeatable."""
    sub.add_argument(
        "--function", action="append", default=[], metavar="NAME=TARGET", help=help_text
    )


def read_input(text: str) -> str:
    """An ``--input`` value (JSON, or ``@file``), checked to be JSON."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as exc:
            raise CliError(f"cannot read --input file {text[1:]!r}: {exc.strerror}") from None
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CliError(f"--input is not valid JSON ({exc}): {short(text)!r}") from None
    return text
