"""``Boto3ServiceClient``: the ``ServiceClient`` over a boto3 ``lambda`` client.

Given a client, it calls that client. Given none, it makes its own on first use,
then reuses it: where the environment settles every setting a botocore client
would read (Lambda's: credentials and region in ``AWS_*`` variables, no shared
config file), ``LambdaHttpClient`` (``lambda_http.py``), which makes the same
two calls without building a botocore client; anywhere else (or given
``client_options``) botocore's own ``lambda`` client, the one
``boto3.client("lambda")`` makes, without importing boto3. Calls block, so they
run in worker threads (Trio's own under Trio). Shapes are converted by
``wire.py``; botocore's ``ClientError`` becomes ``ServiceError`` with the
modeled error code, and a connection failure a retryable ``ServiceError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio.to_thread
import trio

from trio_durable.errors import ServiceError
from trio_durable.runtime.primitives import under_trio
from trio_durable.wire import (
    CheckpointResult,
    OperationUpdate,
    StatePage,
    checkpoint_result_from_wire,
    state_page_from_wire,
    update_to_wire,
)

T = TypeVar("T")


class Boto3ServiceClient:
    """A ``ServiceClient`` calling AWS (or any endpoint boto3 is pointed at)."""

    def __init__(self, client: Any = None, **client_options: Any) -> None:
        """Use ``client`` (a boto3 ``lambda`` client), or make one (see the
        module doc) with ``client_options`` (``boto3.client``'s keyword arguments)."""
        self._client = client
        self._options = client_options

    def prepare(self) -> None:
        """Create the client now rather than at the first call: in Lambda's init
        phase. A failure is left for the first call to meet again (it tries anew)."""
        with contextlib.suppress(Exception):
            self._lambda()

    def _lambda(self) -> Any:
        if self._client is None and not self._options:
            from trio_durable.batcher.lambda_http import LambdaHttpClient

            self._client = LambdaHttpClient.from_environment()
        if self._client is None:
            import botocore.session

            session = botocore.session.get_session()
            self._client = session.create_client("lambda", **self._options)
        return self._client

    async def _call(self, fn: Callable[[Any], T]) -> T:
        if under_trio():
            return await trio.to_thread.run_sync(self._call_sync, fn)
        return await anyio.to_thread.run_sync(self._call_sync, fn)

    def _call_sync(self, fn: Callable[[Any], T]) -> T:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(self._lambda())
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise ServiceError(
                str(error.get("Code") or "ServiceException"),
                str(error.get("Message") or exc),
                http_status=int(status) if status else None,
            ) from exc
        except BotoCoreError as exc:
            raise ServiceError("ServiceException", str(exc), http_status=503) from exc

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResult:
        request: dict[str, Any] = {
            "DurableExecutionArn": execution_arn,
            "CheckpointToken": checkpoint_token,
            "Updates": [update_to_wire(u) for u in updates],
        }
        if client_token is not None:
            request["ClientToken"] = client_token
        response = await self._call(lambda c: c.checkpoint_durable_execution(**request))
        return checkpoint_result_from_wire(response)

    async def get_execution_state(
        self, execution_arn: str, checkpoint_token: str, *, marker: str | None = None
    ) -> StatePage:
        request: dict[str, Any] = {
            "DurableExecutionArn": execution_arn,
            "CheckpointToken": checkpoint_token,
        }
        if marker is not None:
            request["Marker"] = marker
        response = await self._call(lambda c: c.get_durable_execution_state(**request))
        return state_page_from_wire(response)
