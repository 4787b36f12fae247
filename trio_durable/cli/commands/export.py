"""``export EXECUTION``: write one execution's history file (for ``replay``)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

import orjson

from trio_durable.cli.client import make_client
from trio_durable.cli.options import client_options
from trio_durable.testing.history import export_history

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    export = commands.add_parser(
        "export", help="write an execution's recorded operations and history as a JSON file"
    )
    export.add_argument(
        "execution",
        metavar="EXECUTION",
        help="an execution ARN, or a name (of --function, or of any local function)",
    )
    export.add_argument("--function", help="the function of an execution given by name")
    export.add_argument("--output", "-o", metavar="FILE", help="the file (default: stdout)")
    client_options(export)
    export.add_argument(
        "--aws",
        action="store_true",
        help="read from AWS (your credentials and --region) instead of --endpoint",
    )
    export.set_defaults(handler=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    if args.aws:
        import boto3

        client = boto3.client("lambda", region_name=args.region)
    else:
        client = make_client(args)
    history = export_history(args.execution, client=client, function_name=args.function)
    if args.output is None:
        sys.stdout.write(
            orjson.dumps(history.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n"
        )
    else:
        history.dump(args.output)
        print(
            f"wrote {args.output}: {history.status}, {len(history.operations)} operations, "
            f"{len(history.events)} events",
            file=sys.stderr,
        )
    return 0
