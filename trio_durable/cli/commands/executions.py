"""``executions --function NAME``: a function's executions, one line each or as JSON."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC
from typing import TYPE_CHECKING, Any

import orjson

from trio_durable.cli.client import collect, make_client
from trio_durable.cli.options import client_options
from trio_durable.cli.render import json_default

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    executions = commands.add_parser("executions", help="list a function's executions")
    executions.add_argument("--function", required=True, help="function name")
    executions.add_argument(
        "--status", action="append", help="only this status (repeatable)", metavar="STATUS"
    )
    executions.add_argument("--json", action="store_true", help="print the raw list")
    client_options(executions)
    executions.set_defaults(handler=_cmd_executions)


def _cmd_executions(args: argparse.Namespace) -> int:
    client = make_client(args)
    params: dict[str, Any] = {"FunctionName": args.function}
    if args.status:
        params["Statuses"] = args.status
    rows: list[dict[str, Any]] = collect(
        client.list_durable_executions_by_function, "DurableExecutions", **params
    )
    if args.json:
        print(orjson.dumps(rows, default=json_default, option=orjson.OPT_INDENT_2).decode())
        return 0
    for row in rows:
        started = row["StartTimestamp"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{row['Status']:<10} {started}  {row['DurableExecutionArn']}")
    if not rows:
        print(f"no executions of {args.function!r}", file=sys.stderr)
    return 0
