"""The helpers of commands that talk to a running service: the boto3 client they
share, paging, the local service's reads beyond AWS's API (``GET /local/...``),
finding an execution from what the user typed, waiting for an execution's end,
and the one-line messages for the errors a client meets."""

from __future__ import annotations

import argparse
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from trio_durable.cli.options import CliError
from trio_durable.cli.render import function_of
from trio_durable.errors import ServiceError

OPEN_STATUSES = frozenset({"RUNNING", "PAUSING", "PAUSED"})
"""Statuses of an execution that has not ended."""


def make_client(args: argparse.Namespace) -> Any:
    """A boto3 ``lambda`` client for ``--endpoint`` and ``--region``; no retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=args.endpoint,
        region_name=args.region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        config=Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=30),
    )


def collect(call: Callable[..., Any], key: str, **params: Any) -> list[Any]:
    """Every item under ``key`` of a paged API (``Marker``/``NextMarker``)."""
    items: list[Any] = []
    while True:
        page = call(**params)
        items.extend(page.get(key, ()))
        if not page.get("NextMarker"):
            return items
        params["Marker"] = page["NextMarker"]


# --- the local service's reads beyond AWS's API -------------------------------------


def local_get(endpoint: str, path: str, **query: str | Sequence[str]) -> Any:
    """``GET {endpoint}{path}?{query}`` of the local service, its JSON answer.

    An error answer raises ``ServiceError`` with the service's code; a service
    without the route (not ``trio-durable serve``) gets a ``CliError`` saying so.
    """
    url = f"{endpoint.rstrip('/')}{path}"
    if query:
        url += "?" + urlencode(query, doseq=True)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        code = exc.headers.get("x-amzn-ErrorType") or f"HTTP {exc.code}"
        try:
            message = orjson.loads(exc.read()).get("Message") or exc.reason
        except (orjson.JSONDecodeError, AttributeError):
            message = exc.reason
        if code == "UnknownOperationException" or not exc.headers.get("x-amzn-ErrorType"):
            raise CliError(
                f"the service at {endpoint} has no {path} (only `trio-durable serve` answers it)"
            ) from None
        raise ServiceError(code, str(message)) from None


def list_executions(
    args: argparse.Namespace, *, limit: int | None = None, **query: str | Sequence[str]
) -> list[dict[str, Any]]:
    """Executions of every function, newest first (``GET /local/executions``, page
    after page, up to ``limit``), filtered by ``FunctionName``, ``Statuses`` and
    ``NameContains``. Timestamps become datetimes, as boto3 gives them."""
    rows: list[dict[str, Any]] = []
    if limit is not None:
        query["MaxItems"] = str(min(limit, _PAGE_ITEMS))
    while limit is None or len(rows) < limit:
        page = local_get(args.endpoint, "/local/executions", **query)
        for row in page["DurableExecutions"]:
            for key in ("StartTimestamp", "EndTimestamp"):
                if row.get(key) is not None:
                    row[key] = datetime.fromtimestamp(row[key], UTC)
            rows.append(row)
        if not page.get("NextMarker"):
            break
        query["Marker"] = page["NextMarker"]
    return rows[:limit]


_PAGE_ITEMS = 1000


def execution_logs(args: argparse.Namespace, arn: str) -> list[dict[str, Any]]:
    """What the execution logged through ``ctx.logger``, oldest first."""
    page = local_get(args.endpoint, f"/local/executions/{quote(arn, safe='')}/logs")
    records: list[dict[str, Any]] = page["Records"]
    return records


# --- executions -----------------------------------------------------------------------


def resolve_execution(args: argparse.Namespace, text: str) -> str:
    """The ARN of the execution ``text`` names: an ARN as is; otherwise the one
    execution with that name, or else the one whose name starts with it."""
    if text.startswith("arn:"):
        return text
    rows = list_executions(args, NameContains=text)
    exact = [row for row in rows if row["DurableExecutionName"] == text]
    found = exact or [row for row in rows if row["DurableExecutionName"].startswith(text)]
    if len(found) == 1:
        arn: str = found[0]["DurableExecutionArn"]
        return arn
    if not found:
        raise CliError(
            f"no execution is named {text!r} or has a name starting with it"
            " (`trio-durable executions` lists them)"
        )
    shown = "; ".join(_candidate(row) for row in found[:10])
    more = f" and {len(found) - 10} more" if len(found) > 10 else ""
    raise CliError(
        f"{text!r} matches {len(found)} executions: {shown}{more};"
        " give more of the name, or the ARN"
    )


def _candidate(row: Mapping[str, Any]) -> str:
    function = function_of(str(row.get("FunctionArn", "")))
    return f"{row['DurableExecutionName']} ({function}, {row['Status']})"


def wait_until_ended(client: Any, arn: str) -> dict[str, Any]:
    """``GetDurableExecution`` once the execution has ended (polled, at most
    every 0.5 s)."""
    delay = 0.02
    while True:
        execution: dict[str, Any] = client.get_durable_execution(DurableExecutionArn=arn)
        if execution["Status"] not in OPEN_STATUSES:
            return execution
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def pending_callbacks(client: Any, arn: str) -> list[dict[str, Any]]:
    """The execution's callbacks that wait for a result:
    ``[{"CallbackId", "Name", "OperationId", "StartTimestamp"}]``, oldest first."""
    events = collect(client.get_durable_execution_history, "Events", DurableExecutionArn=arn)
    pending: dict[str, dict[str, Any]] = {}
    for event in events:
        event_type, op_id = event["EventType"], event.get("Id")
        if event_type == "CallbackStarted" and op_id is not None:
            pending[op_id] = {
                "CallbackId": (event.get("CallbackStartedDetails") or {}).get("CallbackId"),
                "Name": event.get("Name"),
                "OperationId": op_id,
                "StartTimestamp": event["EventTimestamp"],
            }
        elif event_type.startswith("Callback") and op_id is not None:
            pending.pop(op_id, None)
        elif event_type.startswith("Execution") and event_type[9:] in _ENDINGS:
            pending.clear()
    return list(pending.values())


_ENDINGS = frozenset({"Succeeded", "Failed", "TimedOut", "Stopped"})


def client_error_message(exc: BaseException, endpoint: str | None) -> str | None:
    """A one-line message for the errors a client command (one with an
    ``endpoint``) meets, or None."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    unreachable = isinstance(exc, urllib.error.URLError | ConnectionError) and endpoint
    if isinstance(exc, EndpointConnectionError) or unreachable:
        return (
            f"cannot reach the trio-durable service at {endpoint}"
            " (is `trio-durable serve` running? set --endpoint or AWS_ENDPOINT_URL_LAMBDA)"
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    if isinstance(exc, ServiceError) and endpoint is not None:  # from local_get
        return f"{exc.code}: {exc.message}"
    return None
