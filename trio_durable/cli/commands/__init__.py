"""The commands of ``trio-durable``: one module per command or command group.

Each module has ``register(commands)``, which adds its parser(s) to the
subcommands and sets ``handler`` (``args -> exit status``) as a default. To add a
command, add a module here and one line to ``REGISTER``; ``cli.app`` builds the
parser from it, in this order (the order of ``--help``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from trio_durable.cli.commands import (
    callback,
    check,
    completion,
    control,
    describe,
    executions,
    export,
    history,
    invoke,
    logs,
    replay,
    run,
    serve,
    stop,
)

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands

REGISTER: tuple[Callable[[Subcommands], None], ...] = (
    run.register,
    serve.register,
    invoke.register,
    executions.register,
    describe.register,
    history.register,
    logs.register,
    callback.register,
    stop.register,
    control.register,
    check.register,
    export.register,
    replay.register,
    completion.register,
)
