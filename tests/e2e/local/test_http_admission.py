"""A real ``trio-durable serve`` refuses what a web page could send it (a foreign
Origin, a Host it does not listen as: DNS rebinding) with 403, while boto3, the
CLI and same-origin pages keep working; listening beyond loopback warns."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from cli_harness import background, cli
from local_service_harness import WAIT, lambda_client

GATED = Path(__file__).parent / "handlers" / "gated.py"
LIST_PATH = "/2025-12-01/functions/gated/durable-executions"
INVOKE_PATH = "/2015-03-31/functions/gated/invocations"


def _serve(*extra: str) -> list[str]:
    return [
        "serve",
        "--port",
        "0",
        "--store",
        "memory",
        "--function",
        f"gated={GATED}:gated",
        *extra,
    ]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with background(_serve("--allow-host", "dev.example")) as server:
        yield server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)


def _request(
    endpoint: str, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """One raw request, with exactly the Host and Origin a browser would send."""
    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=WAIT)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        headers = {"Host": url.netloc, **headers, "Content-Length": str(len(body))}
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read()
        found = {name.lower(): value for name, value in response.getheaders()}
        is_json = found.get("content-type") == "application/json"
        return response.status, found, json.loads(data) if is_json and data else {}
    finally:
        conn.close()


def _executions(endpoint: str) -> list[dict[str, Any]]:
    listed = lambda_client(endpoint).list_durable_executions_by_function(FunctionName="gated")
    executions: list[dict[str, Any]] = listed["DurableExecutions"]
    return executions


def test_a_post_from_another_sites_page_is_refused_and_starts_nothing(endpoint: str) -> None:
    before = len(_executions(endpoint))
    status, headers, body = _request(
        endpoint,
        "POST",
        INVOKE_PATH,
        {
            "Origin": "http://attacker.example",
            "Content-Type": "text/plain",
            "X-Amz-Invocation-Type": "Event",
        },
        b'{"gate": "/nonexistent"}',
    )
    assert status == 403
    assert headers["x-amzn-errortype"] == "AccessDeniedException"
    assert body["Message"].startswith("request refused: Origin 'http://attacker.example'")
    assert "no authentication" in body["Message"]
    assert len(_executions(endpoint)) == before


def test_a_host_the_service_does_not_listen_as_is_refused(endpoint: str) -> None:
    port = urlsplit(endpoint).port
    status, headers, body = _request(
        endpoint, "GET", LIST_PATH, {"Host": f"rebind.attacker.example:{port}"}
    )
    assert status == 403
    assert headers["x-amzn-errortype"] == "AccessDeniedException"
    assert f"Host 'rebind.attacker.example:{port}' is not an address or name" in body["Message"]
    assert "--allow-host rebind.attacker.example" in body["Message"]


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "dev.example"])
def test_same_origin_requests_pass_under_every_name_the_service_answers_to(
    endpoint: str, name: str
) -> None:
    host = f"{name}:{urlsplit(endpoint).port}"
    status, _, body = _request(
        endpoint, "GET", LIST_PATH, {"Host": host, "Origin": f"http://{host}"}
    )
    assert status == 200, body
    assert "DurableExecutions" in body
    status, _, _ = _request(endpoint, "GET", "/", {"Host": host})  # the web console's page
    assert status == 200


def test_an_allowed_host_still_refuses_foreign_origins(endpoint: str) -> None:
    host = f"dev.example:{urlsplit(endpoint).port}"
    status, _, body = _request(
        endpoint, "GET", LIST_PATH, {"Host": host, "Origin": "http://attacker.example"}
    )
    assert status == 403
    assert "Origin 'http://attacker.example'" in body["Message"]


def _console_paths(endpoint: str, tmp_path: Path) -> list[str]:
    """The console's page, a static file and its JSON reads beyond AWS's API."""
    gate = tmp_path / "gate"
    gate.touch()
    arn = lambda_client(endpoint).invoke(
        FunctionName="gated", Payload=json.dumps({"gate": str(gate)}).encode()
    )["DurableExecutionArn"]
    logs = f"/local/executions/{quote(arn, safe='')}/logs"
    return ["/", "/console/console.js", "/local/functions", "/local/executions", logs]


def test_the_console_pages_and_reads_get_the_same_protection(endpoint: str, tmp_path: Path) -> None:
    port = urlsplit(endpoint).port
    for path in _console_paths(endpoint, tmp_path):
        status, _, _ = _request(endpoint, "GET", path, {"Origin": endpoint})
        assert status == 200, path  # the console's own pages, from its own origin
        status, headers, body = _request(
            endpoint, "GET", path, {"Origin": "http://attacker.example"}
        )
        assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException"), path
        assert body["Message"].startswith("request refused: Origin 'http://attacker.example'")
        status, headers, body = _request(
            endpoint, "GET", path, {"Host": f"rebind.attacker.example:{port}"}
        )
        assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException"), path
        assert "Host 'rebind.attacker.example" in body["Message"], path


def test_boto3_and_the_cli_keep_working(endpoint: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    client = lambda_client(endpoint)
    answer = client.invoke(FunctionName="gated", Payload=json.dumps({"gate": str(gate)}).encode())
    assert json.loads(answer["Payload"].read()) == {"first": "stepped"}
    listed = cli("executions", "--function", "gated", "--endpoint", endpoint)
    assert listed.returncode == 0, listed.stderr
    assert "SUCCEEDED" in listed.stdout


def test_listening_on_every_address_warns_that_there_is_no_authentication() -> None:
    with background(_serve("--host", "0.0.0.0")) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        warning = server.wait_for_line(r"warning: listening on 0\.0\.0\.0.*")
        assert "no authentication" in warning.group(0)
        port = urlsplit(endpoint).port
        status, _, _ = _request(endpoint, "GET", LIST_PATH, {"Host": f"127.0.0.1:{port}"})
        assert status == 200
        status, _, _ = _request(endpoint, "GET", LIST_PATH, {"Host": f"evil.example:{port}"})
        assert status == 403


def test_listening_on_loopback_prints_no_warning() -> None:
    with background(_serve()) as server:
        server.wait_for_line(r"listening on (http://\S+)", stream="stdout")
        server.process.terminate()
        _, _, err = server.finish()
    assert "warning" not in err
