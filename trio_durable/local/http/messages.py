"""The HTTP API's requests and responses (sans-IO): the pieces read from a request
(headers, URI labels, query parameters, JSON bodies), checked against botocore's
input shapes so that a malformed request is an ``InvalidParameterValueException``
naming the field; and the rest-json responses boto3 parses (errors as the
``x-amzn-ErrorType`` header plus a JSON body)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson

from trio_durable import wire
from trio_durable.errors import ServiceError, invalid_parameter

LATEST = "$LATEST"


@dataclass(frozen=True, slots=True)
class Request:
    operation: str
    labels: tuple[str, ...]
    query: dict[str, list[str]]
    headers: dict[bytes, bytes]
    body: bytes


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()


EMPTY_OK = Response(200, b"{}")
ACCEPTED = Response(202, b"{}")


# --- request pieces -------------------------------------------------------------


def too_large(size: int, limit: int) -> ServiceError:
    return ServiceError(
        "RequestTooLargeException",
        f"request body of {size} bytes is over this operation's limit of {limit} bytes",
    )


def header(headers: Mapping[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")


def path_function_name(raw: str, query: Mapping[str, list[str]]) -> str:
    """The function named by the path; the service resolves names, ``name:qualifier``
    and function ARNs. Only ``$LATEST`` exists locally, so another Qualifier is refused."""
    qualifier = str_query(query, "Qualifier")
    if qualifier is not None and qualifier != LATEST:
        raise invalid_parameter(
            f"Qualifier: the local service runs $LATEST only, not {qualifier!r}"
        )
    return raw


def str_query(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return None if not values else values[0]


def known_query(query: Mapping[str, list[str]], known: tuple[str, ...]) -> None:
    """Refuse query parameters a console read does not take (AWS's routes ignore them)."""
    unknown = sorted(set(query) - set(known))
    if unknown:
        allowed = ", ".join(known) if known else "none"
        raise invalid_parameter(
            f"unknown query parameter {', '.join(unknown)} (this route takes {allowed})"
        )


def int_query(query: Mapping[str, list[str]], name: str) -> int | None:
    value = str_query(query, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid_parameter(f"{name}: {value!r} is not an integer") from None
    if number < 0:
        raise invalid_parameter(f"{name}: {number} is negative")
    return number


def bool_query(query: Mapping[str, list[str]], name: str) -> bool | None:
    value = str_query(query, name)
    if value is None:
        return None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_parameter(f"{name}: {value!r} is not true or false")


def timestamp_query(query: Mapping[str, list[str]], name: str) -> float | None:
    value = str_query(query, name)
    if value is None:
        return None
    try:
        return wire.timestamp_from_wire(float(value) if _is_number(value) else value)
    except ValueError:
        raise invalid_parameter(f"{name}: {value!r} is not a timestamp") from None


def _is_number(value: str) -> bool:
    return value.replace(".", "", 1).isdigit()


def json_object(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid_parameter(f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise invalid_parameter(f"request body must be a JSON object, not {type(data).__name__}")
    return data


def optional_json(body: bytes) -> dict[str, Any] | None:
    return json_object(body) if body.strip() else None


def invoke_payload(body: bytes) -> str:
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
def botocore_validator() -> tuple[Any, Any]:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("lambda")
    return model, ParamValidator()


def validate(operation: str, params: Mapping[str, Any]) -> None:
    """Check ``params`` against the botocore input shape of ``operation``."""
    model, validator = botocore_validator()
    report = validator.validate(params, model.operation_model(operation).input_shape)
    if report.has_errors():
        raise invalid_parameter("; ".join(report.generate_report().splitlines()))


# --- responses ------------------------------------------------------------------


def started_headers(arn: str) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"x-amz-durable-execution-arn", arn.encode()),
        (b"x-amz-executed-version", LATEST.encode()),
    )


def json_response(data: Any) -> Response:
    return Response(200, orjson.dumps(data))


def error_response(exc: ServiceError) -> Response:
    fault = "Service" if exc.http_status >= 500 else "User"
    fields = {"Type": fault, "message": exc.message, "Message": exc.message}
    headers = [(b"x-amzn-errortype", exc.code.encode())]
    if exc.code == "TooManyRequestsException":
        fields["Reason"] = "CallerRateLimitExceeded"
        headers.append((b"retry-after", b"1"))
    return Response(exc.http_status, orjson.dumps(fields), tuple(headers))


def function_error_payload(execution: Mapping[str, Any]) -> bytes:
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
