"""A real ``trio-durable serve`` under overload: a bounded number of requests in
progress and 429 ``TooManyRequestsException`` beyond it (boto3 retries it), a body
that does not arrive in time answered 408 with its connection closed, and
synchronous Invokes waiting for their executions kept apart from the work, so
those executions' own checkpoints still get through."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from cli_harness import background, cli
from local_service_harness import WAIT, lambda_client, poll

GATED = Path(__file__).parent / "handlers" / "gated.py"
LIST_REQUEST = b"GET /2025-12-01/functions/gated/durable-executions HTTP/1.1\r\nHost: %s\r\n\r\n"


def _serve(*extra: str) -> list[str]:
    return [
        "serve", "--port", "0", "--store", "memory",
        "--function", f"gated={GATED}:gated", *extra,
    ]  # fmt: skip


@contextmanager
def _endpoint(*extra: str) -> Iterator[str]:
    with background(_serve(*extra)) as server:
        yield server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)


def _connect(endpoint: str) -> socket.socket:
    url = urlsplit(endpoint)
    return socket.create_connection((url.hostname, url.port), timeout=WAIT)


def _stall_a_body(endpoint: str) -> socket.socket:
    """A request whose body never finishes arriving (1 byte of 100)."""
    sock = _connect(endpoint)
    netloc = urlsplit(endpoint).netloc.encode()
    sock.sendall(
        b"POST /2025-12-01/durable-execution-callbacks/cb/succeed HTTP/1.1\r\n"
        b"Host: %s\r\nContent-Length: 100\r\n\r\n{" % netloc
    )
    return sock


def _read_until_closed(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The one response the server sends before it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def _list_status(endpoint: str) -> tuple[int, dict[str, str], bytes]:
    sock = _connect(endpoint)
    with sock:
        sock.sendall(
            LIST_REQUEST.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n")
            % urlsplit(endpoint).netloc.encode()
        )
        return _read_until_closed(sock)


def test_a_body_that_does_not_arrive_in_time_is_answered_408_and_closed() -> None:
    with _endpoint("--body-timeout", "0.5") as endpoint:
        sock = _stall_a_body(endpoint)
        with sock:
            status, headers, body = _read_until_closed(sock)
        assert status == 408
        assert headers["x-amzn-errortype"] == "RequestTimeoutException"
        assert json.loads(body)["Message"] == "the request body did not arrive within 0.5 seconds"
        assert _list_status(endpoint)[0] == 200  # the service is none the worse


def _request_on(sock: socket.socket, netloc: bytes) -> int:
    """Send the list request on an open keep-alive connection; its status."""
    sock.sendall(LIST_REQUEST % netloc)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the service closed the connection instead of answering"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1])


def test_an_idle_connection_or_stalled_headers_are_closed_after_the_idle_timeout() -> None:
    with _endpoint("--idle-timeout", "0.5") as endpoint:
        netloc = urlsplit(endpoint).netloc.encode()
        with _connect(endpoint) as idle:
            assert _request_on(idle, netloc) == 200
            assert idle.recv(1) == b""  # closed while waiting for a next request
        with _connect(endpoint) as stalled:
            stalled.sendall(b"GET /2025-12-01/functions/gated/durable-executions HTTP/1.1\r\n")
            assert stalled.recv(1) == b""
        assert _list_status(endpoint)[0] == 200


def test_a_pooled_connection_outlives_short_pauses_by_default() -> None:
    """hypercorn's own default (5 s) closed pooled connections between a client's
    calls, racing a request sent on one just then."""
    with _endpoint() as endpoint:
        netloc = urlsplit(endpoint).netloc.encode()
        with _connect(endpoint) as pooled:
            assert _request_on(pooled, netloc) == 200
            time.sleep(6.0)
            assert _request_on(pooled, netloc) == 200


def test_requests_beyond_the_bound_are_refused_at_once_and_boto3_retries_them() -> None:
    with _endpoint("--max-requests", "4", "--body-timeout", "600") as endpoint:
        stalled = [_stall_a_body(endpoint) for _ in range(4)]
        try:
            _, headers, body = poll(
                "the four stalled requests to fill the service",
                lambda: (found := _list_status(endpoint))[0] == 429 and found,
            )
            assert headers["x-amzn-errortype"] == "TooManyRequestsException"
            assert headers["retry-after"] == "1"
            error = json.loads(body)
            assert error["Reason"] == "CallerRateLimitExceeded"
            assert error["Message"].startswith("4 requests are in progress, the most")
            client = boto3.client(  # boto3's default retry mode, a few more attempts
                "lambda",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
                config=Config(retries={"max_attempts": 10}),
            )

            def release_the_stalled(response: Any, **_: Any) -> None:
                if response is not None and response[0].status_code == 429:
                    for sock in stalled:
                        sock.close()

            client.meta.events.register(
                "needs-retry.lambda.ListDurableExecutionsByFunction", release_the_stalled
            )
            listed = client.list_durable_executions_by_function(FunctionName="gated")
            assert listed["ResponseMetadata"]["RetryAttempts"] >= 1
            assert listed["DurableExecutions"] == []
        finally:
            for sock in stalled:
                sock.close()


def test_waiting_invokes_do_not_crowd_out_their_executions_checkpoints(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    payload = json.dumps({"gate": str(gate)}).encode()
    args = ("--max-requests", "2", "--invoker", "subprocess")
    with _endpoint(*args) as endpoint:
        answers: list[Any] = []

        def invoke() -> None:
            answer = lambda_client(endpoint).invoke(FunctionName="gated", Payload=payload)
            answers.append(json.loads(answer["Payload"].read()))

        threads = [threading.Thread(target=invoke) for _ in range(2)]
        for thread in threads:
            thread.start()
        client = lambda_client(endpoint)

        def stepped() -> bool:
            listed = client.list_durable_executions_by_function(FunctionName="gated")
            arns = [e["DurableExecutionArn"] for e in listed["DurableExecutions"]]
            return len(arns) == 2 and all(
                "StepSucceeded"
                in {
                    e["EventType"]
                    for e in client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
                }
                for arn in arns
            )

        # Both Invokes wait while their handlers checkpoint over HTTP: the bound
        # of 2 counts work, and the waiting Invokes are not work.
        poll("both executions to store their step", stepped)
        try:
            client.invoke(FunctionName="gated", Payload=payload)
        except client.exceptions.TooManyRequestsException as exc:
            assert "2 synchronous Invokes are waiting" in str(exc)
        else:
            raise AssertionError("a third synchronous Invoke was not refused")
        listed = client.list_durable_executions_by_function(FunctionName="gated")
        assert len(listed["DurableExecutions"]) == 2  # the refused one started nothing
        gate.touch()
        for thread in threads:
            thread.join(WAIT)
        assert answers == [{"first": "stepped"}] * 2


def test_bad_limits_are_reported_in_one_line() -> None:
    for option, value in (("--max-requests", "0"), ("--body-timeout", "soon")):
        completed = cli("serve", "--port", "0", "--store", "memory", option, value)
        assert completed.returncode == 2
        assert f"argument {option}: must be" in completed.stderr
        assert f"got {value!r}" in completed.stderr
