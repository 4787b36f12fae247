"""``history EXECUTION``: an execution's history, one line per event nested by
parent operation, or the events as JSON."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from trio_durable.cli.client import collect, make_client, resolve_execution
from trio_durable.cli.options import client_options, execution_argument, json_option
from trio_durable.cli.render import clock_text, describe_event, print_json, utc_text
from trio_durable.cli.tree import EventTree

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    history = commands.add_parser("history", help="print an execution's history")
    execution_argument(history)
    json_option(history)
    client_options(history)
    history.set_defaults(handler=_cmd_history)


def _cmd_history(args: argparse.Namespace) -> int:
    client = make_client(args)
    arn = resolve_execution(args, args.execution)
    events: list[dict[str, Any]] = collect(
        client.get_durable_execution_history,
        "Events",
        DurableExecutionArn=arn,
        IncludeExecutionData=True,
    )
    if args.json:
        print_json(events)
        return 0
    if not events:
        return 0
    start = events[0]["EventTimestamp"]
    print(f"history of {arn}")
    print(f"started {utc_text(start)}; times below are from the start")
    tree = EventTree()
    for event in events:
        when = f"[{clock_text((event['EventTimestamp'] - start).total_seconds()):>12}]"
        placement = tree.place(event)
        print(f"{event['EventId']:>4} {when} {placement.prefix}{describe_event(event)}")
        if placement.summary is not None:
            print(f"{'':>4} {when} {placement.summary}")
    return 0
