"""The HTTP API's ASGI app: ``HttpApi`` admits a request (``local/admission.py``:
Host and Origin checks, a bound on requests in progress), routes it
(``routes.py``), reads its body within the route's bound and the limits'
``body_timeout``, checks and translates it (``messages.py``), calls the matching
``LocalService`` method and writes the answer back. All behaviour stays in the
engine; this module only translates.
"""

from __future__ import annotations

import sys
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson
import trio

from trio_durable import wire
from trio_durable.errors import ServiceError, invalid_parameter
from trio_durable.local import console
from trio_durable.local.admission import Admission, AdmissionStatistics
from trio_durable.local.http.messages import (
    ACCEPTED,
    EMPTY_OK,
    Request,
    Response,
    bool_query,
    botocore_validator,
    error_response,
    function_error_payload,
    header,
    int_query,
    invoke_payload,
    json_object,
    json_response,
    known_query,
    optional_json,
    path_function_name,
    started_headers,
    str_query,
    timestamp_query,
    too_large,
    validate,
)
from trio_durable.local.http.routes import ASYNC_INVOKE_LIMIT, route
from trio_durable.local.service import LocalService

Scope = Mapping[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class HttpApi:
    """ASGI app serving one ``LocalService`` under botocore's ``lambda`` routes,
    admitting requests through ``admission`` (its Host/Origin checks and bounds)."""

    __slots__ = ("_admission", "_service")

    def __init__(self, service: LocalService, admission: Admission) -> None:
        self._service = service
        self._admission = admission
        botocore_validator()  # load the botocore model now, not on the first request

    def statistics(self) -> AdmissionStatistics:
        return self._admission.statistics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            request_headers = dict(scope["headers"])
            self._admission.check_sender(
                header(request_headers, b"host"), header(request_headers, b"origin")
            )
            self._admission.enter()
            try:
                response = await self._handle(scope, request_headers, receive)
            finally:
                self._admission.leave()
        except ServiceError as exc:
            response = error_response(exc)
        except Exception as exc:
            traceback.print_exception(exc, file=sys.stderr)
            response = error_response(
                ServiceError("ServiceException", f"internal error: {type(exc).__name__}: {exc}")
            )
        headers = [
            (b"content-length", str(len(response.body)).encode()),
            (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
            *response.headers,
        ]
        if not any(name == b"content-type" for name, _ in response.headers):
            headers.insert(0, (b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    async def _handle(
        self, scope: Scope, headers: dict[bytes, bytes], receive: Receive
    ) -> Response:
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        labels = tuple(unquote(part) for part in raw_path.decode("latin-1").split("/")[1:])
        routed = route(method, labels)
        if routed is None:
            raise ServiceError(
                "UnknownOperationException",
                f"no operation at {method} {raw_path.decode('latin-1')}",
                http_status=404,
            )
        operation, limit = routed
        if operation == "Invoke" and header(headers, b"x-amz-invocation-type") == "Event":
            limit = ASYNC_INVOKE_LIMIT
        timeout = self._admission.limits.body_timeout
        with trio.move_on_after(timeout) as reading:
            body = await _read_body(receive, headers, limit)
        if reading.cancelled_caught:
            raise ServiceError(
                "RequestTimeoutException",
                f"the request body did not arrive within {timeout:g} seconds",
                http_status=408,
            )
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        request = Request(operation, labels, query, headers, body)
        if operation == "Invoke":
            return await self._invoke(request)
        return _HANDLERS[operation](self, request)

    # --- executions -------------------------------------------------------------

    async def _invoke(self, request: Request) -> Response:
        function_name = path_function_name(request.labels[2], request.query)
        invocation_type = header(request.headers, b"x-amz-invocation-type") or "RequestResponse"
        execution_name = header(request.headers, b"x-amz-durable-execution-name")
        tenant_id = header(request.headers, b"x-amz-tenant-id")
        # As Lambda, the caller's X-Ray header: every invocation of the execution runs under it.
        trace_header = header(request.headers, b"x-amzn-trace-id")
        params: dict[str, Any] = {"FunctionName": function_name, "InvocationType": invocation_type}
        if execution_name is not None:
            params["DurableExecutionName"] = execution_name
        if tenant_id is not None:
            params["TenantId"] = tenant_id
        validate("Invoke", params)
        if invocation_type not in ("RequestResponse", "Event"):
            raise invalid_parameter(
                f"X-Amz-Invocation-Type {invocation_type!r} is not supported by a durable"
                " function; use RequestResponse or Event"
            )
        payload = invoke_payload(request.body)
        if invocation_type == "Event":
            started = self._service.start_execution(
                function_name,
                payload,
                execution_name=execution_name,
                tenant_id=tenant_id,
                trace_header=trace_header,
            )
            return Response(202, b"", started_headers(started.arn))
        self._admission.start_waiting()  # refused before anything starts
        try:
            started = self._service.start_execution(
                function_name,
                payload,
                execution_name=execution_name,
                tenant_id=tenant_id,
                trace_header=trace_header,
            )
            execution = await self._service.wait_until_terminal(started.arn)
        finally:
            self._admission.stop_waiting()
        headers = list(started_headers(started.arn))
        if execution["Status"] == wire.ExecutionStatus.SUCCEEDED:
            result = execution.get("Result")
            return Response(200, b"" if result is None else result.encode(), tuple(headers))
        headers.append((b"x-amz-function-error", b"Unhandled"))
        return Response(200, function_error_payload(execution), tuple(headers))

    def _get_execution(self, request: Request) -> Response:
        arn = request.labels[2]
        include = bool_query(request.query, "IncludeExecutionData")
        validate("GetDurableExecution", {"DurableExecutionArn": arn})
        return json_response(
            self._service.get_execution(arn, include_execution_data=include is not False)
        )

    def _get_history(self, request: Request) -> Response:
        arn = request.labels[2]
        validate("GetDurableExecutionHistory", {"DurableExecutionArn": arn})
        return json_response(
            self._service.get_execution_history(
                arn,
                include_execution_data=bool(bool_query(request.query, "IncludeExecutionData")),
                max_items=int_query(request.query, "MaxItems"),
                marker=str_query(request.query, "Marker"),
                reverse_order=bool(bool_query(request.query, "ReverseOrder")),
            )
        )

    def _list_executions(self, request: Request) -> Response:
        function_name = path_function_name(request.labels[2], request.query)
        validate("ListDurableExecutionsByFunction", {"FunctionName": function_name})
        return json_response(
            self._service.list_executions(
                function_name,
                statuses=request.query.get("Statuses"),
                started_after=timestamp_query(request.query, "StartedAfter"),
                started_before=timestamp_query(request.query, "StartedBefore"),
                execution_name=str_query(request.query, "DurableExecutionName"),
                reverse_order=bool(bool_query(request.query, "ReverseOrder")),
                marker=str_query(request.query, "Marker"),
                max_items=int_query(request.query, "MaxItems"),
            )
        )

    def _stop(self, request: Request) -> Response:
        arn = request.labels[2]
        error = optional_json(request.body)
        params: dict[str, Any] = {"DurableExecutionArn": arn}
        if error is not None:
            params["Error"] = error
        validate("StopDurableExecution", params)
        return json_response(self._service.stop_execution(arn, wire.error_from_wire(error)))

    def _pause(self, request: Request) -> Response:
        arn = request.labels[2]
        body = json_object(request.body)
        validate("PauseDurableExecution", {"DurableExecutionArn": arn, **body})
        self._service.pause_execution(
            arn,
            reason=body.get("Reason"),
            execution_timeout_paused=body.get("ExecutionTimeoutPaused", False),
            client_token=body.get("ClientToken"),
        )
        return ACCEPTED

    def _resume(self, request: Request) -> Response:
        arn = request.labels[2]
        body = json_object(request.body)
        validate("ResumeDurableExecution", {"DurableExecutionArn": arn, **body})
        self._service.resume_execution(
            arn, reason=body.get("Reason"), client_token=body.get("ClientToken")
        )
        return ACCEPTED

    def _delete(self, request: Request) -> Response:
        arn = request.labels[2]
        validate("DeleteDurableExecution", {"DurableExecutionArn": arn})
        return Response(202, orjson.dumps(self._service.delete_execution(arn)))

    # --- the SDK's side -------------------------------------------------------

    def _checkpoint(self, request: Request) -> Response:
        arn = request.labels[2]
        body = json_object(request.body)
        params = {"DurableExecutionArn": arn, **body}
        validate("CheckpointDurableExecution", params)
        updates = []
        for index, raw in enumerate(body.get("Updates") or ()):
            try:
                updates.append(wire.update_from_wire(raw))
            except ValueError as exc:
                raise invalid_parameter(f"Updates[{index}]: {exc}") from None
        result = self._service.checkpoint(
            arn, body["CheckpointToken"], updates, client_token=body.get("ClientToken")
        )
        return json_response(wire.checkpoint_result_to_wire(result))

    def _get_state(self, request: Request) -> Response:
        arn = request.labels[2]
        token = str_query(request.query, "CheckpointToken")
        params: dict[str, Any] = {"DurableExecutionArn": arn}
        if token is not None:
            params["CheckpointToken"] = token
        validate("GetDurableExecutionState", params)
        assert token is not None  # checked by the validator: it is required
        page = self._service.get_execution_state(
            arn,
            token,
            marker=str_query(request.query, "Marker"),
            max_items=int_query(request.query, "MaxItems"),
        )
        return json_response(wire.state_page_to_wire(page))

    # --- callbacks --------------------------------------------------------------

    def _callback_succeed(self, request: Request) -> Response:
        callback_id = request.labels[2]
        validate("SendDurableExecutionCallbackSuccess", {"CallbackId": callback_id})
        self._service.send_callback_success(callback_id, request.body)
        return EMPTY_OK

    def _callback_fail(self, request: Request) -> Response:
        callback_id = request.labels[2]
        error = optional_json(request.body)
        params: dict[str, Any] = {"CallbackId": callback_id}
        if error is not None:
            params["Error"] = error
        validate("SendDurableExecutionCallbackFailure", params)
        self._service.send_callback_failure(callback_id, wire.error_from_wire(error))
        return EMPTY_OK

    def _callback_heartbeat(self, request: Request) -> Response:
        callback_id = request.labels[2]
        validate("SendDurableExecutionCallbackHeartbeat", {"CallbackId": callback_id})
        self._service.send_callback_heartbeat(callback_id)
        return EMPTY_OK

    # --- the web console ----------------------------------------------------------

    def _console_file(self, request: Request) -> Response:
        name = request.labels[1] if len(request.labels) == 2 else "index.html"
        found = console.static_file(name)
        if found is None:
            raise ServiceError(
                "UnknownOperationException", f"the console has no file {name!r}", http_status=404
            )
        body, content_type = found
        headers = ((b"content-type", content_type.encode()), (b"cache-control", b"no-cache"))
        return Response(200, body, headers)

    def _local_functions(self, request: Request) -> Response:
        known_query(request.query, ())
        return json_response(console.list_functions(self._service))

    def _local_executions(self, request: Request) -> Response:
        known_query(
            request.query, ("FunctionName", "Statuses", "NameContains", "Marker", "MaxItems")
        )
        return json_response(
            console.list_executions(
                self._service,
                function_name=str_query(request.query, "FunctionName"),
                statuses=request.query.get("Statuses"),
                name_contains=str_query(request.query, "NameContains"),
                marker=str_query(request.query, "Marker"),
                max_items=int_query(request.query, "MaxItems"),
            )
        )

    def _local_logs(self, request: Request) -> Response:
        known_query(request.query, ())
        arn = request.labels[2]
        validate("GetDurableExecution", {"DurableExecutionArn": arn})
        return json_response(console.execution_logs(self._service, arn))


_HANDLERS: dict[str, Callable[[HttpApi, Request], Response]] = {
    "GetDurableExecution": HttpApi._get_execution,
    "GetDurableExecutionHistory": HttpApi._get_history,
    "ListDurableExecutionsByFunction": HttpApi._list_executions,
    "StopDurableExecution": HttpApi._stop,
    "PauseDurableExecution": HttpApi._pause,
    "ResumeDurableExecution": HttpApi._resume,
    "DeleteDurableExecution": HttpApi._delete,
    "CheckpointDurableExecution": HttpApi._checkpoint,
    "GetDurableExecutionState": HttpApi._get_state,
    "SendDurableExecutionCallbackSuccess": HttpApi._callback_succeed,
    "SendDurableExecutionCallbackFailure": HttpApi._callback_fail,
    "SendDurableExecutionCallbackHeartbeat": HttpApi._callback_heartbeat,
    "ConsoleFile": HttpApi._console_file,
    "LocalListFunctions": HttpApi._local_functions,
    "LocalListExecutions": HttpApi._local_executions,
    "LocalGetExecutionLogs": HttpApi._local_logs,
}


async def _read_body(receive: Receive, headers: Mapping[bytes, bytes], limit: int) -> bytes:
    length = headers.get(b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large(int(length), limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
