"""``replay TARGET HISTORY_FILE...``: check new code against recorded executions."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from trio_durable.local.targets import load_target
from trio_durable.testing.replay_check import replay

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    sub = commands.add_parser(
        "replay",
        help="replay history files against a handler; exit 1 if any diverges",
    )
    sub.add_argument("target", metavar="TARGET", help="module:handler or path/to/file.py:handler")
    sub.add_argument("histories", nargs="+", metavar="HISTORY_FILE", help="files from export")
    sub.set_defaults(handler=_cmd_replay)


def _cmd_replay(args: argparse.Namespace) -> int:
    handler = load_target(args.target)
    diverged = 0
    for path in args.histories:
        report = replay(handler, path)
        if report.divergence is None:
            print(
                f"{path}: compatible ({report.operations_replayed} recorded operations "
                f"replayed; the code then answers {report.outcome})"
            )
        else:
            diverged += 1
            print(f"{path}: DIVERGES at {report.divergence}")
    return 1 if diverged else 0
