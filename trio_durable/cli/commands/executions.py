"""``executions``: executions of every function (or one), newest first, filtered
by function, status and name; one line each or as JSON."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from trio_durable.cli.client import list_executions
from trio_durable.cli.options import client_options, json_option, status_option
from trio_durable.cli.render import duration_text, function_of, print_json, utc_text

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    executions = commands.add_parser(
        "executions", help="list executions, newest first (every function, or one)"
    )
    executions.add_argument("--function", help="only this function's executions")
    status_option(executions)
    executions.add_argument(
        "--name", metavar="TEXT", help="only executions whose name holds TEXT (any case)"
    )
    executions.add_argument(
        "--limit", type=_limit, metavar="N", help="only the newest N executions"
    )
    json_option(executions)
    executions.add_argument(
        "--names", action="store_true", help="print only the names, one a line (for scripts)"
    )
    client_options(executions)
    executions.set_defaults(handler=_cmd_executions)


def _limit(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return number


def _cmd_executions(args: argparse.Namespace) -> int:
    query: dict[str, Any] = {}
    if args.function:
        query["FunctionName"] = args.function
    if args.status:
        query["Statuses"] = args.status
    if args.name:
        query["NameContains"] = args.name
    rows = list_executions(args, limit=args.limit, **query)
    if args.json:
        print_json(rows)
        return 0
    if args.names:
        for row in rows:
            print(row["DurableExecutionName"])
        return 0
    if not rows:
        print("no executions match", file=sys.stderr)
        return 0
    table = [("STATUS", "STARTED", "DURATION", "FUNCTION", "NAME")]
    now = datetime.now(UTC)
    for row in rows:
        end = row.get("EndTimestamp")
        took = duration_text(((end or now) - row["StartTimestamp"]).total_seconds())
        table.append(
            (
                row["Status"],
                utc_text(row["StartTimestamp"]),
                took if end is not None else f"{took}+",
                function_of(row["FunctionArn"]),
                row["DurableExecutionName"],
            )
        )
    widths = [max(len(line[column]) for line in table) for column in range(4)]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        print("  ".join([*cells, line[4]]))
    return 0
