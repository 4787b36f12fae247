"""The helpers of commands that talk to a running service: the boto3 client they
share, and the one-line messages for the errors a client meets."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any


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


def client_error_message(exc: BaseException, endpoint: str | None) -> str | None:
    """A one-line message for the errors a client command meets, or None."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    if isinstance(exc, EndpointConnectionError):
        return (
            f"cannot reach the trio-durable service at {endpoint}"
            " (is `trio-durable serve` running? set --endpoint or AWS_ENDPOINT_URL_LAMBDA)"
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return None
