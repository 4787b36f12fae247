"""The local service's HTTP API: botocore's ``lambda`` REST routes over hypercorn on Trio.

``HttpApi`` is a plain ASGI app that only translates: it routes a request by
method and path, reads the URI labels, query string, headers and JSON body,
checks them against the botocore input shape (so a malformed request is an
``InvalidParameterValueException`` naming the field), calls the matching
``LocalService`` method, and writes its answer (or ``ServiceError``) back in
the rest-json form boto3 parses: epoch-second timestamps, errors as the
``x-amzn-ErrorType`` header plus a JSON body. All behaviour stays in the engine.

It also serves the web console: ``GET /`` and ``GET /console/{file}`` (static
files) and the console's reads beyond AWS's API, ``GET /local/functions``,
``GET /local/executions`` and ``GET /local/executions/{arn}/logs``
(``local/console/``), with the same error treatment.

Bodies are bounded per route: a ``Content-Length`` over the bound is refused
before anything is read, and the read itself stops at the bound, and at the
limits' ``body_timeout``. Before any of this, ``Admission`` (local/admission.py)
checks the Host and Origin headers and bounds the requests in progress.
"""

from __future__ import annotations

import errno
import socket
import sys
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson
import trio

from trio_durable import wire
from trio_durable.errors import DurableExecutionError, ServiceError, invalid_parameter
from trio_durable.local import console
from trio_durable.local.admission import Admission, AdmissionStatistics, HttpLimits
from trio_durable.local.service import LocalService

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9797

Scope = Mapping[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_KIB = 1024
_MIB = 1024 * _KIB
# Body bounds. A JSON body carries payloads as escaped strings, so its bound
# leaves room for escaping; the engine enforces the exact payload limits.
_JSON_BODY_LIMIT = 1 * _MIB
_CHECKPOINT_BODY_LIMIT = 2 * wire.MAX_LAMBDA_RESPONSE_BYTES + 64 * _KIB
_SYNC_INVOKE_LIMIT = wire.MAX_LAMBDA_RESPONSE_BYTES
_ASYNC_INVOKE_LIMIT = 1 * _MIB

_LATEST = "$LATEST"


class AddressInUseError(DurableExecutionError):
    """The HTTP API's port is taken."""


@dataclass(frozen=True, slots=True)
class _Request:
    operation: str
    labels: tuple[str, ...]
    query: dict[str, list[str]]
    headers: dict[bytes, bytes]
    body: bytes


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()


_EMPTY_OK = _Response(200, b"{}")
_ACCEPTED = _Response(202, b"{}")


class HttpApi:
    """ASGI app serving one ``LocalService`` under botocore's ``lambda`` routes,
    admitting requests through ``admission`` (its Host/Origin checks and bounds)."""

    __slots__ = ("_admission", "_service")

    def __init__(self, service: LocalService, admission: Admission) -> None:
        self._service = service
        self._admission = admission
        _validator()  # load the botocore model now, not on the first request

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
                _header(request_headers, b"host"), _header(request_headers, b"origin")
            )
            self._admission.enter()
            try:
                response = await self._handle(scope, request_headers, receive)
            finally:
                self._admission.leave()
        except ServiceError as exc:
            response = _error_response(exc)
        except Exception as exc:
            traceback.print_exception(exc, file=sys.stderr)
            response = _error_response(
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
    ) -> _Response:
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        labels = tuple(unquote(part) for part in raw_path.decode("latin-1").split("/")[1:])
        route = _route(method, labels)
        if route is None:
            raise ServiceError(
                "UnknownOperationException",
                f"no operation at {method} {raw_path.decode('latin-1')}",
                http_status=404,
            )
        operation, limit = route
        if operation == "Invoke" and _header(headers, b"x-amz-invocation-type") == "Event":
            limit = _ASYNC_INVOKE_LIMIT
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
        request = _Request(operation, labels, query, headers, body)
        if operation == "Invoke":
            return await self._invoke(request)
        return _HANDLERS[operation](self, request)

    # --- executions -------------------------------------------------------------

    async def _invoke(self, request: _Request) -> _Response:
        function_name = _function_name(request.labels[2], request.query)
        invocation_type = _header(request.headers, b"x-amz-invocation-type") or "RequestResponse"
        execution_name = _header(request.headers, b"x-amz-durable-execution-name")
        params: dict[str, Any] = {"FunctionName": function_name, "InvocationType": invocation_type}
        if execution_name is not None:
            params["DurableExecutionName"] = execution_name
        _validate("Invoke", params)
        if invocation_type not in ("RequestResponse", "Event"):
            raise invalid_parameter(
                f"X-Amz-Invocation-Type {invocation_type!r} is not supported by a durable"
                " function; use RequestResponse or Event"
            )
        payload = _invoke_payload(request.body)
        if invocation_type == "Event":
            started = self._service.start_execution(
                function_name, payload, execution_name=execution_name
            )
            return _Response(202, b"", _started_headers(started.arn))
        self._admission.start_waiting()  # refused before anything starts
        try:
            started = self._service.start_execution(
                function_name, payload, execution_name=execution_name
            )
            execution = await self._service.wait_until_terminal(started.arn)
        finally:
            self._admission.stop_waiting()
        headers = list(_started_headers(started.arn))
        if execution["Status"] == wire.ExecutionStatus.SUCCEEDED:
            result = execution.get("Result")
            return _Response(200, b"" if result is None else result.encode(), tuple(headers))
        headers.append((b"x-amz-function-error", b"Unhandled"))
        return _Response(200, _function_error_payload(execution), tuple(headers))

    def _get_execution(self, request: _Request) -> _Response:
        arn = request.labels[2]
        include = _bool_query(request.query, "IncludeExecutionData")
        _validate("GetDurableExecution", {"DurableExecutionArn": arn})
        return _json(self._service.get_execution(arn, include_execution_data=include is not False))

    def _get_history(self, request: _Request) -> _Response:
        arn = request.labels[2]
        _validate("GetDurableExecutionHistory", {"DurableExecutionArn": arn})
        return _json(
            self._service.get_execution_history(
                arn,
                include_execution_data=bool(_bool_query(request.query, "IncludeExecutionData")),
                max_items=_int_query(request.query, "MaxItems"),
                marker=_str_query(request.query, "Marker"),
                reverse_order=bool(_bool_query(request.query, "ReverseOrder")),
            )
        )

    def _list_executions(self, request: _Request) -> _Response:
        function_name = _function_name(request.labels[2], request.query)
        _validate("ListDurableExecutionsByFunction", {"FunctionName": function_name})
        return _json(
            self._service.list_executions(
                function_name,
                statuses=request.query.get("Statuses"),
                started_after=_timestamp_query(request.query, "StartedAfter"),
                started_before=_timestamp_query(request.query, "StartedBefore"),
                execution_name=_str_query(request.query, "DurableExecutionName"),
                reverse_order=bool(_bool_query(request.query, "ReverseOrder")),
                marker=_str_query(request.query, "Marker"),
                max_items=_int_query(request.query, "MaxItems"),
            )
        )

    def _stop(self, request: _Request) -> _Response:
        arn = request.labels[2]
        error = _optional_json(request.body)
        params: dict[str, Any] = {"DurableExecutionArn": arn}
        if error is not None:
            params["Error"] = error
        _validate("StopDurableExecution", params)
        return _json(self._service.stop_execution(arn, wire.error_from_wire(error)))

    def _pause(self, request: _Request) -> _Response:
        arn = request.labels[2]
        body = _json_object(request.body)
        _validate("PauseDurableExecution", {"DurableExecutionArn": arn, **body})
        self._service.pause_execution(
            arn,
            reason=body.get("Reason"),
            execution_timeout_paused=body.get("ExecutionTimeoutPaused", False),
            client_token=body.get("ClientToken"),
        )
        return _ACCEPTED

    def _resume(self, request: _Request) -> _Response:
        arn = request.labels[2]
        body = _json_object(request.body)
        _validate("ResumeDurableExecution", {"DurableExecutionArn": arn, **body})
        self._service.resume_execution(
            arn, reason=body.get("Reason"), client_token=body.get("ClientToken")
        )
        return _ACCEPTED

    def _delete(self, request: _Request) -> _Response:
        arn = request.labels[2]
        _validate("DeleteDurableExecution", {"DurableExecutionArn": arn})
        return _Response(202, orjson.dumps(self._service.delete_execution(arn)))

    # --- the SDK's side -------------------------------------------------------

    def _checkpoint(self, request: _Request) -> _Response:
        arn = request.labels[2]
        body = _json_object(request.body)
        params = {"DurableExecutionArn": arn, **body}
        _validate("CheckpointDurableExecution", params)
        updates = []
        for index, raw in enumerate(body.get("Updates") or ()):
            try:
                updates.append(wire.update_from_wire(raw))
            except ValueError as exc:
                raise invalid_parameter(f"Updates[{index}]: {exc}") from None
        result = self._service.checkpoint(
            arn, body["CheckpointToken"], updates, client_token=body.get("ClientToken")
        )
        return _json(wire.checkpoint_result_to_wire(result))

    def _get_state(self, request: _Request) -> _Response:
        arn = request.labels[2]
        token = _str_query(request.query, "CheckpointToken")
        params: dict[str, Any] = {"DurableExecutionArn": arn}
        if token is not None:
            params["CheckpointToken"] = token
        _validate("GetDurableExecutionState", params)
        assert token is not None  # checked by the validator: it is required
        page = self._service.get_execution_state(
            arn,
            token,
            marker=_str_query(request.query, "Marker"),
            max_items=_int_query(request.query, "MaxItems"),
        )
        return _json(wire.state_page_to_wire(page))

    # --- callbacks --------------------------------------------------------------

    def _callback_succeed(self, request: _Request) -> _Response:
        callback_id = request.labels[2]
        _validate("SendDurableExecutionCallbackSuccess", {"CallbackId": callback_id})
        self._service.send_callback_success(callback_id, request.body)
        return _EMPTY_OK

    def _callback_fail(self, request: _Request) -> _Response:
        callback_id = request.labels[2]
        error = _optional_json(request.body)
        params: dict[str, Any] = {"CallbackId": callback_id}
        if error is not None:
            params["Error"] = error
        _validate("SendDurableExecutionCallbackFailure", params)
        self._service.send_callback_failure(callback_id, wire.error_from_wire(error))
        return _EMPTY_OK

    def _callback_heartbeat(self, request: _Request) -> _Response:
        callback_id = request.labels[2]
        _validate("SendDurableExecutionCallbackHeartbeat", {"CallbackId": callback_id})
        self._service.send_callback_heartbeat(callback_id)
        return _EMPTY_OK

    # --- the web console ----------------------------------------------------------

    def _console_file(self, request: _Request) -> _Response:
        name = request.labels[1] if len(request.labels) == 2 else "index.html"
        found = console.static_file(name)
        if found is None:
            raise ServiceError(
                "UnknownOperationException", f"the console has no file {name!r}", http_status=404
            )
        body, content_type = found
        headers = ((b"content-type", content_type.encode()), (b"cache-control", b"no-cache"))
        return _Response(200, body, headers)

    def _local_functions(self, request: _Request) -> _Response:
        _known_query(request.query, ())
        return _json(console.list_functions(self._service))

    def _local_executions(self, request: _Request) -> _Response:
        _known_query(
            request.query, ("FunctionName", "Statuses", "NameContains", "Marker", "MaxItems")
        )
        return _json(
            console.list_executions(
                self._service,
                function_name=_str_query(request.query, "FunctionName"),
                statuses=request.query.get("Statuses"),
                name_contains=_str_query(request.query, "NameContains"),
                marker=_str_query(request.query, "Marker"),
                max_items=_int_query(request.query, "MaxItems"),
            )
        )

    def _local_logs(self, request: _Request) -> _Response:
        _known_query(request.query, ())
        arn = request.labels[2]
        _validate("GetDurableExecution", {"DurableExecutionArn": arn})
        return _json(console.execution_logs(self._service, arn))


_HANDLERS: dict[str, Callable[[HttpApi, _Request], _Response]] = {
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

_EXECUTION_ACTIONS: dict[tuple[str, str], tuple[str, int]] = {
    ("GET", "state"): ("GetDurableExecutionState", 0),
    ("GET", "history"): ("GetDurableExecutionHistory", 0),
    ("POST", "checkpoint"): ("CheckpointDurableExecution", _CHECKPOINT_BODY_LIMIT),
    ("POST", "stop"): ("StopDurableExecution", _JSON_BODY_LIMIT),
    ("POST", "pause"): ("PauseDurableExecution", _JSON_BODY_LIMIT),
    ("POST", "resume"): ("ResumeDurableExecution", _JSON_BODY_LIMIT),
}
_CALLBACK_ACTIONS: dict[str, tuple[str, int]] = {
    "succeed": ("SendDurableExecutionCallbackSuccess", wire.MAX_OPERATION_PAYLOAD_BYTES),
    "fail": ("SendDurableExecutionCallbackFailure", _JSON_BODY_LIMIT),
    "heartbeat": ("SendDurableExecutionCallbackHeartbeat", _JSON_BODY_LIMIT),
}


def _route(method: str, labels: tuple[str, ...]) -> tuple[str, int] | None:
    """The botocore operation name and body bound for a request, or None."""
    match labels:
        case ("2015-03-31", "functions", str(), "invocations") if method == "POST":
            return "Invoke", _SYNC_INVOKE_LIMIT
        case ("2025-12-01", "functions", str(), "durable-executions") if method == "GET":
            return "ListDurableExecutionsByFunction", 0
        case ("2025-12-01", "durable-executions", str()):
            if method == "GET":
                return "GetDurableExecution", 0
            if method == "DELETE":
                return "DeleteDurableExecution", 0
        case ("2025-12-01", "durable-executions", str(), str(action)):
            return _EXECUTION_ACTIONS.get((method, action))
        case ("2025-12-01", "durable-execution-callbacks", str(), str(action)) if method == "POST":
            return _CALLBACK_ACTIONS.get(action)
        case ("",) | ("console", str()) if method == "GET":
            return "ConsoleFile", 0
        case ("local", "functions") if method == "GET":
            return "LocalListFunctions", 0
        case ("local", "executions") if method == "GET":
            return "LocalListExecutions", 0
        case ("local", "executions", str(), "logs") if method == "GET":
            return "LocalGetExecutionLogs", 0
    return None


# --- request pieces -------------------------------------------------------------


def _started_headers(arn: str) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"x-amz-durable-execution-arn", arn.encode()),
        (b"x-amz-executed-version", _LATEST.encode()),
    )


async def _read_body(receive: Receive, headers: Mapping[bytes, bytes], limit: int) -> bytes:
    length = headers.get(b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(int(length), limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> ServiceError:
    return ServiceError(
        "RequestTooLargeException",
        f"request body of {size} bytes is over this operation's limit of {limit} bytes",
    )


def _header(headers: Mapping[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")


def _function_name(raw: str, query: Mapping[str, list[str]]) -> str:
    """The function named by the path; the service resolves names, ``name:qualifier``
    and function ARNs. Only ``$LATEST`` exists locally, so another Qualifier is refused."""
    qualifier = _str_query(query, "Qualifier")
    if qualifier is not None and qualifier != _LATEST:
        raise invalid_parameter(
            f"Qualifier: the local service runs $LATEST only, not {qualifier!r}"
        )
    return raw


def _str_query(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return None if not values else values[0]


def _known_query(query: Mapping[str, list[str]], known: tuple[str, ...]) -> None:
    """Refuse query parameters a console read does not take (AWS's routes ignore them)."""
    unknown = sorted(set(query) - set(known))
    if unknown:
        allowed = ", ".join(known) if known else "none"
        raise invalid_parameter(
            f"unknown query parameter {', '.join(unknown)} (this route takes {allowed})"
        )


def _int_query(query: Mapping[str, list[str]], name: str) -> int | None:
    value = _str_query(query, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid_parameter(f"{name}: {value!r} is not an integer") from None
    if number < 0:
        raise invalid_parameter(f"{name}: {number} is negative")
    return number


def _bool_query(query: Mapping[str, list[str]], name: str) -> bool | None:
    value = _str_query(query, name)
    if value is None:
        return None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_parameter(f"{name}: {value!r} is not true or false")


def _timestamp_query(query: Mapping[str, list[str]], name: str) -> float | None:
    value = _str_query(query, name)
    if value is None:
        return None
    try:
        return wire.timestamp_from_wire(float(value) if _is_number(value) else value)
    except ValueError:
        raise invalid_parameter(f"{name}: {value!r} is not a timestamp") from None


def _is_number(value: str) -> bool:
    return value.replace(".", "", 1).isdigit()


def _json_object(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid_parameter(f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise invalid_parameter(f"request body must be a JSON object, not {type(data).__name__}")
    return data


def _optional_json(body: bytes) -> dict[str, Any] | None:
    return _json_object(body) if body.strip() else None


def _invoke_payload(body: bytes) -> str:
    """The execution's input: the Invoke body, which must be JSON text (``{}`` when empty)."""
    if not body.strip():
        return "{}"
    try:
        text = body.decode("utf-8")
        orjson.loads(body)
    except (UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        raise ServiceError(
            "InvalidRequestContentException", f"could not parse request body into JSON: {exc}"
        ) from None
    return text


@cache
def _validator() -> tuple[Any, Any]:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("lambda")
    return model, ParamValidator()


def _validate(operation: str, params: Mapping[str, Any]) -> None:
    """Check ``params`` against the botocore input shape of ``operation``."""
    model, validator = _validator()
    report = validator.validate(params, model.operation_model(operation).input_shape)
    if report.has_errors():
        raise invalid_parameter("; ".join(report.generate_report().splitlines()))


# --- responses ------------------------------------------------------------------


def _json(data: Any) -> _Response:
    return _Response(200, orjson.dumps(data))


def _error_response(exc: ServiceError) -> _Response:
    fault = "Service" if exc.http_status >= 500 else "User"
    fields = {"Type": fault, "message": exc.message, "Message": exc.message}
    headers = [(b"x-amzn-errortype", exc.code.encode())]
    if exc.code == "TooManyRequestsException":
        fields["Reason"] = "CallerRateLimitExceeded"
        headers.append((b"retry-after", b"1"))
    return _Response(exc.http_status, orjson.dumps(fields), tuple(headers))


def _function_error_payload(execution: Mapping[str, Any]) -> bytes:
    """The Invoke payload of an execution that did not succeed, as Lambda shapes it."""
    error = wire.error_from_wire(execution.get("Error")) or wire.ErrorObject()
    return orjson.dumps(
        {
            "errorMessage": error.message or f"execution {execution['Status']}",
            "errorType": error.type or str(execution["Status"]),
            "errorData": error.data,
            "stackTrace": list(error.stack_trace or ()),
        }
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


# --- serving --------------------------------------------------------------------


def bind_socket(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUseError(
                f"port {port} on {host} is already in use (another trio-durable serve?);"
                " choose another with --port"
            ) from None
        raise AddressInUseError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def endpoint_of(sock: socket.socket) -> str:
    """The ``http://host:port`` URL a bound socket serves."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(
    service: LocalService,
    *,
    host: str | None = None,
    port: int = DEFAULT_PORT,
    sock: socket.socket | None = None,
    limits: HttpLimits | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``service`` over HTTP until cancelled; ``task_status`` gets the endpoint URL.

    Pass an already bound ``sock`` (see ``bind_socket``) to learn the port early;
    otherwise ``host`` (default 127.0.0.1) and ``port`` are bound here
    (``AddressInUseError`` when taken). ``host`` is also a name requests may give
    as their Host. ``limits`` bound the requests and name more admitted hosts.
    """
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve

    if sock is None:
        sock = bind_socket(host or DEFAULT_HOST, port)
    endpoint = endpoint_of(sock)
    limits = limits or HttpLimits()
    app = HttpApi(service, Admission(sock.getsockname()[0], host, limits))
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.backlog = limits.backlog
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1.0
    async with trio.open_nursery() as nursery:
        await nursery.start(hypercorn_serve, app, config)
        task_status.started(endpoint)
