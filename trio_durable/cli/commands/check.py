"""``check PATH...``: the determinism lint (``trio_durable.lint``) over files and folders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trio_durable.lint import files

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    check = commands.add_parser(
        "check",
        help="find workflow code that would not replay alike (exit 1 on any finding)",
    )
    files.add_arguments(check)
    check.set_defaults(handler=files.run)
