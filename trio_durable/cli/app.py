"""The parser of ``trio-durable`` and ``main``, the console script's entry: it runs
the chosen command and turns the errors a user can cause into one line and an
exit status (2 for a bad request, 1 for a service that refused or is unreachable,
141 when stdout is closed early, as by ``| head``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from trio_durable.cli.client import client_error_message
from trio_durable.cli.commands import REGISTER
from trio_durable.errors import DurableExecutionError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trio-durable", description="Run and inspect durable executions locally."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.set_defaults(root_parser=parser)  # what `completion` describes
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in REGISTER:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trio-durable`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except BaseException as raised:
        exc = _leaf(raised)
        if isinstance(exc, KeyboardInterrupt):
            return 130
        if isinstance(exc, BrokenPipeError):
            _drop_stdout()
            return 141
        message = client_error_message(exc, getattr(args, "endpoint", None))
        if message is not None:
            print(f"trio-durable: error: {message}", file=sys.stderr)
            return 1
        if isinstance(exc, DurableExecutionError):
            print(f"trio-durable: error: {exc.message or exc}", file=sys.stderr)
            return 2
        raise
    return status


def _version() -> str:
    try:
        return version("trio-durable")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def _drop_stdout() -> None:
    """The reader of stdout went away (``| head``): point stdout at the null
    device, so that flushing it at exit raises nothing more."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


def _leaf(exc: BaseException) -> BaseException:
    """The one exception inside (possibly nested) single-member exception groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
