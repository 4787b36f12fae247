"""``run``: one execution to its end against an embedded service, with a live
timeline on stderr and the result on stdout."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from contextlib import AsyncExitStack
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

import orjson
import trio

from trio_durable.cli.hosting import (
    InvokerOptions,
    ObservedStore,
    listen,
    open_store,
    point_sdks_at,
)
from trio_durable.cli.options import (
    CliError,
    function_options,
    http_limits,
    read_input,
    server_options,
)
from trio_durable.cli.templates import (
    HostedFunction,
    hosted_functions,
    register_hosted,
    start_hosted,
    template_options,
)
from trio_durable.cli.timeline import Timeline
from trio_durable.local import http
from trio_durable.local.targets import split_target
from trio_durable.runtime.logger import WORKFLOW_LOGGER_NAME

if TYPE_CHECKING:
    from trio.testing import MockClock

    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    run = commands.add_parser("run", help="run one execution to the end, printing a timeline")
    run.add_argument(
        "target",
        metavar="TARGET",
        help="package.module:handler or file.py:handler; with --template, a function's name",
    )
    run.add_argument("--input", default="{}", help="input event as JSON, or @file.json")
    run.add_argument("--store", default="memory", help="memory (default), sqlite or sqlite:PATH")
    run.add_argument("--skip-time", action="store_true", help="skip waits on a virtual clock")
    run.add_argument("--name", help="execution name (a rerun with the same name resumes it)")
    run.add_argument("--function-name", help="function name (default: the handler's name)")
    run.add_argument("--timeout", type=int, help="execution timeout in seconds")
    function_options(run, "another durable function the workflow invokes (repeatable)")
    template_options(run)
    server_options(run, 0)
    run.set_defaults(handler=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from trio.testing import MockClock  # imported here: it pulls in pytest

    clock = MockClock(rate=1.0, autojump_threshold=0) if args.skip_time else None
    sys.path.insert(0, os.getcwd())
    _show_workflow_logs()
    return trio.run(_run, args, clock, clock=clock)


async def _run(args: argparse.Namespace, clock: MockClock | None) -> int:
    from trio_durable.local.service import open_local_service

    payload = read_input(args.input)
    functions = hosted_functions(args)
    if args.template is not None:
        function_name = args.target
        if args.function_name is not None:
            raise CliError("--function-name: with --template, the function's name is TARGET")
        if function_name not in functions:
            raise CliError(
                f"the template has no durable function {function_name!r}; it has:"
                f" {', '.join(functions)}"
            )
    else:
        function_name = args.function_name or split_target(args.target)[1].rpartition(".")[2]
        if function_name in functions:
            raise CliError(f"--function {function_name!r} is the function being run")
        functions[function_name] = HostedFunction(
            function_name, args.target, args.invocation_timeout
        )
    sock = listen(args.host, args.port)
    endpoint = http.endpoint_of(sock)
    timeline = Timeline(function_name, endpoint, clock=clock)
    # Code in this process that reaches for a Lambda client (the handler's own
    # systems, a simulated approver) talks to this run's service, as on Lambda.
    point_sdks_at(endpoint, args.region)

    async with AsyncExitStack() as stack:
        stack.callback(sock.close)  # unless serving took it over
        invokers = await start_hosted(
            stack, functions, InvokerOptions.of(args), endpoint=endpoint, region=args.region
        )
        store = ObservedStore(open_store(args.store), timeline)
        stack.callback(store.close)
        service = await stack.enter_async_context(open_local_service(store=store))
        register_hosted(service, invokers, functions)
        nursery = await stack.enter_async_context(trio.open_nursery())
        limits = http_limits(args)
        if clock is not None:  # a virtual clock would skip a body's timeout at once
            limits = replace(limits, body_timeout=math.inf)
        await nursery.start(partial(http.serve, service, sock=sock, host=args.host, limits=limits))
        print(f"{'':14}web console: {endpoint}/", file=sys.stderr, flush=True)
        if clock is not None:
            print(
                f"{'':14}(--skip-time: waits are skipped, except while a callback is open)",
                file=sys.stderr,
            )
        started = service.start_execution(
            function_name, payload, execution_name=args.name, timeout_seconds=args.timeout
        )
        execution = await service.wait_until_terminal(started.arn)
        nursery.cancel_scope.cancel()
    status = execution["Status"]
    print(f"execution {status}: {started.arn}", file=sys.stderr, flush=True)
    if status == "SUCCEEDED":
        print(execution.get("Result", "null"), flush=True)
        return 0
    print(orjson.dumps(execution.get("Error") or {}).decode(), flush=True)
    return 1


def _show_workflow_logs() -> None:
    """Print what workflows log through ``ctx.logger`` and step loggers (INFO and
    up) in the timeline, unless the program configured that logger itself."""
    logger = logging.getLogger(WORKFLOW_LOGGER_NAME)
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{'':14} log %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
