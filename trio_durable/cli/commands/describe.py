"""``describe EXECUTION``: an execution's status, input, result or error, times,
trace header and pending callbacks."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from trio_durable.cli.client import make_client, pending_callbacks, resolve_execution
from trio_durable.cli.options import client_options, execution_argument, json_option
from trio_durable.cli.render import duration_text, function_of, print_json, short, utc_text

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    describe = commands.add_parser("describe", help="show one execution")
    execution_argument(describe)
    json_option(describe)
    client_options(describe)
    describe.set_defaults(handler=_cmd_describe)


def _cmd_describe(args: argparse.Namespace) -> int:
    client = make_client(args)
    arn = resolve_execution(args, args.execution)
    execution = describe(client, arn)
    if args.json:
        print_json(execution)
    else:
        print_execution(execution)
    return 0


def describe(client: Any, arn: str) -> dict[str, Any]:
    """``GetDurableExecution``'s answer (with the execution data) plus
    ``PendingCallbacks``: the shape of ``describe --json``."""
    execution: dict[str, Any] = client.get_durable_execution(DurableExecutionArn=arn)
    execution.pop("ResponseMetadata", None)
    execution["PendingCallbacks"] = pending_callbacks(client, arn)
    return execution


def print_execution(execution: dict[str, Any]) -> None:
    """``describe``'s text: one ``field: value`` line each, payloads in full."""
    rows = [
        ("execution", execution["DurableExecutionName"]),
        ("arn", execution["DurableExecutionArn"]),
        ("function", function_of(execution["FunctionArn"])),
        ("status", execution["Status"]),
        *_times(execution),
        ("input", execution.get("InputPayload", "")),
    ]
    trace_header = execution.get("TraceHeader", {}).get("XAmznTraceId")
    if trace_header:
        rows.append(("trace header", trace_header))
    if "Result" in execution:
        rows.append(("result", execution["Result"]))
    error = execution.get("Error")
    if error:
        message = error.get("ErrorMessage")
        kind = error.get("ErrorType") or "Error"
        rows.append(("error", f"{kind}: {message}" if message else kind))
        if error.get("ErrorData"):
            rows.append(("error data", short(error["ErrorData"], 400)))
    for callback in execution["PendingCallbacks"]:
        name = callback.get("Name") or callback["OperationId"][:12]
        since = utc_text(callback["StartTimestamp"])
        rows.append(("callback", f"{name!r} waits since {since}: {callback['CallbackId']}"))
    if not execution["PendingCallbacks"]:
        rows.append(("callbacks", "none pending"))
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        print(f"{label + ':':<{width}} {value}")


def _times(execution: dict[str, Any]) -> list[tuple[str, str]]:
    """When it started and ended (or for how long it has run), and its pause."""
    start: datetime = execution["StartTimestamp"]
    end: datetime | None = execution.get("EndTimestamp")
    rows = [("started", utc_text(start))]
    if end is not None:
        took = duration_text((end - start).total_seconds())
        rows.append(("ended", f"{utc_text(end)} (took {took})"))
    else:
        running = duration_text((datetime.now(UTC) - start).total_seconds())
        rows.append(("ended", f"not yet (running for {running})"))
    pause = execution.get("PauseDetails")
    if pause:
        asked = pause.get("PauseRequestTimestamp")
        text = f"asked {utc_text(asked)}" if asked is not None else "yes"
        if pause.get("Reason"):
            text += f": {pause['Reason']}"
        if pause.get("ExecutionTimeoutPaused"):
            text += " (execution timeout paused)"
        rows.append(("paused", text))
    return rows
