"""Every example under examples/ runs, the way its docstring says to run it."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from trio.testing import MockClock

from trio_durable.testing import DurableTestRunner

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CLI = Path(sys.executable).with_name("trio-durable")
TIMEOUT = 120


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("AWS_ENDPOINT_URL_LAMBDA", "AWS_REGION", "AWS_DEFAULT_REGION"):
        env.pop(name, None)  # the examples must not depend on the caller's AWS setup
    return env


def _result(stdout: str) -> Any:
    """The execution's result: the last line `trio-durable run` prints on stdout."""
    return json.loads(stdout.strip().splitlines()[-1])


def test_order_workflow_demo() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "order_workflow.py")],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = _result(done.stdout)
    assert result["status"] == "shipped"
    assert result["shipment"] == "shipment-for-res-book-42-2"
    assert result["approval"] == {"approved": True, "by": "approver@example.com", "for": "book-42"}
    timeline = done.stderr
    # The live timeline shows the callback, the suspensions and the replays.
    assert "callback" in timeline
    assert "execution suspended" in timeline
    assert "invocation #3 started (replay)" in timeline
    # The workflow's own log lines show, once each although it ran three times.
    assert timeline.count("log INFO: reserving 2 x book-42") == 1
    assert timeline.count("log INFO: order shipped") == 1
    assert "function:orders:" in timeline


def test_retries_example() -> None:
    done = subprocess.run(
        [str(CLI), "run", "examples/retries.py:handler", "--input", '{"order": 7}', "--skip-time"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _result(done.stdout) == {"order": 7, "charged_on_attempt": 3}
    assert done.stderr.count("PaymentGatewayBusy") >= 2


def test_fan_out_example() -> None:
    done = subprocess.run(
        [str(CLI), "run", "examples/fan_out.py:handler",
         "--function", "discounts=examples/fan_out.py:discounts",
         "--input", '{"skus": ["A1", "B2", "C3"]}', "--skip-time"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _result(done.stdout) == {
        "total": 2649,
        "discount_percent": 10,
        "checks": ["clear", "reserved"],
    }
    assert "invoke 'discount' succeeded -> 10" in done.stderr
    assert "] map 'prices': 3 items: 3 succeeded\n" in done.stderr  # nested, summed up
    assert "]   [1] parallel branch 'parallel-branch-1' started" in done.stderr
    assert "]     [2] step 'price C3' succeeded -> 999" in done.stderr


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (["succeed", "{ID}", '{"approved": true, "by": "ana"}'], {"approved": True, "by": "ana"}),
        (
            ["fail", "{ID}", "--type", "Rejected", "--message", "too much"],
            {"approved": False, "reason": "Rejected"},
        ),
    ],
)
def test_human_approval_completed_from_the_command_line(
    action: list[str], expected: dict[str, Any]
) -> None:
    run = subprocess.Popen(
        [str(CLI), "run", "examples/human_approval.py:handler", "--input", '{"expense": 120}'],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert run.stderr is not None
        stderr_lines: list[str] = []
        command: list[str] | None = None
        for line in run.stderr:
            stderr_lines.append(line)
            if "complete it:" in line and " succeed " in line:
                command = shlex.split(line.split("complete it:", 1)[1])
                break
        assert command is not None, "".join(stderr_lines)
        # The printed command names the callback id and the endpoint: run our action
        # with the same id and endpoint, through the installed console script.
        callback_id = command[command.index("succeed") + 1]
        endpoint = command[command.index("--endpoint") + 1]
        argv = [str(CLI), "callback", *(a.replace("{ID}", callback_id) for a in action)]
        reply = subprocess.run(
            [*argv, "--endpoint", endpoint],
            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
        assert reply.returncode == 0, reply.stderr
        stdout, _ = run.communicate(timeout=TIMEOUT)
    finally:
        run.kill()
    assert run.returncode == 0
    assert _result(stdout) == {"expense": 120, **expected}


async def test_embedded_trio_program() -> None:
    spec = importlib.util.spec_from_file_location("embedded_trio", EXAMPLES / "embedded_trio.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = await module.main()
    assert sorted(json.loads(r)["total"] for r in results) == [2.5, 25.0, 60.0]


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
def test_asyncio_aiohttp_program(backend: str) -> None:
    """The asyncio example's own program, and the same program under anyio on
    either backend: the runner serves the workflow on both."""
    spec = importlib.util.spec_from_file_location(
        "asyncio_aiohttp", EXAMPLES / "asyncio_aiohttp.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if backend == "asyncio":
        outcome = asyncio.run(module.main())
    else:  # aiohttp needs asyncio: under Trio only the workflow can run, on its own loop
        outcome = trio.run(_quote_under_trio, module, clock=MockClock(autojump_threshold=0))
    assert outcome == {"status": "SUCCEEDED", "value": {"total": 55.0, "lines": 2}}


async def _quote_under_trio(module: Any) -> dict[str, Any]:
    with _pricing_api() as url:
        order = {"pricing_url": url, "lines": [["book", 2], ["lamp", 1]]}
        async with DurableTestRunner(module.quote) as runner:
            result = await runner.run(order)
    return {"status": result.status, "value": result.value}


@contextlib.contextmanager
def _pricing_api() -> Iterator[str]:
    """The example's pricing API, as a plain HTTP server in a thread."""

    class Prices(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            sku = self.path.rsplit("/", 1)[-1]
            body = json.dumps({"sku": sku, "price": {"book": 12.5, "lamp": 30.0}[sku]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Prices)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


def test_asyncio_aiohttp_handler_under_the_cli() -> None:
    """``trio-durable run`` runs the asyncio handler with its in-process invoker."""
    with _pricing_api() as url:
        order = json.dumps({"pricing_url": url, "lines": [["book", 2], ["lamp", 1]]})
        done = subprocess.run(
            [str(CLI), "run", "examples/asyncio_aiohttp.py:quote", "--input", order, "--skip-time"],
            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _result(done.stdout) == {"total": 55.0, "lines": 2}
    assert "quoted 55.00 for 2 lines" in done.stderr


def test_sam_template_names_the_example_handler() -> None:
    template = (EXAMPLES / "template.yaml").read_text()
    assert "Handler: order_workflow.handler" in template
    assert "lambda:CheckpointDurableExecution" in template
    spec = importlib.util.spec_from_file_location("order_workflow", EXAMPLES / "order_workflow.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.handler)


def test_order_workflow_from_its_sam_template() -> None:
    """The README's `run --template` line: the deployable template, run locally as it is."""
    done = subprocess.run(
        [str(CLI), "run", "--template", "examples/template.yaml", "OrderWorkflow",
         "--input", '{"sku": "A1", "quantity": 1}', "--skip-time"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = _result(done.stdout)
    assert result["status"] == "shipped"
    assert result["shipment"] == "shipment-for-res-A1-1"
    for unapplied in ("AutoPublishAlias", "MemorySize", "Policies"):
        assert f"warning: property {unapplied} is not applied locally (OrderWorkflow)" in (
            done.stderr
        )
    assert "function:OrderWorkflow:" in done.stderr
