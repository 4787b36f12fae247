"""``LambdaHttpClient`` against botocore's real ``lambda`` client: for the same
environment and arguments, each prepares the same request (method, URL, body,
every header and the SigV4 signature under a frozen clock and invocation id; the
``User-Agent`` but for the client's feature list), reads the same answer and
raises the same error. Neither touches the network: botocore's ``before-send``
event and the light client's ``send`` capture the request and answer it."""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.auth
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError

from trio_durable.batcher.boto3_client import Boto3ServiceClient
from trio_durable.batcher.lambda_http import LambdaHttpClient, settings_from_environment
from trio_durable.errors import ServiceError

FROZEN = datetime.datetime(2026, 12, 3, 7, 30, 15)
INVOCATION_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")

ARNS = [
    "arn:aws:lambda:us-west-2:123456789012:function:f:$LATEST/durable-execution/a/b",
    "arn:aws:lambda:us-west-2:123456789012:function:f/durable-execution/with space/é$+%",
    "arn:aws:lambda:us-west-2:123456789012:function:f:prod/durable-execution/ü~_.-/x",
]
UPDATES = [
    {"Id": "1", "Type": "STEP", "Action": "START", "Name": "naïve ✓"},
    {
        "Id": "2",
        "ParentId": "1",
        "Type": "STEP",
        "Action": "SUCCEED",
        "Payload": '{"text": "ü \\"quoted\\" \\\\ 😀"}',
    },
    {
        "Id": "3",
        "Type": "STEP",
        "Action": "FAIL",
        "Error": {"ErrorType": "ValueError", "ErrorMessage": "bad\nline", "StackTrace": ["a"]},
    },
    {"Id": "4", "Type": "WAIT", "Action": "START", "WaitOptions": {"WaitSeconds": 5}},
]


class Body:
    """The raw stream of a canned ``AWSResponse``."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self) -> Iterator[bytes]:
        yield self.data


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"x-amzn-RequestId": "req-1", "Date": "Thu, 03 Dec 2026 07:30:16 GMT"}
    return AWSResponse("https://x", status, {**all_headers, **(headers or {})}, Body(data))


class Recorder:
    """Records prepared requests and answers each with the next canned response."""

    def __init__(self, responses: list[Any]) -> None:
        self.responses = responses
        self.requests: list[dict[str, Any]] = []

    def send(self, request: Any) -> Any:
        headers = {k.lower(): _text(v) for k, v in request.headers.items()}
        body = request.body or b""
        self.requests.append(
            {"method": request.method, "url": request.url, "headers": headers, "body": body}
        )
        return self.responses[len(self.requests) - 1]

    def before_send(self, request: Any, **_: Any) -> Any:
        return self.send(request)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Lambda's environment, nothing else of AWS's; a frozen clock and invocation id."""
    import os

    for name in list(os.environ):
        if name.startswith(("AWS_", "BOTO", "_X_AMZN")):
            monkeypatch.delenv(name)
    values = {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_REGION": "us-west-2",
        "AWS_LAMBDA_FUNCTION_NAME": "f",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: FROZEN)
    monkeypatch.setattr(uuid, "uuid4", lambda: INVOCATION_ID)
    return values


def both(operation: str, params: dict[str, Any], responses: list[Any]) -> list[Any]:
    """The same call through botocore's client and the light client: for each,
    (its recorded requests, its answer or the error it raised)."""
    outcomes = []
    client = botocore.session.get_session().create_client("lambda")
    light = LambdaHttpClient.from_environment()
    assert light is not None
    for name, target in (("botocore", client), ("light", light)):
        recorder = Recorder(list(responses))
        if name == "botocore":
            client.meta.events.register("before-send", recorder.before_send)
        else:
            light = LambdaHttpClient(light.settings, send=recorder.send, sleep=lambda _: None)
            target = light
        try:
            result: Any = getattr(target, operation)(**dict(params))
        except (ClientError, EndpointConnectionError) as exc:
            result = exc
        outcomes.append((recorder.requests, result))
    return outcomes


def same_requests(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    assert len(ours) == len(theirs)
    for mine, botos in zip(ours, theirs, strict=True):
        mine_agent = mine["headers"].pop("user-agent")
        botos_agent = botos["headers"].pop("user-agent")
        # botocore lists the features a call used ("m/E,N,g"); the rest is equal
        assert re.sub(r" m/[^ ]+", "", botos_agent) == mine_agent
        assert mine == botos


CHECKPOINT_RESPONSE = {
    "CheckpointToken": "t-2",
    "NewExecutionState": {
        "Operations": [
            {"Id": "1", "Type": "STEP", "Status": "STARTED", "StartTimestamp": 1764747015.5}
        ],
        "NextMarker": "m",
    },
}


@pytest.mark.parametrize("arn", ARNS)
@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLXdlc3QtMiJH+/="])
@pytest.mark.parametrize("endpoint", [None, "http://127.0.0.1:8123", "https://example.com/base/"])
def test_a_checkpoint_is_the_request_botocore_prepares(
    environment: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    arn: str,
    token: str | None,
    endpoint: str | None,
) -> None:
    if token is not None:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    if endpoint is not None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint)
    params = {
        "DurableExecutionArn": arn,
        "CheckpointToken": "tok/+=en ü",
        "Updates": UPDATES,
        "ClientToken": "b1946ac9-2e6b-4b59-9b3c-1c2e4e2f1a11",
    }
    (botos, botos_result), (mine, my_result) = both(
        "checkpoint_durable_execution", params, [answer(200, CHECKPOINT_RESPONSE)]
    )
    same_requests(mine, botos)
    assert my_result["CheckpointToken"] == botos_result["CheckpointToken"] == "t-2"
    mine_op = my_result["NewExecutionState"]["Operations"][0]
    botos_op = botos_result["NewExecutionState"]["Operations"][0]
    assert mine_op["StartTimestamp"] == botos_op["StartTimestamp"].timestamp()
    assert my_result["ResponseMetadata"]["RequestId"] == "req-1"


def test_without_a_client_token_each_prepares_a_fresh_one(environment: dict[str, str]) -> None:
    params = {"DurableExecutionArn": ARNS[0], "CheckpointToken": "t", "Updates": []}
    (botos, _), (mine, _) = both(
        "checkpoint_durable_execution", params, [answer(200, CHECKPOINT_RESPONSE)]
    )
    same_requests(mine, botos)
    assert json.loads(mine[0]["body"])["ClientToken"] == str(INVOCATION_ID)


@pytest.mark.parametrize("arn", ARNS)
@pytest.mark.parametrize("extra", [{}, {"Marker": "next page/+é"}, {"Marker": "m", "MaxItems": 50}])
def test_a_state_read_is_the_request_botocore_prepares(
    environment: dict[str, str], arn: str, extra: dict[str, Any]
) -> None:
    params = {"DurableExecutionArn": arn, "CheckpointToken": "t/+= 1", **extra}
    body: dict[str, Any] = {"Operations": [], "NextMarker": None}
    (botos, botos_result), (mine, my_result) = both(
        "get_durable_execution_state", params, [answer(200, body)]
    )
    same_requests(mine, botos)
    assert my_result["Operations"] == botos_result["Operations"] == []


@pytest.mark.parametrize(
    "region", ["us-west-2", "eu-central-1", "cn-north-1", "us-gov-west-1", "us-isob-east-1"]
)
def test_the_endpoint_is_the_one_botocore_resolves(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    params = {"DurableExecutionArn": ARNS[0], "CheckpointToken": "t"}
    (botos, _), (mine, _) = both("get_durable_execution_state", params, [answer(200, {})])
    same_requests(mine, botos)
    assert region in mine[0]["url"]


def test_lambdas_trace_header_goes_along_as_botocores(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    params = {"DurableExecutionArn": ARNS[1], "CheckpointToken": "t"}
    (botos, _), (mine, _) = both("get_durable_execution_state", params, [answer(200, {})])
    same_requests(mine, botos)
    assert mine[0]["headers"]["x-amzn-trace-id"].startswith("Root=1-5759e988")


ERRORS = [
    answer(
        400,
        {"Type": "User", "message": "bad token"},
        {"x-amzn-ErrorType": "InvalidParameterValueException:http://internal.amazon.com/"},
    ),
    answer(404, {"__type": "com.amazon#ResourceNotFoundException", "Message": "gone"}),
    answer(409, {"code": "ResourceConflictException"}),
    answer(413, b"not json at all"),
    answer(429, {"message": "slow down"}, {"x-amzn-ErrorType": "TooManyRequestsException"}),
    answer(429, {"__type": "InvalidParameterValueException", "message": "modeled: not throttling"}),
    answer(429, b""),
    answer(500, b""),
    answer(502, b"<html><body>Bad Gateway</body></html>"),
    answer(503, {"__type": "ServiceException", "message": "try later"}),
]


@pytest.mark.parametrize("response", ERRORS, ids=lambda r: str(r.status_code))
def test_an_error_is_raised_and_mapped_as_botocores(
    environment: dict[str, str], response: Any
) -> None:
    params = {"DurableExecutionArn": ARNS[0], "CheckpointToken": "t"}
    (botos, botos_error), (mine, my_error) = both(
        "get_durable_execution_state", params, [response] * 3
    )
    same_requests(mine, botos)  # the same attempts (retried or not), signed anew
    assert isinstance(my_error, ClientError) and isinstance(botos_error, ClientError)
    for key in ("Error", "ResponseMetadata"):
        assert my_error.response[key] == botos_error.response[key]
    assert str(my_error) == str(botos_error)
    assert mapped(my_error) == mapped(botos_error)


def mapped(error: Exception) -> tuple[str, str, int]:
    """What ``Boto3ServiceClient`` makes of a client's error."""

    def fail(_: Any) -> Any:
        raise error

    with pytest.raises(ServiceError) as caught:
        Boto3ServiceClient(object())._call_sync(fail)
    return caught.value.code, caught.value.message, caught.value.http_status


def test_a_server_error_is_retried_with_the_ttl_botocore_sends(environment: dict[str, str]) -> None:
    params = {"DurableExecutionArn": ARNS[0], "CheckpointToken": "t"}
    responses = [answer(500, b""), answer(503, {"message": "x"}), answer(200, {"Operations": []})]
    (botos, botos_result), (mine, my_result) = both(
        "get_durable_execution_state", params, responses
    )
    same_requests(mine, botos)
    assert [r["headers"]["amz-sdk-request"] for r in mine] == [
        "attempt=1; max=3",
        "ttl=20261203T073116Z; attempt=2; max=3",
        "ttl=20261203T073116Z; attempt=3; max=3",
    ]
    assert my_result["ResponseMetadata"]["RetryAttempts"] == 2
    assert botos_result["ResponseMetadata"]["RetryAttempts"] == 2


def test_a_connection_failure_is_retried_then_raised(environment: dict[str, str]) -> None:
    failure = EndpointConnectionError(endpoint_url="https://lambda.us-west-2.amazonaws.com")
    calls: list[Any] = []

    def send(request: Any) -> Any:
        calls.append(request)
        raise failure

    settings = settings_from_environment(dict(__import__("os").environ))
    assert settings is not None
    light = LambdaHttpClient(settings, send=send, sleep=lambda _: None)
    with pytest.raises(EndpointConnectionError):
        light.get_durable_execution_state(DurableExecutionArn=ARNS[0], CheckpointToken="t")
    assert len(calls) == 3
    assert mapped(failure)[2] == 503  # retryable for the SDK's own retries


BASE = {
    "AWS_ACCESS_KEY_ID": "a",
    "AWS_SECRET_ACCESS_KEY": "s",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.mark.parametrize(
    "change",
    [
        {"AWS_ACCESS_KEY_ID": ""},
        {"AWS_SECRET_ACCESS_KEY": ""},
        {"AWS_DEFAULT_REGION": ""},
        {"AWS_PROFILE": "dev"},
        {"AWS_RETRY_MODE": "adaptive"},
        {"AWS_MAX_ATTEMPTS": "7"},
        {"AWS_USE_FIPS_ENDPOINT": "true"},
        {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
        {"AWS_CREDENTIAL_EXPIRATION": "2030-01-01T00:00:00Z"},
        {"AWS_CA_BUNDLE": " "},
        {"AWS_DEFAULT_REGION": "not a region"},
        {"AWS_ENDPOINT_URL_LAMBDA": "not a url"},
    ],
)
def test_an_environment_that_botocore_reads_further_gets_botocores_client(
    tmp_path: Path, change: dict[str, str]
) -> None:
    files = {
        "AWS_CONFIG_FILE": str(tmp_path / "c"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "k"),
    }
    assert settings_from_environment({**BASE, **files}) is not None
    assert settings_from_environment({**BASE, **files, **change}) is None


@pytest.mark.parametrize("variable", ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"])
def test_a_shared_file_gets_botocores_client(tmp_path: Path, variable: str) -> None:
    files = {
        "AWS_CONFIG_FILE": str(tmp_path / "c"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "k"),
    }
    Path(files[variable]).write_text("[default]\n")
    assert settings_from_environment({**BASE, **files}) is None


def test_settings_read_as_botocore_reads_them(tmp_path: Path) -> None:
    environ = {
        **BASE,
        "AWS_CONFIG_FILE": str(tmp_path / "c"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "k"),
        "AWS_SECURITY_TOKEN": "first",
        "AWS_SESSION_TOKEN": "second",
        "AWS_ENDPOINT_URL": "http://general:1",
        "AWS_ENDPOINT_URL_LAMBDA": "http://lambda:2",
        "REQUESTS_CA_BUNDLE": "/requests.pem",
    }
    settings = settings_from_environment(environ)
    assert settings is not None
    assert settings.credentials.token == "first"  # botocore's EnvProvider order
    assert settings.endpoint_url == "http://lambda:2"
    assert settings.verify == "/requests.pem"
    del environ["AWS_ENDPOINT_URL_LAMBDA"]
    environ["AWS_CA_BUNDLE"] = "/aws.pem"
    settings = settings_from_environment(environ)
    assert settings is not None
    assert (settings.endpoint_url, settings.verify) == ("http://general:1", "/aws.pem")
