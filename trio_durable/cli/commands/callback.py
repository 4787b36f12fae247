"""``callback succeed|fail|heartbeat``: complete or heartbeat a pending callback."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import orjson

from trio_durable.cli.client import make_client
from trio_durable.cli.options import CliError, client_options, error_object, error_options

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    callback = commands.add_parser("callback", help="complete or heartbeat a pending callback")
    actions = callback.add_subparsers(dest="action", required=True, metavar="ACTION")
    succeed = actions.add_parser("succeed", help="complete a callback with a result")
    succeed.add_argument("callback_id", metavar="ID")
    succeed.add_argument("payload", metavar="PAYLOAD", nargs="?", help="the result, as JSON")
    succeed.add_argument("--raw", action="store_true", help="send PAYLOAD even if not JSON")
    succeed.add_argument(
        "--empty", action="store_true", help="complete it with no result (instead of PAYLOAD)"
    )
    fail = actions.add_parser("fail", help="fail a callback")
    fail.add_argument("callback_id", metavar="ID")
    error_options(fail)
    heartbeat = actions.add_parser("heartbeat", help="send a heartbeat for a callback")
    heartbeat.add_argument("callback_id", metavar="ID")
    for sub in (succeed, fail, heartbeat):
        client_options(sub)
        sub.set_defaults(handler=_cmd_callback)


def _cmd_callback(args: argparse.Namespace) -> int:
    client = make_client(args)
    if args.action == "succeed":
        params: dict[str, Any] = {"CallbackId": args.callback_id}
        if (args.payload is None) == (not args.empty):
            raise CliError(
                "callback succeed needs a result: give PAYLOAD (JSON), or --empty for none"
                if args.payload is None
                else "give PAYLOAD or --empty, not both"
            )
        if args.payload is not None:
            if not args.raw:
                try:
                    orjson.loads(args.payload)
                except orjson.JSONDecodeError:
                    raise CliError(
                        f"PAYLOAD {args.payload!r} is not JSON (quote a string: '\"yes\"'),"
                        " or pass --raw to send it as is"
                    ) from None
            params["Result"] = args.payload.encode()
        client.send_durable_execution_callback_success(**params)
    elif args.action == "fail":
        client.send_durable_execution_callback_failure(
            CallbackId=args.callback_id, Error=error_object(args)
        )
    else:
        client.send_durable_execution_callback_heartbeat(CallbackId=args.callback_id)
    print(f"callback {args.callback_id}: {args.action} sent")
    return 0
