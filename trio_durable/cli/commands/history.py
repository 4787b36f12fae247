"""``history ARN``: an execution's history events, one line each or as JSON."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import orjson

from trio_durable.cli.client import collect, make_client
from trio_durable.cli.options import client_options
from trio_durable.cli.render import clock_text, describe_event, json_default

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    history = commands.add_parser("history", help="print an execution's history")
    history.add_argument("arn", metavar="ARN")
    history.add_argument("--json", action="store_true", help="print the raw events")
    client_options(history)
    history.set_defaults(handler=_cmd_history)


def _cmd_history(args: argparse.Namespace) -> int:
    client = make_client(args)
    events: list[dict[str, Any]] = collect(
        client.get_durable_execution_history,
        "Events",
        DurableExecutionArn=args.arn,
        IncludeExecutionData=True,
    )
    if args.json:
        print(orjson.dumps(events, default=json_default, option=orjson.OPT_INDENT_2).decode())
        return 0
    start = events[0]["EventTimestamp"].timestamp() if events else 0.0
    for event in events:
        offset = event["EventTimestamp"].timestamp() - start
        print(f"{event['EventId']:>4} [{clock_text(offset):>12}] {describe_event(event)}")
    return 0
