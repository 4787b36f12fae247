"""A Lambda function's first invocation: what a fresh interpreter loads, and the
boto3 client created in the init phase.

Each test starts a new Python process, as Lambda does for a cold start: it
imports the SDK, decorates a handler, and (where an invocation is run) answers
the invocation event on its stdin through the SDK's default boto3 client over
the local service's real HTTP API.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_durable.batcher.boto3_client import Boto3ServiceClient
from trio_durable.errors import ServiceError
from trio_durable.local.http import serve
from trio_durable.local.invokers import InvocationRequest
from trio_durable.local.service import LocalService, open_local_service

ROOT = Path(__file__).resolve().parents[3]

HEAVY = ("boto3", "botocore", "tenacity", "anyio._backends._trio", "trio_durable.local")
"""Modules a Lambda function's first invocation does without (boto3: botocore's
own session; tenacity: only for a retry; anyio's Trio backend: Trio's own
primitives; the local service: never on Lambda)."""

MAX_MODULES_AFTER_IMPORT = 320
"""``import trio_durable`` in a fresh interpreter loaded 296 modules (Python's
own 33 and Trio's 191 among them) when this bound was set."""

FUNCTION = """
import json, sys
from trio_durable import DurableContext, durable_execution

def add_one(value):
    return value + 1

@durable_execution
async def handler(event, ctx: DurableContext):
    return await ctx.step(add_one, event["n"])

prepared = "botocore" in sys.modules
event = json.loads(sys.stdin.read())
answer = handler(event, None)
print(json.dumps({"answer": answer, "prepared": prepared, "modules": sorted(sys.modules)}))
"""


def fresh_python(code: str, *, env: dict[str, str], stdin: str = "") -> Any:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.workflow_on_trio
def test_importing_the_sdk_loads_none_of_the_heavy_modules() -> None:
    modules: list[str] = fresh_python(
        "import json, sys; import trio_durable; print(json.dumps(sorted(sys.modules)))",
        env=dict(os.environ),
    )
    assert not [m for m in modules if m.startswith(HEAVY)]
    assert len(modules) <= MAX_MODULES_AFTER_IMPORT


class FreshProcessInvoker:
    """Answers each invocation in a new process, with Lambda's environment."""

    def __init__(self, endpoint: str, *, in_lambda: bool, config_file: Path | None) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO"))},
            "AWS_CONFIG_FILE": str(config_file) if config_file else "/nonexistent/aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
            "AWS_ENDPOINT_URL_LAMBDA": endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        self.env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
        if in_lambda:
            self.env["AWS_LAMBDA_FUNCTION_NAME"] = "first"
        self.reports: list[dict[str, Any]] = []

    async def invoke(self, request: InvocationRequest, service: LocalService) -> dict[str, Any]:
        run = functools.partial(
            fresh_python, FUNCTION, env=self.env, stdin=json.dumps(request.event)
        )
        report: dict[str, Any] = await trio.to_thread.run_sync(run)
        self.reports.append(report)
        answer: dict[str, Any] = report["answer"]
        return answer


async def first_invocation(*, in_lambda: bool, config_file: Path | None = None) -> dict[str, Any]:
    async with open_local_service() as service, trio.open_nursery() as nursery:
        endpoint = await nursery.start(functools.partial(serve, service, port=0))
        invoker = FreshProcessInvoker(endpoint, in_lambda=in_lambda, config_file=config_file)
        service.register_function("first", invoker)
        started = service.start_execution("first", '{"n": 41}')
        with trio.fail_after(120):
            result = await service.wait_until_terminal(started.arn)
        nursery.cancel_scope.cancel()
    assert result["Status"] == "SUCCEEDED", result
    assert json.loads(result["Result"]) == 42
    assert len(invoker.reports) == 1
    return invoker.reports[0]


@pytest.mark.workflow_on_trio
async def test_a_first_invocation_goes_through_botocore_without_the_heavy_modules() -> None:
    report = await first_invocation(in_lambda=False)
    modules: list[str] = report["modules"]
    assert "botocore" in modules
    heavy = [m for m in modules if m.startswith(HEAVY) and not m.startswith("botocore")]
    assert heavy == []
    assert not report["prepared"]  # created at the first call
    # Lambda's environment settles everything: the light client, no botocore client
    assert "trio_durable.batcher.lambda_http" in modules
    assert "botocore.client" not in modules


@pytest.mark.workflow_on_trio
async def test_with_a_shared_config_file_botocores_own_client_answers(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\nretry_mode = standard\n")
    report = await first_invocation(in_lambda=False, config_file=config)
    assert "botocore.client" in report["modules"]


@pytest.mark.workflow_on_trio
async def test_in_a_lambda_function_the_client_is_created_in_the_init_phase() -> None:
    report = await first_invocation(in_lambda=True)
    assert report["prepared"]  # botocore loaded, its client made, before the event came


@pytest.mark.workflow_on_trio
async def test_a_client_that_cannot_be_made_in_the_init_phase_fails_the_first_call(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    client = Boto3ServiceClient()
    client.prepare()  # no region: botocore cannot make the client, and says so later
    with pytest.raises(ServiceError, match="region"):
        await client.get_execution_state("arn:aws:lambda:us-east-1:1:function:f", "t-0")
