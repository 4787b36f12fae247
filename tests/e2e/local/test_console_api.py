"""The console's JSON reads beyond AWS's API (``GET /local/...``) and its static
files, over real HTTP: what they answer, and how they refuse bad input."""

from __future__ import annotations

import importlib.util
import json
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from local_service_harness import Server, poll, running_server

from trio_durable.local.invokers import InProcessInvoker

HANDLERS = Path(__file__).parent / "handlers"


def _workflows() -> Any:
    spec = importlib.util.spec_from_file_location(
        "console_workflows", HANDLERS / "console_workflows.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def get(server: Server, path: str) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(server.endpoint + path, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def get_json(server: Server, path: str) -> Any:
    status, _, body = get(server, path)
    assert status == 200, body
    return json.loads(body)


def refused(server: Server, path: str) -> tuple[int, str, str]:
    status, headers, body = get(server, path)
    assert status >= 400
    return status, headers["x-amzn-ErrorType"], json.loads(body)["message"]


@pytest.fixture(scope="module")
def console_server() -> Any:
    flows = _workflows()
    with running_server() as server:
        server.register("approval", InProcessInvoker(flows.approval))
        server.register("echo", InProcessInvoker(flows.echo))
        yield server


def _start(server: Server, function: str, payload: dict[str, Any], name: str) -> str:
    out = server.client.invoke(
        FunctionName=function,
        InvocationType="Event",
        DurableExecutionName=name,
        Payload=json.dumps(payload).encode(),
    )
    return str(out["DurableExecutionArn"])


def test_lists_every_function(console_server: Server) -> None:
    body = get_json(console_server, "/local/functions")
    names = [f["FunctionName"] for f in body["Functions"]]
    assert names == sorted(names)
    assert {"approval", "echo"} <= set(names)
    assert all(f["Registered"] for f in body["Functions"])


def test_lists_executions_across_functions_newest_first(console_server: Server) -> None:
    first = _start(console_server, "echo", {"n": 1}, "list-a-echo")
    second = _start(console_server, "approval", {"order": 1}, "list-b-approval")
    third = _start(console_server, "echo", {"n": 2}, "list-c-echo")
    body = get_json(console_server, "/local/executions?NameContains=LIST-")
    arns = [item["DurableExecutionArn"] for item in body["DurableExecutions"]]
    assert arns == [third, second, first]
    assert body["Count"] == 3
    only_echo = get_json(console_server, "/local/executions?NameContains=list-&FunctionName=echo")
    assert [i["DurableExecutionArn"] for i in only_echo["DurableExecutions"]] == [third, first]
    poll(
        "the echo executions to succeed",
        lambda: (
            get_json(console_server, "/local/executions?NameContains=list-&Statuses=SUCCEEDED")[
                "Count"
            ]
            == 2
        ),
    )
    running = get_json(console_server, "/local/executions?NameContains=list-&Statuses=RUNNING")
    assert [i["DurableExecutionArn"] for i in running["DurableExecutions"]] == [second]
    both = get_json(
        console_server, "/local/executions?NameContains=list-&Statuses=RUNNING&Statuses=SUCCEEDED"
    )
    assert both["Count"] == 3
    item = both["DurableExecutions"][0]
    assert set(item) >= {"DurableExecutionArn", "DurableExecutionName", "FunctionArn", "Status"}


def test_pages_with_a_marker(console_server: Server) -> None:
    arns = [_start(console_server, "echo", {"n": n}, f"page-{n}") for n in range(5)]
    newest_first = arns[::-1]
    seen: list[str] = []
    marker = ""
    while True:
        body = get_json(
            console_server, f"/local/executions?NameContains=page-&MaxItems=2&Marker={marker}"
        )
        assert body["Count"] == 5
        seen += [item["DurableExecutionArn"] for item in body["DurableExecutions"]]
        if "NextMarker" not in body:
            break
        marker = body["NextMarker"]
    assert seen == newest_first


def test_logs_of_an_execution(console_server: Server) -> None:
    arn = _start(console_server, "approval", {"order": 42}, "logs-one")
    records = poll(
        "the workflow's log record",
        lambda: get_json(console_server, f"/local/executions/{quote(arn, safe='')}/logs")[
            "Records"
        ],
    )
    assert records[0]["Message"] == "order 42 waits for approval"
    assert records[0]["Level"] == "INFO"
    assert isinstance(records[0]["Timestamp"], float)


@pytest.mark.parametrize(
    ("path", "code", "words"),
    [
        ("/local/executions?Statuses=SLEEPING", "InvalidParameterValueException", "Statuses"),
        ("/local/executions?MaxItems=many", "InvalidParameterValueException", "MaxItems"),
        ("/local/executions?MaxItems=-1", "InvalidParameterValueException", "MaxItems"),
        ("/local/executions?MaxItems=5000", "InvalidParameterValueException", "MaxItems"),
        ("/local/executions?Marker=zz", "InvalidParameterValueException", "Marker"),
        ("/local/executions?Marker=99999", "InvalidParameterValueException", "Marker"),
        ("/local/executions?FunctionName=nope", "ResourceNotFoundException", "nope"),
        ("/local/executions?Sort=asc", "InvalidParameterValueException", "Sort"),
        ("/local/functions?x=1", "InvalidParameterValueException", "x"),
        (
            "/local/executions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af"
            "%3A%24LATEST%2Fdurable-execution%2Fn%2Fid/logs",
            "ResourceNotFoundException",
            "",
        ),
        ("/local/executions/x/logs", "ResourceNotFoundException", ""),
        ("/local/nothing", "UnknownOperationException", "/local/nothing"),
        ("/console/nothing.js", "UnknownOperationException", "nothing.js"),
        ("/console/.hidden.js", "UnknownOperationException", ".hidden.js"),
        ("/console/..%2F__init__.py", "UnknownOperationException", "__init__.py"),
    ],
)
def test_bad_requests_are_refused_by_name(
    console_server: Server, path: str, code: str, words: str
) -> None:
    status, error_type, message = refused(console_server, path)
    assert error_type == code
    assert status == (404 if code != "InvalidParameterValueException" else 400)
    assert words in message


def test_other_methods_are_unknown(console_server: Server) -> None:
    request = urllib.request.Request(console_server.endpoint + "/local/executions", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 404
    assert caught.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_serves_the_console_files(console_server: Server) -> None:
    status, headers, body = get(console_server, "/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b"/console/console.js" in body
    for name, kind in (("console.js", "text/javascript"), ("console.css", "text/css")):
        status, headers, body = get(console_server, f"/console/{name}")
        assert status == 200
        assert headers["content-type"].startswith(kind)
        assert body


def test_deleting_an_execution_drops_its_logs(console_server: Server) -> None:
    arn = _start(console_server, "approval", {"order": 43}, "logs-deleted")
    path = f"/local/executions/{quote(arn, safe='')}/logs"
    poll("the workflow's log record", lambda: get_json(console_server, path)["Records"])
    console_server.client.stop_durable_execution(DurableExecutionArn=arn)
    poll(
        "the stop to be deletable",
        lambda: _try_delete(console_server, arn),
    )
    assert console_server.service.logs.records(arn) == []
    assert refused(console_server, path)[1] == "ResourceNotFoundException"


def _try_delete(server: Server, arn: str) -> bool:
    try:
        server.client.delete_durable_execution(DurableExecutionArn=arn)
    except server.client.exceptions.ResourceConflictException:
        return False
    return True
