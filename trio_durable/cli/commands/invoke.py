"""``invoke FUNCTION``: start an execution of a served function; print its ARN,
then wait for its end and print its result (unless ``--async``)."""

from __future__ import annotations

import argparse
import functools
import sys
from typing import TYPE_CHECKING, Any

import orjson

from trio_durable.cli.client import make_client, wait_until_ended
from trio_durable.cli.commands.describe import describe
from trio_durable.cli.options import client_options, json_option, read_input
from trio_durable.cli.render import print_json

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    invoke = commands.add_parser(
        "invoke", help="start an execution of a served function and wait for its result"
    )
    invoke.add_argument("function", metavar="FUNCTION", help="the function's name or ARN")
    invoke.add_argument("--input", default="{}", help="input event as JSON, or @file.json")
    invoke.add_argument("--name", help="execution name (the same name and input: the same run)")
    invoke.add_argument(
        "--tenant-id",
        metavar="TENANT",
        help="the tenant to run it for (a function with TenancyConfig PER_TENANT needs one)",
    )
    invoke.add_argument(
        "--trace-header",
        metavar="HEADER",
        help="the X-Ray header to run it under (sent as X-Amzn-Trace-Id:"
        " Root=1-...;Parent=...;Sampled=1)",
    )
    invoke.add_argument(
        "--async",
        dest="no_wait",
        action="store_true",
        help="print the ARN and return at once, without waiting for the end",
    )
    json_option(invoke)
    client_options(invoke)
    invoke.set_defaults(handler=_cmd_invoke)


def _cmd_invoke(args: argparse.Namespace) -> int:
    payload = read_input(args.input)
    client = make_client(args)
    params: dict[str, Any] = {
        "FunctionName": args.function,
        "InvocationType": "Event",
        "Payload": payload.encode(),
    }
    if args.name is not None:
        params["DurableExecutionName"] = args.name
    if args.tenant_id is not None:
        params["TenantId"] = args.tenant_id
    if args.trace_header is not None:
        client.meta.events.register(
            "before-sign.lambda.Invoke", functools.partial(_add_trace_header, args.trace_header)
        )
    arn: str = client.invoke(**params)["DurableExecutionArn"]
    if args.no_wait:
        if args.json:
            print_json({"DurableExecutionArn": arn})
        else:
            print(arn, flush=True)
        return 0
    print(f"execution started: {arn}", file=sys.stderr, flush=True)
    execution = wait_until_ended(client, arn)
    status = execution["Status"]
    if args.json:
        print_json(describe(client, arn))
    print(f"execution {status}: {arn}", file=sys.stderr, flush=True)
    if status == "SUCCEEDED":
        if not args.json:
            print(execution.get("Result", "null"), flush=True)
        return 0
    if not args.json:
        print(orjson.dumps(execution.get("Error") or {}).decode(), flush=True)
    return 1


def _add_trace_header(header: str, request: Any, **_: Any) -> None:
    """botocore's hook: Invoke carries the header as Lambda reads it."""
    request.headers["X-Amzn-Trace-Id"] = header
