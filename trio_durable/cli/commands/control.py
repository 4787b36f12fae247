"""``pause``, ``resume`` and ``delete``: change an execution's course."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from trio_durable.cli.client import make_client, resolve_execution
from trio_durable.cli.options import client_options, execution_argument

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    pause = commands.add_parser("pause", help="pause an execution until it is resumed")
    execution_argument(pause)
    pause.add_argument("--reason", help="why (recorded in the history)")
    pause.add_argument(
        "--execution-timeout-paused",
        action="store_true",
        help="stop the execution timeout's clock while paused",
    )
    resume = commands.add_parser("resume", help="resume a paused execution")
    execution_argument(resume)
    resume.add_argument("--reason", help="why (recorded in the history)")
    delete = commands.add_parser("delete", help="delete an ended execution and its history")
    execution_argument(delete)
    for sub, handler in ((pause, _cmd_pause), (resume, _cmd_resume), (delete, _cmd_delete)):
        client_options(sub)
        sub.set_defaults(handler=handler)


def _cmd_pause(args: argparse.Namespace) -> int:
    client = make_client(args)
    arn = resolve_execution(args, args.execution)
    params: dict[str, Any] = {
        "DurableExecutionArn": arn,
        "ExecutionTimeoutPaused": args.execution_timeout_paused,
    }
    if args.reason is not None:
        params["Reason"] = args.reason
    client.pause_durable_execution(**params)
    return _print_status(client, arn)


def _cmd_resume(args: argparse.Namespace) -> int:
    client = make_client(args)
    arn = resolve_execution(args, args.execution)
    params: dict[str, Any] = {"DurableExecutionArn": arn}
    if args.reason is not None:
        params["Reason"] = args.reason
    client.resume_durable_execution(**params)
    return _print_status(client, arn)


def _print_status(client: Any, arn: str) -> int:
    """Say where a pause or resume left the execution (PAUSING, PAUSED, RUNNING)."""
    status = client.get_durable_execution(DurableExecutionArn=arn)["Status"]
    print(f"execution {status}: {arn}")
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    arn = resolve_execution(args, args.execution)
    make_client(args).delete_durable_execution(DurableExecutionArn=arn)
    print(f"execution deleted: {arn}")
    return 0
