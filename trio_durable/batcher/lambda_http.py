"""``LambdaHttpClient``: the SDK's two Lambda calls without building a botocore client.

A botocore ``lambda`` client loads the whole Lambda service model, its endpoint
rules and 80-odd generated methods, and importing botocore's session and client
machinery for it was about half of a first invocation's CPU time. The SDK calls
two operations (``CheckpointDurableExecution``, ``GetDurableExecutionState``), so
this client builds their rest-json requests itself and leaves the rest to
botocore's own pieces: ``SigV4Auth`` signs, ``URLLib3Session`` sends (proxies,
CA bundle, timeouts as a client's), ``RestJSONParser`` reads errors, which become
the same ``ClientError`` a client raises, and botocore's standard retry policy
(3 attempts, its backoff and retry quota) retries. Requests are byte for byte a
client's, but for the ``User-Agent``'s feature list (``m/...``): a test holds
that.

It is used only where the environment settles everything a client would read
(``from_environment``): credentials and region in ``AWS_*`` variables, as Lambda
sets them, no shared config or credentials file, and no other variable of
botocore's configuration. Anywhere else, ``Boto3ServiceClient`` builds botocore's
client as before.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SERVICE = "lambda"
API_VERSION = "2025-12-01"
MAX_ATTEMPTS = 3
"""botocore's standard retry mode: attempts per call."""
TIMEOUT = 60
"""botocore's connect and read timeouts (seconds)."""
MAX_POOL_CONNECTIONS = 10

HANDLED_VARIABLES = frozenset(
    {
        "AWS_DEFAULT_REGION",
        "AWS_CA_BUNDLE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        # Only the credential providers after the environment's read these.
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
        "AWS_EC2_METADATA_V1_DISABLED",
        "AWS_IMDS_USE_IPV6",
        "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
        "AWS_METADATA_SERVICE_TIMEOUT",
    }
)
"""botocore configuration variables this client honours as a client would."""

MODELED_ERRORS = (
    "InvalidParameterValueException",
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "KMSInvalidStateException",
    "KMSNotFoundException",
    "ServiceException",
    "TooManyRequestsException",
)
"""The errors both operations model (none marked retryable): botocore's retry
policy treats a 429 of one of these by its code, any other 429 as throttling."""

OTHER_SETTINGS = ("AWS_CREDENTIAL_EXPIRATION", "BOTOCORE_EXPERIMENTAL__PLUGINS")
"""Variables outside botocore's session table that change a client."""


@dataclass(frozen=True, slots=True)
class EnvironmentCredentials:
    """Credentials from ``AWS_ACCESS_KEY_ID`` and friends (what ``SigV4Auth`` reads)."""

    access_key: str
    secret_key: str
    token: str | None


@dataclass(frozen=True, slots=True)
class LambdaSettings:
    """Where and as whom the client calls Lambda."""

    region: str
    credentials: EnvironmentCredentials
    endpoint_url: str | None
    """``AWS_ENDPOINT_URL_LAMBDA`` or ``AWS_ENDPOINT_URL``; None: botocore's
    endpoint rules decide (``https://lambda.REGION.amazonaws.com`` and the like)."""
    verify: str | bool = True
    """TLS verification: ``AWS_CA_BUNDLE``, else ``REQUESTS_CA_BUNDLE``, else
    the default CA bundle."""


def settings_from_environment(environ: Mapping[str, str]) -> LambdaSettings | None:
    """The settings a botocore ``lambda`` client would take from ``environ``, or
    None where it would read something else (a config file, a profile, another
    credential provider, a setting this client does not reproduce)."""
    from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES

    for _, variables, _, _ in BOTOCORE_DEFAUT_SESSION_VARIABLES.values():
        names = [variables] if isinstance(variables, str) else list(variables or ())
        if any(n in environ and n not in HANDLED_VARIABLES for n in names):
            return None
    if any(name in environ for name in OTHER_SETTINGS):
        return None
    for variable, default in (
        ("AWS_CONFIG_FILE", "~/.aws/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    ):
        if os.path.exists(os.path.expanduser(environ.get(variable) or default)):
            return None
    access_key = environ.get("AWS_ACCESS_KEY_ID", "")
    secret_key = environ.get("AWS_SECRET_ACCESS_KEY", "")
    region = environ.get("AWS_DEFAULT_REGION", "")
    if not (access_key and secret_key and region):
        return None
    token = next(
        (environ[n] for n in ("AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN") if n in environ),
        None,
    )
    endpoint_url = None
    for variable in ("AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL"):
        if variable in environ:
            endpoint_url = environ[variable]
            break
    verify: str | bool = environ.get("AWS_CA_BUNDLE", environ.get("REQUESTS_CA_BUNDLE", True))
    if not _valid(region, endpoint_url) or (isinstance(verify, str) and not verify.strip()):
        return None  # botocore's client says what is wrong
    credentials = EnvironmentCredentials(access_key, secret_key, token)
    return LambdaSettings(region, credentials, endpoint_url, verify)


def _valid(region: str, endpoint_url: str | None) -> bool:
    from botocore.exceptions import InvalidRegionError
    from botocore.utils import (
        is_valid_endpoint_url,
        is_valid_ipv6_endpoint_url,
        validate_region_name,
    )

    try:
        validate_region_name(region)
    except InvalidRegionError:
        return False
    return endpoint_url is None or bool(
        is_valid_endpoint_url(endpoint_url) or is_valid_ipv6_endpoint_url(endpoint_url)
    )


def resolve_endpoint(region: str) -> str:
    """The Lambda endpoint of ``region`` by botocore's endpoint rules for Lambda."""
    from botocore.endpoint_provider import EndpointProvider
    from botocore.loaders import create_loader

    loader = create_loader()
    rules = loader.load_service_model(SERVICE, "endpoint-rule-set-1")
    provider = EndpointProvider(rules, loader.load_data("partitions"))
    endpoint = provider.resolve_endpoint(Region=region, UseFIPS=False, UseDualStack=False)
    url: str = endpoint.url
    return url


@dataclass(frozen=True, slots=True)
class _ServiceModel:
    service_name: str


@dataclass(frozen=True, slots=True)
class _ErrorShape:
    name: str
    metadata: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OperationOutline:
    """What botocore's retry policy reads of an operation model."""

    name: str
    service_model: _ServiceModel = _ServiceModel(SERVICE)
    error_shapes: tuple[_ErrorShape, ...] = tuple(_ErrorShape(n, {}) for n in MODELED_ERRORS)


Sender = Callable[[Any], Any]
"""Sends a botocore ``AWSPreparedRequest``, answers its ``AWSResponse``."""


class LambdaHttpClient:
    """``checkpoint_durable_execution`` and ``get_durable_execution_state`` as a
    botocore ``lambda`` client answers them (a dict, or ``ClientError`` /
    ``BotoCoreError``); calls block, like a client's."""

    def __init__(
        self,
        settings: LambdaSettings,
        *,
        send: Sender | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``send`` replaces botocore's ``URLLib3Session`` (tests capture requests);
        ``sleep`` waits between attempts."""
        from botocore.auth import SigV4Auth
        from botocore.parsers import RestJSONParser
        from botocore.retries import quota, standard
        from botocore.useragent import UserAgentString

        self.settings = settings
        self.endpoint_url = settings.endpoint_url or resolve_endpoint(settings.region)
        if send is None:
            from botocore.httpsession import URLLib3Session
            from botocore.utils import get_environ_proxies

            send = URLLib3Session(
                timeout=(TIMEOUT, TIMEOUT),
                proxies=get_environ_proxies(self.endpoint_url),
                verify=settings.verify,
                max_pool_connections=MAX_POOL_CONNECTIONS,
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            ).send
        self._send = send
        self._sleep = sleep
        self._signer = SigV4Auth(settings.credentials, SERVICE, settings.region)
        self._parser = RestJSONParser()
        agent = UserAgentString.from_environment()
        agent.set_session_config("Botocore", _botocore_version(), None)
        self._user_agent = agent.to_string() + " cfg/retry-mode#standard"
        detector = standard.ThrottlingErrorDetector(standard.RetryEventAdapter())
        self._retry = standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=MAX_ATTEMPTS),
            retry_backoff=standard.ExponentialBackoff(
                service_name=SERVICE, throttling_detector=detector
            ),
        )
        self._quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> LambdaHttpClient | None:
        """A client with ``environ``'s settings (``os.environ`` by default), or
        None where a botocore client is needed (``settings_from_environment``)."""
        settings = settings_from_environment(os.environ if environ is None else environ)
        return None if settings is None else cls(settings)

    def checkpoint_durable_execution(self, **params: Any) -> dict[str, Any]:
        """POST .../checkpoint: ``DurableExecutionArn``, ``CheckpointToken``,
        ``Updates``, ``ClientToken`` (a fresh one when not given, as botocore's)."""
        if "ClientToken" not in params:
            params["ClientToken"] = str(uuid.uuid4())
        body = {
            key: params[key]
            for key in ("CheckpointToken", "Updates", "ClientToken")
            if key in params
        }
        return self._call(
            "CheckpointDurableExecution",
            "POST",
            _path(params["DurableExecutionArn"], "checkpoint"),
            {},
            json.dumps(body).encode(),
        )

    def get_durable_execution_state(self, **params: Any) -> dict[str, Any]:
        """GET .../state: ``DurableExecutionArn``, ``CheckpointToken``, ``Marker``,
        ``MaxItems``."""
        query: dict[str, Any] = {
            key: params[key] for key in ("CheckpointToken", "Marker", "MaxItems") if key in params
        }
        return self._call(
            "GetDurableExecutionState",
            "GET",
            _path(params["DurableExecutionArn"], "state"),
            query,
            b"",
        )

    def _call(
        self, operation: str, method: str, path: str, query: dict[str, Any], body: bytes
    ) -> dict[str, Any]:
        """One call as botocore's endpoint makes it: signed anew at each attempt,
        retried by the standard policy, the error raised as a client raises it."""
        from botocore.exceptions import ClientError
        from botocore.retries.standard import RetryContext

        retries: dict[str, Any] = {
            "attempt": 1,
            "invocation-id": str(uuid.uuid4()),
            "max": MAX_ATTEMPTS,
        }
        context: dict[str, Any] = {"retries": retries}
        while True:
            request = self._prepare(method, path, query, body, retries)
            http_response = parsed = caught = None
            try:
                http_response = self._send(request)
            except Exception as exc:  # botocore's endpoint keeps any, to retry or raise
                caught = exc
            else:
                parsed = self._parse(http_response)
            retry = RetryContext(
                attempt_number=retries["attempt"],
                operation_model=OperationOutline(operation),
                parsed_response=parsed,
                http_response=http_response,
                caught_exception=caught,
                request_context=context,
            )
            delay = None
            if self._retry.should_retry(retry) and self._quota.acquire_retry_quota(retry):
                delay = self._retry.compute_retry_delay(retry)
            if parsed is not None:
                parsed["ResponseMetadata"].update(retry.get_retry_metadata())
            if delay is None:
                break
            self._sleep(delay)
            retries["attempt"] += 1
            if http_response is not None:
                _set_ttl(retries, http_response.headers.get("Date"))
        if caught is not None:
            raise caught
        assert parsed is not None and http_response is not None
        parsed["ResponseMetadata"]["RetryAttempts"] = retries["attempt"] - 1
        self._quota.release_retry_quota(context, http_response)
        if http_response.status_code >= 300:
            raise ClientError(parsed, operation)
        return parsed

    def _prepare(
        self,
        method: str,
        path: str,
        query: dict[str, Any],
        body: bytes,
        retries: Mapping[str, Any],
    ) -> Any:
        from botocore.awsrequest import create_request_object, prepare_request_dict

        headers: dict[str, Any] = {}
        if body:
            headers["Content-Type"] = "application/json"
        trace_id = os.environ.get("_X_AMZN_TRACE_ID")
        if trace_id and "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
            from urllib.parse import quote

            headers["X-Amzn-Trace-Id"] = quote(trace_id, safe="-=;:+&[]{}\"',")
        request_dict: dict[str, Any] = {
            "url_path": path,
            "query_string": query,
            "method": method,
            "headers": headers,
            "body": body,
        }
        prepare_request_dict(request_dict, self.endpoint_url, user_agent=self._user_agent)
        request = create_request_object(request_dict)
        self._signer.add_auth(request)
        request.headers["amz-sdk-invocation-id"] = retries["invocation-id"]
        request.headers["amz-sdk-request"] = "; ".join(
            f"{key}={retries[key]}" for key in ("ttl", "attempt", "max") if key in retries
        )
        for key, value in request.headers.items():
            if isinstance(value, str):
                request.headers[key] = value.encode()
        return request.prepare()

    def _parse(self, http_response: Any) -> dict[str, Any]:
        response = {
            "status_code": http_response.status_code,
            "headers": http_response.headers,
            "body": http_response.content,
        }
        parsed: dict[str, Any] = self._parser.parse(response, None)
        if 200 <= http_response.status_code < 300 and http_response.content:
            parsed = {**json.loads(http_response.content), **parsed}
        return parsed


def _path(execution_arn: str, action: str) -> str:
    from botocore.utils import percent_encode

    return f"/{API_VERSION}/durable-executions/{percent_encode(execution_arn)}/{action}"


def _set_ttl(retries: dict[str, Any], date_header: str | None) -> None:
    """The ``ttl`` of a retry's ``amz-sdk-request`` header, as botocore's endpoint
    sets it: local time plus the read timeout, corrected by the server's clock."""
    from botocore.utils import get_current_datetime

    if not date_header:
        return
    try:
        received = get_current_datetime()
        server = datetime.datetime.strptime(date_header, "%a, %d %b %Y %H:%M:%S %Z")
        ttl = get_current_datetime() + datetime.timedelta(seconds=TIMEOUT) + (server - received)
    except (ValueError, TypeError):
        return
    retries["ttl"] = ttl.strftime("%Y%m%dT%H%M%SZ")


def _botocore_version() -> str:
    import botocore

    version: str = botocore.__version__
    return version
