"""``pause``, ``resume`` and ``delete``: change an execution's course."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from trio_durable.cli.client import make_client
from trio_durable.cli.options import client_options

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
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


def _cmd_pause(args: argparse.Namespace) -> int:
    client = make_client(args)
    params: dict[str, Any] = {
        "DurableExecutionArn": args.arn,
        "ExecutionTimeoutPaused": args.execution_timeout_paused,
    }
    if args.reason is not None:
        params["Reason"] = args.reason
    client.pause_durable_execution(**params)
    return _print_status(client, args.arn)


def _cmd_resume(args: argparse.Namespace) -> int:
    client = make_client(args)
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
    make_client(args).delete_durable_execution(DurableExecutionArn=args.arn)
    print(f"execution deleted: {args.arn}")
    return 0
