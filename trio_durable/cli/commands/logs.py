"""``logs EXECUTION``: what the workflow logged through ``ctx.logger`` and step
loggers, as the running service captured it (``GET /local/executions/{arn}/logs``)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from trio_durable.cli.client import execution_logs, resolve_execution
from trio_durable.cli.options import client_options, execution_argument, json_option
from trio_durable.cli.render import print_json, utc_text

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    logs = commands.add_parser("logs", help="print what an execution's workflow logged")
    execution_argument(logs)
    json_option(logs)
    client_options(logs)
    logs.set_defaults(handler=_cmd_logs)


def _cmd_logs(args: argparse.Namespace) -> int:
    arn = resolve_execution(args, args.execution)
    records = execution_logs(args, arn)
    for record in records:
        record["Timestamp"] = datetime.fromtimestamp(record["Timestamp"], UTC)
    if args.json:
        print_json(records)
        return 0
    if not records:
        print(f"no log records of {arn} (kept while the service runs)", file=sys.stderr)
    for record in records:
        where = ""
        if record.get("OperationName") or record.get("OperationId"):
            label = record.get("OperationName") or record["OperationId"][:12]
            attempt = f", attempt {record['Attempt']}" if record.get("Attempt") else ""
            where = f" [{label!r}{attempt}]"
        when = utc_text(record["Timestamp"], milliseconds=True)
        print(f"{when} {record['Level']:<7}{where} {record['Message']}")
    return 0
