"""``serve --template`` and ``run --template``: a SAM project served as it is, end to end.

The project (written per test into a temporary folder) has several durable
functions, two of them with their own ``app.py``; the caller finds its invoke
target through an environment variable set in the template, as AWS's
conformance projects do; functions have their own timeouts; unsupported
properties are warned about.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_harness import Running, background, cli
from local_service_harness import lambda_client

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
Globals:
  Function:
    Runtime: python3.12
    Timeout: 30
    MemorySize: 256
Resources:
  Caller:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: caller/
      Handler: app.handler
      DurableConfig: {ExecutionTimeout: 600, RetentionPeriodInDays: 3}
      Environment:
        Variables:
          TARGET_FUNCTION: !Ref Echo
          TARGET_ARN: !GetAtt Echo.Arn
          GREETING: !Sub "hello from ${AWS::Region} (${Stage})"
      Policies: [AWSLambdaBasicExecutionRole]
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      DurableConfig: {ExecutionTimeout: 600}
      Environment:
        Variables:
          ROLE: echo
      TenancyConfig: {TenantIsolationMode: PER_TENANT}
  Slow:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: slow/
      Handler: flows.slow.handler
      Timeout: 1
      DurableConfig: {ExecutionTimeout: 600}
  Short:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: slow/
      Handler: flows.slow.waits
      DurableConfig: {ExecutionTimeout: 2}
  NotDurable:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
"""

CALLER = """\
import os
from trio_durable import InvokeConfig, durable_execution

@durable_execution
async def handler(event, ctx):
    echoed = await ctx.invoke(
        os.environ["TARGET_FUNCTION"], event, name="echo", config=InvokeConfig(tenant_id="blue")
    )
    return {
        "echoed": echoed,
        "greeting": os.environ["GREETING"],
        "target_arn": os.environ["TARGET_ARN"],
        "role_seen_by_caller": os.environ.get("ROLE"),
    }
"""

ECHO = """\
import os
from trio_durable import durable_execution

@durable_execution
async def handler(event, ctx):
    lambda_variables = (
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_TIMEOUT",
        "LAMBDA_TASK_ROOT", "_HANDLER",
    )
    return {
        "event": event,
        "role": os.environ["ROLE"],
        "file": __file__,
        "lambda": {name: os.environ.get(name) for name in lambda_variables},
        "tenant": ctx.lambda_context.tenant_id,
        "pid": os.getpid(),
    }
"""

SLOW = """\
import time
import trio
from trio_durable import durable_execution

@durable_execution
async def handler(event, ctx):
    await trio.sleep(60)  # longer than the function's Timeout: 1

@durable_execution
async def waits(event, ctx):
    await ctx.wait(30)  # longer than the function's ExecutionTimeout: 2
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {
        "template.yaml": TEMPLATE,
        "caller/app.py": CALLER,
        "echo/app.py": ECHO,
        "slow/flows/__init__.py": "",
        "slow/flows/slow.py": SLOW,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.fixture(params=["inprocess", "subprocess"])
def served(request: pytest.FixtureRequest, project: Path) -> Iterator[tuple[str, str, Running]]:
    """(endpoint, invoker, the running server) of ``serve --template``."""
    args = ["serve", "--port", "0", "--store", "memory", "--invoker", request.param]
    args += ["--template", str(project / "template.yaml"), "--invocation-timeout", "7"]
    args += ["--function", f"Extra={project / 'echo' / 'app.py'}:handler"]
    with background(args) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        server.wait_for_line(r"point boto3 at it", stream="stdout")
        yield endpoint, request.param, server


def test_several_functions_an_invoke_target_from_the_environment_and_warnings(
    served: tuple[str, str, Running], project: Path
) -> None:
    endpoint, invoker, server = served
    server.wait_for_line(r"warning: property MemorySize is not applied locally \(Caller, Echo,")
    server.wait_for_line(r"warning: property Policies is not applied locally \(Caller\)")
    server.wait_for_line(r"warning: not served \(no DurableConfig\): NotDurable")
    if invoker == "inprocess":
        server.wait_for_line(
            r"Echo: TenancyConfig PER_TENANT: each invoke must name its tenant, but --invoker"
            r" inprocess runs every tenant in this one process \(no isolation\)"
        )
    server.wait_for_line(r"function Echo -> .*tenancy PER_TENANT\)$", "stdout")
    # A template function has its own Timeout; --invocation-timeout is for --function ones.
    server.wait_for_line(
        r"function Slow -> flows\.slow:handler \(\w+, timeout 1 s, execution timeout 600 s\)",
        stream="stdout",
    )
    server.wait_for_line(
        r"function Extra -> .*echo/app\.py:handler \(\w+, timeout 7 s\)$", "stdout"
    )
    client = lambda_client(endpoint)
    answer = client.invoke(FunctionName="Caller", Payload=b'{"n": 1}')
    assert "FunctionError" not in answer, answer["Payload"].read()
    result = json.loads(answer["Payload"].read())
    assert result["greeting"] == "hello from us-east-1 (dev)"
    assert result["target_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:Echo"
    assert result["echoed"]["event"] == {"n": 1}
    assert result["echoed"]["role"] == "echo"
    assert result["echoed"]["tenant"] == "blue"  # the chained invoke's TenantId
    # Two functions, each with its own app.py: each ran its own.
    assert result["echoed"]["file"].endswith("echo/app.py")
    # A worker process has its function's environment only; one process has one
    # environment for every function (docs/local-service.md says so).
    assert result["role_seen_by_caller"] == (None if invoker == "subprocess" else "echo")
    if invoker == "subprocess":  # what Lambda sets for every function, in its workers
        assert result["echoed"]["lambda"] == {
            "AWS_LAMBDA_FUNCTION_NAME": "Echo",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": "30",
            "LAMBDA_TASK_ROOT": str(project / "echo"),
            "_HANDLER": "app.handler",
        }
    executions = client.list_durable_executions_by_function(FunctionName="Echo")
    assert len(executions["DurableExecutions"]) == 1


def test_a_per_tenant_function_takes_only_invokes_for_a_tenant_and_isolates_them(
    served: tuple[str, str, Running],
) -> None:
    endpoint, invoker, server = served
    client = lambda_client(endpoint)

    def echo(tenant: str) -> dict[str, Any]:
        answer = client.invoke(FunctionName="Echo", Payload=b'"x"', TenantId=tenant)
        assert "FunctionError" not in answer, answer["Payload"].read()
        result: dict[str, Any] = json.loads(answer["Payload"].read())
        return result

    blue, green, blue_again = echo("blue"), echo("green"), echo("blue")
    assert [blue["tenant"], green["tenant"], blue_again["tenant"]] == ["blue", "green", "blue"]
    if invoker == "subprocess":  # a worker process per tenant, reused by its tenant only
        assert blue["pid"] != green["pid"]
        assert blue_again["pid"] == blue["pid"]
        assert server.process.pid not in (blue["pid"], green["pid"])
    else:  # what the in-process invoker cannot isolate (and warns about)
        assert blue["pid"] == green["pid"] == server.process.pid
    # As AWS's Invoke: a PER_TENANT function needs a tenant, any other refuses one.
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="must name its"):
        client.invoke(FunctionName="Echo", Payload=b"{}")
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="no tenant"):
        client.invoke(FunctionName="Caller", Payload=b"{}", TenantId="blue")
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="TenantId"):
        client.invoke(FunctionName="Echo", Payload=b"{}", TenantId="no#hash")
    # The command line names the tenant with --tenant-id.
    by_cli = cli("invoke", "Echo", "--input", '"y"', "--tenant-id", "red", "--endpoint", endpoint)
    assert by_cli.returncode == 0, by_cli.stderr
    assert json.loads(by_cli.stdout)["tenant"] == "red"
    refused = cli("invoke", "Echo", "--endpoint", endpoint)
    assert refused.returncode == 1
    assert "InvalidParameterValueException: TenantId: function 'Echo'" in refused.stderr
    # Nothing was started by the refused invokes.
    listed = client.list_durable_executions_by_function(FunctionName="Echo")
    assert len(listed["DurableExecutions"]) == 4


def test_per_function_timeouts(served: tuple[str, str, Running]) -> None:
    endpoint, _, _ = served
    client = lambda_client(endpoint)
    slow = client.invoke(FunctionName="Slow", Payload=b"{}")
    assert slow["FunctionError"] == "Unhandled"
    error = json.loads(slow["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"] == "Task timed out after 1.00 seconds"
    short = client.invoke(FunctionName="Short", Payload=b"{}")
    arn = short["DurableExecutionArn"]
    execution = client.get_durable_execution(DurableExecutionArn=arn)
    assert execution["Status"] == "TIMED_OUT"
    timeout = execution["EndTimestamp"] - execution["StartTimestamp"]
    assert 1.5 < timeout.total_seconds() < 30  # ExecutionTimeout: 2, not the default day


def test_run_template_function(project: Path) -> None:
    done = cli(
        "run", "--template", str(project / "template.yaml"), "Caller", "--input", '"hi"',
        "--parameter-overrides", "Stage=test",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["greeting"] == "hello from us-east-1 (test)"
    assert result["echoed"]["event"] == "hi"
    assert "warning: property MemorySize is not applied locally" in done.stderr
    unknown = cli("run", "--template", str(project / "template.yaml"), "Nope")
    assert unknown.returncode == 2
    assert "the template has no durable function 'Nope'; it has: Caller, Echo, Slow, Short" in (
        unknown.stderr
    )


def test_env_vars_file_overrides(project: Path) -> None:
    (project / "env.json").write_text(json.dumps({"Parameters": {"GREETING": "hi from env.json"}}))
    done = cli(
        "run", "--template", str(project / "template.yaml"), "Caller",
        "--env-vars", str(project / "env.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["greeting"] == "hi from env.json"


def test_conflicting_variables_need_worker_processes(project: Path) -> None:
    template = project / "template.yaml"
    template.write_text(
        TEMPLATE.replace("          ROLE: echo", "          ROLE: echo\n          GREETING: other")
    )
    done = cli("serve", "--port", "0", "--store", "memory", "--template", str(template))
    assert done.returncode == 2
    assert (
        "environment variable GREETING is 'hello from us-east-1 (dev)' in Caller and 'other'"
        " in Echo: one process has one environment, so serve this template with"
        " --invoker subprocess"
    ) in done.stderr


def test_template_errors_are_one_line(project: Path) -> None:
    missing = cli("serve", "--port", "0", "--template", str(project / "nope.yaml"))
    assert missing.returncode == 2
    assert "cannot read template" in missing.stderr and "Traceback" not in missing.stderr
    alone = cli("serve", "--port", "0", "--parameter-overrides", "Stage=x")
    assert alone.returncode == 2
    assert "--parameter-overrides and --env-vars need --template" in alone.stderr
    clash = cli(
        "serve", "--port", "0", "--template", str(project / "template.yaml"),
        "--function", "Echo=json:loads",
    )  # fmt: skip
    assert clash.returncode == 2
    assert "--function 'Echo' is also a function of the template" in clash.stderr
