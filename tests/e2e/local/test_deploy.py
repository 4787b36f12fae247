"""The README's deploy recipe, for real: ``sam validate --lint`` and ``sam build`` of
examples/ give a package that holds trio-durable and its dependencies, and whose
handler answers an invocation from a fresh interpreter that sees nothing else.

The commands are read from the README's "Deploying to AWS Lambda" section and run
as written there (all but ``sam deploy``), in a copy of the project. aws-sam-cli
comes from PyPI into its own environment, ``.venv-sam`` (``python3 dev.py test``
installs it there: its pins do not fit the dev environment's). The README builds
for python3.11 (``--parameter-overrides PythonRuntime=python3.11``) because
``sam build`` installs dependencies with the runtime's own Python from PATH, and
CI has only 3.11; the template's default runtime is python3.13.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from local_service_harness import WAIT, ParkedInvoker, Server

ROOT = Path(__file__).resolve().parents[3]
SAM_BIN = ROOT / ".venv-sam" / "bin"
BUILD_TIMEOUT = 600

# Runs in `python -I -S`: no site-packages, no PYTHONPATH, no current folder; only
# the build folder (argv[1]) and the standard library are importable.
FRESH_INTERPRETER = """
import json, sys
build = sys.argv[1]
sys.path.insert(0, build)
import boto3, order_workflow, orjson, trio, trio_durable

class Context:
    function_name = "OrderWorkflow"
    aws_request_id = "request-1"
    def get_remaining_time_in_millis(self):
        return 900_000

modules = (boto3, order_workflow, orjson, trio, trio_durable)
answer = order_workflow.handler(json.load(sys.stdin), Context())
print(json.dumps({
    "answer": answer,
    "files": {m.__name__: m.__file__ for m in modules},
    "path": sys.path,
}))
"""


def _readme_commands() -> list[str]:
    """The console lines of the README's deploy section, in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying to AWS Lambda", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```console\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the README's deploy section has no console block"
    return [line.removeprefix("$ ") for line in block.group(1).splitlines() if line.strip()]


def _copy_project(into: Path) -> Path:
    """The parts of the repository the recipe reads (what a clone has)."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, into / name)
    ignore = shutil.ignore_patterns("__pycache__", ".aws-sam", "wheels")
    for folder in ("trio_durable", "examples"):
        shutil.copytree(ROOT / folder, into / folder, ignore=ignore)
    return into


def _run_recipe(project: Path) -> None:
    if not (SAM_BIN / "sam").exists():
        pytest.fail(f"aws-sam-cli is not installed in {SAM_BIN.parent}: run `python3 dev.py test`")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(SAM_BIN), os.environ.get("PATH", "")]),
        "SAM_CLI_TELEMETRY": "0",
    }
    for name in ("AWS_ENDPOINT_URL_LAMBDA", "AWS_PROFILE", "VIRTUAL_ENV"):
        env.pop(name, None)
    cwd = project
    commands = _readme_commands()
    assert [c.split()[0:2] for c in commands] == [
        ["cd", "examples"],
        ["python3", "-m"],
        ["sam", "validate"],
        ["sam", "build"],
        ["sam", "deploy"],
    ], commands
    for command in commands:
        argv = shlex.split(command)
        if argv[0] == "cd":
            cwd = cwd / argv[1]
            continue
        if argv[:2] == ["sam", "deploy"]:
            continue  # needs an AWS account
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"


def test_sam_build_packages_trio_durable_and_the_handler_answers_an_invocation(
    tmp_path: Path, server: Server, fn: tuple[str, ParkedInvoker]
) -> None:
    project = _copy_project(tmp_path)
    _run_recipe(project)
    build = project / "examples" / ".aws-sam" / "build" / "OrderWorkflow"
    for package in ("trio_durable", "trio", "anyio", "orjson", "tenacity", "boto3", "botocore"):
        assert (build / package).is_dir(), f"{package} is not in the build: {os.listdir(build)}"
    assert (build / "order_workflow.py").is_file()

    # One invocation of the local service, answered by the built handler.
    name, invoker = fn
    started = server.client.invoke(
        FunctionName=name, InvocationType="Event", Payload=b'{"sku": "book-42", "quantity": 2}'
    )
    parked = invoker.next()
    env = {
        "AWS_ENDPOINT_URL_LAMBDA": server.endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": "us-east-1",  # Lambda sets both
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": os.environ.get("PATH", ""),
    }
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", FRESH_INTERPRETER, str(build)],
        input=json.dumps(parked.request.event),
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    for module, file in out["files"].items():
        assert file.startswith(str(build)), f"{module} came from {file}, not the build"
    assert not any("site-packages" in entry for entry in out["path"]), out["path"]
    # The workflow reserved stock and now waits for its approval callback.
    assert out["answer"] == {"Status": "PENDING"}
    parked.answer(out["answer"])
    arn = started["DurableExecutionArn"]
    events = server.client.get_durable_execution_history(
        DurableExecutionArn=arn, IncludeExecutionData=True
    )["Events"]
    succeeded = [e for e in events if e["EventType"] == "StepSucceeded"]
    assert succeeded[0]["Name"] == "reserve"
    reservation = json.loads(succeeded[0]["StepSucceededDetails"]["Result"]["Payload"])
    assert reservation == {"sku": "book-42", "quantity": 2, "reservation_id": "res-book-42-2"}
    assert any(e["EventType"] == "CallbackStarted" for e in events)
