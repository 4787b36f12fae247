"""``stop EXECUTION``: stop a running execution, optionally with an error."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from trio_durable.cli.client import make_client, resolve_execution
from trio_durable.cli.options import client_options, error_object, error_options, execution_argument

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    stop = commands.add_parser("stop", help="stop a running execution")
    execution_argument(stop)
    error_options(stop)
    client_options(stop)
    stop.set_defaults(handler=_cmd_stop)


def _cmd_stop(args: argparse.Namespace) -> int:
    client = make_client(args)
    arn = resolve_execution(args, args.execution)
    params: dict[str, Any] = {"DurableExecutionArn": arn}
    error = error_object(args)
    if error:
        params["Error"] = error
    client.stop_durable_execution(**params)
    print(f"execution STOPPED: {arn}")
    return 0
