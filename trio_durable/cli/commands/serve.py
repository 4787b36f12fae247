"""``serve``: the local durable execution service over HTTP (and its web console),
until SIGINT or SIGTERM, printing a live log (``cli/live_log.py``) unless quiet."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from contextlib import AsyncExitStack
from functools import partial
from typing import TYPE_CHECKING

import trio

from trio_durable.cli.hosting import InvokerOptions, ObservedStore, listen, open_store
from trio_durable.cli.live_log import LiveLog
from trio_durable.cli.options import (
    function_options,
    http_limits,
    retention_days,
    server_options,
)
from trio_durable.cli.templates import (
    hosted_functions,
    register_hosted,
    start_hosted,
    template_options,
)
from trio_durable.local import http
from trio_durable.local.engine import DEFAULT_RETENTION_DAYS
from trio_durable.local.sqlite_store import DEFAULT_PATH

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    serve = commands.add_parser("serve", help="serve the local durable execution service")
    function_options(serve, "a durable function and its handler (repeatable)")
    template_options(serve)
    serve.add_argument("--store", default=f"sqlite:{DEFAULT_PATH}", help="memory or sqlite:PATH")
    serve.add_argument(
        "--retention-days",
        type=retention_days,
        default=DEFAULT_RETENTION_DAYS,
        metavar="DAYS",
        help=f"days an ended execution is kept (default {DEFAULT_RETENTION_DAYS}, at most 90)",
    )
    server_options(serve, http.DEFAULT_PORT)
    serve.add_argument(
        "--quiet", action="store_true", help="no live log of executions, only the banner"
    )
    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="the live log's lines: text (default) or one JSON object per line",
    )
    serve.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    sys.path.insert(0, os.getcwd())
    return trio.run(_serve, args)


async def _serve(args: argparse.Namespace) -> int:
    from trio_durable.local.service import open_local_service

    functions = hosted_functions(args)
    sock = listen(args.host, args.port)
    endpoint = http.endpoint_of(sock)
    async with AsyncExitStack() as stack:
        stack.callback(sock.close)  # unless serving took it over
        invokers = await start_hosted(
            stack, functions, InvokerOptions.of(args), endpoint=endpoint, region=args.region
        )
        live = None if args.quiet else LiveLog(log_format=args.log_format)
        if live is not None:
            stack.callback(live.close)
        store = open_store(args.store)
        if live is not None:
            store = ObservedStore(store, live)
        stack.callback(store.close)
        service = await stack.enter_async_context(
            open_local_service(store=store, retention_period_days=args.retention_days)
        )
        if live is not None:
            service.logs.listen(live.on_log)
        register_hosted(service, invokers, functions)
        signals = stack.enter_context(trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT))
        nursery = await stack.enter_async_context(trio.open_nursery())
        await nursery.start(
            partial(http.serve, service, sock=sock, host=args.host, limits=http_limits(args))
        )
        banner = [
            f"trio-durable service listening on {endpoint}",
            f"  store: {args.store}",
            *(f"  {function.describe(args.invoker)}" for function in functions.values()),
            f"  point boto3 at it: export AWS_ENDPOINT_URL_LAMBDA={endpoint}",
            f"  web console: {endpoint}/",
        ]
        if live is not None:
            live.start(banner)  # the banner first, through the log's own writer
        else:
            print("\n".join(banner), flush=True)
        async for _ in signals:
            break  # stop serving; the exit stack closes workers and the store
        nursery.cancel_scope.cancel()
    print("trio-durable service stopped", flush=True)
    return 0
